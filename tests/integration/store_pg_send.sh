# broadsided on PostgreSQL (storage.url, node, password_file) end to end:
# a broadcast of 300 subscribers reaches the test SMTP server, each one
# exactly once; the store's rows agree (all sent, none left claimed, the
# counts in this node's row); the password never shows in the log; a
# wrong password stops the start with one line (exit 69) that does not
# show it either; a node whose secret_file differs from the store's first
# node's is refused (links and Message-IDs would not match).  A
# throwaway PostgreSQL 15 (tests/pg.sh), reached over TCP with
# scram-sha-256.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_send
N=300

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 4; timeout = 10; };
rate: { messages_per_second = 0.0; batch_size = 50; };"
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_send"
sed "s|^storage: .*|storage: { url = \"$URL\"; node = \"smoke-1\"; password_file = \"pg.pw\"; };|" \
    "$T/broadside.conf" > "$T/pg.conf"
mv "$T/pg.conf" "$T/broadside.conf"
grep -q "url = \"$URL\"" "$T/broadside.conf" || fail "config not rewritten"

# a wrong password first: refused at start, the password not shown
( umask 077; echo "not-$PG_PASSWORD" > "$T/state/pg.pw" )
sed -i 's|password_file = "pg.pw"|password_file = "state/pg.pw"|' "$T/broadside.conf"
"$BROADSIDED" -c "$T/broadside.conf" > "$T/bad.log" 2>&1
rc=$?
[ $rc -eq 69 ] || { cat "$T/bad.log"; fail "wrong password: exit $rc, want 69"; }
grep -q "storage: postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_send: connect:" "$T/bad.log" ||
    { cat "$T/bad.log"; fail "wrong password: no storage line naming the URL"; }
grep -qF -e "$PG_PASSWORD" "$T/bad.log" && fail "wrong password: the password is in the log"
ok "wrong password refused at start (69), not shown"

( umask 077; echo "$PG_PASSWORD" > "$T/state/pg.pw" )
start_daemon
grep -q "store=$URL" "$T/daemon.log" || { cat "$T/daemon.log"; fail "no store= line"; }
[ "$(pg_sql bs_send "SELECT version FROM broadside_schema")" -ge 1 ] ||
    fail "schema not made"
ok "started on PostgreSQL, schema made"

broadcast_to $N
[ "$ID" -gt 0 ] 2>/dev/null || fail "no broadcast id: $ID"
wait_bc "$ID" 1200 'j["state"] == "done"' || { diag "$ID"; fail "broadcast $ID not done"; }
bs status "$ID" --json | "$PY" -c "
import json, sys
s = json.load(sys.stdin)
want = ($N, $N, 0, 0, 0)
got = (s['total'], s['sent'], s['pending'], s['deferred'], s['failed'])
assert got == want, (got, want)" || { diag "$ID"; fail "status counts"; }
ok "broadcast $ID done: $N sent"

smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
assert r['accepted'] == $N, r['accepted']
assert r['duplicates'] == 0, r['duplicates']
assert len(r['per_rcpt']) == $N, len(r['per_rcpt'])
assert all(v == 1 for v in r['per_rcpt'].values())" || fail "server saw other than $N, once each"
ok "the server got $N messages, one per subscriber"

rows=$(pg_sql bs_send "SELECT count(*) FILTER (WHERE state = 1) || ' ' ||
    count(*) FILTER (WHERE state <> 1 OR owner IS NOT NULL) FROM deliveries
    WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "deliveries: sent / other or claimed = $rows"
node=$(pg_sql bs_send "SELECT node || ' ' || sent FROM bc_counts WHERE broadcast_id = $ID AND sent > 0")
[ "$node" = "smoke-1 $N" ] || fail "counts row: $node"
ok "store rows: all sent, none claimed, counted in node smoke-1's row"

stop_daemon
grep -qF -e "$PG_PASSWORD" "$T/daemon.log" && fail "the password is in the log"
ok "SIGTERM: exit 0; the password never logged"

# another secret_file than the store's first node used: refused
mv "$T/state/secret" "$T/state/secret.first"
"$BROADSIDED" -c "$T/broadside.conf" > "$T/secret.log" 2>&1
rc=$?
[ $rc -eq 69 ] || { cat "$T/secret.log"; fail "another secret: exit $rc, want 69"; }
grep -q "secret_file holds another key" "$T/secret.log" ||
    { cat "$T/secret.log"; fail "another secret: no message saying so"; }
mv "$T/state/secret.first" "$T/state/secret"
start_daemon
stop_daemon
ok "a node with another secret is refused (69); the same one starts"
