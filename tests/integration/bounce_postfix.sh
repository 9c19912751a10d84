# bounce_postfix.sh -- returned messages end to end through a real Postfix
# (issue 12 part 2).  A private Postfix instance on loopback (config,
# queue and data under $T/pf) relays broadside's mail to a "provider"
# (tests/smtpd.py) that answers 550 5.1.1 for rcpt511-* and 451 for
# rcpt451-*; transport_maps route the bounce domain to a pipe(8)
# transport running the built `broadside bounce ${recipient}`, as the
# README tells an operator to.  Postfix's own DSN must mark exactly the
# dead address bounced, the deferral nobody; with broadsided stopped the
# DSN stays in Postfix's queue (the command exits 75) and is applied once
# the daemon is back and the queue is flushed (postqueue -f).
#
# pipe(8) refuses to run a command as root, so the command runs as
# nobody:nogroup, and so does broadsided (setpriv), whose control socket
# (mode 0660, the daemon's user) then admits it; $T is made traversable
# and $T/state nobody's, the built programs are already world-readable.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root (a private Postfix)"; exit 77; }
command -v postfix >/dev/null && command -v setpriv >/dev/null ||
    { echo "skip: postfix or setpriv missing"; exit 77; }
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
    { echo "skip: no nobody:nogroup"; exit 77; }

PF=$T/pf
chmod 755 "$T"
start_smtpd provider
PROVIDER=$SMTP_PORT
PF_PORT=$(free_port)

# --- the Postfix instance: the set-up the README documents, private paths
mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
chown postfix "$PF/data"
cat > "$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
maillog_file_prefixes = $T
maillog_file = $PF/maillog
smtp_dns_support_level = disabled
smtp_host_lookup = native
# a deferred message is retried only when the test flushes the queue
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
# the bounce domain goes to broadside bounce; the rest to the provider
transport_maps = inline:{ bounces.example.org=broadside-bounce:,
    provider.example.net=smtp:[127.0.0.1]:$PROVIDER }
broadside-bounce_destination_recipient_limit = 1
EOF
cat > "$PF/etc/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
broadside-bounce unix - n       n       -       -       pipe
  flags=q user=nobody:nogroup argv=$BROADSIDE -c $T/broadside.conf bounce \${recipient}
EOF
pf_fail() { cat "$PF/maillog" >&2 2>/dev/null; fail "$@"; }
postfix -c "$PF/etc" start >"$T/pf.out" 2>&1 ||
    { cat "$T/pf.out"; pf_fail "postfix did not start"; }
