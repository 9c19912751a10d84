# Token endpoints over loopback: the unsubscribe page changes nothing; the
# RFC 8058 one-click POST, exactly as a mailbox provider sends it,
# unsubscribes (200, idempotent); forged, truncated and other-purpose
# tokens get 400/403 and change nothing; POST /subscribe stores a pending
# subscriber and the confirmation mail's link shows a page whose button
# (POST) activates it, while GET and HEAD change nothing (asking again
# while pending mails the link again, at most once per 10 minutes); the
# answer is the same whatever the address's state; /subscribe is
# rate-limited per client.  Tokens are computed independently
# (tests/py/http_token.py) and checked against the List-Unsubscribe
# header of a real message.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon

tok() { "$PY" "$TOP/tests/py/http_token.py" "$T/state/secret" "$1" "$2"; }
# code METHOD URL [curl args]: status, body in $T/body
code() { m=$1; u=$2; shift 2; curl -s -o "$T/body" -D "$T/body.h" -w '%{http_code}' -X "$m" "$@" "$u"; }
# status_of ADDR: the subscriber's status, or "none"
status_of() {
	bs subscribers list --json | "$PY" -c '
import json, sys
s = [x for x in json.load(sys.stdin) if x["email"] == sys.argv[1]]
print(s[0]["status"] if s else "none")' "$1"
}
name_of() {
	bs subscribers list --json | "$PY" -c '
import json, sys
print([x for x in json.load(sys.stdin) if x["email"] == sys.argv[1]][0]["name"])' "$1"
}
oneclick() {
	curl -s -o "$T/body" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/x-www-form-urlencoded' \
	    --data 'List-Unsubscribe=One-Click' "$1"
}
# mails_to ADDR: how many accepted messages the SMTP server has for ADDR
mails_to() { smtpd_report mail | json_get "j['per_rcpt'].get('$1', 0)"; }

bs subscribers add alice@example.org "Alice Ærø" >/dev/null || fail "add"
bs subscribers add bob@example.org "Bob" >/dev/null || fail "add"
bs subscribers add carol@example.org "Carol Original" >/dev/null || fail "add"

cat > "$T/st.txt" <<'EOF'
A note on the reading room – “open late” again…
By the Library Friends’ Committee

From Thursday the reading room stays open until 21:00 – café included.
EOF
bs send --wait "$T/st.txt" >/dev/null 2>"$T/send.err" || { cat "$T/send.err"; fail "send"; }

# the token in alice's real message is the one the helper computes for id 1
"$PY" - "$T/mail" "$(tok unsubscribe 1)" <<'PYEOF' || fail "helper token differs from the daemon's"
import email, glob, sys
from email import policy
for p in glob.glob(sys.argv[1] + "/*.eml"):
    m = email.message_from_bytes(open(p, "rb").read(), policy=policy.default)
    if m["To"].addresses[0].addr_spec == "alice@example.org":
        lu = str(m["List-Unsubscribe"])
        assert lu == "<https://lists.example.org/unsubscribe?t=%s>" % sys.argv[2], lu
        break
else:
    raise SystemExit("no message for alice")
PYEOF
TA=$(tok unsubscribe 1)
TB=$(tok unsubscribe 2)
ok "List-Unsubscribe token matches the helper's"

# --- GET shows a button and changes nothing
[ "$(code GET "$U/unsubscribe?t=$TA")" = 200 ] || fail "GET unsubscribe page"
grep -q '<form method="post" action="https://lists.example.org/unsubscribe?t='"$TA"'">' "$T/body" ||
    fail "no POST form on the page"
grep -q 'alice@example.org' "$T/body" || fail "page does not name the address"
tr -d '\r' < "$T/body.h" | grep -qi '^Cache-Control: no-store' || fail "token page cacheable"
tr -d '\r' < "$T/body.h" | grep -qi '^Referrer-Policy: no-referrer' || fail "token page leaks Referer"
[ "$(code HEAD "$U/unsubscribe?t=$TA" -I)" = 200 ] || fail "HEAD unsubscribe"
[ "$(status_of alice@example.org)" = active ] || fail "GET changed state"
ok "GET/HEAD /unsubscribe: page with a POST button, no state change"

