# Crash safety: a broadcast to 2,000 subscribers, the daemon SIGKILLed at
# 5 random moments and restarted each time.  In the end every address
# has the message and, counted from the server's side, the duplicates are
# at most 3 x connections + batch_size per kill: the messages with the
# sender threads (one sending and two queued per connection; a finished one
# is not collected for up to 20 ms) and the results not yet committed,
# which sending waits on once batch_size of them do.  That bound holds by
# construction, however slow the machine (valgrind, a loaded CI); a typical
# run counts 0 to 5 per kill.
. "$(dirname "$0")/../lib.sh"

CONNS=4
KILLS=5
BATCH=20
start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = $CONNS; timeout = 10; };
rate: { messages_per_second = 250.0; burst = 20; batch_size = $BATCH; };
retry: { initial_delay = 1; max_delay = 2; };"
start_daemon
make_subscribers 2000 "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")

k=0
while [ $k -lt $KILLS ]; do
	# 0.3 to 1.5 s of sending between kills
	sleep "$("$PY" -c 'import random; print(round(random.uniform(0.3, 1.5), 2))')"
	sent=$(smtpd_report mail | json_get 'j["accepted"]')
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	k=$((k + 1))
	echo "kill $k after $sent accepted"
	start_daemon
done
bs status --watch "$ID" >/dev/null 2>&1
s=$(bs status "$ID" --json)
echo "$s"
echo "$s" | json_get '(j["state"], j["sent"], j["failed"]) == ("done", 2000, 0) or sys.exit(1)' >/dev/null ||
    fail "broadcast did not finish cleanly"

smtpd_report mail > "$T/report.json"
"$PY" - "$T/report.json" "$CONNS" "$KILLS" "$BATCH" <<'PYEOF' || fail "server-side count"
import json, sys
r = json.load(open(sys.argv[1]))
conns, kills, batch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
limit = kills * (3 * conns + batch)
per = r["per_rcpt"]
missing = [ "user%05d@example.org" % i for i in range(2000)
            if per.get("user%05d@example.org" % i, 0) == 0 ]
assert not missing, "skipped: %d, e.g. %s" % (len(missing), missing[:5])
dups = sum(n - 1 for n in per.values() if n > 1)
print("accepted %d, duplicates %d (limit %d)" % (r["accepted"], dups, limit))
assert dups <= limit, dups
PYEOF
ok "no one skipped after $KILLS SIGKILLs; duplicates within the limit"
stop_daemon
