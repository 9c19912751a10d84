# Two broadsided nodes share a broadcast on PostgreSQL and node a is
# SIGSTOPped for 15 s: its session, and with it the advisory lock on its
# name, stays, so only its heartbeat tells that it is gone.  Node b's
# claims must take a's claimed rows back within 12 s of the stop (a's
# heartbeat expires after STORE_BEAT_EXPIRY_MS, 8 s; b looks at least
# every 2 s) and go on sending.  Once continued, a must send nothing of
# what it had claimed (b has it now): it checks its heartbeat before
# each message, so it duplicates at most what it had in flight (one
# message per connection: 2).  Both finish; every subscriber served, no
# attempt spent twice, no row left claimed.
# tests/run: alone (it bounds claims taken back within 12 s)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=3000
pg_nodes bs_stop "a b"
trap 'kill -CONT ${PID_a:-0} 2>/dev/null; pg_stop; cleanup' EXIT

start_node a
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 50 300
start_node b
wait_accepted 150 300
# stop a while it holds claims (it claims 50 at a time)
i=0
while :; do
	kill -STOP "$PID_a"
	[ "$(claimed_by a)" -gt 0 ] && break
	kill -CONT "$PID_a"
	i=$((i + 1)); [ $i -lt 300 ] || fail "node a holds no claims"
	sleep 0.05
done
t0=$(now_ms)
held=$(claimed_by a)
before=$(accepted)
ok "node a stopped after $before messages, holding $held claims"

# b takes them back while a is stopped
until [ "$(claimed_by a)" = 0 ]; do
	[ $(($(now_ms) - t0)) -lt 12000 ] ||
	    { tail -n 5 "$T/b.log"; fail "a's $(claimed_by a) claims not taken back within 12 s of the stop"; }
	sleep 0.1
done
took=$(($(now_ms) - t0))
ok "node b took a's claims back $took ms after the stop"
while [ $(($(now_ms) - t0)) -lt 15000 ]; do sleep 0.1; done
[ "$(bsn b status "$ID" --json | json_get 'j["state"]')" = sending ] ||
    fail "the broadcast is over before a goes on: nothing to check a against"
kill -CONT "$PID_a"
ok "node a continued after 15 s"

wait_done b 1200
ok "the broadcast is done"
grep -q "heartbeat lapsed" "$T/a.log" || { cat "$T/a.log"; fail "node a did not see its heartbeat lapse"; }

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
print('duplicates', dup)
assert dup <= 2, '%d duplicates, more than node a had in flight (2)' % dup" ||
    fail "after the stop"
left=$(pg_sql bs_stop "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND (state <> 1 OR owner IS NOT NULL OR attempts > 1)")
[ "$left" = 0 ] || fail "$left rows not sent once, or still claimed"
shares=$(pg_sql bs_stop "SELECT string_agg(node || '=' || sent, ' ' ORDER BY node)
    FROM bc_counts WHERE broadcast_id = $ID")
ok "every subscriber served, no attempt spent twice, nothing left claimed ($shares)"
stop_nodes "a b"
ok "both nodes stop on SIGTERM with 0"
