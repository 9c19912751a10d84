# The database file deleted under a running daemon (broadside.db and its
# -wal and -shm files unlinked in the middle of a broadcast).  What
# happens: SQLite keeps the open files, so the daemon keeps working on
# the unlinked inode -- no crash, and nothing it reports is false: the
# broadcast finishes and its counts match what the server accepted.  But
# what it records after the unlink lives only in that inode: stopping
# the daemon frees it, and the next start creates a new, empty store at
# the path.  The daemon notices within seconds (SQLite's HAS_MOVED) and
# logs a clear warning, and /healthz turns 503.  This test checks that and
# documents the rest.
. "$(dirname "$0")/../lib.sh"

N=300
start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 60.0; burst = 5; batch_size = 50; };
retry: { initial_delay = 1; max_delay = 2; };"
start_daemon
broadcast_to $N
wait_accepted 60 200
rm -f "$T/state/broadside.db" "$T/state/broadside.db-wal" "$T/state/broadside.db-shm"
ok "database deleted after $(accepted) accepted"

timeout 60 "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null 2>&1
kill -0 "$DAEMON_PID" || fail "daemon died"
s=$(bs status "$ID" --json) || fail "status after the unlink"
echo "$s" | json_get '(j["state"], j["sent"]) == ("done", '$N') or sys.exit(1)' >/dev/null ||
    fail "broadcast: $s"
smtpd_report mail | json_get '(len(j["per_rcpt"]), j["duplicates"]) == ('$N', 0) or sys.exit(1)' >/dev/null ||
    fail "server side differs from status"
expect_rc 0 bs subscribers add after-unlink@example.org
[ "$(bs subscribers count)" = $((N + 1)) ] || fail "count after the unlink"
ok "daemon kept working on the unlinked store: $N sent, matching the server"
i=0
until grep -q "storage: .*deleted or moved while open" "$T/daemon.log"; do
	i=$((i + 1)); [ $i -lt 150 ] || fail "the unlink was never reported"
	sleep 0.1
done
ok "the daemon reported the deleted store: $(grep -m1 'deleted or moved' "$T/daemon.log")"

stop_daemon
[ -e "$T/state/broadside.db" ] && fail "database reappeared at the path"
start_daemon
c=$(bs subscribers count)
echo "after restart: $c subscribers, broadcasts: $(bs status --json | json_get 'len(j) if isinstance(j, list) else j' 2>/dev/null)"
[ "$c" = 0 ] || fail "expected a new empty store after restart, got $c subscribers"
ok "documented: after a restart the path holds a new, empty store (the deleted one is gone with its inode)"
stop_daemon
