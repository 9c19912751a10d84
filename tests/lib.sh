# tests/lib.sh -- shared set-up for integration tests (POSIX sh).
# Source it: it makes a private temp folder $T, a trap that kills what the
# test started (by PID) and removes $T, and helpers to start broadsided.
set -u
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILD:=build}"
: "${BROADSIDED:=$TOP/$BUILD/broadsided}"
: "${BROADSIDE:=$TOP/$BUILD/broadside}"
: "${PY:=/usr/bin/python3}"
T=$(mktemp -d "${TMPDIR:-/tmp}/broadside-test.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	if [ "${KEEP:-}" = "" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
# true when the daemon runs under memcheck: check-valgrind points
# BROADSIDED at a wrapper script
under_memcheck() { [ "$(head -c 2 "$BROADSIDED")" = '#!' ]; }
ok() { echo "ok: $*"; }

# free_port: a free TCP port on 127.0.0.1 above 1024
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# write_config [extra libconfig text]: $T/broadside.conf with private paths
write_config() {
	cat > "$T/broadside.conf" <<EOC
list: { name = "Test List"; from = "Test List <list@example.org>";
        id = "test.example.org"; base_url = "https://lists.example.org"; };
storage: { path = "state/broadside.db"; };
control: { socket = "state/control.sock"; };
feed: { path = "state/feed.xml"; };
templates: { dir = "$TOP/templates"; };
secret_file = "state/secret";
${1:-}
EOC
	mkdir -p "$T/state"
}

bs() { "$BROADSIDE" -c "$T/broadside.conf" "$@"; }

# daemon_wait TRIES MESSAGE CMD...: run CMD every 0.1 s until it succeeds;
# fails if the daemon dies meanwhile, or with MESSAGE after TRIES tries
daemon_wait() {
	tries=$1; msg=$2; shift 2
	i=0
	while ! "$@"; do
		kill -0 "$DAEMON_PID" 2>/dev/null ||
		    { cat "$T/daemon.log" >&2; fail "daemon died at start"; }
		i=$((i + 1))
		[ $i -lt "$tries" ] || fail "$msg"
		sleep 0.1
	done
}
daemon_answers() { bs status >/dev/null 2>&1; }
ready_lines() { grep -c "info: ready$" "$T/daemon.log" 2>/dev/null; }
ready_after() { [ "$(ready_lines)" -gt "$1" ]; }

# start_daemon_early: broadsided in the background, logs in
# $T/daemon.log; returns once the control socket answers, which may be
# while subscribers.file is still being synced.
start_daemon_early() {
	"$BROADSIDED" -c "$T/broadside.conf" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	PIDS="$PIDS $DAEMON_PID"
	daemon_wait 100 "daemon did not answer in 10 s" daemon_answers
}

# start_daemon: the same, and waits until the daemon is ready (its
# "ready" line: subscribers.file synced, READY=1 sent).
start_daemon() {
	_ready0=$(ready_lines)
	start_daemon_early
	daemon_wait 600 "daemon not ready in 60 s" ready_after "${_ready0:-0}"
}

# stop_daemon: SIGTERM and wait; fails unless it exits 0
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	rc=$?
	[ $rc -eq 0 ] || { cat "$T/daemon.log" >&2; fail "daemon exit $rc after SIGTERM"; }
}

# expect_rc WANT CMD...: run CMD, fail unless it exits WANT
expect_rc() {
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "$* exited $got, want $want"; }
}

