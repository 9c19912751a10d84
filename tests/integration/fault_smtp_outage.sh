# The SMTP server disappears for a minute in the middle of a broadcast
# and comes back on the same port.  An outage is the relay's fault: the
# broadcast waits (state "waiting", the connection error as reason),
# nobody is deferred or failed and no attempt is spent; once the server
# is back the broadcast finishes within the 30 s backoff cap, every
# recipient is sent, and the server saw each exactly once.
. "$(dirname "$0")/../lib.sh"

N=400
OUTAGE=${OUTAGE:-60}
start_smtpd mail
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
json_get '(j["state"], j["deferred"], j["failed"]) == ("waiting", 0, 0) and j["reason"].startswith("waiting for relay: ") or sys.exit(1)' < "$T/s" >/dev/null ||
    fail "not waiting for the relay during the outage: $(cat "$T/s")"
"$PY" - "$T/state/broadside.db" <<'PYEOF' || fail "attempts were spent during the outage"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
n = db.execute("SELECT count(*) FROM deliveries WHERE state != 1 AND attempts > 0").fetchone()[0]
sys.exit(1 if n else 0)
PYEOF

"$PY" "$TOP/tests/smtpd.py" --port "$PORT" --maildir "$T/mail" >/dev/null 2>"$T/mail2.err" &
SMTPD_PID=$!; PIDS="$PIDS $SMTPD_PID"
timeout 120 "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null 2>&1
s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["state"], j["sent"], j["failed"], j["deferred"]) == ("done", '$N', 0, 0) or sys.exit(1)' >/dev/null ||
    fail "broadcast did not finish after the server came back: $s"
smtpd_report mail > "$T/report.json"
"$PY" - "$T/report.json" $N <<'PYEOF' || fail "server side"
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
per = r["per_rcpt"]
want = {"user%05d@example.org" % i for i in range(n)}
assert set(per) == want, "missing %s" % sorted(want - set(per))[:5]
dups = {a: c for a, c in per.items() if c > 1}
assert not dups, "duplicates: %s" % dups
PYEOF
"$PY" - "$T/state/broadside.db" "$ID" <<'PYEOF' || fail "store states"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = db.execute("SELECT state, max(attempts), count(*) FROM deliveries "
                  "WHERE broadcast_id = ? GROUP BY state", (int(sys.argv[2]),)).fetchall()
print("store: (state, max attempts, count):", rows)
assert len(rows) == 1 and rows[0][0] == 1, rows
assert rows[0][1] == 1, "the outage spent recipient attempts"
PYEOF
ok "server back: $N sent, each exactly once at the server"
stop_daemon
