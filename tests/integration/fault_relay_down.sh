# The relay is down (connection refused) for 30 s while a 50-recipient
# broadcast starts, with retry.max_attempts = 3 and initial_delay = 1
# (issue 10 §1).  A dead relay is nobody's recipient fault: the old
# engine failed all 50 within 6 s.  Now, during the outage:
#   state "waiting", reason "waiting for relay: ...", failed 0, deferred 0
#   (no attempt spent), nobody bounced, `send --wait` still waiting, and
#   /metrics shows the waiting reason.
# Once the relay answers on the same port:
#   every recipient is delivered within 45 s of its start, once each;
#   delivery runs at the configured rate (50/s: all 50 within 3 s of the
#   first accepted message, by the server's clock), and `send --wait`
#   exits 0.
#
# Timing: the relay backoff doubles from 1 s to at most 30 s, +-20 %
# jitter.  In the worst case the try before the relay's return comes just
# before it and the next waits 36 s: delivery starts <= 36 s after the
# server does, which leaves 9 s of the 45 (measured here: see the "ok"
# line).  50 messages at 50/s take ~1 s; 3 s leaves 2 s for a loaded
# 2-core machine.  Whole test: 30 s outage + at most ~40 s.
. "$(dirname "$0")/../lib.sh"

N=50
OUTAGE=30
PORT=$(free_port)
HTTP_PORT=$(free_port)
write_config "smtp: { url = \"smtp://127.0.0.1:$PORT\"; connections = 4; timeout = 5; };
rate: { messages_per_second = 50.0; burst = 5; };
retry: { max_attempts = 3; initial_delay = 1; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
start_daemon

echo email,name > "$T/subs.csv"
for i in $(seq 0 $((N - 1))); do
	printf 'reader%02d@d%d.example,Reader %d\n' "$i" $((i % 5)) "$i"
done >> "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"

t0=$(date +%s)
bs send --wait "$TOP/tests/fixtures/statement-plain.txt" >"$T/send.out" 2>"$T/send.err" &
SEND_PID=$!
PIDS="$PIDS $SEND_PID"
ID=$(sent_id "$T/send.out" "$T/send.err" 10) || exit 1

# waiting_ok: the broadcast in $T/status.json is waiting for the relay,
# with nothing spent
waiting_ok() {
	json_get '(j["state"] == "waiting" and (j.get("reason") or "").startswith("waiting for relay:") and (j["sent"], j["failed"], j["deferred"]) == (0, 0, 0)) or sys.exit(1)' \
	    <"$T/status.json" >/dev/null
}
wait_bc "$ID" 100 'j["state"] != "sending" and j["state"] != "queued"' ||
    { diag "$ID"; fail "broadcast not waiting within 10 s of the send"; }
waiting_ok || { diag "$ID"; fail "relay down: want waiting, nothing spent: $(cat "$T/status.json")"; }
ok "waiting: $(json_get 'j["reason"]' <"$T/status.json")"

# sample all through the outage
metrics=0 samples=0
while [ $(( $(date +%s) - t0 )) -lt $OUTAGE ]; do
	sleep 2
	kill -0 "$DAEMON_PID" 2>/dev/null || { diag "$ID"; fail "daemon died in the outage"; }
	bs status "$ID" --json >"$T/status.json" || fail "status in the outage"
	waiting_ok || { diag "$ID"; fail "$(( $(date +%s) - t0 )) s into the outage: $(cat "$T/status.json")"; }
	sub_states >"$T/subs" || fail "subscribers list"
	grep -q ' bounced$' "$T/subs" && { diag "$ID"; fail "subscribers bounced by a dead relay"; }
	kill -0 "$SEND_PID" 2>/dev/null || { cat "$T/send.err" >&2; fail "send --wait ended in the outage"; }
	if [ $metrics = 0 ]; then
		"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		    "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics" || fail "GET /metrics"
		grep -q "waiting for relay" "$T/metrics" ||
		    { grep -v '^#' "$T/metrics" >&2; fail "/metrics does not show the waiting reason"; }
		metrics=1
	fi
	samples=$((samples + 1))
done
ok "$samples samples in the ${OUTAGE} s outage: waiting, nothing failed or deferred, nobody bounced; /metrics says so"

start_smtpd_on mail "$PORT"
t1=$(date +%s)
while [ "$(accepted)" -lt $N ]; do
	[ $(( $(date +%s) - t1 )) -lt 45 ] ||
	    { diag "$ID"; fail "relay back 45 s, $(accepted) of $N delivered"; }
	kill -0 "$DAEMON_PID" 2>/dev/null || { diag "$ID"; fail "daemon died"; }
	sleep 0.2
done
ok "all $N delivered $(( $(date +%s) - t1 )) s after the relay came back"

"$PY" - "$T/mail/log.jsonl" $N <<'PYEOF' || { diag "$ID"; fail "rate after the relay came back"; }
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
t = sorted(e["t"] for e in ev if e["ev"] == "data" and e["code"] == 250)
start = min(e["t"] for e in ev if e["ev"] == "connect")
n = int(sys.argv[2])
print("first connection to first accepted: %.1f s; first to last accepted: %.2f s"
      % (t[0] - start, t[-1] - t[0]))
assert len(t) == n, len(t)
assert t[-1] - t[0] <= 3.0, "50 messages at 50/s took %.2f s" % (t[-1] - t[0])
PYEOF

i=0
while kill -0 "$SEND_PID" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "send --wait still waiting 10 s after the last delivery"
	sleep 0.1
done
wait "$SEND_PID"
rc=$?
[ $rc -eq 0 ] || { cat "$T/send.err" >&2; fail "send --wait exited $rc, want 0"; }
ok "send --wait exited 0"

bs status "$ID" --json >"$T/status.json"
json_get '(j["state"], j["sent"], j["failed"], j["deferred"], j["reason"]) == ("done", '$N', 0, 0, None) or sys.exit(1)' \
    <"$T/status.json" >/dev/null || { diag "$ID"; fail "end status: $(cat "$T/status.json")"; }
smtpd_report mail >"$T/report.json"
json_get '(j["accepted"], j["unique"], j["duplicates"]) == ('$N', '$N', 0) or sys.exit(1)' \
    <"$T/report.json" >/dev/null || { diag "$ID"; fail "server side: $(cat "$T/report.json")"; }
sub_states >"$T/subs"
[ "$(grep -c ' active$' "$T/subs")" -eq $N ] || { cat "$T/subs" >&2; fail "subscribers at the end"; }
ok "done: $N sent once each, nobody failed or bounced"
stop_daemon
