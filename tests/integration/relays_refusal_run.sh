# A relay that refuses every recipient with "550 5.1.1 User unknown" next
# to one that delivers (smtp.relays, weights 1:1): the run of identical
# refusals that marks a relay refusing everyone (5 in a row, 2 domains or
# more) is counted per relay, so the good relay's 250s between them do not
# hide it.  The refusing relay is taken out ("refused"), the refusals it
# made are undone, and the other relay delivers to all 100 recipients
# (5 domains, interleaved): done, sent 100, failed 0, nobody bounced.
# With one run for all relays (before), each 250 from the good relay broke
# the run and every recipient the bad relay refused was bounced.
. "$(dirname "$0")/../lib.sh"

N=100
start_smtpd a; PA=$SMTP_PORT
start_smtpd d --rcpt-reply "550 5.1.1 User unknown"; PD=$SMTP_PORT
HTTP_PORT=$(free_port)
write_config "smtp: { connections = 4; timeout = 5; relays = (
  { url = \"smtp://127.0.0.1:$PA\"; }, { url = \"smtp://127.0.0.1:$PD\"; } ); };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
start_daemon
echo email,name > "$T/subs.csv"
for i in $(seq 0 $((N - 1))); do
	printf 'reader%03d@d%d.example,Reader %d\n' "$i" $((i % 5)) "$i"
done >> "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_bc "$ID" 600 'j["state"] not in ("queued", "sending", "waiting")' ||
    { diag "$ID" a; fail "broadcast not over in 60 s"; }
json_get '(j["state"], j["sent"], j["failed"], j["bounced"]) == ("done", '$N', 0, 0) or sys.exit(1)' <"$T/status.json" >/dev/null ||
    { diag "$ID" a; fail "want done, $N sent through A, none failed: $(cat "$T/status.json")"; }
sub_states >"$T/subs"
[ "$(grep -c ' active$' "$T/subs")" -eq $N ] ||
    { grep -v ' active$' "$T/subs" >&2; fail "subscribers bounced by a relay refusing everyone"; }
smtpd_report d >"$T/d.json"
json_get 'j["accepted"] == 0 or sys.exit(1)' <"$T/d.json" >/dev/null || fail "D accepted mail"
refused=$(grep -c '"code": 550, "ev": "rcpt"' "$T/d/log.jsonl")
[ "$refused" -ge 5 ] || fail "D refused only $refused: the run cannot have been seen"
"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics" || fail "GET /metrics"
grep -q "^broadside_relay_out{relay=\"127.0.0.1:$PD\",state=\"refused\",reason=\".*5.1.1 User unknown" "$T/metrics" ||
    { grep '^broadside_relay' "$T/metrics" >&2; fail "/metrics: D not refused"; }
smtpd_report a >"$T/a.json"
json_get '(j["accepted"], j["duplicates"]) == ('$N', 0) or sys.exit(1)' <"$T/a.json" >/dev/null ||
    fail "A: $(grep -v '@' "$T/a.json")"
ok "D refusing everyone ($refused RCPT refused) taken out, its refusals undone; A delivered all $N, nobody bounced"
stop_daemon
