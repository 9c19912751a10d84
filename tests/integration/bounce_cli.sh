# bounce_cli.sh -- returned messages through `broadside bounce` (issue 12
# part 2), with the daemon's own tokens: with a bounce section every
# broadcast message leaves with MAIL FROM b-<token>@bounces.example.org
# (test sends keep the list's address); a hard DSN for one recipient
# bounces exactly that subscriber, once however often it comes; a soft one
# is counted and bounces at the third broadcast; a delay notice, garbage,
# an auto-reply, a forged or altered token and more than 1 MiB change
# nothing (exit 0, so the MTA drops them); an ARF complaint unsubscribes,
# known by the returned Message-ID, or by the List-Unsubscribe token
# alone, never by a forged Message-ID; status --json, status and /metrics
# count bounces and complaints per broadcast; with the daemon stopped the
# command exits 75 and nothing is lost: the same DSN is applied once the
# daemon is back; a reload that drops the section gives the next messages
# list.from's address again.
. "$(dirname "$0")/../lib.sh"

BM="$PY $TOP/tests/py/bounce_mail.py"
HTTP_PORT=$(free_port)
start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 1; timeout = 10; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };
bounce: { domain = \"Bounces.Example.ORG\"; };"
start_daemon

cat > "$T/subs.csv" <<'CSV'
email,name
hard@example.net,Hard Bounce
soft@example.net,Soft Bounce
arf@example.net,Complainer
lu@example.net,Redacted Complainer
keep@example.net,Keeps Reading
late@example.net,Joins Late
CSV
expect_rc 0 bs subscribers import "$T/subs.csv"
expect_rc 0 bs subscribers remove late@example.net

expect_rc 0 bs send "$TOP/tests/fixtures/statement-plain.txt" --test tester@example.net
expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"
ID1=$(head -n 1 "$T/out")
$BM sent "$T/mail" > "$T/sent" || fail "reading the server's log"

# --- the envelope senders
"$PY" - "$T/sent" "$ID1" <<'PYEOF' || fail "envelope senders"
import re, sys
rows = [l.split() for l in open(sys.argv[1])]
bid = int(sys.argv[2])
test = [r for r in rows if r[0] == "tester@example.net"]
assert len(test) == 1 and test[0][2] == "list@example.org", test
bc = [r for r in rows if r[0] != "tester@example.net"]
assert len(bc) == 5, rows
senders = set()
for rcpt, b, sender, f in bc:
    m = re.match(r"^b-([a-z2-7]{39})@bounces\.example\.org$", sender)
    assert m, sender
    assert len(sender.split("@")[0]) < 64
    assert int(b) == bid, (b, bid)
    assert rcpt.split("@")[0] not in sender, sender  # the address never shows
    senders.add(sender)
assert len(senders) == 5, senders
PYEOF
ok "MAIL FROM is b-<39 base32>@bounces.example.org, one per recipient; --test keeps list@example.org"

# verp RCPT BID: the envelope sender of RCPT's message of broadcast BID
verp() { awk -v r="$1" -v b="$2" '$1 == r && $2 == b { print $3 }' "$T/sent"; }
# orig RCPT BID: the message as the server saved it
orig() { echo "$T/mail/$(awk -v r="$1" -v b="$2" '$1 == r && $2 == b { print $4 }' "$T/sent")"; }
# status_of ADDR: the subscriber's status
status_of() {
	bs subscribers list --json | json_get "[s['status'] for s in j if s['email'] == '$1'][0]"
}
# bounce RC [RECIPIENT] < message: broadside bounce exits RC
bounce() {
	want=$1; shift
	"$BROADSIDE" -c "$T/broadside.conf" bounce "$@" >"$T/b.out" 2>"$T/b.err"
	got=$?
	[ "$got" -eq "$want" ] || { cat "$T/b.out" "$T/b.err" >&2; fail "bounce $* exited $got, want $want"; }
}
bc_field() { bs status "$1" --json | json_get "j['$2']"; }

# --- a hard bounce: exactly that subscriber, once
HARD=$(verp hard@example.net "$ID1")
[ -n "$HARD" ] || fail "no message to hard@example.net"
$BM dsn hard hard@example.net "$(orig hard@example.net "$ID1")" > "$T/hard.eml"
bounce 0 "$HARD" < "$T/hard.eml"
grep -q "^recorded: bounced (hard, broadcast $ID1, subscriber [0-9]*, via envelope)" "$T/b.out" ||
    fail "hard bounce: $(cat "$T/b.out")"
[ "$(status_of hard@example.net)" = bounced ] || fail "hard@ not bounced"
for a in soft arf lu keep; do
	[ "$(status_of $a@example.net)" = active ] || fail "$a@ touched by another's bounce"
done
bounce 0 "$HARD" < "$T/hard.eml"
grep -q "^duplicate: " "$T/b.out" || fail "the same DSN again: $(cat "$T/b.out")"
[ "$(bc_field "$ID1" bounced)" = 1 ] || fail "bounced count $(bc_field "$ID1" bounced), want 1"
ok "hard bounce: that subscriber bounced, counted once though it came twice"

# --- what changes nothing, exit 0 all the same
$BM dsn delayed soft@example.net "$(orig soft@example.net "$ID1")" > "$T/delayed.eml"
bounce 0 "$(verp soft@example.net "$ID1")" < "$T/delayed.eml"
grep -q "^ignored: a delay notice" "$T/b.out" || fail "delayed: $(cat "$T/b.out")"
printf 'hello\r\n\r\nthis is no report at all\r\n' | bounce 0 "$(verp soft@example.net "$ID1")"
grep -q "^ignored: " "$T/b.out" || fail "garbage: $(cat "$T/b.out")"
bounce 0 </dev/null
grep -q "^ignored: " "$T/b.out" || fail "empty input: $(cat "$T/b.out")"
$BM autoreply | bounce 0 "$(verp soft@example.net "$ID1")"
grep -q "^ignored: an auto-reply" "$T/b.out" || fail "auto-reply: $(cat "$T/b.out")"
SOFT1=$(verp soft@example.net "$ID1")
$BM dsn hard soft@example.net "$(orig soft@example.net "$ID1")" > "$T/soft-as-hard.eml"
# one character of the token changed; a token of another key; none at all
ALTERED=$(echo "$SOFT1" | awk '{ c = substr($0, 10, 1); n = (c == "a") ? "b" : "a"; print substr($0, 1, 9) n substr($0, 11) }')
[ "$ALTERED" != "$SOFT1" ] || fail "test bug: token not altered"
bounce 0 "$ALTERED" < "$T/soft-as-hard.eml"
grep -q "^ignored: forged or damaged envelope token" "$T/b.out" || fail "altered token: $(cat "$T/b.out")"
bounce 0 "b-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounces.example.org" < "$T/soft-as-hard.eml"
grep -q "^ignored: forged" "$T/b.out" || fail "made-up token: $(cat "$T/b.out")"
bounce 0 "b-short@bounces.example.org" < "$T/soft-as-hard.eml"
grep -q "^ignored: forged" "$T/b.out" || fail "short token: $(cat "$T/b.out")"
# more than 1 MiB: read to the end (the MTA's write must not fail), ignored
"$PY" -c 'import sys; sys.stdout.write("X" * (1536 * 1024))' > "$T/big.eml"
cat "$T/soft-as-hard.eml" >> "$T/big.eml"
bounce 0 "$SOFT1" < "$T/big.eml"
grep -q "^ignored: over 1 MiB" "$T/b.out" || fail "big: $(cat "$T/b.out")"
"$PY" -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read())' "$T/big.eml" |
    "$BROADSIDE" -c "$T/broadside.conf" bounce "$SOFT1" >/dev/null 2>&1 ||
    fail "big input through a pipe"
