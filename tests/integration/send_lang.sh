# Statements in several languages (issue 14 part 2), end to end against
# the test SMTP server:
#  - `send DIR`: the file without a .LANG. part is the default language
#    (site.language here: en), statement.es.txt is Spanish, statement.ar.txt
#    Arabic, statement.he.txt Hebrew, portugues.txt Portuguese by its
#    "Language: pt" line; one
#    broadcast, its translations stored with it (the store's table)
#  - two files in one language, or a Language: line that is no tag, are
#    refused (65) and nothing is stored
#  - subscribers have a language: the CSV's lang column (a bad tag is a
#    bad row, the rest imported), `subscribers add --lang`, `lang` in
#    `subscribers list --json`
#  - each subscriber gets their language's version, else their base
#    language's (pt-BR -> pt, es-MX -> es), else the default (de, none);
#    Subject, Content-Language, the HTML's lang and dir (ar: rtl), the
#    fixed words of the footer and the archive link follow it; --subject
#    is the default's only
#  - preview --lang shows the version a subscriber in that language gets
#  - status --json: languages, the recipients of each version
#  - one feed per language: /feed.es.xml (and feed.es.xml beside
#    feed.path) holds the Spanish version, linked at /archive/ID/es;
#    /archive/ID/LANG pages in their language (ar: rtl), all versions
#    linked with hreflang; no page for a language without a version
#  - the unsubscribe page of a message in its reader's language
# With LANG_PG=1 (store_pg_lang.sh) the same on a throwaway PostgreSQL 15
# (tests/pg.sh).
. "$(dirname "$0")/../lib.sh"
if [ "${LANG_PG:-}" = 1 ]; then
	. "$TOP/tests/pg.sh"
	pg_start
	pg_createdb bs_lang
fi

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
if [ "${LANG_PG:-}" = 1 ]; then
	URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_lang"
	sed -i "s|^storage: .*|storage: { url = \"$URL\"; password_file = \"state/pg.pw\"; };|" \
	    "$T/broadside.conf"
	grep -q "url = \"$URL\"" "$T/broadside.conf" || fail "config not rewritten"
	( umask 077; echo "$PG_PASSWORD" > "$T/state/pg.pw" )
fi
start_daemon
if [ "${LANG_PG:-}" = 1 ]; then
	grep -q "store=$URL" "$T/daemon.log" || { cat "$T/daemon.log"; fail "not on PostgreSQL"; }
fi

mkdir -p "$T/st"
cat > "$T/st/statement.txt" <<'EOF'
The lights stay on
By the Test Collective

We keep the lights on for each other.
Every street has a lamp.

6 January 2026
EOF
cat > "$T/st/statement.es.txt" <<'EOF'
Las luces siguen encendidas
By el Colectivo de Prueba

Mantenemos las luces encendidas los unos para los otros.
Cada calle tiene una lámpara.

6 January 2026
EOF
cat > "$T/st/statement.ar.txt" <<'EOF'
الأضواء تبقى مضاءة

نبقي الأضواء مضاءة لبعضنا البعض.
EOF
cat > "$T/st/statement.he.txt" <<'EOF'
האורות נשארים דולקים

אנחנו שומרים על האורות דולקים זה בשביל זה.
EOF
cat > "$T/st/portugues.txt" <<'EOF'
Language: pt

As luzes continuam acesas

Mantemos as luzes acesas uns para os outros.
EOF

# refused: two Spanish files; a Language: line that is no tag
cp "$T/st/statement.es.txt" "$T/otra.es.txt"
expect_rc 65 bs send "$T/st/statement.txt" "$T/st/statement.es.txt" "$T/otra.es.txt"
grep -q 'otra.es.txt: a second statement in "es"' "$T/err" || { cat "$T/err"; fail "duplicate language not named"; }
printf 'Language: klingon-xx-yy\n\nTitle\n\nBody.\n' > "$T/bad.txt"
expect_rc 65 bs send "$T/st/statement.txt" "$T/bad.txt"
grep -q 'bad.txt: line 1: "klingon-xx-yy" is not a language tag' "$T/err" || { cat "$T/err"; fail "bad Language: line"; }
[ "$(bs status --json | json_get 'len(j)')" = 0 ] || fail "a refused send stored a broadcast"
ok "two files in one language, a bad Language: line: 65, nothing stored"

