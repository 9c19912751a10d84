# Subscribers end to end through the CLI against the real daemon: add,
# remove, import (RFC 4180, BOM, CRLF, IDN), bad rows with their line
# numbers, suppression across re-imports, list/count, exit codes.
. "$(dirname "$0")/../lib.sh"

write_config
start_daemon

expect_rc 0 bs subscribers add ann@example.org "Ann Example"
expect_rc 65 bs subscribers add 'not-an-address'
grep -q "not-an-address" "$T/err" || fail "bad address not named"
expect_rc 65 bs subscribers add 'x@example.org' "$(printf 'Evil\r\nBcc: victim@example.com')"
ok "add; bad address and CR/LF name refused"

# a CSV with every awkward feature, BOM and CRLF line ends
printf '\357\273\277email,Name,city,note\r\n' > "$T/list.csv"
printf 'bob@example.org,"Bob, Jr.",Paris,"says ""hi"""\r\n' >> "$T/list.csv"
printf 'carol@B\303\274cher.example,Carol,K\303\266ln,\r\n' >> "$T/list.csv"
printf 'dave@example.org,Dave,"Multi\r\nline",x\r\n' >> "$T/list.csv"
printf 'no-at-sign,Nobody,,\r\n' >> "$T/list.csv"
printf 'BOB@EXAMPLE.ORG,Bob again,,\r\n' >> "$T/list.csv"
printf 'eve@example.org,\377bad utf8,,\r\n' >> "$T/list.csv"
printf 'frank@example.org,Frank,Rome,\r\n' >> "$T/list.csv"
"$PY" -c 'print("gina@example.org,Gina,%s," % ("x" * 100000), end="\r\n")' >> "$T/list.csv"
printf 'hank@example.org,Hank,Oslo,\r\n' >> "$T/list.csv"
expect_rc 65 bs subscribers import "$T/list.csv"
cat "$T/err"
for want in "list.csv:4:" "list.csv:6:" "list.csv:7:" "list.csv:8:" "list.csv:10:"; do
	grep -q "^.*$want" "$T/err" || fail "no error for $want"
done
grep -q "list.csv:6:.*no-at-sign" "$T/err" || fail "line 6 reason"
grep -q "list.csv:7:.*duplicate" "$T/err" || fail "line 7 not a duplicate"
grep -q "list.csv:2:\|list.csv:3:\|list.csv:9:\|list.csv:11:" "$T/err" && fail "a good row was reported"
grep -q "4 added" "$T/out" || { cat "$T/out"; fail "want 4 added"; }
ok "import: good rows in, bad rows reported by line"

bs subscribers list --json > "$T/list.json" || fail "list --json"
"$PY" - "$T/list.json" <<'PYEOF' || fail "list --json content"
import json, sys
subs = {s["email"]: s for s in json.load(open(sys.argv[1]))}
assert set(subs) == {"ann@example.org", "bob@example.org",
    "carol@xn--bcher-kva.example", "frank@example.org", "hank@example.org"}, subs.keys()
assert subs["bob@example.org"]["name"] == "Bob, Jr.", subs["bob@example.org"]
assert subs["bob@example.org"]["fields"] == {"city": "Paris", "note": 'says "hi"'}
assert subs["carol@xn--bcher-kva.example"]["fields"]["city"] == "K\u00f6ln"
assert all(s["status"] == "active" for s in subs.values())
for s in subs.values():
    assert set(s) >= {"email", "name", "status", "fields"}
PYEOF
[ "$(bs subscribers count)" = 5 ] || fail "count is not 5"
ok "list --json and count"

# suppression: removed and then re-imported stays unsubscribed
expect_rc 0 bs subscribers remove Bob@Example.org
expect_rc 65 bs subscribers remove nobody@example.org
printf 'email,name\nbob@example.org,Bob\nivy@example.org,Ivy\n' > "$T/again.csv"
expect_rc 0 bs subscribers import "$T/again.csv"
grep -q "1 added" "$T/out" && grep -q "1 kept suppressed" "$T/out" || { cat "$T/out"; fail "suppression summary"; }
bs subscribers list | grep -q "^bob@example.org.*unsubscribed$" || fail "bob re-activated by import"
expect_rc 0 bs subscribers add bob@example.org Bob
grep -q suppressed "$T/out" || fail "add re-activated bob"
[ "$(bs subscribers count)" = 5 ] || fail "count after remove/import"
ok "unsubscribed addresses stay suppressed"

# stdin, and a missing file
printf 'email\njane@example.org\n' | bs subscribers import - >/dev/null || fail "import from stdin"
expect_rc 66 bs subscribers import "$T/nope.csv"
printf 'name\nx\n' > "$T/noemail.csv"
expect_rc 65 bs subscribers import "$T/noemail.csv"
grep -q "email" "$T/err" || fail "missing email column not explained"
ok "stdin, missing file (66), missing column (65)"

# usage and unreachable daemon
expect_rc 64 bs subscribers add
expect_rc 64 bs frobnicate
stop_daemon
expect_rc 69 bs subscribers count
grep -q "cannot reach broadsided" "$T/err" || fail "69 without a clear line"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "more than one line for 69"
ok "usage 64, daemon down 69"

# the data survived the restart
start_daemon
[ "$(bs subscribers count)" = 6 ] || fail "count after restart"
ok "store persists"
