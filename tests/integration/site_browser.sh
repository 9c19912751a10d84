# The public site in a real browser (headless Chromium through selenium
# and chromedriver, tests/py/site_browser.py): a reader opens /, fills in
# the subscribe form, submits it, opens the link of the confirmation mail
# the test SMTP server received and presses the confirm button, and is
# then an active subscriber (broadside subscribers list --json); every
# page (/, /subscribe, /archive/, a statement, the unsubscribe and
# confirm pages with real tokens, the answer to the form) is checked at
# 360 and 1280 px (no sideways scrolling), in dark mode (another
# background), with axe-core from .cache/web (no violation in either
# mode) and for browser console errors.  Skips, saying why, where
# Chromium, chromedriver, selenium or axe-core are not installed
# (scripts/deps installs them).
# tests/run: alone (it bounds Chromium takes both cores)
. "$(dirname "$0")/../lib.sh"
AXE=${BROADSIDE_WEB:-$TOP/.cache/web}/node_modules/axe-core/axe.min.js
command -v chromium >/dev/null || { echo "no chromium (scripts/deps installs Debian's chromium)"; exit 77; }
command -v chromedriver >/dev/null || { echo "no chromedriver (scripts/deps installs chromium-driver)"; exit 77; }
"$PY" -c 'import selenium' 2>/dev/null || { echo "no python3-selenium (scripts/deps installs it)"; exit 77; }
[ -f "$AXE" ] || { echo "no $AXE (scripts/deps installs axe-core from npm)"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
sed -i "s|base_url = \"https://lists.example.org\"|base_url = \"$U\"; description = \"Letters from the Lower Valley.\"|" "$T/broadside.conf"
grep -q "base_url = \"$U\"" "$T/broadside.conf" || fail "config not rewritten"
start_daemon

bs subscribers add reader@example.org "Réa Der" >/dev/null || fail "subscribers add"
cat > "$T/st.txt" <<'EOF'
# Harbour lights – “a second look”

By the Quay Street Residents’ Association

The ferry’s evening crossing resumes on Monday – at last – with the lights along the pier, which a decision of the council had switched off in November: https://lists.example.org/a-very-long-address-without-any-place-to-break-it-at-all-0123456789abcdefghijklmnopqrstuvwxyz

- Café owners report queues of 20–30 people.
- “Finally”, said one.

6 March 2026
EOF
mv "$T/st.txt" "$T/st.md"
bs send --wait "$T/st.md" > "$T/send.out" 2>"$T/send.err" || { cat "$T/send.err"; fail "send"; }
ID=$(head -n 1 "$T/send.out")
UNSUB=$("$PY" "$TOP/tests/py/site_mail.py" "$T/mail" reader@example.org unsubscribe) ||
    fail "no List-Unsubscribe in the message"

WHO=zoe.browser@example.net
"$PY" "$TOP/tests/py/site_browser.py" "$U" "$T/mail" "$AXE" "$UNSUB" "$U/archive/$ID" "$WHO" ||
    { tail -n 20 "$T/daemon.log" >&2; fail "browser"; }

st=$(bs subscribers list --json | "$PY" -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["email"] == sys.argv[1]]
print(s[0]["status"] + "/" + s[0]["name"] if s else "none")' "$WHO")
[ "$st" = "active/Zoë Browser" ] || fail "after the browser confirmed: $st, want active/Zoë Browser"
ok "the subscriber the browser signed up and confirmed is active, with the name typed"
