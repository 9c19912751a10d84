/*
 * store_sqlite.c -- the embedded store backend: one SQLite file in WAL
 * mode, schema versioned with PRAGMA user_version and migrated forward,
 * every query a prepared statement kept for the life of the store.
 *
 * A lock file beside the database (flock) keeps a second daemon out.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define SQ_APPLICATION_ID	0x42525344	/* "BRSD" */

enum sq_stmt {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_IMPORT_ID,
	Q_SUB_FIND,
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
	Q_BC_INSERT,
	Q_BC_SNAP_NEXT,
	Q_BC_SNAPSHOT,
	Q_BC_SNAP_RESEND,
	Q_BC_RESEND_COUNT,
	Q_BC_SNAP_LAST,
	Q_BC_SNAP_SET,
	Q_BC_GET,
	Q_BC_LIST,
	Q_BC_STATE,
	Q_DLV_NEXT_DUE,
	Q_DLV_COUNTS,
	Q_COUNTS_ADD,
	Q_SAVEPOINT,
	Q_SAVEPOINT_RELEASE,
	Q_SAVEPOINT_ROLLBACK,
	Q_DLV_PICK,
	Q_DLV_TAKE,
	Q_DLV_ROW,
	Q_DLV_RECORD,
	Q_DLV_RECORD_DROP,
	Q_DLV_RELEASE_ONE,
	Q_DLV_RELEASE_ALL,
	Q_DLV_POSTPONE,
	Q_BC_ADD,
	Q_BC_SETTLED,
	Q_DLV_RESTORE,
	Q_BOUNCE_KNOWN,
	Q_BOUNCE_FIRST,
	Q_BOUNCE_INSERT,
	Q_BOUNCE_SOFT,
	Q_BOUNCE_COUNT,
	Q_SUB_LANG,
	Q_MAX
};

static const char *sq_sql[Q_MAX] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_IMPORT_ID] = "UPDATE meta SET value = value + 1 "
	    "WHERE key = 'import_seq' RETURNING value",
	[Q_SUB_FIND] = "SELECT id, status, import_id FROM subscribers "
	    "WHERE key = ?1",
	/* the two upsert attempts, same parameters (sq_sub_try) */
	[Q_SUB_INSERT] = "INSERT INTO subscribers(email, key, name, fields, "
	    "status, import_id, created, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
	    "ON CONFLICT (key) DO NOTHING",
	/* active rows only, status untouched (so no trigger runs): the
	 * bulk of a re-import; a pending row takes Q_SUB_PROMOTE */
	[Q_SUB_UPDATE] = "UPDATE subscribers SET email = ?1, name = ?3, "
	    "fields = ?4, import_id = ?6, updated = ?7 "
	    "WHERE key = ?2 AND (?6 = 0 OR import_id != ?6) AND status = 1",
	[Q_SUB_TOUCH] = "UPDATE subscribers SET import_id = ?1 WHERE id = ?2",
	[Q_SUB_PROMOTE] = "UPDATE subscribers SET email = ?1, name = ?3, "
	    "fields = ?4, status = ?5, import_id = ?6, updated = ?7 "
	    "WHERE id = ?2 AND status = 0",
	[Q_SUB_STATUS_KEY] = "UPDATE subscribers SET status = ?1, updated = ?2 "
	    "WHERE key = ?3 AND status != ?1 AND (?4 OR status NOT IN (2, 3))",
	[Q_SUB_STATUS_ID] = "UPDATE subscribers SET status = ?1, updated = ?2 "
	    "WHERE id = ?3 AND status != ?1 AND (?4 OR status NOT IN (2, 3))",
	[Q_SUB_GET] = "SELECT id, email, name, fields, status, created, lang "
	    "FROM subscribers WHERE id = ?1",
	[Q_SUB_GET_KEY] = "SELECT id, email, name, fields, status, created, "
	    "lang FROM subscribers WHERE key = ?1",
	[Q_SUB_LIST] = "SELECT id, email, name, fields, status, created, lang "
	    "FROM subscribers WHERE id > ?1 ORDER BY id LIMIT ?2",
	/* kept as rows change, by the triggers of schema 3 */
	[Q_SUB_COUNT] = "SELECT status, n FROM sub_counts",
	[Q_SUB_BOUNCE] = "UPDATE subscribers SET status = 3, bounced_by = ?2, "
	    "updated = ?3 WHERE id = ?1 AND status = 1",
	[Q_SUB_UNBOUNCE] = "UPDATE subscribers SET status = 1, bounced_by = 0, "
	    "updated = ?3 WHERE id = ?1 AND status = 3 AND bounced_by = ?2",
	[Q_SUB_REACT_KEY] = "UPDATE subscribers SET status = 1, bounced_by = 0, "
	    "updated = ?2 WHERE key = ?1 AND status = 3",
	[Q_SUB_REACT_BC] = "UPDATE subscribers SET status = 1, bounced_by = 0, "
	    "updated = ?2 WHERE bounced_by = ?1 AND status = 3",
	[Q_BC_INSERT] = "INSERT INTO broadcasts(title, subject, source, "
	    "filename, markdown, state, created, snap_next, resent_from, "
	    "resend_states, lang) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10)",
	/* recipients are taken in slices, in subscriber id order; snap_next
	 * is the last id taken, NULL once all are */
	[Q_BC_SNAP_NEXT] = "SELECT snap_next, resent_from, resend_states "
	    "FROM broadcasts WHERE id = ?1",
	[Q_BC_SNAPSHOT] = "INSERT OR IGNORE INTO deliveries(broadcast_id, "
	    "subscriber_id) SELECT ?1, id FROM subscribers "
	    "WHERE status = 1 AND id > ?2 ORDER BY id LIMIT ?3",
	/* a resend (schema 6): the original's (?4) undelivered rows in
	 * the states of mask ?5, of subscribers still active; the partial
	 * index reads only undelivered rows, not the sent million */
	[Q_BC_SNAP_RESEND] = "INSERT OR IGNORE INTO deliveries(broadcast_id, "
	    "subscriber_id) SELECT ?1, d.subscriber_id FROM deliveries d "
	    "INDEXED BY deliveries_undelivered JOIN subscribers s "
	    "ON s.id = d.subscriber_id WHERE d.broadcast_id = ?4 "
	    "AND d.state IN (2, 3) AND ((1 << d.state) & ?5) != 0 "
	    "AND d.subscriber_id > ?2 AND s.status = 1 "
	    "ORDER BY d.subscriber_id LIMIT ?3",
	[Q_BC_RESEND_COUNT] = "SELECT count(*) FROM deliveries d "
	    "INDEXED BY deliveries_undelivered JOIN subscribers s "
	    "ON s.id = d.subscriber_id WHERE d.broadcast_id = ?1 "
	    "AND d.state IN (2, 3) AND ((1 << d.state) & ?2) != 0 "
	    "AND s.status = 1",
	[Q_BC_SNAP_LAST] = "SELECT subscriber_id FROM deliveries "
	    "WHERE broadcast_id = ?1 ORDER BY subscriber_id DESC LIMIT 1",
	[Q_BC_SNAP_SET] = "UPDATE broadcasts SET total = total + ?2, "
	    "snap_next = ?3 WHERE id = ?1",
	[Q_BC_GET] = "SELECT id, title, subject, source, filename, markdown, "
	    "state, created, started, finished, total, sent, deferred, failed, "
	    "snap_next IS NOT NULL, reason, bounced, complained, resent_from, "
	    "resend_states, (SELECT max(r.id) FROM broadcasts r "
	    "WHERE r.resent_from = broadcasts.id), lang "
	    "FROM broadcasts WHERE id = ?1",
	[Q_BC_LIST] = "SELECT id, title, subject, source, filename, markdown, "
	    "state, created, started, finished, total, sent, deferred, failed, "
	    "snap_next IS NOT NULL, reason, bounced, complained, resent_from, "
	    "resend_states, (SELECT max(r.id) FROM broadcasts r "
	    "WHERE r.resent_from = broadcasts.id), lang "
	    "FROM broadcasts ORDER BY id DESC LIMIT ?1",
	[Q_BC_STATE] = "UPDATE broadcasts SET state = ?2, reason = ?4, "
	    "started = CASE WHEN ?2 = 1 AND started = 0 THEN ?3 "
	    "ELSE started END, "
	    "finished = CASE WHEN ?2 IN (3, 4) THEN ?3 ELSE finished END "
	    "WHERE id = ?1",
	[Q_DLV_NEXT_DUE] = "SELECT min(next_at) FROM deliveries "
	    "WHERE broadcast_id = ?1 AND state = 2",
	/* a claimed row (schema 4) counts as pending */
	[Q_DLV_COUNTS] = "SELECT 0, total(state IN (0, 4)), total(state = 1), "
	    "total(state = 2), total(state = 3) FROM deliveries "
	    "WHERE broadcast_id = ?1",
	[Q_COUNTS_ADD] = "UPDATE sub_counts SET n = n + ?2 WHERE status = ?1",
	[Q_SAVEPOINT] = "SAVEPOINT dlv",
	[Q_SAVEPOINT_RELEASE] = "RELEASE dlv",
	[Q_SAVEPOINT_ROLLBACK] = "ROLLBACK TO dlv",
	/*
	 * The claim model (schema 4).  Candidates from three partial
	 * indexes, each read for at most `limit` rows in its own order, so
	 * that no claim costs more than a few `limit`s of index entries
	 * however big the broadcast: pending in subscriber order (postponed
	 * ones, not yet due, skipped inside the index), due deferred by due
	 * time (oldest first: an order by subscriber here sorted every due
	 * row, 27 ms a claim with 50,000 due in 1M), lapsed claims by lease.
	 * Of those, the lowest `limit` subscriber ids.  1M deliveries, half
	 * sent, 50,000 deferred: 2.9 ms a claim of 500 (with its commit),
	 * the same as at 10,000 (store_claim_test.c, the report of issue 11).
	 */
	[Q_DLV_PICK] = "SELECT sub, state FROM ("
	    "SELECT * FROM (SELECT subscriber_id AS sub, 0 AS state "
	    "FROM deliveries INDEXED BY deliveries_pending "
	    "WHERE broadcast_id = ?1 AND state = 0 AND next_at <= ?2 "
	    "ORDER BY subscriber_id LIMIT ?3) "
	    "UNION ALL SELECT * FROM (SELECT subscriber_id, 2 "
	    "FROM deliveries INDEXED BY deliveries_deferred "
	    "WHERE broadcast_id = ?1 AND state = 2 AND next_at <= ?2 "
	    "ORDER BY next_at LIMIT ?3) "
	    "UNION ALL SELECT * FROM (SELECT subscriber_id, 4 "
	    "FROM deliveries INDEXED BY deliveries_lease "
	    "WHERE broadcast_id = ?1 AND state = 4 AND lease < ?2 "
	    "ORDER BY lease LIMIT ?3)) "
	    "ORDER BY sub LIMIT ?3",
	/* a lapsed claim keeps the state from before the first claim */
	[Q_DLV_TAKE] = "UPDATE deliveries SET prev_state = CASE state "
	    "WHEN 4 THEN prev_state ELSE state END, state = 4, owner = ?3, "
	    "lease = ?4 WHERE broadcast_id = ?1 AND subscriber_id = ?2",
	[Q_DLV_ROW] = "SELECT s.email, s.name, s.fields, d.attempts, s.status, "
	    "s.lang "
	    "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
	    "WHERE d.broadcast_id = ?1 AND d.subscriber_id = ?2",
	[Q_DLV_RECORD] = "UPDATE deliveries SET state = ?3, attempts = ?4, "
	    "next_at = ?5, code = ?6, error = ?7, updated = ?8, owner = NULL, "
	    "lease = 0, prev_state = 0 WHERE broadcast_id = ?1 "
	    "AND subscriber_id = ?2 AND state = 4 AND owner = ?9",
	[Q_DLV_RECORD_DROP] = "DELETE FROM deliveries WHERE broadcast_id = ?1 "
	    "AND subscriber_id = ?2 AND state = 4 AND owner = ?3",
	[Q_DLV_RELEASE_ONE] = "UPDATE deliveries SET state = prev_state, "
	    "owner = NULL, lease = 0, prev_state = 0 WHERE broadcast_id = ?1 "
	    "AND subscriber_id = ?2 AND state = 4 AND owner = ?3 "
	    "RETURNING broadcast_id, state",
	[Q_DLV_RELEASE_ALL] = "UPDATE deliveries SET state = prev_state, "
	    "owner = NULL, lease = 0, prev_state = 0 WHERE owner = ?1 "
	    "AND state = 4 AND (?2 = 0 OR broadcast_id = ?2) "
	    "RETURNING broadcast_id, state",
	[Q_DLV_POSTPONE] = "UPDATE deliveries SET state = prev_state, "
	    "next_at = ?4, owner = NULL, lease = 0, prev_state = 0 "
	    "WHERE broadcast_id = ?1 AND subscriber_id = ?2 AND state = 4 "
	    "AND owner = ?3 RETURNING broadcast_id, state",
	[Q_BC_ADD] = "UPDATE broadcasts SET sent = sent + ?2, "
	    "deferred = deferred + ?3, failed = failed + ?4, "
	    "total = total + ?5 WHERE id = ?1",
	/* one probe of each partial index */
	/* undo a recorded result: back to ?5 (pending, or deferred due now) */
	[Q_DLV_RESTORE] = "UPDATE deliveries SET state = ?5, attempts = ?4, "
	    "next_at = 0, code = 0, error = '', owner = NULL, lease = 0, "
	    "prev_state = 0 WHERE broadcast_id = ?1 AND subscriber_id = ?2 "
	    "AND state = ?3",
	[Q_BC_SETTLED] = "SELECT snap_next IS NULL "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries "
	    "WHERE broadcast_id = ?1 AND state = 0) "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries "
	    "WHERE broadcast_id = ?1 AND state = 2) "
	    "AND NOT EXISTS (SELECT 1 FROM deliveries "
	    "WHERE broadcast_id = ?1 AND state = 4) "
	    "FROM broadcasts WHERE id = ?1",
	/* returned messages (schema 5): the subscriber's status, and
	 * whether they were a recipient of the broadcast (0: unknown) */
	[Q_BOUNCE_KNOWN] = "SELECT status, ?1 = 0 OR EXISTS (SELECT 1 "
	    "FROM deliveries WHERE broadcast_id = ?1 AND subscriber_id = ?2) "
	    "FROM subscribers WHERE id = ?2",
	[Q_BOUNCE_FIRST] = "SELECT NOT EXISTS (SELECT 1 FROM bounces "
	    "WHERE broadcast_id = ?1 AND subscriber_id = ?2 AND kind IN (1, 2))",
	[Q_BOUNCE_INSERT] = "INSERT INTO bounces(broadcast_id, subscriber_id, "
	    "kind, created) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[Q_BOUNCE_SOFT] = "SELECT count(DISTINCT broadcast_id) FROM bounces "
	    "WHERE subscriber_id = ?1 AND kind = 1",
	[Q_BOUNCE_COUNT] = "UPDATE broadcasts SET bounced = bounced + ?2, "
	    "complained = complained + ?3 WHERE id = ?1",
	/* a subscriber's language (schema 7): an import's lang column */
	[Q_SUB_LANG] = "UPDATE subscribers SET lang = ?2 WHERE key = ?1 "
	    "AND lang != ?2",
};

