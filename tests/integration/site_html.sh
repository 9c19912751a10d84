# The public site as HTML: every page a reader can reach (/, /subscribe,
# /archive/, a statement, the confirm and unsubscribe pages with real
# tokens from real mail, the pages their buttons lead to, the notices of
# POST /subscribe) passes the Nu Html Checker (vnu.jar from npm, in
# .cache/web, run with Debian's Java) with no errors; each carries a
# viewport, feed autodiscovery, a strict Content-Security-Policy (no
# 'unsafe-inline', no script source) and loads nothing from elsewhere;
# public pages have a canonical URL, the statement page an Open Graph and
# Twitter card whose description is its first paragraph; public pages are
# served with ETag and Last-Modified (304 on either), a new statement
# changes / and /archive/ but not the form's ETag; POST /subscribe answers
# JSON to Accept: application/json.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }
WEB=${BROADSIDE_WEB:-$TOP/.cache/web}
VNU=$WEB/node_modules/vnu-jar/build/dist/vnu.jar
command -v java >/dev/null || { echo "no java (scripts/deps installs default-jre-headless)"; exit 77; }
[ -f "$VNU" ] || { echo "no $VNU (scripts/deps installs it from npm)"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
sed -i "s|base_url = \"https://lists.example.org\"|base_url = \"$U\";\n        description = \"Letters from the Lower Valley – <news> \& notes.\"|" "$T/broadside.conf"
grep -q "base_url = \"$U\"" "$T/broadside.conf" || fail "config not rewritten"
start_daemon

# get NAME URL [curl args]: body in $T/p/NAME.html, headers in NAME.h
mkdir -p "$T/p"
get() { n=$1; u=$2; shift 2; curl -s -o "$T/p/$n.html" -D "$T/p/$n.h" -w '%{http_code}' "$@" "$u"; }
hdr() { tr -d '\r' < "$T/p/$1.h" | sed -n "s/^$2: //Ip" | head -n 1; }

bs subscribers add reader@example.org "Réa Der" >/dev/null || fail "subscribers add"
cat > "$T/st.txt" <<'EOF'
Title: Harbour lights – “a second look” <at> the pier
Author: the Quay Street Residents’ Association
Date: 3 March 2026

The ferry’s evening crossing resumes on Monday – at last – and with it the lights along the pier that were switched off in November to save money, a decision the council now says it regrets; residents who wrote, called and came to the meetings all winter can take some credit for that, and so can the café owners who kept their terraces lit at their own expense.
Café owners near the pier report queues of 20–30 people; “finally”, said one.
EOF
bs send --wait "$T/st.txt" > "$T/send.out" 2>"$T/send.err" || { cat "$T/send.err"; fail "send"; }
ID=$(head -n 1 "$T/send.out")
UNSUB=$("$PY" "$TOP/tests/py/site_mail.py" "$T/mail" reader@example.org unsubscribe) ||
    fail "no List-Unsubscribe in the message"
case $UNSUB in "$U/unsubscribe?t="*) ;; *) fail "unsubscribe URL $UNSUB" ;; esac

[ "$(get home "$U/")" = 200 ] || fail "GET /"
[ "$(get form "$U/subscribe")" = 200 ] || fail "GET /subscribe"
[ "$(get index "$U/archive/")" = 200 ] || fail "GET /archive/"
[ "$(get statement "$U/archive/$ID")" = 200 ] || fail "GET /archive/$ID"
[ "$(get unsubscribe "$UNSUB")" = 200 ] || fail "GET unsubscribe page"
[ "$(get subscribed_notice "$U/subscribe" -H 'Accept: text/html' \
    --data-urlencode 'email=new.reader@example.net' --data-urlencode 'name=Nëw')" = 200 ] ||
    fail "POST /subscribe"
[ "$(get subscribe_error "$U/subscribe" -H 'Accept: text/html' --data 'email=not-an-address')" = 400 ] ||
    fail "POST /subscribe, bad address"
grep -q 'role="alert"' "$T/p/subscribe_error.html" || fail "no message on the form again"
i=0
until CONFIRM=$("$PY" "$TOP/tests/py/site_mail.py" "$T/mail" new.reader@example.net confirm); do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no confirmation mail"; sleep 0.1
done
case $CONFIRM in "$U/confirm?t="*) ;; *) fail "confirm URL $CONFIRM" ;; esac
[ "$(get confirm "$CONFIRM")" = 200 ] || fail "GET confirm page"
[ "$(get confirmed "$CONFIRM" -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data '')" = 200 ] ||
    fail "POST confirm"
