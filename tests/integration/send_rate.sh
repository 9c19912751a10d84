# Rate limiting, measured at the server: 30 s at 100 msg/s must average
# within 2 % of 100, and no clock second may hold more than rate + burst
# messages.
# tests/run: alone (it bounds no second at the server above rate + burst)
. "$(dirname "$0")/../lib.sh"

RATE=100
BURST=10
N=$((30 * RATE + BURST))
start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 4; };
rate: { messages_per_second = $RATE.0; burst = $BURST; batch_size = 200; };"
start_daemon
make_subscribers $N "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"

"$PY" - "$T/mail/log.jsonl" "$N" "$RATE" "$BURST" <<'PYEOF' || fail "rate"
import collections, json, sys
log, n, rate, burst = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ts = sorted(e["t"] for e in map(json.loads, open(log))
            if e["ev"] == "data" and e.get("code") == 250)
assert len(ts) == n, (len(ts), n)
duration = ts[-1] - ts[0]
measured = (n - burst) / duration
print("%d messages in %.2f s: %.2f msg/s (want %.0f +- 2%%)" % (n, duration, measured, rate))
assert abs(measured - rate) <= 0.02 * rate, measured
# clock seconds, as a receiving MTA or a monitor counts them
per_second = collections.Counter(int(t) for t in ts)
worst = max(per_second.values())
print("busiest second: %d messages (limit %d)" % (worst, rate + burst))
assert worst <= rate + burst, worst
PYEOF
ok "rate within 2 %, no second over rate + burst"
stop_daemon
