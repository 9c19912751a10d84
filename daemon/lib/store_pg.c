/*
 * store_pg.c -- the shared store backend: PostgreSQL through libpq
 * (issue 13), the same operation table as store_sqlite.c with the same
 * results.  Blocking calls: each handle is one connection used by one
 * thread.
 *
 * Schema: created and migrated forward at open, one transaction per
 * version under an advisory lock (several nodes may start at once); the
 * version is the one row of broadside_schema, which also marks the
 * database as broadside's.
 *
 * What differs from SQLite, and why:
 * - Claims lock rows with FOR NO KEY UPDATE SKIP LOCKED in the statement
 *   that marks them, so two nodes claiming at once each get other rows.
 *   Open rows (pending, due deferred) come in (next_at, subscriber_id)
 *   order from one partial index, then lapsed claims by lease; the batch
 *   size is a literal (a generic plan for LIMIT $1 scanned the table).
 *   The rows are handed to the callback in subscriber id order, as
 *   SQLite does; which rows a claim takes when the limit cuts across
 *   pending, deferred and lapsed ones follows that order, not "the
 *   lowest ids of the three" (which two nodes could not share: both
 *   would pick the same ids and one would skip them all).
 * - A broadcast's counts are the base in its row plus one row per node
 *   in bc_counts, added to by that node's claims and records: nodes
 *   recording at once never wait on one hot row.  store_bc_get adds
 *   them up.
 * - Times are the database server's clock (store_now_ms, created,
 *   updated, started, finished), so nodes with skewed clocks agree.
 * - Every handle waits up to STORE_THREAD_BUSY_MS for a row lock
 *   (lock_timeout).  The first handle is the loop's, but the loop uses
 *   it only at start, before it runs (migrations, the node's
 *   registration, the secret's fingerprint), where another node starting
 *   at the same moment may hold a lock longer than SQLite's 20 ms
 *   (STORE_BUSY_MS): of nodes starting at once, any but the first could
 *   fail "lock for migration" (taken at every start, to read the
 *   version).  The migration lock itself is waited for as long as the
 *   other node's migration takes.
 *
 * - Nodes: the first handle takes a session advisory lock on the node's
 *   name (a second daemon under it is refused) and registers it in
 *   nodes; a claim first puts back the claims of registered nodes whose
 *   lock is gone (their session ended: killed, or cut off), so they are
 *   not held until their leases lapse.
 * - A connection the server dropped is opened again by the next call
 *   made outside a transaction (pg_check).
 *
 * - Heartbeats (pg_node_beat): a node's writer thread sets its seen
 *   every STORE_BEAT_MS; a claim also puts back the claims of nodes not
 *   seen for STORE_BEAT_EXPIRY_MS (stopped, cut off, stuck) whose
 *   session is still open.  statement_timeout and
 *   idle_in_transaction_session_timeout (STORE_STATEMENT_MS) keep a
 *   stuck statement, or a node stopped inside a transaction with rows
 *   locked, from outlasting that.
 *
 * - One rate across nodes: a GCRA row per broadcast (bc_rate) from
 *   which each node reserves its send slots (pg_rate_reserve).
 *
 * Not here yet (issue 13, later steps): LISTEN/NOTIFY (nodes poll
 * instead, store_bc_watch), pipeline mode.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_copy.h"

#define PG_LOCK_MIGRATE	0x42525344	/* "BRSD": one migrator at a time */
/* unix seconds on the server's clock, truncated as time(3) is (a cast
 * alone rounds: half a second ahead) */
#define PG_NOWS	"floor(extract(epoch from clock_timestamp()))::bigint"

enum pg_stmt {
	Q_SUB_FIND,
	Q_SUB_UPSERT_ROWS,
	Q_SUB_INSERT,
	Q_SUB_UPDATE,
	Q_SUB_TOUCH,
	Q_SUB_PROMOTE,
	Q_SUB_STATUS_KEY,
	Q_SUB_STATUS_ID,
	Q_SUB_GET,
	Q_SUB_GET_KEY,
	Q_SUB_LIST,
	Q_SUB_COUNT,
	Q_SUB_BOUNCE,
	Q_SUB_UNBOUNCE,
	Q_SUB_REACT_KEY,
	Q_SUB_REACT_BC,
	Q_COUNTS_ADD,
	Q_BC_INSERT,
	Q_BC_SNAP_LOCK,
	Q_BC_SNAPSHOT,
	Q_BC_SNAP_RESEND,
	Q_BC_RESEND_COUNT,
	Q_BC_SNAP_SET,
	Q_BC_GET,
	Q_BC_LIST,
	Q_BC_STATE,
	Q_DLV_NEXT_DUE,
	Q_DLV_COUNTS,
	Q_DLV_RECORD,
	Q_DLV_RELEASE_ALL,
	Q_DLV_RELEASE_SOME,
	Q_DLV_POSTPONE,
	Q_DLV_UNCLAIM,
	Q_DLV_RESTORE,
	Q_BC_SETTLED,
	Q_BOUNCE_KNOWN,
	Q_BOUNCE_FIRST,
	Q_BOUNCE_INSERT,
	Q_BOUNCE_SOFT,
	Q_BOUNCE_COUNT,
	Q_NODE_REGISTER,
	Q_DLV_RELEASE_DEAD,
	Q_SECRET,
	Q_NODE_BEAT,
	Q_BC_WATCH,
	Q_BC_NODES,
	Q_RATE_RESERVE,
	Q_DLV_GONE,
	Q_MAX
};

/* columns of a broadcast, its counts added up from the nodes' rows */
#define PG_BC_COLS "b.id, b.title, b.subject, b.source, b.filename, " \
	"b.markdown, b.state, b.created, b.started, b.finished, " \
	"b.total + coalesce(c.total, 0), b.sent + coalesce(c.sent, 0), " \
	"b.deferred + coalesce(c.deferred, 0), " \
	"b.failed + coalesce(c.failed, 0), " \
	"(b.snap_next IS NOT NULL)::int, b.reason, b.bounced, b.complained, " \
	"b.resent_from, b.resend_states, (SELECT max(r.id) FROM broadcasts r " \
	"WHERE r.resent_from = b.id), b.lang " \
	"FROM broadcasts b " \
	"LEFT JOIN LATERAL (SELECT sum(total)::bigint AS total, " \
	"sum(sent)::bigint AS sent, sum(deferred)::bigint AS deferred, " \
	"sum(failed)::bigint AS failed FROM bc_counts " \
	"WHERE broadcast_id = b.id) c ON true "

/* add to a node's counts row of a broadcast (an INSERT's tail) */
#define PG_COUNTS_UPSERT "ON CONFLICT (broadcast_id, node) DO UPDATE SET " \
	"total = bc_counts.total + EXCLUDED.total, " \
	"sent = bc_counts.sent + EXCLUDED.sent, " \
	"deferred = bc_counts.deferred + EXCLUDED.deferred, " \
	"failed = bc_counts.failed + EXCLUDED.failed"