# --- bad tokens: nothing changes
flip() { printf '%s' "$1" | "$PY" -c 'import sys; t=sys.stdin.read(); print(t[:-1] + ("A" if t[-1] != "A" else "B"))'; }
TC=$(tok confirm 1)
# bob's id with alice's MAC
SWAP=$("$PY" -c 'import base64,sys; a=base64.urlsafe_b64decode(sys.argv[1]); b=base64.urlsafe_b64decode(sys.argv[2]); print(base64.urlsafe_b64encode(b[:8]+a[8:]).decode())' "$TA" "$TB")
for t in "$(flip "$TA")" "$TC" "$SWAP" "$(printf '%s' "$TA" | cut -c1-31)" "${TA}A" "" \
    "$(printf '%s' "$TA" | tr 'A-Za-z0-9' '+++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++')" \
    "$(printf '%s' "$TA" | cut -c1-30)%3D%3D"; do
	c=$(code GET "$U/unsubscribe?t=$t")
	case $c in 400|403) ;; *) fail "GET token '$t': $c" ;; esac
	c=$(oneclick "$U/unsubscribe?t=$t")
	case $c in 400|403) ;; *) fail "POST token '$t': $c" ;; esac
done
[ "$(code POST "$U/unsubscribe" --data 'List-Unsubscribe=One-Click')" = 400 ] || fail "no token: not 400"
[ "$(code POST "$U/unsubscribe?t=$(flip "$TA")" --data 'List-Unsubscribe=One-Click')" = 403 ] || fail "forged: not 403"
[ "$(code POST "$U/unsubscribe?t=$TC" --data 'List-Unsubscribe=One-Click')" = 403 ] || fail "confirm token: not 403"
[ "$(code GET "$U/confirm?t=$TA")" = 403 ] || fail "unsubscribe token used to confirm: not 403"
for a in alice bob carol; do
	[ "$(status_of $a@example.org)" = active ] || fail "bad token changed $a"
done
ok "forged, swapped, truncated, padded, other-purpose tokens: 400/403, no change"

# --- one-click, as a mailbox provider sends it; idempotent
[ "$(oneclick "$U/unsubscribe?t=$TA")" = 200 ] || fail "one-click POST"
[ "$(status_of alice@example.org)" = unsubscribed ] || fail "one-click did not unsubscribe"
[ "$(status_of bob@example.org)" = active ] || fail "one-click touched bob"
[ "$(oneclick "$U/unsubscribe?t=$TA")" = 200 ] || fail "second one-click not 200"
[ "$(status_of alice@example.org)" = unsubscribed ] || fail "second one-click changed state"
# the page's own form posts with an empty body
[ "$(code POST "$U/unsubscribe?t=$TB" -H 'Content-Type: application/x-www-form-urlencoded' --data '')" = 200 ] ||
    fail "form POST"
grep -q 'receive nothing more' "$T/body" || fail "no unsubscribed page"
[ "$(status_of bob@example.org)" = unsubscribed ] || fail "form POST did not unsubscribe"
[ "$(code GET "$U/unsubscribe?t=$TA")" = 200 ] || fail "GET after unsubscribe"
grep -q 'receive nothing more' "$T/body" || fail "GET after unsubscribe: not the done page"
ok "one-click POST 200 and idempotent, form POST, GET afterwards"

# --- subscribe, confirmation mail, confirm
[ "$(code POST "$U/subscribe" --data-urlencode 'email=new.reader@example.net' --data-urlencode 'name=Nëw Réader')" = 200 ] ||
    fail "subscribe"
