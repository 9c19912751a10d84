# A Spanish reader in a real browser (issue 14 part 3; headless Chromium
# through selenium, tests/py/site_browser_lang.py):
#  - opens /, chooses Español in the subscribe form's language field,
#    submits, opens the confirmation mail's link (the test SMTP server),
#    presses confirm: the subscriber is active with lang = es; the
#    confirmation mail was in Spanish
#  - a broadcast with an English, a Spanish and an Arabic version reaches
#    that reader in Spanish and an English subscriber in English (mails
#    parsed with Python's email policy.strict)
#  - the Spanish feed /feed.es.xml (and feed.es.xml beside feed.path)
#    holds the Spanish item, linked to /archive/ID/es; /feed.xml the
#    English one (feedparser)
#  - /archive/ID/es in the browser: lang es, hreflang links to every
#    version, its feed; /archive/ID/ar: right to left; both at 360 and
#    1280 px, dark mode, axe-core clean, no console error
# Skips, saying why, where Chromium, chromedriver, selenium or axe-core
# are not installed (scripts/deps installs them).
# tests/run: alone (it bounds Chromium takes both cores)
. "$(dirname "$0")/../lib.sh"
AXE=${BROADSIDE_WEB:-$TOP/.cache/web}/node_modules/axe-core/axe.min.js
command -v chromium >/dev/null || { echo "no chromium (scripts/deps installs Debian's chromium)"; exit 77; }
command -v chromedriver >/dev/null || { echo "no chromedriver (scripts/deps installs chromium-driver)"; exit 77; }
"$PY" -c 'import selenium' 2>/dev/null || { echo "no python3-selenium (scripts/deps installs it)"; exit 77; }
"$PY" -c 'import feedparser' 2>/dev/null || { echo "no python3-feedparser (scripts/deps installs it)"; exit 77; }
[ -f "$AXE" ] || { echo "no $AXE (scripts/deps installs axe-core from npm)"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
sed -i "s|base_url = \"https://lists.example.org\"|base_url = \"$U\"|" "$T/broadside.conf"
grep -q "base_url = \"$U\"" "$T/broadside.conf" || fail "config not rewritten"
start_daemon

WHO=lectora@example.net
"$PY" "$TOP/tests/py/site_browser_lang.py" subscribe "$U" "$T/mail" "$AXE" "$WHO" ||
    { tail -n 20 "$T/daemon.log" >&2; fail "browser: subscribe in Spanish"; }
st=$(bs subscribers list --json | "$PY" -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["email"] == sys.argv[1]]
print("%s/%s" % (s[0]["status"], s[0]["lang"]) if s else "none")' "$WHO")
[ "$st" = "active/es" ] || fail "after the browser confirmed: $st, want active/es"
ok "the reader the browser signed up in Spanish is active with lang = es"
"$PY" - "$T/mail" "$WHO" <<'PYEOF' || fail "the confirmation mail is not in Spanish"
import email, glob, sys
from email import policy
for p in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_bytes(open(p, "rb").read(), policy=policy.strict)
    if m["To"].addresses[0].addr_spec == sys.argv[2]:
        break
assert str(m["Subject"]) == "Confirma tu suscripción a Test List", str(m["Subject"])
assert str(m["Content-Language"]) == "es"
assert "Para confirmar, abre este enlace" in m.get_body(("plain",)).get_content()
assert '<html lang="es" dir="ltr">' in m.get_body(("html",)).get_content()
PYEOF
ok "the confirmation mail came in Spanish (Subject, Content-Language, text, html lang)"

bs subscribers add reader@example.org "Reader" --lang en >/dev/null || fail "subscribers add"
mkdir -p "$T/st"
cat > "$T/st/harbour.md" <<'EOF'
# Harbour lights

By the Quay Street Residents' Association

The ferry's evening crossing resumes on Monday, with the lights along the pier.

6 March 2026
EOF
cat > "$T/st/harbour.es.md" <<'EOF'
# Luces del puerto

By la Asociación de Vecinos de la Calle del Muelle

El cruce vespertino del ferri se reanuda el lunes, con las luces del muelle.

6 March 2026
EOF
cat > "$T/st/harbour.ar.md" <<'EOF'
# أضواء الميناء

تستأنف رحلة العبّارة المسائية يوم الاثنين، مع أضواء الرصيف.
EOF
bs send --wait "$T/st" > "$T/send.out" 2>"$T/send.err" || { cat "$T/send.err"; fail "send"; }
ID=$(head -n 1 "$T/send.out")

"$PY" - "$T/mail" "$WHO" "$U/archive/$ID" <<'PYEOF' || fail "the broadcast's mails"
import email, glob, sys
from email import policy
maildir, who, url = sys.argv[1:4]
got = {}
for p in sorted(glob.glob(maildir + "/*.eml")):
    m = email.message_from_bytes(open(p, "rb").read(), policy=policy.strict)
    if m["List-Unsubscribe"] is None:
        continue                # the confirmation mail
    got[m["To"].addresses[0].addr_spec] = m
assert sorted(got) == sorted([who, "reader@example.org"]), sorted(got)
es, en = got[who], got["reader@example.org"]
assert str(es["Subject"]) == "Luces del puerto", str(es["Subject"])
assert str(es["Content-Language"]) == "es"
assert "El cruce vespertino" in es.get_body(("plain",)).get_content()
assert 'lang="es"' in es.get_body(("html",)).get_content()
assert url + "/es" in es.get_body(("html",)).get_content()
assert str(en["Subject"]) == "Harbour lights", str(en["Subject"])
assert str(en["Content-Language"]) == "en"
assert "evening crossing" in en.get_body(("plain",)).get_content()
PYEOF
ok "the Spanish reader got the Spanish version, the English subscriber the English one"

curl -sf "$U/feed.es.xml" > "$T/feed.es.xml" || fail "GET /feed.es.xml"
curl -sf "$U/feed.xml" > "$T/feed.xml" || fail "GET /feed.xml"
c=$(curl -s -o /dev/null -w '%{http_code}' "$U/feed.de.xml")
[ "$c" = 404 ] || fail "/feed.de.xml (no German version): $c, want 404"
"$PY" - "$T" "$U" "$ID" <<'PYEOF' || fail "the feeds"
import feedparser, sys
t, u, bid = sys.argv[1:4]
es = feedparser.parse(t + "/feed.es.xml")
assert es.bozo == 0, es.bozo_exception
assert [e.title for e in es.entries] == ["Luces del puerto"], [e.title for e in es.entries]
assert es.entries[0].link == "%s/archive/%s/es" % (u, bid), es.entries[0].link
assert "El cruce vespertino" in es.entries[0].content[0].value
assert es.feed.links[0].href == u + "/feed.es.xml" or any(l.href == u + "/feed.es.xml" for l in es.feed.links)
en = feedparser.parse(t + "/feed.xml")
assert [e.title for e in en.entries] == ["Harbour lights"], [e.title for e in en.entries]
disk = feedparser.parse(t + "/state/feed.es.xml")
assert [e.title for e in disk.entries] == ["Luces del puerto"], "feed.es.xml beside feed.path"
PYEOF
ok "/feed.es.xml and state/feed.es.xml hold the Spanish item, /feed.xml the English one, no German feed"

"$PY" "$TOP/tests/py/site_browser_lang.py" pages "$U" "$AXE" "$ID" ||
    { tail -n 20 "$T/daemon.log" >&2; fail "browser: the Spanish and Arabic pages"; }
stop_daemon