[ "$(get unsubscribed "$UNSUB" -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data '')" = 200 ] ||
    fail "POST unsubscribe"
bs subscribers remove new.reader@example.net >/dev/null || fail "remove"
[ "$(get left "$CONFIRM")" = 410 ] || fail "confirm link after leaving: not 410"
ok "pages fetched: $(ls "$T/p" | grep -c '\.html$')"

# --- the Nu Html Checker: no errors on any of them
java -jar "$VNU" --errors-only --format gnu "$T"/p/*.html > "$T/vnu.out" 2>&1 ||
    { cat "$T/vnu.out" >&2; fail "vnu.jar found errors"; }
[ ! -s "$T/vnu.out" ] || { cat "$T/vnu.out" >&2; fail "vnu.jar said something"; }
# the checker does find an error when there is one (a duplicate id)
sed 's|<h1>|<h1 id="email">|' "$T/p/form.html" > "$T/bad.html"
! java -jar "$VNU" --errors-only --format gnu "$T/bad.html" > "$T/vnu.bad" 2>&1 ||
    fail "vnu.jar passed a page with a duplicate id"
grep -qi 'duplicate id' "$T/vnu.bad" || { cat "$T/vnu.bad" >&2; fail "vnu.jar: not the duplicate id"; }
ok "Nu Html Checker: no errors on $(ls "$T"/p/*.html | wc -l) pages (and it finds a planted one)"

# --- every page: viewport, feed link, strict policy, nothing external
for f in "$T"/p/*.html; do
	n=$(basename "$f" .html)
	grep -q '<meta name="viewport" content="width=device-width, initial-scale=1">' "$f" || fail "$n: no viewport"
	grep -q '^<html lang="en" dir="ltr">$' "$f" || fail "$n: no lang and dir of site.language"
	grep -q "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"Test List\" href=\"$U/feed.xml\">" "$f" ||
	    fail "$n: no feed autodiscovery"
	grep -qi '<script\|<iframe\|<object\|<embed\|rel="stylesheet"\|@import\|url(' "$f" && fail "$n: script, frame or outside style"
	# every src=, href= and action= stays on this site
	grep -o '\(src\|href\|action\)="[^"]*"' "$f" | grep -v "=\"$U/" && fail "$n: link off the site"
	csp=$(hdr "$n" Content-Security-Policy)
	case $csp in
	"default-src 'none'; style-src 'sha256-"*"'; img-src 'self' data: https:; form-action 'self' $U; base-uri 'none'; frame-ancestors 'none'") ;;
	*) fail "$n: Content-Security-Policy: $csp" ;;
	esac
	case $csp in *unsafe*|*script*) fail "$n: weak policy: $csp" ;; esac
	# the style's hash is the one of the page's <style> text
	"$PY" - "$f" "$csp" <<'PYEOF' || fail "$n: style hash differs"
import base64, hashlib, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
styles = re.findall(r"<style>(.*?)</style>", html, re.S)
want = ["'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in styles]
got = re.search(r"style-src ([^;]*);", sys.argv[2]).group(1).split()
assert styles and got == want, (got, want)
PYEOF
	grep -q '@media (prefers-color-scheme: dark)' "$f" || fail "$n: not dark-mode aware"
done
for n in home form index statement; do
	case $n in home) c=$U/ ;; form) c=$U/subscribe ;; index) c=$U/archive/ ;; statement) c=$U/archive/$ID ;; esac
	grep -q "<link rel=\"canonical\" href=\"$c\">" "$T/p/$n.html" || fail "$n: canonical URL not $c"
done
ok "viewport, feed autodiscovery, canonical URLs, CSP with the style's hash, no outside resources"

# --- the sharing card: title, first paragraph (cut at a word), URL
"$PY" - "$T/p/statement.html" "$U/archive/$ID" <<'PYEOF' || fail "statement card"
import html.parser, sys
class P(html.parser.HTMLParser):
    meta = {}
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a.get("content")
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
m = p.meta
title = "Harbour lights – “a second look” <at> the pier"
assert m["og:title"] == title and m["twitter:title"] == title, m
assert m["og:type"] == "article" and m["twitter:card"] == "summary", m
assert m["og:url"] == sys.argv[2], m
d = m["og:description"]
assert d == m["twitter:description"] == m["description"], m
assert d.startswith("The ferry’s evening crossing resumes on Monday"), d
assert d.endswith("…") and len(d[:-1].encode()) <= 300 and not d[:-1].endswith(" "), d
assert "Café owners" not in d, d
PYEOF
grep -q '<meta property="og:type" content="website">' "$T/p/home.html" || fail "home: no card"
grep -q 'Letters from the Lower Valley – &lt;news&gt; &amp; notes.' "$T/p/home.html" || fail "home: no description"
grep -q '<form class="subscribe" method="post" action="'"$U"'/subscribe">' "$T/p/home.html" || fail "home: no form"
grep -q 'name="email" type="email" required' "$T/p/home.html" || fail "home: no email field"
grep -q 'name="name" type="text"' "$T/p/home.html" || fail "home: no name field"
grep -q "<a href=\"$U/archive/$ID\">Harbour lights" "$T/p/home.html" || fail "home: statement not listed"
grep -q 'Check your mailbox' "$T/p/subscribed_notice.html" || fail "POST /subscribe: no page"
ok "statement card (og/twitter, first paragraph cut at 300 octets), front page description, form, list"

# --- caching: ETag, Last-Modified, 304, invalidation
mkdir -p "$T/q"
for n in home form index statement; do
	e=$(hdr $n ETag); l=$(hdr $n Last-Modified)
	[ -n "$e" ] && [ -n "$l" ] || fail "$n: no ETag or Last-Modified"
	u=$(sed -n 's/.*<link rel="canonical" href="\([^"]*\)">.*/\1/p' "$T/p/$n.html")
	c=$(curl -s -o "$T/q/c" -w '%{http_code}' -H "If-None-Match: $e" "$u")
	[ "$c" = 304 ] || fail "$n: If-None-Match: $c, not 304"
	c=$(curl -s -o "$T/q/c" -w '%{http_code}' -H "If-Modified-Since: $l" "$u")
	[ "$c" = 304 ] || fail "$n: If-Modified-Since: $c, not 304"
	c=$(curl -s -o "$T/q/c" -w '%{http_code}' -H 'If-None-Match: "other"' "$u")
	[ "$c" = 200 ] || fail "$n: another ETag: $c, not 200"
	cmp -s "$T/q/c" "$T/p/$n.html" || fail "$n: second answer differs"
