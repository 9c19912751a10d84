# Limits on every size a client or a file controls, each just under and
# just over: a statement over 1 MiB (send: 65, nothing stored); a CSV
# field over 64 KiB (that row reported with its line, the others
# imported), a 5 MiB field; a control API request body over 4 MiB (413,
# the daemon unharmed); a public HTTP body over 64 KB and a header block
# over 8 KB (413/431, nothing changed); the 413 reaches a client still
# sending its body (lingering close), and that draining is bounded; a template over 1 MiB; an
# smtp.password_file over 4 KiB.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:9\"; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon
bs subscribers add keep@example.org "Keep" >/dev/null || fail add

# big N FILE: a valid statement of about N octets (accented text lines)
big() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
head = "Title: A long one – “every line counts”…\nAuthor: Zoë\n\n"
para = "Paragraph with café, naïve and an en dash – repeated for size.\n"
out = head.encode()
while len(out) + len(para.encode()) <= n:
    out += para.encode()
out += b"x" * (n - len(out))
open(path, "wb").write(out)
PYEOF
}
big $((1024 * 1024)) "$T/ok.txt"
[ "$(stat -c %s "$T/ok.txt")" = 1048576 ] || fail "fixture size"
big $((1024 * 1024 + 1)) "$T/over.txt"
expect_rc 65 bs send "$T/over.txt"
grep -q "over.txt" "$T/err" || { cat "$T/err"; fail "statement over 1 MiB: file not named"; }
[ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err"; fail "more than one line"; }
bs status --json | "$PY" -c 'import json,sys; sys.exit(1 if json.load(sys.stdin) else 0)' ||
    fail "a refused statement was stored"
ok "statement of 1 MiB + 1 refused (65): $(cat "$T/err")"
expect_rc 0 bs preview "$T/ok.txt" --part text
ok "statement of exactly 1 MiB accepted by preview"

# CSV: a field of 64 KiB is fine, one more octet is not; 5 MiB neither
"$PY" - "$T/big.csv" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name,note\n")
    f.write("a@example.org,Ann,%s\n" % ("n" * 65536))        # line 2: at the limit
    f.write("b@example.org,Bob,%s\n" % ("n" * 65537))        # line 3: over
    f.write('c@example.org,"%s",x\n' % ("é" * 40000))        # line 4: 80,000 octets
    f.write("d@example.org,Dee,%s\n" % ("z" * (5 << 20)))     # line 5: 5 MiB
    f.write("e@example.org,Eve,short\n")                       # line 6
PYEOF
expect_rc 65 bs subscribers import "$T/big.csv"
for l in 3 4 5; do
	grep -q "big.csv:$l: .*64 KiB\|big.csv:$l: .*65536\|big.csv:$l: .*too long\|big.csv:$l: .*over" "$T/err" ||
	    { cat "$T/err"; fail "line $l not reported as too long"; }
done
grep -q "big.csv:2:\|big.csv:6:" "$T/err" && { cat "$T/err"; fail "a good row reported"; }
for a in a e; do
	bs subscribers list | grep -q "^$a@example.org" || fail "$a@example.org not imported"
done
for a in b c d; do
	bs subscribers list | grep -q "^$a@example.org" && fail "$a@example.org imported"
done
ok "CSV: a 64 KiB field imported; 64 KiB + 1, 80,000 octets and 5 MiB reported at their lines"

# the control API: 4 MiB is the largest request body
S=$T/state/control.sock
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' > "$T/body"
for p in subscribers import broadcasts reload; do
	c=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$S" -X POST \
	    -H 'Content-Type: application/json' -H 'Expect:' --data-binary @"$T/body" "http://x/v1/$p")
	[ "$c" = 413 ] || fail "control: 4 MiB + 1 to /v1/$p: $c, want 413"
done
# The 413 must reach a client that is still sending (curl got "000" on a
# clean machine: the daemon closed with the body unread, so the client's
# writes failed).  A plain client that sends the whole body, slowly, and
# reads the answer only then fails on every machine unless the daemon
# drains what it still sends (lingering close): 65 chunks 5 ms apart take
# about 0.4 s, well inside the daemon's 5 s idle / 10 s linger.
r=$("$PY" "$TOP/tests/py/http_bigbody.py" "unix:$S" /v1/subscribers \
    $((4 * 1024 * 1024 + 1)) --chunk 65536 --pause 0.005) ||
    fail "control: slow 4 MiB + 1 body: $r"
[ "$r" = 413 ] || fail "control: slow 4 MiB + 1 body: $r, want 413"
curl -s -o /dev/null -D "$T/h" --unix-socket "$S" -X POST -H 'Expect:' \
    --data-binary @"$T/body" "http://x/v1/subscribers"
tr -d '\r' < "$T/h" | grep -qi '^Connection: close' || { cat "$T/h"; fail "control: 413 without Connection: close"; }
# the draining is bounded: a client that never stops is cut (8 MiB)
r=$("$PY" "$TOP/tests/py/http_bigbody.py" "unix:$S" /v1/subscribers \
    $((256 * 1024 * 1024)) --flood) || fail "control: endless body: $r"
# a declared length over the limit is refused before the body is sent
c=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$S" -X POST -H 'Expect:' \
    -H 'Content-Length: 1000000000' --data-binary 'x' "http://x/v1/subscribers" --max-time 10)
[ "$c" = 413 ] || [ "$c" = 400 ] || fail "control: declared 1 GB body: $c"
bs status >/dev/null || fail "daemon unwell after oversized control requests"
[ "$(bs subscribers count)" = 3 ] || fail "oversized requests changed the subscribers"
# a chunk of exactly 4 MiB is still read (it is a JSON error, not 413)
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'a' > "$T/body"
c=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$S" -X POST -H 'Expect:' \
    --data-binary @"$T/body" "http://x/v1/subscribers")
[ "$c" = 400 ] || fail "control: 4 MiB body: $c, want 400 (read and parsed)"
# a header block over the limit
c=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$S" \
    -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' 'h')" "http://x/v1/status")
