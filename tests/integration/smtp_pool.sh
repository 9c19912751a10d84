#!/bin/sh
# smtp_pool.sh -- the SMTP sender pool (daemon/core/smtp.c) against
# tests/smtpd.py: result classification, session reuse seen from the
# server, STARTTLS / SMTPS with a test CA, AUTH, main loop responsiveness
# while every sender waits, shutdown.  Drives build/tests/smtp_pool_test.
# tests/run: alone (it bounds the loop's lag)
set -u
TOP=${TOP:-$(pwd)}
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
T="$TOP/$BUILD/tests/smtp_pool_test"
SMTPD="$TOP/tests/smtpd.py"

if [ ! -x "$T" ]; then
	echo "smtp_pool_test not built ($T)"
	exit 77
fi
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
"$PY" -c 'import aiosmtpd' 2>/dev/null || { echo "python3-aiosmtpd missing"; exit 77; }

W=$(mktemp -d /tmp/broadside-smtp-pool.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

# start_server NAME ARGS...: sets PORT, PID; the maildir is $W/NAME
start_server() {
	name=$1; shift
	rm -f "$W/port"
	"$PY" "$SMTPD" --port 0 --maildir "$W/$name" --portfile "$W/port" \
	    "$@" >/dev/null 2>"$W/$name.err" &
	PID=$!
	i=0
	while [ ! -s "$W/port" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "smtpd.py did not start: $(cat "$W/$name.err")"
		kill -0 "$PID" 2>/dev/null || fail "smtpd.py died: $(cat "$W/$name.err")"
		sleep 0.1
	done
	PORT=$(cat "$W/port")
}

stop_server() {
	kill "$PID"
	wait "$PID" || fail "smtpd.py exit status $?"
	PID=
	if grep -q Traceback "$W/$1.err"; then
		cat "$W/$1.err"
		fail "smtpd.py raised an exception"
	fi
}

# run SCENARIO: the C driver against the server on $PORT
run() {
	echo "== $1"
	SMTP_TEST_PORT=$PORT SMTP_TEST_CA="$W/ca.pem" "$T" "$1" ||
	    fail "smtp_pool_test $1"
}

# check NAME PYTHON: assertions over the server's log, as `ev` (a list)
check() {
	"$PY" - "$W/$1" <<EOF || fail "server-side checks for $1"
import json, os, re, sys
d = sys.argv[1]
ev = [json.loads(l) for l in open(os.path.join(d, "log.jsonl"))]
def n(kind, **kw):
    return sum(1 for e in ev if e["ev"] == kind and
               all(e.get(k) == v for k, v in kw.items()))
def want(what, got, ok):
    print("%s: %s" % (what, got))
    if not ok:
        print("FAIL: %s" % what)
        sys.exit(1)
$2
EOF
}

# --- classification, session reuse, the bytes that arrive
start_server basic --stall-secs 5
run basic
stop_server basic
check basic '
acc = [e for e in ev if e["ev"] == "data" and e["code"] == 250]
rcpts = [r for e in acc for r in e["rcpt"]]
want("accepted", len(acc), len(acc) == 180)
want("distinct recipients", len(set(rcpts)), len(set(rcpts)) == 180)
want("all good ones", sorted(rcpts) == ["user%03d@example.test" % i
     for i in range(180)], sorted(rcpts)[:2])
# 4 threads; sessions closed after RCPT failures, drops and stalls
# (16 at most) and reopened
want("sessions", n("connect"), 4 <= n("connect") <= 20)
want("no render failure reached the server",
     sum(1 for e in ev if "render-" in str(e.get("rcpt"))), 
     not any("render-" in str(e.get("rcpt")) for e in ev))
want("EHLO name", set(e["name"] for e in ev if e["ev"] == "ehlo"),
     set(e["name"] for e in ev if e["ev"] == "ehlo") ==
     {"client.broadside.test"})
want("envelope sender", set(e["sender"] for e in ev if e["ev"] == "mail"),
     set(e["sender"] for e in ev if e["ev"] == "mail") ==
     {"bounces@example.test"})
want("drops", n("drop"), n("drop") == 2)
want("stalls", n("stall"), n("stall") == 2)
bad = 0
for e in acc:
    body = open(os.path.join(d, e["file"]), "rb").read()
    r = e["rcpt"][0]
    m = re.search(rb"^Message-ID: <(\d+)\.(\S+)>\r$", body, re.M)
    ok = (m is not None and m.group(2).decode() == r and
          e["message_id"] == "<%s.%s>" % (m.group(1).decode(), r) and
          ("To: <%s>\r\n" % r).encode() in body and
          b"\r\n.leading dot\r\n.\r\nline 00 " in body and
          "\u201c%s\u201d \u2013 caf\u00e9\u2026" % r in body.decode() and
          body.endswith(b"\r\nend " + m.group(1) + b"\r\n") and
          body.count(b"\r\n") == body.count(b"\n"))
    if not ok and bad < 3:
        print("bad message", e["file"], body[:300])
    bad += not ok
want("messages intact (dot-stuffing, UTF-8, CRLF)", bad, bad == 0)
'

# --- 421 at connect for the first 2 connections
start_server c421 --connect-421 2
run connect421
stop_server c421
check c421 '
want("refused", n("refuse"), n("refuse") == 2)
want("accepted", n("data", code=250), n("data", code=250) == 18)
'

# --- the loop stays responsive while every sender waits 1 s for "."
start_server lag --delay-ms 1000
run lag
stop_server lag
check lag '
want("sessions", n("connect"), n("connect") == 4)
want("accepted", n("data", code=250), n("data", code=250) == 8)
'

# --- idle sessions are closed with QUIT, then reopened
start_server idle
run idle
stop_server idle
check idle '
want("sessions", n("connect"), n("connect") == 4)
want("QUIT by the idle ones", n("quit"), n("quit") == 4)
want("accepted", n("data", code=250), n("data", code=250) == 6)
'

# --- shutdown: in-flight finish, queued come back cancelled
start_server shutdown --delay-ms 500
run shutdown
stop_server shutdown
check shutdown '
want("accepted", n("data", code=250), n("data", code=250) == 8)
'

# --- TLS: a test CA and a certificate for 127.0.0.1 / localhost
"$TOP/tests/make-test-ca" "$W" || { cat "$W/openssl.log"; fail "openssl"; }

start_server starttls --tls-cert "$W/server.pem" --tls-key "$W/server.key" \
    --require-tls
run starttls
stop_server starttls
check starttls '
want("accepted", n("data", code=250), n("data", code=250) == 10)
want("MAIL only after STARTTLS", n("mail", tls=False), n("mail", tls=False) == 0)
want("sessions", n("connect"), n("connect") <= 2 + 4)
'

start_server smtps --tls-cert "$W/server.pem" --tls-key "$W/server.key" --smtps
run smtps
stop_server smtps
check smtps '
want("accepted", n("data", code=250), n("data", code=250) == 10)
'

# --- AUTH with a password (PLAIN or LOGIN, whichever libcurl picks)
start_server auth --auth-user broadside --auth-pass "s3cret — pass"
run auth
stop_server auth
check auth '
want("accepted", n("data", code=250), n("data", code=250) == 10)
want("good logins", n("auth", ok=True), 1 <= n("auth", ok=True) <= 2)
want("bad logins", n("auth", ok=False), n("auth", ok=False) == 4)
want("no MAIL without AUTH", n("mail", auth=False), n("mail", auth=False) == 0)
'

echo "smtp_pool: all scenarios passed"
exit 0
