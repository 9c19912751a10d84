# A 4.2.x reply (mailbox busy, full, disabled) retries that recipient
# only (issue 12 section 3): six "452 4.2.2 mailbox full" in a row, in
# three domains, through one connection, are six recipients deferred
# with one attempt each, not the run of identical refusals that marks a
# relay refusing everyone (5 in a row, 2 domains): the relay stays up
# and the two other recipients are sent.  Before, the fifth refusal made
# the run the relay's: every refusal was undone and the relay taken out,
# again at each probe, so nobody was ever deferred.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; connections = 1; timeout = 10; };
retry: { max_attempts = 3; initial_delay = 600; };"
start_daemon
{
	echo email,name
	for i in 0 1 2 3 4 5; do echo "rcpt422-$i@d$((i % 3)).example,Full $i"; done
	echo "good1@d0.example,Good One"
	echo "good2@d1.example,Good Two"
} >"$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
bs send "$TOP/tests/fixtures/statement-plain.txt" >"$T/out" || fail "send"
ID=$(head -n 1 "$T/out")
wait_bc "$ID" 200 'j["sent"] == 2 and j["deferred"] == 6' ||
    { cat "$T/status.json"; tail -5 "$T/daemon.log"; fail "want 2 sent and 6 deferred"; }
"$PY" - "$T/state/broadside.db" <<'PYEOF' || fail "a mailbox-full recipient not deferred after one attempt"
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
rows = db.execute("SELECT s.email, d.state, d.attempts FROM deliveries d "
                  "JOIN subscribers s ON s.id = d.subscriber_id "
                  "WHERE s.email LIKE 'rcpt422-%'").fetchall()
print(rows)
sys.exit(0 if len(rows) == 6 and all(r[1:] == (2, 1) for r in rows) else 1)
PYEOF
grep -q "the relay's" "$T/daemon.log" && fail "the 4.2.2 run was taken for the relay's"
grep -q "waiting for relay" "$T/daemon.log" && fail "the relay was taken out"
ok "six 452 4.2.2 in a row (3 domains) deferred one attempt each, relay up, the others sent"
stop_daemon
