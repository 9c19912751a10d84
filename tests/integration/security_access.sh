# Least privilege on disk and on the control socket.
# - Modes: the database, its WAL and SHM files, the lock file and the
#   secret are 0600, the control socket 0660, whatever the umask; a
#   secret_file readable by others is refused.
# - The socket checks its peer (SO_PEERCRED): with the daemon run as root,
#   a CLI run as nobody cannot even connect (0660: EACCES, exit 69 with a
#   line saying so); with the socket made world-writable for the test the
#   daemon itself refuses it (403, exit 69, "permission denied" with its
#   uid) and nothing changes.  With the daemon run as an unprivileged
#   user, that user and a user of its group (as primary group, or as a
#   supplementary one: SO_PEERGROUPS) get in; another is refused.
# Needs root (setpriv switches users); skipped otherwise.
. "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root to switch users"; exit 77; }
command -v setpriv >/dev/null || { echo "no setpriv (util-linux)"; exit 77; }
command -v curl >/dev/null || { echo "no curl"; exit 77; }

as() {	# as UID GID CMD...: run CMD as that user, no supplementary groups
	u=$1 g=$2; shift 2
	setpriv --reuid="$u" --regid="$g" --clear-groups "$@"
}
as_member() {	# as_member UID GID GROUP CMD...: with GROUP as a supplementary group
	u=$1 g=$2 s=$3; shift 3
	setpriv --reuid="$u" --regid="$g" --groups="$s" "$@"
}

# --- modes, with a permissive umask
write_config
umask 000
start_daemon
umask 022
bs subscribers add mode@example.org "Mode" >/dev/null || fail "add"
for f in broadside.db broadside.db-wal broadside.db-shm broadside.db.lock secret; do
	[ -e "$T/state/$f" ] || fail "$f missing"
	m=$(stat -c %a "$T/state/$f")
	[ "$m" = 600 ] || fail "$f has mode $m, want 600"
done
[ -S "$T/state/control.sock" ] || fail "no socket"
m=$(stat -c %a "$T/state/control.sock")
[ "$m" = 660 ] || fail "control.sock has mode $m, want 660"
ok "umask 000: db, -wal, -shm, .lock, secret 0600; control.sock 0660"

# --- the CLI as nobody: the socket's mode keeps it out
chmod 755 "$T" "$T/state"
chmod 644 "$T/broadside.conf"
as 65534 65534 "$BROADSIDE" -c "$T/broadside.conf" status >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 69 ] || { cat "$T/out" "$T/err"; fail "nobody: exit $rc, want 69"; }
grep -q "Permission denied" "$T/err" || { cat "$T/err"; fail "nobody: no clear line"; }
[ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err"; fail "nobody: more than one line"; }
ok "nobody cannot connect to the 0660 socket: exit 69, $(cat "$T/err")"

# --- the socket opened to everyone: SO_PEERCRED still refuses nobody
chmod 666 "$T/state/control.sock"
for c in "status" "subscribers list" "subscribers add evil@example.org" \
    "subscribers remove mode@example.org" "reload" "feed"; do
	as 65534 65534 "$BROADSIDE" -c "$T/broadside.conf" $c >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 69 ] || { cat "$T/out" "$T/err"; fail "nobody: $c: exit $rc, want 69"; }
	grep -q "^broadside: permission denied: uid 65534 gid 65534" "$T/err" ||
	    { cat "$T/err"; fail "nobody: $c: no clear line"; }
done
# the raw API too: every method, every endpoint, 403 and nothing more
for m in GET POST DELETE; do
	for p in status subscribers subscribers/mode@example.org import broadcasts \
	    broadcasts/1 feed reload nowhere; do
		as 65534 65534 curl -s -w '\n%{http_code}' -X "$m" \
		    --unix-socket "$T/state/control.sock" "http://x/v1/$p" > "$T/body"
		c=$(tail -n 1 "$T/body")
		[ "$c" = 403 ] || fail "nobody: $m /v1/$p: $c, want 403"
		grep -q '"error": *"permission denied' "$T/body" || fail "nobody: $m /v1/$p: body $(cat "$T/body")"
	done
done
c=$(as 65534 65534 curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"email":"evil@example.org"}' --unix-socket "$T/state/control.sock" "http://x/v1/subscribers")
[ "$c" = 403 ] || fail "nobody: POST subscribers with a body: $c"
grep -q "refused peer .*uid=65534 gid=65534" "$T/daemon.log" || fail "refusal not logged"
[ "$(bs subscribers count)" = 1 ] || fail "nobody changed the subscribers"
bs subscribers list | grep -q "mode@example.org" || fail "nobody removed a subscriber"
bs status >/dev/null || fail "root refused"
ok "socket world-writable: nobody gets 403 / exit 69 on every command and endpoint, nothing changed"
stop_daemon

# --- a secret readable by others is refused
chmod 644 "$T/state/secret"
timeout 10 "$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
[ $? -ne 0 ] || fail "daemon started with a 0644 secret"
grep -q "secret" "$T/err" || { cat "$T/err"; fail "no clear line for a 0644 secret"; }
chmod 600 "$T/state/secret"
ok "secret_file readable by others refused: $(head -n 1 "$T/err")"

# --- the daemon as an unprivileged user (65533:65534): its user and its
# group get in, anyone else is refused even through a 0666 socket
mkdir -p "$T/u/state"
chown -R 65533:65534 "$T/u"
sed -e "s|state/|u/state/|g" "$T/broadside.conf" > "$T/u.conf"
chmod 644 "$T/u.conf"
setpriv --reuid=65533 --regid=65534 --clear-groups \
    "$BROADSIDED" -c "$T/u.conf" >>"$T/u.log" 2>&1 &
UPID=$!
PIDS="$PIDS $UPID"
i=0
until as 65533 65534 "$BROADSIDE" -c "$T/u.conf" status >/dev/null 2>&1; do
	kill -0 "$UPID" 2>/dev/null || { cat "$T/u.log"; fail "daemon as 65533 died"; }
	i=$((i + 1)); [ $i -lt 100 ] || fail "daemon as 65533 did not answer"
	sleep 0.1
done
[ "$(stat -c '%u:%g %a' "$T/u/state/control.sock")" = "65533:65534 660" ] ||
    fail "socket owner/mode: $(stat -c '%u:%g %a' "$T/u/state/control.sock")"
as 65533 65534 "$BROADSIDE" -c "$T/u.conf" subscribers add own@example.org >/dev/null ||
    fail "the daemon's own user refused"
as 65532 65534 "$BROADSIDE" -c "$T/u.conf" subscribers add group@example.org >/dev/null ||
    fail "a user of the daemon's group refused"
as_member 65530 65530 65534 "$BROADSIDE" -c "$T/u.conf" subscribers add suppl@example.org >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "a user in the daemon's group as a supplementary group refused (the kernel let it connect)"; }
"$BROADSIDE" -c "$T/u.conf" subscribers count >/dev/null || fail "root refused"
chmod 666 "$T/u/state/control.sock"
as 65531 65531 "$BROADSIDE" -c "$T/u.conf" subscribers add other@example.org >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 69 ] || fail "another user: exit $rc, want 69"
grep -q "permission denied: uid 65531 gid 65531" "$T/err" || { cat "$T/err"; fail "another user: no clear line"; }
[ "$("$BROADSIDE" -c "$T/u.conf" subscribers count)" = 3 ] || fail "count after the refused add"
kill -TERM "$UPID"; wait "$UPID" || fail "daemon as 65533: exit $? on SIGTERM"
ok "daemon as 65533:65534: its user, its group (primary or supplementary) and root get in, uid 65531 gets 403"
