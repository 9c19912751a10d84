# A reload that changes SMTP settings in the middle of a broadcast, with
# a server that never answers QUIT (smtpd.py --quit-hang) and
# smtp.timeout = 5 (issue 10 §2): the old engine joined the old sender
# threads on the main loop, each waiting for its QUIT reply until the
# timeout, and the listeners went unanswered ~5 s (4.8 s in the issue).
# tests/py/latency_probe.py asks the control socket and /healthz in turn
# every 20 ms during `broadside reload` and the 7 s after it (longer than
# the old sessions' QUIT timeout): the worst answer must be under
# LIMIT_MS.  At the server (smtpd.py's connect/close events), the SMTP
# sessions open at once never exceed smtp.connections (2, unchanged):
# closing the old sessions off the loop must not let the new senders open
# theirs while the old ones still hang in QUIT.  (The old engine passes
# that part only because its loop was frozen in the join meanwhile, so no
# job reached the new senders: 4 sessions in all, 2 at most at once.)
# Everyone is still delivered exactly once.
#
# LIMIT_MS: the loop must answer within 50 ms; measured here on a loaded
# 2-core machine, the worst answer during the reload and after was
# 7-41 ms in 5 runs (a reload re-reads the config, templates and
# subscriber file on the loop), so 100 ms, over twice the worst seen,
# against the old engine's 4,989-5,003 ms.
# tests/run: alone (it bounds every answer within 100 ms)
. "$(dirname "$0")/../lib.sh"

N=90
CONNS=2
LIMIT_MS=100
start_smtpd mail --quit-hang
HTTP_PORT=$(free_port)
conf() {
	write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = $CONNS; timeout = $1; };
rate: { messages_per_second = 6.0; burst = 1; batch_size = 10; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
}
conf 5
start_daemon
broadcast_to $N
wait_accepted 12 300

conf 6		# an SMTP setting changed: new sender sessions
"$PY" "$TOP/tests/py/latency_probe.py" --limit-ms $LIMIT_MS --every-ms 20 \
    "$T/state/control.sock" "$HTTP_PORT" \
    sh -c '"$0" -c "$1" reload && sleep 7' "$BROADSIDE" "$T/broadside.conf" \
    >"$T/probe.out" 2>&1
rc=$?
cat "$T/probe.out"
kill -0 "$DAEMON_PID" 2>/dev/null || { tail -n 20 "$T/daemon.log"; fail "daemon died"; }
[ $rc -eq 0 ] || fail "listeners slow during a reload of the SMTP settings: $(grep FAIL "$T/probe.out" | head -n 2 | tr '\n' ' ')"
a=$(accepted)
[ "$a" -lt $N ] || fail "the broadcast ended before the reload was over ($a of $N): cannot judge"
ok "listeners answered under $LIMIT_MS ms through the reload ($a of $N accepted)"

timeout 60 "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null 2>&1
s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["state"], j["sent"], j["failed"]) == ("done", '$N', 0) or sys.exit(1)' >/dev/null ||
    fail "broadcast after the reload: $s"

"$PY" - "$T/mail/log.jsonl" $N $CONNS <<'PYEOF' || fail "server side"
import collections, json, sys
n, conns = int(sys.argv[2]), int(sys.argv[3])
open_now, most, at, per, sessions = set(), 0, None, collections.Counter(), 0
for e in map(json.loads, open(sys.argv[1])):
    if e["ev"] == "connect":
        sessions += 1
        open_now.add(e["session"])
        if len(open_now) > most:
            most, at = len(open_now), e["t"]
    elif e["ev"] == "close":
        open_now.discard(e["session"])
    elif e["ev"] == "data" and e.get("code") == 250:
        per.update(e["rcpt"])
print("%d sessions in all, at most %d open at once (smtp.connections %d)" %
      (sessions, most, conns))
assert most <= conns, "%d SMTP sessions open at once" % most
want = {"user%05d@example.org" % i for i in range(n)}
assert set(per) == want, "missing %s" % sorted(want - set(per))[:3]
dups = {a: c for a, c in per.items() if c > 1}
assert not dups, "duplicates %s" % list(dups.items())[:5]
PYEOF
ok "at most $CONNS SMTP sessions at once through the switch; $N delivered exactly once"
stop_daemon