[ "$c" = 413 ] || [ "$c" = 431 ] || [ "$c" = 400 ] || fail "control: 9 KB header: $c"
ok "control API: bodies over 4 MiB and headers over 8 KiB refused, 4 MiB read"

# the public listener: 64 KB bodies, 8 KB headers
head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' 'a' > "$T/body"
for p in /subscribe /unsubscribe /confirm /feed.xml; do
	c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Expect:' \
	    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/body" "$U$p")
	[ "$c" = 413 ] || fail "http: 64 KB + 1 to $p: $c, want 413"
done
# a plain client sending 64 KB + 1 slowly (17 chunks 20 ms apart), then
# reading, gets the 413 too
for p in /subscribe /confirm; do
	r=$("$PY" "$TOP/tests/py/http_bigbody.py" "127.0.0.1:$PORT" $p \
	    $((64 * 1024 + 1)) --chunk 4096 --pause 0.02) || fail "http: slow 64 KB + 1 to $p: $r"
	[ "$r" = 413 ] || fail "http: slow 64 KB + 1 to $p: $r, want 413"
done
r=$("$PY" "$TOP/tests/py/http_bigbody.py" "127.0.0.1:$PORT" /subscribe \
    $((256 * 1024 * 1024)) --flood) || fail "http: endless body: $r"
printf 'email=' > "$T/body"
head -c $((64 * 1024 - 6)) /dev/zero | tr '\0' 'a' >> "$T/body"
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Expect:' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/body" "$U/subscribe")
[ "$c" = 400 ] || [ "$c" = 200 ] || fail "http: 64 KB form: $c"
c=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' 'h')" "$U/healthz")
[ "$c" = 413 ] || [ "$c" = 431 ] || [ "$c" = 400 ] || fail "http: 9 KB header: $c"
c=$(curl -s -o /dev/null -w '%{http_code}' "$U/unsubscribe?t=$(head -c 9000 /dev/zero | tr '\0' 'A')")
[ "$c" = 413 ] || [ "$c" = 414 ] || [ "$c" = 431 ] || [ "$c" = 400 ] || fail "http: 9 KB URL: $c"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")" = 200 ] || fail "http unwell after the limits"
[ "$(bs subscribers count)" = 3 ] || fail "oversized HTTP requests changed the subscribers"
ok "public HTTP: bodies over 64 KB and headers/URLs over 8 KB refused"
stop_daemon

# a template over 1 MiB, a password file over 4 KiB
mkdir -p "$T/tpl"
cp "$TOP"/templates/*.mustache "$T/tpl/"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 't' > "$T/tpl/email.txt.mustache"
sed -i "s|dir = \"$TOP/templates\"|dir = \"tpl\"|" "$T/broadside.conf"
expect_rc 78 bs preview "$T/ok.txt" --part text
grep -q "larger than" "$T/err" || { cat "$T/err"; fail "big template: no clear line"; }
ok "template over 1 MiB refused: $(cat "$T/err")"
head -c 5000 /dev/zero | tr '\0' 'p' > "$T/pw"
write_config 'smtp: { url = "smtp://127.0.0.1:9"; username = "u"; password_file = "pw"; };'
timeout 10 "$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>&1
rc=$?
[ $rc = 78 ] || { cat "$T/out"; fail "a 5000-octet password file: exit $rc, want 78"; }
grep -q "password_file" "$T/out" || { cat "$T/out"; fail "big password file: no clear line"; }
grep -q "pppppppp" "$T/out" && fail "password content printed"
ok "password_file over 4 KiB refused without printing it"
