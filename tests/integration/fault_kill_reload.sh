# SIGKILL during a reload: SIGHUP (which re-reads the config, templates
# and a 20,000-row subscribers.file), then SIGKILL a few milliseconds
# later, five times at different delays.  Each restart works, and in the
# end the store passes integrity_check, the subscribers and the finished
# broadcast are intact, and the file is fully synced.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
make_subscribers 20000 "$T/subs.csv"
write_config "subscribers: { file = \"subs.csv\"; };
smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; };"
start_daemon
[ "$(bs subscribers count)" = 20000 ] || fail "file not synced at start"
expect_rc 0 bs subscribers add kept@example.org
expect_rc 0 bs subscribers remove user00007@example.org
bs send --wait "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" 2>"$T/err" || fail "send"
ID=$(head -n 1 "$T/out")

# each reload brings 500 more rows in the file
for k in 1 2 3 4 5; do
	make_subscribers 500 "$T/more.csv" "r${k}x"
	tail -n +2 "$T/more.csv" >> "$T/subs.csv"
	kill -HUP "$DAEMON_PID"
	sleep "0.0$((k * 2 - 1))"
	kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
	grep -c "reload" "$T/daemon.log" | sed "s/^/kill $k: reload lines in log so far: /"
	start_daemon
done
want=$((20000 + 1 - 1 + 2500))
[ "$(bs subscribers count)" = $want ] || fail "count $(bs subscribers count), want $want (file not synced after restart)"
bs subscribers list > "$T/list"
grep -q "^user00007@example.org.*unsubscribed" "$T/list" || fail "unsubscribe lost"
grep -q "^kept@example.org" "$T/list" || fail "added subscriber lost"
s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["state"], j["sent"]) == ("done", 20000) or sys.exit(1)' >/dev/null ||
    fail "broadcast state changed: $s"
smtpd_report mail | json_get 'j["accepted"] == 20000 or sys.exit(1)' >/dev/null ||
    fail "something was sent again after the kills"
stop_daemon
"$PY" - "$T/state/broadside.db" <<'PYEOF' || fail "integrity"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
PYEOF
ok "5 SIGKILLs during reloads: restarts fine, integrity ok, subscribers and broadcast intact"