cp "$T/body" "$T/answer.new"
[ "$(status_of new.reader@example.net)" = pending ] || fail "not pending"
[ "$(name_of new.reader@example.net)" = "Nëw Réader" ] || fail "name: $(name_of new.reader@example.net)"
i=0
while [ "$(mails_to new.reader@example.net)" != 1 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no confirmation mail"; sleep 0.1
done
URL=$("$PY" - "$T/mail" <<'PYEOF'
import email, glob, re, sys
from email import policy
for p in glob.glob(sys.argv[1] + "/*.eml"):
    m = email.message_from_bytes(open(p, "rb").read(), policy=policy.default)
    if m["To"].addresses[0].addr_spec == "new.reader@example.net":
        text = m.get_body(("plain",)).get_content()
        print(re.search(r"https://\S+/confirm\?t=[A-Za-z0-9_-]+", text).group(0))
PYEOF
)
CT=${URL##*t=}
[ "$CT" = "$(tok confirm 4)" ] || fail "confirm token $CT is not confirm/4"
[ "$(status_of new.reader@example.net)" = pending ] || fail "activated before confirming"
[ "$(code GET "$U/confirm?t=$(flip "$CT")")" = 403 ] || fail "forged confirm not 403"
[ "$(code GET "$U/confirm?t=$(tok unsubscribe 4)")" = 403 ] || fail "unsubscribe token confirms"
[ "$(status_of new.reader@example.net)" = pending ] || fail "bad confirm changed state"
[ "$(code HEAD "$U/confirm?t=$CT" -I)" = 200 ] || fail "HEAD confirm"
[ "$(status_of new.reader@example.net)" = pending ] || fail "HEAD /confirm activated (a link checker would confirm)"
# GET (what a mail scanner does with every link) shows a button, changes nothing
[ "$(code GET "$U/confirm?t=$CT")" = 200 ] || fail "GET confirm page"
grep -q '<form method="post" action="https://lists.example.org/confirm?t='"$CT"'">' "$T/body" ||
    { cat "$T/body"; fail "no POST form on the confirm page"; }
grep -q 'new.reader@example.net' "$T/body" || fail "confirm page does not name the address"
tr -d '\r' < "$T/body.h" | grep -qi '^Cache-Control: no-store' || fail "confirm page cacheable"
"$PY" - "$T/body" <<'PYEOF' || fail "confirm page is not well-formed HTML"
import sys
from html.parser import HTMLParser
VOID = {"meta", "link", "br", "img", "input", "hr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()
text = open(sys.argv[1], encoding="utf-8").read()
assert text.startswith("<!DOCTYPE html>"), text[:40]
p = P()
p.feed(text)
p.close()
assert not p.stack, p.stack
PYEOF
[ "$(code GET "$U/confirm?t=$CT")" = 200 ] || fail "GET confirm page again"
[ "$(status_of new.reader@example.net)" = pending ] || fail "GET /confirm activated (a mail scanner would confirm)"
[ "$(code POST "$U/confirm?t=$(flip "$CT")")" = 403 ] || fail "forged confirm POST not 403"
[ "$(code POST "$U/confirm?t=$(tok unsubscribe 4)")" = 403 ] || fail "unsubscribe token confirms by POST"
[ "$(code POST "$U/confirm")" = 400 ] || fail "confirm POST without a token not 400"
[ "$(status_of new.reader@example.net)" = pending ] || fail "bad confirm POST changed state"
# the page's own form: POST with an empty form body
[ "$(code POST "$U/confirm?t=$CT" -H 'Content-Type: application/x-www-form-urlencoded' --data '')" = 200 ] ||
    fail "confirm POST"
grep -q 'Subscription confirmed' "$T/body" || fail "no confirmed page"
[ "$(status_of new.reader@example.net)" = active ] || fail "POST /confirm did not activate"
[ "$(code POST "$U/confirm?t=$CT" --data '')" = 200 ] || fail "second confirm"
[ "$(status_of new.reader@example.net)" = active ] || fail "second confirm changed state"
[ "$(code GET "$U/confirm?t=$CT")" = 200 ] || fail "GET confirm once active"
grep -q 'Subscription confirmed' "$T/body" || fail "GET once active: not the done page"
# an old confirm link never re-subscribes someone who left
[ "$(code GET "$U/confirm?t=$(tok confirm 1)")" = 410 ] || fail "confirm page of an unsubscribed address"
[ "$(code POST "$U/confirm?t=$(tok confirm 1)" --data '')" = 410 ] || fail "confirm of an unsubscribed address"
[ "$(status_of alice@example.org)" = unsubscribed ] || fail "confirm re-subscribed alice"
[ "$(code POST "$U/confirm?t=$(tok confirm 999)" --data '')" = 404 ] || fail "confirm for no subscriber"
ok "subscribe -> pending + confirmation mail; its link (confirm/4) shows a button (GET/HEAD change nothing), POST activates; forged/other ones do not"

# --- the answer never tells whether an address was known
[ "$(code POST "$U/subscribe" --data-urlencode 'email=ALICE@example.org')" = 200 ] || fail "subscribe unsubscribed"
cmp -s "$T/body" "$T/answer.new" || fail "answer differs for an unsubscribed address"
[ "$(code POST "$U/subscribe" --data-urlencode 'email=carol@example.org' --data-urlencode 'name=Changed')" = 200 ] ||
    fail "subscribe active"
cmp -s "$T/body" "$T/answer.new" || fail "answer differs for an active address"
[ "$(status_of alice@example.org)" = unsubscribed ] || fail "subscribe re-activated alice"
[ "$(name_of carol@example.org)" = "Carol Original" ] || fail "subscribe changed carol's name"
sleep 0.5
[ "$(mails_to alice@example.org)" = 1 ] || fail "alice was mailed again"
[ "$(mails_to carol@example.org)" = 1 ] || fail "carol got a confirmation"
ok "same answer for new, active and unsubscribed addresses; known ones unchanged, not mailed"

# --- bad requests
[ "$(code POST "$U/subscribe" --data 'name=x')" = 400 ] || fail "no email"
[ "$(code POST "$U/subscribe" --data 'email=not-an-address')" = 400 ] || fail "bad email"
[ "$(code POST "$U/subscribe" --data 'email=a%zz@example.org')" = 400 ] || fail "bad encoding"
[ "$(code POST "$U/subscribe" --data 'email=x@example.org&name=a%0ABcc:%20y')" = 400 ] || fail "CR/LF name"
[ "$(code POST "$U/subscribe" -H 'Content-Type: text/plain' --data 'email=x@example.org')" = 415 ] ||
    fail "wrong type"
[ "$(status_of x@example.org)" = none ] || fail "a bad request stored something"
ok "bad subscribe requests: 400/415, nothing stored"

# --- per-client rate limit (5 a minute; 3 used above)
n=0; got429=0
for i in 1 2 3 4 5 6; do
	c=$(code POST "$U/subscribe" --data-urlencode "email=flood$i@example.com")
	case $c in
	200) n=$((n + 1)) ;;
	429) got429=1; tr -d '\r' < "$T/body.h" | grep -qi '^Retry-After: ' || fail "429 without Retry-After"; break ;;
	*) fail "flood $i: $c" ;;
	esac
