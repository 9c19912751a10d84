# A reload applies new pacing (issue 12 section 3): gmail.com paced at
# 10 a second, then `broadside reload` with 40 mid-broadcast.  The group
# runs at 10 before (+-10 % over 4 s); after, what is ready goes at the
# new rate at once, and the recipients postponed at the old rate come
# back at twice it at least (their schedule), so over the 3 s from 1 s
# after the reload it sends between 60 (20 a second) and 126 (40 a
# second, the 2 saved and some jitter), with nobody lost or sent twice.
# Before the postponed rows were polled for, a lone paced group stalled
# 5 s at a time (0 in those 3 s).  Measured here: 40 before, 112-118
# after.
# tests/run: alone (it bounds rates over 3 and 4 s)
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
conf() {
	write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 4; timeout = 10; };
pacing: { groups = ( { match = \"gmail.com\"; rate = $1; } ); };"
}
conf 10
start_daemon
"$PY" - "$T/subs.csv" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name\n")
    for i in range(420):
        f.write("g%04d@gmail.com,G %d\n" % (i, i))
PYEOF
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
# about 6 s at 10 a second, then the reload
i=0
until [ "$(grep -c '"code": 250, "ev": "data"' "$T/mail/log.jsonl" 2>/dev/null)" -ge 60 ]; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "60 not sent in 20 s"
	sleep 0.1
done
conf 40
T_RELOAD=$("$PY" -c 'import time; print(time.time())')
expect_rc 0 bs reload
wait_bc "$ID" 600 'j["state"] == "done"' || fail "broadcast not done in 60 s"
"$PY" - "$T/mail/log.jsonl" "$T_RELOAD" <<'PYEOF' >"$T/rates" || { cat "$T/rates"; fail "rates around the reload"; }
import json, sys
tr = float(sys.argv[2])
ts = sorted(json.loads(l)["t"] for l in open(sys.argv[1])
            if json.loads(l)["ev"] == "data" and json.loads(l)["code"] == 250)
before = sum(1 for t in ts if tr - 4.5 <= t < tr - 0.5)
after = sum(1 for t in ts if tr + 1.0 <= t < tr + 4.0)
print("before: %d in 4 s (want 40), after: %d in 3 s (want 60 to 126), "
      "%d in all" % (before, after, len(ts)))
sys.exit(0 if abs(before - 40) <= 4 and 60 <= after <= 126 and
         len(ts) == 420 else 1)
PYEOF
cat "$T/rates"
[ "$(smtpd_report mail | json_get 'j["duplicates"]')" = 0 ] || fail "duplicates"
ok "a reload's new group rate applies at once: $(cat "$T/rates")"
stop_daemon