static const char *pg_sql[Q_MAX] = {
	[Q_SUB_FIND] = "SELECT id, status, import_id FROM subscribers "
	    "WHERE key = $1",
	/* a chunk of an import in one statement (pg_sub_upsert_rows):
	 * $1..$4 email, key, name, fields text[], $5 status int[], $6
	 * import, $7 lang text[] ("": theirs kept); xmax 0 is a row this statement inserted; new ids in
	 * the arrays' order (the file's) */
	[Q_SUB_UPSERT_ROWS] = "INSERT INTO subscribers(email, key, name, "
	    "fields, status, import_id, created, updated, lang) "
	    "SELECT e, k, n, f, st, $6::bigint, " PG_NOWS ", " PG_NOWS ", l "
	    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
	    "$5::int[], $7::text[]) WITH ORDINALITY "
	    "AS u(e, k, n, f, st, l, o) ORDER BY o "
	    "ON CONFLICT (key) DO UPDATE SET email = EXCLUDED.email, "
	    "name = EXCLUDED.name, fields = EXCLUDED.fields, "
	    "import_id = EXCLUDED.import_id, updated = EXCLUDED.updated, "
	    "lang = CASE WHEN EXCLUDED.lang <> '' THEN EXCLUDED.lang "
	    "ELSE subscribers.lang END "
	    "WHERE subscribers.status = 1 "
	    "AND subscribers.import_id <> EXCLUDED.import_id "
	    "RETURNING key, xmax = 0",
	/* $1 email $2 key $3 name $4 fields $5 status $6 import */
	[Q_SUB_INSERT] = "INSERT INTO subscribers(email, key, name, fields, "
	    "status, import_id, created, updated) VALUES ($1, $2, $3, $4, "
	    "$5::int, $6::bigint, " PG_NOWS ", " PG_NOWS ") "
	    "ON CONFLICT (key) DO NOTHING",
	/* active rows only, status untouched (see store_sqlite.c) */
	[Q_SUB_UPDATE] = "UPDATE subscribers SET email = $1, name = $3, "
	    "fields = $4, import_id = $5::bigint, updated = " PG_NOWS " "
	    "WHERE key = $2 AND ($5::bigint = 0 OR import_id <> $5::bigint) "
	    "AND status = 1",
	[Q_SUB_TOUCH] = "UPDATE subscribers SET import_id = $1::bigint "
	    "WHERE id = $2::bigint",
	/* $1 email $2 id $3 name $4 fields $5 status $6 import */
	[Q_SUB_PROMOTE] = "UPDATE subscribers SET email = $1, name = $3, "
	    "fields = $4, status = $5::int, import_id = $6::bigint, "
	    "updated = " PG_NOWS " WHERE id = $2::bigint AND status = 0",
	[Q_SUB_STATUS_KEY] = "UPDATE subscribers SET status = $1::int, "
	    "updated = " PG_NOWS " WHERE key = $2 AND status <> $1::int "
	    "AND ($3::int <> 0 OR status NOT IN (2, 3))",
	[Q_SUB_STATUS_ID] = "UPDATE subscribers SET status = $1::int, "
	    "updated = " PG_NOWS " WHERE id = $2::bigint AND status <> $1::int "
	    "AND ($3::int <> 0 OR status NOT IN (2, 3))",
	[Q_SUB_GET] = "SELECT id, email, name, fields, status, created, lang "
	    "FROM subscribers WHERE id = $1::bigint",
	[Q_SUB_GET_KEY] = "SELECT id, email, name, fields, status, created, "
	    "lang FROM subscribers WHERE key = $1",
	[Q_SUB_LIST] = "SELECT id, email, name, fields, status, created, lang "
	    "FROM subscribers WHERE id > $1::bigint ORDER BY id "
	    "LIMIT $2::bigint",
	[Q_SUB_COUNT] = "SELECT status, sum(n)::bigint FROM sub_counts "
	    "GROUP BY status",
	[Q_SUB_BOUNCE] = "UPDATE subscribers SET status = 3, "
	    "bounced_by = $2::bigint, updated = " PG_NOWS " "
	    "WHERE id = $1::bigint AND status = 1",
	[Q_SUB_UNBOUNCE] = "UPDATE subscribers SET status = 1, bounced_by = 0, "
	    "updated = " PG_NOWS " WHERE id = $1::bigint AND status = 3 "
	    "AND bounced_by = $2::bigint",
	[Q_SUB_REACT_KEY] = "UPDATE subscribers SET status = 1, bounced_by = 0, "
	    "updated = " PG_NOWS " WHERE key = $1 AND status = 3",
	[Q_SUB_REACT_BC] = "UPDATE subscribers SET status = 1, bounced_by = 0, "
	    "updated = " PG_NOWS " WHERE bounced_by = $1::bigint "
	    "AND status = 3",
	/* new rows, added up per transaction (status changes: trigger) */
	[Q_COUNTS_ADD] = "INSERT INTO sub_counts VALUES ($1::int, "
	    "pg_backend_pid() % 16, $2::bigint) ON CONFLICT (status, part) "
	    "DO UPDATE SET n = sub_counts.n + EXCLUDED.n",
	[Q_BC_INSERT] = "INSERT INTO broadcasts(title, subject, source, "
	    "filename, markdown, state, created, snap_next, resent_from, "
	    "resend_states, lang) VALUES ($1, $2, $3, $4, $5::int, $6::int, "
	    "CASE WHEN $7::bigint = 0 THEN " PG_NOWS " ELSE $7::bigint END, "
	    "0, $8::bigint, $9::int, $10) RETURNING id",
	/*
	 * Slices: the broadcast's row locked for the slice, so that two
	 * nodes slicing at once take turns; "more" is from the rows
	 * selected, not inserted (a row already there is not the end).
	 */
	[Q_BC_SNAP_LOCK] = "SELECT snap_next, resent_from, resend_states "
	    "FROM broadcasts WHERE id = $1::bigint FOR UPDATE",
	[Q_BC_SNAPSHOT] = "WITH sel AS (SELECT id FROM subscribers "
	    "WHERE status = 1 AND id > $2::bigint ORDER BY id "
	    "LIMIT $3::bigint), "
	    "ins AS (INSERT INTO deliveries(broadcast_id, subscriber_id) "
	    "SELECT $1::bigint, id FROM sel ON CONFLICT DO NOTHING "
	    "RETURNING 1) "
	    "SELECT (SELECT count(*) FROM sel), "
	    "(SELECT coalesce(max(id), 0) FROM sel), "
	    "(SELECT count(*) FROM ins)",
	/* a resend (schema 5): the original's ($4) undelivered rows in the
	 * states of mask $5, of subscribers still active, read through the
	 * partial index of undelivered rows */
	[Q_BC_SNAP_RESEND] = "WITH sel AS (SELECT d.subscriber_id AS id "
	    "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
	    "WHERE d.broadcast_id = $4::bigint AND d.state IN (2, 3) "
	    "AND ((1 << d.state) & $5::int) <> 0 "
	    "AND d.subscriber_id > $2::bigint AND s.status = 1 "
	    "ORDER BY d.subscriber_id LIMIT $3::bigint), "
	    "ins AS (INSERT INTO deliveries(broadcast_id, subscriber_id) "
	    "SELECT $1::bigint, id FROM sel ON CONFLICT DO NOTHING "
	    "RETURNING 1) "
	    "SELECT (SELECT count(*) FROM sel), "
	    "(SELECT coalesce(max(id), 0) FROM sel), "
	    "(SELECT count(*) FROM ins)",
	[Q_BC_RESEND_COUNT] = "SELECT count(*) FROM deliveries d "
	    "JOIN subscribers s ON s.id = d.subscriber_id "
	    "WHERE d.broadcast_id = $1::bigint AND d.state IN (2, 3) "
	    "AND ((1 << d.state) & $2::int) <> 0 AND s.status = 1",
	[Q_BC_SNAP_SET] = "UPDATE broadcasts SET total = total + $2::bigint, "
	    "snap_next = $3::bigint WHERE id = $1::bigint",
	[Q_BC_GET] = "SELECT " PG_BC_COLS "WHERE b.id = $1::bigint",
	[Q_BC_LIST] = "SELECT " PG_BC_COLS "ORDER BY b.id DESC "
	    "LIMIT $1::bigint",
	[Q_BC_STATE] = "UPDATE broadcasts SET state = $2::int, reason = $3, "
	    "started = CASE WHEN $2::int = 1 AND started = 0 THEN " PG_NOWS
	    " ELSE started END, "
	    "finished = CASE WHEN $2::int IN (3, 4) THEN " PG_NOWS
	    " ELSE finished END WHERE id = $1::bigint",
	[Q_DLV_NEXT_DUE] = "SELECT min(next_at) FROM deliveries "
	    "WHERE broadcast_id = $1::bigint AND state = 2",
	/* a claimed row counts as pending */
	[Q_DLV_COUNTS] = "SELECT count(*) FILTER (WHERE state IN (0, 4)), "
	    "count(*) FILTER (WHERE state = 1), "
	    "count(*) FILTER (WHERE state = 2), "
	    "count(*) FILTER (WHERE state = 3) FROM deliveries "
	    "WHERE broadcast_id = $1::bigint",
	/*
	 * A group of results in one statement: arrays of broadcast,
	 * subscriber, state, attempts, due, code, message; each applied
	 * only to a row still claimed by owner $8 (a drop deletes it), and
	 * what moved added to owner's counts rows.  Answers how many went
	 * to each state.  "state + 0" keeps the planner off the owner's
	 * partial index: from there it joined every claimed row of the owner
	 * against every result (500 x 500 comparisons, 70 ms a group at 1M
	 * rows) instead of looking each result up by its key.
	 */
	[Q_DLV_RECORD] = "WITH u AS (SELECT * FROM unnest($1::bigint[], "
	    "$2::bigint[], $3::int[], $4::int[], $5::bigint[], $6::int[], "
	    "$7::text[]) AS u(bc, sub, state, attempts, next_at, code, msg)), "
	    "upd AS (UPDATE deliveries d SET state = u.state, "
	    "attempts = u.attempts, next_at = u.next_at, code = u.code, "
	    "error = u.msg, updated = " PG_NOWS ", owner = NULL, lease = 0, "
	    "prev_state = 0 FROM u WHERE u.state <> 5 "
	    "AND d.broadcast_id = u.bc AND d.subscriber_id = u.sub "
	    "AND d.state + 0 = 4 AND d.owner = $8 "
	    "RETURNING d.broadcast_id, d.state), "
	    "del AS (DELETE FROM deliveries d USING u WHERE u.state = 5 "
	    "AND d.broadcast_id = u.bc AND d.subscriber_id = u.sub "
	    "AND d.state + 0 = 4 AND d.owner = $8 "
	    "RETURNING d.broadcast_id, 5::smallint AS state), "
	    "moved AS (SELECT * FROM upd UNION ALL SELECT * FROM del), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT broadcast_id, $8, "
	    "-count(*) FILTER (WHERE state = 5), "
	    "count(*) FILTER (WHERE state = 1), "
	    "count(*) FILTER (WHERE state = 2), "
	    "count(*) FILTER (WHERE state = 3) FROM moved "
	    "GROUP BY broadcast_id " PG_COUNTS_UPSERT ") "
	    "SELECT state, count(*) FROM moved GROUP BY state",
	/* claims put back as they were; a deferred one counted again */
	[Q_DLV_RELEASE_ALL] = "WITH r AS (UPDATE deliveries "
	    "SET state = prev_state, owner = NULL, lease = 0, prev_state = 0 "
	    "WHERE owner = $1 AND state = 4 "
	    "AND ($2::bigint = 0 OR broadcast_id = $2::bigint) "
	    "RETURNING broadcast_id, state), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT broadcast_id, $1, 0, 0, count(*), 0 "
	    "FROM r WHERE state = 2 GROUP BY broadcast_id "
	    PG_COUNTS_UPSERT ") SELECT count(*) FROM r",
	[Q_DLV_RELEASE_SOME] = "WITH r AS (UPDATE deliveries "
	    "SET state = prev_state, owner = NULL, lease = 0, prev_state = 0 "
	    "WHERE owner = $1 AND state + 0 = 4 AND broadcast_id = $2::bigint "
	    "AND subscriber_id = ANY ($3::bigint[]) "
	    "RETURNING broadcast_id, state), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT broadcast_id, $1, 0, 0, count(*), 0 "
	    "FROM r WHERE state = 2 GROUP BY broadcast_id "
	    PG_COUNTS_UPSERT ") SELECT count(*) FROM r",
	[Q_DLV_POSTPONE] = "WITH r AS (UPDATE deliveries "
	    "SET state = prev_state, next_at = $4::bigint, owner = NULL, "
	    "lease = 0, prev_state = 0 WHERE owner = $1 AND state = 4 "
	    "AND broadcast_id = $2::bigint AND subscriber_id = $3::bigint "
	    "RETURNING broadcast_id, state), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT broadcast_id, $1, 0, 0, count(*), 0 "
	    "FROM r WHERE state = 2 GROUP BY broadcast_id "
	    PG_COUNTS_UPSERT ") SELECT count(*) FROM r",
	/*
	 * Rows a claim marked but its callback never saw, back to what
	 * they were: open rows to their state, lapsed claims to their old
	 * owner and lease.
	 */
	[Q_DLV_UNCLAIM] = "WITH r AS (UPDATE deliveries d SET "
	    "state = CASE WHEN u.was = 4 THEN 4 ELSE d.prev_state END, "
	    "owner = u.owner, lease = u.lease, "
	    "prev_state = CASE WHEN u.was = 4 THEN d.prev_state ELSE 0 END "
	    "FROM unnest($3::bigint[], $4::int[], $5::text[], $6::bigint[]) "
	    "AS u(sub, was, owner, lease) WHERE d.broadcast_id = $1::bigint "
	    "AND d.subscriber_id = u.sub AND d.state + 0 = 4 "
	    "AND d.owner = $2 "
	    "RETURNING u.was), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT $1::bigint, $2, 0, 0, count(*), 0 "
	    "FROM r WHERE was = 2 HAVING count(*) > 0 " PG_COUNTS_UPSERT ") "
	    "SELECT count(*) FROM r",
	/* $1 bc $2 sub $3 to $4 attempts $5 from $6 node */
	[Q_DLV_RESTORE] = "WITH r AS (UPDATE deliveries SET state = $5::int, "
	    "attempts = $4::int, next_at = 0, code = 0, error = '', "
	    "owner = NULL, lease = 0, prev_state = 0 "
	    "WHERE broadcast_id = $1::bigint AND subscriber_id = $2::bigint "
	    "AND state = $3::int RETURNING 1), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT $1::bigint, $6, 0, "
	    "-($3::int = 1)::int, ($5::int = 2)::int - ($3::int = 2)::int, "
	    "-($3::int = 3)::int FROM r " PG_COUNTS_UPSERT ") "
	    "SELECT count(*) FROM r",
	[Q_BC_SETTLED] = "SELECT (snap_next IS NULL "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries "
	    "WHERE broadcast_id = $1::bigint AND state IN (0, 2)) "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries "
	    "WHERE broadcast_id = $1::bigint AND state = 4))::int "
	    "FROM broadcasts WHERE id = $1::bigint",
	/*
	 * Returned messages (schema 2): the subscriber's row locked, so
	 * that reports of one subscriber from several nodes take turns;
	 * whether they were a recipient of the broadcast (0: unknown).
	 */
	[Q_BOUNCE_KNOWN] = "SELECT status, ($1::bigint = 0 OR EXISTS (SELECT 1 "
	    "FROM deliveries WHERE broadcast_id = $1::bigint "
	    "AND subscriber_id = $2::bigint))::int FROM subscribers "
	    "WHERE id = $2::bigint FOR UPDATE",
	[Q_BOUNCE_FIRST] = "SELECT (NOT EXISTS (SELECT 1 FROM bounces "
	    "WHERE broadcast_id = $1::bigint AND subscriber_id = $2::bigint "
	    "AND kind IN (1, 2)))::int",
	[Q_BOUNCE_INSERT] = "INSERT INTO bounces(broadcast_id, subscriber_id, "
	    "kind, created) VALUES ($1::bigint, $2::bigint, $3::int, "
	    PG_NOWS ") ON CONFLICT DO NOTHING",
	[Q_BOUNCE_SOFT] = "SELECT count(DISTINCT broadcast_id) FROM bounces "
	    "WHERE subscriber_id = $1::bigint AND kind = 1",
	/* rare (returned mail): the broadcast's own row */
	[Q_BOUNCE_COUNT] = "UPDATE broadcasts SET bounced = bounced + "
	    "$2::bigint, complained = complained + $3::bigint "
	    "WHERE id = $1::bigint",
	/* the fingerprint kept: the first node's, or this one's if first */
	[Q_SECRET] = "WITH ins AS (INSERT INTO secrets VALUES ('hmac', $1, "
	    PG_NOWS ") ON CONFLICT (name) DO NOTHING RETURNING fingerprint) "
	    "SELECT fingerprint FROM ins UNION ALL "
	    "SELECT fingerprint FROM secrets WHERE name = 'hmac'",
	[Q_NODE_REGISTER] = "INSERT INTO nodes VALUES ($1, " PG_NOWS ", "
	    PG_NOWS ") ON CONFLICT (name) DO UPDATE SET "
	    "started = EXCLUDED.started, seen = EXCLUDED.seen",
	/*
	 * The claims of broadcast $1 held by registered nodes (other than
	 * $2) that are dead: their session, and with it the advisory lock
	 * on their name (pg_session), is gone.  Put back as they were, as
	 * a release by that node would (no attempt spent), without waiting
	 * for their leases; so are those of nodes whose heartbeat ($3 ms)
	 * expired (seen, unix seconds, is their last beat): stopped
	 * (SIGSTOP), partitioned or stuck, with their session still open.
	 * An owner that never registered (not a daemon) keeps its claims
	 * until they lapse.
	 */
	[Q_DLV_RELEASE_DEAD] = "WITH dead AS (SELECT n.name FROM nodes n "
	    "CROSS JOIN LATERAL (SELECT hashtextextended('broadside node ' "
	    "|| n.name, 0) AS k) h WHERE n.name <> $2 AND (n.seen < "
	    PG_NOWS " - $3::bigint / 1000 OR NOT EXISTS ("
	    "SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
	    "AND l.database = (SELECT oid FROM pg_database "
	    "WHERE datname = current_database()) "
	    "AND l.classid = ((h.k >> 32) & 4294967295)::oid "
	    "AND l.objid = (h.k & 4294967295)::oid AND l.objsubid = 1 "
	    "AND l.granted))), "
	    "r AS (UPDATE deliveries d SET state = d.prev_state, owner = NULL, "
	    "lease = 0, prev_state = 0 FROM dead WHERE d.owner = dead.name "
	    "AND d.state = 4 AND d.broadcast_id = $1::bigint "
	    "RETURNING d.broadcast_id, d.state, dead.name), "
	    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
	    "deferred, failed) SELECT broadcast_id, name, 0, 0, count(*), 0 "
	    "FROM r WHERE state = 2 GROUP BY broadcast_id, name "
	    PG_COUNTS_UPSERT ") SELECT count(*) FROM r",
	/*
	 * A heartbeat: this node's seen set to the server's clock, and
	 * whether the one before had expired ($2 ms), in which case the
	 * others may have taken its claims.  No row: registered again.
	 */
	[Q_NODE_BEAT] = "WITH old AS (SELECT seen FROM nodes WHERE name = $1 "
	    "FOR UPDATE) UPDATE nodes n SET seen = " PG_NOWS " FROM old "
	    "WHERE n.name = $1 RETURNING (old.seen < " PG_NOWS " - "
	    "$2::bigint / 1000)::int",
	/* what the other nodes may have changed (store_bc_watch) */
	[Q_BC_WATCH] = "SELECT coalesce((SELECT state FROM broadcasts "
	    "WHERE id = $1::bigint), -1), coalesce((SELECT min(id) "
	    "FROM broadcasts WHERE state IN (0, 1)), 0)",
	/* each node's share: its counts rows' sent, its claims (from the
	 * partial index of claimed rows), its last heartbeat */
	[Q_BC_NODES] = "WITH c AS (SELECT node, sum(sent)::bigint AS sent "
	    "FROM bc_counts WHERE broadcast_id = $1::bigint GROUP BY node), "
	    "f AS (SELECT owner AS node, count(*) AS n FROM deliveries "
	    "WHERE broadcast_id = $1::bigint AND state = 4 GROUP BY owner), "
	    "k AS (SELECT node FROM c UNION SELECT node FROM f) "
	    "SELECT k.node, coalesce(c.sent, 0), coalesce(f.n, 0), "
	    "coalesce(n.seen, 0) FROM k LEFT JOIN c USING (node) "
	    "LEFT JOIN f USING (node) LEFT JOIN nodes n ON n.name = k.node "
	    "ORDER BY k.node",
	/*
	 * The shared rate (schema 7): $3 slots $2 us apart for broadcast
	 * $1, after its theoretical arrival time (tat, unix us) or from now
	 * if that is past; answers how far after now the first is.  One
	 * row per broadcast, locked for the statement only.
	 */
	[Q_RATE_RESERVE] = "WITH v AS (SELECT floor(extract(epoch from "
	    "clock_timestamp()) * 1000000)::bigint AS now) "
	    "INSERT INTO bc_rate AS r (broadcast_id, tat) SELECT $1::bigint, "
	    "v.now + $3::bigint * $2::bigint FROM v "
	    "ON CONFLICT (broadcast_id) DO UPDATE SET tat = greatest(r.tat, "
	    "(SELECT now FROM v)) + $3::bigint * $2::bigint "
	    "RETURNING r.tat - $3::bigint * $2::bigint - (SELECT now FROM v)",
	/* an owner's claims whose subscriber left meanwhile (from the
	 * partial index of claimed rows: a node's claims, not the list) */
	[Q_DLV_GONE] = "SELECT d.subscriber_id FROM deliveries d "
	    "JOIN subscribers s ON s.id = d.subscriber_id "
	    "WHERE d.owner = $2 AND d.broadcast_id = $1::bigint "
	    "AND d.state = 4 AND s.status <> 1 LIMIT $3::bigint",
};

