# Restarts by SIGTERM (issue 13): two broadsided nodes share a broadcast
# of 2,000 on PostgreSQL and a random one of them is stopped with
# SIGTERM every 1-2 s, five times, and started again under its name.  A
# node stopping so finishes and records what it has in flight and gives
# back the rest, and keeps its heartbeat while it does, so nobody gets
# a message twice: no duplicates at all, every row sent once, nothing
# left claimed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_term
N=2000
STOPS=5

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_term"
( umask 077; echo "$PG_PASSWORD" > "$T/pg.pw" )
for n in a b; do
	mkdir -p "$T/$n"
	cat > "$T/$n.conf" <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { url = "$URL"; node = "node-$n"; password_file = "pg.pw"; };
smtp: { url = "smtp://127.0.0.1:$SMTP_PORT"; connections = 2; timeout = 10; };
rate: { messages_per_second = 120.0; burst = 10; batch_size = 50; };
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
while [ $k -lt $STOPS ]; do
	sleep "$("$PY" -c 'import random; print(round(random.uniform(1, 2), 2))')"
	[ "$(state)" = done ] && fail "done after $k stops: too soon to tell"
	n=$("$PY" -c 'import random; print(random.choice("ab"))')
	eval "pid=\$PID_$n"
	kill -TERM "$pid"
	wait "$pid" || fail "node $n: exit $? after SIGTERM"
	k=$((k + 1))
	start_node "$n"
done
ok "$STOPS stops by SIGTERM, each node started again; $(accepted) messages so far"

i=0
until [ "$(state)" = done ]; do
	i=$((i + 1)); [ $i -lt 1200 ] || { tail -n 20 "$T/a.log" "$T/b.log"; fail "not done"; }
	sleep 0.1
done
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
assert len(r['per_rcpt']) == $N, '%d subscribers got nothing' % ($N - len(r['per_rcpt']))
assert r['accepted'] == $N and r['duplicates'] == 0, (r['accepted'], r['duplicates'])" ||
    fail "after the stops"
rows=$(pg_sql bs_term "SELECT count(*) FILTER (WHERE state = 1 AND attempts = 1) || ' ' ||
    count(*) FILTER (WHERE owner IS NOT NULL) FROM deliveries WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "sent once / still claimed: $rows, want $N 0"
ok "done: $N messages, no duplicate, nothing left claimed"
for n in a b; do
	eval "kill -TERM \$PID_$n; wait \$PID_$n" || fail "node $n exit after SIGTERM"
done
