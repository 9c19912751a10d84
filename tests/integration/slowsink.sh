#!/bin/sh
# slowsink.sh -- the benchmarks' delaying sink (tests/tools/slowsink.c):
# the final "." answered no sooner than --delay-ms, replies in order
# behind a held one (pipelined commands), the end of a message found
# across reads and not in a dot-stuffed line, an empty message, two
# workers on one port, and the count each worker prints at SIGTERM.
# A lower bound only: a loaded machine answers later, never sooner.
. "${TOP:-$(pwd)}/tests/lib.sh"

SINK=$TOP/$BUILD/tools/slowsink
[ -x "$SINK" ] || fail "$SINK not built"

"$SINK" --delay-ms 0 --workers 0 >/dev/null 2>&1 && fail "--workers 0 accepted"
"$SINK" --delay-ms x >/dev/null 2>&1 && fail "--delay-ms x accepted"
ok "bad arguments refused"

"$SINK" --delay-ms 100 --workers 2 --portfile "$T/port" --pidfile "$T/pid" \
    >"$T/out" 2>"$T/err" &
SP=$!
PIDS="$PIDS $SP"
i=0
while [ ! -s "$T/port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the sink did not start"; sleep 0.05
done
[ "$(cat "$T/pid")" = "$SP" ] || fail "pidfile: $(cat "$T/pid"), not $SP"
PORT=$(cat "$T/port")

"$PY" - "$PORT" <<'EOF' || fail "the sink's SMTP"
import socket, sys, time

port = int(sys.argv[1])

def session():
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 "), "greeting"
    s.sendall(b"EHLO t\r\n")
    lines = []
    while True:
        l = f.readline()
        lines.append(l)
        if l[3:4] == b" ":
            break
    assert b"250-PIPELINING\r\n" in lines, lines
    return s, f

s, f = session()
# one message, pipelined, its end split over three sends: the 250
# comes no sooner than 100 ms after the dot
s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
assert f.readline() == b"250 2.0.0 Ok\r\n"
assert f.readline() == b"250 2.0.0 Ok\r\n"
assert f.readline().startswith(b"354 ")
s.sendall(b"Subject: x\r\n\r\nline\r\n..not the end\r\n\r")
time.sleep(0.05)
s.sendall(b"\n.")
time.sleep(0.05)
t0 = time.monotonic()
s.sendall(b"\r\n")
assert f.readline() == b"250 2.0.0 Ok: queued\r\n"
dt = time.monotonic() - t0
assert dt >= 0.099, "answered after %.3f s" % dt
print("ok: the final dot answered after %.3f s (delay 0.1 s)" % dt)

# two messages and a NOOP in one write: every reply in order, the
# second 250 and the NOOP's held behind the first
t0 = time.monotonic()
s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
          b"x\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<c@example.org>\r\n"
          b"DATA\r\n.\r\nNOOP\r\nBOGUS\r\nQUIT\r\n")
want = [b"250 2.0.0 Ok\r\n", b"250 2.0.0 Ok\r\n", None,
        b"250 2.0.0 Ok: queued\r\n",
        b"250 2.0.0 Ok\r\n", b"250 2.0.0 Ok\r\n", None,
        b"250 2.0.0 Ok: queued\r\n", b"250 2.0.0 Ok\r\n", None, b"221 2.0.0 Bye\r\n"]
for w in want:
    l = f.readline()
    if w is None:
        assert l[:1] in (b"3", b"5"), l
    else:
        assert l == w, (l, w)
dt = time.monotonic() - t0
assert dt >= 0.099, "pipelined messages answered after %.3f s" % dt
assert f.readline() == b"", "open after QUIT"
print("ok: pipelined replies in order, an empty message, QUIT closes (%.3f s)" % dt)

# both workers answer: ten sessions, one message each
for k in range(10):
    s, f = session()
    s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
              b"DATA\r\nhi\r\n.\r\nQUIT\r\n")
    got = [f.readline() for _ in range(5)]
    assert got[3] == b"250 2.0.0 Ok: queued\r\n", got
EOF

kill -TERM "$SP"
wait "$SP"
rc=$?
[ $rc = 0 ] || { cat "$T/err" >&2; fail "the sink exited $rc at SIGTERM"; }
# the workers' counts add up to the 13 messages sent
n=$(awk '$1 == "messages" { n += $2 } END { print n + 0 }' "$T/err")
[ "$n" = 13 ] || { cat "$T/err" >&2; fail "the workers counted $n messages, not 13"; }
[ "$(grep -c '^messages ' "$T/err")" = 2 ] || { cat "$T/err" >&2; fail "not two workers' counts"; }
ok "two workers counted the 13 messages; SIGTERM stops both"
