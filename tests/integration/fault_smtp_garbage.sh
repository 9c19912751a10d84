# A server that answers garbage, a different kind on each connection:
# binary junk, an endless line with no CRLF, a 999-character reply line,
# a reply code "999", a greeting followed by junk to EHLO, a lone LF
# reply, an early close after the greeting, junk after DATA.  No reply is
# ever a 250 to the final dot, so nothing may be recorded sent.  Garbage
# is the relay's fault, not the recipients': nobody is bounced, and what
# failed before DATA spent no attempt (the broadcast waits for the relay).
# The daemon stays up, and once a good server is configured the
# broadcast carries on and the next one is delivered too.
. "$(dirname "$0")/../lib.sh"

cat > "$T/junk.py" <<'PYEOF'
import asyncio, os, sys
portfile = sys.argv[1]
n = 0
def good(w, line):
    c = line[:4].upper()
    if c in (b"EHLO", b"HELO"):
        w.write(b"250-junk.test\r\n250 8BITMIME\r\n")
    elif c in (b"MAIL", b"RCPT"):
        w.write(b"250 OK\r\n")
    elif c == b"DATA":
        w.write(b"354 go\r\n")
    else:
        w.write(b"250 OK\r\n")
async def client(r, w):
    global n
    n += 1
    kind = n % 8
    with open(portfile + ".log", "a") as f:
        f.write("%d\n" % kind)
    try:
        if kind == 0:
            w.write(os.urandom(4096))
        elif kind == 1:
            w.write(b"220 " + b"x" * 200000)
        elif kind == 2:
            w.write(b"220 " + b"y" * 995 + b"\r\n")
            while (line := await r.readline()):
                w.write(b"250 " + b"z" * 995 + b"\r\n")
                await w.drain()
        elif kind == 3:
            w.write(b"999 what is this\r\n")
        elif kind == 4:
            w.write(b"220 ok\r\n")
            await r.readline()
            w.write(b"\x00\xff\xfe garbage \x1b[2J\r\n")
        elif kind == 5:
            w.write(b"220 ok\n")
            await r.readline()
            w.write(b"\n\n\n")
        elif kind == 6:
            w.write(b"220 ok\r\n")
            await w.drain()
            w.close()
            return
        else:
            w.write(b"220 ok\r\n")
            indata = False
            while (line := await r.readline()):
                if indata:
                    if line == b".\r\n":
                        w.write(b"2500 maybe\r\n\x00\x01\x02 junk\r\n")
                        await w.drain()
                        break
                    continue
                good(w, line)
                indata = line[:4].upper() == b"DATA"
        await w.drain()
        await asyncio.wait_for(r.read(), 10)
    except (ConnectionError, asyncio.TimeoutError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        w.close()
async def main():
    srv = await asyncio.start_server(client, "127.0.0.1", 0)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.sockets[0].getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    await srv.serve_forever()
asyncio.run(main())
PYEOF
"$PY" "$T/junk.py" "$T/junk.port" >/dev/null 2>"$T/junk.err" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/junk.port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "junk server did not start"
	sleep 0.1
done
JUNK=$(cat "$T/junk.port")
ATTEMPTS=4
write_config "smtp: { url = \"smtp://127.0.0.1:$JUNK\"; connections = 2; timeout = 3; };
retry: { max_attempts = $ATTEMPTS; initial_delay = 1; max_delay = 1; };"
start_daemon
make_subscribers 6 "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
# every kind of garbage tried (the relay backoff is 1 s doubling, so a
# few rounds): measured 2-9 s here, 60 s allowed for a loaded machine
i=0
while [ "$(sort -u "$T/junk.port.log" 2>/dev/null | wc -l)" -lt 8 ]; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "not every kind of garbage was tried: $(sort -u "$T/junk.port.log" | tr '\n' ' ')"
	kill -0 "$DAEMON_PID" || { tail "$T/daemon.log"; fail "daemon died"; }
	sleep 0.1
done
kill -0 "$DAEMON_PID" || { tail "$T/daemon.log"; fail "daemon died"; }
s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["sent"], j["total"]) == (0, 6) and j["state"] in ("sending", "waiting") or sys.exit(1)' >/dev/null ||
    fail "after garbage: $s"
kinds=$(sort -u "$T/junk.port.log" | tr '\n' ' ')
conns=$(wc -l < "$T/junk.port.log")
"$PY" - "$T/state/broadside.db" "$ID" <<'PYEOF' || fail "store"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for row in db.execute("SELECT state, attempts, code, error FROM deliveries WHERE broadcast_id = ?",
                      (int(sys.argv[2]),)):
    print(row)
    assert row[0] != 1, row        # never recorded sent
for row in db.execute("SELECT email, status FROM subscribers"):
    assert row[1] == 1, row        # nobody bounced by garbage
PYEOF
ok "$conns garbage connections (kinds $kinds): nothing sent, nobody bounced, daemon up"

# a good server afterwards: the daemon is not wedged
start_smtpd mail
sed -i "s|127.0.0.1:$JUNK|127.0.0.1:$SMTP_PORT|" "$T/broadside.conf"
expect_rc 0 bs reload
bs send --wait "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" 2>"$T/err" || { cat "$T/err"; fail "send after garbage"; }
ID2=$(head -n 1 "$T/out")
bs status "$ID2" --json | json_get '(j["state"], j["sent"]) == ("done", 6) or sys.exit(1)' >/dev/null ||
    fail "good server did not get the next broadcast: $(bs status "$ID2" --json)"
# the first broadcast went on too: each recipient got it unless a
# garbage answer after DATA (ambiguous: maybe delivered) used up its tries
bs status "$ID" --json | json_get 'j["state"] == "done" and j["sent"] + j["failed"] == 6 or sys.exit(1)' >/dev/null ||
    fail "first broadcast did not carry on: $(bs status "$ID" --json)"
# one copy of each broadcast per recipient, no more
sent1=$(bs status "$ID" --json | json_get 'j["sent"]')
smtpd_report mail | json_get '(j["unique"], j["accepted"], max(j["per_rcpt"].values())) == (6, 6 + '"$sent1"', 2 if '"$sent1"' else 1) or sys.exit(1)' >/dev/null ||
    fail "good server: $(smtpd_report mail)"
ok "a good server then: the first broadcast carried on, the next delivered"
stop_daemon
