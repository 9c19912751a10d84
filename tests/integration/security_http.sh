# Nothing on the public HTTP listener changes state without a valid token.
# Every path (the real ones, control API paths, odd ones) with every method
# (GET HEAD POST PUT DELETE PATCH OPTIONS TRACE and an unknown one), with
# no token, an empty one, garbage, a token forged with another key, a
# valid token cut short or with one character changed, and a valid token
# of the other purpose: afterwards the subscribers (statuses, names,
# fields), the broadcasts and the mail server's log are exactly as before.
# The one documented exception, POST /subscribe, is pinned down: an
# address already known changes nothing, a new one becomes "pending" only
# (not a recipient), and only its confirm token activates it.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon

printf 'email,name,city\nana@example.org,Ana Løvås,Tromsø\nben@example.org,Ben,Köln\ncy@example.org,Cy,Oslo\n' > "$T/s.csv"
expect_rc 0 bs subscribers import "$T/s.csv"
bs subscribers remove cy@example.org >/dev/null || fail remove
cat > "$T/st.txt" <<'EOF'
The pool – “closed for repairs”…
By the Swim Club

The pool closes on 3 March; the café stays open.
EOF
expect_rc 0 bs send --wait "$T/st.txt"

tok() { "$PY" "$TOP/tests/py/http_token.py" "$1" "$2" "$3"; }
head -c 32 /dev/urandom > "$T/otherkey"
VALID=$(tok "$T/state/secret" unsubscribe 1)
CVALID=$(tok "$T/state/secret" confirm 1)
FORGED=$(tok "$T/otherkey" unsubscribe 1)
CFORGED=$(tok "$T/otherkey" confirm 2)
CUT=$(printf '%s' "$VALID" | cut -c 1-20)
last=$(printf '%s' "$VALID" | tail -c 1)
if [ "$last" = A ]; then sub=B; else sub=A; fi
FLIP=$(printf '%s' "$VALID" | sed "s/.\$/$sub/")
OTHER_ID=$(tok "$T/state/secret" unsubscribe 999)

snapshot() {
	{
		bs subscribers list --json
		bs status --json | "$PY" -c 'import json,sys
for b in json.load(sys.stdin):
    print(b["id"], b["state"], b["total"], b["sent"], b["failed"])'
		bs subscribers count --json
		# messages accepted (not log lines: idle sessions close on
		# their own and log that)
		grep -c '"ev": "data"' "$T/mail/log.jsonl"
	} > "$1" 2>&1
}
snapshot "$T/before"
grep -q '"active"' "$T/before" || fail "snapshot has no active subscriber"

paths="/ /feed.xml /archive /archive/ /archive/1 /archive/2 /unsubscribe /confirm
/subscribe /healthz /metrics /v1/status /v1/subscribers /v1/reload
/v1/broadcasts/1/cancel /v1/import /control.sock /feed.xml/.. /%2e%2e/etc/passwd
/unsubscribe/ /UNSUBSCRIBE /confirm/"
tokens="- = =garbage =$FORGED =$CFORGED =$CUT =$FLIP =$OTHER_ID =$CVALID"
methods="GET HEAD POST PUT DELETE PATCH OPTIONS TRACE FOO"
n=0
for p in $paths; do
	for t in $tokens; do
		q=
		case $t in -) ;; =*) q="?t=${t#=}" ;; esac
		for m in $methods; do
			case $m in HEAD) extra=-I ;; *) extra= ;; esac
			# one-click form body on every request (harmless for GET)
			c=$(curl -s -o /dev/null -w '%{http_code}' -X "$m" $extra --max-time 5 \
			    -H 'Content-Type: application/x-www-form-urlencoded' \
			    --data 'List-Unsubscribe=One-Click' "$U$p$q")
			case $c in
			2??|3??)
				# only reads may succeed: never a POST/PUT/... on a token path
				case "$m:$p:$t" in
				GET:/confirm:=$CVALID|HEAD:/confirm:=$CVALID|POST:/confirm:=$CVALID)
					;;	# a real confirm token (of an active subscriber)
				GET:/unsubscribe:*|HEAD:/unsubscribe:*|GET:/confirm:*|HEAD:/confirm:*)
					fail "$m $p$q: $c (bad token accepted)" ;;
				GET:*|HEAD:*) ;;
				*) fail "$m $p$q: $c, want an error" ;;
				esac ;;
			000) fail "$m $p$q: no answer" ;;
			esac
			n=$((n + 1))
		done
	done
done
# the one-click POST with the confirm token of id 1 and the valid unsubscribe
# token on the wrong endpoint
for t in "$CVALID" "$FORGED" "$CUT" "$FLIP"; do
	c=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data 'List-Unsubscribe=One-Click' "$U/unsubscribe?t=$t")
	case $c in 400|403|404) ;; *) fail "one-click with a bad token: $c" ;; esac
done
c=$(curl -s -o /dev/null -w '%{http_code}' "$U/confirm?t=$VALID")
case $c in 400|403) ;; *) fail "unsubscribe token on /confirm: $c" ;; esac
# the token in a header, a cookie, the body instead of the query
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Cookie: t=$VALID" -H "X-Token: $VALID" \
    --data "t=$VALID&List-Unsubscribe=One-Click" "$U/unsubscribe")
case $c in 400|403) ;; *) fail "token outside the query accepted: $c" ;; esac
snapshot "$T/after"
diff "$T/before" "$T/after" >&2 || fail "state changed without a valid token"
ok "$n requests (every path x token x method) with no valid token: nothing changed"

# POST /subscribe: known addresses change nothing; a new one is pending only
for a in ana@example.org cy@example.org ANA@EXAMPLE.ORG; do
	c=$(curl -s -o /dev/null -w '%{http_code}' --data "email=$a&name=Mallory" "$U/subscribe")
	[ "$c" = 200 ] || fail "POST /subscribe $a: $c"
done
snapshot "$T/after"
diff "$T/before" "$T/after" >&2 || fail "POST /subscribe of a known address changed state"
c=$(curl -s -o /dev/null -w '%{http_code}' --data "email=new@example.org&name=New" "$U/subscribe")
[ "$c" = 200 ] || fail "POST /subscribe new: $c"
st=$(bs subscribers list --json | "$PY" -c 'import json,sys
print([s["status"] for s in json.load(sys.stdin) if s["email"] == "new@example.org"])')
[ "$st" = "['pending']" ] || fail "new address: $st, want pending"
NEWID=$(bs subscribers list --json | "$PY" -c 'import json,sys
l = json.load(sys.stdin); print([i + 1 for i, s in enumerate(l) if s["email"] == "new@example.org"][0])')
expect_rc 0 bs send --wait "$T/st.txt"
"$PY" - "$T/mail/log.jsonl" <<'PYEOF' || fail "the pending address got the broadcast"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [e for e in ev if e["ev"] == "data" and "new@example.org" in e.get("rcpt", [])]
# the only mail to it is the confirmation (one message)
assert len(got) <= 1, got
PYEOF
# forged confirm tokens for every id up to 10 do not activate it
for i in 1 2 3 4 5 6 7 8 9 10; do
	curl -s -o /dev/null "$U/confirm?t=$(tok "$T/otherkey" confirm "$i")"
done
st=$(bs subscribers list --json | "$PY" -c 'import json,sys
print([s["status"] for s in json.load(sys.stdin) if s["email"] == "new@example.org"])')
[ "$st" = "['pending']" ] || fail "forged confirm tokens activated it: $st"
ok "POST /subscribe: known addresses unchanged, a new one only pending (row $NEWID), forged confirms ignored"
stop_daemon