[ "$(status_of soft@example.net)" = active ] || fail "soft@ changed by something ignored"
[ "$(bc_field "$ID1" bounced)" = 1 ] || fail "bounced count moved by something ignored"
ok "delay notice, garbage, empty input, auto-reply, altered, made-up and short tokens, 1.5 MB: exit 0, nothing changed"

# --- soft bounces: counted, bounced at the third broadcast
$BM dsn soft soft@example.net "$(orig soft@example.net "$ID1")" > "$T/soft1.eml"
bounce 0 "$SOFT1" < "$T/soft1.eml"
grep -q "^recorded: counted: 1 of 3 broadcasts (soft" "$T/b.out" || fail "soft 1: $(cat "$T/b.out")"
bounce 0 "$SOFT1" < "$T/soft1.eml"
grep -q "^duplicate: " "$T/b.out" || fail "soft 1 again: $(cat "$T/b.out")"
expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"
ID2=$(head -n 1 "$T/out")
expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"
ID3=$(head -n 1 "$T/out")
$BM sent "$T/mail" > "$T/sent"
[ -z "$(verp hard@example.net "$ID2")" ] || fail "a bounced subscriber got the next broadcast"
$BM dsn soft soft@example.net "$(orig soft@example.net "$ID2")" |
    bounce 0 "$(verp soft@example.net "$ID2")"