/* Forward migrations: migrations[i] takes user_version i to i + 1. */
static const char *sq_migrations[] = {
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES ('import_seq', 0);"
	"CREATE TABLE subscribers ("
	"  id INTEGER PRIMARY KEY,"
	"  email TEXT NOT NULL,"
	"  key TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  fields TEXT NOT NULL DEFAULT '{}',"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
	"  import_id INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL);"
	"CREATE TABLE broadcasts ("
	"  id INTEGER PRIMARY KEY,"
	"  title TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  filename TEXT NOT NULL DEFAULT '',"
	"  markdown INTEGER NOT NULL DEFAULT 0,"
	"  state INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  started INTEGER NOT NULL DEFAULT 0,"
	"  finished INTEGER NOT NULL DEFAULT 0,"
	"  total INTEGER NOT NULL DEFAULT 0,"
	"  sent INTEGER NOT NULL DEFAULT 0,"
	"  deferred INTEGER NOT NULL DEFAULT 0,"
	"  failed INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE deliveries ("
	"  broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),"
	"  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL DEFAULT 0,"
	"  code INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT NOT NULL DEFAULT '',"
	"  updated INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (broadcast_id, subscriber_id)) WITHOUT ROWID;"
	"CREATE INDEX deliveries_deferred ON deliveries(broadcast_id, next_at)"
	"  WHERE state = 2;",
	/* 2: recipients taken in slices (NULL: all taken, as before) */
	"ALTER TABLE broadcasts ADD COLUMN snap_next INTEGER;",
	/*
	 * 3: who bounced a subscriber (to undo a relay's mistake), why a
	 * broadcast is paused, and subscriber counts kept as rows change
	 * (a count per /metrics request scanned the whole table): a status
	 * change by trigger; new rows are added up by sq_sub_upsert and
	 * written once per transaction (a trigger per insert made a
	 * million-row import half as fast again)
	 */
	"ALTER TABLE subscribers ADD COLUMN bounced_by INTEGER NOT NULL "
	"  DEFAULT 0;"
	"CREATE INDEX subscribers_bounced_by ON subscribers(bounced_by)"
	"  WHERE bounced_by != 0;"
	"ALTER TABLE broadcasts ADD COLUMN reason TEXT;"
	"CREATE TABLE sub_counts (status INTEGER PRIMARY KEY,"
	"  n INTEGER NOT NULL);"
	"WITH v(s) AS (VALUES (0), (1), (2), (3)) INSERT INTO sub_counts "
	"  SELECT s, (SELECT count(*) FROM subscribers WHERE status = s) "
	"  FROM v;"
	"CREATE TRIGGER sub_counts_del AFTER DELETE ON subscribers BEGIN"
	"  UPDATE sub_counts SET n = n - 1 WHERE status = OLD.status; END;"
	"CREATE TRIGGER sub_counts_upd AFTER UPDATE OF status ON subscribers"
	"  WHEN OLD.status != NEW.status BEGIN"
	"  UPDATE sub_counts SET n = n - 1 WHERE status = OLD.status;"
	"  UPDATE sub_counts SET n = n + 1 WHERE status = NEW.status; END;",
	/*
	 * 4: the claim model (store.h): state 4 is claimed, by owner until
	 * lease (unix ms), prev_state what it was before (0 or 2).  Partial
	 * indexes so that a claim reads only eligible rows: pending in
	 * subscriber order (next_at in it: a postponed row is skipped
	 * without a read of the row), claimed by lease (lapsed ones) and by
	 * owner (release).  The deferred index of schema 1 serves as is.
	 */
	"ALTER TABLE deliveries ADD COLUMN owner TEXT;"
	"ALTER TABLE deliveries ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE deliveries ADD COLUMN prev_state INTEGER NOT NULL "
	"  DEFAULT 0;"
	"CREATE INDEX deliveries_pending ON deliveries(broadcast_id,"
	"  subscriber_id, next_at) WHERE state = 0;"
	"CREATE INDEX deliveries_lease ON deliveries(broadcast_id, lease)"
	"  WHERE state = 4;"
	"CREATE INDEX deliveries_owner ON deliveries(owner, broadcast_id)"
	"  WHERE state = 4;"
	/* due times were unix seconds before */
	"UPDATE deliveries SET next_at = next_at * 1000 WHERE next_at > 0;",
	/*
	 * 5: returned messages (store_bounce_record): each (broadcast,
	 * subscriber, kind) once, kind 1 soft, 2 hard, 3 complaint;
	 * broadcast 0 when only the subscriber is known.  Per broadcast,
	 * the recipients that bounced and the complaints.
	 */
	"CREATE TABLE bounces ("
	"  broadcast_id INTEGER NOT NULL,"
	"  subscriber_id INTEGER NOT NULL,"
	"  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 3),"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (broadcast_id, subscriber_id, kind)) WITHOUT ROWID;"
	"CREATE INDEX bounces_subscriber ON bounces(subscriber_id, kind);"
	"ALTER TABLE broadcasts ADD COLUMN bounced INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE broadcasts ADD COLUMN complained INTEGER NOT NULL "
	"  DEFAULT 0;",
	/*
	 * 6: resends (store_bc_resend_count): the broadcast resent and
	 * which of its delivery states (a mask of 1 << state) the resend
	 * takes; the undelivered rows of a broadcast by subscriber, so
	 * that a resend's slices read only them
	 */
	"ALTER TABLE broadcasts ADD COLUMN resent_from INTEGER NOT NULL "
	"  DEFAULT 0;"
	"ALTER TABLE broadcasts ADD COLUMN resend_states INTEGER NOT NULL "
	"  DEFAULT 0;"
	"CREATE INDEX broadcasts_resent_from ON broadcasts(resent_from);"
	"CREATE INDEX deliveries_undelivered ON deliveries(broadcast_id,"
	"  subscriber_id) WHERE state IN (2, 3);",
	/*
	 * 7: statements in several languages (issue 14 part 2): the
	 * default language of a broadcast, its other versions, and each
	 * subscriber's language ("" for none: the default's)
	 */
	"ALTER TABLE broadcasts ADD COLUMN lang TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE subscribers ADD COLUMN lang TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE translations ("
	"  broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),"
	"  lang TEXT NOT NULL,"
	"  title TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  filename TEXT NOT NULL DEFAULT '',"
	"  markdown INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (broadcast_id, lang)) WITHOUT ROWID;",
};
#define SQ_VERSION	((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

