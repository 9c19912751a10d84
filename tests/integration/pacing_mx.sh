# Domains outside the static table are grouped by their MX (issue 12
# section 3): a stub DNS server (tests/dnsstub.py, Debian's python3-dnslib,
# UDP and TCP on 127.0.0.1, each answer 300 ms late) is pacing.dns.
# corp.test's MX is aspmx.l.google.com, so this Google Workspace domain
# shares the gmail group's bucket with gmail.com (20 a second for the
# pair, not 20 each); shop.test and shop2.test have their MX at
# mailhost.example, a configured group of 20 a second together; nomx.test
# has no MX (NXDOMAIN): its own group, unpaced.  While a domain's MX is
# unknown its recipients wait, none fails.  Measured over 8 s from 1 s
# after each pair's first message: 158-160 of 160 for both pairs here,
# also with two busy loops on the 2 cores (bounds +-8); without MX
# grouping each domain would run at its own rate (320 for a pair).
# tests/run: alone (it bounds rates per second)
. "$(dirname "$0")/../lib.sh"

"$PY" -c 'import dnslib' 2>/dev/null ||
    { echo "python3-dnslib missing (scripts/deps installs it)"; exit 77; }
"$PY" "$TOP/tests/dnsstub.py" --portfile "$T/dns.port" --log "$T/dns.log" \
    --delay-ms 300 --mx corp.test=aspmx.l.google.com \
    --mx shop.test=mx1.mailhost.example --mx shop2.test=mx2.mailhost.example \
    >/dev/null 2>"$T/dns.err" &
PIDS="$PIDS $!"
i=0
until [ -s "$T/dns.port" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "dnsstub.py did not start: $(cat "$T/dns.err")"
	sleep 0.1
done
DNS_PORT=$(cat "$T/dns.port")

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 8; timeout = 10; };
pacing: { dns = \"127.0.0.1:$DNS_PORT\";
          groups = ( { match = \"gmail.com\"; rate = 20; },
                     { match = \"mailhost.example\"; rate = 20; } ); };"
start_daemon
"$PY" - "$T/subs.csv" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,name\n")
    for i in range(120):
        f.write("g%03d@gmail.com,G\nc%03d@corp.test,C\n" % (i, i))
        if i < 110:
            f.write("s%03d@shop.test,S\nt%03d@shop2.test,T\n" % (i, i))
        if i < 40:
            f.write("n%03d@nomx.test,N\n" % i)
PYEOF
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_bc "$ID" 400 'j["state"] == "done"' || { tail -5 "$T/daemon.log"; fail "broadcast $ID not done in 40 s"; }
"$PY" - "$T/status.json" <<'PYEOF' || fail "not all sent"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["sent"] == 500 and j["failed"] == 0 and j["deferred"] == 0 else 1)
PYEOF
"$PY" - "$T/mail/log.jsonl" <<'PYEOF' >"$T/rates" || { cat "$T/rates"; fail "MX grouping"; }
import json, sys
pair = {"gmail.com": "gmail", "corp.test": "gmail", "shop.test": "mailhost",
        "shop2.test": "mailhost", "nomx.test": "nomx"}
times = {"gmail": [], "mailhost": [], "nomx": []}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["ev"] == "data" and r["code"] == 250:
        times[pair[r["rcpt"][0].rsplit("@", 1)[1]]].append(r["t"])
bad = 0
for g in ("gmail", "mailhost"):
    # from 1 s after the group's first message: the MX answers come
    # 300 ms apart, later on a loaded machine
    t0 = min(times[g]) + 1.0
    n = sum(1 for t in times[g] if t0 <= t < t0 + 8.0)
    print("%s group: %d in 8 s (want 160 +-5 %%)" % (g, n))
    bad |= abs(n - 160) > 8
# each domain is paced with its pair (unpaced, it would be done in well
# under a second): the pair's 240 or 220 take 11 to 12 s at 20 a second
dom = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["ev"] == "data" and r["code"] == 250:
        dom.setdefault(r["rcpt"][0].rsplit("@", 1)[1], []).append(r["t"])
for d in ("corp.test", "shop.test", "shop2.test"):
    span = max(dom[d]) - min(dom[d])
    print("%s: %d over %.1f s" % (d, len(dom[d]), span))
    bad |= span < 8.0
# unpaced: nomx.test's 40 do not wait for the others
span = max(times["nomx"]) - min(times["nomx"])
print("nomx.test: 40 in %.1f s" % span)
bad |= span > 5.0
sys.exit(bad)
PYEOF
cat "$T/rates"
# each domain outside the table asked once (gmail.com is in the table)
for d in corp.test shop.test shop2.test nomx.test; do
	n=$(grep -c "^$d MX" "$T/dns.log")
	[ "$n" -ge 1 ] || fail "$d never looked up"
done
grep -q "^gmail.com " "$T/dns.log" && fail "gmail.com looked up (it is in the static table)"
ok "grouped by MX through the stub resolver: $(tr '\n' ' ' <"$T/rates")"
stop_daemon
