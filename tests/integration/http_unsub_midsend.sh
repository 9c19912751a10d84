# A subscriber who unsubscribes (RFC 8058 one-click over HTTP) in the
# middle of a rate-limited broadcast gets nothing once the POST has
# returned: the SMTP server's log has no message for them accepted after
# that moment, and the rest of the list is still delivered.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 25.0; burst = 1; batch_size = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon

echo email,name > "$T/subs.csv"
for i in $(seq 1 100); do echo "r$i@example.org,Reader $i"; done >> "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
tok() { "$PY" "$TOP/tests/py/http_token.py" "$T/state/secret" unsubscribe "$1"; }

cat > "$T/st.txt" <<'EOF2'
Rate-limited notice – “please read”…

The bridge closes at 22:00 – café stays open.
EOF2
ID=$(bs send "$T/st.txt" | head -n 1)
[ "$ID" -gt 0 ] 2>/dev/null || fail "send"
# wait until the broadcast is under way
i=0
while :; do
	sent=$(bs status "$ID" --json | json_get 'j["sent"]')
	[ "$sent" -ge 10 ] && break
	i=$((i + 1)); [ $i -lt 200 ] || fail "broadcast did not start"
	sleep 0.05
done
[ "$sent" -lt 60 ] || fail "broadcast too fast to test ($sent sent)"
# subscribers 70 and 71 (ids follow the import order) leave now
for n in 70 71; do
	c=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data 'List-Unsubscribe=One-Click' "$U/unsubscribe?t=$(tok $n)")
	[ "$c" = 200 ] || fail "one-click for r$n: $c"
done
wc -l < "$T/mail/log.jsonl" > "$T/mark"
i=0
while [ "$(bs status "$ID" --json | json_get 'j["state"]')" != done ]; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "broadcast did not finish"
	sleep 0.1
done
"$PY" - "$T/mail/log.jsonl" "$(cat "$T/mark")" <<'PYEOF' || fail "mail after the unsubscribe"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
mark = int(sys.argv[2])
after = [json.loads(l) for l in lines[mark:]]
got = set()
for rec in (json.loads(l) for l in lines):
    if rec["ev"] == "data" and rec.get("code") == 250:
        got.update(rec["rcpt"])
for rec in after:
    if rec["ev"] in ("rcpt", "data"):
        r = rec.get("rcpt")
        rs = r if isinstance(r, list) else [r]
        assert not {"r70@example.org", "r71@example.org"} & set(rs), rec
assert "r70@example.org" not in got and "r71@example.org" not in got, "unsubscribed reader got the message"
missing = {"r%d@example.org" % i for i in range(1, 101)} - got - {"r70@example.org", "r71@example.org"}
assert not missing, sorted(missing)[:5]
PYEOF
ok "unsubscribed mid-broadcast (after $sent sent): nothing for them, 98 others delivered"
stop_daemon