struct sq_store {
	struct store	 st;		/* must be first */
	sqlite3		*db;
	sqlite3_stmt	*q[Q_MAX];
	int		 lockfd;
	char		*path;
	enum store_upsert last;		/* what the previous upsert did */
	int64_t		 added[4];	/* rows inserted by status in this
					   transaction, not yet in sub_counts */
	sqlite3_stmt	*rows_look;	/* sq_sub_upsert_rows of a full */
	sqlite3_stmt	*rows_ins;	/* chunk, kept */
};

#define SQ(st)	((struct sq_store *)(st))

static int
sq_fail(struct sq_store *s, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s: %s", s->path, what,
	    sqlite3_errmsg(s->db));
	return -1;
}

static sqlite3_stmt *
sq_stmt(struct sq_store *s, enum sq_stmt q)
{
	sqlite3_reset(s->q[q]);
	sqlite3_clear_bindings(s->q[q]);
	return s->q[q];
}

static int
sq_exec1(struct sq_store *s, enum sq_stmt q, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt = sq_stmt(s, q);
	int		 rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s, err, errlen, sq_sql[q]);
	return 0;
}

static int
sq_migrate(struct sq_store *s, char *err, size_t errlen)
{
	sqlite3_stmt	*stmt;
	char		*msg = NULL, sql[64];
	int		 version = 0, appid = 0, tables = 0, ret = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT (SELECT user_version FROM "
	    "pragma_user_version), (SELECT application_id FROM "
	    "pragma_application_id), (SELECT count(*) FROM sqlite_schema)",
	    -1, &stmt, NULL) != SQLITE_OK)
		return sq_fail(s, err, errlen, "reading the schema version "
		    "(not a database, or corrupted?)");
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		version = sqlite3_column_int(stmt, 0);
		appid = sqlite3_column_int(stmt, 1);
		tables = sqlite3_column_int(stmt, 2);
	} else {
		sqlite3_finalize(stmt);
		return sq_fail(s, err, errlen, "reading the schema version "
		    "(not a database, or corrupted?)");
	}
	sqlite3_finalize(stmt);
	if (tables > 0 && appid != SQ_APPLICATION_ID) {
		snprintf(err, errlen, "%s: not a broadside database "
		    "(application_id %d)", s->path, appid);
		return -1;
	}
	if (version > SQ_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this broadside (%d)", s->path, version, SQ_VERSION);
		return -1;
	}
	for (; version < SQ_VERSION; version++) {
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg)
		    != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(s->db, sq_migrations[version], NULL, NULL,
		    &msg) != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    version + 1);
		if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
		    SQ_APPLICATION_ID);
		if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg)
		    != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: migrating to schema %d: %s", s->path,
	    version + 1, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static void sq_close(struct store *);

/*
 * more: another handle on a store this process has open (for another
 * thread): no lock file (the first handle holds it), no migration.
 */
static struct store *
sq_open_db(const char *path, int more, char *err, size_t errlen)
{
	struct sq_store	*s;
	char		*lockpath = NULL, *msg = NULL;
	mode_t		 old;
	int		 i, fd;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		free(s);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	s->st.be = &store_sqlite_backend;
	s->lockfd = -1;
	if (more)
		goto db;

	if (asprintf(&lockpath, "%s.lock", path) == -1) {
		lockpath = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	old = umask(0077);
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	umask(old);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", lockpath, strerror(errno));
		goto fail;
	}
	s->lockfd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "%s: in use by another "
			    "broadsided (lock %s held)", path, lockpath);
		else
			snprintf(err, errlen, "%s: flock: %s", lockpath,
			    strerror(errno));
		goto fail;
	}

db:
	/* database, WAL and SHM files are the daemon's alone */
	old = umask(0077);
	i = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (i != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db ?
		    sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	chmod(path, 0600);
	/*
	 * Another process holding the write lock (a backup, the sqlite3
	 * shell), or the writer thread's commit, must not hold the loop:
	 * wait at most 20 ms, then fail, and the caller retries from a
	 * timer.  A handle for another thread may wait longer.
	 */
	sqlite3_busy_timeout(s->db, more ? STORE_THREAD_BUSY_MS :
	    STORE_BUSY_MS);
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
	    "PRAGMA cache_size = -8000; PRAGMA temp_store = MEMORY;",
	    NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg :
		    sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (!more && sq_migrate(s, err, errlen) == -1)
		goto fail;
	for (i = 0; i < Q_MAX; i++)
		if (sqlite3_prepare_v3(s->db, sq_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) != SQLITE_OK) {
			sq_fail(s, err, errlen, sq_sql[i]);
			goto fail;
		}
	free(lockpath);
	return &s->st;
fail:
	free(lockpath);
	sq_close(&s->st);
	return NULL;
}

static struct store *
sq_open(const char *path, char *err, size_t errlen)
{
	return sq_open_db(path, 0, err, errlen);
}

static struct store *
sq_open_more(struct store *st, char *err, size_t errlen)
{
	return sq_open_db(SQ(st)->path, 1, err, errlen);
}

