# pause, resume and cancel from any node act on every node within a
# second (issue 13): two broadsided nodes share a broadcast on
# PostgreSQL; node b pauses it and neither node sends after 1 s; node a
# resumes it and both send again; node b cancels it and neither sends
# after 1 s.  Each node looks at what the others changed every 0.4 s
# (from its writer thread), so the bound holds with about 0.5 s to spare.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_ctl
N=4000

start_smtpd mail
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_ctl"
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
sent_by() {
	pg_sql bs_ctl "SELECT coalesce(sum(sent), 0) FROM bc_counts WHERE broadcast_id = $ID AND node = 'node-$1'"
}
# both nodes sending: each one's count rows grow
both_send() {
	a0=$(sent_by a); b0=$(sent_by b)
	i=0
	until [ "$(sent_by a)" -gt "$a0" ] && [ "$(sent_by b)" -gt "$b0" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "$1: not both nodes sending"
		sleep 0.1
	done
}
# after verb on node n (answered once stored), nothing more reaches the
# server 1 s on
stops_within_1s() {
	bsn "$1" "$2" "$ID" >/dev/null || fail "$2 on node $1"
	sleep 1
	c1=$(accepted)
	sleep 2
	c2=$(accepted)
	[ "$c1" = "$c2" ] || { tail -n 3 "$T/a.log" "$T/b.log"; fail "$2 on node $1: still sending after 1 s ($c1, then $c2)"; }
}

start_node a
start_node b
make_subscribers $N "$T/subs.csv"
bsn a subscribers import "$T/subs.csv" >/dev/null || fail "import"
bsn a send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
both_send "send on a"
ok "a broadcast sent on node a: both nodes send"

stops_within_1s b pause
ok "paused on node b: neither node sends 1 s on ($(accepted) messages)"
grep -q "broadcast $ID: paused on another node" "$T/a.log" || fail "node a did not log the pause"

bsn a resume "$ID" >/dev/null || fail "resume on a"
both_send "resume on a"
ok "resumed on node a: both nodes send again"

stops_within_1s b cancel
[ "$(bsn a status "$ID" --json | json_get 'j["state"]')" = cancelled ] || fail "not cancelled"
ok "cancelled on node b: neither node sends 1 s on ($(accepted) of $N messages)"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
assert r['duplicates'] == 0, r['duplicates']" || fail "duplicates"
left=$(pg_sql bs_ctl "SELECT count(*) FROM deliveries WHERE broadcast_id = $ID AND owner IS NOT NULL")
[ "$left" = 0 ] || fail "$left rows still claimed"
ok "no duplicate, nothing left claimed"
for n in a b; do
	eval "kill -TERM \$PID_$n; wait \$PID_$n" || fail "node $n exit after SIGTERM"
done
ok "both nodes stop on SIGTERM with 0"
