# PostgreSQL restarted in the middle of a broadcast (pg_ctl restart -m
# fast): the daemon's connections break, the calls that meet them fail
# (the engine backs off as for any store fault), the next ones
# reconnect, and the broadcast finishes: every subscriber served, the
# duplicates within what was in flight and uncommitted (SPEC: at most
# 3 x connections + batch_size), no row left claimed.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
pg_createdb bs_restart
N=400

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 100.0; burst = 10; batch_size = 20; };"
URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/bs_restart"
sed -i "s|^storage: .*|storage: { url = \"$URL\"; node = \"r1\"; password_file = \"state/pg.pw\"; };|" \
    "$T/broadside.conf"
( umask 077; echo "$PG_PASSWORD" > "$T/state/pg.pw" )
start_daemon

broadcast_to $N
[ "$ID" -gt 0 ] 2>/dev/null || fail "no broadcast id: $ID"
wait_accepted 100 600
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" -m fast -w -t 60 \
    -o "-p $PG_PORT -k $PGT -c listen_addresses=127.0.0.1 -c fsync=off" \
    restart >"$T/restart.log" 2>&1 || { cat "$T/restart.log"; fail "pg_ctl restart"; }
got=$(accepted)
[ "$got" -lt $N ] || fail "the broadcast ended before the restart ($got sent)"
ok "PostgreSQL restarted after $got of $N messages"

wait_bc "$ID" 1200 'j["state"] == "done"' || { diag "$ID"; fail "broadcast $ID not done after the restart"; }
grep -q "storage\|store" "$T/daemon.log" || true
smtpd_report mail | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
n = $N
missing = n - len(r['per_rcpt'])
assert missing == 0, '%d subscribers got nothing' % missing
dup = r['accepted'] - n
assert dup <= 3 * 2 + 20, '%d duplicates' % dup
print('duplicates', dup)" || { diag "$ID"; fail "after the restart"; }
rows=$(pg_sql bs_restart "SELECT count(*) FILTER (WHERE state = 1) || ' ' ||
    count(*) FILTER (WHERE state <> 1 OR owner IS NOT NULL) FROM deliveries
    WHERE broadcast_id = $ID")
[ "$rows" = "$N 0" ] || fail "deliveries: sent / other or claimed = $rows"
ok "every subscriber served, rows all sent, none claimed"
stop_daemon
