# Big subscriber lists never hold up the main loop.  A 500,000-row
# `subscribers import` goes in 256 KiB requests, and subscribers.file on
# reload is synced in slices between other events: meanwhile HTTP and the
# control socket keep answering quickly (tests/py/latency_probe.py; with
# the whole file read in one go they would wait for all of it);
# `broadside reload` returns once the rows are in; a
# reload during a sync starts it again and both end together; SIGTERM
# during a sync stops it between slices, exits 0, and the next start
# syncs the rest.  At start too the file is synced in slices while the
# listeners answer, and a `send` meanwhile waits for it, so the
# broadcast goes to every row of the file; its 2,000,001 recipients are
# then taken in slices too, and a SIGKILL meanwhile is carried on from
# the last slice at the next start.
# tests/run: alone (it bounds no request waits 150 ms)
. "$(dirname "$0")/../lib.sh"

N=500000
HTTP_PORT=$(free_port)
make_subscribers 1 "$T/subs.csv" first
# nothing listens on the SMTP port: a broadcast here is only stored
write_config "subscribers: { file = \"subs.csv\"; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };
smtp: { url = \"smtp://127.0.0.1:$(free_port)\"; };"
start_daemon
[ "$(bs subscribers count)" = 1 ] || fail "file not synced at start"

# --- a large import through the CLI: 256 KiB a request, one transaction
# each; both listeners keep answering
make_subscribers $N "$T/big.csv" i
"$PY" "$TOP/tests/py/latency_probe.py" "$T/state/control.sock" "$HTTP_PORT" \
    "$BROADSIDE" -c "$T/broadside.conf" subscribers import "$T/big.csv" ||
    fail "the import held up the loop"
[ "$(bs subscribers count)" = $((N + 1)) ] || fail "count $(bs subscribers count) after the import"
ok "500,000-row import: listeners answered throughout"

# --- a large file: probe both listeners while `broadside reload` runs
make_subscribers $N "$T/subs.csv" r
"$PY" "$TOP/tests/py/latency_probe.py" "$T/state/control.sock" "$HTTP_PORT" \
    "$BROADSIDE" -c "$T/broadside.conf" reload || fail "reload held up the loop"
# reload returns once the rows are in
[ "$(bs subscribers count)" = $((2 * N + 1)) ] || fail "count $(bs subscribers count) right after reload"
grep -q "subscribers.file .*subs.csv: added=500000 " "$T/daemon.log" || fail "no summary line"
ok "500,000-row reload: listeners answered throughout, reload returned with the rows in"

# --- a reload during a sync starts it again; both waiters are answered
make_subscribers $N "$T/subs.csv" s
kill -HUP "$DAEMON_PID"
sleep 0.2
expect_rc 0 bs reload
[ "$(bs subscribers count)" = $((3 * N + 1)) ] || fail "count $(bs subscribers count) after the second reload"
grep -q "reloaded during a sync; starting it again" "$T/daemon.log" || fail "restart not logged"
ok "reload during a sync: started again, all rows in when the CLI returned"

# --- SIGTERM during a sync: stopped between slices, the next start syncs
make_subscribers $N "$T/subs.csv" t
kill -HUP "$DAEMON_PID"
sleep 0.2
stop_daemon
grep -q "sync stopped by shutdown" "$T/daemon.log" || fail "sync not reported stopped"
start_daemon_early	# returns while the start-up sync runs
cat > "$T/st.txt" <<'EOS'
Big list
By the test

One paragraph.
EOS
# send (it waits for the sync), pause it (nothing listens for SMTP), and
# wait until its 2,000,001 recipients are taken, 20,000 a slice: the
# listeners answer throughout (taking them in one go held the loop 0.6 s)
"$PY" "$TOP/tests/py/latency_probe.py" "$T/state/control.sock" "$HTTP_PORT" \
    sh -c 'id=$("$1" -c "$2" send "$3" | head -n 1) && echo "$id" > "$5" &&
    "$1" -c "$2" pause "$id" >/dev/null &&
    until grep -q "broadcast $id: recipients taken" "$4"; do sleep 0.05; done' \
    sh "$BROADSIDE" "$T/broadside.conf" "$T/st.txt" "$T/daemon.log" "$T/id" ||
    fail "send during the start-up sync held up the loop"
ID=$(cat "$T/id")
[ -n "$ID" ] || fail "send printed no ID"
grep -q "waiting for the subscribers.file sync to end" "$T/daemon.log" ||
    fail "send during the start-up sync did not wait for it"
expect_rc 0 bs cancel "$ID"
total=$(bs status "$ID" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$total" = $((4 * N + 1)) ] || fail "broadcast total $total, want $((4 * N + 1))"
[ "$(bs subscribers count)" = $((4 * N + 1)) ] || fail "count $(bs subscribers count) after restart"
ok "SIGTERM during a sync: exit 0; at the next start a send waited for the sync and went to all $((4 * N + 1)), taken in slices"

# --- at start, both listeners answer while the file syncs
stop_daemon
make_subscribers $N "$T/subs.csv" u
n0=$(grep -c "subs.csv: added=" "$T/daemon.log")
start_daemon_early
# probe until the sync's summary line is logged
"$PY" "$TOP/tests/py/latency_probe.py" "$T/state/control.sock" "$HTTP_PORT" \
    sh -c 'until [ "$(grep -c "subs.csv: added=" "$1")" -gt "$2" ]; do
    sleep 0.05; done' sh "$T/daemon.log" "$n0" ||
    fail "the start-up sync held up the loop"
[ "$(bs subscribers count)" = $((5 * N + 1)) ] || fail "count $(bs subscribers count) after the start-up sync"
ok "500,000-row sync at start: listeners answered throughout"

# --- SIGTERM while a send waits for the sync: refused, nothing stored
stop_daemon
make_subscribers $N "$T/subs.csv" v
start_daemon_early
bs send "$T/st.txt" >"$T/send.out" 2>"$T/send.err" &
SEND_PID=$!
i=0
until [ "$(grep -c "waiting for the subscribers.file sync" "$T/daemon.log")" -ge 2 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "second send never waited for the sync"
	sleep 0.05
done
stop_daemon
wait $SEND_PID && fail "send returned 0 although the daemon stopped before storing it: $(cat "$T/send.out")"
grep -q "not stored: broadsided is shutting down" "$T/send.err" ||
    fail "send did not say why: $(cat "$T/send.err")"
start_daemon
n=$(bs status --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "$n broadcasts stored, want 1: the refused send was stored"
ok "SIGTERM while a send waited for the sync: send refused ($(cat "$T/send.err")), nothing stored"

# --- SIGKILL while recipients are being taken: the next start carries on
# from the last slice committed; every active subscriber once
ID=$(bs send "$T/st.txt" | head -n 1)
[ -n "$ID" ] || fail "send printed no ID"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
grep -q "broadcast $ID: recipients taken" "$T/daemon.log" &&
    fail "all recipients taken before the kill: nothing to resume"
bs status "$ID" >/dev/null 2>&1 && fail "daemon still answering after SIGKILL"
start_daemon
expect_rc 0 bs pause "$ID"
i=0
until grep -q "broadcast $ID: recipients taken" "$T/daemon.log"; do
	i=$((i + 1)); [ $i -lt 300 ] || fail "recipients never all taken after the restart"
	sleep 0.1
done
"$PY" - "$T/state/broadside.db" "$ID" <<'PYEOF' || fail "recipients after the kill are wrong"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
bid = int(sys.argv[2])
active = db.execute("SELECT count(*) FROM subscribers WHERE status = 1").fetchone()[0]
rows, distinct = db.execute("SELECT count(*), count(DISTINCT subscriber_id) "
                            "FROM deliveries WHERE broadcast_id = ?", (bid,)).fetchone()
total = db.execute("SELECT total FROM broadcasts WHERE id = ?", (bid,)).fetchone()[0]
missing = db.execute("SELECT count(*) FROM subscribers s WHERE status = 1 AND NOT EXISTS "
                     "(SELECT 1 FROM deliveries d WHERE d.broadcast_id = ? AND "
                     "d.subscriber_id = s.id)", (bid,)).fetchone()[0]
print("active %d, deliveries %d (%d distinct), total %d, missing %d"
      % (active, rows, distinct, total, missing))
sys.exit(0 if active == rows == distinct == total and missing == 0 else 1)
PYEOF
expect_rc 0 bs cancel "$ID"
ok "SIGKILL while taking recipients: the restart carried on; every active subscriber once"
stop_daemon
