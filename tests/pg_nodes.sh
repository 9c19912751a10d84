# tests/pg_nodes.sh -- several broadsided nodes on one PostgreSQL database
# (POSIX sh).  Source it after lib.sh and pg.sh; it starts the server
# (pg_start) when pg_nodes is called.
#
#   pg_nodes DB "a b c"   starts PostgreSQL if not yet, makes database DB,
#                         a capturing server "mail" (start_smtpd) unless
#                         SMTP_PORT is set already, and writes
#                         $T/N.conf for each node N: storage.node "node-N"
#                         on DB, its own control socket and feed, and
#                         these parts, which a test may set before:
#       NODE_SMTP   smtp settings (default: the capturing server, 2
#                   connections, timeout 10)
#       NODE_RATE   rate settings (default 100 msg/s, burst 10, batch 50)
#       NODE_EXTRA  more lines (e.g. retry: { ... };)
#       NODE_HTTP   if set, each node listens on a free port HTTP_N
#   start_node N          start node N (again), wait until it answers;
#                         sets PID_N
#   stop_node N           SIGTERM, fail unless it exits 0
#   stop_nodes "a b"      stop_node each
#   kill_node N           SIGKILL, reaped
#   bsn N ARGS...         broadside on node N's config
#   node_send N [ARGS]    import $T/subs.csv (made by the test) through N
#                         and send the plain fixture; sets ID
#   bc_state [N]          the broadcast's state as node N (default a) says
#   wait_done N TRIES     until bc_state N is done (TRIES x 0.1 s)
#   claimed_by N          rows node N has claimed now (any broadcast)
#   sent_by N             what node N counted as sent of broadcast ID
#   node_shares           "node-a=S node-b=S" of ID (nodes that sent any)
#   now_ms                a monotonic clock in ms
PGN_DB=

pg_nodes() {
	[ -n "${PG_PORT:-}" ] || pg_start
	PGN_DB=$1
	pg_createdb "$PGN_DB"
	[ -n "${SMTP_PORT:-}" ] || start_smtpd mail
	[ -n "${NODE_SMTP:-}" ] ||
	    NODE_SMTP="smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };"
	[ -n "${NODE_RATE:-}" ] ||
	    NODE_RATE="rate: { messages_per_second = 100.0; burst = 10; batch_size = 50; };"
	PGN_URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/$PGN_DB"
	( umask 077; echo "$PG_PASSWORD" > "$T/pg.pw" )
	head -c 32 /dev/urandom > "$T/secret"; chmod 600 "$T/secret"
	for n in $2; do
		mkdir -p "$T/$n"
		{
			cat <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { url = "$PGN_URL"; node = "node-$n"; password_file = "pg.pw"; };
$NODE_SMTP
$NODE_RATE
control: { socket = "$n/control.sock"; };
feed: { path = "$n/feed.xml"; };
templates: { dir = "$TOP/templates"; };
secret_file = "secret";
EOC
			[ -n "${NODE_EXTRA:-}" ] && printf '%s\n' "$NODE_EXTRA"
			if [ -n "${NODE_HTTP:-}" ]; then
				http=$(free_port)
				eval "HTTP_$n=$http"
				echo "http: { listen = \"127.0.0.1:$http\"; };"
			fi
		} > "$T/$n.conf"
	done
}

start_node() {
	"$BROADSIDED" -c "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	eval "PID_$1=\$!"
	PIDS="$PIDS $!"
	_i=0
	until "$BROADSIDE" -c "$T/$1.conf" status >/dev/null 2>&1; do
		_i=$((_i + 1)); [ $_i -lt 100 ] || { cat "$T/$1.log"; fail "node $1 did not answer"; }
		sleep 0.1
	done
}

stop_node() {
	eval "_pid=\$PID_$1"
	kill -TERM "$_pid"
	wait "$_pid" || fail "node $1: exit $? after SIGTERM"
}

stop_nodes() { for _n in $1; do stop_node "$_n"; done; }

kill_node() {
	eval "_pid=\$PID_$1"
	kill -KILL "$_pid"
	wait "$_pid" 2>/dev/null
	return 0
}

bsn() { _n=$1; shift; "$BROADSIDE" -c "$T/$_n.conf" "$@"; }

node_send() {
	_n=$1; shift
	bsn "$_n" subscribers import "$T/subs.csv" >/dev/null || fail "import"
	bsn "$_n" send "$@" "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
	ID=$(head -n 1 "$T/out")
	[ "$ID" -gt 0 ] 2>/dev/null || fail "no broadcast id: $ID"
}

bc_state() { bsn "${1:-a}" status "$ID" --json 2>/dev/null | json_get 'j["state"]' 2>/dev/null; }

wait_done() {
	_i=0
	until [ "$(bc_state "$1")" = done ]; do
		_i=$((_i + 1))
		[ $_i -lt "$2" ] || { tail -n 20 "$T"/*.log; fail "broadcast $ID not done (node $1 says $(bc_state "$1"))"; }
		sleep 0.1
	done
}

claimed_by() {
	pg_sql "$PGN_DB" "SELECT count(*) FROM deliveries WHERE state = 4 AND owner = 'node-$1'"
}

sent_by() {
	pg_sql "$PGN_DB" "SELECT coalesce(sum(sent), 0) FROM bc_counts WHERE broadcast_id = $ID AND node = 'node-$1'"
}

node_shares() {
	pg_sql "$PGN_DB" "SELECT string_agg(node || '=' || sent, ' ' ORDER BY node)
	    FROM bc_counts WHERE broadcast_id = $ID AND sent > 0"
}

now_ms() { "$PY" -c 'import time; print(int(time.monotonic() * 1000))'; }
