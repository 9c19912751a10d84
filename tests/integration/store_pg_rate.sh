# One rate across nodes (issue 13): three broadsided nodes on one
# PostgreSQL share a broadcast at rate.messages_per_second = 100, which
# on a shared store is the total, not each node's.  Each node sends in
# slots it reserves from the broadcast's GCRA row on the database clock
# (max(1, rate x 0.1 s) at a time), so the server must see 100 msg/s
# within 1 % over the first 20 s (the broadcast lasts 22: its last rows
# go as their nodes' slots come, which is no rate), no clock second
# above rate + burst, and all three nodes sending.  (Before: 100 msg/s
# each, 300 together.)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_rate
RATE=100
BURST=10
SECS=${RATE_SECS:-20}
N=$(((SECS + 2) * RATE))

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_rate"
( umask 077; echo "$PG_PASSWORD" > "$T/pg.pw" )
for n in a b c; do
	mkdir -p "$T/$n"
	cat > "$T/$n.conf" <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { url = "$URL"; node = "node-$n"; password_file = "pg.pw"; };
smtp: { url = "smtp://127.0.0.1:$SMTP_PORT"; connections = 2; timeout = 10; };
rate: { messages_per_second = $RATE.0; burst = $BURST; batch_size = 50; };
control: { socket = "$n/control.sock"; };
feed: { path = "$n/feed.xml"; };
templates: { dir = "$TOP/templates"; };
secret_file = "secret";
EOC
done
head -c 32 /dev/urandom > "$T/secret"; chmod 600 "$T/secret"

start_node() {
	"$BROADSIDED" -c "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	eval "PID_$1=\$!"
	PIDS="$PIDS $!"
	i=0
	until "$BROADSIDE" -c "$T/$1.conf" status >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { cat "$T/$1.log"; fail "node $1 did not answer"; }
		sleep 0.1
	done
}
bsn() { n=$1; shift; "$BROADSIDE" -c "$T/$n.conf" "$@"; }

for n in a b c; do start_node $n; done
make_subscribers $N "$T/subs.csv"
bsn a subscribers import "$T/subs.csv" >/dev/null || fail "import"
bsn a send --wait "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")

"$PY" - "$T/mail/log.jsonl" "$N" "$RATE" "$BURST" "$SECS" <<'PYEOF' || fail "rate"
import collections, json, sys
log, n, rate, burst = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ts = sorted(e["t"] for e in map(json.loads, open(log))
            if e["ev"] == "data" and e.get("code") == 250)
assert len(ts) == n, (len(ts), n)
window = int(sys.argv[5])
measured = sum(1 for t in ts if t < ts[0] + window) / window
print("%d messages in %.2f s; %.2f msg/s over the first %d s (want %.0f +- 1%%)" % (n, ts[-1] - ts[0], measured, window, rate))
per_second = collections.Counter(int(t) for t in ts)
full = [per_second[s] for s in sorted(per_second)[1:-1]]
print("per second: min %d, max %d (limit %d)" % (min(full), max(per_second.values()), rate + burst))
assert abs(measured - rate) <= 0.01 * rate, measured
assert max(per_second.values()) <= rate + burst, max(per_second.values())
PYEOF
shares=$(pg_sql bs_rate "SELECT string_agg(node || '=' || sent, ' ' ORDER BY node)
    FROM bc_counts WHERE broadcast_id = $ID AND sent > 0")
echo "shares: $shares"
case "$shares" in "node-a="[1-9]*" node-b="[1-9]*" node-c="[1-9]*) ;; *) fail "not all three nodes sent: $shares";; esac
ok "three nodes, one rate: within 1 %, no second over rate + burst"
for n in a b c; do
	eval "kill -TERM \$PID_$n; wait \$PID_$n" || fail "node $n exit after SIGTERM"
done