cat > "$T/subs.csv" <<'CSV'
email,name,lang,city
en@example.org,Ann,en,Oslo
es@example.org,Eva,es,Madrid
mx@example.org,Max,es-mx,Puebla
br@example.org,Bia,pt-BR,Recife
ar@example.org,Amal,ar,Cairo
he@example.org,Hila,he,Haifa
de@example.org,Dora,de,Bonn
none@example.org,Nora,,Cork
bad@example.org,Bad,not a tag,Nowhere
CSV
expect_rc 65 bs subscribers import "$T/subs.csv"   # a bad row: 65, the rest in
grep -q ":10: lang 'not a tag' is not a language tag" "$T/out" "$T/err" ||
    { cat "$T/out" "$T/err"; fail "bad lang row not reported"; }
expect_rc 0 bs subscribers add fr@example.org "Fleur" --lang fr-CA
expect_rc 65 bs subscribers add x@example.org --lang "e s"
bs subscribers list --json > "$T/subs.json" || fail "subscribers list"
"$PY" - "$T/subs.json" <<'PYEOF' || fail "subscribers list --json lang"
import json, sys
subs = {s["email"]: s for s in json.load(open(sys.argv[1]))}
want = {"en@example.org": "en", "es@example.org": "es", "mx@example.org": "es-MX",
        "br@example.org": "pt-BR", "ar@example.org": "ar", "de@example.org": "de",
        "none@example.org": None, "fr@example.org": "fr-CA"}
assert "bad@example.org" not in subs and "x@example.org" not in subs, subs.keys()
for e, l in want.items():
    assert subs[e].get("lang") == l, (e, subs[e])
    assert "lang" not in subs[e]["fields"], subs[e]
assert subs["mx@example.org"]["fields"] == {"city": "Puebla"}, subs["mx@example.org"]
PYEOF
ok "lang column (bad tag: bad row), add --lang, lang in list --json"

bs send --wait "$T/st" --subject "Lights: the English subject" > "$T/send.out" 2>"$T/send.err" ||
    { cat "$T/send.err"; diag; fail "send --wait DIR"; }
ID=$(head -n 1 "$T/send.out")
[ "$(bs status --json | json_get 'len(j)')" = 1 ] || fail "not one broadcast"
[ "${LANG_PG:-}" = 1 ] || "$PY" - "$T/state/broadside.db" "$ID" <<'PYEOF' || fail "translations not stored"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT lang, title, filename FROM translations WHERE broadcast_id = ?", (int(sys.argv[2]),)).fetchall()
assert sorted(r[0] for r in rows) == ["ar", "es", "he", "pt"], rows
assert db.execute("SELECT lang FROM broadcasts WHERE id = ?", (int(sys.argv[2]),)).fetchone()[0] == "en"
PYEOF
ok "send DIR: one broadcast, default en, translations ar, es, he, pt stored"

# status: recipients per language of the version they get, counted off
# the loop once asked (the first status starts it: 50 tries of 0.1 s)
wait_bc "$ID" 50 "j.get('languages') == {'en': 4, 'ar': 1, 'es': 2, 'he': 1, 'pt': 1}" ||
    { cat "$T/status.json"; fail "status --json languages"; }
bs status > "$T/status.txt" || fail "status"
grep -q "languages: en 4, ar 1, es 2, he 1, pt 1" "$T/status.txt" || { cat "$T/status.txt"; fail "plain status languages"; }
ok "status: languages {en: 4, ar: 1, es: 2, he: 1, pt: 1} (de, fr-CA and none read en; es-MX es; pt-BR pt)"

