# broadsided as a service: one daemon per store and per socket, a stale
# socket from a crash is replaced, SIGHUP and `broadside reload` re-read
# the config (a broken one is refused and the old one stays), the
# subscriber file is synced at start and on reload, SIGTERM exits 0.
. "$(dirname "$0")/../lib.sh"

printf 'email,name\nfile1@example.org,One\n' > "$T/subs.csv"
write_config 'subscribers: { file = "subs.csv"; };'
start_daemon
[ "$(bs subscribers count)" = 1 ] || fail "subscribers.file not synced at start"
ok "subscribers.file synced at start"

# a second daemon on the same store refuses, and leaves the first alone
"$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] || fail "second daemon started"
grep -q "in use by another broadsided" "$T/err" || { cat "$T/err"; fail "no clear message"; }
bs status >/dev/null || fail "first daemon hurt by the second"
ok "second daemon on the same store refused (exit $rc)"

# a second daemon with another store but the same socket refuses too
sed 's|state/broadside.db|other.db|' "$T/broadside.conf" > "$T/other.conf"
"$BROADSIDED" -c "$T/other.conf" >"$T/out" 2>"$T/err"
[ $? -ne 0 ] || fail "second daemon took the live socket"
grep -q "another broadsided is listening" "$T/err" || { cat "$T/err"; fail "no clear socket message"; }
bs status >/dev/null || fail "first daemon lost its socket"
ok "live control socket not taken"

# reload through the CLI picks up the subscriber file
printf 'email,name\nfile1@example.org,One\nfile2@example.org,Two\n' > "$T/subs.csv"
expect_rc 0 bs reload
[ "$(bs subscribers count)" = 2 ] || fail "reload did not sync the file"
# and through SIGHUP
printf 'email,name\nfile3@example.org,Three\n' >> "$T/subs.csv"
kill -HUP "$DAEMON_PID"
i=0; while [ "$(bs subscribers count)" != 3 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ "$(bs subscribers count)" = 3 ] || fail "SIGHUP did not reload"
ok "reload by CLI and by SIGHUP"

# a broken config is refused, the daemon keeps running with the old one
cp "$T/broadside.conf" "$T/good.conf"
# the CLI itself reads the config: it names the error and exits 78
printf 'rate: { burst = "lots"; };\n' >> "$T/broadside.conf"
expect_rc 78 bs reload
grep -q "broadside.conf:9: rate.burst: expected an integer" "$T/err" || { cat "$T/err"; fail "CLI did not name the error"; }
# an error only the daemon can see (an unreadable password file)
cp "$T/good.conf" "$T/broadside.conf"
printf 'smtp: { username = "u"; password_file = "missing-pw"; };\n' >> "$T/broadside.conf"
expect_rc 78 bs reload
grep -q "old config stays" "$T/err" || { cat "$T/err"; fail "refusal not explained"; }
grep -q "smtp.password_file" "$T/daemon.log" || fail "reload errors not logged"
kill -HUP "$DAEMON_PID"; sleep 0.3
kill -0 "$DAEMON_PID" || fail "daemon died on a bad SIGHUP reload"
cp "$T/good.conf" "$T/broadside.conf"
[ "$(bs subscribers count)" = 3 ] || fail "daemon unusable after refused reload"
ok "broken config refused on reload, old one kept"

# SIGTERM: clean exit 0, socket removed
stop_daemon
[ -e "$T/state/control.sock" ] && fail "socket left behind"
ok "SIGTERM exits 0"

# SIGKILL leaves a stale socket; the next start replaces it
start_daemon
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
[ -S "$T/state/control.sock" ] || fail "expected a stale socket after SIGKILL"
start_daemon
[ "$(bs subscribers count)" = 3 ] || fail "state lost after SIGKILL"
ok "stale socket replaced after SIGKILL"

# file modes: database and secret 0600, socket 0660
[ "$(stat -c %a "$T/state/broadside.db")" = 600 ] || fail "db mode"
[ "$(stat -c %a "$T/state/secret")" = 600 ] || fail "secret mode"
[ "$(stat -c %a "$T/state/control.sock")" = 660 ] || fail "socket mode"
ok "modes 0600 / 0600 / 0660"

# a foreign database file is refused with a clear message
stop_daemon
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table x(a)"); c.commit()' "$T/foreign.db"
sed 's|state/broadside.db|foreign.db|' "$T/broadside.conf" > "$T/foreign.conf"
timeout 10 "$BROADSIDED" -c "$T/foreign.conf" >"$T/out" 2>"$T/err"
[ $? -ne 0 ] || fail "foreign database accepted"
grep -q "not a broadside database" "$T/err" || { cat "$T/err"; fail "foreign db message"; }
printf 'garbage that is not sqlite at all, long enough to be read as a header....................................' > "$T/junk.db"
sed 's|state/broadside.db|junk.db|' "$T/broadside.conf" > "$T/junk.conf"
timeout 10 "$BROADSIDED" -c "$T/junk.conf" >"$T/out" 2>"$T/err"
[ $? -ne 0 ] || fail "junk database accepted"
grep -q "junk.db" "$T/err" || { cat "$T/err"; fail "junk db not named"; }
ok "foreign and corrupt database files refused"