# start_smtpd NAME [smtpd.py args]: the scripted test SMTP server with its
# maildir in $T/NAME; sets SMTP_PORT and SMTPD_PID.
start_smtpd() {
	name=$1; shift
	rm -f "$T/$name.port"
	"$PY" "$TOP/tests/smtpd.py" --port 0 --maildir "$T/$name" \
	    --portfile "$T/$name.port" "$@" >/dev/null 2>"$T/$name.err" &
	SMTPD_PID=$!
	PIDS="$PIDS $SMTPD_PID"
	i=0
	while [ ! -s "$T/$name.port" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "smtpd.py did not start: $(cat "$T/$name.err")"
		kill -0 "$SMTPD_PID" 2>/dev/null || fail "smtpd.py died: $(cat "$T/$name.err")"
		sleep 0.1
	done
	SMTP_PORT=$(cat "$T/$name.port")
}

# smtpd_report NAME: JSON summary (sessions, accepted, per_rcpt, duplicates)
smtpd_report() { "$PY" "$TOP/tests/smtpd.py" --report "$T/$1"; }

# json_get EXPR: evaluate a Python expression on JSON read from stdin as j
json_get() { "$PY" -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# make_subscribers N FILE [PREFIX]: a CSV of N subscribers
make_subscribers() {
	"$PY" - "$1" "$2" "${3:-user}" <<'PYEOF'
import sys
n, path, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "w") as f:
    f.write("email,name\n")
    for i in range(n):
        f.write("%s%05d@example.org,Subscriber %d\n" % (prefix, i, i))
PYEOF
}

# accepted [NAME]: how many messages the test SMTP server NAME accepted
accepted() { smtpd_report "${1:-mail}" | json_get 'j["accepted"]'; }

# wait_accepted N TRIES: wait (TRIES x 0.1 s at most) until the server
# "mail" accepted N messages
wait_accepted() {
	i=0
	while [ "$(accepted)" -lt "$1" ]; do
		i=$((i + 1)); [ $i -lt "$2" ] || fail "broadcast does not start"
		sleep 0.1
	done
}

# sent_id FILE ERR SECS: the broadcast ID a `send --wait` run in the
# background prints first (to FILE), once it is there: the relay may
# take messages before the CLI has written it.  Fails after SECS with
# the CLI's stderr (ERR).
sent_id() {
	_i=0
	until [ -n "$(head -n 1 "$1")" ]; do
		_i=$((_i + 1)); [ $_i -lt $(($3 * 10)) ] || fail "send printed no ID in $3 s: $(cat "$2")"
		sleep 0.1
	done
	head -n 1 "$1"
}

# broadcast_to N: import N subscribers, send the plain fixture; sets ID
broadcast_to() {
	make_subscribers "$1" "$T/subs.csv"
	expect_rc 0 bs subscribers import "$T/subs.csv"
	bs send "$TOP/tests/fixtures/statement-plain.txt" > "$T/out" || fail "send"
	ID=$(head -n 1 "$T/out")
}

# start_smtpd_on NAME PORT [smtpd.py args]: start_smtpd on a fixed port,
# e.g. a relay coming back where it was (sets SMTP_PORT and SMTPD_PID)
start_smtpd_on() {
	_name=$1; _port=$2; shift 2
	start_smtpd "$_name" "$@" --port "$_port"
}

# stop_smtpd: SIGTERM the server SMTPD_PID and wait until it is gone
stop_smtpd() {
	kill "$SMTPD_PID" 2>/dev/null
	wait "$SMTPD_PID" 2>/dev/null
	return 0
}

# wait_bc ID TRIES COND: poll `status ID --json` every 0.1 s (TRIES times
# at most) until the Python expression COND on it (as j) holds; the last
# answer is left in $T/status.json.  Returns 1 on time-out or if the
# daemon died.
wait_bc() {
	_id=$1; _tries=$2; _cond=$3
	_i=0
	while :; do
		if bs status "$_id" --json >"$T/status.json" 2>/dev/null &&
		    "$PY" -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($_cond) else 1)" \
		    <"$T/status.json" 2>/dev/null; then
			return 0
		fi
		_i=$((_i + 1))
		[ $_i -lt "$_tries" ] || return 1
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		sleep 0.1
	done
}

# sub_states: "EMAIL STATUS" for every subscriber, sorted by address
sub_states() {
	bs subscribers list --json | "$PY" -c '
import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: s["email"]):
    print(s["email"], s["status"])'
}

# diag [ID] [NAME]: what a failing test should show: the daemon log's
# tail, status of broadcast ID, subscribers by status and the summary of
# server NAME (default mail) without per_rcpt
diag() {
	{
		echo "--- daemon log (tail)"; tail -n 30 "$T/daemon.log"
		[ -n "${1:-}" ] && { echo "--- status $1"; bs status "$1" --json; }
		echo "--- subscribers by status"
		sub_states 2>&1 | awk '{ n[$2]++ } END { for (s in n) print s, n[s] }'
		echo "--- smtpd ${2:-mail}"
		smtpd_report "${2:-mail}" 2>&1 | grep -v '@'
	} >&2
	return 0
}
