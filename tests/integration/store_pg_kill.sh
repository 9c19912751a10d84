# Two broadsided nodes share a broadcast on PostgreSQL and node a is
# SIGKILLed in the middle: its session ends, and with it the advisory
# lock on its name, so node b's next claim takes a's claimed rows back
# (no attempt spent) instead of waiting an hour for their leases. b
# finishes alone: every subscriber served, duplicates no more than what
# a had in flight and not committed (3 x connections + batch_size), no
# row left claimed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_kill
N=1200

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_kill"
( umask 077; echo "$PG_PASSWORD" > "$T/pg.pw" )
mkdir -p "$T/a" "$T/b"
for n in a b; do
	cat > "$T/$n.conf" <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { url = "$URL"; node = "node-$n"; password_file = "pg.pw"; };
smtp: { url = "smtp://127.0.0.1:$SMTP_PORT"; connections = 2; timeout = 10; };
rate: { messages_per_second = 100.0; burst = 10; batch_size = 50; };
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
claimed_by() {
	pg_sql bs_kill "SELECT count(*) FROM deliveries WHERE state = 4 AND owner = 'node-$1'"
}

start_node a
make_subscribers $N "$T/subs.csv"
bsn a subscribers import "$T/subs.csv" >/dev/null || fail "import"
bsn a send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_accepted 50 300
start_node b
# kill a while it holds claims (it claims 50 at a time, at 100/s): stop
# it first, so that nothing it holds is recorded between the look and
# the kill (on a loaded machine a look then a kill could miss them all)
i=0
while :; do
	kill -STOP "$PID_a"
	[ "$(claimed_by a)" -gt 0 ] && break
	kill -CONT "$PID_a"
	i=$((i + 1)); [ $i -lt 300 ] || fail "node a holds no claims"
	sleep 0.05
done
kill -KILL "$PID_a"
wait "$PID_a" 2>/dev/null
held=$(claimed_by a)
ok "node a killed after $(accepted) messages, holding $held claims"
[ "$held" -gt 0 ] || fail "node a's claims were recorded before the kill: nothing to take back"

i=0
until [ "$(bsn b status "$ID" --json | json_get 'j["state"]')" = done ]; do
	i=$((i + 1)); [ $i -lt 1200 ] || { tail -n 20 "$T/b.log"; fail "node b did not finish"; }
	sleep 0.1
done
ok "node b finished the broadcast"
[ "$(claimed_by a)" = 0 ] || fail "node a's rows still claimed"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
assert dup <= 3 * 2 + 50, '%d duplicates' % dup
print('duplicates', dup)" || fail "after the kill"
left=$(pg_sql bs_kill "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND (state <> 1 OR owner IS NOT NULL OR attempts > 1)")
[ "$left" = 0 ] || fail "$left rows not sent once, or still claimed"
ok "every subscriber served, no attempt spent twice, nothing left claimed"
kill -TERM "$PID_b"; wait "$PID_b" || fail "node b exit after SIGTERM"