grep -q "^recorded: counted: 2 of 3" "$T/b.out" || fail "soft 2: $(cat "$T/b.out")"
[ "$(status_of soft@example.net)" = active ] || fail "soft@ bounced after 2 broadcasts"
$BM dsn soft soft@example.net "$(orig soft@example.net "$ID3")" |
    bounce 0 "$(verp soft@example.net "$ID3")"
grep -q "^recorded: bounced (soft, broadcast $ID3" "$T/b.out" || fail "soft 3: $(cat "$T/b.out")"
[ "$(status_of soft@example.net)" = bounced ] || fail "soft@ not bounced after 3 broadcasts"
[ "$(bc_field "$ID3" bounced)" = 1 ] || fail "broadcast $ID3 bounced count"
ok "soft bounces: counted once per broadcast, bounced at the third"

# --- complaints (ARF): by Message-ID, by List-Unsubscribe token, never forged
$BM arf "$(orig arf@example.net "$ID1")" --forge-message-id --no-unsubscribe > "$T/arf-forged.eml"
bounce 0 < "$T/arf-forged.eml"
grep -q "^ignored: " "$T/b.out" || fail "forged Message-ID: $(cat "$T/b.out")"
[ "$(status_of arf@example.net)" = active ] || fail "a forged Message-ID unsubscribed arf@"
$BM arf "$(orig arf@example.net "$ID1")" > "$T/arf.eml"
bounce 0 fbl@example.org < "$T/arf.eml"
grep -q "^recorded: unsubscribed (complaint, broadcast $ID1, subscriber [0-9]*, via message-id)" "$T/b.out" ||
    fail "complaint: $(cat "$T/b.out")"
[ "$(status_of arf@example.net)" = unsubscribed ] || fail "arf@ not unsubscribed"
bounce 0 < "$T/arf.eml"
grep -q "^duplicate: " "$T/b.out" || fail "complaint again: $(cat "$T/b.out")"
[ "$(bc_field "$ID1" complained)" = 1 ] || fail "complained $(bc_field "$ID1" complained), want 1"
# hard@ and soft@ bounced from it; arf@'s complaint is no bounce
[ "$(bc_field "$ID1" bounced)" = 2 ] || fail "a complaint counted as a bounce"
$BM arf "$(orig lu@example.net "$ID2")" --no-message-id > "$T/arf-lu.eml"
bounce 0 < "$T/arf-lu.eml"
grep -q "^recorded: unsubscribed (complaint, broadcast 0, subscriber [0-9]*, via list-unsubscribe)" "$T/b.out" ||
    fail "complaint by List-Unsubscribe: $(cat "$T/b.out")"
[ "$(status_of lu@example.net)" = unsubscribed ] || fail "lu@ not unsubscribed"
[ "$(status_of keep@example.net)" = active ] || fail "keep@ touched"
ok "complaints: unsubscribed by Message-ID or List-Unsubscribe token, once; a forged Message-ID ignored"

# --- what status and /metrics show
bs status "$ID1" > "$T/status.txt"
head -n 1 "$T/status.txt" | grep -q "BOUNCED *COMPLAINED" || fail "status header: $(cat "$T/status.txt")"
awk -v id="$ID1" '$1 == id { exit !($8 == 2 && $9 == 1) }' "$T/status.txt" ||
    fail "status row: $(cat "$T/status.txt")"
"$PY" - "$HTTP_PORT" "$ID1" "$ID3" <<'PYEOF' || fail "/metrics"
import sys, urllib.request
port, id1, id3 = sys.argv[1:]
m = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port).read().decode()
want = [
    'broadside_bounces_total{result="hard"} 1',
    'broadside_bounces_total{result="soft"} 3',
    'broadside_bounces_total{result="complaint"} 2',
    'broadside_bounces_total{result="duplicate"} 3',
    'broadside_broadcast_bounced_total{broadcast="%s"} 2' % id1,
    'broadside_broadcast_bounced_total{broadcast="%s"} 1' % id3,
    'broadside_broadcast_complaints_total{broadcast="%s"} 1' % id1,
    '# TYPE broadside_broadcast_bounced_total counter',
]
lines = m.splitlines()
for w in want:
    assert w in lines, (w, [l for l in lines if "bounce" in l or "compl" in l])