/*
 * The claim, with the batch size written in (%d, twice).  Open rows
 * first, then lapsed claims, each scan locking only the rows it hands
 * up (the Limit over the Append stops pulling), all marked in the same
 * statement; a deferred row claimed leaves owner's deferred count.
 * Answers the rows with what they were (for an undo) and the
 * subscriber's data, in subscriber order.
 */
static const char pg_claim_fmt[] =
    "WITH o AS (SELECT subscriber_id, state FROM deliveries "
    "WHERE broadcast_id = $1::bigint AND state IN (0, 2) "
    "AND next_at <= $2::bigint ORDER BY next_at, subscriber_id "
    "LIMIT %d FOR NO KEY UPDATE SKIP LOCKED), "
    "l AS (SELECT subscriber_id, owner, lease FROM deliveries "
    "WHERE broadcast_id = $1::bigint AND state = 4 AND lease < $2::bigint "
    "ORDER BY lease LIMIT %d FOR NO KEY UPDATE SKIP LOCKED), "
    "pick AS (SELECT * FROM (SELECT subscriber_id, state AS was, "
    "NULL::text AS old_owner, 0::bigint AS old_lease FROM o "
    "UNION ALL SELECT subscriber_id, 4, owner, lease FROM l) p "
    "LIMIT %d), "
    "took AS (UPDATE deliveries d SET prev_state = CASE pick.was "
    "WHEN 4 THEN d.prev_state ELSE pick.was END, state = 4, owner = $3, "
    "lease = $4::bigint FROM pick WHERE d.broadcast_id = $1::bigint "
    "AND d.subscriber_id = pick.subscriber_id "
    "RETURNING d.subscriber_id, pick.was, pick.old_owner, pick.old_lease, "
    "d.attempts), "
    "cnt AS (INSERT INTO bc_counts(broadcast_id, node, total, sent, "
    "deferred, failed) SELECT $1::bigint, $3, 0, 0, -count(*), 0 "
    "FROM took WHERE was = 2 HAVING count(*) > 0 " PG_COUNTS_UPSERT ") "
    "SELECT t.subscriber_id, t.was, t.old_owner, t.old_lease, t.attempts, "
    "s.email, s.name, s.fields, s.status, s.lang FROM took t "
    "JOIN subscribers s ON s.id = t.subscriber_id";

/*
 * The claim's plan, pinned: the open rows' index read in its own order
 * and stopped at the limit.  Without statistics (a table just filled by
 * a snapshot, a new broadcast's id the planner has not seen) it chose a
 * bitmap scan of every due row and a sort: 27-90 ms for a claim of 500
 * in 200,000 rows against 4 ms.  So no sort and no bitmap scan in the
 * claim's transaction (the rows are put in subscriber order here).
 */
#define PG_CLAIM_PLAN1	"SET LOCAL enable_sort = off"
#define PG_CLAIM_PLAN2	"SET LOCAL enable_bitmapscan = off"
#define PG_CLAIM_UNPLAN	"SET LOCAL enable_sort = on; " \
	"SET LOCAL enable_bitmapscan = on"

/* Forward migrations: pg_migrations[i] takes the schema from i to i + 1. */
static const char *pg_migrations[] = {
	"CREATE TABLE IF NOT EXISTS broadside_schema ("
	"  version integer NOT NULL);"
	"CREATE TABLE meta (key text PRIMARY KEY, value bigint NOT NULL);"
	"INSERT INTO meta VALUES ('writable', 0);"
	"CREATE SEQUENCE import_seq;"
	"CREATE TABLE subscribers ("
	"  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  email text NOT NULL,"
	"  key text NOT NULL UNIQUE,"
	"  name text NOT NULL DEFAULT '',"
	"  fields text NOT NULL DEFAULT '{}',"
	"  status smallint NOT NULL CHECK (status BETWEEN 0 AND 3),"
	"  import_id bigint NOT NULL DEFAULT 0,"
	"  bounced_by bigint NOT NULL DEFAULT 0,"
	"  created bigint NOT NULL,"
	"  updated bigint NOT NULL);"
	"CREATE INDEX subscribers_bounced_by ON subscribers(bounced_by)"
	"  WHERE bounced_by <> 0;"
	"CREATE INDEX subscribers_active ON subscribers(id) WHERE status = 1;"
	/* counts by status: a row per status and part (a connection's pid
	 * modulo 16), added up when read: no single hot row */
	"CREATE TABLE sub_counts (status smallint NOT NULL,"
	"  part integer NOT NULL, n bigint NOT NULL,"
	"  PRIMARY KEY (status, part));"
	"CREATE FUNCTION sub_counts_move() RETURNS trigger LANGUAGE plpgsql"
	"  AS $$ BEGIN"
	"  INSERT INTO sub_counts VALUES (OLD.status, pg_backend_pid() % 16,"
	"    -1) ON CONFLICT (status, part) DO UPDATE SET n = sub_counts.n - 1;"
	"  IF TG_OP = 'UPDATE' THEN"
	"    INSERT INTO sub_counts VALUES (NEW.status, pg_backend_pid() % 16,"
	"      1) ON CONFLICT (status, part)"
	"      DO UPDATE SET n = sub_counts.n + 1;"
	"  END IF;"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER sub_counts_upd AFTER UPDATE OF status ON subscribers"
	"  FOR EACH ROW WHEN (OLD.status <> NEW.status)"
	"  EXECUTE FUNCTION sub_counts_move();"
	"CREATE TRIGGER sub_counts_del AFTER DELETE ON subscribers"
	"  FOR EACH ROW EXECUTE FUNCTION sub_counts_move();"
	"CREATE TABLE broadcasts ("
	"  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
	"  title text NOT NULL,"
	"  subject text NOT NULL,"
	"  source text NOT NULL,"
	"  filename text NOT NULL DEFAULT '',"
	"  markdown smallint NOT NULL DEFAULT 0,"
	"  state smallint NOT NULL,"
	"  created bigint NOT NULL,"
	"  started bigint NOT NULL DEFAULT 0,"
	"  finished bigint NOT NULL DEFAULT 0,"
	"  total bigint NOT NULL DEFAULT 0,"
	"  sent bigint NOT NULL DEFAULT 0,"
	"  deferred bigint NOT NULL DEFAULT 0,"
	"  failed bigint NOT NULL DEFAULT 0,"
	"  snap_next bigint,"
	"  reason text);"
	/* what each node's claims and records moved, added to the row's */
	"CREATE TABLE bc_counts ("
	"  broadcast_id bigint NOT NULL REFERENCES broadcasts(id),"
	"  node text NOT NULL,"
	"  total bigint NOT NULL DEFAULT 0,"
	"  sent bigint NOT NULL DEFAULT 0,"
	"  deferred bigint NOT NULL DEFAULT 0,"
	"  failed bigint NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (broadcast_id, node));"
	/* state 4 is claimed, by owner until lease (unix ms), prev_state
	 * what it was (0 or 2), as in SQLite's schema 4 */
	"CREATE TABLE deliveries ("
	"  broadcast_id bigint NOT NULL REFERENCES broadcasts(id),"
	"  subscriber_id bigint NOT NULL REFERENCES subscribers(id),"
	"  state smallint NOT NULL DEFAULT 0,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  next_at bigint NOT NULL DEFAULT 0,"
	"  code integer NOT NULL DEFAULT 0,"
	"  error text NOT NULL DEFAULT '',"
	"  updated bigint NOT NULL DEFAULT 0,"
	"  owner text,"
	"  lease bigint NOT NULL DEFAULT 0,"
	"  prev_state smallint NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (broadcast_id, subscriber_id));"
	/* the claim's scan: open rows in due order (issue 13: with
	 * (broadcast_id, id) the planner drifted to the primary key) */
	"CREATE INDEX deliveries_due ON deliveries(broadcast_id, next_at,"
	"  subscriber_id) WHERE state IN (0, 2);"
	"CREATE INDEX deliveries_deferred ON deliveries(broadcast_id, next_at)"
	"  WHERE state = 2;"
	"CREATE INDEX deliveries_lease ON deliveries(broadcast_id, lease)"
	"  WHERE state = 4;"
	"CREATE INDEX deliveries_owner ON deliveries(owner, broadcast_id)"
	"  WHERE state = 4;",
	/*
	 * 2: returned messages (store_bounce_record), as SQLite's schema 5:
	 * each (broadcast, subscriber, kind) once, kind 1 soft, 2 hard, 3
	 * complaint, broadcast 0 when only the subscriber is known; per
	 * broadcast the recipients that bounced and the complaints.
	 */
	"CREATE TABLE bounces ("
	"  broadcast_id bigint NOT NULL,"
	"  subscriber_id bigint NOT NULL,"
	"  kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 3),"
	"  created bigint NOT NULL,"
	"  PRIMARY KEY (broadcast_id, subscriber_id, kind));"
	"CREATE INDEX bounces_subscriber ON bounces(subscriber_id, kind);"
	"ALTER TABLE broadcasts ADD COLUMN bounced bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE broadcasts ADD COLUMN complained bigint NOT NULL "
	"  DEFAULT 0;",
	/*
	 * 3: the daemons that registered (pg_session): a claim hands their
	 * rows to the others once their session is gone
	 * (Q_DLV_RELEASE_DEAD).
	 */
	"CREATE TABLE nodes (name text PRIMARY KEY, started bigint NOT NULL,"
	"  seen bigint NOT NULL);",
	/* 4: the HMAC secret's fingerprint, the first node's (pg_secret) */
	"CREATE TABLE secrets (name text PRIMARY KEY,"
	"  fingerprint text NOT NULL, created bigint NOT NULL);",
	/*
	 * 5: resends, as SQLite's schema 6: the broadcast resent and which
	 * of its delivery states (a mask of 1 << state) the resend takes;
	 * the undelivered rows of a broadcast by subscriber, so that a
	 * resend's slices read only them
	 */
	"ALTER TABLE broadcasts ADD COLUMN resent_from bigint NOT NULL "
	"  DEFAULT 0;"
	"ALTER TABLE broadcasts ADD COLUMN resend_states integer NOT NULL "
	"  DEFAULT 0;"
	"CREATE INDEX broadcasts_resent_from ON broadcasts(resent_from);"
	"CREATE INDEX deliveries_undelivered ON deliveries(broadcast_id,"
	"  subscriber_id) WHERE state IN (2, 3);",
	/*
	 * 6: statements in several languages, as SQLite's schema 7: a
	 * broadcast's default language, its other versions, and each
	 * subscriber's language ("" for none)
	 */
	"ALTER TABLE broadcasts ADD COLUMN lang text NOT NULL DEFAULT '';"
	"ALTER TABLE subscribers ADD COLUMN lang text NOT NULL DEFAULT '';"
	"CREATE TABLE translations ("
	"  broadcast_id bigint NOT NULL REFERENCES broadcasts(id),"
	"  lang text NOT NULL,"
	"  title text NOT NULL,"
	"  subject text NOT NULL,"
	"  source text NOT NULL,"
	"  filename text NOT NULL DEFAULT '',"
	"  markdown integer NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (broadcast_id, lang));",
	/*
	 * 7: one rate across nodes (issue 13): a broadcast's GCRA row, the
	 * end of the send slots reserved so far (unix us on the server's
	 * clock)
	 */
	"CREATE TABLE bc_rate (broadcast_id bigint PRIMARY KEY,"
	"  tat bigint NOT NULL);",
};
#define PG_VERSION	((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

