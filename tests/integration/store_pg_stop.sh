# Two broadsided nodes share a broadcast on PostgreSQL and node a is
# SIGSTOPped for 15 s: its session, and with it the advisory lock on its
# name, stays, so only its heartbeat tells that it is gone.  Node b's
# claims must take a's claimed rows back within 12 s of the stop (a's
# heartbeat expires after STORE_BEAT_EXPIRY_MS, 8 s; b looks at least
# every 2 s) and go on sending.  Once continued, a must send nothing of
# what it had claimed (b has it now): it checks its heartbeat before
# each message, so it duplicates at most what it had in flight (one
# message per connection: 2).  Both finish; every subscriber served, no
# attempt spent twice, no row left claimed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
trap 'kill -CONT ${PID_a:-0} 2>/dev/null; pg_stop; cleanup' EXIT
pg_createdb bs_stop
N=3000

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_stop"
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
	pg_sql bs_stop "SELECT count(*) FROM deliveries WHERE state = 4 AND owner = 'node-$1'"
}
now_ms() { "$PY" -c 'import time; print(int(time.monotonic() * 1000))'; }

start_node a
make_subscribers $N "$T/subs.csv"
bsn a subscribers import "$T/subs.csv" >/dev/null || fail "import"
bsn a send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_accepted 50 300
start_node b
wait_accepted 150 300
# stop a while it holds claims (it claims 50 at a time)
i=0
while :; do
	kill -STOP "$PID_a"
	[ "$(claimed_by a)" -gt 0 ] && break
	kill -CONT "$PID_a"
	i=$((i + 1)); [ $i -lt 300 ] || fail "node a holds no claims"
	sleep 0.05
done
t0=$(now_ms)
held=$(claimed_by a)
before=$(accepted)
ok "node a stopped after $before messages, holding $held claims"

# b takes them back while a is stopped
until [ "$(claimed_by a)" = 0 ]; do
	[ $(($(now_ms) - t0)) -lt 12000 ] ||
	    { tail -n 5 "$T/b.log"; fail "a's $(claimed_by a) claims not taken back within 12 s of the stop"; }
	sleep 0.1
done
took=$(($(now_ms) - t0))
ok "node b took a's claims back $took ms after the stop"
while [ $(($(now_ms) - t0)) -lt 15000 ]; do sleep 0.1; done
[ "$(bsn b status "$ID" --json | json_get 'j["state"]')" = sending ] ||
    fail "the broadcast is over before a goes on: nothing to check a against"
kill -CONT "$PID_a"
ok "node a continued after 15 s"

i=0
until [ "$(bsn b status "$ID" --json | json_get 'j["state"]')" = done ]; do
	i=$((i + 1)); [ $i -lt 1200 ] || { tail -n 20 "$T/a.log" "$T/b.log"; fail "not done"; }
	sleep 0.1
done
ok "the broadcast is done"
grep -q "heartbeat lapsed" "$T/a.log" || { cat "$T/a.log"; fail "node a did not see its heartbeat lapse"; }

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
print('duplicates', dup)
assert dup <= 2, '%d duplicates, more than node a had in flight (2)' % dup" ||
    fail "after the stop"
left=$(pg_sql bs_stop "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND (state <> 1 OR owner IS NOT NULL OR attempts > 1)")
[ "$left" = 0 ] || fail "$left rows not sent once, or still claimed"
shares=$(pg_sql bs_stop "SELECT string_agg(node || '=' || sent, ' ' ORDER BY node)
    FROM bc_counts WHERE broadcast_id = $ID")
ok "every subscriber served, no attempt spent twice, nothing left claimed ($shares)"
for n in a b; do
	eval "kill -TERM \$PID_$n; wait \$PID_$n" || fail "node $n exit after SIGTERM"
done
ok "both nodes stop on SIGTERM with 0"
