# `broadside resend ID [--failed] [--deferred]` (issue 12 §5): a new
# broadcast of ID's statement to those of its recipients whose delivery
# failed and/or is still deferred and who are still active.  One
# broadcast to 15 (connections = 1, so they go in file order): 8 good,
# 3 "554 5.6.0" after DATA (failed, still active), 3 "451 4.3.0" to RCPT
# (deferred, next try in an hour), one "550 5.1.1" (failed and bounced);
# then one of the failed and one of the deferred unsubscribe.
#  - while the original is sending (its deferred ones wait an hour) or
#    paused, resend is refused with exit 65 and the reason; an unknown
#    ID too (as `status ID`)
#  - cancelled: --failed reaches exactly the 2 failed ones still active,
#    --deferred the 2 deferred ones, no flag all 4 (the server's RCPT
#    lines after each resend, and each resend's total); nobody sent,
#    unsubscribed or bounced
#  - status --json: resent_from on each resend, resent_as (the newest)
#    on the original; a resend with nobody left is refused (65)
#  - the feed keeps one item: a resend is not published again
# With RESEND_PG=1 (store_pg_resend.sh) the same on a throwaway
# PostgreSQL 15 (tests/pg.sh).
. "$(dirname "$0")/../lib.sh"
if [ "${RESEND_PG:-}" = 1 ]; then
	. "$TOP/tests/pg.sh"
	pg_start
	pg_createdb bs_resend
fi

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 1; timeout = 5; };
retry: { max_attempts = 5; initial_delay = 3600; max_delay = 3600; };"
if [ "${RESEND_PG:-}" = 1 ]; then
	URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_resend"
	sed -i "s|^storage: .*|storage: { url = \"$URL\"; password_file = \"state/pg.pw\"; };|" \
	    "$T/broadside.conf"
	grep -q "url = \"$URL\"" "$T/broadside.conf" || fail "config not rewritten"
	( umask 077; echo "$PG_PASSWORD" > "$T/state/pg.pw" )
fi
start_daemon
if [ "${RESEND_PG:-}" = 1 ]; then
	grep -q "store=$URL" "$T/daemon.log" || { cat "$T/daemon.log"; fail "not on PostgreSQL"; }
fi

cat >"$T/subs.csv" <<'CSV'
email,name
good1@d0.example,Good 1
msg554-f1@d1.example,Failed 1
good2@d1.example,Good 2
rcpt451-e1@d2.example,Deferred 1
good3@d2.example,Good 3
msg554-f2@d3.example,Failed 2
good4@d3.example,Good 4
rcpt451-e2@d4.example,Deferred 2
good5@d4.example,Good 5
msg554-f3@d0.example,Failed 3
good6@d0.example,Good 6
rcpt451-e3@d1.example,Deferred 3
good7@d1.example,Good 7
rcpt511-x@d2.example,Bounced
good8@d2.example,Good 8
CSV
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_bc "$ID" 300 'j["pending"] == 0 and j["sent"] == 8' ||
    { diag "$ID"; fail "broadcast $ID did not reach everyone once in 30 s"; }
json_get '(j["state"], j["failed"], j["deferred"]) == ("sending", 4, 3) or sys.exit(1)' \
    <"$T/status.json" >/dev/null ||
    { diag "$ID"; fail "original: $(cat "$T/status.json")"; }
ok "original: 8 sent, 4 failed, 3 deferred, still sending"

# refusals: sending, paused, unknown
expect_rc 65 bs resend "$ID"
grep -q "broadcast $ID is sending" "$T/err" || fail "resend while sending: $(cat "$T/err")"
expect_rc 0 bs pause "$ID"
expect_rc 65 bs resend "$ID" --failed
grep -q "broadcast $ID is paused" "$T/err" || fail "resend while paused: $(cat "$T/err")"
expect_rc 65 bs resend 999
grep -q "999: no such broadcast" "$T/err" || fail "resend 999: $(cat "$T/err")"
expect_rc 64 bs resend
expect_rc 64 bs resend x1
bs status "$ID" --json |
    json_get '(j["resent_as"], j["resent_from"]) == (None, None) or sys.exit(1)' \
    >/dev/null || fail "refused resends left a trace"
[ "$(bs status --json | json_get 'len(j)')" = 1 ] || fail "refused resends stored a broadcast"
ok "refused with 65 and the reason while sending or paused, and for an unknown ID"

expect_rc 0 bs cancel "$ID"
expect_rc 0 bs subscribers remove msg554-f3@d0.example
expect_rc 0 bs subscribers remove rcpt451-e3@d1.example

