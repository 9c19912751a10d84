# The SMTP server disappears for a minute in the middle of a broadcast
# and comes back on the same port.  An outage is the relay's fault: the
# broadcast waits (state "waiting", the connection error as reason),
# nobody is failed and the outage spends no attempt; once the server is
# back the broadcast finishes within the 30 s backoff cap, every
# recipient is sent, and the server saw each exactly once.
#
# The one exception is a message the kill caught mid-transfer (after
# DATA, before the reply to the final dot): nobody can know whether the
# server kept it (SMTP's old ambiguity; Postfix says "may be sent more
# than once"), so it is deferred with one attempt spent, as a 4xx would
# be, and may reach the server twice.  At most one per connection (4);
# in most runs the kill falls between messages and there is none.
. "$(dirname "$0")/../lib.sh"

N=400
OUTAGE=${OUTAGE:-60}
start_smtpd mail ${SMTPD_ARGS:-}	# SMTPD_ARGS="--delay-ms 300": kills land mid-transfer
PORT=$SMTP_PORT
write_config "smtp: { url = \"smtp://127.0.0.1:$PORT\"; connections = 4; timeout = 5; };
rate: { messages_per_second = 20.0; burst = 5; batch_size = 50; };
retry: { initial_delay = 2; max_delay = 10; max_attempts = 20; };"
start_daemon
broadcast_to $N
wait_accepted 100 300
kill -KILL "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null
a1=$(accepted)
ok "server killed after $a1 accepted; away for $OUTAGE s"
t=0
while [ $t -lt "$OUTAGE" ]; do
	sleep 5; t=$((t + 5))
	kill -0 "$DAEMON_PID" || fail "daemon died during the outage"
	bs status "$ID" --json > "$T/s" || fail "status during the outage"
done
json_get '"during the outage: sent %d deferred %d pending %d state %s" % (j["sent"], j["deferred"], j["pending"], j["state"])' < "$T/s"
json_get '(j["state"], j["failed"]) == ("waiting", 0) and j["deferred"] <= 4 and j["reason"].startswith("waiting for relay: ") or sys.exit(1)' < "$T/s" >/dev/null ||
    fail "not waiting for the relay during the outage: $(cat "$T/s")"
# the rows that spent an attempt: only those caught mid-transfer, one each
"$PY" - "$T/state/broadside.db" > "$T/caught" <<'PYEOF' || fail "attempts were spent during the outage"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = db.execute("SELECT s.email, d.attempts FROM deliveries d JOIN subscribers s "
                  "ON s.id = d.subscriber_id WHERE d.state != 1 AND d.attempts > 0").fetchall()
assert len(rows) <= 4 and all(a == 1 for _, a in rows), rows
for e, _ in rows:
    print(e)
PYEOF
[ -s "$T/caught" ] && echo "caught mid-transfer by the kill (deferred, one attempt): $(tr '\n' ' ' < "$T/caught")"

"$PY" "$TOP/tests/smtpd.py" --port "$PORT" --maildir "$T/mail" >/dev/null 2>"$T/mail2.err" &
SMTPD_PID=$!; PIDS="$PIDS $SMTPD_PID"
timeout 120 "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null 2>&1
s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["state"], j["sent"], j["failed"], j["deferred"]) == ("done", '$N', 0, 0) or sys.exit(1)' >/dev/null ||
    fail "broadcast did not finish after the server came back: $s"
smtpd_report mail > "$T/report.json"
"$PY" - "$T/report.json" $N "$T/caught" <<'PYEOF' || fail "server side"
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
caught = set(open(sys.argv[3]).read().split())
per = r["per_rcpt"]
want = {"user%05d@example.org" % i for i in range(n)}
assert set(per) == want, "missing %s" % sorted(want - set(per))[:5]
dups = {a: c for a, c in per.items() if c > 1}
assert all(a in caught and c == 2 for a, c in dups.items()), "duplicates: %s" % dups
PYEOF
"$PY" - "$T/state/broadside.db" "$ID" "$T/caught" <<'PYEOF' || fail "store states"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
caught = set(open(sys.argv[3]).read().split())
rows = db.execute("SELECT state, count(*) FROM deliveries "
                  "WHERE broadcast_id = ? GROUP BY state", (int(sys.argv[2]),)).fetchall()
print("store: (state, count):", rows)
assert len(rows) == 1 and rows[0][0] == 1, rows
# one attempt each, two for a message caught mid-transfer: the outage
# itself spent none
for e, a in db.execute("SELECT s.email, d.attempts FROM deliveries d JOIN "
                       "subscribers s ON s.id = d.subscriber_id WHERE "
                       "d.broadcast_id = ?", (int(sys.argv[2]),)):
    assert a == 1 or (a == 2 and e in caught), "the outage spent recipient attempts: %s %d" % (e, a)
PYEOF
ok "server back: $N sent, each once at the server (but what the kill caught mid-transfer)"
stop_daemon