struct pg_store {
	struct store	 st;		/* must be first */
	PGconn		*conn;
	char		*url;		/* as given: holds no password */
	char		*password;	/* NULL: libpq's passfile */
	char		*node;		/* counts of calls without an owner */
	int		 more;		/* another thread's handle */
	int		 tx;		/* a transaction is open (ours or the
					   caller's) */
	int		 ro;		/* store_read_only was called */
	int		 ready;		/* the schema is there */
	int		 prepared[Q_MAX];
	int		 claim_limit;	/* the prepared claim's, 0: none */
	enum store_upsert last;
	int64_t		 added[4];	/* rows inserted by status in this
					   transaction, not yet counted */
};

#define PG(st)	((struct pg_store *)(st))

/* Parameters in text form. */
#define PG_MAXP	10
struct pg_params {
	int		 n;
	const char	*v[PG_MAXP];
	char		 buf[PG_MAXP][24];
};

static void
pp_int(struct pg_params *p, int64_t v)
{
	snprintf(p->buf[p->n], sizeof(p->buf[0]), "%" PRId64, v);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

static void
pp_str(struct pg_params *p, const char *v)
{
	p->v[p->n++] = v;
}

/* A growing text, for array literals. */
struct pg_text {
	char	*s;
	size_t	 len, cap;
	int	 oom;
};

static void
pt_add(struct pg_text *t, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 256;
		while (cap < t->len + n + 1)
			cap *= 2;
		if ((p = realloc(t->s, cap)) == NULL) {
			t->oom = 1;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void
pt_int(struct pg_text *t, int64_t v)
{
	char	buf[24];
	int	n;

	n = snprintf(buf, sizeof(buf), "%s%" PRId64, t->len > 1 ? "," : "",
	    v);
	pt_add(t, buf, (size_t)n);
}

/* An element of a text[] literal: quoted, " and \ escaped. */
static void
pt_quoted(struct pg_text *t, const char *s)
{
	const char	*p;

	if (t->len > 1)
		pt_add(t, ",", 1);
	pt_add(t, "\"", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			pt_add(t, "\\", 1);
		pt_add(t, p, 1);
	}
	pt_add(t, "\"", 1);
}

static void
pt_open(struct pg_text *t)
{
	t->len = 0;
	pt_add(t, "{", 1);
}

static void
pt_close(struct pg_text *t)
{
	pt_add(t, "}", 1);
}

/*
 * "PREFIX: WHAT: the server's message" on one line (libpq's has newlines
 * and tabs): r's error, else conn's.  store_copy.c's too.
 */
void
store_pg_msg(const struct pg_conn *conn, const struct pg_result *r,
    const char *prefix, const char *what, char *err, size_t errlen)
{
	const char	*m = r ? PQresultErrorMessage(r) : "";
	size_t		 i, n;
	int		 len;

	if (m == NULL || *m == '\0')
		m = PQerrorMessage(conn);
	len = snprintf(err, errlen, "%s: %s: ", prefix, what);
	if (len < 0 || (size_t)len >= errlen)
		return;
	for (i = (size_t)len, n = 0; m[n] != '\0' && i + 1 < errlen; n++) {
		if (isspace((unsigned char)m[n])) {
			if (i > (size_t)len && err[i - 1] != ' ')
				err[i++] = ' ';
		} else
			err[i++] = m[n];
	}
	while (i > (size_t)len && err[i - 1] == ' ')
		i--;
	err[i] = '\0';
}

static void
pg_msg(struct pg_store *s, const PGresult *r, char *err, size_t errlen,
    const char *what)
{
	store_pg_msg(s->conn, r, s->url, what, err, errlen);
}

/* Whether r failed for a lock held elsewhere (lock_timeout). */
static int
pg_locked(const PGresult *r)
{
	const char	*code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) :
			    NULL;

	return code != NULL && strcmp(code, "55P03") == 0;
}

static int
pg_ok(const PGresult *r)
{
	ExecStatusType	 t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

/* One statement without parameters; 0 or -1 with err. */
static int	pg_check(struct pg_store *, char *, size_t);

static int
pg_exec(struct pg_store *s, const char *sql, char *err, size_t errlen,
    const char *what)
{
	PGresult	*r;
	int		 ret = 0;

	if (pg_check(s, err, errlen) == -1)
		return -1;
	r = PQexec(s->conn, sql);
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, what);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

/* Statement q of the table prepared (on first use), its name in name. */
static int
pg_prepare(struct pg_store *s, enum pg_stmt q, char name[16], char *err,
    size_t errlen, const char *what)
{
	PGresult	*r;

	snprintf(name, 16, "q%d", (int)q);
	if (s->prepared[q])
		return 0;
	r = PQprepare(s->conn, name, pg_sql[q], 0, NULL);
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, what);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	s->prepared[q] = 1;
	return 0;
}

/* A statement of the table, prepared on first use; NULL with err. */
static PGresult *
pg_run(struct pg_store *s, enum pg_stmt q, const struct pg_params *p,
    char *err, size_t errlen, const char *what)
{
	PGresult	*r;
	char		 name[16];

	if (pg_check(s, err, errlen) == -1 ||
	    pg_prepare(s, q, name, err, errlen, what) == -1)
		return NULL;
	r = PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL,
	    NULL, 0);
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, what);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* One statement of a pipeline (pg_pipeline). */
struct pg_step {
	const char		*sql;
	const char		*name;
	const struct pg_params	*p;
	const char		*what;
};

/*
 * Out of pipeline mode after a failure, what is left read and dropped.
 * A connection that cannot leave it (broken) stays in it, and pg_check
 * opens it again.
 */
static void
pg_pipeline_off(struct pg_store *s)
{
	PGresult	*r;
	int		 nulls = 0;

	while (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF &&
	    PQexitPipelineMode(s->conn) != 1) {
		if (PQstatus(s->conn) != CONNECTION_OK)
			return;
		if ((r = PQgetResult(s->conn)) == NULL) {
			if (++nulls > 2)
				return;
			continue;
		}
		nulls = 0;
		PQclear(r);
	}
}

/*
 * Statements sent together and answered in one round trip (libpq's
 * pipeline mode, one sync at the end): each step a prepared statement
 * (name, with p) or one SQL command without parameters.  A failed step
 * makes the server skip the rest.  Every result is read; the first
 * failure's message goes to err.  Returns the last step's result (the
 * caller's to clear) when all succeeded, else NULL.  The caller has
 * checked the connection (pg_check) and prepared the statements.
 */
static PGresult *
pg_pipeline(struct pg_store *s, const struct pg_step *st, int n, char *err,
    size_t errlen)
{
	PGresult	*r, *last = NULL;
	int		 i, sent, failed = 0;

	if (PQenterPipelineMode(s->conn) != 1) {
		pg_msg(s, NULL, err, errlen, st[0].what);
		return NULL;
	}
	for (sent = 0; sent < n; sent++)
		if ((st[sent].name != NULL ? PQsendQueryPrepared(s->conn,
		    st[sent].name, st[sent].p ? st[sent].p->n : 0,
		    st[sent].p ? st[sent].p->v : NULL, NULL, NULL, 0) :
		    PQsendQueryParams(s->conn, st[sent].sql, 0, NULL, NULL,
		    NULL, NULL, 0)) != 1)
			break;
	if (sent < n || PQpipelineSync(s->conn) != 1) {
		pg_msg(s, NULL, err, errlen, st[sent < n ? sent : 0].what);
		pg_pipeline_off(s);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((r = PQgetResult(s->conn)) == NULL) {
			if (!failed)
				pg_msg(s, NULL, err, errlen, st[i].what);
			failed = 1;
			break;
		}
		if (!failed && !pg_ok(r)) {
			pg_msg(s, r, err, errlen, st[i].what);
			failed = 1;
		}
		if (i == n - 1 && !failed)
			last = r;
		else
			PQclear(r);
		/* the end of this step's results */
		while ((r = PQgetResult(s->conn)) != NULL)
			PQclear(r);
	}
	if (i == n) {
		/* the sync */
		r = PQgetResult(s->conn);
		PQclear(r);
	}
	if (PQexitPipelineMode(s->conn) != 1) {
		if (!failed)
			pg_msg(s, NULL, err, errlen, st[n - 1].what);
		failed = 1;
		pg_pipeline_off(s);
	}
	if (failed) {
		PQclear(last);
		return NULL;
	}
	return last;
}

/* Run q for its effect; *changed (may be NULL): rows it touched. */
static int
pg_run_changes(struct pg_store *s, enum pg_stmt q, const struct pg_params *p,
    int *changed, char *err, size_t errlen, const char *what)
{
	PGresult	*r = pg_run(s, q, p, err, errlen, what);

	if (r == NULL)
		return -1;
	if (changed != NULL)
		*changed = atoi(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

static int64_t
pg_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Kept here, not asked of libpq: a broken connection knows no state. */
static int
pg_in_tx(struct pg_store *s)
{
	return s->tx;
}

static int
pg_begin_tx(struct pg_store *s, char *err, size_t errlen)
{
	if (pg_exec(s, "BEGIN", err, errlen, "begin") == -1)
		return -1;
	s->tx = 1;
	return 0;
}

/* One transaction per call, or a savepoint inside the caller's. */
static int
pg_tx_begin(struct pg_store *s, int *own, char *err, size_t errlen)
{
	*own = !pg_in_tx(s);
	if (*own)
		return pg_begin_tx(s, err, errlen);
	return pg_exec(s, "SAVEPOINT dlv", err, errlen, "begin");
}

static int	pg_commit(struct store *, char *, size_t);
static int	pg_rollback(struct store *);

/* Commit (ok) or undo; -1 if it ends undone. */
static int
pg_tx_end(struct pg_store *s, int own, int ok, char *err, size_t errlen)
{
	char	ignored[16];

	if (ok && own) {
		if (pg_commit(&s->st, err, errlen) == 0)
			return 0;
		pg_rollback(&s->st);
		return -1;
	}
	if (ok)
		return pg_exec(s, "RELEASE dlv", err, errlen, "release");
	if (own)
		pg_rollback(&s->st);
	else {
		pg_exec(s, "ROLLBACK TO dlv", ignored, sizeof(ignored), "");
		pg_exec(s, "RELEASE dlv", ignored, sizeof(ignored), "");
	}
	return -1;
}

static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;	/* NOTICEs (IF NOT EXISTS, ...) are not ours to print */
}

static int
pg_migrate(struct pg_store *s, char *err, size_t errlen)
{
	PGresult	*r;
	char		 sql[128], what[64];
	int		 version, tables, marked;

	for (;;) {
		if (pg_begin_tx(s, err, errlen) == -1)
			return -1;
		/* a migration of a big table may take its time */
		snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = 0; "
		    "SET LOCAL lock_timeout = 0; "
		    "SELECT pg_advisory_xact_lock(%d)", PG_LOCK_MIGRATE);
		if (pg_exec(s, sql, err, errlen, "lock for migration") == -1)
			goto fail;
		r = PQexec(s->conn, "SELECT (SELECT count(*) FROM pg_tables "
		    "WHERE schemaname = current_schema()), "
		    "to_regclass('broadside_schema') IS NOT NULL");
		if (!pg_ok(r) || PQntuples(r) != 1) {
			pg_msg(s, r, err, errlen, "reading the schema version");
			PQclear(r);
			goto fail;
		}
		tables = (int)pg_int(r, 0, 0);
		marked = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		PQclear(r);
		version = 0;
		if (marked) {
			r = PQexec(s->conn, "SELECT max(version) FROM "
			    "broadside_schema");
			if (!pg_ok(r) || PQntuples(r) != 1) {
				pg_msg(s, r, err, errlen, "reading the schema "
				    "version");
				PQclear(r);
				goto fail;
			}
			version = (int)pg_int(r, 0, 0);
			PQclear(r);
		} else if (tables > 0) {
			snprintf(err, errlen, "%s: not a broadside database "
			    "(%d tables, no broadside_schema)", s->url, tables);
			goto fail;
		}
		if (version > PG_VERSION) {
			snprintf(err, errlen, "%s: schema version %d is newer "
			    "than this broadside (%d)", s->url, version,
			    PG_VERSION);
			goto fail;
		}
		if (version == PG_VERSION) {
			s->tx = 0;
			return pg_exec(s, "COMMIT", err, errlen, "commit");
		}
		snprintf(what, sizeof(what), "migrating to schema %d",
		    version + 1);
		if (pg_exec(s, pg_migrations[version], err, errlen, what) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "DELETE FROM broadside_schema; "
		    "INSERT INTO broadside_schema VALUES (%d)", version + 1);
		if (pg_exec(s, sql, err, errlen, what) == -1)
			goto fail;
		s->tx = 0;
		if (pg_exec(s, "COMMIT", err, errlen, what) == -1)
			return -1;
	}
fail:
	s->tx = 0;
	pg_exec(s, "ROLLBACK", sql, sizeof(sql), "");
	return -1;
}

static void	pg_close(struct store *);

/*
 * What a connection is set up with, again after a reconnect: the loop's
 * handle never waits long for a row lock; the first handle registers
 * the node (a session advisory lock on its name: a second daemon under
 * the same name is refused, and its claims are this one's to release
 * at start); a read-only handle stays so.
 */
static int	pg_register(struct pg_store *, char *, size_t);
static int	pg_run_changes(struct pg_store *, enum pg_stmt,
		    const struct pg_params *, int *, char *, size_t,
		    const char *);

static int
pg_session(struct pg_store *s, char *err, size_t errlen)
{
	char		 sql[384];

	/*
	 * The server's side of keepalives too: a node that vanished without
	 * closing its connection (power, network) loses its session, and so
	 * its node lock and its claims (Q_DLV_RELEASE_DEAD), in about 25 s.
	 */
	/*
	 * No statement, and no transaction left idle (a node stopped in
	 * one holds its row locks: the others could not take its claims),
	 * outlasts a heartbeat's expiry (STORE_STATEMENT_MS).
	 */
	snprintf(sql, sizeof(sql), "SET lock_timeout = %d; "
	    "SET client_min_messages = warning; "
	    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
	    "SET tcp_keepalives_count = 3; SET statement_timeout = %d; "
	    "SET idle_in_transaction_session_timeout = %d",
	    STORE_THREAD_BUSY_MS, STORE_STATEMENT_MS, STORE_STATEMENT_MS);
	if (pg_exec(s, sql, err, errlen, "session settings") == -1)
		return -1;
	if (!s->more && pg_register(s, err, errlen) == -1)
		return -1;
	if (s->ro && pg_exec(s, "SET default_transaction_read_only = on",
	    err, errlen, "read only") == -1)
		return -1;
	return 0;
}

/* The first handle: the node's advisory lock, and its row in nodes. */
static int
pg_register(struct pg_store *s, char *err, size_t errlen)
{
	struct pg_params	 p;
	const char		*v[1];
	PGresult		*r;
	int			 held, tries = 0;
	struct timespec		 pause = { 0, 50 * 1000 * 1000 };

	v[0] = s->node;
again:
	r = PQexecParams(s->conn, "SELECT pg_try_advisory_lock("
	    "hashtextextended('broadside node ' || $1, 0))", 1, NULL, v, NULL,
	    NULL, 0);
	if (!pg_ok(r) || PQntuples(r) != 1) {
		pg_msg(s, r, err, errlen, "register the node");
		PQclear(r);
		return -1;
	}
	held = strcmp(PQgetvalue(r, 0, 0), "t") != 0;
	PQclear(r);
	/*
	 * At start (not at a reconnect, which may be on the loop's thread):
	 * a node restarted under its name just after it was killed finds
	 * the lock of its old session until the server has seen that
	 * session end (a few ms; more on a loaded machine), so look again
	 * for up to 2 s before saying that the name is in use.
	 */
	if (held && !s->ready && ++tries < 40) {
		nanosleep(&pause, NULL);
		goto again;
	}
	if (held) {
		snprintf(err, errlen, "%s: node \"%s\" is in use by another "
		    "broadsided (its advisory lock is held); give each daemon "
		    "its own storage.node", s->url, s->node);
		return -1;
	}
	if (!s->ready)
		return 0;	/* pg_connect does it after the migrations */
	p.n = 0;
	pp_str(&p, s->node);
	return pg_run_changes(s, Q_NODE_REGISTER, &p, NULL, err, errlen,
	    "register the node");
}

/*
 * A connection that broke (the server restarted, the network) is opened
 * again before the next call, unless a transaction was open: that died
 * with the connection, so its calls fail until the caller rolls back.
 */
static int
pg_check(struct pg_store *s, char *err, size_t errlen)
{
	if (PQstatus(s->conn) == CONNECTION_OK &&
	    PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF)
		return 0;
	if (s->tx) {
		pg_msg(s, NULL, err, errlen, "connection lost");
		return -1;
	}
	PQreset(s->conn);
	memset(s->prepared, 0, sizeof(s->prepared));
	s->claim_limit = 0;
	if (PQstatus(s->conn) != CONNECTION_OK) {
		pg_msg(s, NULL, err, errlen, "reconnect");
		return -1;
	}
	if (pg_session(s, err, errlen) == -1)
		return -1;
	/*
	 * The node's lock is held by the first handle's session, which may
	 * sit idle and never come back after the server restarted: without
	 * the lock the other nodes take this one's claims as a dead node's
	 * (and this one goes on sending them).  The first handle to come
	 * back takes it again; where the old session lives on, it fails.
	 */
	if (s->more) {
		const char	*v[1] = { s->node };
		PGresult	*r;

		r = PQexecParams(s->conn, "SELECT pg_try_advisory_lock("
		    "hashtextextended('broadside node ' || $1, 0))", 1, NULL,
		    v, NULL, NULL, 0);
		PQclear(r);
	}
	return 0;
}

/* A password in the URL (user:pass@ or password=) is refused. */
static int
pg_url_check(const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	char			*msg = NULL;
	int			 ret = 0;

	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		/* libpq's message quotes nothing of the URL */
		snprintf(err, errlen, "storage.url: %s", msg ? msg :
		    "cannot parse");
		if (msg != NULL)
			PQfreemem(msg);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			snprintf(err, errlen, "storage.url: holds a password; "
			    "use storage.password_file or a libpq passfile");
			ret = -1;
		}
	PQconninfoFree(opts);
	return ret;
}

