# broadside preview works offline (no daemon): every part of the real
# rendering, parsed back by Python (email with policy.strict, feedparser);
# --to personalises; a bad statement exits 65 naming the line.
. "$(dirname "$0")/../lib.sh"

write_config
F="$TOP/tests/fixtures/statement-plain.txt"
bs preview "$F" --part mime --to 'zoe@example.org' > "$T/msg.eml" || fail "preview mime"
bs preview "$F" --part text > "$T/text.txt" || fail "preview text"
bs preview "$F" --part html > "$T/page.html" || fail "preview html"
bs preview "$F" --part rss > "$T/feed.xml" || fail "preview rss"
bs preview "$TOP/tests/fixtures/statement-markdown.md" --part html > "$T/md.html" || fail "preview md"
"$PY" - "$T" "$F" <<'PYEOF' || fail "preview content"
import email, sys, feedparser
from email import policy
t, fixture = sys.argv[1], sys.argv[2]
lines = [l for l in open(fixture, encoding="utf-8").read().splitlines() if l.strip()]
title, paras = lines[0], lines[2:-1]
m = email.message_from_bytes(open(t + "/msg.eml", "rb").read(), policy=policy.strict)
assert str(m["Subject"]) == title
assert m["To"].addresses[0].addr_spec == "zoe@example.org"
text = m.get_body(("plain",)).get_content()
for p in paras:
    assert p in text.replace("\r\n", "\n").replace(" \n", " "), p[:40]
plain = open(t + "/text.txt", encoding="utf-8").read()
assert plain.splitlines()[0] == title and lines[-1] in plain
assert "<h1" in open(t + "/page.html", encoding="utf-8").read()
f = feedparser.parse(t + "/feed.xml")
assert f.bozo == 0 and f.entries[0].title == title
assert "<em>" in open(t + "/md.html", encoding="utf-8").read() or "<strong>" in open(t + "/md.html", encoding="utf-8").read()
PYEOF
ok "mime, text, html, rss and Markdown previews render and parse"

expect_rc 65 bs preview "$TOP/tests/fixtures/bad-nul.txt"
grep -q "bad-nul.txt: line 2" "$T/err" || { cat "$T/err"; fail "no line"; }
expect_rc 66 bs preview "$T/none.txt"
expect_rc 64 bs preview "$F" --part pdf
expect_rc 65 bs preview "$F" --to 'not an address'
ok "bad statement 65 with its line, missing 66, bad part 64, bad --to 65"
[ -e "$T/state/control.sock" ] && fail "a daemon was running?"
[ -e "$T/state/secret" ] && fail "preview created the secret file"
ok "offline: no daemon, nothing created"
