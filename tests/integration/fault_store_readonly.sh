# A read-only store.  Linux refuses to remount a filesystem read-only
# while the daemon holds the database open for writing (EBUSY: checked
# below, so this test notices if that ever changes), and a read-only bind
# mount laid over the folder does not touch the files already open; so
# the fault a running daemon can meet is a read-only store at (re)start.
# A broadcast is stopped half way, the store folder made read-only (a
# read-only bind mount, in a private mount namespace), and the daemon
# must refuse to start with a clear message naming the store; once the
# folder is writable again it starts, the broadcast resumes and every
# recipient has the message exactly once.
. "$(dirname "$0")/../private-store.sh"
trap 'umount -l "$T/store" 2>/dev/null; umount -l "$T/store" 2>/dev/null; cleanup' EXIT

N=300
start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 2; timeout = 10; };
rate: { messages_per_second = 60.0; burst = 5; batch_size = 50; };
retry: { initial_delay = 1; max_delay = 2; };"
sed -i 's|state/broadside.db|store/broadside.db|' "$T/broadside.conf"
start_daemon
broadcast_to $N
wait_accepted 60 200

# the kernel will not make the store read-only under the running daemon
if mount -o remount,ro "$T/store" 2>"$T/err"; then
	fail "remount ro succeeded with the store open: this test must be extended"
fi
ok "remount ro refused while the daemon has the store open: $(head -n 1 "$T/err")"

stop_daemon
a1=$(accepted)
[ "$a1" -lt $N ] || fail "broadcast finished before the stop"
mount --bind "$T/store" "$T/store" && mount -o remount,bind,ro "$T/store" ||
    fail "cannot make a read-only bind mount"
touch "$T/store/x" 2>/dev/null && fail "store still writable"
ok "store read-only after $a1 accepted"

timeout 20 "$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
rc=$?
cat "$T/err"
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "daemon on a read-only store: exit $rc"
grep -q "store/broadside.db" "$T/err" && grep -qi "read-only" "$T/err" ||
    fail "no clear message naming the store and the cause"
[ "$(accepted)" = "$a1" ] || fail "sent while the store was read-only"
ok "refused to start on a read-only store (exit $rc)"

umount "$T/store" || fail "cannot drop the read-only bind mount"
start_daemon
timeout 60 "$BROADSIDE" -c "$T/broadside.conf" status --watch "$ID" >/dev/null 2>&1
s=$(bs status "$ID" --json)
echo "$s" | json_get '(j["state"], j["sent"]) == ("done", '$N') or sys.exit(1)' >/dev/null ||
    fail "broadcast did not resume: $s"
smtpd_report mail | json_get '(len(j["per_rcpt"]), j["duplicates"]) == ('$N', 0) or sys.exit(1)' >/dev/null ||
    fail "server side: $(smtpd_report mail | json_get '(len(j["per_rcpt"]), j["duplicates"])')"
ok "writable again: broadcast resumed, $N recipients exactly once"
stop_daemon
