# Restarts by SIGTERM (issue 13): two broadsided nodes share a broadcast
# of 2,000 on PostgreSQL and a random one of them is stopped with
# SIGTERM every 1-2 s, five times, and started again under its name.  A
# node stopping so finishes and records what it has in flight and gives
# back the rest, and keeps its heartbeat while it does, so nobody gets
# a message twice: no duplicates at all, every row sent once, nothing
# left claimed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=2000
STOPS=5
NODE_RATE="rate: { messages_per_second = 120.0; burst = 10; batch_size = 50; };"
pg_nodes bs_term "a b"

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 50 300

k=0
while [ $k -lt $STOPS ]; do
	sleep "$("$PY" -c 'import random; print(round(random.uniform(1, 2), 2))')"
	[ "$(bc_state)" = done ] && fail "done after $k stops: too soon to tell"
	n=$("$PY" -c 'import random; print(random.choice("ab"))')
	stop_node "$n"
	k=$((k + 1))
	start_node "$n"
done
ok "$STOPS stops by SIGTERM, each node started again; $(accepted) messages so far"

wait_done a 1200
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
assert len(r['per_rcpt']) == $N, '%d subscribers got nothing' % ($N - len(r['per_rcpt']))
assert r['accepted'] == $N and r['duplicates'] == 0, (r['accepted'], r['duplicates'])" ||
    fail "after the stops"
rows=$(pg_sql bs_term "SELECT count(*) FILTER (WHERE state = 1 AND attempts = 1) || ' ' ||
    count(*) FILTER (WHERE owner IS NOT NULL) FROM deliveries WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "sent once / still claimed: $rows, want $N 0"
ok "done: $N messages, no duplicate, nothing left claimed"
stop_nodes "a b"
