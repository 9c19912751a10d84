# Issue 13 at its scale (make test-scale): three broadsided nodes share
# a broadcast of 30,000 on PostgreSQL (400 msg/s for all, 2 connections
# each, batch 50, retry.max_attempts = 5) and a random node is SIGKILLed
# every 2-4 s, 12 times, and started again under its name.  Each kill
# first SIGSTOPs the node and notes the rows it holds then (owner and
# lease), so what it held is known exactly.
#  - Every other kill the node stays down until the others have taken
#    all those rows back (its session, and so its advisory lock, died
#    with it): within 12 s of the kill.
#  - The others are restarted at once: the rows it held are no longer
#    held under that lease within 1 s of the new node answering (it
#    gives back what its name held as it starts, or the others take
#    them).  Gone at the first look after it answers counts as at
#    once, however long the look (psql) takes on a loaded machine: the
#    node gave them back as it started.  Here: at the first look all
#    six times, 130-250 ms from the kill to its answer.  (Timed from
#    the answer instead, one psql look took up to 820 ms under load.)
#  - Nobody is lost or failed, every row sent with one attempt, nothing
#    left claimed; every recipient who got more than one message was
#    among the rows a killed node held (sent, result not yet committed),
#    and duplicates are at most 3 x connections + batch_size a kill.
# 30,000 at 400/s is 75 s at best; the kills take about 40 s, so the
# broadcast is still going when they end (checked).  Duplicates here:
# 3, 8 and 15 (of 672 allowed), all among the rows the kills caught
# held (680-770).  Taken back after a kill: 74-356 ms (bound 12 s).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=${SCALE_N:-30000}
KILLS=${SCALE_KILLS:-12}
CONNS=2
BATCH=50
NODE_SMTP="smtp: { url = \"smtp://127.0.0.1:PORT\"; connections = $CONNS; timeout = 10; };"
NODE_RATE="rate: { messages_per_second = 400.0; burst = 20; batch_size = $BATCH; };"
NODE_EXTRA="retry: { max_attempts = 5; };"
start_smtpd mail
NODE_SMTP=$(echo "$NODE_SMTP" | sed "s/PORT/$SMTP_PORT/")
pg_nodes bs_k30k "a b c"

for n in a b c; do start_node $n; done
make_subscribers "$N" "$T/subs.csv"
node_send a
wait_accepted 100 600
pg_sql "$PGN_DB" "CREATE TABLE test_held (k int, node text, subscriber_id bigint, lease bigint)" >/dev/null

held_now() {	# rows noted at kill $1 still held under the noted lease
	pg_sql "$PGN_DB" "SELECT count(*) FROM deliveries d JOIN test_held h
	    USING (subscriber_id, lease) WHERE h.k = $1 AND d.broadcast_id = $ID
	    AND d.state = 4 AND d.owner = h.node"
}

k=0 worst_kill=0 worst_restart=0
while [ $k -lt $KILLS ]; do
	sleep "$("$PY" -c 'import random; print(round(random.uniform(2, 4), 2))')"
	[ "$(bc_state)" = done ] && fail "done after $k kills: too soon to tell"
	n=$("$PY" -c 'import random; print(random.choice("abc"))')
	eval "kill -STOP \$PID_$n"
	held=$(pg_sql "$PGN_DB" "INSERT INTO test_held SELECT $k, owner, subscriber_id, lease
	    FROM deliveries WHERE broadcast_id = $ID AND state = 4 AND owner = 'node-$n'
	    RETURNING 1" | wc -l)
	kill_node "$n"
	t0=$(now_ms)
	if [ $((k % 2)) = 0 ]; then
		until [ "$(held_now $k)" = 0 ]; do
			[ $(($(now_ms) - t0)) -lt 12000 ] ||
			    fail "kill $k: node $n's $(held_now $k) rows not taken back within 12 s"
			sleep 0.05
		done
		took=$(($(now_ms) - t0))
		[ $took -gt $worst_kill ] && worst_kill=$took
		echo "kill $k: node $n held $held rows, taken back by the others after $took ms"
		start_node "$n"
	else
		start_node "$n"
		t1=$(now_ms)
		# gone at the first look after it answers: given back as it
		# started (a pass however long that look takes to run); else
		# within 1 s of the answer
		looks=0
		until [ "$(held_now $k)" = 0 ]; do
			looks=$((looks + 1))
			[ $(($(now_ms) - t1)) -lt 1000 ] ||
			    fail "kill $k: node $n's $(held_now $k) rows still held 1 s after its restart"
			sleep 0.05
		done
		took=0
		[ $looks = 0 ] || took=$(($(now_ms) - t1))
		[ $took -gt $worst_restart ] && worst_restart=$took
		if [ $looks = 0 ]; then
			echo "kill $k: node $n held $held rows, gone at the first look after it answered again ($((t1 - t0)) ms to restart)"
		else
			echo "kill $k: node $n held $held rows, gone $took ms after it answered again ($((t1 - t0)) ms to restart)"
		fi
	fi
	k=$((k + 1))
done
ok "$KILLS kills; taken back at worst $worst_kill ms after a kill (bound 12000), $worst_restart ms after a restart (bound 1000); $(accepted) messages so far"
[ "$(bc_state)" = done ] && fail "the broadcast ended with the kills: too soon to tell"

wait_done a 6000
ok "the broadcast is done"

pg_sql "$PGN_DB" "SELECT DISTINCT s.email FROM test_held h JOIN subscribers s ON s.id = h.subscriber_id" > "$T/held.txt"
"$PY" - "$T/mail/log.jsonl" "$N" "$T/held.txt" "$KILLS" "$CONNS" "$BATCH" <<'PYEOF' || fail "after the kills"
import collections, json, sys
log, n, held, kills, conns, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:])
per_rcpt = collections.Counter()
for e in map(json.loads, open(log)):
    if e["ev"] == "data" and e.get("code") == 250:
        for r in e["rcpt"]:
            per_rcpt[r] += 1
held = set(open(held).read().split())
assert len(per_rcpt) == n, "%d subscribers got nothing" % (n - len(per_rcpt))
dup = sum(c - 1 for c in per_rcpt.values())
outside = [r for r, c in per_rcpt.items() if c > 1 and r not in held]
limit = kills * (3 * conns + batch)
print("duplicates %d after %d kills (limit %d), %d rows held at the kills" % (dup, kills, limit, len(held)))
assert not outside, "duplicates of rows no killed node held: %s" % outside[:5]
assert dup <= limit, dup
PYEOF
rows=$(pg_sql "$PGN_DB" "SELECT count(*) FILTER (WHERE state = 1 AND attempts = 1) || ' ' ||
    count(*) FILTER (WHERE state = 3) || ' ' || max(attempts) || ' ' ||
    count(*) FILTER (WHERE owner IS NOT NULL) FROM deliveries WHERE broadcast_id = $ID")
[ "$rows" = "$N 0 1 0" ] ||
    fail "sent with one attempt / failed / most attempts / still claimed: $rows, want $N 0 1 0"
ok "nobody lost, nobody failed, one attempt each, nothing left claimed; duplicates only of what a killed node held"
stop_nodes "a b c"
