# The engine under control: the control socket answers within 50 ms while
# every sender waits on a slow server, the server sees `connections`
# sessions, pause / resume / cancel act within a second, broadcasts go
# out in order, and SIGTERM lets in-flight messages finish, records them
# and exits 0 (a restart then sends nothing twice).
# tests/run: alone (it bounds the control socket within 50 ms)
. "$(dirname "$0")/../lib.sh"

CONNS=4
start_smtpd mail --delay-ms 400
HTTP_PORT=$(free_port)
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = $CONNS; timeout = 10; };
rate: { batch_size = 50; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
start_daemon
make_subscribers 120 "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"

bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
sleep 1
# every sender is waiting 400 ms for its "."; the loop must not wait with
# them.  Under memcheck (check-valgrind runs the daemon through a wrapper
# script) the first answer took 60.7 ms: 200 ms there still tells a loop
# that waits 400 ms with the senders.
LIMIT=50
under_memcheck && LIMIT=200
"$PY" "$TOP/tests/py/latency_probe.py" --limit-ms $LIMIT --every-ms 50 \
    "$T/state/control.sock" "$HTTP_PORT" sleep 2 ||
    fail "control socket or HTTP slow while senders wait"
ok "control socket and HTTP answer within $LIMIT ms while senders wait"

# pause: within a second nothing more starts
t0=$("$PY" -c 'import time; print(time.monotonic())')
expect_rc 0 bs pause "$ID"
sleep 1
a=$(smtpd_report mail | json_get 'j["accepted"]')
sleep 1.5
b=$(smtpd_report mail | json_get 'j["accepted"]')
[ "$a" = "$b" ] || fail "messages still leaving 1 s after pause ($a -> $b)"
[ "$(bs status "$ID" --json | json_get 'j["state"]')" = paused ] || fail "state not paused"
ok "pause acts within a second ($a sent so far)"

expect_rc 0 bs resume "$ID"
sleep 1.2
c=$(smtpd_report mail | json_get 'j["accepted"]')
[ "$c" -gt "$b" ] || fail "resume did not restart sending"
ok "resume"

# a second broadcast waits for the first
bs send "$TOP/tests/fixtures/statement-header.txt" > "$T/out2" || fail "send 2"
ID2=$(head -n 1 "$T/out2")
[ "$(bs status "$ID2" --json | json_get 'j["state"]')" = queued ] || fail "second not queued"
bs status --watch "$ID" > /dev/null 2>&1
bs status --watch "$ID2" > /dev/null 2>&1
"$PY" - "$T/mail/log.jsonl" "$ID" "$ID2" <<'PYEOF' || fail "broadcasts interleaved"
import json, sys
order = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["ev"] == "data" and e.get("message_id"):
        order.append(int(e["message_id"].split(".")[0].lstrip("<b")))
first, second = int(sys.argv[2]), int(sys.argv[3])
last_first = max(i for i, b in enumerate(order) if b == first)
first_second = min(i for i, b in enumerate(order) if b == second)
assert last_first < first_second, (last_first, first_second)
assert order.count(first) == 120 and order.count(second) == 120, (order.count(first), order.count(second))
PYEOF
ok "broadcasts go out in order, each complete, nobody twice"

smtpd_report mail | json_get 'j["sessions"]' > "$T/sessions"
[ "$(cat "$T/sessions")" -le $((CONNS * 2)) ] || fail "sessions $(cat "$T/sessions") for $CONNS connections"
ok "server saw $(cat "$T/sessions") sessions for $CONNS connections"

# cancel within a second
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out3" || fail "send 3"
ID3=$(head -n 1 "$T/out3")
sleep 1
expect_rc 0 bs cancel "$ID3"
sleep 1
a=$(smtpd_report mail | json_get 'j["accepted"]')
sleep 1.5
b=$(smtpd_report mail | json_get 'j["accepted"]')
[ "$a" = "$b" ] || fail "messages still leaving after cancel"
[ "$(bs status "$ID3" --json | json_get 'j["state"]')" = cancelled ] || fail "not cancelled"
expect_rc 65 bs resume "$ID3"
ok "cancel acts within a second"

# SIGTERM with messages in flight: they finish, are recorded, exit 0
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out4" || fail "send 4"
ID4=$(head -n 1 "$T/out4")
sleep 1.2
t0=$(date +%s)
stop_daemon
[ $(( $(date +%s) - t0 )) -le 12 ] || fail "SIGTERM took too long"
grep -q "queue: stopping" "$T/daemon.log" || fail "no stopping line"
start_daemon
bs status --watch "$ID4" > /dev/null 2>&1
[ "$(bs status "$ID4" --json | json_get 'j["sent"]')" = 120 ] || fail "broadcast 4 incomplete"
"$PY" - "$T/mail/log.jsonl" "$ID4" <<'PYEOF' || fail "duplicates after SIGTERM"
import json, sys, collections
c = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["ev"] == "data" and e.get("message_id", "").startswith("<b%s." % sys.argv[2]):
        c[e["message_id"]] += 1
assert len(c) == 120, len(c)
assert max(c.values()) == 1, [k for k, v in c.items() if v > 1]
PYEOF
ok "SIGTERM: in-flight finished and recorded, restart sent nobody twice"
stop_daemon