/*
 * Every node must sign with the same secret: the store keeps the first
 * fingerprint and a node with another is refused.
 */
static int
pg_secret(struct pg_store *s, const char *fp, char *err, size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;
	int			 same;

	p.n = 0;
	pp_str(&p, fp);
	if ((r = pg_run(s, Q_SECRET, &p, err, errlen, "secret fingerprint")) ==
	    NULL)
		return -1;
	same = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), fp) == 0;
	PQclear(r);
	if (!same) {
		snprintf(err, errlen, "%s: secret_file holds another key than "
		    "the one this store's first node used (the store keeps its "
		    "fingerprint in table secrets): every node needs the same "
		    "secret, or links and Message-IDs made by one fail on "
		    "another", s->url);
		return -1;
	}
	return 0;
}

static struct store *
pg_connect(const char *url, const char *node, const char *password, int more,
    const char *secret_fp, char *err, size_t errlen)
{
	struct pg_store	*s;
	struct pg_params	 p;
	const char	*keys[10], *vals[10];
	char		 host[256];
	int		 k = 0;

	if (pg_url_check(url, err, errlen) == -1)
		return NULL;
	if (node == NULL || *node == '\0') {
		if (gethostname(host, sizeof(host) - 1) == -1 ||
		    host[0] == '\0')
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		node = host;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->url = strdup(url)) == NULL || (s->node = strdup(node)) == NULL ||
	    (password != NULL && (s->password = strdup(password)) == NULL)) {
		if (s != NULL) {
			free(s->url);
			free(s->node);
		}
		free(s);
		snprintf(err, errlen, "%s: out of memory", url);
		return NULL;
	}
	s->st.be = &store_pg_backend;
	s->more = more;
	keys[k] = "dbname";			vals[k++] = url;
	keys[k] = "application_name";		vals[k++] = "broadsided";
	keys[k] = "client_encoding";		vals[k++] = "UTF8";
	keys[k] = "connect_timeout";		vals[k++] = "10";
	/* a server gone without a word (power, network) is noticed in
	 * about 25 s, not the system's two hours (TCP only) */
	keys[k] = "keepalives_idle";		vals[k++] = "10";
	keys[k] = "keepalives_interval";	vals[k++] = "5";
	keys[k] = "keepalives_count";		vals[k++] = "3";
	if (s->password != NULL) {
		keys[k] = "password";		vals[k++] = s->password;
	}
	keys[k] = NULL;
	vals[k] = NULL;
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL) {
		snprintf(err, errlen, "%s: out of memory", url);
		goto fail;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		pg_msg(s, NULL, err, errlen, "connect");
		goto fail;
	}
	PQsetNoticeProcessor(s->conn, pg_notice, NULL);
	if (pg_session(s, err, errlen) == -1)
		goto fail;
	if (!more && pg_migrate(s, err, errlen) == -1)
		goto fail;
	s->ready = 1;
	if (!more) {
		p.n = 0;
		pp_str(&p, s->node);
		if (pg_run_changes(s, Q_NODE_REGISTER, &p, NULL, err, errlen,
		    "register the node") == -1)
			goto fail;
		if (secret_fp != NULL && pg_secret(s, secret_fp, err, errlen)
		    == -1)
			goto fail;
	}
	return &s->st;
fail:
	pg_close(&s->st);
	return NULL;
}

struct store *
store_pg_open(const char *url, const struct store_opts *o, char *err,
    size_t errlen)
{
	return pg_connect(url, o ? o->node : NULL, o ? o->password : NULL, 0,
	    o ? o->secret_fp : NULL, err, errlen);
}

static struct store *
pg_open(const char *url, char *err, size_t errlen)
{
	return pg_connect(url, NULL, NULL, 0, NULL, err, errlen);
}

static struct store *
pg_open_more(struct store *st, char *err, size_t errlen)
{
	struct pg_store	*s = PG(st);

	return pg_connect(s->url, s->node, s->password, 1, NULL, err, errlen);
}

static void
pg_close(struct store *st)
{
	struct pg_store	*s = PG(st);

	if (s->conn != NULL)
		PQfinish(s->conn);
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->url);
	free(s->node);
	free(s);
}

static int
pg_begin(struct store *st, char *err, size_t errlen)
{
	struct pg_store	*s = PG(st);

	if (pg_in_tx(s)) {
		snprintf(err, errlen, "%s: begin: a transaction is open",
		    s->url);
		return -1;
	}
	return pg_begin_tx(s, err, errlen);
}

/* The rows inserted so far into sub_counts, one statement a status. */
static int
pg_counts_flush(struct pg_store *s, char *err, size_t errlen)
{
	struct pg_params	 p;
	int			 k;

	for (k = 0; k < 4; k++) {
		if (s->added[k] == 0)
			continue;
		p.n = 0;
		pp_int(&p, k);
		pp_int(&p, s->added[k]);
		if (pg_run_changes(s, Q_COUNTS_ADD, &p, NULL, err, errlen,
		    "count subscribers") == -1)
			return -1;
		s->added[k] = 0;
	}
	return 0;
}

static int
pg_commit(struct store *st, char *err, size_t errlen)
{
	struct pg_store	*s = PG(st);
	PGresult	*r;
	int		 ret = 0;

	if (pg_counts_flush(s, err, errlen) == -1)
		return -1;
	s->tx = 0;
	r = PQexec(s->conn, "COMMIT");
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, "commit");
		ret = -1;
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		/* an aborted transaction "commits" as a rollback */
		snprintf(err, errlen, "%s: commit: rolled back (a statement "
		    "in the transaction failed)", s->url);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

static int
pg_rollback(struct store *st)
{
	struct pg_store	*s = PG(st);
	char		 err[16];

	memset(s->added, 0, sizeof(s->added));
	if (!pg_in_tx(s))
		return 0;
	s->tx = 0;
	if (PQstatus(s->conn) != CONNECTION_OK)
		return 0;	/* it died with the connection */
	return pg_exec(s, "ROLLBACK", err, sizeof(err), "rollback");
}

/* This handle only reads from now on: the server refuses its writes. */
static int
pg_read_only(struct store *st, char *err, size_t errlen)
{
	PG(st)->ro = 1;
	return pg_exec(PG(st), "SET default_transaction_read_only = on", err,
	    errlen, "read only");
}

/*
 * Writable now?  A write that changes nothing, on a server that is not
 * a standby.  A row lock held elsewhere says nothing of the server: 1.
 */
static int
pg_writable(struct store *st, char *err, size_t errlen)
{
	struct pg_store	*s = PG(st);
	PGresult	*r;
	int		 ret = 0;

	if (pg_check(s, err, errlen) == -1)
		return -1;
	r = PQexec(s->conn, "SELECT pg_is_in_recovery()");
	if (!pg_ok(r) || PQntuples(r) != 1) {
		pg_msg(s, r, err, errlen, "writable");
		PQclear(r);
		return -1;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "f") != 0) {
		snprintf(err, errlen, "%s: the server is a standby (in "
		    "recovery): read-only", s->url);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	r = PQexec(s->conn, "UPDATE meta SET value = value "
	    "WHERE key = 'writable'");
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, "writable");
		ret = pg_locked(r) ? 1 : -1;
	}
	PQclear(r);
	return ret;
}

static int64_t
pg_import_id(struct store *st)
{
	PGresult	*r;
	int64_t		 id = -1;
	char		 err[16];

	if (pg_check(PG(st), err, sizeof(err)) == -1)
		return -1;
	r = PQexec(PG(st)->conn, "SELECT nextval('import_seq')");
	if (pg_ok(r) && PQntuples(r) == 1)
		id = pg_int(r, 0, 0);
	PQclear(r);
	return id;
}

/* One upsert attempt: 1 if it wrote the row, 0 if not, -1 on error. */
static int
pg_sub_try(struct pg_store *s, enum pg_stmt which, int64_t import,
    const char *email, const char *key, const char *name, const char *fields,
    enum sub_status status, char *err, size_t errlen)
{
	struct pg_params	 p;
	int			 changed;

	p.n = 0;
	pp_str(&p, email);
	pp_str(&p, key);
	pp_str(&p, name);
	pp_str(&p, fields);
	if (which == Q_SUB_INSERT)
		pp_int(&p, status);
	pp_int(&p, import);
	if (pg_run_changes(s, which, &p, &changed, err, errlen,
	    which == Q_SUB_INSERT ? "insert subscriber" :
	    "update subscriber") == -1)
		return -1;
	return changed > 0;
}