static void
sq_close(struct store *st)
{
	struct sq_store	*s = SQ(st);
	int		 i;

	for (i = 0; i < Q_MAX; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_finalize(s->rows_look);
	sqlite3_finalize(s->rows_ins);
	if (s->db != NULL)
		sqlite3_close(s->db);
	if (s->lockfd != -1)
		close(s->lockfd);
	free(s->path);
	free(s);
}

static int
sq_begin(struct store *st, char *err, size_t errlen)
{
	return sq_exec1(SQ(st), Q_BEGIN, err, errlen);
}

/* The rows inserted so far into sub_counts, one statement a status. */
static int
sq_counts_flush(struct sq_store *s, char *err, size_t errlen)
{
	sqlite3_stmt	*q;
	int		 k;

	for (k = 0; k < 4; k++) {
		if (s->added[k] == 0)
			continue;
		q = sq_stmt(s, Q_COUNTS_ADD);
		sqlite3_bind_int(q, 1, k);
		sqlite3_bind_int64(q, 2, s->added[k]);
		if (sqlite3_step(q) != SQLITE_DONE)
			return sq_fail(s, err, errlen, "count subscribers");
		s->added[k] = 0;
	}
	return 0;
}

static int
sq_commit(struct store *st, char *err, size_t errlen)
{
	if (sq_counts_flush(SQ(st), err, errlen) == -1)
		return -1;
	return sq_exec1(SQ(st), Q_COMMIT, err, errlen);
}

static int
sq_rollback(struct store *st)
{
	char	err[16];

	memset(SQ(st)->added, 0, sizeof(SQ(st)->added));
	if (sqlite3_get_autocommit(SQ(st)->db))
		return 0;
	return sq_exec1(SQ(st), Q_ROLLBACK, err, sizeof(err));
}

/* This handle only reads from now on: SQLite refuses its writes. */
static int
sq_read_only(struct store *st, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(SQ(st)->db, "PRAGMA query_only = 1", NULL, NULL,
	    &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", SQ(st)->path, msg ? msg :
		    sqlite3_errmsg(SQ(st)->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Writable now?  A write that changes nothing, in its own transaction. */
static int
sq_writable(struct store *st, char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	char		*msg = NULL;
	int		 moved = 0, rc;

	/* unlinked or renamed under us: writes would go to a ghost file */
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED,
	    &moved) == SQLITE_OK && moved) {
		snprintf(err, errlen, "%s: the database file was deleted or "
		    "moved while open; restart the daemon", s->path);
		return -1;
	}
	if ((rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE; UPDATE meta SET "
	    "value = value WHERE key = 'import_seq'; COMMIT", NULL, NULL,
	    &msg)) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", s->path, msg ? msg :
		    sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		sq_rollback(st);
		/* another handle holds the lock: that says nothing of the
		 * file or the disk */
		return (rc & 0xff) == SQLITE_BUSY ? 1 : -1;
	}
	return 0;
}

static int64_t
sq_import_id(struct store *st)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, Q_IMPORT_ID);
	int64_t		 id = -1;

	if (sqlite3_step(q) == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return id;
}

/* One upsert attempt: 1 if it wrote the row, 0 if not, -1 on error. */
static int
sq_sub_try(struct sq_store *s, enum sq_stmt which, int64_t import,
    const char *email, const char *key, const char *name, const char *fields,
    enum sub_status status, int64_t now)
{
	sqlite3_stmt	*q = sq_stmt(s, which);

	sqlite3_bind_text(q, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, fields, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, status);
	sqlite3_bind_int64(q, 6, import);
	sqlite3_bind_int64(q, 7, now);
	if (sqlite3_step(q) != SQLITE_DONE)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

/*
 * One statement per row in the common cases: an import into an empty
 * list is all inserts, a re-import all updates.  So try first what the
 * previous upsert did, a conditional INSERT or UPDATE, then the other;
 * only when neither wrote is the row looked up, to tell a duplicate in
 * this import from a suppressed (unsubscribed or bounced) subscriber.
 * An active subscriber stays active; a pending one takes the new status.
 */
static int
sq_sub_upsert(struct store *st, int64_t import, const char *email,
    const char *key, const char *name, const char *fields,
    enum sub_status status, enum store_upsert *what, char *err,
    size_t errlen)
{
	struct sq_store	*s = SQ(st);
	enum sq_stmt	 order[2] = { Q_SUB_INSERT, Q_SUB_UPDATE };
	sqlite3_stmt	*q;
	int64_t		 id, old_import, now = (int64_t)time(NULL);
	int		 i, rc, old_status;

	if (s->last == UPSERT_UPDATED) {
		order[0] = Q_SUB_UPDATE;
		order[1] = Q_SUB_INSERT;
	}
	for (i = 0; i < 2; i++) {
		rc = sq_sub_try(s, order[i], import, email, key, name, fields,
		    status, now);
		if (rc == -1)
			return sq_fail(s, err, errlen, order[i] == Q_SUB_INSERT ?
			    "insert subscriber" : "update subscriber");
		if (rc == 1) {
			*what = order[i] == Q_SUB_INSERT ? UPSERT_ADDED :
			    UPSERT_UPDATED;
			s->last = *what;
			if (*what != UPSERT_ADDED)
				return 0;
			/* counted at commit; at once outside a transaction */
			s->added[status]++;
			if (sqlite3_get_autocommit(s->db))
				return sq_counts_flush(s, err, errlen);
			return 0;
		}
	}

	q = sq_stmt(s, Q_SUB_FIND);
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return sq_fail(s, err, errlen, "find subscriber");
	}
	id = sqlite3_column_int64(q, 0);
	old_status = sqlite3_column_int(q, 1);
	old_import = sqlite3_column_int64(q, 2);
	sqlite3_reset(q);
	if (import != 0 && old_import == import) {
		*what = UPSERT_DUPLICATE;
		return 0;
	}
	if (old_status == SUB_PENDING) {
		/* refreshed, and active if the new status says so (a status
		 * change: the trigger counts it) */
		q = sq_stmt(s, Q_SUB_PROMOTE);
		sqlite3_bind_text(q, 1, email, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, id);
		sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, fields, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 5, status);
		sqlite3_bind_int64(q, 6, import);
		sqlite3_bind_int64(q, 7, now);
		if (sqlite3_step(q) != SQLITE_DONE)
			return sq_fail(s, err, errlen, "update subscriber");
		*what = UPSERT_UPDATED;
		return 0;
	}
	/* suppressed; remember it was in this import, for duplicates */
	q = sq_stmt(s, Q_SUB_TOUCH);
	sqlite3_bind_int64(q, 1, import);
	sqlite3_bind_int64(q, 2, id);
	if (sqlite3_step(q) != SQLITE_DONE)
		return sq_fail(s, err, errlen, "update");
	*what = UPSERT_SUPPRESSED;
	return 0;
}

/*
 * A statement for n rows of anonymous parameters ("?": numbered ones
 * are looked up by name in a list, which took 40 % of an import), kept
 * for a full chunk, else made for the call (the last chunk of an
 * import).  head, then n times row joined by ", ", then tail.
 */
static int
sq_rows_stmt(struct sq_store *s, sqlite3_stmt **keep, size_t n,
    const char *head, const char *row, const char *tail, sqlite3_stmt **q,
    char *err, size_t errlen)
{
	char	*sql, *p;
	size_t	 i, cap;
	int	 rc;

	if (n == STORE_UPSERT_CHUNK && *keep != NULL) {
		*q = *keep;
		return 0;
	}
	cap = strlen(head) + strlen(tail) + n * (strlen(row) + 2) + 1;
	if ((sql = malloc(cap)) == NULL) {
		snprintf(err, errlen, "%s: upsert: out of memory", s->path);
		return -1;
	}
	p = sql + snprintf(sql, cap, "%s", head);
	for (i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - sql), "%s%s", i ? ", " : "",
		    row);
	snprintf(p, cap - (size_t)(p - sql), "%s", tail);
	rc = sqlite3_prepare_v3(s->db, sql, -1, n == STORE_UPSERT_CHUNK ?
	    SQLITE_PREPARE_PERSISTENT : 0, q, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return sq_fail(s, err, errlen, "prepare upsert");
	if (n == STORE_UPSERT_CHUNK)
		*keep = *q;
	return 0;
}

static void
sq_rows_done(struct sq_store *s, sqlite3_stmt *keep, sqlite3_stmt *q)
{
	(void)s;
	if (q == NULL)
		return;
	sqlite3_reset(q);
	if (q != keep)
		sqlite3_finalize(q);
}

/*
 * n rows in two statements: what is there already (by key, one look at
 * the index for all), then one INSERT ... ON CONFLICT DO UPDATE for all
 * of them, which inserts the new ones and refreshes an active
 * subscriber not yet seen in this import (status untouched), as
 * Q_SUB_INSERT and Q_SUB_UPDATE do for one, with the row's language
 * when it names one (sq_sub_set_lang).  The look tells which is
 * which beforehand, so the INSERT needs no RETURNING (that cost a fifth
 * of an import); the rows the look finds pending, suppressed or seen in
 * this import are left to the row at a time path (the INSERT does not
 * touch them).
 */
