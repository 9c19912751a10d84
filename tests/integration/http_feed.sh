# The public listener's read side over loopback with curl: /feed.xml
# (type, strong ETag, Last-Modified, 304 on If-None-Match and
# If-Modified-Since, HEAD), the archive (index, pages, 404s), /healthz,
# /metrics, and methods; then a real broadcast: the feed fetched over HTTP
# changes ETag, parses in feedparser with the item, equals feed.path, and
# the archive page shows the statement.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon

# hdr FILE NAME: the value of header NAME in a curl -D dump
hdr() { tr -d '\r' < "$1" | sed -n "s/^$2: //Ip" | head -n 1; }
# get OUT URL [curl args]: body to OUT, headers to OUT.h, prints status
get() { o=$1; u=$2; shift 2; curl -s -o "$o" -D "$o.h" -w '%{http_code}' "$@" "$u"; }

# --- empty feed
[ "$(get "$T/f0" "$U/feed.xml")" = 200 ] || fail "GET /feed.xml"
[ "$(hdr "$T/f0.h" Content-Type)" = "application/rss+xml; charset=utf-8" ] ||
    fail "feed type: $(hdr "$T/f0.h" Content-Type)"
E0=$(hdr "$T/f0.h" ETag)
LM0=$(hdr "$T/f0.h" Last-Modified)
echo "$E0" | grep -Eq '^"[0-9a-f]{32}"$' || fail "not a strong ETag: $E0"
[ -n "$LM0" ] || fail "no Last-Modified"
"$PY" -c 'import feedparser,sys; f=feedparser.parse(sys.argv[1]); assert f.bozo == 0, f.bozo_exception; assert f.version == "rss20"; assert len(f.entries) == 0' "$T/f0" ||
    fail "empty feed does not parse"
[ "$(get "$T/f" "$U/feed.xml" -H "If-None-Match: $E0")" = 304 ] || fail "If-None-Match: no 304"
[ -s "$T/f" ] && fail "304 with a body"
[ "$(hdr "$T/f.h" ETag)" = "$E0" ] || fail "304 without the ETag"
[ "$(get "$T/f" "$U/feed.xml" -H "If-None-Match: \"x\", W/$E0")" = 304 ] || fail "If-None-Match list"
[ "$(get "$T/f" "$U/feed.xml" -H 'If-None-Match: "0123"')" = 200 ] || fail "other ETag: not 200"
[ "$(get "$T/f" "$U/feed.xml" -H "If-Modified-Since: $LM0")" = 304 ] || fail "If-Modified-Since: no 304"
[ "$(get "$T/f" "$U/feed.xml" -H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT')" = 200 ] ||
    fail "old If-Modified-Since: not 200"
[ "$(get "$T/f" "$U/feed.xml" -H 'If-Modified-Since: yesterday')" = 200 ] || fail "bad date: not 200"
# If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
[ "$(get "$T/f" "$U/feed.xml" -H 'If-None-Match: "0123"' -H "If-Modified-Since: $LM0")" = 200 ] ||
    fail "If-Modified-Since used despite a non-matching If-None-Match"
[ "$(get "$T/f" "$U/feed.xml" -I)" = 200 ] || fail "HEAD /feed.xml"
grep -q '<rss' "$T/f" && fail "HEAD with a body"
[ "$(hdr "$T/f.h" Content-Length)" = "$(wc -c < "$T/f0" | tr -d ' ')" ] ||
    fail "HEAD Content-Length $(hdr "$T/f.h" Content-Length)"
[ "$(hdr "$T/f.h" ETag)" = "$E0" ] || fail "HEAD ETag"
ok "empty feed: type, strong ETag, Last-Modified, 304s, HEAD"

# --- archive before anything is published
[ "$(get "$T/a" "$U/archive/")" = 200 ] || fail "GET /archive/"
grep -q "Nothing published yet" "$T/a" || fail "empty archive index"
for p in /archive/1 /archive/0 /archive/01 /archive/abc /archive/99999999999999999999 /nothing; do
	[ "$(get "$T/a" "$U$p")" = 404 ] || fail "$p: not 404"
done
ok "archive: empty index, unknown ids 404"

