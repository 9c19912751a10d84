# No store call on the loop, reads included (issue 13): on PostgreSQL a
# read is a network round trip, and one that waits for a lock held
# elsewhere would hold every client of the daemon.  Another session holds
# LOCK TABLE broadcasts IN ACCESS EXCLUSIVE MODE for HOLD seconds (as a
# migration or a VACUUM FULL would); meanwhile `status`, `status ID` and
# GET /metrics, and the archive page /archive/ID (not yet rendered), which
# read broadcasts, wait for the lock on the reader thread, and:
#  - the loop keeps answering: /healthz and /feed.xml (from memory) in
#    under LIMIT_MS each time;
#  - `status` and `status ID` succeed once the lock goes (not an error),
#    with the same answer as before the lock; /metrics and /archive/ID
#    are 200s.  (Before the reader thread the loop read with a 20 ms
#    lock_timeout: status failed with "canceling statement due to lock
#    timeout".)  After start the loop has no store handle at all
#    (env->store is NULL), so a read left on it crashes any test.
#
# LIMIT_MS: /healthz and /feed.xml are answered from memory; on a loaded
# 2-core machine their worst here was 2.5 to 134 ms (4 runs, other test
# suites beside), so 1,000 ms leaves a wide margin; a loop that read
# broadcasts itself would take the whole HOLD (3,000 ms).
# tests/run: alone (it bounds the loop's worst answer)
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_reads
N=20
HOLD=3
LIMIT_MS=1000

start_smtpd mail
HTTP_PORT=$(free_port)
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 0.0; batch_size = 10; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_reads"
sed -i "s|^storage: .*|storage: { url = \"$URL\"; node = \"reads-1\"; password_file = \"state/pg.pw\"; };|" \
    "$T/broadside.conf"
grep -q "url = \"$URL\"" "$T/broadside.conf" || fail "config not rewritten"
( umask 077; echo "$PG_PASSWORD" > "$T/state/pg.pw" )
start_daemon
broadcast_to $N
wait_bc "$ID" 600 'j["state"] == "done"' || { diag "$ID"; fail "broadcast $ID not done"; }
bs status >"$T/status.before" || fail "status before the lock"
bs status "$ID" --json >"$T/one.before" || fail "status $ID before the lock"
ok "broadcast $ID done"

# the lock, held HOLD seconds by another session
psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres \
    -d bs_reads -c "BEGIN" -c "LOCK TABLE broadcasts IN ACCESS EXCLUSIVE MODE" \
    -c "SELECT pg_sleep($HOLD)" -c "COMMIT" >"$T/lock.out" 2>&1 &
LOCK=$!
PIDS="$PIDS $LOCK"
i=0
until [ "$(pg_sql bs_reads "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'broadcasts' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "the lock was never taken"
	sleep 0.05
done
t0=$(date +%s.%N)
bs status >"$T/status.during" 2>&1 &
ST=$!
bs status "$ID" --json >"$T/one.during" 2>&1 &
ST1=$!
curl -s -o "$T/metrics.out" -w '%{http_code}' --max-time 30 \
    "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics.code" &
MET=$!
curl -s -o "$T/archive.out" -w '%{http_code}' --max-time 30 \
    "http://127.0.0.1:$HTTP_PORT/archive/$ID" >"$T/archive.code" &
ARC=$!
sleep 0.2	# the reads are out, waiting for the lock

worst=0
n=0
while kill -0 $LOCK 2>/dev/null; do
	for p in /healthz /feed.xml; do
		t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 \
		    "http://127.0.0.1:$HTTP_PORT$p")
		worst=$("$PY" -c "print(max($worst, $t))")
		n=$((n + 1))
	done
	sleep 0.05
done
wait $LOCK || fail "lock holder: $(cat "$T/lock.out")"
"$PY" -c "import sys; sys.exit(0 if $worst * 1000 < $LIMIT_MS and $n >= 10 else 1)" ||
    fail "/healthz, /feed.xml worst ${worst}s over $n asks while broadcasts was locked"
ok "the loop answered $n asks while broadcasts was locked ${HOLD} s, worst $(printf '%.1f' "$("$PY" -c "print($worst * 1000)")") ms"

wait $ST || fail "status during the lock: $(cat "$T/status.during")"
t1=$(date +%s.%N)
wait $ST1 || fail "status $ID during the lock: $(cat "$T/one.during")"
wait $MET
[ "$(cat "$T/metrics.code")" = 200 ] || fail "/metrics during the lock: $(cat "$T/metrics.code")"
wait $ARC
[ "$(cat "$T/archive.code")" = 200 ] || fail "/archive/$ID during the lock: $(cat "$T/archive.code")"
"$PY" -c "import sys; sys.exit(0 if $t1 - $t0 > $HOLD / 2 else 1)" ||
    fail "status answered before the lock went: it did not read broadcasts?"
cmp -s "$T/status.before" "$T/status.during" ||
    fail "status differs: $(diff "$T/status.before" "$T/status.during")"
"$PY" - "$T/one.before" "$T/one.during" <<'PYEOF' || fail "status $ID differs"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for n in a.get("nodes", []) + b.get("nodes", []):
    n.pop("last_seen", None)
assert a == b, (a, b)
PYEOF
grep -q "^broadside_subscribers" "$T/metrics.out" || fail "/metrics: no subscribers"
ok "status, status $ID, /metrics and /archive/$ID waited for the lock and answered as before"
stop_daemon
