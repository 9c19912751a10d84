# Issue 13 at its scale (make test-scale): one rate shared by nodes that
# come and go.  Three broadsided nodes on one PostgreSQL send one
# broadcast at rate.messages_per_second = 100 (the total on a shared
# store), burst 10; 10 s after the first message node c is SIGKILLed,
# 20 s after the first a fourth node d joins.  Over the first 30 s the server
# must see 100 msg/s within 1 % (2,970 to 3,030 messages), and no
# second of the server's clock above rate + burst (110), as
# store_pg_rate.sh counts them.  A killed node loses at most the slots
# it had reserved (rate x 0.1 s = 10, 0.3 %); the others' claims keep
# the rate meanwhile.  Measured here under load: 2,982 and 2,991 in
# 30 s (a margin of 18 of the 30 allowed), the busiest clock second
# 100 (10 under the bound); the busiest sliding second, printed but not
# asserted (jitter at the server alone moves it by a few), 101 and 107.
# tests/run: alone (it bounds the shared rate within 1 %)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
RATE=100
BURST=10
SECS=30
N=$(((SECS + 5) * RATE))
NODE_RATE="rate: { messages_per_second = $RATE.0; burst = $BURST; batch_size = 50; };"
pg_nodes bs_rjoin "a b c d"

for n in a b c; do start_node $n; done
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 1 300
first=$("$PY" -c '
import json, sys
print(min(e["t"] for e in map(json.loads, open(sys.argv[1])) if e["ev"] == "data"))' "$T/mail/log.jsonl")
at() {	# sleep until $1 s after the first message, by the server's clock
	"$PY" -c 'import sys, time; time.sleep(max(0, float(sys.argv[1]) + float(sys.argv[2]) - time.time()))' "$first" "$1"
}
at 10
kill_node c
ok "node c killed 10 s in ($(accepted) messages)"
at 20
start_node d
ok "node d joined 20 s in ($(accepted) messages)"
at 31
[ "$(bc_state)" = done ] && fail "the broadcast is over before 30 s: nothing to measure"

"$PY" - "$T/mail/log.jsonl" "$RATE" "$BURST" "$SECS" <<'PYEOF' || fail "rate"
import bisect, collections, json, sys
log, rate, burst, secs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ts = sorted(e["t"] for e in map(json.loads, open(log))
            if e["ev"] == "data" and e.get("code") == 250)
t0 = ts[0]
ts = [t for t in ts if t < t0 + secs]
measured = len(ts) / secs
sliding = max(bisect.bisect_left(ts, t + 1.0) - i for i, t in enumerate(ts))
per_second = collections.Counter(int(t) for t in ts)
busiest = max(per_second.values())
print("%d messages in the first %d s: %.2f msg/s (want %.0f +- 1%%); busiest clock second %d (limit %d), busiest sliding second %d"
      % (len(ts), secs, measured, rate, busiest, rate + burst, sliding))
assert abs(measured - rate) <= 0.01 * rate, measured
assert busiest <= rate + burst, busiest
PYEOF
ok "100 msg/s within 1 % over 30 s with a node killed and one joining; no second above rate + burst"
wait_done a 1200
shares=$(node_shares)
echo "shares: $shares"
case "$shares" in "node-a="[1-9]*" node-b="[1-9]*" node-c="[1-9]*" node-d="[1-9]*) ;; *) fail "not all four nodes sent: $shares";; esac
rows=$(pg_sql "$PGN_DB" "SELECT count(*) FILTER (WHERE state = 1) || ' ' ||
    count(*) FILTER (WHERE owner IS NOT NULL) FROM deliveries WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "sent / still claimed: $rows, want $N 0"
stop_nodes "a b d"
