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
pg_start
pg_createdb bs_kills
N=3000
KILLS=10

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_kills"
( umask 077; echo "$PG_PASSWORD" > "$T/pg.pw" )
for n in a b; do
	mkdir -p "$T/$n"
	cat > "$T/$n.conf" <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { url = "$URL"; node = "node-$n"; password_file = "pg.pw"; };
smtp: { url = "smtp://127.0.0.1:$SMTP_PORT"; connections = 2; timeout = 10; };
rate: { messages_per_second = 120.0; burst = 10; batch_size = 50; };
retry: { max_attempts = 5; };
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
state() { bsn a status "$ID" --json 2>/dev/null | json_get 'j["state"]'; }

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
bsn a subscribers import "$T/subs.csv" >/dev/null || fail "import"
bsn a send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_accepted 50 300

k=0
while [ $k -lt $KILLS ]; do
	sleep "$("$PY" -c 'import random; print(round(random.uniform(1, 2), 2))')"
	[ "$(state)" = done ] && fail "done after $k kills: too soon to tell"
	n=$("$PY" -c 'import random; print(random.choice("ab"))')
	eval "pid=\$PID_$n"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	k=$((k + 1))
	start_node "$n"
done
ok "$KILLS kills, each node started again; $(accepted) messages so far"

i=0
until [ "$(state)" = done ]; do
	i=$((i + 1)); [ $i -lt 1200 ] || { tail -n 20 "$T/a.log" "$T/b.log"; fail "not done"; }
	sleep 0.1
done
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
for n in a b; do
	eval "kill -TERM \$PID_$n; wait \$PID_$n" || fail "node $n exit after SIGTERM"
done