ign = [l for l in lines if l.startswith('broadside_bounces_total{result="ignored"}')]
assert ign and int(ign[0].split()[1]) >= 4, ign
PYEOF
ok "status text, status --json and /metrics count bounces and complaints per broadcast"

# --- the daemon stopped: 75, nothing lost
$BM dsn hard keep@example.net "$(orig keep@example.net "$ID2")" > "$T/keep.eml"
KEEPV=$(verp keep@example.net "$ID2")
stop_daemon
bounce 75 "$KEEPV" < "$T/keep.eml"
grep -q "cannot reach broadsided" "$T/b.err" || fail "no reason on stderr: $(cat "$T/b.err")"
start_daemon
[ "$(status_of keep@example.net)" = active ] || fail "keep@ changed while the daemon was down"
bounce 0 "$KEEPV" < "$T/keep.eml"
grep -q "^recorded: bounced" "$T/b.out" || fail "after restart: $(cat "$T/b.out")"
[ "$(status_of keep@example.net)" = bounced ] || fail "keep@ not bounced after the retry"
ok "daemon down: exit 75; the retry after it started is applied"

# --- a reload without the section: the next messages carry list.from's
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 1; timeout = 10; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
expect_rc 0 bs reload
expect_rc 0 bs subscribers add new1@example.net
expect_rc 0 bs subscribers add new2@example.net
expect_rc 0 bs subscribers add stop@example.net
expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"
ID4=$(head -n 1 "$T/out")
"$PY" "$TOP/tests/py/bounce_mail.py" sent "$T/mail" > "$T/sent"
# the test send before, and the three new subscribers now
[ "$(awk '$2 == 0 && $3 == "list@example.org"' "$T/sent" | wc -l)" -eq 4 ] ||
    fail "after a reload without bounce: $(cat "$T/sent")"
[ "$(bc_field "$ID4" total)" = 3 ] || fail "broadcast $ID4 total $(bc_field "$ID4" total), want 3"
ok "a reload without the bounce section: MAIL FROM is list.from's again"

# --- a bounce stops what is still to go to them: broadcast 5 at 0.2
# messages/s (stop@ is third: 10 s away) is paused at once; a hard DSN
# for stop@'s message of broadcast 4, known by its Message-ID alone (no
# envelope token now), bounces them; resumed, broadcast 5 drops them
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 1; timeout = 10; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };
rate: { messages_per_second = 0.2; burst = 1; };"
expect_rc 0 bs reload
expect_rc 0 bs subscribers add last@example.net
expect_rc 0 bs send "$TOP/tests/fixtures/statement-plain.txt"
ID5=$(head -n 1 "$T/out")
expect_rc 0 bs pause "$ID5"
STOPMSG=$T/mail/$(awk '$1 == "stop@example.net" { print $4 }' "$T/sent")
$BM dsn hard stop@example.net "$STOPMSG" | bounce 0
grep -q "^recorded: bounced (hard, broadcast $ID4, subscriber [0-9]*, via message-id)" "$T/b.out" ||
    fail "hard bounce by Message-ID: $(cat "$T/b.out")"
expect_rc 0 bs resume "$ID5"
expect_rc 0 bs status "$ID5" --watch
"$PY" "$TOP/tests/py/bounce_mail.py" sent "$T/mail" > "$T/sent"
[ "$(awk '$1 == "stop@example.net"' "$T/sent" | wc -l)" -eq 1 ] ||
    fail "stop@ got broadcast $ID5 after its bounce"
[ "$(awk '$1 == "last@example.net"' "$T/sent" | wc -l)" -eq 1 ] ||
    fail "last@ did not get broadcast $ID5"
[ "$(bc_field "$ID5" total)" = 3 ] && [ "$(bc_field "$ID5" sent)" = 3 ] ||
    fail "broadcast $ID5: total $(bc_field "$ID5" total), sent $(bc_field "$ID5" sent), want 3 and 3 (stop@ dropped)"
ok "a hard bounce known by Message-ID stops the subscriber's message still to go"

expect_rc 0 bs bounce --help
grep -q "exit 0\|Exit 0" "$T/out" || fail "bounce --help: $(cat "$T/out")"
grep -q "75" "$T/out" || fail "bounce --help says nothing of 75"
expect_rc 64 bs bounce a b
ok "bounce --help, usage"
stop_daemon
