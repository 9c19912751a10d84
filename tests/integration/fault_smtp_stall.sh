# Servers that accept the TCP connection and then stall forever: one
# never sends a greeting, one greets and answers EHLO and MAIL, then never
# answers again.  A stalled relay is the relay's fault, not the
# recipients': after smtp.timeout the broadcast waits (state "waiting",
# the timeout as reason), tries again with backoff, and spends no
# recipient attempt: nobody is deferred or failed.  The control socket
# answers quickly throughout; and SIGTERM with every sender stuck exits 0
# within the timeout and a little.
# tests/run: alone (it bounds status within 1 s)
. "$(dirname "$0")/../lib.sh"

cat > "$T/stall.py" <<'PYEOF'
import asyncio, sys
mode, portfile = sys.argv[1], sys.argv[2]
async def client(r, w):
    with open(portfile + ".conns", "a") as f:
        f.write("connect\n")
    try:
        if mode == "greet":
            w.write(b"220 stall.test ESMTP\r\n")
            while True:
                line = await r.readline()
                if not line:
                    return
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    w.write(b"250-stall.test\r\n250 8BITMIME\r\n")
                elif cmd == b"MAIL":
                    w.write(b"250 OK\r\n")
                else:
                    break           # RCPT and after: silence
        await r.read()              # read until the client gives up
    except ConnectionError:
        pass
async def main():
    srv = await asyncio.start_server(client, "127.0.0.1", 0)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    import os; os.rename(portfile + ".tmp", portfile)
    await srv.serve_forever()
asyncio.run(main())
PYEOF
start_stall() {
	"$PY" "$T/stall.py" "$1" "$T/$1.port" >/dev/null 2>"$T/$1.err" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/$1.port" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "stall server $1 did not start"
		sleep 0.1
	done
}
start_stall silent; SILENT=$(cat "$T/silent.port")
start_stall greet; GREET=$(cat "$T/greet.port")

TIMEOUT=2 ATTEMPTS=3
conf() {
	write_config "smtp: { url = \"smtp://127.0.0.1:$1\"; connections = 2; timeout = $TIMEOUT; };
retry: { max_attempts = $ATTEMPTS; initial_delay = 1; max_delay = 1; };"
}
conf "$SILENT"
start_daemon
printf 'email,name\na@example.org,A\nb@example.org,B\nc@example.org,C\n' > "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"

# status latency while every sender waits on a silent server
# the daemon's answer to GET /v1/status on the control socket, timed
# alone: a CLI run would add its own start-up (over a second when
# check-valgrind runs it under memcheck)
maxlat() {
	"$PY" - "$T/state/control.sock" "$1" <<'PYEOF'
import socket, sys, time
worst = 0.0
end = time.time() + float(sys.argv[2])
while time.time() < end:
    t = time.time()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sys.argv[1])
    s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    if not data.startswith(b"HTTP/1.1 200"):
        sys.exit("status: %r" % data[:80])
    worst = max(worst, time.time() - t)
    time.sleep(0.1)
print("%.3f" % worst)
PYEOF
}
for srv in silent greet; do
	if [ $srv = greet ]; then
		conf "$GREET"
		expect_rc 0 bs reload
	fi
	start=$(date +%s)
	bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
	ID=$(head -n 1 "$T/out")
	lat=$(maxlat 3) || fail "status failed while senders stall"
	"$PY" -c "import sys; sys.exit(0 if $lat < 1.0 else 1)" || fail "status took $lat s"
	# waiting once the first sessions time out (2 s), and still trying:
	# at least 2 connections more with the 1 s, 2 s backoff; 30 s allowed
	i=0
	while :; do
		s=$(bs status "$ID" --json)
		conns=$(wc -l < "$T/$srv.port.conns")
		echo "$s" | json_get '(j["state"], j["sent"], j["deferred"], j["failed"]) == ("waiting", 0, 0, 0) and "waiting for relay: " in j["reason"] or sys.exit(1)' >/dev/null &&
		    [ "$conns" -ge 4 ] && break
		i=$((i + 1)); [ $i -lt 300 ] || fail "$srv: not waiting for the relay: $s ($conns connections)"
		sleep 0.1
	done
	secs=$(( $(date +%s) - start ))
	"$PY" - "$T/state/broadside.db" "$ID" <<'PYEOF' || fail "$srv: attempts"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = db.execute("SELECT state, attempts, error FROM deliveries WHERE broadcast_id = ?",
                  (int(sys.argv[2]),)).fetchall()
# pending (0), or claimed by this node and held while it waits (4):
# either way no attempt spent
assert len(rows) == 3 and all(r[0] in (0, 4) and r[1] == 0 for r in rows), rows
PYEOF
	[ $secs -ge $TIMEOUT ] || fail "$srv: waiting too soon (${secs}s): timeout not waited"
	expect_rc 0 bs cancel "$ID"
	ok "$srv server: $conns connections; waiting for the relay after ${secs}s, all 3 still pending, status worst ${lat}s"
done

# SIGTERM with both senders stuck on the stalled server
expect_rc 0 bs subscribers add d@example.org
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
sleep 0.5
start=$("$PY" -c 'import time; print(time.time())')
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"; rc=$?
took=$("$PY" -c "import time; print('%.1f' % (time.time() - $start))")
[ $rc -eq 0 ] || { tail "$T/daemon.log"; fail "exit $rc after SIGTERM"; }
"$PY" -c "import sys; sys.exit(0 if $took <= $TIMEOUT + 3 else 1)" || fail "SIGTERM took ${took}s"
ok "SIGTERM with senders stuck: exit 0 in ${took}s (timeout $TIMEOUT s)"