"$PY" - "$T/mail" "$ID" <<'PYEOF' || { diag "$ID"; fail "per-language mails"; }
import email, glob, re, sys
from email import policy
maildir, bid = sys.argv[1], sys.argv[2]
# address: (subject, Content-Language, lang, dir, footer word, archive suffix)
en = ("Lights: the English subject", "en", "en", "ltr", "Unsubscribe", "")
es = ("Las luces siguen encendidas", "es", "es", "ltr", "Darse de baja", "/es")
pt = ("As luzes continuam acesas", "pt", "pt", "ltr", "Cancelar a inscrição", "/pt")
ar = ("الأضواء تبقى مضاءة", "ar", "ar", "rtl", "إلغاء الاشتراك", "/ar")
# Hebrew: right to left too; no he.strings, so the fixed words in English
he = ("האורות נשארים דולקים", "he", "he", "rtl", "Unsubscribe", "/he")
want = {"en@example.org": en, "es@example.org": es, "mx@example.org": es,
        "br@example.org": pt, "ar@example.org": ar, "he@example.org": he,
        "de@example.org": en,
        "none@example.org": en, "fr@example.org": en}
seen = {}
for path in sorted(glob.glob(maildir + "/*.eml")):
    m = email.message_from_bytes(open(path, "rb").read(), policy=policy.strict)
    addr = m["To"].addresses[0].addr_spec
    assert addr not in seen, "twice: " + addr
    seen[addr] = m
assert sorted(seen) == sorted(want), sorted(seen)
for addr, (subj, cl, lang, d, word, suffix) in want.items():
    m = seen[addr]
    assert str(m["Subject"]) == subj, (addr, str(m["Subject"]))
    assert str(m["Content-Language"]) == cl, (addr, m["Content-Language"])
    html = m.get_body(("html",)).get_content()
    text = m.get_body(("plain",)).get_content()
    assert re.search(r'<html lang="%s" dir="%s">' % (re.escape(lang), d), html), (addr, html[:200])
    assert word in html and word in text, (addr, word)
    url = "https://lists.example.org/archive/%s%s" % (bid, suffix)
    assert 'href="%s"' % url in html, (addr, url)
# the body is the version's, the title too
assert "Mantenemos las luces" in seen["mx@example.org"].get_body(("plain",)).get_content()
assert "Mantemos as luzes" in seen["br@example.org"].get_body(("plain",)).get_content()
assert "We keep the lights" in seen["de@example.org"].get_body(("plain",)).get_content()
PYEOF
ok "each got their language's version (pt-BR->pt, es-MX->es, de->en; ar and he rtl), Content-Language, lang/dir, footer, archive link"

# preview --lang: the version a subscriber in that language gets
bs preview "$T/st" --lang pt-BR --part mime > "$T/pv.eml" || fail "preview --lang pt-BR"
bs preview "$T/st/statement.txt" "$T/st/statement.ar.txt" --lang ar --part html > "$T/pv.html" || fail "preview --lang ar"
bs preview "$T/st" --lang de --part text > "$T/pv.txt" || fail "preview --lang de"
expect_rc 64 bs preview "$T/st" --lang "no tag"
"$PY" - "$T" <<'PYEOF' || fail "preview --lang content"
import email, sys
from email import policy
t = sys.argv[1]
m = email.message_from_bytes(open(t + "/pv.eml", "rb").read(), policy=policy.strict)
assert str(m["Subject"]) == "As luzes continuam acesas", str(m["Subject"])
assert str(m["Content-Language"]) == "pt"
assert '<html lang="ar" dir="rtl">' in open(t + "/pv.html", encoding="utf-8").read()
assert open(t + "/pv.txt", encoding="utf-8").read().startswith("The lights stay on")
PYEOF
ok "preview --lang: pt-BR -> pt, ar (rtl), de -> default"

