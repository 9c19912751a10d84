# Reload during a broadcast, measured at the SMTP server: a refused reload
# (a new rate together with an error only the daemon sees) changes nothing,
# the broadcast keeps its 5 msg/s; a good reload to 40 msg/s speeds up the
# running broadcast at once; nobody is skipped or sent twice.
# tests/run: alone (it bounds the rate at the server)
. "$(dirname "$0")/../lib.sh"

N=80
start_smtpd mail
smtp="url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2;"
write_config "smtp: { $smtp };
rate: { messages_per_second = 5.0; burst = 1; batch_size = 20; };"
cp "$T/broadside.conf" "$T/slow.conf"
start_daemon
make_subscribers $N "$T/subs.csv" reader
expect_rc 0 bs subscribers import "$T/subs.csv"
printf 'Title: Night buses – “a trial”…\n\nLate routes run to the coast; fares stay at €2.\n' > "$T/st.txt"

now() { "$PY" -c 'import time; print("%.6f" % time.time())'; }
t0=$(now)
id=$(bs send "$T/st.txt" | head -n 1)
[ -n "$id" ] || fail "send printed no id"
sleep 2.5

# refused: the new rate comes with a password file that does not exist
write_config "smtp: { $smtp username = \"u\"; password_file = \"missing-pw\"; };
rate: { messages_per_second = 100.0; burst = 50; batch_size = 20; };"
t_bad=$(now)
expect_rc 78 bs reload
grep -q "old config stays" "$T/err" || { cat "$T/err" >&2; fail "refusal not reported"; }
sleep 2.5

# good: 40 msg/s
cp "$T/slow.conf" "$T/broadside.conf"
sed -i 's/messages_per_second = 5.0; burst = 1;/messages_per_second = 40.0; burst = 1;/' "$T/broadside.conf"
grep -q 'messages_per_second = 40.0' "$T/broadside.conf" || fail "test config edit"
t_good=$(now)
expect_rc 0 bs reload
i=0
while [ "$(bs status "$id" --json | json_get 'j["state"]')" != done ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "broadcast $id not done 20 s after the reload"
	sleep 0.1
done
t_end=$(now)

"$PY" - "$T/mail/log.jsonl" "$N" "$t0" "$t_bad" "$t_good" "$t_end" <<'PYEOF' || fail "rates around the reloads"
import json, sys
log, n = sys.argv[1], int(sys.argv[2])
t0, t_bad, t_good, t_end = map(float, sys.argv[3:])
ts = sorted(e["t"] for e in map(json.loads, open(log))
            if e["ev"] == "data" and e.get("code") == 250)
assert len(ts) == n, ("accepted", len(ts), n)
def rate(a, b):
    k = [t for t in ts if a <= t < b]
    return len(k), (len(k) - 1) / (k[-1] - k[0]) if len(k) > 2 else 0.0
before = rate(t0 + 0.5, t_bad)
refused = rate(t_bad + 0.2, t_good)
after = rate(t_good + 0.2, t_end)
print("before: %d msgs %.1f/s; after refused reload: %d msgs %.1f/s; "
      "after good reload: %d msgs %.1f/s" % (before + refused + after))
assert 3.5 <= before[1] <= 6.0, ("before", before)
assert 3.5 <= refused[1] <= 6.0, ("refused reload changed the rate", refused)
assert after[0] >= 20, ("too few messages after the reload", after)
assert 20.0 <= after[1] <= 44.0, ("good reload did not set 40/s", after)
PYEOF
smtpd_report mail > "$T/report"
[ "$(json_get 'j["duplicates"]' < "$T/report")" = 0 ] || fail "duplicates: $(cat "$T/report")"
st=$(bs status "$id" --json)
[ "$(printf '%s' "$st" | json_get 'j["sent"]')" = $N ] || fail "status: $st"
[ "$(printf '%s' "$st" | json_get 'j["failed"]')" = 0 ] || fail "status: $st"
ok "refused reload kept 5 msg/s; good reload (to 40 msg/s) sped up the running broadcast $id; all $N sent once"
stop_daemon
