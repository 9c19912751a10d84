# Ten kills (issue 13): two broadsided nodes share a broadcast of 3,000
# on PostgreSQL with retry.max_attempts = 5, and a random one of them is
# SIGKILLed every 1-2 s, ten times, and started again under its name.
# A killed node's claims come back (its advisory lock is gone; at its
# restart it releases what it held at once) without an attempt spent,
# so nobody is lost and no live recipient fails: every row sent with
# one attempt recorded.  Duplicates: at most what each killed node had
# in flight and not committed, 3 x connections + batch_size a kill.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=3000
KILLS=10
NODE_RATE="rate: { messages_per_second = 120.0; burst = 10; batch_size = 50; };"
NODE_EXTRA="retry: { max_attempts = 5; };"
pg_nodes bs_kills "a b"

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 50 300

k=0
while [ $k -lt $KILLS ]; do
	sleep "$("$PY" -c 'import random; print(round(random.uniform(1, 2), 2))')"
	[ "$(bc_state)" = done ] && fail "done after $k kills: too soon to tell"
	n=$("$PY" -c 'import random; print(random.choice("ab"))')
	kill_node "$n"
	k=$((k + 1))
	start_node "$n"
done
ok "$KILLS kills, each node started again; $(accepted) messages so far"

wait_done a 1200
ok "the broadcast is done"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
print('duplicates', dup, 'after $KILLS kills')
assert dup <= $KILLS * (3 * 2 + 50), '%d duplicates' % dup" || fail "after the kills"
rows=$(pg_sql bs_kills "SELECT count(*) FILTER (WHERE state = 1 AND attempts = 1) || ' ' ||
    count(*) FILTER (WHERE state = 3) || ' ' || max(attempts) || ' ' ||
    count(*) FILTER (WHERE owner IS NOT NULL) FROM deliveries WHERE broadcast_id = $ID")
[ "$rows" = "$N 0 1 0" ] ||
    fail "sent with one attempt / failed / most attempts / still claimed: $rows, want $N 0 1 0"
ok "nobody lost, nobody failed, one attempt each, nothing left claimed"
stop_nodes "a b"