/* As sq_sub_upsert: the statement the previous upsert needed first. */
static int
pg_sub_upsert(struct store *st, int64_t import, const char *email,
    const char *key, const char *name, const char *fields,
    enum sub_status status, enum store_upsert *what, char *err,
    size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	enum pg_stmt		 order[2] = { Q_SUB_INSERT, Q_SUB_UPDATE };
	PGresult		*r;
	int64_t			 id, old_import;
	int			 i, rc, old_status;

	if ((unsigned)status > SUB_BOUNCED) {
		snprintf(err, errlen, "%s: upsert: bad status %d", s->url,
		    (int)status);
		return -1;
	}
	if (s->last == UPSERT_UPDATED) {
		order[0] = Q_SUB_UPDATE;
		order[1] = Q_SUB_INSERT;
	}
	for (i = 0; i < 2; i++) {
		rc = pg_sub_try(s, order[i], import, email, key, name, fields,
		    status, err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 1) {
			*what = order[i] == Q_SUB_INSERT ? UPSERT_ADDED :
			    UPSERT_UPDATED;
			s->last = *what;
			if (*what != UPSERT_ADDED)
				return 0;
			s->added[status]++;
			if (!pg_in_tx(s))
				return pg_counts_flush(s, err, errlen);
			return 0;
		}
	}

	p.n = 0;
	pp_str(&p, key);
	if ((r = pg_run(s, Q_SUB_FIND, &p, err, errlen, "find subscriber")) ==
	    NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		snprintf(err, errlen, "%s: find subscriber: neither inserted "
		    "nor found", s->url);
		return -1;
	}
	id = pg_int(r, 0, 0);
	old_status = (int)pg_int(r, 0, 1);
	old_import = pg_int(r, 0, 2);
	PQclear(r);
	if (import != 0 && old_import == import) {
		*what = UPSERT_DUPLICATE;
		return 0;
	}
	p.n = 0;
	if (old_status == SUB_PENDING) {
		pp_str(&p, email);
		pp_int(&p, id);
		pp_str(&p, name);
		pp_str(&p, fields);
		pp_int(&p, status);
		pp_int(&p, import);
		if (pg_run_changes(s, Q_SUB_PROMOTE, &p, NULL, err, errlen,
		    "update subscriber") == -1)
			return -1;
		*what = UPSERT_UPDATED;
		return 0;
	}
	pp_int(&p, import);
	pp_int(&p, id);
	if (pg_run_changes(s, Q_SUB_TOUCH, &p, NULL, err, errlen, "update") ==
	    -1)
		return -1;
	*what = UPSERT_SUPPRESSED;
	return 0;
}

/*
 * n rows in one statement, the columns as arrays: inserted, or an
 * active subscriber not yet seen in this import refreshed (status
 * untouched), as Q_SUB_INSERT and Q_SUB_UPDATE do for one; RETURNING
 * names the rows it settled.  One round trip for a chunk instead of
 * one or two per row: 100,000 rows on a local socket took 0.64 s
 * instead of 4.56 s.
 */
static int
pg_sub_upsert_rows(struct store *st, int64_t import,
    struct store_sub_row **rows, struct store_sub_row **by_key, size_t n,
    char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	struct pg_text		 col[6];
	struct store_sub_row	*row;
	PGresult		*r;
	size_t			 i, c;
	int			 k, rc = -1;

	if (n == 0)
		return 0;
	memset(col, 0, sizeof(col));
	for (c = 0; c < 6; c++)
		pt_open(&col[c]);
	for (i = 0; i < n; i++) {
		if ((unsigned)rows[i]->status > SUB_BOUNCED) {
			snprintf(err, errlen, "%s: upsert: bad status %d",
			    s->url, (int)rows[i]->status);
			goto end;
		}
		pt_quoted(&col[0], rows[i]->email);
		pt_quoted(&col[1], rows[i]->key);
		pt_quoted(&col[2], rows[i]->name);
		pt_quoted(&col[3], rows[i]->fields);
		pt_int(&col[4], rows[i]->status);
		pt_quoted(&col[5], rows[i]->lang ? rows[i]->lang : "");
	}
	p.n = 0;
	for (c = 0; c < 6; c++) {
		pt_close(&col[c]);
		if (col[c].oom) {
			snprintf(err, errlen, "%s: upsert: out of memory",
			    s->url);
			goto end;
		}
		if (c < 5)
			pp_str(&p, col[c].s);
	}
	pp_int(&p, import);
	pp_str(&p, col[5].s);
	if ((r = pg_run(s, Q_SUB_UPSERT_ROWS, &p, err, errlen,
	    "upsert subscribers")) == NULL)
		goto end;
	for (k = 0; k < PQntuples(r); k++) {
		if ((row = store_sub_row_find(by_key, n, PQgetvalue(r, k, 0)))
		    == NULL)
			continue;
		row->done = 1;
		if (*PQgetvalue(r, k, 1) == 't') {
			row->what = UPSERT_ADDED;
			s->added[row->status]++;
		} else
			row->what = UPSERT_UPDATED;
	}
	PQclear(r);
	rc = 0;
	if (!pg_in_tx(s))
		rc = pg_counts_flush(s, err, errlen);
end:
	for (c = 0; c < 6; c++)
		free(col[c].s);
	return rc;
}

static int
pg_sub_set_status(struct store *st, const char *key, enum sub_status status,
    int force, int *changed, char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, status);
	pp_str(&p, key);
	pp_int(&p, force != 0);
	return pg_run_changes(PG(st), Q_SUB_STATUS_KEY, &p, changed, err,
	    errlen, "set subscriber status");
}

static int
pg_sub_set_status_id(struct store *st, int64_t id, enum sub_status status,
    int force, int *changed, char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, status);
	pp_int(&p, id);
	pp_int(&p, force != 0);
	return pg_run_changes(PG(st), Q_SUB_STATUS_ID, &p, changed, err,
	    errlen, "set subscriber status");
}

static int
pg_sub_rows(struct pg_store *s, enum pg_stmt q, const struct pg_params *p,
    store_sub_cb cb, void *arg, char *err, size_t errlen)
{
	struct subscriber	 sub;
	PGresult		*r;
	int			 i;

	if ((r = pg_run(s, q, p, err, errlen, "read subscribers")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		sub.id = pg_int(r, i, 0);
		sub.email = PQgetvalue(r, i, 1);
		sub.name = PQgetvalue(r, i, 2);
		sub.fields = PQgetvalue(r, i, 3);
		sub.status = (enum sub_status)pg_int(r, i, 4);
		sub.created = pg_int(r, i, 5);
		sub.lang = PQgetvalue(r, i, 6);
		if (cb(&sub, arg) == -1)
			break;
	}
	PQclear(r);
	return 0;
}

static int
pg_sub_get(struct store *st, int64_t id, store_sub_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, id);
	return pg_sub_rows(PG(st), Q_SUB_GET, &p, cb, arg, err, errlen);
}

static int
pg_sub_find(struct store *st, const char *key, store_sub_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_str(&p, key);
	return pg_sub_rows(PG(st), Q_SUB_GET_KEY, &p, cb, arg, err, errlen);
}

static int
pg_sub_list(struct store *st, int64_t after, int limit, store_sub_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, after);
	pp_int(&p, limit < 0 ? 0 : limit);
	return pg_sub_rows(PG(st), Q_SUB_LIST, &p, cb, arg, err, errlen);
}

static int
pg_sub_count(struct store *st, int64_t counts[4], char *err, size_t errlen)
{
	PGresult	*r;
	int		 i, k;

	memset(counts, 0, 4 * sizeof(counts[0]));
	if ((r = pg_run(PG(st), Q_SUB_COUNT, NULL, err, errlen,
	    "count subscribers")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		k = (int)pg_int(r, i, 0);
		if (k >= 0 && k < 4)
			counts[k] = pg_int(r, i, 1);
	}
	PQclear(r);
	return 0;
}

static int
pg_sub_bounce(struct store *st, int64_t id, int64_t bc, int undo, int *changed,
    char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, id);
	pp_int(&p, bc);
	return pg_run_changes(PG(st), undo ? Q_SUB_UNBOUNCE : Q_SUB_BOUNCE, &p,
	    changed, err, errlen, "set subscriber bounced");
}

static int
pg_sub_reactivate(struct store *st, const char *key, int64_t bc, int *changed,
    char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	if (key != NULL)
		pp_str(&p, key);
	else
		pp_int(&p, bc);
	return pg_run_changes(PG(st), key ? Q_SUB_REACT_KEY : Q_SUB_REACT_BC,
	    &p, changed, err, errlen, "reactivate subscribers");
}

/* One statement with text parameters, not prepared (rare calls). */
static PGresult *
pg_params_exec(struct pg_store *s, const char *sql, int n,
    const char *const *v, char *err, size_t errlen, const char *what)
{
	PGresult	*r;

	if (pg_check(s, err, errlen) == -1)
		return NULL;
	r = PQexecParams(s->conn, sql, n, NULL, v, NULL, NULL, 0);
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, what);
		PQclear(r);
		return NULL;
	}
	return r;
}

/*
 * A new broadcast's versions in other languages (schema 6), inside its
 * creation's transaction; a resend takes the original's.
 */
static int
pg_tr_insert(struct pg_store *s, int64_t id, const struct broadcast *bc,
    char *err, size_t errlen)
{
	const struct bc_translation	*t;
	PGresult			*r;
	const char			*v[7];
	char				 ids[2][24], md[4];
	size_t				 i;

	snprintf(ids[0], sizeof(ids[0]), "%" PRId64, id);
	snprintf(ids[1], sizeof(ids[1]), "%" PRId64, bc->resent_from);
	if (bc->resent_from != 0) {
		v[0] = ids[0];
		v[1] = ids[1];
		if ((r = pg_params_exec(s, "INSERT INTO translations("
		    "broadcast_id, lang, title, subject, source, filename, "
		    "markdown) SELECT $1::bigint, lang, title, subject, source, "
		    "filename, markdown FROM translations "
		    "WHERE broadcast_id = $2::bigint", 2, v, err, errlen,
		    "copy translations")) == NULL)
			return -1;
		PQclear(r);
		return 0;
	}
	for (i = 0; i < bc->ntranslations; i++) {
		t = &bc->translations[i];
		snprintf(md, sizeof(md), "%d", t->markdown != 0);
		v[0] = ids[0];
		v[1] = t->lang;
		v[2] = t->title;
		v[3] = t->subject ? t->subject : t->title;
		v[4] = t->source;
		v[5] = t->filename ? t->filename : "";
		v[6] = md;
		if ((r = pg_params_exec(s, "INSERT INTO translations("
		    "broadcast_id, lang, title, subject, source, filename, "
		    "markdown) VALUES ($1::bigint, $2, $3, $4, $5, $6, "
		    "$7::int)", 7, v, err, errlen, "store translation")) ==
		    NULL)
			return -1;
		PQclear(r);
	}
	return 0;
}

