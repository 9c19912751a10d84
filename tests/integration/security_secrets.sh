# No secret ever leaves the daemon: the SMTP password (smtp.password_file)
# and the HMAC key (secret_file: its raw bytes, hex, base64 and base64url,
# padded or not) appear nowhere in the daemon's log (run with -v, which
# logs the SMTP dialogue), in `broadsided -t`, in any CLI output or error
# (status --json, subscribers list, reload refused, send --test to a
# server refusing AUTH), in /metrics, /healthz, the feed, the archive, or
# the control API's answers.  AUTH itself is exercised both ways: a good
# password delivers, a wrong one is refused and reported.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

PASS='Pa55-wörd:Zq7!kX#long-enough'
start_smtpd mail --auth-user bcast --auth-pass "$PASS"
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
printf '%s\n' "$PASS" > "$T/smtp-password"
chmod 600 "$T/smtp-password"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; username = \"bcast\";
    password_file = \"smtp-password\"; connections = 2; timeout = 10; };
retry: { initial_delay = 1; max_delay = 1; max_attempts = 2; };
http: { listen = \"127.0.0.1:$PORT\"; };"

# collect FILE: everything the outside world may see, appended to $T/seen
collect() { cat "$@" >> "$T/seen" 2>/dev/null; }
: > "$T/seen"

"$BROADSIDED" -t -c "$T/broadside.conf" >"$T/t.out" 2>&1 || { cat "$T/t.out"; fail "-t"; }
collect "$T/t.out"

# the daemon in verbose mode (the SMTP dialogue is logged)
"$BROADSIDED" -v -c "$T/broadside.conf" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS="$PIDS $DAEMON_PID"
i=0
while ! bs status >/dev/null 2>&1; do
	kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.log"; fail "daemon died"; }
	i=$((i + 1)); [ $i -lt 100 ] || fail "daemon did not answer"
	sleep 0.1
done
[ -s "$T/state/secret" ] || fail "no secret file"

make_subscribers 5 "$T/subs.csv"
bs subscribers import "$T/subs.csv" >>"$T/seen" 2>&1 || fail import
cat > "$T/st.txt" <<'EOF'
Notes from the harbour – “winter hours”…
By the Quay Society

The ferry café opens at 7:30 from Monday; tickets are €2.
EOF
bs send --wait "$T/st.txt" >>"$T/seen" 2>&1 || { cat "$T/seen"; fail "send with AUTH"; }
[ "$(smtpd_report mail | json_get 'j["accepted"]')" = 5 ] || fail "not 5 delivered with AUTH"
grep -q '"ev": *"auth".*"ok": *true' "$T/mail/log.jsonl" || fail "no successful AUTH"
ok "AUTH with the password from password_file: 5 delivered"

for c in "status" "status --json" "status 1 --json" "subscribers list --json" \
    "subscribers count --json" "feed"; do
	bs $c >>"$T/seen" 2>&1 || fail "bs $c"
done
bs preview "$T/st.txt" --part mime --to user00001@example.org >>"$T/seen" 2>&1 || fail preview
# the control API's raw answers, as a client sees them
for p in status status/1 subscribers feed; do
	curl -s --unix-socket "$T/state/control.sock" "http://x/v1/$p" >>"$T/seen" || fail "/v1/$p"
done
# public endpoints
for p in /metrics /healthz /feed.xml /archive /archive/1 /unsubscribe /confirm; do
	curl -s -D - "$U$p" >>"$T/seen" || fail "GET $p"
done
grep -q '^broadside_' "$T/seen" || fail "no metrics collected"

# a wrong password: the daemon reloads with it, AUTH is refused, the
# errors are reported (log, status, send --test) without the password
printf 'Wr0ng-but-also-secret\n' > "$T/smtp-password"
bs reload >>"$T/seen" 2>&1 || fail "reload with the new password"
bs send --test user00001@example.org "$T/st.txt" >>"$T/seen" 2>&1
[ $? = 75 ] || fail "send --test with a wrong password did not exit 75"
bs send --wait "$T/st.txt" >>"$T/seen" 2>&1
[ $? = 75 ] || fail "send --wait with a wrong password did not exit 75"
grep -q '"ev": *"auth".*"ok": *false' "$T/mail/log.jsonl" || fail "no refused AUTH"
bs status 2 --json >>"$T/seen" 2>&1
# a refused reload and a config error the CLI reports
printf 'smtp: { timeout = "soon"; };\n' >> "$T/broadside.conf"
bs reload >>"$T/seen" 2>&1 && fail "broken config reloaded"
"$BROADSIDED" -t -c "$T/broadside.conf" >>"$T/seen" 2>&1 && fail "-t passed a broken config"
ok "wrong password refused and reported"
curl -s "$U/metrics" >>"$T/seen"
stop_daemon
collect "$T/daemon.log"
grep -q 'smtp 1 > \|smtp 0 > \|smtp [0-9]* > AUTH' "$T/daemon.log" ||
    fail "-v did not log the SMTP dialogue (nothing to check)"
grep -q 'AUTH' "$T/daemon.log" || fail "-v log shows no AUTH command"

# search everything for the secrets in every spelling
"$PY" - "$T/seen" "$T/state/secret" "$PASS" "Wr0ng-but-also-secret" <<'PYEOF' || fail "a secret leaked"
import base64, sys
data = open(sys.argv[1], "rb").read()
key = open(sys.argv[2], "rb").read()[:64]
assert len(key) >= 16, "short key"
needles = {
    "key bytes": key,
    "key hex": key.hex().encode(),
    "key HEX": key.hex().upper().encode(),
    "key base64": base64.b64encode(key).rstrip(b"="),
    "key base64url": base64.urlsafe_b64encode(key).rstrip(b"="),
}
for pw in sys.argv[3:]:
    p = pw.encode()
    needles["password " + pw[:3]] = p
    needles["password hex " + pw[:3]] = p.hex().encode()
    # AUTH PLAIN and AUTH LOGIN carry these
    needles["AUTH PLAIN " + pw[:3]] = base64.b64encode(b"\0bcast\0" + p).rstrip(b"=")
    needles["AUTH LOGIN " + pw[:3]] = base64.b64encode(p).rstrip(b"=")
found = [k for k, v in needles.items() if v in data]
# a key prefix long enough to matter (8 bytes) in hex anywhere
for i in range(0, len(key) - 8):
    if key[i:i + 8].hex().encode() in data or key[i:i + 8] in data:
        found.append("key fragment at %d" % i)
        break
print("searched %d octets for %d spellings" % (len(data), len(needles)))
if found:
    print("LEAKED:", found)
    sys.exit(1)
PYEOF
ok "no password or key (raw, hex, base64) in logs, CLI output, control API, /metrics, /healthz"