done
[ $got429 = 1 ] || fail "no 429 after $n more subscriptions"
[ $n -le 3 ] || fail "$n more subscriptions allowed"
[ "$(status_of flood$((n + 1))@example.com)" = none ] || fail "rate-limited address stored"
ok "rate limit: 429 with Retry-After after $((n + 3)) subscriptions"

# --- a still-pending address asking again gets its confirmation mail
# again, at most once per 10 minutes (the limit lives in memory, so a
# restart stands for the 10 minutes passing); the same link confirms
stop_daemon
start_daemon
late=late.reader@example.net
[ "$(code POST "$U/subscribe" --data-urlencode "email=$late")" = 200 ] || fail "subscribe $late"
i=0
while [ "$(mails_to $late)" != 1 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no confirmation mail to $late"; sleep 0.1
done
[ "$(code POST "$U/subscribe" --data-urlencode "email=$late")" = 200 ] || fail "subscribe $late again"
cmp -s "$T/body" "$T/answer.new" || fail "answer differs for a pending address"
sleep 0.5
[ "$(mails_to $late)" = 1 ] || fail "mailed again within 10 minutes"
grep -q "still pending; a confirmation mail went less than 10 minutes ago" "$T/daemon.log" ||
    fail "throttled resend not logged"
stop_daemon
start_daemon
[ "$(code POST "$U/subscribe" --data-urlencode "email=$late")" = 200 ] || fail "subscribe $late after restart"
i=0
while [ "$(mails_to $late)" != 2 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no second confirmation mail to $late"; sleep 0.1
done
grep -q "still pending; confirmation mail sent again" "$T/daemon.log" || fail "resend not logged"
URLS=$("$PY" - "$T/mail" "$late" <<'PYEOF'
import email, glob, re, sys
from email import policy
urls = set()
for p in glob.glob(sys.argv[1] + "/*.eml"):
    m = email.message_from_bytes(open(p, "rb").read(), policy=policy.default)
    if m["To"].addresses[0].addr_spec == sys.argv[2]:
        text = m.get_body(("plain",)).get_content()
        urls.add(re.search(r"https://\S+/confirm\?t=[A-Za-z0-9_-]+", text).group(0))
print(" ".join(sorted(urls)))
PYEOF
)
case $URLS in *" "*|"") fail "the two confirmation mails hold different links: $URLS" ;; esac
[ "$(status_of $late)" = pending ] || fail "$late active before confirming"
[ "$(code GET "$U/confirm?t=${URLS##*t=}")" = 200 ] || fail "confirm page $late"
[ "$(status_of $late)" = pending ] || fail "$late active after GET"
[ "$(code POST "$U/confirm?t=${URLS##*t=}" --data '')" = 200 ] || fail "confirm $late"
[ "$(status_of $late)" = active ] || fail "$late not active after confirming"
[ "$(code POST "$U/subscribe" --data-urlencode "email=$late")" = 200 ] || fail "subscribe $late when active"
sleep 0.5
[ "$(mails_to $late)" = 2 ] || fail "an active address got a confirmation mail"
ok "pending address: confirmation mail again (not twice in 10 minutes), same link, confirms; none once active"

[ "$(code GET "$U/healthz")" = 200 ] || fail "healthz"
stop_daemon