static int
sq_sub_upsert_rows(struct store *st, int64_t import,
    struct store_sub_row **rows, struct store_sub_row **by_key, size_t n,
    char *err, size_t errlen)
{
	struct sq_store		*s = SQ(st);
	struct store_sub_row	*row;
	sqlite3_stmt		*look = NULL, *ins = NULL;
	int64_t			 now = (int64_t)time(NULL);
	size_t			 i, want = 0;
	int			 k, rc = -1;

	if (n == 0)
		return 0;
	if (sq_rows_stmt(s, &s->rows_look, n, "SELECT key, status, import_id "
	    "FROM subscribers WHERE key IN (", "?", ")", &look, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		sqlite3_bind_text(look, (int)i + 1, rows[i]->key, -1,
		    SQLITE_STATIC);
	while ((k = sqlite3_step(look)) == SQLITE_ROW) {
		row = store_sub_row_find(by_key, n,
		    (const char *)sqlite3_column_text(look, 0));
		if (row == NULL)
			continue;
		if (sqlite3_column_int(look, 1) == SUB_ACTIVE &&
		    sqlite3_column_int64(look, 2) != import) {
			row->what = UPSERT_UPDATED;
			row->done = 1;
			want++;
		} else
			row->done = -1;		/* there; the row path's */
	}
	if (k != SQLITE_DONE) {
		sq_fail(s, err, errlen, "upsert subscribers: look");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (rows[i]->done == 0) {
			rows[i]->what = UPSERT_ADDED;
			rows[i]->done = 1;
			want++;
		} else if (rows[i]->done == -1)
			rows[i]->done = 0;
	}

	if (sq_rows_stmt(s, &s->rows_ins, n, "INSERT INTO subscribers(email, "
	    "key, name, fields, status, import_id, created, updated, lang) "
	    "VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?)", " ON CONFLICT (key) DO "
	    "UPDATE SET email = excluded.email, name = excluded.name, "
	    "fields = excluded.fields, import_id = excluded.import_id, "
	    "updated = excluded.updated, lang = CASE WHEN excluded.lang != '' "
	    "THEN excluded.lang ELSE subscribers.lang END "
	    "WHERE subscribers.status = 1 "
	    "AND subscribers.import_id != excluded.import_id", &ins, err,
	    errlen) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		k = (int)i * 9;
		sqlite3_bind_text(ins, k + 9, rows[i]->lang ? rows[i]->lang : "",
		    -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, k + 1, rows[i]->email, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, k + 2, rows[i]->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, k + 3, rows[i]->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, k + 4, rows[i]->fields, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int(ins, k + 5, rows[i]->status);
		sqlite3_bind_int64(ins, k + 6, import);
		sqlite3_bind_int64(ins, k + 7, now);
		sqlite3_bind_int64(ins, k + 8, now);
	}
	if (sqlite3_step(ins) != SQLITE_DONE) {
		sq_fail(s, err, errlen, "upsert subscribers");
		goto out;
	}
	/* the look and the statement agree (one writer: nothing between) */
	if ((size_t)sqlite3_changes(s->db) != want) {
		snprintf(err, errlen, "%s: upsert subscribers: %d rows written, "
		    "%zu expected", s->path, sqlite3_changes(s->db), want);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (rows[i]->done && rows[i]->what == UPSERT_ADDED)
			s->added[rows[i]->status]++;
	rc = 0;
	if (sqlite3_get_autocommit(s->db))
		rc = sq_counts_flush(s, err, errlen);
out:
	sq_rows_done(s, s->rows_look, look);
	sq_rows_done(s, s->rows_ins, ins);
	return rc;
}

static int
sq_sub_set_status_common(struct sq_store *s, enum sq_stmt which,
    const char *key, int64_t id, enum sub_status status, int force,
    int *changed, char *err, size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(s, which);

	sqlite3_bind_int(q, 1, status);
	sqlite3_bind_int64(q, 2, (int64_t)time(NULL));
	if (key != NULL)
		sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 3, id);
	sqlite3_bind_int(q, 4, force);
	if (sqlite3_step(q) != SQLITE_DONE)
		return sq_fail(s, err, errlen, "set subscriber status");
	if (changed != NULL)
		*changed = sqlite3_changes(s->db) > 0;
	return 0;
}

static int
sq_sub_set_status(struct store *st, const char *key, enum sub_status status,
    int force, int *changed, char *err, size_t errlen)
{
	return sq_sub_set_status_common(SQ(st), Q_SUB_STATUS_KEY, key, 0,
	    status, force, changed, err, errlen);
}

static int
sq_sub_set_status_id(struct store *st, int64_t id, enum sub_status status,
    int force, int *changed, char *err, size_t errlen)
{
	return sq_sub_set_status_common(SQ(st), Q_SUB_STATUS_ID, NULL, id,
	    status, force, changed, err, errlen);
}

static int
sq_sub_rows(struct sq_store *s, sqlite3_stmt *q, store_sub_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct subscriber	 sub;
	int			 rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		sub.id = sqlite3_column_int64(q, 0);
		sub.email = (const char *)sqlite3_column_text(q, 1);
		sub.name = (const char *)sqlite3_column_text(q, 2);
		sub.fields = (const char *)sqlite3_column_text(q, 3);
		sub.status = (enum sub_status)sqlite3_column_int(q, 4);
		sub.created = sqlite3_column_int64(q, 5);
		sub.lang = (const char *)sqlite3_column_text(q, 6);
		if (cb(&sub, arg) == -1)
			break;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, err, errlen, "read subscribers");
	return 0;
}

static int
sq_sub_get(struct store *st, int64_t id, store_sub_cb cb, void *arg,
    char *err, size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_SUB_GET);

	sqlite3_bind_int64(q, 1, id);
	return sq_sub_rows(SQ(st), q, cb, arg, err, errlen);
}

static int
sq_sub_find(struct store *st, const char *key, store_sub_cb cb, void *arg,
    char *err, size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_SUB_GET_KEY);

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	return sq_sub_rows(SQ(st), q, cb, arg, err, errlen);
}

static int
sq_sub_list(struct store *st, int64_t after, int limit, store_sub_cb cb,
    void *arg, char *err, size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_SUB_LIST);

	sqlite3_bind_int64(q, 1, after);
	sqlite3_bind_int(q, 2, limit);
	return sq_sub_rows(SQ(st), q, cb, arg, err, errlen);
}

static int
sq_sub_count(struct store *st, int64_t counts[4], char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, Q_SUB_COUNT);
	int		 rc, k;

	memset(counts, 0, 4 * sizeof(counts[0]));
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		k = sqlite3_column_int(q, 0);
		if (k >= 0 && k < 4)
			counts[k] = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, err, errlen, "count subscribers");
	return 0;
}

/* Bounced by broadcast bc, or (undo) back to active if bc bounced it. */
static int
sq_sub_bounce(struct store *st, int64_t id, int64_t bc, int undo, int *changed,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, undo ? Q_SUB_UNBOUNCE : Q_SUB_BOUNCE);

	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, bc);
	sqlite3_bind_int64(q, 3, (int64_t)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE)
		return sq_fail(s, err, errlen, "set subscriber bounced");
	if (changed != NULL)
		*changed = sqlite3_changes(s->db);
	return 0;
}

static int
sq_sub_reactivate(struct store *st, const char *key, int64_t bc, int *changed,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, key ? Q_SUB_REACT_KEY : Q_SUB_REACT_BC);

	if (key != NULL)
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, (int64_t)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE)
		return sq_fail(s, err, errlen, "reactivate subscribers");
	if (changed != NULL)
		*changed = sqlite3_changes(s->db);
	return 0;
}

/* One statement, prepared for this call (rare: a new broadcast, a run). */
static int
sq_prep(struct sq_store *s, const char *sql, sqlite3_stmt **q, char *err,
    size_t errlen)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK) {
		*q = NULL;
		return sq_fail(s, err, errlen, "prepare");
	}
	return 0;
}

/*
 * A new broadcast's versions in other languages (schema 7), inside its
 * creation's transaction; a resend takes the original's.
 */
