# Retries and failures against a scripted server: 4xx and broken or
# stalled connections are deferred with backoff and retried up to
# max_attempts, then failed; 5xx fails at once; a 5xx to RCPT marks the
# subscriber bounced; one bad recipient never stops the broadcast; an
# unreachable server defers everything and the broadcast finishes once
# it is back.  End state and attempt count of every recipient checked.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail --stall-secs 6
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 3; timeout = 2; };
retry: { max_attempts = 3; initial_delay = 1; max_delay = 2; };"
start_daemon

cat > "$T/subs.csv" <<'CSV'
email,name
good1@example.org,Good One
rcpt451-a@example.org,Temp Rcpt
rcpt550-b@example.org,Bounce Rcpt
good2@example.org,Good Two
data552-c@example.org,Perm Data
data451-d@example.org,Temp Data
drop-e@example.org,Dropped
stall-f@example.org,Stalled
good3@example.org,Good Three
CSV
expect_rc 0 bs subscribers import "$T/subs.csv"
start=$(date +%s)
bs send --wait "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 75 ] || { cat "$T/err"; fail "send --wait exit $rc, want 75 (failures)"; }
ID=$(head -n 1 "$T/out")
ok "send --wait exits 75 with failed deliveries ($(( $(date +%s) - start ))s)"

dump_deliveries() {
	"$PY" - "$T/state/broadside.db" "$1" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
states = ["pending", "sent", "deferred", "failed", "claimed"]
subst = ["pending", "active", "unsubscribed", "bounced"]
for email, st, att, code, sst in db.execute(
        "SELECT s.email, d.state, d.attempts, d.code, s.status FROM deliveries d "
        "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.broadcast_id = ? "
        "ORDER BY s.email", (int(sys.argv[2]),)):
    print(email, states[st], att, code, subst[sst])
PYEOF
}
dump_deliveries "$ID" > "$T/states"
cat "$T/states"
check() {
	grep -qx "$1" "$T/states" || fail "want: $1"
}
check "good1@example.org sent 1 250 active"
check "good2@example.org sent 1 250 active"
check "good3@example.org sent 1 250 active"
check "rcpt550-b@example.org failed 1 550 bounced"
check "data552-c@example.org failed 1 552 active"
# the last of the three attempts of a 4xx recipient may end on the
# connection instead (code 0: the server closed a kept session, or a
# slow run under Valgrind hit smtp.timeout): still a deferral, counted
# the same
for a in rcpt451-a data451-d; do
	grep -Eq "^$a@example.org failed 3 (451|0) active$" "$T/states" || fail "$a"
done
grep -q "^drop-e@example.org failed 3 " "$T/states" || fail "drop-e"
grep -q "^stall-f@example.org failed 3 " "$T/states" || fail "stall-f"
ok "end state and attempts of every recipient"

smtpd_report mail > "$T/report.json"
"$PY" - "$T/report.json" <<'PYEOF' || fail "server view"
import json, sys
r = json.load(open(sys.argv[1]))
acc = r["per_rcpt"]
for a in ("good1@example.org", "good2@example.org", "good3@example.org"):
    assert acc.get(a) == 1, (a, acc.get(a))
for a in ("rcpt451-a", "rcpt550-b", "data552-c", "drop-e"):
    assert a + "@example.org" not in acc, a
PYEOF
ok "server received exactly the good ones, once"

s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["sent"], j["failed"], j["deferred"], j["pending"]) == (3, 6, 0, 0) or sys.exit(1)' >/dev/null ||
    fail "status counts: $s"
ok "status counts 3 sent, 6 failed"

# a bounced subscriber is not mailed again
expect_rc 0 bs subscribers list
grep -q "^rcpt550-b@example.org.*bounced$" "$T/out" || fail "bounce not in list"

# unreachable server: the relay's fault, not the recipients': the broadcast
# waits (state "waiting" with the connection error), no attempt is spent,
# nobody is deferred or failed; delivered when the server returns
kill "$SMTPD_PID"; wait "$SMTPD_PID" 2>/dev/null
printf 'email\nlate1@example.org\nlate2@example.org\n' > "$T/late.csv"
expect_rc 0 bs subscribers import "$T/late.csv"
expect_rc 0 bs subscribers remove rcpt451-a@example.org
expect_rc 0 bs subscribers remove data451-d@example.org
expect_rc 0 bs subscribers remove drop-e@example.org
expect_rc 0 bs subscribers remove stall-f@example.org
expect_rc 0 bs subscribers remove data552-c@example.org
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out2" || fail "send 2"
ID2=$(head -n 1 "$T/out2")
i=0
while :; do
	w=$(bs status "$ID2" --json | json_get '(j["state"], j["pending"], j["deferred"], j["failed"], (j["reason"] or "").startswith("waiting for relay: "))')
	[ "$w" = "('waiting', 5, 0, 0, True)" ] && break
	i=$((i + 1)); [ $i -lt 100 ] || fail "not waiting with the server down: $(bs status "$ID2" --json)"
	sleep 0.1
done
ok "server down: waiting for the relay, all 5 still pending"
"$PY" "$TOP/tests/smtpd.py" --port "$SMTP_PORT" --maildir "$T/mail2" >/dev/null 2>"$T/mail2.err" &
SMTPD_PID=$!; PIDS="$PIDS $SMTPD_PID"
bs status --watch "$ID2" >/dev/null 2>&1
rc=$?
s=$(bs status "$ID2" --json)
echo "$s" | json_get '(j["sent"], j["state"]) == (5, "done") or sys.exit(1)' >/dev/null ||
    fail "broadcast did not resume: $s (watch rc $rc)"
ok "server back: broadcast resumed and finished"
stop_daemon
