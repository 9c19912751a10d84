# A cancelled broadcast leaves the feed and the archive at once: it may be
# an embargoed text sent by mistake.  Send to 20 subscribers at 1 message
# a second, cancel while it is sending; then /feed.xml, feed.path,
# /archive/ and /archive/ID hold it no more (404), while an earlier
# statement stays.  (The archive is cached in memory, so this also checks
# that a cancel drops that cache.)
. "$(dirname "$0")/../lib.sh"
command -v curl >/dev/null || { echo "no curl"; exit 77; }

start_smtpd mail
PORT=$(free_port)
U="http://127.0.0.1:$PORT"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
rate: { messages_per_second = 1.0; burst = 1; };
http: { listen = \"127.0.0.1:$PORT\"; };"
start_daemon

printf 'Title: Harbour notice\n\nThe harbour opens at nine.\n' > "$T/keep.txt"
bs send "$T/keep.txt" > "$T/out" || fail "send keep"
KEEP_ID=$(head -n 1 "$T/out")
make_subscribers 20 "$T/subs.csv"
expect_rc 0 bs subscribers import "$T/subs.csv"
printf 'Title: Embargoed until Friday\n\nThe embargoed figures are 42.\n' > "$T/emb.txt"
bs send "$T/emb.txt" > "$T/out" || fail "send embargoed"
ID=$(head -n 1 "$T/out")
wait_accepted 1 150

# published while it is sending (and the archive cached)
curl -s "$U/feed.xml" | grep -q "Embargoed until Friday" || fail "not in /feed.xml while sending"
grep -q "Embargoed until Friday" "$T/state/feed.xml" || fail "not in feed.path while sending"
[ "$(curl -s -o "$T/p" -w '%{http_code}' "$U/archive/$ID")" = 200 ] || fail "archive/$ID while sending"
curl -s "$U/archive/" | grep -q "/archive/$ID\"" || fail "index without it while sending"

bs cancel "$ID" >/dev/null || fail "cancel"
curl -s "$U/feed.xml" > "$T/f"
grep -q "Embargoed" "$T/f" && fail "a cancelled statement is still in /feed.xml"
grep -q "Harbour notice" "$T/f" || fail "the earlier statement left /feed.xml"
grep -q "Embargoed" "$T/state/feed.xml" && fail "a cancelled statement is still in feed.path"
cmp -s "$T/f" "$T/state/feed.xml" || fail "/feed.xml and feed.path differ"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/archive/$ID")" = 404 ] || fail "archive/$ID not 404 after cancel"
curl -s "$U/archive/" > "$T/idx"
grep -q "/archive/$ID\"" "$T/idx" && fail "the index still links the cancelled statement"
grep -q "/archive/$KEEP_ID\"" "$T/idx" || fail "the index lost the earlier statement"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/archive/$KEEP_ID")" = 200 ] || fail "archive/$KEEP_ID"
ok "cancelled mid-send: gone from /feed.xml, feed.path, /archive/ and /archive/$ID (404) at once; the earlier one stays"
stop_daemon