static int
sq_tr_insert(struct sq_store *s, int64_t id, const struct broadcast *bc)
{
	const struct bc_translation	*t;
	sqlite3_stmt			*q;
	char				 e[512];
	size_t				 i;
	int				 rc = 0;

	if (bc->resent_from != 0) {
		if (sq_prep(s, "INSERT INTO translations(broadcast_id, lang, "
		    "title, subject, source, filename, markdown) SELECT ?1, "
		    "lang, title, subject, source, filename, markdown FROM "
		    "translations WHERE broadcast_id = ?2", &q, e, sizeof(e))
		    == -1)
			return -1;
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int64(q, 2, bc->resent_from);
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(q);
		return rc;
	}
	if (bc->ntranslations == 0)
		return 0;
	if (sq_prep(s, "INSERT INTO translations(broadcast_id, lang, title, "
	    "subject, source, filename, markdown) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7)", &q, e, sizeof(e)) == -1)
		return -1;
	for (i = 0; i < bc->ntranslations && rc == 0; i++) {
		t = &bc->translations[i];
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_text(q, 2, t->lang, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, t->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, t->subject ? t->subject : t->title, -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(q, 5, t->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, t->filename ? t->filename : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int(q, 7, t->markdown);
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(q);
	return rc;
}

static int
sq_bc_translations(struct store *st, int64_t id, store_tr_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sq_store		*s = SQ(st);
	struct bc_translation	 t;
	sqlite3_stmt		*q;
	int			 rc;

	if (sq_prep(s, "SELECT lang, title, subject, source, filename, "
	    "markdown FROM translations WHERE broadcast_id = ?1 ORDER BY lang",
	    &q, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		t.lang = (const char *)sqlite3_column_text(q, 0);
		t.title = (const char *)sqlite3_column_text(q, 1);
		t.subject = (const char *)sqlite3_column_text(q, 2);
		t.source = (const char *)sqlite3_column_text(q, 3);
		t.filename = (const char *)sqlite3_column_text(q, 4);
		t.markdown = sqlite3_column_int(q, 5);
		if (cb(&t, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_fail(s, err, errlen, "read translations");
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_finalize(q);
	return 0;
}

static int
sq_bc_lang_counts(struct store *st, int64_t id, store_lang_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q;
	int		 rc;

	if (sq_prep(s, "SELECT s.lang, count(*) FROM deliveries d "
	    "JOIN subscribers s ON s.id = d.subscriber_id "
	    "WHERE d.broadcast_id = ?1 GROUP BY s.lang", &q, err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (cb((const char *)sqlite3_column_text(q, 0),
		    sqlite3_column_int64(q, 1), arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_fail(s, err, errlen, "count languages");
		sqlite3_finalize(q);
		return -1;
	}
	sqlite3_finalize(q);
	return 0;
}

static int
sq_sub_set_lang(struct store *st, const char *key, const char *lang,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, Q_SUB_LANG);
	int		 rc;

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, lang, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, err, errlen, "set subscriber language");
	return 0;
}

static int
sq_bc_create(struct store *st, const struct broadcast *bc, int64_t *id,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q;

	if (sq_begin(st, err, errlen) == -1)
		return -1;
	q = sq_stmt(s, Q_BC_INSERT);
	sqlite3_bind_text(q, 1, bc->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, bc->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, bc->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, bc->filename ? bc->filename : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(q, 5, bc->markdown);
	sqlite3_bind_int(q, 6, BC_QUEUED);
	sqlite3_bind_int64(q, 7, bc->created ? bc->created :
	    (int64_t)time(NULL));
	sqlite3_bind_int64(q, 8, bc->resent_from);
	sqlite3_bind_int64(q, 9, bc->resent_from ? bc->resend_states : 0);
	sqlite3_bind_text(q, 10, bc->lang ? bc->lang : "", -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	*id = sqlite3_last_insert_rowid(s->db);
	if (sq_tr_insert(s, *id, bc) == -1)
		goto fail;
	return sq_commit(st, err, errlen);
fail:
	sq_fail(s, err, errlen, "create broadcast");
	sq_rollback(st);
	return -1;
}

/* Take the next (at most) limit recipients of a broadcast, in one
 * transaction; *more is 1 while some may be left. */
static int
sq_bc_snapshot(struct store *st, int64_t id, int limit, int *more,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q;
	int64_t		 next, taken, from;
	unsigned	 states;

	*more = 0;
	if (sq_begin(st, err, errlen) == -1)
		return -1;
	q = sq_stmt(s, Q_BC_SNAP_NEXT);
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW ||
	    sqlite3_column_type(q, 0) == SQLITE_NULL) {
		/* no such broadcast, or all taken already */
		sqlite3_reset(q);
		return sq_commit(st, err, errlen);
	}
	next = sqlite3_column_int64(q, 0);
	from = sqlite3_column_int64(q, 1);
	states = (unsigned)sqlite3_column_int64(q, 2);
	sqlite3_reset(q);
	q = sq_stmt(s, from != 0 ? Q_BC_SNAP_RESEND : Q_BC_SNAPSHOT);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, next);
	sqlite3_bind_int(q, 3, limit);
	if (from != 0) {
		sqlite3_bind_int64(q, 4, from);
		sqlite3_bind_int64(q, 5, states);
	}
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	taken = sqlite3_changes(s->db);
	sqlite3_reset(q);
	*more = taken >= limit;
	if (*more) {
		q = sq_stmt(s, Q_BC_SNAP_LAST);
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) != SQLITE_ROW)
			goto fail;
		next = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	q = sq_stmt(s, Q_BC_SNAP_SET);
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, taken);
	if (*more)
		sqlite3_bind_int64(q, 3, next);
	else
		sqlite3_bind_null(q, 3);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto fail;
	return sq_commit(st, err, errlen);
fail:
	*more = 0;
	sq_fail(s, err, errlen, "take recipients");
	sq_rollback(st);
	return -1;
}

static int
sq_bc_resend_count(struct store *st, int64_t from, unsigned states,
    int64_t *n, char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, Q_BC_RESEND_COUNT);
	int		 rc;

	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, states);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return sq_fail(s, err, errlen, "count recipients to resend");
	return 0;
}

static int
sq_bc_rows(struct sq_store *s, sqlite3_stmt *q, store_bc_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct broadcast	 bc;
	int			 rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		bc.id = sqlite3_column_int64(q, 0);
		bc.title = (const char *)sqlite3_column_text(q, 1);
		bc.subject = (const char *)sqlite3_column_text(q, 2);
		bc.source = (const char *)sqlite3_column_text(q, 3);
		bc.filename = (const char *)sqlite3_column_text(q, 4);
		bc.markdown = sqlite3_column_int(q, 5);
		bc.state = (enum bc_state)sqlite3_column_int(q, 6);
		bc.created = sqlite3_column_int64(q, 7);
		bc.started = sqlite3_column_int64(q, 8);
		bc.finished = sqlite3_column_int64(q, 9);
		bc.total = sqlite3_column_int64(q, 10);
		bc.sent = sqlite3_column_int64(q, 11);
		bc.deferred = sqlite3_column_int64(q, 12);
		bc.failed = sqlite3_column_int64(q, 13);
		bc.snapping = sqlite3_column_int(q, 14);
		bc.reason = (const char *)sqlite3_column_text(q, 15);
		bc.bounced = sqlite3_column_int64(q, 16);
		bc.complained = sqlite3_column_int64(q, 17);
		bc.resent_from = sqlite3_column_int64(q, 18);
		bc.resend_states = (unsigned)sqlite3_column_int64(q, 19);
		bc.resent_as = sqlite3_column_int64(q, 20);
		bc.lang = (const char *)sqlite3_column_text(q, 21);
		bc.translations = NULL;
		bc.ntranslations = 0;
		bc.pending = bc.total - bc.sent - bc.deferred - bc.failed;
		if (cb(&bc, arg) == -1)
			break;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, err, errlen, "read broadcasts");
	return 0;
}

static int
sq_bc_get(struct store *st, int64_t id, store_bc_cb cb, void *arg, char *err,
    size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_BC_GET);

	sqlite3_bind_int64(q, 1, id);
	return sq_bc_rows(SQ(st), q, cb, arg, err, errlen);
}

static int
sq_bc_list(struct store *st, int limit, store_bc_cb cb, void *arg, char *err,
    size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_BC_LIST);

	sqlite3_bind_int(q, 1, limit);
	return sq_bc_rows(SQ(st), q, cb, arg, err, errlen);
}

static int
sq_bc_set_state(struct store *st, int64_t id, enum bc_state state,
    const char *reason, char *err, size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_BC_STATE);

	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int(q, 2, state);
	sqlite3_bind_int64(q, 3, (int64_t)time(NULL));
	if (reason != NULL)
		sqlite3_bind_text(q, 4, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 4);
	if (sqlite3_step(q) != SQLITE_DONE)
		return sq_fail(SQ(st), err, errlen, "set broadcast state");
	return 0;
}

static int
sq_dlv_next_due(struct store *st, int64_t bc, int64_t *when, char *err,
    size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_DLV_NEXT_DUE);
	int		 rc;

	sqlite3_bind_int64(q, 1, bc);
	*when = -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		*when = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(SQ(st), err, errlen, "next due delivery");
	return 0;
}

static int
sq_dlv_counts(struct store *st, int64_t bc, int64_t counts[4], char *err,
    size_t errlen)
{
	sqlite3_stmt	*q = sq_stmt(SQ(st), Q_DLV_COUNTS);
	int		 rc, k;

	memset(counts, 0, 4 * sizeof(counts[0]));
	sqlite3_bind_int64(q, 1, bc);
	/* one row of sums: no GROUP BY, so no temporary b-tree in memory */
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (k = 0; k < 4; k++)
			counts[k] = sqlite3_column_int64(q, k + 1);
		rc = sqlite3_step(q);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return sq_fail(SQ(st), err, errlen, "count deliveries");
	return 0;
}

/*
 * The claim model.  One transaction per call, or a savepoint inside the
 * caller's: *own says which, for sq_tx_end.
 */
static int
sq_tx_begin(struct sq_store *s, int *own, char *err, size_t errlen)
{
	*own = sqlite3_get_autocommit(s->db);
	return sq_exec1(s, *own ? Q_BEGIN : Q_SAVEPOINT, err, errlen);
}

/* Commit (ok) or undo; -1 if it ends undone. */
static int
sq_tx_end(struct sq_store *s, int own, int ok, char *err, size_t errlen)
{
	char	ignored[16];

	if (ok && own) {
		if (sq_commit(&s->st, err, errlen) == 0)
			return 0;
		sq_rollback(&s->st);
		return -1;
	}
	if (ok)
		return sq_exec1(s, Q_SAVEPOINT_RELEASE, err, errlen);
	if (own)
		sq_rollback(&s->st);
	else {
		sq_exec1(s, Q_SAVEPOINT_ROLLBACK, ignored, sizeof(ignored));
		sq_exec1(s, Q_SAVEPOINT_RELEASE, ignored, sizeof(ignored));
	}
	return -1;
}

/* Count changes per broadcast, written once at the end of the call. */
struct sq_adds {
	size_t		 n, cap;
	struct sq_add {
		int64_t	 bc, sent, deferred, failed, total;
	}		*v;
};

