# Two broadsided nodes share a broadcast on PostgreSQL and node a is
# SIGKILLed in the middle: its session ends, and with it the advisory
# lock on its name, so node b's next claim takes a's claimed rows back
# (no attempt spent) instead of waiting an hour for their leases. b
# finishes alone: every subscriber served, duplicates no more than what
# a had in flight and not committed (3 x connections + batch_size), no
# row left claimed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=1200
pg_nodes bs_kill "a b"

start_node a
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 50 300
start_node b
# kill a while it holds claims (it claims 50 at a time, at 100/s): stop
# it first, so that nothing it holds is recorded between the look and
# the kill (on a loaded machine a look then a kill could miss them all)
# (counted while it is stopped: once it is dead, b's next claim may take
# them back before a look after the kill, and it did in a fresh-clone run)
i=0
while :; do
	kill -STOP "$PID_a"
	held=$(claimed_by a)
	[ "$held" -gt 0 ] && break
	kill -CONT "$PID_a"
	i=$((i + 1)); [ $i -lt 300 ] || fail "node a holds no claims"
	sleep 0.05
done
kill_node a
ok "node a killed after $(accepted) messages, holding $held claims"

wait_done b 1200
ok "node b finished the broadcast"
[ "$(claimed_by a)" = 0 ] || fail "node a's rows still claimed"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
assert dup <= 3 * 2 + 50, '%d duplicates' % dup
print('duplicates', dup)" || fail "after the kill"
left=$(pg_sql bs_kill "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND (state <> 1 OR owner IS NOT NULL OR attempts > 1)")
[ "$left" = 0 ] || fail "$left rows not sent once, or still claimed"
ok "every subscriber served, no attempt spent twice, nothing left claimed"
stop_node b
