# Big subscriber lists never hold up the main loop.  A 500,000-row
# `subscribers import` goes in 256 KiB requests, and subscribers.file on
# reload is synced in slices between other events: meanwhile HTTP and the
# control socket keep answering quickly (tests/py/latency_probe.py; with
# the whole file read in one go they would wait for all of it);
# `broadside reload` returns once the rows are in; a
# reload during a sync starts it again and both end together; SIGTERM
# during a sync stops it between slices, exits 0, and the next start
# syncs the rest.
. "$(dirname "$0")/../lib.sh"

N=500000
HTTP_PORT=$(free_port)
make_subscribers 1 "$T/subs.csv" first
write_config "subscribers: { file = \"subs.csv\"; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
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
start_daemon
[ "$(bs subscribers count)" = $((4 * N + 1)) ] || fail "count $(bs subscribers count) after restart"
ok "SIGTERM during a sync: exit 0, the next start synced the rest"
stop_daemon
