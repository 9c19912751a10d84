# The rate limit holds at the server across a stall (issue 10 §2): with
# messages_per_second = 2 and burst = 1, one of the first recipients is
# slow- (the server holds its "." SLOW s).  The old engine took tokens when
# it queued jobs to the sender pool, so jobs piled up with tokens taken
# while the sender was stalled and all went out the moment it was free (4
# within 6 ms here at one connection, 7 in a second in the issue).
# Run at smtp.connections = 2, then 1, each its own daemon.  At 2 the
# old engine passes too (the other sender drains the pool's shared queue
# while one is stalled); it is there for the new limiter shared by
# several sender threads.  At 1 the old engine fails.
#
# The window, at the server, over accepted times ("data" events with 250
# in smtpd.py's log.jsonl, "t"): no window shorter than one second may
# hold more than rate + burst = 3 accepted messages, i.e. any 4
# consecutive accepts span at least 1 s - JITTER.  The slow message is one
# of them, counted when it is accepted (after the stall), not when it
# began: a correct limiter took its token when it began, and while it
# stalled the bucket refilled to burst, so when it is accepted the sender
# may take the burst token at once and the next one 0.5 s later: slow + 2
# = 3 in the second after the stall, and the 4th a full second after the
# slow's accept plus its own SMTP exchange.  (With two messages stalled at
# once no limiter could keep accepted times under rate + burst, so there
# is one.)  JITTER: an accepted time is the message's start plus its
# scheduling and SMTP exchange, milliseconds that vary more on a loaded
# machine, so 3 messages started 1 s apart by the limiter at 2 connections
# may be accepted a little under 1 s apart; the exact 1 s window saw 4 in
# a run of the old engine at 2 connections (span 0.999 s).  Measured on a
# loaded 2-core machine, shortest span of 4 accepts: with the limiter at
# send time 1.000 s at 2 connections and 1.012 s at 1; the old engine
# 0.999-1.003 s at 2 and 0.005-0.006 s at 1.  JITTER = 0.1 s is far more
# than the few ms seen, and still catches the old engine 150 times over.
# tests/run: alone (it bounds the rate per second at the server)
. "$(dirname "$0")/../lib.sh"

N=24
SLOW=4
JITTER=0.1
start_smtpd mail --slow-secs $SLOW
echo email,name > "$T/subs.csv"
for i in $(seq -w 1 $N); do
	if [ "$i" = 03 ]; then echo "slow-r$i@example.org,Reader $i"
	else echo "r$i@example.org,Reader $i"; fi
done >> "$T/subs.csv"

# phase CONNS: a daemon at CONNS connections sends one broadcast; checks
# the window over that broadcast's accepts
phase() {
	write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = $1; timeout = 20; };
rate: { messages_per_second = 2.0; burst = 1; batch_size = 10; };"
	start_daemon
	expect_rc 0 bs subscribers import "$T/subs.csv"
	bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
	ID=$(head -n 1 "$T/out")
	timeout 60 "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null 2>&1
	s=$(bs status "$ID" --json)
	echo "$s" | json_get '(j["state"], j["sent"]) == ("done", '$N') or sys.exit(1)' >/dev/null ||
	    fail "connections=$1: broadcast not done: $s"
	"$PY" - "$T/mail/log.jsonl" "$ID" $N 2.0 1 $JITTER $SLOW <<'PYEOF' || fail "connections=$1: rate exceeded at the server"
import collections, json, sys
log, bid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rate, burst, jitter, slow = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
acc, rcpt_t = [], {}
for e in map(json.loads, open(log)):
    mid = e.get("message_id") or ""
    if e["ev"] == "rcpt":
        rcpt_t[e["rcpt"]] = e["t"]
    if e["ev"] == "data" and e.get("code") == 250 and \
            int(mid.split(".")[0].lstrip("<b") or 0) == bid:
        acc.append((e["t"], e["rcpt"][0]))
acc.sort()
per = collections.Counter(a for _, a in acc)
assert len(acc) == n and len(per) == n, "accepted %d, %d addresses, want %d" % (len(acc), len(per), n)
ts = [t for t, _ in acc]
t_slow = [t for t, a in acc if a.startswith("slow-")][0]
# the stall really happened: the slow message was held, and others were
# still to go when it was released
after = sum(1 for t in ts if t > t_slow)
print("slow message accepted %.2f s after its RCPT, %d accepted after it" %
      (t_slow - rcpt_t["slow-r03@example.org"], after))
assert t_slow - rcpt_t["slow-r03@example.org"] >= slow - 0.5, "no stall"
assert after >= 5, "the stall came too late to test (%d after it)" % after
k = int(rate + burst)          # at most k accepts in any window
spans = [(ts[i + k] - ts[i], i) for i in range(len(ts) - k)]
span, i = min(spans)
win = 1.0 - jitter
busiest = max(sum(1 for u in ts if t <= u < t + 1.0) for t in ts)
print("shortest span of %d accepts: %.3f s (from %.3f s after the first); "
      "busiest 1 s window: %d (limit %d, window checked %.2f s)" %
      (k + 1, span, ts[i] - ts[0], busiest, k, win))
assert span >= win, "%d messages accepted within %.3f s (at most %d per second): %s" % (
    k + 1, span, k, ["%.3f %s" % (t - ts[0], a) for t, a in acc[i:i + k + 1]])
PYEOF
	ok "connections=$1: never more than rate + burst in a second, stall included"
	stop_daemon
}

phase 2
# a second daemon on the same store: the subscribers are already there
# (the import is idempotent), the broadcast is a new one
phase 1