done
printf 'Title: A second note\n\nShort.\n' > "$T/st2.txt"
bs send --wait "$T/st2.txt" > /dev/null 2>"$T/send.err" || { cat "$T/send.err"; fail "send 2"; }
qget() { curl -s -o "$T/q/$1" -D "$T/q/$1.h" "$2"; }
qhdr() { tr -d '\r' < "$T/q/$1.h" | sed -n "s/^$2: //Ip" | head -n 1; }
qget home "$U/"; qget form "$U/subscribe"; qget index "$U/archive/"
[ "$(qhdr home ETag)" != "$(hdr home ETag)" ] || fail "/: ETag unchanged after a new statement"
grep -q '>A second note</a>' "$T/q/home" || fail "/: new statement not listed"
grep -q '>A second note</a>' "$T/q/index" || fail "/archive/: new statement not listed"
[ "$(qhdr form ETag)" = "$(hdr form ETag)" ] || fail "/subscribe: ETag changed"
[ "$(qhdr form Last-Modified)" = "$(hdr form Last-Modified)" ] || fail "/subscribe: Last-Modified changed"
ok "ETag and Last-Modified, 304s; a new statement renews / and /archive/, the form keeps its validators"

# --- JSON for a client that asks
j() { curl -s -o "$T/q/j" -D "$T/q/j.h" -w '%{http_code}' "$@" "$U/subscribe"; }
[ "$(j -H 'Accept: application/json' --data 'email=json.reader@example.net')" = 200 ] || fail "JSON subscribe"
[ "$(qhdr j Content-Type)" = application/json ] || fail "JSON: $(qhdr j Content-Type)"
json_get 'j["ok"] is True and "confirmation" in j["message"]' < "$T/q/j" | grep -qx True || fail "JSON body"
[ "$(j -H 'Accept: application/json' --data 'email=bad')" = 400 ] || fail "JSON 400"
json_get 'j["ok"] is False and "valid email" in j["error"]' < "$T/q/j" | grep -qx True || fail "JSON error"
[ "$(j --data 'email=bad')" = 400 ] || fail "text 400"
[ "$(qhdr j Content-Type)" = "text/plain; charset=utf-8" ] || fail "no Accept: not text"
ok "POST /subscribe: JSON to Accept: application/json, the form again to a browser, text otherwise"