# resend_check OPTS WANT_TOTAL WANT_RCPTS COND: resend ID with OPTS, wait
# until COND holds on its status, then compare the addresses the server
# was asked for since (sorted, space separated) with WANT_RCPTS; sets RE
resend_check() {
	_from=$(wc -l <"$T/mail/log.jsonl")
	bs resend "$ID" $1 >"$T/out" 2>"$T/err" ||
	    { cat "$T/err"; fail "resend $ID $1: exit $?"; }
	RE=$(head -n 1 "$T/out")
	[ "$RE" -gt "$ID" ] 2>/dev/null || fail "resend $1 printed '$RE'"
	wait_bc "$RE" 300 "j['total'] == $2 and j['pending'] == 0 and ($4)" ||
	    { diag "$RE"; fail "resend $1 ($RE): $(cat "$T/status.json")"; }
	json_get "j['resent_from'] == $ID or sys.exit(1)" <"$T/status.json" \
	    >/dev/null || fail "resend $1: resent_from: $(cat "$T/status.json")"
	got=$(tail -n +"$((_from + 1))" "$T/mail/log.jsonl" | "$PY" -c '
import json, sys
print(" ".join(sorted(r["rcpt"] for r in map(json.loads, sys.stdin)
                      if r["ev"] == "rcpt")))')
	[ "$got" = "$3" ] || { diag "$RE"; fail "resend $1 reached '$got', want '$3'"; }
}

resend_check --failed 2 "msg554-f1@d1.example msg554-f2@d3.example" \
    'j["state"] == "done" and j["failed"] == 2'
R1=$RE
ok "resend --failed ($R1): the 2 failed ones still active, nobody else"
# R1 is done, and none of its deliveries was deferred
expect_rc 65 bs resend "$R1" --deferred
grep -q "no active subscriber left" "$T/err" || fail "empty resend: $(cat "$T/err")"
ok "a resend with nobody left is refused"

resend_check --deferred 2 "rcpt451-e1@d2.example rcpt451-e2@d4.example" \
    'j["deferred"] == 2'
R2=$RE
expect_rc 0 bs cancel "$R2"
ok "resend --deferred ($R2): the 2 deferred ones still active"

resend_check "" 4 "msg554-f1@d1.example msg554-f2@d3.example rcpt451-e1@d2.example rcpt451-e2@d4.example" \
    'j["failed"] == 2 and j["deferred"] == 2'
R3=$RE
ok "resend ($R3), no flag: failed and deferred, 4"

bs status "$ID" --json | json_get "(j['resent_as'], j['resent_from'], j['state']) == ($R3, None, 'cancelled') or sys.exit(1)" \
    >/dev/null || fail "original: $(bs status "$ID" --json)"
bs status --json | json_get "sorted(b['id'] for b in j if b['resent_from'] == $ID) == [$R1, $R2, $R3] or sys.exit(1)" \
    >/dev/null || fail "status --json: $(bs status --json)"
bs status | grep -A1 "^$R3 " | tail -n 1 | grep -q "^ *resend of broadcast $ID\$" ||
    fail "status: no 'resend of' line under $R3: $(bs status)"
ok "status --json: resent_from on each, resent_as ($R3) on the original; status: 'resend of broadcast $ID'"

# a done broadcast (the deferred ones unsubscribed: nobody left to
# wait for) is in the feed once, its resend not again
expect_rc 0 bs cancel "$R3"
expect_rc 0 bs subscribers remove rcpt451-e1@d2.example
expect_rc 0 bs subscribers remove rcpt451-e2@d4.example
[ "$(bs feed | grep -c "<item>")" = 0 ] || fail "feed: the cancelled original is in it"
bs send "$TOP/tests/fixtures/statement-header.txt" >"$T/out" || fail "send 2"
ID=$(head -n 1 "$T/out")
wait_bc "$ID" 300 'j["state"] == "done"' || { diag "$ID"; fail "second broadcast not done"; }
json_get '(j["sent"], j["failed"]) == (8, 2) or sys.exit(1)' <"$T/status.json" \
    >/dev/null || fail "second broadcast: $(cat "$T/status.json")"
[ "$(bs feed | grep -c "<item>")" = 1 ] || fail "feed: want the done broadcast's item"
resend_check "" 2 "msg554-f1@d1.example msg554-f2@d3.example" 'j["state"] == "done"'
[ "$(bs feed | grep -c "<item>")" = 1 ] || fail "feed: the resend $RE is published again"
ok "resend of a done broadcast ($RE); the feed keeps one item"
stop_daemon
