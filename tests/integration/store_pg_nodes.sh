# Two broadsided nodes (storage.node a and b) on one PostgreSQL database
# share one broadcast: node b, started once node a is sending, takes the
# broadcast from the store and claims rows of its own (FOR NO KEY UPDATE
# SKIP LOCKED). Every subscriber gets exactly one message (by recipient
# and Message-ID at the capturing server), both nodes' count rows show
# their share, nothing is left claimed, and status on either node shows
# the whole broadcast. Rate 100/s per node so that the two overlap.
# Each node's share: status --json's nodes ({node, sent, in_flight,
# last_seen}), plain status's "node" lines, and /metrics of either node
# while both send (broadside_node_messages, broadside_node_in_flight).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=1500
NODE_HTTP=1
pg_nodes bs_nodes "a b"

start_node a
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 50 300
start_node b
ok "node b started after $(accepted) messages"

# /metrics on node a shows both nodes' shares once both have sent
i=0
until "$PY" - "$HTTP_a" "$ID" <<'PYEOF'
import re, sys, urllib.request
port, bc = sys.argv[1], sys.argv[2]
m = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port).read().decode()
assert 'broadside_node{node="node-a"} 1' in m, "no node line"
sent = {k: int(v) for k, v in re.findall(
    r'broadside_node_messages\{broadcast="%s",node="([^"]+)"\} (\d+)' % bc, m)}
assert sent.get("node-a", 0) > 0 and sent.get("node-b", 0) > 0, sent
assert re.search(r'broadside_node_in_flight\{broadcast="%s",node="node-b"\} \d+' % bc, m)
assert re.search(r'broadside_node_last_seen_seconds\{broadcast="%s",node="node-a"\} \d+' % bc, m)
PYEOF
do
	i=$((i + 1)); [ $i -lt 100 ] || fail "/metrics of node a: no share of both nodes"
	sleep 0.2
done
ok "/metrics of node a shows both nodes' shares"

i=0
while :; do
	sa=$(bsn a status "$ID" --json | json_get 'j["state"]')
	sb=$(bsn b status "$ID" --json | json_get 'j["state"]')
	[ "$sa" = done ] && [ "$sb" = done ] && break
	i=$((i + 1)); [ $i -lt 1200 ] || { tail -n 20 "$T/a.log" "$T/b.log"; fail "not done on both nodes: a=$sa b=$sb"; }
	sleep 0.1
done
ok "done on both nodes"

for n in a b; do
	bsn $n status "$ID" --json | "$PY" -c "
import json, sys
s = json.load(sys.stdin)
got = (s['total'], s['sent'], s['pending'], s['deferred'], s['failed'])
assert got == ($N, $N, 0, 0, 0), got" || fail "status on node $n"
done
ok "status on either node shows the whole broadcast"

bsn b status "$ID" --json | "$PY" -c "
import json, sys, time
s = json.load(sys.stdin)
n = {x['node']: x for x in s['nodes']}
assert sorted(n) == ['node-a', 'node-b'], n
assert n['node-a']['sent'] > 0 and n['node-b']['sent'] > 0, n
assert n['node-a']['sent'] + n['node-b']['sent'] == $N, n
assert all(x['in_flight'] == 0 for x in n.values()), n
assert all(abs(time.time() - x['last_seen']) < 10 for x in n.values()), n" ||
    fail "status --json nodes"
bsn a status "$ID" > "$T/status.txt"
grep -Eq "node node-a: [1-9][0-9]* sent, 0 in flight, seen [0-9]+ s ago" "$T/status.txt" &&
    grep -Eq "node node-b: [1-9][0-9]* sent, 0 in flight" "$T/status.txt" ||
    { cat "$T/status.txt"; fail "plain status: no share per node"; }
ok "status --json's nodes and plain status show each node's share"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
assert r['accepted'] == $N, r['accepted']
assert r['duplicates'] == 0, r['duplicates']
assert len(r['per_rcpt']) == $N and all(v == 1 for v in r['per_rcpt'].values())" ||
    fail "the server did not get each subscriber once"
ok "$N messages, one per subscriber"

shares=$(node_shares)
echo "shares: $shares"
case "$shares" in "node-a="[1-9]*" node-b="[1-9]*) ;; *) fail "both nodes did not send: $shares";; esac
left=$(pg_sql bs_nodes "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND (state <> 1 OR owner IS NOT NULL)")
[ "$left" = 0 ] || fail "$left rows not sent or still claimed"
ok "both nodes sent a share, nothing left claimed"

stop_nodes "a b"
ok "both nodes stop on SIGTERM with 0"
