# Long work shows progress: a bar on a terminal (stderr on a pty, through
# tests/py/tty_run.py), plain lines otherwise.  `subscribers import` of a
# 500,000-row file draws a bar by bytes with lines read and an ETA, from
# a pipe a byte and line count, and takes it off before its summary;
# `send --wait` and `status --watch` draw a bar with sent/total, deferred,
# failed, msg/s and an ETA, ending at 100 %; an error (the daemon gone)
# starts a line of its own instead of being glued to the bar.
. "$(dirname "$0")/../lib.sh"

TTY="$PY $TOP/tests/py/tty_run.py"
start_smtpd mail
# 40 at 20 msg/s last 2 s; under memcheck `status --watch` started after
# the 40 were sent (CI, 2026-12-06: one frame, at 100 %), so 4 msg/s there
RATE=20.0
under_memcheck && RATE=4.0
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; };
rate: { messages_per_second = $RATE; burst = 1; batch_size = 10; };"
start_daemon

# --- status --watch and send --wait: 40 messages at 20 msg/s (4) each
make_subscribers 40 "$T/few.csv" w
expect_rc 0 bs subscribers import "$T/few.csv"
ID=$(bs send "$TOP/tests/fixtures/statement-plain.txt" | head -n 1)
$TTY "$T/watch.tty" "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null ||
    fail "status --watch on a tty: exit $?"
$TTY "$T/send.tty" "$BROADSIDE" -c "$T/broadside.conf" send --wait "$TOP/tests/fixtures/statement-plain.txt" >"$T/send.out" ||
    fail "send --wait on a tty: exit $?"
"$PY" - "$T/watch.tty" "$T/send.tty" <<'PYEOF' || fail "send/watch bar"
import re, sys
for path in sys.argv[1:]:
    raw = open(path, "rb").read().decode()
    frames = re.findall(r"\r\[([#.]{30})\] +(\d+)% sent (\d+)/(\d+)  deferred (\d+)  failed (\d+)  ([\d.]+) msg/s", raw)
    assert len(frames) >= 3, (path, raw[:300])
    sent = [int(f[2]) for f in frames]
    assert sent == sorted(sent), sent
    assert any(float(f[6]) > 0 for f in frames), frames   # a rate shown
    assert "ETA 0:0" in raw, raw[:400]                    # under 10 s left
    last = frames[-1]
    assert last[0] == "#" * 30 and last[1] == "100" and last[2:4] == ("40", "40"), last
    assert raw.endswith("\n"), repr(raw[-20:])
    print("%s: %d frames, last %s" % (path.rsplit("/", 1)[1], len(frames), last[1:]))
PYEOF
ok "status --watch and send --wait on a terminal: a bar to 100 %, sent 40/40, msg/s, ETA"

# --- the daemon killed under a bar: the error starts its own line.
# At 5 msg/s the broadcast lasts 8 s, so the kill 3 s in comes under a
# bar even when the CLI starts slowly (under memcheck its first frame
# took over a second; at 20 msg/s the broadcast could end first)
sed -i 's/messages_per_second = [0-9.]*/messages_per_second = 5.0/' "$T/broadside.conf"
expect_rc 0 bs reload
$TTY "$T/die.tty" "$BROADSIDE" -c "$T/broadside.conf" send --wait "$TOP/tests/fixtures/statement-plain.txt" >/dev/null &
TPID=$!
sleep 3
kill -9 "$DAEMON_PID"
wait "$TPID"
rc=$?
[ $rc = 69 ] || fail "send --wait with the daemon killed: exit $rc, want 69"
"$PY" - "$T/die.tty" <<'PYEOF' || fail "error line glued to the bar"
import sys
raw = open(sys.argv[1], "rb").read().decode()
assert "\r[" in raw, raw[:200]                      # a bar was drawn
tail = raw[raw.rindex("broadside: ") - 1:]
assert tail[0] == "\n", repr(raw[-200:])           # then a new line
print("ends with %r" % tail.strip())
PYEOF
start_daemon
ok "daemon killed during send --wait on a terminal: exit 69, the error on a line of its own"

# --- import from a file: a bar
make_subscribers 500000 "$T/big.csv" p
$TTY "$T/imp.tty" "$BROADSIDE" -c "$T/broadside.conf" subscribers import "$T/big.csv" >"$T/imp.out" ||
    fail "import on a tty: exit $?"
grep -q "500000 added" "$T/imp.out" || fail "no summary: $(cat "$T/imp.out")"
"$PY" - "$T/imp.tty" <<'PYEOF' || fail "import bar"
import re, sys
raw = open(sys.argv[1], "rb").read().decode()
frames = re.findall(r"\r\[([#.]{30})\] +(\d+)% ([\d.]+)/([\d.]+) MB +(\d+) lines", raw)
print("%d frames, last %r" % (len(frames), frames[-1:] ))
assert frames, raw[:300]
pcts = [int(f[1]) for f in frames]
assert pcts == sorted(pcts), pcts                  # only moves forward
for bar, pct, done, size, lines in frames:
    # pct is printed rounded; the bar fills floor(exact pct * 30 / 100)
    p = int(pct)
    assert (max(p - 0.5, 0) * 30 // 100 <= bar.count("#") <=
            min(p + 0.5, 100) * 30 // 100), (bar, pct)
    assert float(done) <= float(size) and int(lines) > 0
assert "ETA " in raw, raw[:300]
assert raw.endswith("\r\x1b[K"), repr(raw[-40:])  # taken off at the end
PYEOF
ok "import on a terminal: a bar by bytes, lines and ETA, cleared before the summary"

# --- import from a pipe: no size, so a count
make_subscribers 500000 "$T/more.csv" q
$TTY "$T/pipe.tty" sh -c "cat '$T/more.csv' | '$BROADSIDE' -c '$T/broadside.conf' subscribers import -" >"$T/pipe.out" ||
    fail "import - on a tty: exit $?"
grep -q "500000 added" "$T/pipe.out" || fail "no summary: $(cat "$T/pipe.out")"
grep -q "$(printf '\r')[0-9.]* MB  [0-9]* lines" "$T/pipe.tty" || fail "no count for a pipe: $(od -c "$T/pipe.tty" | head)"
ok "import from a pipe on a terminal: MB and lines"

stop_daemon
