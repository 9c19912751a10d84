# SIGKILL in the middle of a 300,000-row subscriber import.  The import
# commits one transaction per 1 MiB chunk, so it is not all-or-nothing:
# it is resumable.  After the kill the store passes PRAGMA
# integrity_check, holds only whole rows from committed chunks (a prefix
# of the file, no half-written subscriber), and running the same import
# again completes it: every row present exactly once.
. "$(dirname "$0")/../lib.sh"

N=300000
write_config
start_daemon
make_subscribers $N "$T/subs.csv"
bs subscribers import "$T/subs.csv" >"$T/imp.out" 2>"$T/imp.err" &
IMP=$!
PIDS="$PIDS $IMP"
i=0
while ! grep -q "import 1: started" "$T/daemon.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "import did not start"
	sleep 0.05
done
sleep 0.2
grep -q "import 1: done" "$T/daemon.log" && fail "import finished before the kill: make the file bigger"
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
wait "$IMP"; rc=$?
[ $rc -ne 0 ] || fail "CLI import reported success after the daemon was killed"
ok "daemon SIGKILLed during the import; CLI exit $rc: $(tail -n 1 "$T/imp.err")"

check_store() {
	"$PY" - "$T/state/broadside.db" "$1" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ic = db.execute("PRAGMA integrity_check").fetchall()
assert ic == [("ok",)], ic
emails = [r[0] for r in db.execute("SELECT email FROM subscribers")]
n = len(emails)
assert len(set(emails)) == n, "duplicate rows"
# a prefix of the file: user00000 .. user{n-1}
want = {"user%05d@example.org" % i for i in range(n)}
assert set(emails) == want, "not a prefix of the file"
bad = db.execute("SELECT count(*) FROM subscribers WHERE name = '' OR name IS NULL").fetchone()[0]
assert bad == 0, "half-written rows"
if sys.argv[2] != "any":
    assert n == int(sys.argv[2]), (n, sys.argv[2])
print(n)
PYEOF
}
n=$(check_store any) || fail "store inconsistent after the kill"
[ "$n" -lt $N ] || fail "all $N rows present: the kill came too late"
ok "integrity_check ok; $n of $N rows, whole chunks, a prefix of the file"

start_daemon
expect_rc 0 bs subscribers import "$T/subs.csv"
cat "$T/out"
[ "$(bs subscribers count)" = $N ] || fail "count after re-import: $(bs subscribers count)"
stop_daemon
check_store $N >/dev/null || fail "store after re-import"
ok "re-running the import completed it: $N rows, each once"