for f in feed.xml feed.es.xml feed.ar.xml feed.pt.xml archive/$ID archive/$ID/es archive/$ID/ar; do
	curl -sf "$U/$f" > "$T/$(echo "$f" | tr / _)" || fail "GET /$f"
done
for f in feed.de.xml feed.ES.xml feed.e-s-x.xml archive/$ID/de archive/$ID/pt-br; do
	c=$(curl -s -o /dev/null -w '%{http_code}' "$U/$f")
	[ "$c" = 404 ] || fail "GET /$f: $c, want 404"
done
"$PY" - "$T" "$ID" <<'PYEOF' || fail "feeds and pages per language"
import feedparser, re, sys
t, bid = sys.argv[1:3]
base = "https://lists.example.org"
for lang, title in (("es", "Las luces siguen encendidas"), ("ar", "الأضواء تبقى مضاءة"),
                    ("pt", "As luzes continuam acesas")):
    f = feedparser.parse("%s/feed.%s.xml" % (t, lang))
    assert f.bozo == 0 and [e.title for e in f.entries] == [title], (lang, f.entries)
    assert f.entries[0].link == "%s/archive/%s/%s" % (base, bid, lang), f.entries[0].link
    disk = feedparser.parse("%s/state/feed.%s.xml" % (t, lang))
    assert [e.title for e in disk.entries] == [title], ("on disk", lang)
f = feedparser.parse(t + "/feed.xml")
assert [e.title for e in f.entries] == ["The lights stay on"], f.entries
assert f.entries[0].link == "%s/archive/%s" % (base, bid)
alts = '<link rel="alternate" hreflang="%s" href="%s/archive/%s%s">'
for page, lang, d in (("", "en", "ltr"), ("_es", "es", "ltr"), ("_ar", "ar", "rtl")):
    h = open("%s/archive_%s%s" % (t, bid, page), encoding="utf-8").read()
    assert '<html lang="%s" dir="%s">' % (lang, d) in h, (page, h[:120])
    for l, suffix in (("en", ""), ("ar", "/ar"), ("es", "/es"), ("pt", "/pt")):
        assert alts % (l, base, bid, suffix) in h, (page, l)
es = open("%s/archive_%s_es" % (t, bid), encoding="utf-8").read()
assert "Mantenemos las luces" in es and 'href="%s/feed.es.xml"' % base in es
PYEOF
ok "feeds per language (served and beside feed.path), /archive/ID/LANG pages with hreflang, 404 for none"

# the unsubscribe page of a message speaks its reader's language (when
# the site has words in it: de has none, so the site's)
"$PY" - "$T/mail" "$U" <<'PYEOF' || fail "unsubscribe pages per language"
import email, glob, re, sys, urllib.request
from email import policy
maildir, u = sys.argv[1:3]
want = {"es@example.org": ("es", "ltr", "Darse de baja"), "mx@example.org": ("es", "ltr", "Darse de baja"),
        "ar@example.org": ("ar", "rtl", "إلغاء الاشتراك"), "de@example.org": ("en", "ltr", "Unsubscribe"),
        "br@example.org": ("pt", "ltr", "Cancelar")}
for p in sorted(glob.glob(maildir + "/*.eml")):
    m = email.message_from_bytes(open(p, "rb").read(), policy=policy.strict)
    to = m["To"].addresses[0].addr_spec
    if to not in want or m["List-Unsubscribe"] is None:
        continue
    url = str(m["List-Unsubscribe"]).strip("<>").replace("https://lists.example.org", u)
    page = urllib.request.urlopen(url).read().decode()
    lang, d, word = want.pop(to)
    assert '<html lang="%s" dir="%s">' % (lang, d) in page, (to, page[:100])
    assert word in page, (to, word)
assert not want, want
PYEOF
ok "the unsubscribe page in its reader's language (es, es-MX: es; ar: rtl; pt-BR: pt; de: the site's en)"
stop_daemon
