# broadside store migrate --from sqlite:PATH (issue 13): a store made on
# SQLite -- subscribers with fields, one unsubscribed, one bounced by a
# broadcast done, a second broadcast paused halfway -- is
# copied into a new PostgreSQL database; every row agrees with the
# SQLite one, status and counts read the same through the daemon on
# PostgreSQL, the paused broadcast resumes there and reaches everyone it
# had not reached, each once, and new subscribers and imports take new
# ids.  Refused: while a daemon runs on the SQLite file (75), into a
# database that holds a list already (65), from something that is not
# sqlite:PATH (64), from a missing file (66).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_mig
N=200

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 20.0; batch_size = 10; };"
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_mig"
( umask 077; echo "$PG_PASSWORD" > "$T/state/pg.pw" )
sed "s|^storage: .*|storage: { url = \"$URL\"; node = \"mig-1\"; password_file = \"state/pg.pw\"; };|" \
    "$T/broadside.conf" > "$T/pg.conf"
grep -q "url = \"$URL\"" "$T/pg.conf" || fail "config not rewritten"
DB="$T/state/broadside.db"

# the SQLite era: the list, with fields, a bounce and an unsubscribe,
# a broadcast done and one paused halfway
"$PY" - "$N" "$T/subs.csv" <<'PYEOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("email,name,city\n")
    for i in range(n):
        local = "user%05d" % i
        if i == 7:
            local = "rcpt550-" + local      # fails: 550 5.1.1
        f.write('%s@example.org,"Name %d, \\ tab\there",Zürich %d\n' % (local, i, i))
PYEOF
start_daemon
expect_rc 0 bs subscribers import "$T/subs.csv"
expect_rc 0 bs subscribers remove user00009@example.org
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send 1"
B1=$(head -n 1 "$T/out")
wait_bc "$B1" 1200 'j["state"] == "done" and j["failed"] == 1' ||
    { diag "$B1"; fail "broadcast $B1 not through"; }
bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send 2"
B2=$(head -n 1 "$T/out")
# 10 sent, then the pause: 9 s before the rest would be out at 20 a
# second (at 40 a second and 40 sent, memcheck's slow `status` and
# `pause` let the broadcast end first)
wait_bc "$B2" 1200 'j["sent"] >= 10' || { diag "$B2"; fail "broadcast $B2 does not start"; }
expect_rc 0 bs pause "$B2"
wait_bc "$B2" 100 'j["state"] == "paused"' || { diag "$B2"; fail "$B2 not paused"; }
ok "SQLite: broadcast $B1 done (1 failed, bounced), $B2 paused at $(json_get 'j["sent"]' < "$T/status.json") sent"

# refused while the daemon holds the SQLite store
"$BROADSIDE" -c "$T/pg.conf" store migrate --from "sqlite:$DB" > "$T/busy.out" 2>&1
rc=$?
[ $rc -eq 75 ] || { cat "$T/busy.out"; fail "migrate while in use: exit $rc, want 75"; }
grep -q "in use" "$T/busy.out" || { cat "$T/busy.out"; fail "migrate while in use: no reason"; }
[ "$(pg_sql bs_mig "SELECT count(*) FROM pg_tables WHERE tablename = 'subscribers'")" = 0 ] ||
    [ "$(pg_sql bs_mig "SELECT count(*) FROM subscribers")" = 0 ] || fail "rows copied while in use"
ok "refused while a daemon runs on the SQLite file (75)"

for b in "$B1" "$B2"; do
	bs status "$b" --json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
print(" ".join(str(j[k]) for k in ("state", "total", "sent", "pending", "deferred", "failed")))' > "$T/before.$b" ||
	    fail "status $b"
done
bs subscribers count --json > "$T/count.before" || fail "count"
stop_daemon

# usage and input errors
expect_rc 64 "$BROADSIDE" -c "$T/pg.conf" store migrate --from "$DB"
expect_rc 64 "$BROADSIDE" -c "$T/pg.conf" store migrate
expect_rc 66 "$BROADSIDE" -c "$T/pg.conf" store migrate --from "sqlite:$T/nothing.db"
expect_rc 78 "$BROADSIDE" -c "$T/broadside.conf" store migrate --from "sqlite:$DB"
ok "bad uses: 64 (no sqlite:), 66 (missing file), 78 (storage is not PostgreSQL)"

"$BROADSIDE" -c "$T/pg.conf" store migrate --from "sqlite:$DB" > "$T/mig.out" 2> "$T/mig.err"
rc=$?
[ $rc -eq 0 ] || { cat "$T/mig.out" "$T/mig.err"; fail "migrate: exit $rc"; }
grep -q "^subscribers: $N copied$" "$T/mig.out" || { cat "$T/mig.out"; fail "no subscribers line"; }
grep -q "^broadcasts: 2 copied$" "$T/mig.out" || { cat "$T/mig.out"; fail "no broadcasts line"; }
grep -qF -e "$PG_PASSWORD" "$T/mig.out" "$T/mig.err" && fail "the password is shown"
ok "migrated: $(tr '\n' ';' < "$T/mig.out")"

# the rows, side by side
"$PY" - "$DB" > "$T/rows.sqlite" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for r in db.execute("SELECT id, email, key, name, fields, status, import_id, created FROM subscribers ORDER BY id"):
    print("s", *r, sep="|")
