# pause, resume and cancel from any node act on every node within a
# second (issue 13): two broadsided nodes share a broadcast on
# PostgreSQL; node b pauses it and neither node sends after 1 s; node a
# resumes it and both send again; node b cancels it and neither sends
# after 1 s.  Each node looks at what the others changed every 0.4 s
# (from its writer thread), so the bound holds with about 0.5 s to spare.
# tests/run: alone (it bounds pause and cancel act within 1 s)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=4000
pg_nodes bs_ctl "a b"

# both nodes sending: each one's count rows grow
both_send() {
	a0=$(sent_by a); b0=$(sent_by b)
	i=0
	until [ "$(sent_by a)" -gt "$a0" ] && [ "$(sent_by b)" -gt "$b0" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "$1: not both nodes sending"
		sleep 0.1
	done
}
# after verb on node n (answered once stored), nothing more reaches the
# server 1 s on
stops_within_1s() {
	bsn "$1" "$2" "$ID" >/dev/null || fail "$2 on node $1"
	sleep 1
	c1=$(accepted)
	sleep 2
	c2=$(accepted)
	[ "$c1" = "$c2" ] || { tail -n 3 "$T/a.log" "$T/b.log"; fail "$2 on node $1: still sending after 1 s ($c1, then $c2)"; }
}

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
node_send a
both_send "send on a"
ok "a broadcast sent on node a: both nodes send"

stops_within_1s b pause
ok "paused on node b: neither node sends 1 s on ($(accepted) messages)"
grep -q "broadcast $ID: paused on another node" "$T/a.log" || fail "node a did not log the pause"

bsn a resume "$ID" >/dev/null || fail "resume on a"
both_send "resume on a"
ok "resumed on node a: both nodes send again"

stops_within_1s b cancel
[ "$(bsn a status "$ID" --json | json_get 'j["state"]')" = cancelled ] || fail "not cancelled"
ok "cancelled on node b: neither node sends 1 s on ($(accepted) of $N messages)"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
assert r['duplicates'] == 0, r['duplicates']" || fail "duplicates"
left=$(pg_sql bs_ctl "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND owner IS NOT NULL")
[ "$left" = 0 ] || fail "$left rows still claimed"
ok "no duplicate, nothing left claimed"
stop_nodes "a b"
ok "both nodes stop on SIGTERM with 0"
