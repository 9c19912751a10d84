# The daemon over STARTTLS with AUTH: a certificate from a test CA made
# here with openssl, trusted through smtp.ca_file, the password read from
# smtp.password_file (and never logged); with the CA not trusted every
# delivery is deferred, nothing is sent in clear.
. "$(dirname "$0")/../lib.sh"
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }

"$TOP/tests/make-test-ca" "$T" || { cat "$T/openssl.log"; fail "openssl"; }

start_smtpd mail --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
    --require-tls --auth-user bcast --auth-pass 'S3cret-pass!'
printf 'S3cret-pass!\n' > "$T/smtp-password"
chmod 600 "$T/smtp-password"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; tls = \"starttls\";
    ca_file = \"ca.pem\"; username = \"bcast\"; password_file = \"smtp-password\";
    connections = 2; timeout = 5; };
retry: { initial_delay = 60; };"
start_daemon
make_subscribers 10 "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"
smtpd_report mail | json_get 'j["accepted"]' > "$T/n"
[ "$(cat "$T/n")" = 10 ] || fail "accepted $(cat "$T/n") over STARTTLS"
"$PY" - "$T/mail/log.jsonl" <<'PYEOF' || fail "MAIL before TLS or AUTH"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert not [e for e in ev if e["ev"] == "mail" and not e.get("tls", True)], "MAIL in clear"
assert [e for e in ev if e["ev"] == "auth"], "no AUTH"
PYEOF
grep -q 'S3cret' "$T/daemon.log" && fail "password in the log"
ok "STARTTLS with a trusted test CA and AUTH: 10 delivered, password not logged"
stop_daemon

# the same server, CA not trusted: nothing goes out, all deferred
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; tls = \"starttls\";
    username = \"bcast\"; password_file = \"smtp-password\"; connections = 2; timeout = 5; };
retry: { initial_delay = 60; };"
rm -rf "$T/state"; mkdir -p "$T/state"
start_daemon
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail send
ID=$(head -n 1 "$T/out")
i=0
while [ "$(bs status "$ID" --json | json_get '(j["state"], j["pending"], j["deferred"], j["failed"], "certificate" in (j["reason"] or ""))')" != "('waiting', 10, 0, 0, True)" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "not waiting: $(bs status "$ID" --json)"
	sleep 0.1
done
[ "$(smtpd_report mail | json_get 'j["accepted"]')" = 10 ] || fail "sent to an untrusted server"
grep -qi "certificate" "$T/daemon.log" || true
ok "untrusted CA: waiting for the relay with the certificate error, all 10 pending, none sent"
stop_daemon
