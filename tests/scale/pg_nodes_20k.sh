# Issue 13 at its scale (make test-scale): three broadsided nodes on one
# PostgreSQL share one broadcast of 20,000 recipients to one capturing
# server (tests/smtpd.py), rate unlimited, 2 connections each, batch
# 200.  Every recipient gets exactly one message, and each message its
# own Message-ID (counted from the server's log, not the daemon's
# counts), all three nodes send a share, no row is left claimed or
# unsent.  No timing bound: only the totals are checked (the broadcast
# may take as long as the loaded machine needs, up to 10 minutes).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
. "$TOP/tests/pg_nodes.sh"
N=${SCALE_N:-20000}
NODE_RATE="rate: { messages_per_second = 0.0; batch_size = 200; };"
pg_nodes bs_n20k "a b c"

for n in a b c; do start_node $n; done
make_subscribers "$N" "$T/subs.csv"
t0=$(now_ms)
node_send a
wait_done a 6000
secs=$(( ($(now_ms) - t0) / 1000 ))
ok "$N recipients through three nodes in about $secs s"

"$PY" - "$T/mail/log.jsonl" "$N" <<'PYEOF' || fail "not every recipient exactly once"
import collections, json, sys
per_rcpt, per_id = collections.Counter(), collections.Counter()
for e in map(json.loads, open(sys.argv[1])):
    if e["ev"] == "data" and e.get("code") == 250:
        assert len(e["rcpt"]) == 1, e
        per_rcpt[e["rcpt"][0]] += 1
        per_id[e["message_id"]] += 1
n = int(sys.argv[2])
dup = sorted(r for r, c in per_rcpt.items() if c > 1)
assert len(per_rcpt) == n, "%d of %d recipients got a message" % (len(per_rcpt), n)
assert not dup, "%d recipients got more than one: %s" % (len(dup), dup[:5])
assert len(per_id) == n and max(per_id.values()) == 1, "Message-IDs not one per recipient"
print("%d recipients, %d messages, %d Message-IDs, each once" % (len(per_rcpt), sum(per_rcpt.values()), len(per_id)))
PYEOF
shares=$(node_shares)
echo "shares: $shares"
case "$shares" in "node-a="[1-9]*" node-b="[1-9]*" node-c="[1-9]*) ;; *) fail "not all three nodes sent: $shares";; esac
rows=$(pg_sql "$PGN_DB" "SELECT count(*) FILTER (WHERE state = 1) || ' ' ||
    count(*) FILTER (WHERE state <> 1 OR owner IS NOT NULL) FROM deliveries
    WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "deliveries sent / other or claimed: $rows, want $N 0"
ok "every recipient exactly once, all three nodes sent, no row left claimed"
stop_nodes "a b c"
