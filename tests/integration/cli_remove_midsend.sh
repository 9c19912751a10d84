# `broadside subscribers remove ADDR` in the middle of a broadcast stops
# the mail already claimed for that address, as the HTTP unsubscribe does:
# at 1 msg/s every recipient is claimed at the start (batch_size 500), the
# 6th is removed within the first 2 s, some 3 s before its turn; the SMTP
# server never sees it, and the broadcast still finishes with the other 7.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 1; timeout = 10; };
rate: { messages_per_second = 1.0; burst = 1; };"
start_daemon

make_subscribers 8 "$T/subs.csv" r
expect_rc 0 bs subscribers import "$T/subs.csv"
VICTIM=r00005@example.org	# the 6th: its turn comes about 5 s in
ID=$(bs send "$TOP/tests/fixtures/statement-plain.txt" | head -n 1)
[ "$ID" -gt 0 ] 2>/dev/null || fail "send"
wait_accepted 1 100		# under way: everyone is claimed by now
expect_rc 0 bs subscribers remove "$VICTIM"
# Margin: the removal lands about 1 s into the broadcast and the 6th
# message would start about 5 s in; it must not have begun yet, or the
# test proves nothing (fewer than 5 accepted leaves at least 1 s).
n=$(accepted)
[ "$n" -lt 5 ] || fail "too slow to test: $n accepted before the removal returned"
i=0
while [ "$(bs status "$ID" --json | json_get 'j["state"]')" != done ]; do
	i=$((i + 1)); [ $i -lt 300 ] || { bs status "$ID" --json; fail "broadcast did not finish in 30 s"; }
	sleep 0.1
done
"$PY" - "$T/mail/log.jsonl" "$VICTIM" <<'PYEOF' || fail "the removed address was mailed"
import json, sys
victim = sys.argv[2]
got = set()
for rec in (json.loads(l) for l in open(sys.argv[1])):
    r = rec.get("rcpt")
    rs = r if isinstance(r, list) else [r] if r else []
    assert victim not in rs, rec          # not even a RCPT TO
    if rec["ev"] == "data" and rec.get("code") == 250:
        got.update(rs)
want = {"r%05d@example.org" % i for i in range(8)} - {victim}
assert got == want, (sorted(got), sorted(want))
PYEOF
bs status "$ID" --json > "$T/st.json"
json_get '(j["sent"], j["pending"], j["deferred"])' < "$T/st.json" | grep -q "^(7, 0, 0)$" ||
    fail "status after the removal: $(cat "$T/st.json")"
bs subscribers list | grep -q "^$VICTIM.*unsubscribed$" || fail "not unsubscribed"
ok "removed during a 1 msg/s broadcast ($n sent by then): never mailed, the other 7 delivered"
stop_daemon
