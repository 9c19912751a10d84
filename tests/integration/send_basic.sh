# broadside send end to end against a real SMTP server: every active
# subscriber gets exactly one personalised message, parsed by Python's
# email package (policy.strict); sessions are reused; status --json has
# the contract's fields; send --wait exits 0; --test sends to one address
# and records nothing; bad statements exit 65, missing files 66.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 0.0; batch_size = 7; };"
start_daemon

cat > "$T/subs.csv" <<'CSV'
email,name,city
ann@example.org,Ann Example,Oslo
zoe@example.org,Zoë Ångström,Malmö
hanako@example.net,山田 花子,京都
mariam@example.org,مريم الحداد,Cairo
emoji@example.com,Ana 🌻 Flores,Lima
quote@example.com,"O'Brien, ""Pat""",Cork
gone@example.org,Gone Away,Nowhere
CSV
for i in $(seq 1 30); do echo "bulk$i@example.com,Bulk $i,Town"; done >> "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
expect_rc 0 bs subscribers remove gone@example.org

# bad input first: nothing is stored for these
expect_rc 66 bs send "$T/missing.txt"
expect_rc 65 bs send "$TOP/tests/fixtures/bad-utf8.txt"
grep -q "bad-utf8.txt: line" "$T/err" || { cat "$T/err"; fail "no line in the error"; }
expect_rc 65 bs send "$TOP/tests/fixtures/bad-empty.txt"
expect_rc 65 bs send "$TOP/tests/fixtures/statement-plain.txt" --subject "$(printf 'a\r\nBcc: x@example.com')"
[ "$(bs status --json | json_get 'len(j)')" = 0 ] || fail "a bad send stored a broadcast"
ok "bad statements refused (65/66), nothing stored"

# --test: only that address, not recorded
expect_rc 0 bs send "$TOP/tests/fixtures/statement-plain.txt" --test tester@example.net
grep -q "tester@example.net: ok 250" "$T/out" || { cat "$T/out"; fail "test result"; }
[ "$(bs status --json | json_get 'len(j)')" = 0 ] || fail "--test recorded a broadcast"
[ "$(smtpd_report mail | json_get 'j["accepted"]')" = 1 ] || fail "--test sent more than one"
ok "--test sends to one address, records nothing"

bs send --wait "$TOP/tests/fixtures/statement-plain.txt" > "$T/send.out" 2>"$T/send.err" ||
    { cat "$T/send.err"; fail "send --wait exit $?"; }
ID=$(head -n 1 "$T/send.out")
[ "$ID" -gt 0 ] 2>/dev/null || fail "first line is not an ID: $ID"
grep -q "sent=36/36" "$T/send.err" || { cat "$T/send.err"; fail "no plain progress line"; }
ok "send --wait: broadcast $ID"

bs status "$ID" --json > "$T/status.json"
"$PY" - "$T/status.json" <<'PYEOF' || fail "status --json"
import json, sys
s = json.load(open(sys.argv[1]))
for k in ("id", "title", "state", "total", "sent", "pending", "deferred", "failed", "rate"):
    assert k in s, k
assert s["state"] == "done", s
assert (s["total"], s["sent"], s["pending"], s["deferred"], s["failed"]) == (36, 36, 0, 0, 0), s
PYEOF
ok "status --json"

smtpd_report mail > "$T/report.json"
"$PY" - "$T/report.json" <<'PYEOF' || fail "server-side counts"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["accepted"] == 37, r["accepted"]           # 36 + the test message
assert r["duplicates"] == 0, r["duplicates"]
assert "gone@example.org" not in r["per_rcpt"], "removed subscriber got mail"
assert r["sessions"] <= 4, "sessions not reused: %d" % r["sessions"]
PYEOF
ok "each subscriber once, removed one skipped, sessions reused"

# every message parses strictly and carries the personalisation
"$PY" - "$T/mail" "$TOP/tests/fixtures/statement-plain.txt" <<'PYEOF' || fail "message content"
import email, glob, sys, re
from email import policy
maildir, fixture = sys.argv[1], sys.argv[2]
names = {"ann@example.org": "Ann Example", "zoe@example.org": "Zoë Ångström",
         "hanako@example.net": "山田 花子", "mariam@example.org": "مريم الحداد",
         "emoji@example.com": "Ana 🌻 Flores", "quote@example.com": 'O\'Brien, "Pat"'}
title = open(fixture, encoding="utf-8").read().splitlines()[0]
ids = set()
seen = 0
for path in sorted(glob.glob(maildir + "/*.eml")):
    raw = open(path, "rb").read()
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998, path
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF in " + path
    m = email.message_from_bytes(raw, policy=policy.strict)
    to = m["To"].addresses[0]
    addr = to.addr_spec
    if addr == "tester@example.net":
        continue
    seen += 1
    assert str(m["Subject"]) == title, (str(m["Subject"]), title)
    if addr in names:
        assert to.display_name == names[addr], (to.display_name, names[addr])
    assert m["List-Id"] and m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.match(r"<https://lists\.example\.org/unsubscribe\?t=[A-Za-z0-9_-]+>$", str(m["List-Unsubscribe"]))
    assert m["Message-ID"] not in ids
    ids.add(m["Message-ID"])
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    assert m.get_body(("plain",))["Content-Type"].params.get("format") == "flowed"
    assert "unsubscribe?t=" in text and "unsubscribe?t=" in html
assert seen == 36, seen
PYEOF
ok "36 messages parse with policy.strict, names and subject exact"

# the feed has the broadcast
bs feed > "$T/feed.xml" || fail "broadside feed"
"$PY" -c 'import feedparser,sys; f=feedparser.parse(sys.argv[1]); assert f.bozo == 0, f.bozo_exception; assert len(f.entries) == 1, len(f.entries)' "$T/feed.xml" ||
    fail "feed after send"
[ -s "$T/state/feed.xml" ] || fail "feed.path not written"
ok "feed written"
stop_daemon
