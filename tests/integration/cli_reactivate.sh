# `broadside subscribers reactivate ADDR | --bounced-by ID` undoes bounces:
# three subscribers are bounced by a real broadcast (550 5.1.1 to RCPT,
# one domain, so a recipient fault), one is reactivated by address, the
# rest by --bounced-by; only the broadcast that bounced them counts; an
# unsubscribed address is refused (65, one line), as are unknown ones.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };"
start_daemon

{
	echo email,name
	for i in 1 2 3 4 5; do echo "ok$i@example.org,Reader $i"; done
	for x in a b c; do echo "rcpt550-$x@example.org,Gone $x"; done
	echo "left@example.org,Left"
} > "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
expect_rc 0 bs subscribers remove left@example.org

# status of ADDR in `subscribers list --json`
status_of() {
	bs subscribers list --json | json_get "{s['email']: s['status'] for s in j}['$1']"
}
statuses() {
	bs subscribers list --json |
	    json_get "' '.join('%s=%s' % (s['email'].split('@')[0], s['status']) for s in j)"
}

send_wait() {
	bs send --wait "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 75 ] || { cat "$T/out" "$T/err"; fail "send --wait with 3 bounces: exit $rc, want 75"; }
	ID=$(head -n 1 "$T/out")
}
send_wait
B1=$ID
[ "$(statuses)" = "ok1=active ok2=active ok3=active ok4=active ok5=active rcpt550-a=bounced rcpt550-b=bounced rcpt550-c=bounced left=unsubscribed" ] ||
    fail "after broadcast $B1: $(statuses)"
ok "broadcast $B1 bounced the three 550 5.1.1 recipients"

expect_rc 0 bs subscribers reactivate RCPT550-A@example.org
grep -qx "rcpt550-a@example.org: 1 reactivated" "$T/out" || fail "reactivate ADDR said: $(cat "$T/out")"
[ "$(status_of rcpt550-a@example.org)" = active ] || fail "a not active: $(statuses)"
[ "$(status_of rcpt550-b@example.org)" = bounced ] || fail "b touched: $(statuses)"
ok "reactivate ADDR: that one, and only it"

# a second broadcast bounces a again (b and c are still bounced, so
# they get nothing): --bounced-by the first must leave a alone now
send_wait
B2=$ID
[ "$(status_of rcpt550-a@example.org)" = bounced ] || fail "a not bounced by $B2: $(statuses)"
expect_rc 0 bs subscribers reactivate --bounced-by "$B1"
grep -qx "broadcast $B1: 2 reactivated" "$T/out" || fail "--bounced-by $B1 said: $(cat "$T/out")"
[ "$(statuses)" = "ok1=active ok2=active ok3=active ok4=active ok5=active rcpt550-a=bounced rcpt550-b=active rcpt550-c=active left=unsubscribed" ] ||
    fail "after --bounced-by $B1: $(statuses)"
expect_rc 0 bs subscribers reactivate --bounced-by "$B2"
grep -qx "broadcast $B2: 1 reactivated" "$T/out" || fail "--bounced-by $B2 said: $(cat "$T/out")"
expect_rc 0 bs subscribers reactivate --bounced-by "$B1"
grep -qx "broadcast $B1: 0 reactivated" "$T/out" || fail "again: $(cat "$T/out")"
ok "reactivate --bounced-by ID: the ones that broadcast bounced, counted"

# refused: unsubscribed, unknown address, unknown broadcast, bad address
expect_rc 65 bs subscribers reactivate left@example.org
[ "$(wc -l < "$T/err")" -eq 1 ] && grep -q "left@example.org.*unsubscribed" "$T/err" ||
    fail "unsubscribed: $(cat "$T/err")"
[ "$(status_of left@example.org)" = unsubscribed ] || fail "left re-activated: $(statuses)"
expect_rc 65 bs subscribers reactivate nobody@example.org
grep -q "nobody@example.org" "$T/err" || fail "unknown address: $(cat "$T/err")"
expect_rc 65 bs subscribers reactivate --bounced-by 999
grep -q "999" "$T/err" || fail "unknown broadcast: $(cat "$T/err")"
expect_rc 65 bs subscribers reactivate not-an-address
expect_rc 64 bs subscribers reactivate --bounced-by x
expect_rc 0 bs subscribers reactivate ok1@example.org
grep -qx "ok1@example.org: 0 reactivated (it was not bounced)" "$T/out" || fail "active: $(cat "$T/out")"
[ "$(statuses)" = "ok1=active ok2=active ok3=active ok4=active ok5=active rcpt550-a=active rcpt550-b=active rcpt550-c=active left=unsubscribed" ] ||
    fail "at the end: $(statuses)"
[ "$(bs subscribers count)" = 8 ] || fail "count: $(bs subscribers count --json)"
ok "unsubscribed refused (65, one line), unknown address or broadcast 65, active left as is"
stop_daemon
