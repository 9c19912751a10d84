# Several relays (smtp.relays, issue 12 section 4), against two and then
# three test SMTP servers (tests/smtpd.py):
# 1. smtp.url and smtp.relays together, a relay's username without TLS
#    to a host off this machine, and a relay's unreadable password file
#    are refused by `broadsided -t` (78), naming the key.
# 2. Weights: relays A (weight 3) and B (weight 1), smtp.connections 4
#    (split 3 + 1), 400 recipients at 50/s: A takes between 2 and 4.5
#    times what B takes (3 expected; the band is wide because the two
#    servers are Python processes competing for a loaded 2-core
#    machine), everyone once.
# 3. Failover: 700 recipients at 20/s (35 s); B is killed (SIGKILL)
#    once it has taken 20 of them.  B is out (/metrics:
#    broadside_relay_up 0, broadside_relay_out with the reason) while the
#    broadcast goes on through A ("sending", not "waiting"); B comes back
#    on its port and, once probed, takes messages again before the end.
#    While it is out, `status` lists it under the broadcast (relays_out
#    in --json) and says why.
#    Nobody is lost; duplicates are at most B's messages in flight at the
#    kill (3 per connection: one sent, two queued); both relays accept
#    messages after B's return.
# 4. A relay answering "550 5.7.1 Relaying denied" (C, weight 1, next to
#    A) is taken out ("refused") and A carries the broadcast to the end:
#    not paused, nobody bounced, everyone once.
#
# Timing: B's probes come 1, 3, 7, 15 s (+-20 %) after the kill; B is
# restarted as soon as /metrics shows it out, which leaves 20 s or more of
# the 35 s broadcast for it to be probed and used again even if the
# restart takes 8 s.
. "$(dirname "$0")/../lib.sh"

TALLY="$TOP/tests/py/relay_tally.py"