static int
pg_bc_translations(struct store *st, int64_t id, store_tr_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct bc_translation	 t;
	PGresult		*r;
	const char		*v[1];
	char			 ids[24];
	int			 i;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	v[0] = ids;
	if ((r = pg_params_exec(PG(st), "SELECT lang, title, subject, source, "
	    "filename, markdown FROM translations WHERE broadcast_id = "
	    "$1::bigint ORDER BY lang", 1, v, err, errlen,
	    "read translations")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		t.lang = PQgetvalue(r, i, 0);
		t.title = PQgetvalue(r, i, 1);
		t.subject = PQgetvalue(r, i, 2);
		t.source = PQgetvalue(r, i, 3);
		t.filename = PQgetvalue(r, i, 4);
		t.markdown = (int)pg_int(r, i, 5);
		if (cb(&t, arg) == -1)
			break;
	}
	PQclear(r);
	return 0;
}

static int
pg_bc_lang_counts(struct store *st, int64_t id, store_lang_cb cb, void *arg,
    char *err, size_t errlen)
{
	PGresult	*r;
	const char	*v[1];
	char		 ids[24];
	int		 i;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	v[0] = ids;
	if ((r = pg_params_exec(PG(st), "SELECT s.lang, count(*) "
	    "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
	    "WHERE d.broadcast_id = $1::bigint GROUP BY s.lang", 1, v, err,
	    errlen, "count languages")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++)
		if (cb(PQgetvalue(r, i, 0), pg_int(r, i, 1), arg) == -1)
			break;
	PQclear(r);
	return 0;
}

static int
pg_sub_set_lang(struct store *st, const char *key, const char *lang,
    char *err, size_t errlen)
{
	PGresult	*r;
	const char	*v[2];

	v[0] = key;
	v[1] = lang;
	if ((r = pg_params_exec(PG(st), "UPDATE subscribers SET lang = $2 "
	    "WHERE key = $1 AND lang <> $2", 2, v, err, errlen,
	    "set subscriber language")) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static int
pg_bc_create(struct store *st, const struct broadcast *bc, int64_t *id,
    char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	PGresult		*r;
	int			 own, ok = 0;

	p.n = 0;
	pp_str(&p, bc->title);
	pp_str(&p, bc->subject);
	pp_str(&p, bc->source);
	pp_str(&p, bc->filename ? bc->filename : "");
	pp_int(&p, bc->markdown);
	pp_int(&p, BC_QUEUED);
	pp_int(&p, bc->created);
	pp_int(&p, bc->resent_from);
	pp_int(&p, bc->resent_from ? bc->resend_states : 0);
	pp_str(&p, bc->lang ? bc->lang : "");
	if (pg_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	if ((r = pg_run(s, Q_BC_INSERT, &p, err, errlen,
	    "create broadcast")) == NULL)
		goto end;
	*id = pg_int(r, 0, 0);
	PQclear(r);
	ok = pg_tr_insert(s, *id, bc, err, errlen) == 0;
end:
	if (pg_tx_end(s, own, ok, err, errlen) == -1)
		ok = 0;
	return ok ? 0 : -1;
}

/* The next (at most) limit recipients, in one transaction. */
static int
pg_bc_snapshot(struct store *st, int64_t id, int limit, int *more,
    char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	PGresult		*r;
	int64_t			 next, selected, last, taken, from, states;
	int			 own, ret = -1;

	*more = 0;
	if (pg_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	p.n = 0;
	pp_int(&p, id);
	if ((r = pg_run(s, Q_BC_SNAP_LOCK, &p, err, errlen,
	    "take recipients")) == NULL)
		goto end;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		/* no such broadcast, or all taken already */
		PQclear(r);
		ret = 0;
		goto end;
	}
	next = pg_int(r, 0, 0);
	from = pg_int(r, 0, 1);
	states = pg_int(r, 0, 2);
	PQclear(r);
	pp_int(&p, next);
	pp_int(&p, limit);
	if (from != 0) {
		pp_int(&p, from);
		pp_int(&p, states);
	}
	if ((r = pg_run(s, from != 0 ? Q_BC_SNAP_RESEND : Q_BC_SNAPSHOT, &p,
	    err, errlen, "take recipients")) == NULL)
		goto end;
	selected = pg_int(r, 0, 0);
	last = pg_int(r, 0, 1);
	taken = pg_int(r, 0, 2);
	PQclear(r);
	*more = selected >= limit;
	p.n = 0;
	pp_int(&p, id);
	pp_int(&p, taken);
	if (*more)
		pp_int(&p, last);
	else
		pp_str(&p, NULL);
	if (pg_run_changes(s, Q_BC_SNAP_SET, &p, NULL, err, errlen,
	    "take recipients") == -1)
		goto end;
	ret = 0;
end:
	if (pg_tx_end(s, own, ret == 0, err, errlen) == -1)
		ret = -1;
	if (ret == -1)
		*more = 0;
	return ret;
}

static int
pg_bc_resend_count(struct store *st, int64_t from, unsigned states,
    int64_t *n, char *err, size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	p.n = 0;
	pp_int(&p, from);
	pp_int(&p, states);
	if ((r = pg_run(PG(st), Q_BC_RESEND_COUNT, &p, err, errlen,
	    "count recipients to resend")) == NULL)
		return -1;
	*n = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_bc_rows(struct pg_store *s, enum pg_stmt q, const struct pg_params *p,
    store_bc_cb cb, void *arg, char *err, size_t errlen)
{
	struct broadcast	 bc;
	PGresult		*r;
	int			 i;

	if ((r = pg_run(s, q, p, err, errlen, "read broadcasts")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		bc.id = pg_int(r, i, 0);
		bc.title = PQgetvalue(r, i, 1);
		bc.subject = PQgetvalue(r, i, 2);
		bc.source = PQgetvalue(r, i, 3);
		bc.filename = PQgetvalue(r, i, 4);
		bc.markdown = (int)pg_int(r, i, 5);
		bc.state = (enum bc_state)pg_int(r, i, 6);
		bc.created = pg_int(r, i, 7);
		bc.started = pg_int(r, i, 8);
		bc.finished = pg_int(r, i, 9);
		bc.total = pg_int(r, i, 10);
		bc.sent = pg_int(r, i, 11);
		bc.deferred = pg_int(r, i, 12);
		bc.failed = pg_int(r, i, 13);
		bc.snapping = (int)pg_int(r, i, 14);
		bc.reason = PQgetisnull(r, i, 15) ? NULL : PQgetvalue(r, i, 15);
		bc.bounced = pg_int(r, i, 16);
		bc.complained = pg_int(r, i, 17);
		bc.resent_from = pg_int(r, i, 18);
		bc.resend_states = (unsigned)pg_int(r, i, 19);
		bc.resent_as = pg_int(r, i, 20);
		bc.lang = PQgetvalue(r, i, 21);
		bc.translations = NULL;
		bc.ntranslations = 0;
		bc.pending = bc.total - bc.sent - bc.deferred - bc.failed;
		if (cb(&bc, arg) == -1)
			break;
	}
	PQclear(r);
	return 0;
}

static int
pg_bc_get(struct store *st, int64_t id, store_bc_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, id);
	return pg_bc_rows(PG(st), Q_BC_GET, &p, cb, arg, err, errlen);
}

static int
pg_bc_list(struct store *st, int limit, store_bc_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, limit < 0 ? 0 : limit);
	return pg_bc_rows(PG(st), Q_BC_LIST, &p, cb, arg, err, errlen);
}

static int
pg_bc_set_state(struct store *st, int64_t id, enum bc_state state,
    const char *reason, char *err, size_t errlen)
{
	struct pg_params	 p;

	p.n = 0;
	pp_int(&p, id);
	pp_int(&p, state);
	pp_str(&p, reason);
	return pg_run_changes(PG(st), Q_BC_STATE, &p, NULL, err, errlen,
	    "set broadcast state");
}

static int
pg_dlv_next_due(struct store *st, int64_t bc, int64_t *when, char *err,
    size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	*when = -1;
	p.n = 0;
	pp_int(&p, bc);
	if ((r = pg_run(PG(st), Q_DLV_NEXT_DUE, &p, err, errlen,
	    "next due delivery")) == NULL)
		return -1;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*when = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_dlv_counts(struct store *st, int64_t bc, int64_t counts[4], char *err,
    size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;
	int			 k;

	memset(counts, 0, 4 * sizeof(counts[0]));
	p.n = 0;
	pp_int(&p, bc);
	if ((r = pg_run(PG(st), Q_DLV_COUNTS, &p, err, errlen,
	    "count deliveries")) == NULL)
		return -1;
	for (k = 0; k < 4; k++)
		counts[k] = pg_int(r, 0, k);
	PQclear(r);
	return 0;
}

/*
 * The database server's clock, so that nodes agree on leases.  If the
 * server cannot be asked even on a new connection, the local clock: the
 * claim that follows fails on the same connection anyway.
 */
static int64_t
pg_now_ms(struct store *st)
{
	struct timespec	 ts;
	PGresult	*r;
	int64_t		 now = -1;
	char		 err[16];
	int		 i;

	/* twice: a connection found broken is opened again in between */
	for (i = 0; i < 2 && now == -1; i++) {
		if (pg_check(PG(st), err, sizeof(err)) == -1)
			break;
		r = PQexec(PG(st)->conn, "SELECT floor(extract(epoch from "
		    "clock_timestamp()) * 1000)::bigint");
		if (pg_ok(r) && PQntuples(r) == 1)
			now = pg_int(r, 0, 0);
		PQclear(r);
	}
	if (now == -1) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	return now;
}

/*
 * This node's heartbeat (store.h): its row in nodes, on any handle of
 * it.  A row gone (deleted by hand) is made again, as at start, and
 * counts as a lapse.
 */
static int
pg_node_beat(struct store *st, int *lapsed, char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	PGresult		*r;

	p.n = 0;
	pp_str(&p, s->node);
	pp_int(&p, STORE_BEAT_EXPIRY_MS);
	if ((r = pg_run(s, Q_NODE_BEAT, &p, err, errlen, "heartbeat")) == NULL)
		return -1;
	*lapsed = PQntuples(r) != 1 || pg_int(r, 0, 0) != 0;
	if (PQntuples(r) == 1) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	p.n = 0;
	pp_str(&p, s->node);
	return pg_run_changes(s, Q_NODE_REGISTER, &p, NULL, err, errlen,
	    "heartbeat");
}

static int
pg_bc_watch(struct store *st, int64_t bc, int *state, int64_t *live,
    char *err, size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	p.n = 0;
	pp_int(&p, bc);
	if ((r = pg_run(PG(st), Q_BC_WATCH, &p, err, errlen,
	    "broadcast states")) == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		*state = (int)pg_int(r, 0, 0);
		*live = pg_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

static int
pg_bc_nodes(struct store *st, int64_t bc,
    int (*cb)(const struct store_node_share *, void *), void *arg,
    char *err, size_t errlen)
{
	struct store_node_share	 n;
	struct pg_params	 p;
	PGresult		*r;
	int			 i;

	p.n = 0;
	pp_int(&p, bc);
	if ((r = pg_run(PG(st), Q_BC_NODES, &p, err, errlen,
	    "nodes' shares")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r); i++) {
		n.node = PQgetvalue(r, i, 0);
		n.sent = pg_int(r, i, 1);
		n.in_flight = pg_int(r, i, 2);
		n.last_seen = pg_int(r, i, 3);
		if (cb(&n, arg) == -1)
			break;
	}
	PQclear(r);
	return 0;
}

static int
pg_rate_reserve(struct store *st, int64_t bc, double per_second, int n,
    int64_t *wait_us, char *err, size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	p.n = 0;
	pp_int(&p, bc);
	pp_int(&p, (int64_t)(1e6 / per_second + 0.5));
	pp_int(&p, n);
	if ((r = pg_run(PG(st), Q_RATE_RESERVE, &p, err, errlen,
	    "reserve send slots")) == NULL)
		return -1;
	*wait_us = PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

static int
pg_dlv_gone(struct store *st, int64_t bc, const char *owner, int64_t *ids,
    int max, int *n, char *err, size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;
	int			 i;

	p.n = 0;
	pp_int(&p, bc);
	pp_str(&p, owner);
	pp_int(&p, max);
	if ((r = pg_run(PG(st), Q_DLV_GONE, &p, err, errlen,
	    "claims of subscribers gone")) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r) && i < max; i++)
		ids[i] = pg_int(r, i, 0);
	*n = i;
	PQclear(r);
	return 0;
}

/* The claim statement for this limit, prepared once per limit used. */
static int
pg_claim_prepare(struct pg_store *s, int limit, char *err, size_t errlen)
{
	PGresult	*r;
	char		*sql;
	int		 n;

	if (s->claim_limit == limit)
		return 0;
	if (s->claim_limit != 0 && pg_exec(s, "DEALLOCATE claim", err, errlen,
	    "claim") == -1)
		return -1;
	s->claim_limit = 0;
	n = snprintf(NULL, 0, pg_claim_fmt, limit, limit, limit);
	if ((sql = malloc((size_t)n + 1)) == NULL) {
		snprintf(err, errlen, "%s: claim: out of memory", s->url);
		return -1;
	}
	snprintf(sql, (size_t)n + 1, pg_claim_fmt, limit, limit, limit);
	r = PQprepare(s->conn, "claim", sql, 0, NULL);
	free(sql);
	if (!pg_ok(r)) {
		pg_msg(s, r, err, errlen, "claim");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	s->claim_limit = limit;
	return 0;
}

/* A claimed row of the answer, to hand over in subscriber order. */
struct pg_row {
	int64_t	 sub;
	int	 row;
};

static int
pg_row_cmp(const void *a, const void *b)
{
	const struct pg_row	*x = a, *y = b;

	return x->sub < y->sub ? -1 : x->sub > y->sub;
}

/*
 * One statement marks the rows (see pg_claim_fmt); then each goes to cb
 * in subscriber order.  A cb that stops keeps its row: the rows after it
 * are put back as they were, in the same transaction.
 */
static int
pg_dlv_claim_rows(struct store *st, int64_t bc, const char *owner,
    int64_t now, int64_t lease_ms, int limit, store_dlv_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p, pd;
	struct pg_text		 subs = { NULL, 0, 0, 0 }, was = subs;
	char			 dead[16];
	struct pg_text		 owners = subs, leases = subs;
	struct delivery		 d;
	PGresult		*r = NULL, *u;
	struct pg_row		*order = NULL;
	int			 i, k, n, taken, own, ret = -1;

	if (limit <= 0)
		return 0;
	/*
	 * One round trip: the transaction (or the caller's savepoint), the
	 * plan's settings, dead nodes' claims released, the claim.
	 */
	if (pg_check(s, err, errlen) == -1 ||
	    pg_claim_prepare(s, limit, err, errlen) == -1 ||
	    pg_prepare(s, Q_DLV_RELEASE_DEAD, dead, err, errlen,
	    "release dead nodes' claims") == -1)
		return -1;
	own = !pg_in_tx(s);
	pd.n = 0;
	pp_int(&pd, bc);
	pp_str(&pd, owner);
	pp_int(&pd, STORE_BEAT_EXPIRY_MS);
	p.n = 0;
	pp_int(&p, bc);
	pp_int(&p, now);
	pp_str(&p, owner);
	pp_int(&p, now + lease_ms);
	{
		const struct pg_step	steps[] = {
			{ own ? "BEGIN" : "SAVEPOINT dlv", NULL, NULL,
			    "begin" },
			{ PG_CLAIM_PLAN1, NULL, NULL, "claim" },
			{ PG_CLAIM_PLAN2, NULL, NULL, "claim" },
			{ NULL, dead, &pd, "release dead nodes' claims" },
			{ NULL, "claim", &p, "claim deliveries" },
		};

		/* the transaction is open once BEGIN is sent: ended below
		 * whatever the answer */
		if (own)
			s->tx = 1;
		r = pg_pipeline(s, steps, 5, err, errlen);
	}
	if (r == NULL)
		goto end;
	if (!own && pg_exec(s, PG_CLAIM_UNPLAN, err, errlen, "claim") == -1)
		goto end;
	n = PQntuples(r);
	if ((order = calloc((size_t)n + 1, sizeof(*order))) == NULL) {
		snprintf(err, errlen, "%s: claim: out of memory", s->url);
		goto end;
	}
	for (i = 0; i < n; i++) {
		order[i].sub = pg_int(r, i, 0);
		order[i].row = i;
	}
	qsort(order, (size_t)n, sizeof(*order), pg_row_cmp);
	d.broadcast_id = bc;
	for (i = 0; i < n; i++) {
		k = order[i].row;
		d.subscriber_id = pg_int(r, k, 0);
		d.attempts = (int)pg_int(r, k, 4);
		d.email = PQgetvalue(r, k, 5);
		d.name = PQgetvalue(r, k, 6);
		d.fields = PQgetvalue(r, k, 7);
		d.active = pg_int(r, k, 8) == SUB_ACTIVE;
		d.lang = PQgetvalue(r, k, 9);
		if (cb(&d, arg) == -1) {
			i++;
			break;
		}
	}
	taken = i;
	if (i < n) {
		/* the rows cb did not see go back */
		pt_open(&subs);
		pt_open(&was);
		pt_open(&owners);
		pt_open(&leases);
		for (; i < n; i++) {
			k = order[i].row;
			pt_int(&subs, pg_int(r, k, 0));
			pt_int(&was, pg_int(r, k, 1));
			if (PQgetisnull(r, k, 2)) {
				if (owners.len > 1)
					pt_add(&owners, ",", 1);
				pt_add(&owners, "NULL", 4);
			} else
				pt_quoted(&owners, PQgetvalue(r, k, 2));
			pt_int(&leases, pg_int(r, k, 3));
		}
		pt_close(&subs);
		pt_close(&was);
		pt_close(&owners);
		pt_close(&leases);
		if (subs.oom || was.oom || owners.oom || leases.oom) {
			snprintf(err, errlen, "%s: claim: out of memory",
			    s->url);
			goto end;
		}
		p.n = 0;
		pp_int(&p, bc);
		pp_str(&p, owner);
		pp_str(&p, subs.s);
		pp_str(&p, was.s);
		pp_str(&p, owners.s);
		pp_str(&p, leases.s);
		if ((u = pg_run(s, Q_DLV_UNCLAIM, &p, err, errlen,
		    "put back claims")) == NULL)
			goto end;
		PQclear(u);
	}
	ret = taken;
end:
	PQclear(r);
	free(order);
	if (pg_tx_end(s, own, ret != -1, err, errlen) == -1)
		ret = -1;
	free(subs.s);
	free(was.s);
	free(owners.s);
	free(leases.s);
	return ret;
}

/* For duplicates in a group: the first result of a row applies. */
struct pg_key {
	int64_t	 bc, sub;
	size_t	 i;
};

static int
pg_key_cmp(const void *a, const void *b)
{
	const struct pg_key	*x = a, *y = b;

	if (x->bc != y->bc)
		return x->bc < y->bc ? -1 : 1;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
pg_dlv_record(struct store *st, const char *owner,
    const struct dlv_result *res, size_t n, struct dlv_tally *tally,
    char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	struct pg_text		 a[7];
	struct pg_key		*keys = NULL;
	struct dlv_tally	 t;
	const struct dlv_result	*x;
	PGresult		*r = NULL;
	unsigned char		*dup = NULL;
	size_t			 i;
	int64_t			 k;
	int			 j, ret = -1;

	memset(&t, 0, sizeof(t));
	memset(a, 0, sizeof(a));
	for (i = 0; i < n; i++)
		if (res[i].state != DLV_SENT && res[i].state != DLV_DEFERRED &&
		    res[i].state != DLV_FAILED && res[i].state != DLV_DROPPED) {
			snprintf(err, errlen, "record: broadcast %lld "
			    "subscriber %lld: not a result state (%d)",
			    (long long)res[i].broadcast_id,
			    (long long)res[i].subscriber_id, res[i].state);
			return -1;
		}
	if (n == 0) {
		if (tally != NULL)
			*tally = t;
		return 0;
	}
	if ((keys = calloc(n, sizeof(*keys))) == NULL ||
	    (dup = calloc(n, 1)) == NULL) {
		snprintf(err, errlen, "%s: record: out of memory", s->url);
		goto end;
	}
	for (i = 0; i < n; i++) {
		keys[i].bc = res[i].broadcast_id;
		keys[i].sub = res[i].subscriber_id;
		keys[i].i = i;
	}
	qsort(keys, n, sizeof(*keys), pg_key_cmp);
	for (i = 1; i < n; i++)
		if (keys[i].bc == keys[i - 1].bc &&
		    keys[i].sub == keys[i - 1].sub)
			dup[keys[i].i] = 1;
	for (j = 0; j < 7; j++)
		pt_open(&a[j]);
	for (i = 0; i < n; i++) {
		if (dup[i])
			continue;
		x = &res[i];
		pt_int(&a[0], x->broadcast_id);
		pt_int(&a[1], x->subscriber_id);
		pt_int(&a[2], x->state);
		pt_int(&a[3], x->attempts);
		pt_int(&a[4], x->state == DLV_DEFERRED ? x->next_at : 0);
		pt_int(&a[5], x->code);
		pt_quoted(&a[6], x->msg ? x->msg : "");
	}
	for (j = 0; j < 7; j++) {
		pt_close(&a[j]);
		if (a[j].oom) {
			snprintf(err, errlen, "%s: record: out of memory",
			    s->url);
			goto end;
		}
	}
	p.n = 0;
	for (j = 0; j < 7; j++)
		pp_str(&p, a[j].s);
	pp_str(&p, owner);
	/* one statement: atomic alone, or part of the caller's */
	if ((r = pg_run(s, Q_DLV_RECORD, &p, err, errlen,
	    "record deliveries")) == NULL)
		goto end;
	for (j = 0; j < PQntuples(r); j++) {
		k = pg_int(r, j, 1);
		t.applied += (size_t)k;
		switch (pg_int(r, j, 0)) {
		case DLV_SENT:
			t.sent += k;
			break;
		case DLV_DEFERRED:
			t.deferred += k;
			break;
		case DLV_FAILED:
			t.failed += k;
			break;
		default:
			t.dropped += k;
			break;
		}
	}
	t.skipped = n - t.applied;
	if (tally != NULL)
		*tally = t;
	ret = 0;
end:
	PQclear(r);
	for (j = 0; j < 7; j++)
		free(a[j].s);
	free(keys);
	free(dup);
	return ret;
}

static int
pg_dlv_release(struct store *st, const char *owner, int64_t bc,
    const int64_t *subs, size_t n, int64_t *released, char *err,
    size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	struct pg_text		 ids = { NULL, 0, 0, 0 };
	PGresult		*r;
	size_t			 i;
	int			 ret = -1;

	p.n = 0;
	pp_str(&p, owner);
	pp_int(&p, bc);
	if (subs != NULL) {
		pt_open(&ids);
		for (i = 0; i < n; i++)
			pt_int(&ids, subs[i]);
		pt_close(&ids);
		if (ids.oom) {
			snprintf(err, errlen, "%s: release: out of memory",
			    s->url);
			goto end;
		}
		pp_str(&p, ids.s);
	}
	if ((r = pg_run(s, subs ? Q_DLV_RELEASE_SOME : Q_DLV_RELEASE_ALL, &p,
	    err, errlen, "put claims back")) == NULL)
		goto end;
	if (released != NULL)
		*released = pg_int(r, 0, 0);
	PQclear(r);
	ret = 0;
end:
	free(ids.s);
	return ret;
}

static int
pg_dlv_postpone(struct store *st, const char *owner, int64_t bc, int64_t sub,
    int64_t next_at, int *changed, char *err, size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	p.n = 0;
	pp_str(&p, owner);
	pp_int(&p, bc);
	pp_int(&p, sub);
	pp_int(&p, next_at);
	if ((r = pg_run(PG(st), Q_DLV_POSTPONE, &p, err, errlen,
	    "put claims back")) == NULL)
		return -1;
	if (changed != NULL)
		*changed = pg_int(r, 0, 0) > 0;
	PQclear(r);
	return 0;
}

static int
pg_bc_settled(struct store *st, int64_t bc, int *settled, char *err,
    size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	*settled = 0;
	p.n = 0;
	pp_int(&p, bc);
	if ((r = pg_run(PG(st), Q_BC_SETTLED, &p, err, errlen,
	    "broadcast settled")) == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		snprintf(err, errlen, "%s: no broadcast %lld", PG(st)->url,
		    (long long)bc);
		return -1;
	}
	*settled = (int)pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
pg_dlv_restore(struct store *st, int64_t bc, int64_t sub, enum dlv_state to,
    enum dlv_state from, int attempts, int *changed, char *err,
    size_t errlen)
{
	struct pg_params	 p;
	PGresult		*r;

	p.n = 0;
	pp_int(&p, bc);
	pp_int(&p, sub);
	pp_int(&p, to);
	pp_int(&p, attempts);
	pp_int(&p, from);
	pp_str(&p, PG(st)->node);
	if ((r = pg_run(PG(st), Q_DLV_RESTORE, &p, err, errlen,
	    "restore delivery")) == NULL)
		return -1;
	if (changed != NULL)
		*changed = pg_int(r, 0, 0) > 0;
	PQclear(r);
	return 0;
}

/* One row of integers from q: 1, 0 if no row, -1 on error. */
static int
pg_row_ints(struct pg_store *s, enum pg_stmt q, const struct pg_params *p,
    int64_t *v, int n, char *err, size_t errlen, const char *what)
{
	PGresult	*r;
	int		 i, ret;

	if ((r = pg_run(s, q, p, err, errlen, what)) == NULL)
		return -1;
	ret = PQntuples(r) > 0;
	for (i = 0; ret && i < n; i++)
		v[i] = pg_int(r, 0, i);
	PQclear(r);
	return ret;
}

/* As sq_bounce_record, in one transaction (or a savepoint). */
static int
pg_bounce_record(struct store *st, int64_t bc, int64_t sub,
    enum store_bounce kind, int soft_limit, struct store_bounce_result *r,
    char *err, size_t errlen)
{
	struct pg_store		*s = PG(st);
	struct pg_params	 p;
	int64_t			 v[2], first = 0;
	int			 own, rc, changed = 0, ret = -1;

	if (pg_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	p.n = 0;
	pp_int(&p, bc);
	pp_int(&p, sub);
	if ((rc = pg_row_ints(s, Q_BOUNCE_KNOWN, &p, v, 2, err, errlen,
	    "find recipient")) == -1)
		goto end;
	if (rc == 0 || v[1] == 0) {	/* nobody, or not a recipient */
		ret = 0;
		goto end;
	}
	r->known = 1;
	r->status = (enum sub_status)v[0];
	if (kind != STORE_COMPLAINT && pg_row_ints(s, Q_BOUNCE_FIRST, &p,
	    &first, 1, err, errlen, "find bounce") == -1)
		goto end;
	pp_int(&p, kind);
	if (pg_run_changes(s, Q_BOUNCE_INSERT, &p, &r->recorded, err, errlen,
	    "record bounce") == -1)
		goto end;
	if ((r->recorded = r->recorded > 0) == 0) {
		ret = 0;	/* the same report again */
		goto end;
	}
	p.n = 0;
	pp_int(&p, bc);
	pp_int(&p, first);
	pp_int(&p, kind == STORE_COMPLAINT);
	if (pg_run_changes(s, Q_BOUNCE_COUNT, &p, NULL, err, errlen,
	    "count bounce") == -1)
		goto end;
	if (kind == STORE_BOUNCE_SOFT) {
		p.n = 0;
		pp_int(&p, sub);
		if (pg_row_ints(s, Q_BOUNCE_SOFT, &p, &r->soft, 1, err, errlen,
		    "count soft bounces") == -1)
			goto end;
	}
	if (kind == STORE_BOUNCE_HARD || (kind == STORE_BOUNCE_SOFT &&
	    r->soft >= soft_limit)) {
		if (pg_sub_bounce(st, sub, bc, 0, &changed, err, errlen) == -1)
			goto end;
		if (changed)
			r->status = SUB_BOUNCED;
	} else if (kind == STORE_COMPLAINT) {
		if (pg_sub_set_status_id(st, sub, SUB_UNSUBSCRIBED, 0, &changed,
		    err, errlen) == -1)
			goto end;
		if (changed)
			r->status = SUB_UNSUBSCRIBED;
	}
	r->suppressed = changed > 0;
	ret = 0;
end:
	if (pg_tx_end(s, own, ret == 0, err, errlen) == -1) {
		memset(r, 0, sizeof(*r));
		ret = -1;
	}
	return ret;
}

const struct store_backend store_pg_backend = {
	.name = "postgresql",
	.open = pg_open,
	.open_more = pg_open_more,
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.writable = pg_writable,
	.read_only = pg_read_only,
	.import_id = pg_import_id,
	.sub_upsert = pg_sub_upsert,
	.sub_upsert_rows = pg_sub_upsert_rows,
	.sub_set_status = pg_sub_set_status,
	.sub_set_status_id = pg_sub_set_status_id,
	.sub_get = pg_sub_get,
	.sub_find = pg_sub_find,
	.sub_list = pg_sub_list,
	.sub_count = pg_sub_count,
	.sub_bounce = pg_sub_bounce,
	.sub_reactivate = pg_sub_reactivate,
	.bc_create = pg_bc_create,
	.bc_snapshot = pg_bc_snapshot,
	.bc_resend_count = pg_bc_resend_count,
	.bc_get = pg_bc_get,
	.bc_list = pg_bc_list,
	.bc_set_state = pg_bc_set_state,
	.dlv_next_due = pg_dlv_next_due,
	.dlv_counts = pg_dlv_counts,
	.now_ms = pg_now_ms,
	.dlv_claim_rows = pg_dlv_claim_rows,
	.dlv_record = pg_dlv_record,
	.dlv_release = pg_dlv_release,
	.dlv_postpone = pg_dlv_postpone,
	.dlv_restore = pg_dlv_restore,
	.bc_settled = pg_bc_settled,
	.node_beat = pg_node_beat,
	.bc_watch = pg_bc_watch,
	.bc_nodes = pg_bc_nodes,
	.rate_reserve = pg_rate_reserve,
	.dlv_gone = pg_dlv_gone,
	.bounce_record = pg_bounce_record,
	.sub_set_lang = pg_sub_set_lang,
	.bc_translations = pg_bc_translations,
	.bc_lang_counts = pg_bc_lang_counts,
};