# --- health, metrics, methods
[ "$(get "$T/h" "$U/healthz")" = 200 ] || fail "healthz"
[ "$(cat "$T/h")" = ok ] || fail "healthz body"
[ "$(get "$T/m" "$U/metrics")" = 200 ] || fail "metrics"
hdr "$T/m.h" Content-Type | grep -q '^text/plain; version=0.0.4' || fail "metrics type"
grep -Eq '^broadside_http_requests_total\{code="304"\} [0-9]+$' "$T/m" || fail "no 304 counter"
grep -Eq '^broadside_http_requests_total\{code="404"\} 6$' "$T/m" || fail "404 counter"
grep -q '^broadside_subscribers{status="active"} 0$' "$T/m" || fail "subscriber gauge"
grep -q '^broadside_queue_depth ' "$T/m" || fail "engine metrics missing"
"$PY" - "$T/m" <<'PYEOF' || fail "metrics not in the text format"
import re, sys
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        continue
    assert re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? -?[0-9.e+]+$', line), line
PYEOF
[ "$(get "$T/x" "$U/feed.xml" -X POST --data x=1)" = 405 ] || fail "POST /feed.xml: not 405"
[ "$(hdr "$T/x.h" Allow)" = "GET, HEAD" ] || fail "no Allow header"
[ "$(get "$T/x" "$U/subscribe")" = 200 ] || fail "GET /subscribe: not 200"
grep -q '<form class="subscribe" method="post"' "$T/x" || fail "GET /subscribe: no form"
[ "$(get "$T/x" "$U/" -X POST --data x=1)" = 405 ] || fail "POST /: not 405"
for m in PUT DELETE OPTIONS TRACE PATCH; do
	c=$(get "$T/x" "$U/feed.xml" -X $m)
	[ "$c" -ge 400 ] && [ "$c" -lt 600 ] || fail "$m answered $c"
done
ok "healthz, metrics (text format, counters, engine lines), methods refused"

# --- a broadcast: the feed and archive follow
cat > "$T/st.txt" <<'EOF'
Title: Harbour lights – “a second look”…
Author: the Quay Street Residents’ Association
Date: 3 March 2026

The ferry’s evening crossing resumes on Monday – at last.
Café owners near the pier report queues of 20–30 people; “finally”, said one.
EOF
bs subscribers add reader@example.org "Réa Der" >/dev/null || fail "subscribers add"
bs send --wait "$T/st.txt" > "$T/send.out" 2>"$T/send.err" || { cat "$T/send.err"; fail "send"; }
ID=$(head -n 1 "$T/send.out")
[ "$(get "$T/f1" "$U/feed.xml")" = 200 ] || fail "feed after send"
E1=$(hdr "$T/f1.h" ETag)
[ "$E1" != "$E0" ] || fail "ETag did not change with the content"
cmp -s "$T/f1" "$T/state/feed.xml" || fail "served feed differs from feed.path"
[ "$(get "$T/f" "$U/feed.xml" -H "If-None-Match: $E0")" = 200 ] || fail "old ETag still 304"
[ "$(get "$T/f" "$U/feed.xml" -H "If-None-Match: $E1")" = 304 ] || fail "new ETag not 304"
"$PY" - "$T/f1" "$ID" <<'PYEOF' || fail "feed over HTTP"
import feedparser, sys
f = feedparser.parse(open(sys.argv[1], "rb").read())
assert f.bozo == 0, f.bozo_exception
assert len(f.entries) == 1, len(f.entries)
e = f.entries[0]
assert e.title == "Harbour lights – “a second look”…", e.title
url = "https://lists.example.org/archive/" + sys.argv[2]
assert e.link == url and e.id == url, (e.link, e.id)
assert tuple(e.published_parsed[:3]) == (2026, 3, 3), e.published_parsed
assert "Café owners near the pier" in e.content[0].value
PYEOF
[ "$(get "$T/p" "$U/archive/$ID")" = 200 ] || fail "archive/$ID"
hdr "$T/p.h" Content-Type | grep -q '^text/html; charset=utf-8' || fail "archive type"
grep -q "Harbour lights – “a second look”…" "$T/p" || fail "title not on the archive page"
grep -q "Café owners near the pier report queues of 20–30 people" "$T/p" || fail "body not on the page"
[ "$(get "$T/p" "$U/archive/")" = 200 ] || fail "archive index"
grep -q "/archive/$ID\"" "$T/p" || fail "index does not link the statement"
[ "$(get "$T/p" "$U/archive/$((ID + 1))")" = 404 ] || fail "next id not 404"
ok "after send: new ETag, feed over HTTP = feed.path, feedparser reads the item, archive page and index"

stop_daemon
