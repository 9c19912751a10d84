# Hostile clients against the public listener (tests/py/http_hostile.py):
# 65 KB bodies, 9 KB headers, traversal and bad percent-encoding, odd
# methods, silent and slowloris clients, 2000 connections; the daemon
# refuses each cleanly, keeps its descriptors under the cap, answers
# /healthz after, logs no crash and exits 0 on SIGTERM.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
write_config "http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon
CAP=$(sed -n 's/.*http: listening on .* (at most \([0-9]*\) connections).*/\1/p' "$T/daemon.log")
[ -n "$CAP" ] || { cat "$T/daemon.log"; fail "no connection cap in the log"; }
"$PY" "$TOP/tests/py/http_hostile.py" "$PORT" "$DAEMON_PID" "$CAP"
rc=$?
[ $rc -eq 0 ] || { tail -n 20 "$T/daemon.log" >&2; [ $rc -eq 77 ] && exit 77; fail "hostile clients (rc $rc)"; }
kill -0 "$DAEMON_PID" || fail "daemon died"
stop_daemon
ok "daemon unaffected, clean exit"
