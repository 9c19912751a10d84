# A relay that refuses every RCPT TO with "550 5.7.1 Relaying denied" (a
# wrong password or IP allow-list: the everyday misconfiguration) is a
# relay fault, not 20 bad addresses (issue 10 §1).  The broadcast must
# pause with the server's reply as the reason, nobody is failed or
# bounced, and `send --wait` ends with exit 75 and the reason.  Once the
# relay is fixed, `broadside resume ID` delivers every subscriber exactly
# once.  The old engine bounced all 20 subscribers within a second and
# ended the broadcast "done" with 20 failed.
#
# Timing: the pause comes from the first refusal (well under 1 s here);
# 15 s are allowed for it, and 30 s for the 20 messages after resume.
. "$(dirname "$0")/../lib.sh"

N=20
start_smtpd mail --rcpt-reply "550 5.7.1 Relaying denied"
PORT=$SMTP_PORT
write_config "smtp: { url = \"smtp://127.0.0.1:$PORT\"; connections = 2; timeout = 5; };
retry: { max_attempts = 3; initial_delay = 1; max_delay = 2; };"
start_daemon

# 20 subscribers in 4 domains, so no rule about one domain can explain it
echo email,name > "$T/subs.csv"
for i in $(seq 0 $((N - 1))); do
	printf 'reader%02d@d%d.example,Reader %d\n' "$i" $((i % 4)) "$i"
done >> "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"

bs send --wait "$TOP/tests/fixtures/statement-plain.txt" >"$T/send.out" 2>"$T/send.err" &
SEND_PID=$!
PIDS="$PIDS $SEND_PID"
ID=$(sent_id "$T/send.out" "$T/send.err" 10) || exit 1

wait_bc "$ID" 150 'j["state"] in ("paused", "done", "cancelled")' ||
    { diag "$ID"; fail "broadcast not paused within 15 s"; }
json_get 'j["state"] == "paused" or sys.exit(1)' <"$T/status.json" >/dev/null ||
    { diag "$ID"; fail "broadcast ended instead of pausing: $(cat "$T/status.json")"; }
json_get '"5.7.1 Relaying denied" in (j.get("reason") or "") or sys.exit(1)' \
    <"$T/status.json" >/dev/null ||
    { diag "$ID"; fail "pause reason does not carry the server's reply: $(cat "$T/status.json")"; }
ok "paused: $(json_get 'j["reason"]' <"$T/status.json")"

# messages in flight at the pause come back too: then nothing is failed,
# deferred or sent, and every recipient is still to do
wait_bc "$ID" 50 'j["pending"] == j["total"] == '$N ||
    { diag "$ID"; fail "recipients not all pending after the pause: $(cat "$T/status.json")"; }
json_get '(j["state"], j["sent"], j["failed"], j["deferred"]) == ("paused", 0, 0, 0) or sys.exit(1)' \
    <"$T/status.json" >/dev/null ||
    { diag "$ID"; fail "status after the pause: $(cat "$T/status.json")"; }
sub_states >"$T/subs" || fail "subscribers list"
[ "$(grep -c ' active$' "$T/subs")" -eq $N ] ||
    { cat "$T/subs" >&2; fail "subscribers not all active after a relay fault"; }
ok "nobody failed, deferred or bounced"

# paused means no more tries at the relay (1 s later: the same count)
rcpts() { grep -c '"ev": "rcpt"' "$T/mail/log.jsonl"; }
r1=$(rcpts)
sleep 1
r2=$(rcpts)
[ "$r1" -eq "$r2" ] || fail "RCPT tries went on while paused ($r1, then $r2)"
ok "$r1 RCPT tries before the pause, none after"

# send --wait ends with 75 and says why
i=0
while kill -0 "$SEND_PID" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "send --wait still waiting 10 s after the pause"
	sleep 0.1
done
wait "$SEND_PID"
rc=$?
[ $rc -eq 75 ] || { cat "$T/send.err" >&2; fail "send --wait exited $rc on a paused broadcast, want 75"; }
grep -q "5.7.1 Relaying denied" "$T/send.err" ||
    { cat "$T/send.err" >&2; fail "send --wait did not print the reason"; }
ok "send --wait: exit 75 with the reason"

# the relay is fixed: same port, answering normally; resume
stop_smtpd
start_smtpd_on mail "$PORT"
expect_rc 0 bs resume "$ID"
wait_bc "$ID" 300 'j["state"] in ("done", "cancelled")' ||
    { diag "$ID"; fail "broadcast not done within 30 s of resume"; }
json_get '(j["state"], j["sent"], j["failed"], j["deferred"], j["reason"]) == ("done", '$N', 0, 0, None) or sys.exit(1)' \
    <"$T/status.json" >/dev/null ||
    { diag "$ID"; fail "after resume: $(cat "$T/status.json")"; }
smtpd_report mail >"$T/report.json"
json_get '(j["accepted"], j["unique"], j["duplicates"]) == ('$N', '$N', 0) or sys.exit(1)' \
    <"$T/report.json" >/dev/null ||
    { diag "$ID"; fail "server side after resume: $(cat "$T/report.json")"; }
sub_states >"$T/subs"
[ "$(grep -c ' active$' "$T/subs")" -eq $N ] || { cat "$T/subs" >&2; fail "subscribers after resume"; }
ok "resumed: $N delivered, each exactly once"
stop_daemon
