# Unsubscribe mid-send acts on every node (issue 13): two broadsided
# nodes share a slow broadcast (20 msg/s for both, batch 50) on
# PostgreSQL; five subscribers that node b has claimed and not sent yet
# are removed through node a.  Node b looks every 0.4 s for claims of
# subscribers gone meanwhile and stops them as its own unsubscribe
# would: none of the five gets a message, everyone else gets one.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_unsub
N=300

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_unsub"
( umask 077; echo "$PG_PASSWORD" > "$T/pg.pw" )
for n in a b; do
	mkdir -p "$T/$n"
	cat > "$T/$n.conf" <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { url = "$URL"; node = "node-$n"; password_file = "pg.pw"; };
smtp: { url = "smtp://127.0.0.1:$SMTP_PORT"; connections = 2; timeout = 10; };
rate: { messages_per_second = 20.0; burst = 2; batch_size = 50; };
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

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
bsn a subscribers import "$T/subs.csv" >/dev/null || fail "import"
bsn a send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")

# the last five of node b's claims: at 10 msg/s each, 2 s or more away
i=0
until gone=$(pg_sql bs_unsub "SELECT string_agg(email, ' ') FROM (SELECT s.email
    FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
    WHERE d.broadcast_id = $ID AND d.state = 4 AND d.owner = 'node-b'
    ORDER BY d.subscriber_id DESC LIMIT 5) x HAVING count(*) = 5") && [ -n "$gone" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "node b claims nothing"
	sleep 0.05
done
for e in $gone; do
	bsn a subscribers remove "$e" >/dev/null || fail "remove $e"
done
ok "removed through node a, claimed by node b: $gone"

i=0
until [ "$(bsn a status "$ID" --json | json_get 'j["state"]')" = done ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { tail -n 20 "$T/b.log"; fail "not done"; }
	sleep 0.1
done
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
gone = '$gone'.split()
got = [g for g in gone if g in r['per_rcpt']]
assert not got, 'mail to removed subscribers: %s' % got
assert len(r['per_rcpt']) == $N - 5 and r['duplicates'] == 0, (len(r['per_rcpt']), r['duplicates'])" ||
    fail "after the removals"
grep -q "gone through another node: not sent" "$T/b.log" || fail "node b did not log them"
ok "none of the five got a message, everyone else one"
for n in a b; do
	eval "kill -TERM \$PID_$n; wait \$PID_$n" || fail "node $n exit after SIGTERM"
done