for r in db.execute("SELECT id, title, subject, state, total, sent, deferred, failed, snap_next IS NULL FROM broadcasts ORDER BY id"):
    print("b", *r, sep="|")
for r in db.execute("SELECT broadcast_id, subscriber_id, CASE WHEN state = 4 THEN prev_state ELSE state END, attempts, next_at, code, error FROM deliveries ORDER BY 1, 2"):
    print("d", *r, sep="|")
PYEOF
{
	pg_sql bs_mig "SELECT 's', id, email, key, name, fields, status, import_id, created FROM subscribers ORDER BY id"
	pg_sql bs_mig "SELECT 'b', id, title, subject, state, total, sent, deferred, failed, CASE WHEN snap_next IS NULL THEN 1 ELSE 0 END FROM broadcasts ORDER BY id"
	pg_sql bs_mig "SELECT 'd', broadcast_id, subscriber_id, state, attempts, next_at, code, error FROM deliveries ORDER BY 1, 2, 3"
} > "$T/rows.pg"
[ "$(grep -c '^s|' "$T/rows.sqlite")" -eq $N ] || fail "SQLite side: not $N subscribers"
grep -q 'Name 3, \\ tab	here|{"city":"Zürich 3"}' "$T/rows.pg" ||
    { grep user00003 "$T/rows.pg"; fail "a name with a comma, backslash and tab, or the fields, not kept"; }
diff "$T/rows.sqlite" "$T/rows.pg" > "$T/rows.diff" ||
    { head -20 "$T/rows.diff"; fail "PostgreSQL's rows differ from SQLite's"; }
[ "$(pg_sql bs_mig "SELECT count(*) FROM deliveries WHERE owner IS NOT NULL OR state = 4")" = 0 ] ||
    fail "claimed rows copied as claimed"
ok "every subscriber, broadcast and delivery row the same ($(wc -l < "$T/rows.pg") rows)"

# a second migrate into the same database: refused, nothing added
"$BROADSIDE" -c "$T/pg.conf" store migrate --from "sqlite:$DB" > "$T/again.out" 2>&1
rc=$?
[ $rc -eq 65 ] || { cat "$T/again.out"; fail "second migrate: exit $rc, want 65"; }
grep -q "already holds" "$T/again.out" || { cat "$T/again.out"; fail "second migrate: no reason"; }
[ "$(pg_sql bs_mig "SELECT count(*) FROM subscribers")" = $N ] || fail "second migrate added rows"
ok "a second migrate into a database with a list is refused (65)"

# the daemon on PostgreSQL reads the same
mv "$T/pg.conf" "$T/broadside.conf"
start_daemon
for b in "$B1" "$B2"; do
	bs status "$b" --json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
print(" ".join(str(j[k]) for k in ("state", "total", "sent", "pending", "deferred", "failed")))' > "$T/after.$b" ||
	    fail "status $b on PostgreSQL"
	cmp -s "$T/before.$b" "$T/after.$b" ||
	    fail "broadcast $b: SQLite said $(cat "$T/before.$b"), PostgreSQL says $(cat "$T/after.$b")"
done
bs subscribers count --json > "$T/count.after" || fail "count on PostgreSQL"
cmp -s "$T/count.before" "$T/count.after" ||
    fail "subscribers count: $(cat "$T/count.before") then $(cat "$T/count.after")"
ok "status of both broadcasts and the subscriber counts read the same on PostgreSQL"

# the paused broadcast goes on where it stopped: everyone once
expect_rc 0 bs resume "$B2"
wait_bc "$B2" 1200 'j["pending"] == 0' || {
	diag "$B2"
	pg_sql bs_mig "SELECT subscriber_id, state, owner, lease, next_at, attempts, prev_state FROM deliveries WHERE broadcast_id = $B2 AND state <> 1"
	pg_sql bs_mig "SELECT *, (extract(epoch from clock_timestamp()) * 1000)::bigint AS now_ms FROM nodes"
	fail "broadcast $B2 does not finish on PostgreSQL"
}
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
# two broadcasts to the $N - 1 still subscribed, but for the one that
# bounced
want = 2 * ($N - 2)
assert r['accepted'] == want, (r['accepted'], want)
assert len(r['per_rcpt']) == $N - 2, len(r['per_rcpt'])
bad = [a for a, n in r['per_rcpt'].items() if n != 2]
assert not bad, bad[:5]" || { diag "$B2"; fail "not everyone got both broadcasts once"; }
ok "broadcast $B2 resumed on PostgreSQL: every subscriber got both broadcasts, once"

# new rows continue after the copied ids
expect_rc 0 bs subscribers add new-after@example.org "After"
printf 'email\nimported-after@example.org\nuser00001@example.org\n' > "$T/more.csv"
expect_rc 0 bs subscribers import "$T/more.csv"
ids=$(pg_sql bs_mig "SELECT count(*) FROM subscribers WHERE id > $N")
[ "$ids" = 2 ] || fail "new subscribers: $ids rows with ids after the copied ones, want 2"
imp=$(pg_sql bs_mig "SELECT count(DISTINCT import_id) FROM subscribers WHERE import_id > 0")
[ "$imp" = 2 ] || fail "the new import reused an import id ($imp ids)"
ok "new subscribers and imports take new ids"
stop_daemon
