# A broadside database damaged at rest (daemon_lifecycle.sh covers a
# foreign SQLite file and a junk file): its pages overwritten with junk
# behind a valid header, or the file cut in half.  The daemon must not
# crash: it refuses to start naming the file, or, if the damage is only
# found when a page is read, every command touching it fails with a
# clear error and the daemon stays up.
. "$(dirname "$0")/../lib.sh"

write_config
start_daemon
make_subscribers 5000 "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
stop_daemon
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)")' "$T/state/broadside.db"
cp "$T/state/broadside.db" "$T/good.db"
size=$(stat -c %s "$T/good.db")

try() {
	what=$1
	timeout 20 "$BROADSIDED" -c "$T/broadside.conf" >"$T/d.out" 2>"$T/d.err" &
	DAEMON_PID=$!
	PIDS="$PIDS $DAEMON_PID"
	i=0
	while ! grep -q " started: " "$T/d.err" && kill -0 "$DAEMON_PID" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "$what: neither up nor exited"
		sleep 0.1
	done
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		wait "$DAEMON_PID"; rc=$?
		[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ $rc -ne 124 ] || fail "$what: exit $rc"
		grep -q "broadside.db" "$T/d.err" || { cat "$T/d.err"; fail "$what: file not named"; }
		ok "$what: refused at start (exit $rc): $(tail -n 1 "$T/d.err")"
		return
	fi
	sleep 0.3
	bs status >/dev/null 2>"$T/err"; r0=$?
	bs subscribers list >"$T/out" 2>>"$T/err"; r1=$?
	bs subscribers count >/dev/null 2>>"$T/err"; r2=$?
	bs subscribers add new@example.org >/dev/null 2>>"$T/err"; r3=$?
	kill -0 "$DAEMON_PID" || fail "$what: daemon crashed on reading the damage"
	[ $r0 -ne 0 ] || [ $r1 -ne 0 ] || [ $r2 -ne 0 ] || [ $r3 -ne 0 ] ||
	    fail "$what: damage never reported ($(wc -l < "$T/out") listed)"
	grep -qi "malformed\|corrupt\|not a database" "$T/err" || { cat "$T/err"; fail "$what: no clear error"; }
	kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID"; rc=$?
	[ $rc -lt 128 ] || fail "$what: exit $rc on SIGTERM"
	ok "$what: started, damage reported on use ($(head -n 1 "$T/err")), no crash"
}

# junk over the middle pages, header intact
cp "$T/good.db" "$T/state/broadside.db"
rm -f "$T/state/broadside.db-wal" "$T/state/broadside.db-shm"
"$PY" - "$T/state/broadside.db" <<'PYEOF'
import os, sys
f = open(sys.argv[1], "r+b")
size = os.path.getsize(sys.argv[1])
f.seek(4096 * 2)
f.write(os.urandom(size - 4096 * 4))
PYEOF
try "pages overwritten"

# cut in half
cp "$T/good.db" "$T/state/broadside.db"
rm -f "$T/state/broadside.db-wal" "$T/state/broadside.db-shm"
truncate -s $((size / 2)) "$T/state/broadside.db"
try "file cut in half"

# the good copy still works
cp "$T/good.db" "$T/state/broadside.db"
rm -f "$T/state/broadside.db-wal" "$T/state/broadside.db-shm"
start_daemon
[ "$(bs subscribers count)" = 5000 ] || fail "good copy"
stop_daemon
