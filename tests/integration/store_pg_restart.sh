# PostgreSQL restarted in the middle of a broadcast that two nodes share
# (pg_ctl stop -m fast, then start 5 s later).  While the server is
# down each node shows the broadcast waiting for the store (/metrics)
# and says so in its log, once (the shared rate's reservations, every
# 10 ms, logged a line each before: 500 a node).
# The calls that meet the broken connections fail (the engine backs
# off as for any store fault), the next ones reconnect, and both nodes
# send again and finish: every subscriber served, duplicates within
# what was in flight and uncommitted (SPEC: at most 3 x connections +
# batch_size a node), no row left claimed.  A node's lock on its name
# died with the old server: the first of its handles to reconnect
# takes it again (before, the idle handle that had held it never came
# back, each node took the other's claims as a dead node's, and 1,000
# recipients got 4,900 messages).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=1000
NODE_HTTP=1
NODE_RATE="rate: { messages_per_second = 100.0; burst = 10; batch_size = 20; };"
pg_nodes bs_restart "a b"
PG_OPTS="-p $PG_PORT -k $PGT -c listen_addresses=127.0.0.1 -c fsync=off"

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
node_send a
wait_accepted 100 600
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" -m fast -w -t 60 \
    stop >"$T/restart.log" 2>&1 || { cat "$T/restart.log"; fail "pg_ctl stop"; }
got=$(accepted)
[ "$got" -lt $N ] || fail "the broadcast ended before the stop ($got sent)"
ok "PostgreSQL stopped after $got of $N messages"

# each node shows the broadcast waiting, for the store, while it is
# down: /metrics' broadside_broadcast_waiting with the reason (bound
# 10 s: the next claim, slot reservation or result meets the closed
# connection within 1 s; before, only a failed result did it, so a
# node with nothing to record showed sending: seen once, not forced here)
for n in a b; do
	eval "http=\$HTTP_$n"
	i=0
	until "$PY" - "$http" "$ID" > "$T/waiting.txt" 2>&1 <<'PYEOF'
import re, sys, urllib.request
port, bc = sys.argv[1], sys.argv[2]
m = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5).read().decode()
w = re.search(r'^broadside_broadcast_waiting\{broadcast="%s",reason="((?:[^"\\]|\\.)*)"\} 1$' % bc, m, re.M)
assert w and w.group(1).startswith("waiting for store: "), w and w.group(1)
print(w.group(1))
PYEOF
	do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$T/waiting.txt"; fail "node $n: not waiting for the store"; }
		sleep 0.1
	done
	echo "node $n: $(cut -c1-90 "$T/waiting.txt")"
done
ok "both nodes show the broadcast waiting for the store"

# and `broadside status` says so (before, it failed with the read's
# error): the counts as last read, marked stale, the state waiting with
# the store's reason; the list too
for n in a b; do
	bsn $n status "$ID" --json > "$T/st.json" 2> "$T/st.err" ||
	    fail "node $n: status $ID while the store is down: $(cat "$T/st.err")"
	bsn $n status --json > "$T/stl.json" 2> "$T/stl.err" ||
	    fail "node $n: status while the store is down: $(cat "$T/stl.err")"
	"$PY" - "$T/st.json" "$T/stl.json" "$ID" "$got" <<'PYEOF' || fail "node $n: status while the store is down"
import json, sys
one, lst = (json.load(open(f)) for f in sys.argv[1:3])
bc, got = int(sys.argv[3]), int(sys.argv[4])
for j in [one] + [b for b in lst if b["id"] == bc]:
    assert j["id"] == bc and j["state"] == "waiting", j
    assert j["reason"].startswith("waiting for store: "), j["reason"]
    assert j["stale"] is True and 0 < j["sent"] <= got, j
assert len(lst) == 1, lst
PYEOF
done
ok "status on both nodes: waiting for the store, the last counts marked stale"

# down for 5 s: each node says once that the store is out of reach
# (the shared rate's reservations, every 10 ms while slots are wanted,
# logged one line each: 500 lines a node before)
sleep 5
for n in a b; do
	grep -q "warn: .*reconnect: connection to server" "$T/$n.log" ||
	    fail "node $n: no word of the store out of reach"
	lines=$(grep -c "rate: .*reconnect" "$T/$n.log")
	[ "$lines" -le 2 ] || fail "node $n: $lines lines for the shared rate while the store is down"
done
ok "both nodes said the store is out of reach, without a line a try"

runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" -w -t 60 \
    -l "$PGT/server.log" -o "$PG_OPTS" start >>"$T/restart.log" 2>&1 ||
    { cat "$T/restart.log"; fail "pg_ctl start"; }
a0=$(sent_by a); b0=$(sent_by b)
ok "PostgreSQL started again"

wait_done a 1200
for n in a b; do [ "$(bc_state $n)" = done ] || fail "not done on node $n"; done
a1=$(sent_by a); b1=$(sent_by b)
[ "$a1" -gt "$a0" ] && [ "$b1" -gt "$b0" ] ||
    fail "not both nodes sent after the restart: a $a0 -> $a1, b $b0 -> $b1"
ok "both nodes reconnected and sent again (a $a0 -> $a1, b $b0 -> $b1)"
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
assert dup <= 2 * (3 * 2 + 20), '%d duplicates' % dup
print('duplicates', dup)" || fail "after the restart"
rows=$(pg_sql "$PGN_DB" "SELECT count(*) FILTER (WHERE state = 1) || ' ' ||
    count(*) FILTER (WHERE state <> 1 OR owner IS NOT NULL) FROM deliveries
    WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "deliveries: sent / other or claimed = $rows"
ok "every subscriber served, rows all sent, none claimed"
stop_nodes "a b"