i=0
while [ ! -s "$PF/queue/pid/master.pid" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || pf_fail "no master.pid"
	sleep 0.1
done
PIDS="$PIDS $(tr -d ' ' < "$PF/queue/pid/master.pid")"
pq() { postqueue -c "$PF/etc" "$@"; }

# --- broadsided as nobody, relaying through Postfix
cat > "$T/broadsided-nobody" <<EOF
#!/bin/sh
exec setpriv --reuid=nobody --regid=nogroup --clear-groups $BROADSIDED "\$@"
EOF
chmod 755 "$T/broadsided-nobody"
BROADSIDED=$T/broadsided-nobody
write_config "smtp: { url = \"smtp://127.0.0.1:$PF_PORT\"; connections = 1; timeout = 10; };
bounce: { domain = \"bounces.example.org\"; };"
chown nobody:nogroup "$T/state"
start_daemon

cat > "$T/subs.csv" <<'CSV'
email,name
rcpt511-dead@provider.example.net,Dead
rcpt451-later@provider.example.net,Later
alive@provider.example.net,Alive
also@provider.example.net,Also
CSV
expect_rc 0 bs subscribers import "$T/subs.csv"
status_of() {
	bs subscribers list --json | json_get "[s['status'] for s in j if s['email'] == '$1'][0]"
}
# wait_status ADDR STATUS: until the subscriber is so (60 s at most)
wait_status() {
	i=0
	while [ "$(status_of "$1")" != "$2" ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || pf_fail "$1 is $(status_of "$1"), not $2, after 60 s"
		sleep 0.1
	done
}
# queue_has EXPR: a message in Postfix's queue for which the Python
# expression EXPR on m (postqueue -j's object) is true
queue_has() {
	pq -j | "$PY" -c "
import json, sys
ms = [json.loads(l) for l in sys.stdin if l.strip()]
sys.exit(0 if any($1 for m in ms) else 1)"
}
# wait_queue COND MESSAGE [flush]: with flush, postqueue -f every 2 s
# (a flush right after `postfix reload` may reach the qmgr the reload is
# replacing and be lost: seen once with the machine loaded, nothing
# retried for the whole minute)
wait_queue() {
	i=0
	while ! queue_has "$1"; do
		i=$((i + 1)); [ $i -lt 600 ] || { pq -j >&2; pf_fail "$2"; }
		[ -z "${3:-}" ] || [ $((i % 20)) -ne 0 ] || pq -f
		sleep 0.1
	done
}
DEFERRED_451='m["queue_name"] == "deferred" and any(r["address"].startswith("rcpt451-") and "451" in r.get("delay_reason", "") for r in m["recipients"])'

expect_rc 0 bs send --wait "$TOP/tests/fixtures/statement-plain.txt"
ID1=$(head -n 1 "$T/out")
wait_status rcpt511-dead@provider.example.net bounced
# the deferral: in Postfix's deferred queue with the provider's 451
wait_queue "$DEFERRED_451" "the 451 was never deferred"
for a in rcpt451-later alive also; do
	[ "$(status_of $a@provider.example.net)" = active ] || pf_fail "$a@ is not active"
done
[ "$(bs status "$ID1" --json | json_get 'j["bounced"]')" = 1 ] || pf_fail "bounced count"
grep -q "status=sent (delivered via broadside-bounce service" "$PF/maillog" ||
    pf_fail "no DSN delivered through the pipe"
grep -q "to=<rcpt511-dead@provider.example.net>.*status=bounced" "$PF/maillog" ||
    pf_fail "Postfix did not bounce the 550"
"$PY" "$TOP/tests/smtpd.py" --report "$T/provider" | json_get 'sorted(j["per_rcpt"])' > "$T/got"
grep -q "alive@provider.example.net" "$T/got" && grep -q "also@provider.example.net" "$T/got" ||
    pf_fail "the provider did not get the live addresses: $(cat "$T/got")"
ok "Postfix's DSN for the 550 bounced exactly that subscriber; the 451 is deferred and bounces no one"

# --- the daemon down when the DSN comes: kept in Postfix's queue
echo "email,name
rcpt511-dead2@provider.example.net,Dead Two" > "$T/more.csv"
expect_rc 0 bs subscribers import "$T/more.csv"
# hold the provider's deliveries until broadsided is down
postconf -c "$PF/etc" -e "defer_transports = smtp" && postfix -c "$PF/etc" reload >/dev/null 2>&1 ||
    pf_fail "postfix reload"
expect_rc 0 bs send "$TOP/tests/fixtures/statement-plain.txt"
ID2=$(head -n 1 "$T/out")
i=0
while [ "$(bs status "$ID2" --json | json_get 'j["state"]')" != done ]; do
	i=$((i + 1)); [ $i -lt 600 ] || pf_fail "broadcast $ID2 not done"
	sleep 0.1
done
stop_daemon
postconf -c "$PF/etc" -e "defer_transports =" && postfix -c "$PF/etc" reload >/dev/null 2>&1 ||
    pf_fail "postfix reload"
pq -f
# postqueue -j names the null sender MAILER-DAEMON
DSN_HELD='m["sender"] == "MAILER-DAEMON" and any(r["address"].startswith("b-") and "cannot reach broadsided" in r.get("delay_reason", "") for r in m["recipients"])'
wait_queue "$DSN_HELD" "the DSN was not kept in the queue while broadsided was down" flush
grep -q "status=deferred (temporary failure" "$PF/maillog" || pf_fail "no temporary failure logged"
start_daemon
[ "$(status_of rcpt511-dead2@provider.example.net)" = active ] ||
    pf_fail "dead2 changed while the DSN was queued"
pq -f
wait_status rcpt511-dead2@provider.example.net bounced
i=0
while queue_has 'm["sender"] == "MAILER-DAEMON"'; do
	i=$((i + 1)); [ $i -lt 600 ] || { pq -j >&2; pf_fail "the DSN stayed in the queue"; }
	sleep 0.1
done
for a in rcpt451-later alive also; do
	[ "$(status_of $a@provider.example.net)" = active ] || pf_fail "$a@ is not active at the end"
done
[ "$(bs status "$ID2" --json | json_get 'j["bounced"]')" = 1 ] || pf_fail "broadcast $ID2 bounced count"
ok "broadsided down: the DSN waited in Postfix's queue (exit 75) and was applied after postqueue -f"
stop_daemon
postfix -c "$PF/etc" stop >/dev/null 2>&1