# --- 1. what -t refuses
write_config "smtp: { url = \"smtp://127.0.0.1:25\";
  relays = ( { url = \"smtp://127.0.0.1:2525\"; } ); };"
"$BROADSIDED" -t -c "$T/broadside.conf" >"$T/t.out" 2>&1
rc=$?
[ $rc -eq 78 ] || { cat "$T/t.out" >&2; fail "url and relays: -t exited $rc, want 78"; }
grep -q 'smtp.url: set together with smtp.relays' "$T/t.out" ||
    { cat "$T/t.out" >&2; fail "url and relays: the message does not name smtp.url"; }
write_config "smtp: { relays = ( { url = \"smtp://127.0.0.1:2525\"; },
  { url = \"smtp://mail.example.net:25\"; username = \"u\"; password_file = \"pw\"; } ); };"
echo secret > "$T/pw"
"$BROADSIDED" -t -c "$T/broadside.conf" >"$T/t.out" 2>&1
rc=$?
[ $rc -eq 78 ] && grep -q 'smtp.relays\[2\].username: AUTH would send the password in clear text' "$T/t.out" ||
    { cat "$T/t.out" >&2; fail "username without TLS to a remote relay: -t exited $rc"; }
write_config "smtp: { relays = ( { url = \"smtp://127.0.0.1:2525\"; },
  { url = \"smtp://127.0.0.1:2526\"; username = \"u\"; password_file = \"nopw\"; } ); };"
"$BROADSIDED" -t -c "$T/broadside.conf" >"$T/t.out" 2>&1
rc=$?
[ $rc -eq 78 ] && grep -q 'smtp.relays\[2\].password_file: .*nopw' "$T/t.out" ||
    { cat "$T/t.out" >&2; fail "unreadable relay password file: -t exited $rc"; }
ok "-t refuses url with relays, AUTH in clear text to a remote relay, a missing password file (78, naming the key)"

# --- 2. weights
start_smtpd a; A_PID=$SMTPD_PID; PA=$SMTP_PORT
start_smtpd b; B_PID=$SMTPD_PID; PB=$SMTP_PORT
HTTP_PORT=$(free_port)
relays_conf() {	# RATE RELAYS
	write_config "smtp: { connections = 4; timeout = 5; relays = ( $2 ); };
rate: { messages_per_second = $1; burst = 5; };
retry: { max_attempts = 3; initial_delay = 1; };
http: { listen = \"127.0.0.1:$HTTP_PORT\"; };"
}
AB="{ url = \"smtp://127.0.0.1:$PA\"; weight = 3; }, { url = \"smtp://127.0.0.1:$PB\"; weight = 1; }"
relays_conf 50.0 "$AB"
"$BROADSIDED" -t -c "$T/broadside.conf" >"$T/t.out" 2>&1 || { cat "$T/t.out" >&2; fail "-t on two relays"; }
start_daemon
metrics() {
	"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
	    "http://127.0.0.1:$HTTP_PORT/metrics"
}
relay_up() {	# PORT: the gauge's value
	metrics | sed -n "s/^broadside_relay_up{relay=\"127.0.0.1:$1\"} //p"
}

N1=400
broadcast_to $N1
ID1=$ID
wait_bc "$ID1" 900 'j["state"] == "done"' || { diag "$ID1" a; fail "broadcast 1 not done in 90 s"; }
"$PY" "$TALLY" "$ID1" A="$T/a" B="$T/b" >"$T/tally1"
json_get '(j["unique"], j["duplicates"], j["per"]["A"] + j["per"]["B"]) == ('$N1', 0, '$N1') or sys.exit(1)' <"$T/tally1" >/dev/null ||
    { diag "$ID1" a; fail "weights: not everyone once: $(cat "$T/tally1")"; }
json_get 'j["per"]["B"] > 0 and 2.0 <= j["per"]["A"] / j["per"]["B"] <= 4.5 or sys.exit(1)' <"$T/tally1" >/dev/null ||
    { fail "weights 3:1: got $(cat "$T/tally1")"; }
ok "weights 3:1: $(json_get '"A %d, B %d" % (j["per"]["A"], j["per"]["B"])' <"$T/tally1")"

# --- 3. failover: B killed and back
relays_conf 20.0 "$AB"
expect_rc 0 bs reload
N2=700
make_subscribers 300 "$T/more.csv" more
expect_rc 0 bs subscribers import "$T/more.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send 2"
ID2=$(head -n 1 "$T/out")
i=0
while :; do
	"$PY" "$TALLY" "$ID2" B="$T/b" >"$T/tally2"
	json_get 'j["per"]["B"] >= 20 or sys.exit(1)' <"$T/tally2" >/dev/null && break
	i=$((i + 1)); [ $i -lt 300 ] || { diag "$ID2" b; fail "B took no 20 messages of broadcast 2 in 30 s"; }
	sleep 0.1
done
{ kill -9 "$B_PID"; wait "$B_PID"; } 2>/dev/null
i=0
until [ "$(relay_up "$PB")" = 0 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || { diag "$ID2" a; fail "B killed: /metrics does not show it out in 10 s"; }
	sleep 0.1
done
metrics >"$T/metrics"
# B's fault: a refused connect, or a session of B's cut at a command
# ("mail: ... Connection reset by peer": under ASan in CI, 2026-12-06,
# a session met the kill before any new connect did)
DOWN='(connect: |[a-z]+: [^"]*([Rr]eset|[Cc]onnect|[Rr]ecv))'
grep -Eq "^broadside_relay_out\{relay=\"127.0.0.1:$PB\",state=\"out\",reason=\"$DOWN" "$T/metrics" ||
    { grep '^broadside_relay' "$T/metrics" >&2; fail "/metrics: no reason for B out"; }
[ "$(sed -n "s/^broadside_relay_up{relay=\"127.0.0.1:$PA\"} //p" "$T/metrics")" = 1 ] ||
    { grep '^broadside_relay' "$T/metrics" >&2; fail "/metrics: A not up"; }
bs status "$ID2" --json >"$T/status.json"
"$PY" -c 'import json, re, sys; j = json.load(sys.stdin); sys.exit(not ((j["state"], j["reason"]) == ("sending", None) and [(r["relay"], r["state"]) for r in j["relays_out"]] == [("127.0.0.1:'$PB'", "out")] and re.match(sys.argv[1], j["relays_out"][0]["reason"])))' "$DOWN" <"$T/status.json" ||
    { diag "$ID2" a; fail "B out, A up: want sending, B in relays_out, got $(cat "$T/status.json")"; }
bs status "$ID2" >"$T/status.txt" || fail "status $ID2"
grep -Eq "^ *relay 127.0.0.1:$PB out: $DOWN" "$T/status.txt" ||
    { cat "$T/status.txt" >&2; fail "status does not say B is out"; }
ok "B killed: out on status and /metrics ($(grep "^broadside_relay_out" "$T/metrics" | sed 's/.*reason="\([^"]*\)".*/\1/')), still sending through A"
start_smtpd_on b2 "$PB"; B_PID=$SMTPD_PID
t_back=$("$PY" -c 'import time; print(time.time())')
wait_bc "$ID2" 1200 'j["state"] == "done"' || { diag "$ID2" a; fail "broadcast 2 not done in 120 s"; }
"$PY" "$TALLY" "$ID2" --after "$t_back" A="$T/a" B="$T/b" B2="$T/b2" >"$T/tally2"
json_get 'j["unique"] == '$N2' or sys.exit(1)' <"$T/tally2" >/dev/null ||
    { diag "$ID2" a; fail "failover: somebody lost: $(cat "$T/tally2")"; }
json_get 'j["duplicates"] <= 3 or sys.exit(1)' <"$T/tally2" >/dev/null ||
    { fail "failover: more duplicates than B had in flight (3): $(cat "$T/tally2")"; }
json_get 'j["after"]["A"] > 0 and j["after"]["B2"] > 0 or sys.exit(1)' <"$T/tally2" >/dev/null ||
    { diag "$ID2" a; grep relay "$T/daemon.log" | tail -n 20 >&2; fail "failover: not both relays used after B came back: $(cat "$T/tally2")"; }
[ "$(relay_up "$PB")" = 1 ] || fail "B back: /metrics says it is not up"
sub_states >"$T/subs"
[ "$(grep -c ' active$' "$T/subs")" -eq $N2 ] || { cat "$T/subs" >&2; fail "subscribers after the failover"; }
ok "failover: $N2 once each but $(json_get 'j["duplicates"]' <"$T/tally2") duplicates; after B's return A took $(json_get 'j["after"]["A"]' <"$T/tally2"), B $(json_get 'j["after"]["B2"]' <"$T/tally2")"

# --- 4. a relay that refuses relaying is taken out; A carries on
start_smtpd c --rcpt-reply "550 5.7.1 Relaying denied"; PC=$SMTP_PORT
relays_conf 200.0 "{ url = \"smtp://127.0.0.1:$PA\"; weight = 1; }, { url = \"smtp://127.0.0.1:$PC\"; weight = 1; }"
expect_rc 0 bs reload
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send 3"
ID3=$(head -n 1 "$T/out")
wait_bc "$ID3" 1200 'j["state"] not in ("queued", "sending", "waiting")' || { diag "$ID3" a; fail "broadcast 3 not over in 120 s"; }
json_get '(j["state"], j["sent"], j["failed"]) == ("done", '$N2', 0) or sys.exit(1)' <"$T/status.json" >/dev/null ||
    { diag "$ID3" a; fail "relaying denied by C: want done through A, got $(cat "$T/status.json")"; }
"$PY" "$TALLY" "$ID3" A="$T/a" C="$T/c" >"$T/tally3"
json_get '(j["unique"], j["duplicates"], j["per"]["C"]) == ('$N2', 0, 0) and j["rcpt_refused"]["C"] > 0 or sys.exit(1)' <"$T/tally3" >/dev/null ||
    { fail "relaying denied: $(cat "$T/tally3")"; }
metrics >"$T/metrics"
grep -q "^broadside_relay_out{relay=\"127.0.0.1:$PC\",state=\"refused\",reason=\".*5.7.1 Relaying denied" "$T/metrics" ||
    { grep '^broadside_relay' "$T/metrics" >&2; fail "/metrics: C not shown refused with its reply"; }
sub_states >"$T/subs"
[ "$(grep -c ' active$' "$T/subs")" -eq $N2 ] || { cat "$T/subs" >&2; fail "subscribers bounced by a refusing relay"; }
ok "C refusing relaying: out ($(json_get 'j["rcpt_refused"]["C"]' <"$T/tally3") RCPT refused), A delivered all $N2, nobody bounced"
stop_daemon