static struct sq_add *
sq_adds_get(struct sq_adds *a, int64_t bc)
{
	struct sq_add	*v;
	size_t		 i;

	for (i = a->n; i > 0; i--)	/* the last one, mostly */
		if (a->v[i - 1].bc == bc)
			return &a->v[i - 1];
	if (a->n == a->cap) {
		if ((v = reallocarray(a->v, a->cap ? a->cap * 2 : 4,
		    sizeof(*v))) == NULL)
			return NULL;
		a->v = v;
		a->cap = a->cap ? a->cap * 2 : 4;
	}
	v = &a->v[a->n++];
	memset(v, 0, sizeof(*v));
	v->bc = bc;
	return v;
}

static int
sq_adds_write(struct sq_store *s, struct sq_adds *a, char *err,
    size_t errlen)
{
	sqlite3_stmt	*q;
	size_t		 i;

	for (i = 0; i < a->n; i++) {
		if (a->v[i].sent == 0 && a->v[i].deferred == 0 &&
		    a->v[i].failed == 0 && a->v[i].total == 0)
			continue;
		q = sq_stmt(s, Q_BC_ADD);
		sqlite3_bind_int64(q, 1, a->v[i].bc);
		sqlite3_bind_int64(q, 2, a->v[i].sent);
		sqlite3_bind_int64(q, 3, a->v[i].deferred);
		sqlite3_bind_int64(q, 4, a->v[i].failed);
		sqlite3_bind_int64(q, 5, a->v[i].total);
		if (sqlite3_step(q) != SQLITE_DONE)
			return sq_fail(s, err, errlen, "add to broadcast counts");
	}
	return 0;
}

/* One host: the C library's clock is the store's. */
static int64_t
sq_now_ms(struct store *st)
{
	struct timespec	ts;

	(void)st;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct sq_pick {
	int64_t	 sub;
	int	 state;
};

/*
 * Eligible rows first (one statement, ids in order), then each marked
 * and handed over.  A deferred row leaves the deferred count as it is
 * claimed (claimed counts as pending); a lapsed claim changes no count.
 * Measured at 1M deliveries: see tests/unit/store_claim_test.c.
 */
static int
sq_dlv_claim_rows(struct store *st, int64_t bc, const char *owner,
    int64_t now, int64_t lease_ms, int limit, store_dlv_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	struct sq_pick	*pick = NULL;
	struct sq_adds	 adds = { 0, 0, NULL };
	struct sq_add	*add;
	struct delivery	 d;
	sqlite3_stmt	*q;
	int		 i, n = 0, rc, own, taken = 0, ret = -1;

	if (limit <= 0)
		return 0;
	if ((pick = calloc((size_t)limit, sizeof(*pick))) == NULL) {
		snprintf(err, errlen, "%s: claim: out of memory", s->path);
		return -1;
	}
	if (sq_tx_begin(s, &own, err, errlen) == -1) {
		free(pick);
		return -1;
	}
	q = sq_stmt(s, Q_DLV_PICK);
	sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_int(q, 3, limit);
	while (n < limit && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		pick[n].sub = sqlite3_column_int64(q, 0);
		pick[n].state = sqlite3_column_int(q, 1);
		n++;
	}
	sqlite3_reset(q);
	if (n < limit && rc != SQLITE_DONE) {
		sq_fail(s, err, errlen, "claim deliveries");
		goto end;
	}

	d.broadcast_id = bc;
	for (i = 0; i < n; i++) {
		q = sq_stmt(s, Q_DLV_TAKE);
		sqlite3_bind_int64(q, 1, bc);
		sqlite3_bind_int64(q, 2, pick[i].sub);
		sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, now + lease_ms);
		if (sqlite3_step(q) != SQLITE_DONE) {
			sq_fail(s, err, errlen, "claim delivery");
			goto end;
		}
		if (pick[i].state == DLV_DEFERRED) {
			if ((add = sq_adds_get(&adds, bc)) == NULL) {
				snprintf(err, errlen, "%s: claim: out of "
				    "memory", s->path);
				goto end;
			}
			add->deferred--;
		}
		taken++;
		q = sq_stmt(s, Q_DLV_ROW);
		sqlite3_bind_int64(q, 1, bc);
		sqlite3_bind_int64(q, 2, pick[i].sub);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			sq_fail(s, err, errlen, "read claimed delivery");
			goto end;
		}
		d.subscriber_id = pick[i].sub;
		d.email = (const char *)sqlite3_column_text(q, 0);
		d.name = (const char *)sqlite3_column_text(q, 1);
		d.fields = (const char *)sqlite3_column_text(q, 2);
		d.attempts = sqlite3_column_int(q, 3);
		d.active = sqlite3_column_int(q, 4) == SUB_ACTIVE;
		d.lang = (const char *)sqlite3_column_text(q, 5);
		rc = cb(&d, arg);
		sqlite3_reset(q);
		if (rc == -1)
			break;
	}
	if (sq_adds_write(s, &adds, err, errlen) == -1)
		goto end;
	ret = taken;
end:
	if (sq_tx_end(s, own, ret != -1, err, errlen) == -1)
		ret = -1;
	free(adds.v);
	free(pick);
	return ret;
}

static int
sq_dlv_record(struct store *st, const char *owner,
    const struct dlv_result *res, size_t n, struct dlv_tally *tally,
    char *err, size_t errlen)
{
	struct sq_store		*s = SQ(st);
	struct sq_adds		 adds = { 0, 0, NULL };
	struct sq_add		*add;
	struct dlv_tally	 t;
	const struct dlv_result	*r;
	sqlite3_stmt		*q;
	int64_t			 now = (int64_t)time(NULL);
	size_t			 i;
	int			 own, ret = -1;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < n; i++)
		if (res[i].state != DLV_SENT && res[i].state != DLV_DEFERRED &&
		    res[i].state != DLV_FAILED && res[i].state != DLV_DROPPED) {
			snprintf(err, errlen, "record: broadcast %lld "
			    "subscriber %lld: not a result state (%d)",
			    (long long)res[i].broadcast_id,
			    (long long)res[i].subscriber_id, res[i].state);
			return -1;
		}
	if (sq_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (r->state == DLV_DROPPED) {
			q = sq_stmt(s, Q_DLV_RECORD_DROP);
			sqlite3_bind_int64(q, 1, r->broadcast_id);
			sqlite3_bind_int64(q, 2, r->subscriber_id);
			sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
		} else {
			q = sq_stmt(s, Q_DLV_RECORD);
			sqlite3_bind_int64(q, 1, r->broadcast_id);
			sqlite3_bind_int64(q, 2, r->subscriber_id);
			sqlite3_bind_int(q, 3, r->state);
			sqlite3_bind_int(q, 4, r->attempts);
			sqlite3_bind_int64(q, 5, r->state == DLV_DEFERRED ?
			    r->next_at : 0);
			sqlite3_bind_int(q, 6, r->code);
			sqlite3_bind_text(q, 7, r->msg ? r->msg : "", -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(q, 8, now);
			sqlite3_bind_text(q, 9, owner, -1, SQLITE_STATIC);
		}
		if (sqlite3_step(q) != SQLITE_DONE) {
			sq_fail(s, err, errlen, "record delivery");
			goto end;
		}
		if (sqlite3_changes(s->db) == 0) {
			t.skipped++;	/* another owner's now */
			continue;
		}
		if ((add = sq_adds_get(&adds, r->broadcast_id)) == NULL) {
			snprintf(err, errlen, "%s: record: out of memory",
			    s->path);
			goto end;
		}
		/* from claimed, counted as pending */
		t.applied++;
		switch (r->state) {
		case DLV_SENT:
			add->sent++;
			t.sent++;
			break;
		case DLV_DEFERRED:
			add->deferred++;
			t.deferred++;
			break;
		case DLV_FAILED:
			add->failed++;
			t.failed++;
			break;
		default:
			add->total--;
			t.dropped++;
			break;
		}
	}
	if (sq_adds_write(s, &adds, err, errlen) == -1)
		goto end;
	ret = 0;
end:
	if (sq_tx_end(s, own, ret == 0, err, errlen) == -1)
		ret = -1;
	if (ret == 0 && tally != NULL)
		*tally = t;
	free(adds.v);
	return ret;
}

/* Step an UPDATE ... RETURNING broadcast_id, state of rows put back. */
static int
sq_put_back(struct sq_store *s, sqlite3_stmt *q, struct sq_adds *adds,
    int64_t *count, char *err, size_t errlen)
{
	struct sq_add	*add;
	int		 rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		(*count)++;
		if (sqlite3_column_int(q, 1) != DLV_DEFERRED)
			continue;
		if ((add = sq_adds_get(adds, sqlite3_column_int64(q, 0)))
		    == NULL) {
			sqlite3_reset(q);
			snprintf(err, errlen, "%s: out of memory", s->path);
			return -1;
		}
		add->deferred++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, err, errlen, "put claims back");
	return 0;
}

