# POST /subscribe with a hostile name: the confirmation mail goes to the
# bare address only.  The name typed into the public form must never
# reach the To: header (or anywhere in the mail): otherwise anyone can
# send mail from the list's domain, with text of their choosing, to any
# address.  A name with CR/LF is refused outright (400, nothing stored,
# nothing sent).  Until an address is confirmed, mail to it carries the
# bare address only.
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon

sub() { curl -s -o /dev/null -w '%{http_code}' -X POST --data-urlencode "email=$1" --data-urlencode "name=$2" "$U/subscribe"; }
mails_to() { smtpd_report mail | json_get "j['per_rcpt'].get('$1', 0)"; }

[ "$(sub evil@example.net 'Evilname <x@y.example>')" = 200 ] || fail "subscribe evil"
[ "$(sub phish@example.net 'Click http://phish.example now')" = 200 ] || fail "subscribe phish"
[ "$(sub accent@example.net 'Zoë Phish.example Ærø')" = 200 ] || fail "subscribe accent"
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    --data 'email=crlf@example.net&name=Evil%20%3Cx%40y%3E%0D%0ABcc%3A%20z%40w.example' "$U/subscribe")
[ "$c" = 400 ] || fail "a name with CR/LF: $c, want 400"

for a in evil phish accent; do
	i=0
	while [ "$(mails_to $a@example.net)" != 1 ]; do
		i=$((i + 1)); [ $i -lt 150 ] || fail "no confirmation mail to $a@example.net"; sleep 0.1
	done
done
sleep 0.5
[ "$(mails_to crlf@example.net)" = 0 ] || fail "a refused request was mailed"
[ "$(mails_to z@w.example)" = 0 ] || fail "the injected Bcc was mailed"
[ "$(mails_to x@y.example)" = 0 ] || fail "the address in the name was mailed"
bs subscribers list | grep -q crlf@example.net && fail "a refused request was stored"

"$PY" - "$T/mail" <<'PYEOF' || fail "a confirmation mail carries the name typed into the form"
import email, glob, sys
from email import policy
want = {"evil@example.net", "phish@example.net", "accent@example.net"}
seen = set()
for p in glob.glob(sys.argv[1] + "/*.eml"):
    raw = open(p, "rb").read()
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    to = [l for l in head.split(b"\r\n") if l.lower().startswith(b"to:")]
    assert len(to) == 1, "%s: To: lines %r" % (p, to)
    value = to[0][3:].strip().decode("ascii")
    addr = value[1:-1] if value.startswith("<") and value.endswith(">") else value
    assert addr in want, "%s: To: %r is not a bare address" % (p, value)
    seen.add(addr)
    low = raw.lower()
    for bad in (b"evilname", b"phish.example", b"=?", b"x@y.example", b"zo\\xc3\\xab", b"zo=c3=ab"):
        assert bad not in low, "%s: %r in the mail" % (p, bad)
    m = email.message_from_bytes(raw, policy=policy.default)
    text = m.get_body(("plain",)).get_content().lower()
    for bad in ("evilname", "phish.example", "x@y.example", "zoë"):
        assert bad not in text, "%s: %r in the text" % (p, bad)
assert seen == want, seen
PYEOF
ok "confirmation mails go to the bare address (To: holds no name, the text none either); a CR/LF name is refused, nothing sent"
[ "$(bs subscribers list --json | json_get '[s["name"] for s in j if s["email"] == "phish@example.net"][0]')" = 'Click http://phish.example now' ] ||
    fail "the name was not kept for later"
ok "the name is kept for after confirmation"
stop_daemon
