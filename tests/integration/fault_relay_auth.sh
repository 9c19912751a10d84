# A relay that wants AUTH answers MAIL FROM with "530 5.7.0 Authentication
# required": a relay fault (issue 10 §1).  The broadcast must pause with
# that reply as the reason; no recipient is failed, deferred or bounced.
# The old engine failed every recipient of the broadcast at once.
#  1. --mail-reply 530: fixed by the relay (restarted answering normally)
#     and `broadside resume ID`.
#  2. a relay that really requires AUTH (smtpd.py --auth-user), and a
#     daemon without credentials: fixed on our side (username and
#     password_file, `broadside reload`) and `resume`.
# Both end with every subscriber delivered exactly once.
#
# Timing: the pause comes from the first MAIL FROM (well under 1 s here);
# 15 s are allowed for it, and 30 s to deliver 12 messages after resume.
. "$(dirname "$0")/../lib.sh"

N=12
start_smtpd mail --mail-reply "530 5.7.0 Authentication required"
PORT=$SMTP_PORT
CONF_SMTP="url = \"smtp://127.0.0.1:$PORT\"; connections = 2; timeout = 5;"
CONF_REST="retry: { max_attempts = 3; initial_delay = 1; max_delay = 2; };"
write_config "smtp: { $CONF_SMTP };
$CONF_REST"
start_daemon

echo email,name > "$T/subs.csv"
for i in $(seq 0 $((N - 1))); do
	printf 'reader%02d@d%d.example,Reader %d\n' "$i" $((i % 3)) "$i"
done >> "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"

# paused ID: the broadcast pauses on "530 5.7.0 Authentication required",
# and once in-flight messages are back every recipient is to do again
paused() {
	wait_bc "$1" 150 'j["state"] in ("paused", "done", "cancelled")' ||
	    { diag "$1" "$2"; fail "broadcast $1 not paused within 15 s"; }
	json_get '(j["state"] == "paused" and "530 5.7.0 Authentication required" in (j.get("reason") or "")) or sys.exit(1)' \
	    <"$T/status.json" >/dev/null ||
	    { diag "$1" "$2"; fail "want paused with the 530 reply: $(cat "$T/status.json")"; }
	ok "broadcast $1 paused: $(json_get 'j["reason"]' <"$T/status.json")"
	wait_bc "$1" 50 'j["pending"] == j["total"] == '$N ||
	    { diag "$1" "$2"; fail "recipients not all pending after the pause: $(cat "$T/status.json")"; }
	json_get '(j["sent"], j["failed"], j["deferred"]) == (0, 0, 0) or sys.exit(1)' \
	    <"$T/status.json" >/dev/null ||
	    { diag "$1" "$2"; fail "status after the pause: $(cat "$T/status.json")"; }
	sub_states >"$T/subs" || fail "subscribers list"
	[ "$(grep -c ' active$' "$T/subs")" -eq $N ] ||
	    { cat "$T/subs" >&2; fail "subscribers not all active after a relay fault"; }
	ok "nobody failed, deferred or bounced"
}

# delivered ID NAME: resume ID; done, and server NAME got each once
delivered() {
	expect_rc 0 bs resume "$1"
	wait_bc "$1" 300 'j["state"] in ("done", "cancelled")' ||
	    { diag "$1" "$2"; fail "broadcast $1 not done within 30 s of resume"; }
	json_get '(j["state"], j["sent"], j["failed"], j["deferred"], j["reason"]) == ("done", '$N', 0, 0, None) or sys.exit(1)' \
	    <"$T/status.json" >/dev/null ||
	    { diag "$1" "$2"; fail "after resume: $(cat "$T/status.json")"; }
	smtpd_report "$2" >"$T/report.json"
	json_get '(j["accepted"], j["unique"], j["duplicates"]) == ('$N', '$N', 0) or sys.exit(1)' \
	    <"$T/report.json" >/dev/null ||
	    { diag "$1" "$2"; fail "server side after resume: $(cat "$T/report.json")"; }
	ok "broadcast $1 resumed: $N delivered, each exactly once"
}

# 1. the relay refuses MAIL FROM, then is fixed
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
paused "$ID" mail
grep -q '"code": 530, "ev": "mail"' "$T/mail/log.jsonl" || fail "the server saw no MAIL FROM"
stop_smtpd
start_smtpd_on mail "$PORT"
delivered "$ID" mail

# 2. the relay requires AUTH and we have no credentials; then we do
stop_smtpd
start_smtpd_on auth "$PORT" --auth-user bcast --auth-pass S3cret
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send 2"
ID2=$(head -n 1 "$T/out")
paused "$ID2" auth
printf 'S3cret\n' >"$T/smtp-password"
chmod 600 "$T/smtp-password"
write_config "smtp: { $CONF_SMTP username = \"bcast\"; password_file = \"smtp-password\"; };
$CONF_REST"
expect_rc 0 bs reload
delivered "$ID2" auth
grep -q '"ev": "auth".*"ok": true' "$T/auth/log.jsonl" || fail "delivered without AUTH"
stop_daemon
