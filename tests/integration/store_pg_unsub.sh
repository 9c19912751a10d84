# Unsubscribe mid-send acts on every node (issue 13): two broadsided
# nodes share a slow broadcast (20 msg/s for both, batch 50) on
# PostgreSQL; five subscribers that node b has claimed and not sent yet
# are removed through node a.  Node b looks every 0.4 s for claims of
# subscribers gone meanwhile and stops them as its own unsubscribe
# would: none of the five gets a message, everyone else gets one.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=300
RATE=20.0
# under memcheck the five removals and node b's look took longer than
# the 4.5 s (CI, 2026-12-06: all five were sent first): there 4 msg/s,
# the last five of b's claims 22 s away, and 100 subscribers
if under_memcheck; then N=100; RATE=4.0; fi
NODE_RATE="rate: { messages_per_second = $RATE; burst = 2; batch_size = 50; };"
pg_nodes bs_unsub "a b"

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
node_send a

# the last five of node b's claims: at 10 msg/s each (2), 4.5 s (22) away
i=0
until gone=$(pg_sql bs_unsub "SELECT string_agg(email, ' ') FROM (SELECT s.email
    FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
    WHERE d.broadcast_id = $ID AND d.state = 4 AND d.owner = 'node-b'
    ORDER BY d.subscriber_id DESC LIMIT 5) x HAVING count(*) = 5") && [ -n "$gone" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "node b claims nothing"
	sleep 0.05
done
# the five at once: one after another, under memcheck (a second or so
# each) node b had sent some of them first
pids=
for e in $gone; do
	bsn a subscribers remove "$e" >/dev/null & pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a remove of $gone failed"; done
ok "removed through node a, claimed by node b: $gone"

wait_done a 600
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
gone = '$gone'.split()
got = [g for g in gone if g in r['per_rcpt']]
assert not got, 'mail to removed subscribers: %s' % got
assert len(r['per_rcpt']) == $N - 5 and r['duplicates'] == 0, (len(r['per_rcpt']), r['duplicates'])" ||
    fail "after the removals"
grep -q "gone through another node: not sent" "$T/b.log" || fail "node b did not log them"
ok "none of the five got a message, everyone else one"
stop_nodes "a b"