static int
sq_dlv_release(struct store *st, const char *owner, int64_t bc,
    const int64_t *subs, size_t n, int64_t *released, char *err,
    size_t errlen)
{
	struct sq_store	*s = SQ(st);
	struct sq_adds	 adds = { 0, 0, NULL };
	sqlite3_stmt	*q;
	int64_t		 count = 0;
	size_t		 i;
	int		 own, ret = -1;

	if (sq_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	if (subs == NULL) {
		q = sq_stmt(s, Q_DLV_RELEASE_ALL);
		sqlite3_bind_text(q, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, bc);
		if (sq_put_back(s, q, &adds, &count, err, errlen) == -1)
			goto end;
	}
	for (i = 0; subs != NULL && i < n; i++) {
		q = sq_stmt(s, Q_DLV_RELEASE_ONE);
		sqlite3_bind_int64(q, 1, bc);
		sqlite3_bind_int64(q, 2, subs[i]);
		sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
		if (sq_put_back(s, q, &adds, &count, err, errlen) == -1)
			goto end;
	}
	if (sq_adds_write(s, &adds, err, errlen) == -1)
		goto end;
	ret = 0;
end:
	if (sq_tx_end(s, own, ret == 0, err, errlen) == -1)
		ret = -1;
	if (ret == 0 && released != NULL)
		*released = count;
	free(adds.v);
	return ret;
}

static int
sq_dlv_postpone(struct store *st, const char *owner, int64_t bc, int64_t sub,
    int64_t next_at, int *changed, char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	struct sq_adds	 adds = { 0, 0, NULL };
	sqlite3_stmt	*q;
	int64_t		 count = 0;
	int		 own, ret = -1;

	if (sq_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	q = sq_stmt(s, Q_DLV_POSTPONE);
	sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, sub);
	sqlite3_bind_text(q, 3, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, next_at);
	if (sq_put_back(s, q, &adds, &count, err, errlen) == -1)
		goto end;
	if (sq_adds_write(s, &adds, err, errlen) == -1)
		goto end;
	ret = 0;
end:
	if (sq_tx_end(s, own, ret == 0, err, errlen) == -1)
		ret = -1;
	if (ret == 0 && changed != NULL)
		*changed = count > 0;
	free(adds.v);
	return ret;
}

static int
sq_bc_settled(struct store *st, int64_t bc, int *settled, char *err,
    size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q = sq_stmt(s, Q_BC_SETTLED);
	int		 rc;

	*settled = 0;
	sqlite3_bind_int64(q, 1, bc);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*settled = sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	if (rc == SQLITE_DONE) {
		snprintf(err, errlen, "%s: no broadcast %lld", s->path,
		    (long long)bc);
		return -1;
	}
	if (rc != SQLITE_ROW)
		return sq_fail(s, err, errlen, "broadcast settled");
	return 0;
}

static int
sq_dlv_restore(struct store *st, int64_t bc, int64_t sub, enum dlv_state to,
    enum dlv_state from, int attempts, int *changed, char *err,
    size_t errlen)
{
	struct sq_store	*s = SQ(st);
	struct sq_adds	 adds = { 0, 0, NULL };
	struct sq_add	*add;
	sqlite3_stmt	*q;
	int		 own, n, ret = -1;

	if (sq_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	q = sq_stmt(s, Q_DLV_RESTORE);
	sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, sub);
	sqlite3_bind_int(q, 3, to);
	sqlite3_bind_int(q, 4, attempts);
	sqlite3_bind_int(q, 5, from);
	if (sqlite3_step(q) != SQLITE_DONE) {
		sq_fail(s, err, errlen, "restore delivery");
		goto end;
	}
	if ((n = sqlite3_changes(s->db)) > 0) {
		if ((add = sq_adds_get(&adds, bc)) == NULL) {
			snprintf(err, errlen, "%s: restore: out of memory",
			    s->path);
			goto end;
		}
		add->sent -= to == DLV_SENT;
		add->deferred += (from == DLV_DEFERRED) - (to == DLV_DEFERRED);
		add->failed -= to == DLV_FAILED;
		if (sq_adds_write(s, &adds, err, errlen) == -1)
			goto end;
	}
	if (changed != NULL)
		*changed = n > 0;
	ret = 0;
end:
	if (sq_tx_end(s, own, ret == 0, err, errlen) == -1)
		ret = -1;
	free(adds.v);
	return ret;
}

/* One step of a query that answers one row of integers; -1 if none. */
static int
sq_row_ints(struct sq_store *s, sqlite3_stmt *q, int64_t *v, int n,
    char *err, size_t errlen, const char *what)
{
	int	i, rc = sqlite3_step(q);

	if (rc == SQLITE_ROW)
		for (i = 0; i < n; i++)
			v[i] = sqlite3_column_int64(q, i);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc == SQLITE_ROW;
	sq_fail(s, err, errlen, what);
	return -1;
}

static int
sq_bounce_record(struct store *st, int64_t bc, int64_t sub,
    enum store_bounce kind, int soft_limit, struct store_bounce_result *r,
    char *err, size_t errlen)
{
	struct sq_store	*s = SQ(st);
	sqlite3_stmt	*q;
	int64_t		 v[2], first = 0;
	int		 own, rc, changed = 0, ret = -1;

	if (sq_tx_begin(s, &own, err, errlen) == -1)
		return -1;
	q = sq_stmt(s, Q_BOUNCE_KNOWN);
	sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, sub);
	if ((rc = sq_row_ints(s, q, v, 2, err, errlen, "find recipient")) ==
	    -1)
		goto end;
	if (rc == 0 || v[1] == 0) {	/* nobody, or not a recipient */
		ret = 0;
		goto end;
	}
	r->known = 1;
	r->status = (enum sub_status)v[0];
	if (kind != STORE_COMPLAINT) {
		q = sq_stmt(s, Q_BOUNCE_FIRST);
		sqlite3_bind_int64(q, 1, bc);
		sqlite3_bind_int64(q, 2, sub);
		if (sq_row_ints(s, q, &first, 1, err, errlen, "find bounce") ==
		    -1)
			goto end;
	}
	q = sq_stmt(s, Q_BOUNCE_INSERT);
	sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, sub);
	sqlite3_bind_int(q, 3, kind);
	sqlite3_bind_int64(q, 4, (int64_t)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE) {
		sq_fail(s, err, errlen, "record bounce");
		goto end;
	}
	if ((r->recorded = sqlite3_changes(s->db) > 0) == 0) {
		ret = 0;	/* the same report again */
		goto end;
	}
	q = sq_stmt(s, Q_BOUNCE_COUNT);
	sqlite3_bind_int64(q, 1, bc);
	sqlite3_bind_int64(q, 2, first);
	sqlite3_bind_int(q, 3, kind == STORE_COMPLAINT);
	if (sqlite3_step(q) != SQLITE_DONE) {
		sq_fail(s, err, errlen, "count bounce");
		goto end;
	}
	if (kind == STORE_BOUNCE_SOFT) {
		q = sq_stmt(s, Q_BOUNCE_SOFT);
		sqlite3_bind_int64(q, 1, sub);
		if (sq_row_ints(s, q, &r->soft, 1, err, errlen, "count soft "
		    "bounces") == -1)
			goto end;
	}
	if (kind == STORE_BOUNCE_HARD || (kind == STORE_BOUNCE_SOFT &&
	    r->soft >= soft_limit)) {
		if (sq_sub_bounce(st, sub, bc, 0, &changed, err, errlen) == -1)
			goto end;
		if (changed)
			r->status = SUB_BOUNCED;
	} else if (kind == STORE_COMPLAINT) {
		if (sq_sub_set_status_id(st, sub, SUB_UNSUBSCRIBED, 0, &changed,
		    err, errlen) == -1)
			goto end;
		if (changed)
			r->status = SUB_UNSUBSCRIBED;
	}
	r->suppressed = changed > 0;
	ret = 0;
end:
	if (sq_tx_end(s, own, ret == 0, err, errlen) == -1) {
		memset(r, 0, sizeof(*r));
		ret = -1;
	}
	return ret;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.open_more = sq_open_more,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.writable = sq_writable,
	.read_only = sq_read_only,
	.import_id = sq_import_id,
	.sub_upsert = sq_sub_upsert,
	.sub_upsert_rows = sq_sub_upsert_rows,
	.sub_set_status = sq_sub_set_status,
	.sub_set_status_id = sq_sub_set_status_id,
	.sub_get = sq_sub_get,
	.sub_find = sq_sub_find,
	.sub_list = sq_sub_list,
	.sub_count = sq_sub_count,
	.sub_bounce = sq_sub_bounce,
	.sub_reactivate = sq_sub_reactivate,
	.bc_create = sq_bc_create,
	.bc_snapshot = sq_bc_snapshot,
	.bc_resend_count = sq_bc_resend_count,
	.bc_get = sq_bc_get,
	.bc_list = sq_bc_list,
	.bc_set_state = sq_bc_set_state,
	.dlv_next_due = sq_dlv_next_due,
	.dlv_counts = sq_dlv_counts,
	.now_ms = sq_now_ms,
	.dlv_claim_rows = sq_dlv_claim_rows,
	.dlv_record = sq_dlv_record,
	.dlv_release = sq_dlv_release,
	.dlv_postpone = sq_dlv_postpone,
	.dlv_restore = sq_dlv_restore,
	.bc_settled = sq_bc_settled,
	.bounce_record = sq_bounce_record,
	.sub_set_lang = sq_sub_set_lang,
	.bc_translations = sq_bc_translations,
	.bc_lang_counts = sq_bc_lang_counts,
};
