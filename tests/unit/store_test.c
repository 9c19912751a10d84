/*
 * store_test.c -- the SQLite store behind store.h: schema, versioning and
 * migrations, the lock against a second opener, refusal of foreign and
 * junk files, subscriber upserts (added, updated, duplicate within one
 * import, suppressed, case-insensitive key), status changes, paging and
 * counts, broadcast snapshots and state, and the delivery queries.
 *
 * Everything lives in a temporary folder under /tmp, removed at the end.
 * The database is inspected with a second SQLite connection where the
 * interface does not show a thing (pragmas, file modes, timestamps).
 *
 * With STORE_URL set (store_db.h, tests/integration/store_pg.sh) the
 * same checks run on PostgreSQL, each test in a database of its own;
 * the file checks (modes, lock file, junk files, pragmas) give way to
 * their PostgreSQL counterparts (test_schema_pg).
 */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "store.h"
#include "store_db.h"
#include "unit.h"

#define APPLICATION_ID	0x42525344	/* "BRSD", store_sqlite.c */

static char	 dir[] = "/tmp/store_test.XXXXXX";

static void
path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* A new store called name, on the backend under test. */
static void
store_at(char *out, size_t len, const char *name)
{
	if (sdb_new(dir, "st", name, out, len) == -1)
		snprintf(out, len, "postgresql://no-database-for/%s", name);
}

/* Run one statement on a second connection; first column as integer. */
static long long
sql_int(const char *db, const char *sql)
{
	sqlite3		*h;
	sqlite3_stmt	*q;
	long long	 v = -999;

	if (sdb_is_url(db))
		return sdb_pg_int(db, sql, 0);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -998;
	}
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	} else
		printf("sql_int: %s: %s\n", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
	return v;
}

static void
sql_text(const char *db, const char *sql, char *out, size_t len)
{
	sqlite3		*h;
	sqlite3_stmt	*q;

	if (sdb_is_url(db)) {
		sdb_pg_text(db, sql, out, len);
		return;
	}
	snprintf(out, len, "(error)");
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return;
	}
	if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			snprintf(out, len, "%s", sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	sqlite3_close(h);
}

/* Execute SQL on a second connection (creating the file); 0 or -1. */
static int
sql_exec(const char *db, const char *sql)
{
	sqlite3	*h;
	char	*msg = NULL;
	int	 rc;

	if (sdb_is_url(db))
		return sdb_pg_exec(db, sql);
	if (sqlite3_open(db, &h) != SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 5000);
	rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		printf("sql_exec: %s: %s\n", sql, msg);
	sqlite3_free(msg);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
file_mode(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		return -1;
	return (int)(st.st_mode & 0777);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Collected subscribers. */
#define NMAX	32
struct subs {
	int		 n;
	int		 stop_after;	/* callback returns -1 after this many */
	int64_t		 id[NMAX];
	char		 email[NMAX][128];
	char		 name[NMAX][128];
	char		 fields[NMAX][256];
	enum sub_status	 status[NMAX];
	int64_t		 created[NMAX];
};

static int
subs_cb(const struct subscriber *s, void *arg)
{
	struct subs	*c = arg;

	if (c->n >= NMAX)
		return -1;
	c->id[c->n] = s->id;
	snprintf(c->email[c->n], sizeof(c->email[0]), "%s", s->email);
	snprintf(c->name[c->n], sizeof(c->name[0]), "%s", s->name);
	snprintf(c->fields[c->n], sizeof(c->fields[0]), "%s", s->fields);
	c->status[c->n] = s->status;
	c->created[c->n] = s->created;
	c->n++;
	return c->stop_after > 0 && c->n >= c->stop_after ? -1 : 0;
}

/* Index in *out of the subscriber whose key is `key`, or -1. */
static int
sub_find(struct store *st, const char *key, struct subs *out)
{
	char	 err[256], k[ADDR_BUFSZ];
	int	 i;

	memset(out, 0, sizeof(*out));
	if (store_sub_list(st, 0, NMAX, subs_cb, out, err, sizeof(err)) == -1) {
		printf("sub_find: %s\n", err);
		return -1;
	}
	for (i = 0; i < out->n; i++) {
		addr_key(out->email[i], k, sizeof(k));
		if (strcmp(k, key) == 0)
			return i;
	}
	return -1;
}

/* Upsert an address the way the daemon does: normalised, keyed. */
static int
upsert(struct store *st, int64_t import, const char *email, const char *name,
    const char *fields, enum sub_status status, enum store_upsert *what)
{
	char	 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[256];

	if (addr_normalize(email, addr, sizeof(addr), err, sizeof(err)) == -1) {
		printf("upsert: %s: %s\n", email, err);
		return -1;
	}
	addr_key(addr, key, sizeof(key));
	if (store_sub_upsert(st, import, addr, key, name, fields, status, what,
	    err, sizeof(err)) == -1) {
		printf("upsert: %s\n", err);
		return -1;
	}
	return 0;
}

static struct store *
open_ok(const char *db)
{
	struct store	*st;
	char		 err[512];

	if ((st = store_open(db, err, sizeof(err))) == NULL)
		printf("store_open %s: %s\n", db, err);
	return st;
}

static void
test_schema(void)
{
	struct store	*st, *st2;
	char		 db[256], lock[300], wal[300], shm[300], err[512];
	char		 txt[64], want[160];
	long long	 version, objects;
	enum store_upsert what;

	path_in(db, sizeof(db), "schema.db");
	snprintf(lock, sizeof(lock), "%s.lock", db);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(shm, sizeof(shm), "%s-shm", db);

	st = open_ok(db);
	CHECK("open creates", st != NULL);
	if (st == NULL)
		return;
	CHECK_INT("db mode", file_mode(db), 0600);
	CHECK_INT("lock mode", file_mode(lock), 0600);
	CHECK_INT("wal mode", file_mode(wal), 0600);
	CHECK_INT("shm mode", file_mode(shm), 0600);
	version = sql_int(db, "PRAGMA user_version");
	CHECK("user_version set", version >= 1);
	CHECK_INT("application_id", sql_int(db, "PRAGMA application_id"),
	    APPLICATION_ID);
	sql_text(db, "PRAGMA journal_mode", txt, sizeof(txt));
	CHECK_STR("journal_mode", txt, "wal");
	CHECK_INT("tables", sql_int(db, "SELECT count(*) FROM sqlite_schema "
	    "WHERE type = 'table' AND name IN ('meta', 'subscribers', "
	    "'broadcasts', 'deliveries')"), 4);
	objects = sql_int(db, "SELECT count(*) FROM sqlite_schema");

	/* a second opener is kept out while the first holds the lock */
	err[0] = '\0';
	st2 = store_open(db, err, sizeof(err));
	CHECK("second open refused", st2 == NULL);
	CHECK("second open: in use", strstr(err, "in use") != NULL);
	CHECK("second open: names the path", strstr(err, db) != NULL);
	store_close(st2);

	CHECK_INT("writable", store_writable(st, err, sizeof(err)), 0);
	CHECK_INT("upsert", upsert(st, 0, "keep@example.org", "Kept", "{}",
	    SUB_ACTIVE, &what), 0);
	store_close(st);

	/* reopen: same version, same schema, data kept */
	st = open_ok(db);
	CHECK("reopen", st != NULL);
	if (st == NULL)
		return;
	CHECK_INT("reopen version", sql_int(db, "PRAGMA user_version"),
	    version);
	CHECK_INT("reopen objects", sql_int(db,
	    "SELECT count(*) FROM sqlite_schema"), objects);
	CHECK_INT("reopen data", sql_int(db,
	    "SELECT count(*) FROM subscribers"), 1);
	store_close(st);

	/* a newer schema than this build knows is refused, untouched */
	snprintf(txt, sizeof(txt), "PRAGMA user_version = %lld", version + 1);
	CHECK_INT("set future version", sql_exec(db, txt), 0);
	err[0] = '\0';
	st = store_open(db, err, sizeof(err));
	CHECK("future version refused", st == NULL);
	store_close(st);
	snprintf(want, sizeof(want), "schema version %lld is newer",
	    version + 1);
	CHECK("future version message", strstr(err, want) != NULL);
	if (strstr(err, want) == NULL)
		printf("  err: %s\n", err);
	CHECK_INT("future version kept", sql_int(db, "PRAGMA user_version"),
	    version + 1);
	snprintf(txt, sizeof(txt), "PRAGMA user_version = %lld", version);
	sql_exec(db, txt);
	st = open_ok(db);
	CHECK("current version opens again", st != NULL);
	store_close(st);
}

/*
 * A PostgreSQL URL goes to that backend, in either mode: no server
 * answers on port 1, so the error says so, naming the URL; a URL that
 * holds a password is refused before any connection, without it.
 */
static void
test_url(void)
{
	struct store	*st;
	char		 err[512];

	err[0] = '\0';
	st = store_open("postgresql://127.0.0.1:1/list?connect_timeout=5",
	    err, sizeof(err));
	CHECK("postgresql: no server", st == NULL);
	store_close(st);
	CHECK("postgresql: names the url", strstr(err,
	    "postgresql://127.0.0.1:1/list") != NULL);
	CHECK("postgresql: connect", strstr(err, "connect") != NULL);
	if (strstr(err, "connect") == NULL)
		printf("  err: %s\n", err);
	err[0] = '\0';
	st = store_open("postgres://u:s3cr3t@127.0.0.1:1/list", err,
	    sizeof(err));
	CHECK("password in url: refused", st == NULL);
	store_close(st);
	CHECK("password in url: says so", strstr(err, "password") != NULL);
	CHECK("password in url: not shown", strstr(err, "s3cr3t") == NULL);
	err[0] = '\0';
	st = store_open("postgresql://127.0.0.1:1/list?password=s3cr3t", err,
	    sizeof(err));
	CHECK("password parameter: refused", st == NULL);
	store_close(st);
	CHECK("password parameter: not shown", strstr(err, "s3cr3t") == NULL);
}

/*
 * PostgreSQL, with st open on db: a second daemon under the same node
 * name is refused, another name is not; a connection the server drops
 * fails the call that meets it, and the next call reconnects (node lock
 * taken again, statements prepared again).
 */
static void
test_pg_node(struct store *st, const char *db)
{
	struct store_opts	 o;
	struct store		*st2;
	char			 err[512];
	int64_t			 counts[4], locks = 0;
	int			 i, ok;
	struct timespec		 tick = { 0, 50 * 1000 * 1000 };

	memset(&o, 0, sizeof(o));
	err[0] = '\0';
	st2 = store_open(db, err, sizeof(err));
	CHECK("pg node: same name refused", st2 == NULL);
	store_close(st2);
	CHECK("pg node: says so", strstr(err, "is in use by another") !=
	    NULL);
	if (strstr(err, "is in use by another") == NULL)
		printf("  err: %s\n", err);
	o.node = "node-b";
	st2 = store_open_opts(db, &o, err, sizeof(err));
	CHECK("pg node: another name opens", st2 != NULL);
	store_close(st2);
	/*
	 * The server ends node-b's session, and drops its lock, after the
	 * close returned: a loaded run (2026-12-06) still saw it at once.
	 */
	for (i = 0; i < 100 && (locks = sql_int(db, "SELECT count(*) FROM "
	    "pg_locks WHERE locktype = 'advisory'")) != 1; i++)
		nanosleep(&tick, NULL);
	CHECK_INT("pg node: one lock left", locks, 1);

	CHECK_INT("pg reconnect: counts before", store_sub_count(st, counts,
	    err, sizeof(err)), 0);
	/* st's session, and any of node-b's still ending */
	CHECK("pg reconnect: terminated", sql_int(db, "SELECT count(*) "
	    "FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
	    "AND backend_type = 'client backend') t") >= 1);
	/* the first call may meet the dead connection; one more must not */
	for (i = 0, ok = 0; i < 2 && !ok; i++)
		ok = store_sub_count(st, counts, err, sizeof(err)) == 0;
	CHECK("pg reconnect: a call works again", ok);
	if (!ok)
		printf("  err: %s\n", err);
	CHECK_INT("pg reconnect: the count", counts[SUB_ACTIVE], 1);
	CHECK_INT("pg reconnect: node lock taken again", sql_int(db,
	    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 1);
	st2 = store_open(db, err, sizeof(err));
	CHECK("pg reconnect: same name still refused", st2 == NULL);
	store_close(st2);
}

/*
 * PostgreSQL: the first node's secret fingerprint is kept; a node with
 * the same one opens, one with another is refused (and the kept one
 * stays), one that gives none is not checked.
 */
static void
test_pg_secret(void)
{
	struct store_opts	 o;
	struct store		*st;
	char			 db[512], err[512];

	store_at(db, sizeof(db), "secret");
	memset(&o, 0, sizeof(o));
	o.secret_fp = "fp-one";
	st = store_open_opts(db, &o, err, sizeof(err));
	CHECK("pg secret: first opens", st != NULL);
	store_close(st);
	st = store_open_opts(db, &o, err, sizeof(err));
	CHECK("pg secret: same opens", st != NULL);
	store_close(st);
	o.secret_fp = "fp-two";
	err[0] = '\0';
	st = store_open_opts(db, &o, err, sizeof(err));
	CHECK("pg secret: another refused", st == NULL);
	store_close(st);
	CHECK("pg secret: says so", strstr(err, "secret_file holds another "
	    "key") != NULL);
	CHECK_INT("pg secret: the first kept", sql_int(db, "SELECT count(*) "
	    "FROM secrets WHERE fingerprint = 'fp-one'"), 1);
	o.secret_fp = NULL;
	st = store_open_opts(db, &o, err, sizeof(err));
	CHECK("pg secret: none given, not checked", st != NULL);
	store_close(st);
}

/*
 * PostgreSQL: the schema is made and versioned (broadside_schema), kept
 * on reopen; a newer version, a database of someone else's and a
 * migration that fails are refused, the latter undone; a second handle
 * (store_open_more) sees what the first wrote.
 */
static void
test_schema_pg(void)
{
	struct store	*st, *st2;
	char		 db[512], err[512], sql[128], want[160];
	long long	 version, objects;
	enum store_upsert what;
	int64_t		 counts[4];

	store_at(db, sizeof(db), "schema");
	st = open_ok(db);
	CHECK("pg: open creates", st != NULL);
	if (st == NULL)
		return;
	version = sql_int(db, "SELECT version FROM broadside_schema");
	CHECK("pg: version set", version >= 2);
	CHECK_INT("pg: one version row", sql_int(db, "SELECT count(*) FROM "
	    "broadside_schema"), 1);
	CHECK_INT("pg: tables", sql_int(db, "SELECT count(*) FROM pg_tables "
	    "WHERE schemaname = current_schema() AND tablename IN ('meta', "
	    "'subscribers', 'broadcasts', 'deliveries', 'bc_counts', "
	    "'sub_counts', 'bounces')"), 7);
	CHECK_INT("pg: claim index", sql_int(db, "SELECT count(*) FROM "
	    "pg_indexes WHERE indexname = 'deliveries_due' AND indexdef LIKE "
	    "'%(broadcast_id, next_at, subscriber_id)%'"), 1);
	objects = sql_int(db, "SELECT count(*) FROM pg_class c JOIN "
	    "pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE n.nspname = current_schema()");
	CHECK_INT("pg: writable", store_writable(st, err, sizeof(err)), 0);
	CHECK_INT("pg: upsert", upsert(st, 0, "keep@example.org", "Kept", "{}",
	    SUB_ACTIVE, &what), 0);
	st2 = store_open_more(st, err, sizeof(err));
	CHECK("pg: second handle", st2 != NULL);
	if (st2 != NULL) {
		CHECK_INT("pg: second handle counts", store_sub_count(st2,
		    counts, err, sizeof(err)), 0);
		CHECK_INT("pg: second handle sees the row", counts[SUB_ACTIVE],
		    1);
		CHECK("pg: the database's clock", store_now_ms(st2) >
		    (int64_t)time(NULL) * 1000 - 60000);
		CHECK_INT("pg: read only", store_read_only(st2, err,
		    sizeof(err)), 0);
		CHECK_INT("pg: read only: a write fails", upsert(st2, 0,
		    "no@example.org", "", "{}", SUB_ACTIVE, &what), -1);
		CHECK_INT("pg: read only: still reads", store_sub_count(st2,
		    counts, err, sizeof(err)), 0);
		store_close(st2);
	}
	store_close(st);

	st = open_ok(db);
	CHECK("pg: reopen", st != NULL);
	if (st != NULL)
		test_pg_node(st, db);
	store_close(st);
	CHECK_INT("pg: reopen version", sql_int(db, "SELECT version FROM "
	    "broadside_schema"), version);
	CHECK_INT("pg: reopen objects", sql_int(db, "SELECT count(*) FROM "
	    "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE n.nspname = current_schema()"), objects);
	CHECK_INT("pg: reopen data", sql_int(db, "SELECT count(*) FROM "
	    "subscribers"), 1);

	snprintf(sql, sizeof(sql), "UPDATE broadside_schema SET version = %lld",
	    version + 1);
	CHECK_INT("pg: set future version", sql_exec(db, sql), 0);
	err[0] = '\0';
	st = store_open(db, err, sizeof(err));
	CHECK("pg: future version refused", st == NULL);
	store_close(st);
	snprintf(want, sizeof(want), "schema version %lld is newer",
	    version + 1);
	CHECK("pg: future version message", strstr(err, want) != NULL);
	if (strstr(err, want) == NULL)
		printf("  err: %s\n", err);
	CHECK_INT("pg: future version kept", sql_int(db, "SELECT version FROM "
	    "broadside_schema"), version + 1);

	/* someone else's database is left alone */
	store_at(db, sizeof(db), "foreign");
	CHECK_INT("pg: foreign setup", sql_exec(db, "CREATE TABLE notes "
	    "(id integer, body text)"), 0);
	err[0] = '\0';
	st = store_open(db, err, sizeof(err));
	CHECK("pg: foreign refused", st == NULL);
	store_close(st);
	CHECK("pg: foreign message", strstr(err, "not a broadside database")
	    != NULL);
	CHECK_INT("pg: foreign left alone", sql_int(db, "SELECT count(*) FROM "
	    "pg_tables WHERE tablename = 'meta'"), 0);

	/* a migration that fails half way leaves nothing behind */
	store_at(db, sizeof(db), "half");
	CHECK_INT("pg: half setup", sql_exec(db, "CREATE TABLE "
	    "broadside_schema (version integer NOT NULL); INSERT INTO "
	    "broadside_schema VALUES (0); CREATE TABLE subscribers (x int)"), 0);
	err[0] = '\0';
	st = store_open(db, err, sizeof(err));
	CHECK("pg: failed migration refused", st == NULL);
	store_close(st);
	CHECK("pg: failed migration message", strstr(err,
	    "migrating to schema 1") != NULL);
	CHECK_INT("pg: failed migration rolled back", sql_int(db,
	    "SELECT count(*) FROM pg_tables WHERE tablename = 'meta'"), 0);
	CHECK_INT("pg: failed migration: version", sql_int(db,
	    "SELECT version FROM broadside_schema"), 0);

	/* an empty database of schema 1 moves on to the current one */
	store_at(db, sizeof(db), "v1");
	CHECK_INT("pg: v1 setup", sql_exec(db, "CREATE TABLE broadside_schema "
	    "(version integer NOT NULL); INSERT INTO broadside_schema "
	    "VALUES (0)"), 0);
	st = open_ok(db);
	CHECK("pg: from empty", st != NULL);
	store_close(st);
	CHECK_INT("pg: from empty: version", sql_int(db, "SELECT version FROM "
	    "broadside_schema"), version);
}

static void
test_refuse(void)
{
	static const struct {
		const char	*name;
		const char	*setup;		/* SQL run first; NULL = junk */
		const char	*want;		/* in the error */
	} cases[] = {
		{ "foreign.db", "CREATE TABLE notes (id INTEGER, body TEXT);"
		    "INSERT INTO notes VALUES (1, 'not ours');",
		    "not a broadside database" },
		{ "foreign-app.db", "PRAGMA application_id = 1234;"
		    "CREATE TABLE subscribers (x);",
		    "not a broadside database (application_id 1234)" },
		{ "junk.db", NULL, "not a database" },
	};
	struct store	*st;
	char		 db[256], err[512];
	FILE		*f;
	size_t		 i;
	int		 j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path_in(db, sizeof(db), cases[i].name);
		if (cases[i].setup != NULL)
			CHECK_INT(cases[i].name, sql_exec(db, cases[i].setup),
			    0);
		else if ((f = fopen(db, "w")) != NULL) {
			for (j = 0; j < 400; j++)
				fputs("Ceci n’est pas une base… – 1234567890\n",
				    f);
			fclose(f);
		}
		err[0] = '\0';
		st = store_open(db, err, sizeof(err));
		CHECK(cases[i].name, st == NULL);
		store_close(st);
		if (strstr(err, cases[i].want) == NULL) {
			CHECK(cases[i].name, 0);
			printf("  got \"%s\", want \"%s\" in it\n", err,
			    cases[i].want);
		} else
			CHECK(cases[i].name, 1);
		if (cases[i].setup != NULL)
			CHECK_INT("foreign left alone", sql_int(db,
			    "SELECT count(*) FROM sqlite_schema WHERE name "
			    "= 'meta'"), 0);
	}
}

static void
test_migrate(void)
{
	struct store	*st;
	char		 db[256], err[512];
	FILE		*f;

	/* an empty file and an empty database at user_version 0 migrate */
	path_in(db, sizeof(db), "empty.db");
	if ((f = fopen(db, "w")) != NULL)
		fclose(f);
	st = open_ok(db);
	CHECK("empty file migrated", st != NULL);
	store_close(st);
	CHECK("empty file: version", sql_int(db, "PRAGMA user_version") >= 1);
	CHECK_INT("empty file: app id", sql_int(db, "PRAGMA application_id"),
	    APPLICATION_ID);

	path_in(db, sizeof(db), "v0.db");
	CHECK_INT("v0 setup", sql_exec(db, "PRAGMA page_size = 8192; "
	    "VACUUM;"), 0);
	CHECK_INT("v0 is 0", sql_int(db, "PRAGMA user_version"), 0);
	st = open_ok(db);
	CHECK("v0 migrated", st != NULL);
	store_close(st);
	CHECK("v0: version", sql_int(db, "PRAGMA user_version") >= 1);
	CHECK_INT("v0: meta seq", sql_int(db, "SELECT value FROM meta "
	    "WHERE key = 'import_seq'"), 0);

	/*
	 * A migration that fails half way leaves nothing behind: ours at
	 * version 0 with a stray table the first migration also creates.
	 */
	path_in(db, sizeof(db), "half.db");
	CHECK_INT("half setup", sql_exec(db, "PRAGMA application_id = "
	    "1112691524; CREATE TABLE subscribers (x);"), 0);
	err[0] = '\0';
	st = store_open(db, err, sizeof(err));
	CHECK("failed migration refused", st == NULL);
	store_close(st);
	CHECK("failed migration message", strstr(err, "migrating to schema 1")
	    != NULL);
	CHECK_INT("failed migration rolled back", sql_int(db,
	    "SELECT count(*) FROM sqlite_schema WHERE name = 'meta'"), 0);
	CHECK_INT("failed migration: version", sql_int(db,
	    "PRAGMA user_version"), 0);
}

enum op { OP_UPSERT, OP_SET };

static void
test_upsert(struct store *st)
{
	/* import slot 0 is id 0 (subscribers add); 1..6 are real imports */
	static const struct {
		enum op		 op;
		int		 slot;
		const char	*email;
		const char	*name;
		const char	*fields;
		enum sub_status	 status;	/* given (upsert, set) */
		enum store_upsert want;
		enum sub_status	 want_status;
		const char	*want_name;
		const char	*want_email;
		const char	*want_fields;
	} steps[] = {
		{ OP_UPSERT, 1, "Ann@Example.org", "Ann", "{\"city\":\"Zürich\"}",
		    SUB_ACTIVE, UPSERT_ADDED, SUB_ACTIVE, "Ann",
		    "Ann@example.org", "{\"city\":\"Zürich\"}" },
		/* same import, other case: a duplicate, nothing changes */
		{ OP_UPSERT, 1, "ann@EXAMPLE.org", "Ann Two", "{}",
		    SUB_ACTIVE, UPSERT_DUPLICATE, SUB_ACTIVE, "Ann",
		    "Ann@example.org", "{\"city\":\"Zürich\"}" },
		/* next import: updated, spelling and fields refreshed */
		{ OP_UPSERT, 2, "ANN@example.ORG", "Ann Müller – “A”", "{\"city\":\"Köln\"}",
		    SUB_ACTIVE, UPSERT_UPDATED, SUB_ACTIVE, "Ann Müller – “A”",
		    "ANN@example.org", "{\"city\":\"Köln\"}" },
		{ OP_UPSERT, 2, "ann@example.org", "x", "{}",
		    SUB_ACTIVE, UPSERT_DUPLICATE, SUB_ACTIVE, "Ann Müller – “A”",
		    "ANN@example.org", "{\"city\":\"Köln\"}" },
		/* import id 0 (control) is never a duplicate */
		{ OP_UPSERT, 0, "ann@example.org", "Ann", "{}",
		    SUB_ACTIVE, UPSERT_UPDATED, SUB_ACTIVE, "Ann",
		    "ann@example.org", "{}" },
		{ OP_UPSERT, 0, "ann@example.org", "Ann…", "{}",
		    SUB_ACTIVE, UPSERT_UPDATED, SUB_ACTIVE, "Ann…",
		    "ann@example.org", "{}" },
		/* unsubscribed: suppressed, unchanged, on every re-import */
		{ OP_UPSERT, 2, "bob@example.org", "Bob", "{}",
		    SUB_ACTIVE, UPSERT_ADDED, SUB_ACTIVE, "Bob",
		    "bob@example.org", "{}" },
		{ OP_SET, 0, "bob@example.org", NULL, NULL,
		    SUB_UNSUBSCRIBED, 0, SUB_UNSUBSCRIBED, "Bob",
		    "bob@example.org", "{}" },
		{ OP_UPSERT, 3, "Bob@example.org", "Robert", "{\"a\":\"b\"}",
		    SUB_ACTIVE, UPSERT_SUPPRESSED, SUB_UNSUBSCRIBED, "Bob",
		    "bob@example.org", "{}" },
		{ OP_UPSERT, 3, "bob@example.org", "Robert", "{}",
		    SUB_ACTIVE, UPSERT_DUPLICATE, SUB_UNSUBSCRIBED, "Bob",
		    "bob@example.org", "{}" },
		{ OP_UPSERT, 4, "bob@example.org", "Robert", "{}",
		    SUB_ACTIVE, UPSERT_SUPPRESSED, SUB_UNSUBSCRIBED, "Bob",
		    "bob@example.org", "{}" },
		{ OP_UPSERT, 0, "bob@example.org", "Robert", "{}",
		    SUB_ACTIVE, UPSERT_SUPPRESSED, SUB_UNSUBSCRIBED, "Bob",
		    "bob@example.org", "{}" },
		/* bounced: the same */
		{ OP_UPSERT, 4, "cleo@bücher.example", "Cléo", "{}",
		    SUB_ACTIVE, UPSERT_ADDED, SUB_ACTIVE, "Cléo",
		    "cleo@xn--bcher-kva.example", "{}" },
		{ OP_SET, 0, "cleo@xn--bcher-kva.example", NULL, NULL,
		    SUB_BOUNCED, 0, SUB_BOUNCED, "Cléo",
		    "cleo@xn--bcher-kva.example", "{}" },
		{ OP_UPSERT, 5, "CLEO@BÜCHER.EXAMPLE", "C", "{}",
		    SUB_ACTIVE, UPSERT_SUPPRESSED, SUB_BOUNCED, "Cléo",
		    "cleo@xn--bcher-kva.example", "{}" },
		{ OP_UPSERT, 6, "cleo@xn--bcher-kva.example", "C", "{}",
		    SUB_ACTIVE, UPSERT_SUPPRESSED, SUB_BOUNCED, "Cléo",
		    "cleo@xn--bcher-kva.example", "{}" },
		/* pending is confirmed by an active upsert, never demoted */
		{ OP_UPSERT, 5, "dora@example.org", "Dora", "{}",
		    SUB_PENDING, UPSERT_ADDED, SUB_PENDING, "Dora",
		    "dora@example.org", "{}" },
		{ OP_UPSERT, 0, "dora@example.org", "Dora", "{}",
		    SUB_PENDING, UPSERT_UPDATED, SUB_PENDING, "Dora",
		    "dora@example.org", "{}" },
		{ OP_UPSERT, 6, "dora@example.org", "Dora", "{}",
		    SUB_ACTIVE, UPSERT_UPDATED, SUB_ACTIVE, "Dora",
		    "dora@example.org", "{}" },
		{ OP_UPSERT, 0, "dora@example.org", "Dora", "{}",
		    SUB_PENDING, UPSERT_UPDATED, SUB_ACTIVE, "Dora",
		    "dora@example.org", "{}" },
	};
	struct subs		 got;
	enum store_upsert	 what;
	int64_t			 imports[7], counts[4];
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[256];
	char			 label[64];
	size_t			 i;
	int			 k, changed;

	imports[0] = 0;
	for (k = 1; k < 7; k++) {
		imports[k] = store_import_id(st);
		CHECK("import id positive", imports[k] > 0);
		if (k > 1)
			CHECK_INT("import id increases", imports[k],
			    imports[k - 1] + 1);
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(label, sizeof(label), "upsert step %zu", i);
		addr_normalize(steps[i].email, addr, sizeof(addr), err,
		    sizeof(err));
		addr_key(addr, key, sizeof(key));
		if (steps[i].op == OP_UPSERT) {
			what = (enum store_upsert)-1;
			CHECK_INT(label, upsert(st, imports[steps[i].slot],
			    steps[i].email, steps[i].name, steps[i].fields,
			    steps[i].status, &what), 0);
			CHECK_INT(label, what, steps[i].want);
		} else {
			CHECK_INT(label, store_sub_set_status(st, key,
			    steps[i].status, 1, &changed, err, sizeof(err)), 0);
			CHECK_INT(label, changed, 1);
		}
		k = sub_find(st, key, &got);
		CHECK(label, k >= 0);
		if (k < 0)
			continue;
		CHECK_INT(label, got.status[k], steps[i].want_status);
		CHECK_STR(label, got.name[k], steps[i].want_name);
		CHECK_STR(label, got.email[k], steps[i].want_email);
		CHECK_STR(label, got.fields[k], steps[i].want_fields);
	}
	CHECK_INT("count", store_sub_count(st, counts, err, sizeof(err)), 0);
	CHECK_INT("count pending", counts[SUB_PENDING], 0);
	CHECK_INT("count active", counts[SUB_ACTIVE], 2);
	CHECK_INT("count unsubscribed", counts[SUB_UNSUBSCRIBED], 1);
	CHECK_INT("count bounced", counts[SUB_BOUNCED], 1);

	/* a transaction rolled back leaves nothing; committed stays */
	CHECK_INT("begin", store_begin(st, err, sizeof(err)), 0);
	CHECK_INT("upsert in tx", upsert(st, 0, "tx@example.org", "", "{}",
	    SUB_ACTIVE, &what), 0);
	CHECK_INT("rollback", store_rollback(st), 0);
	CHECK_INT("rolled back", sub_find(st, "tx@example.org", &got), -1);
	CHECK_INT("rollback outside tx", store_rollback(st), 0);
	CHECK_INT("begin", store_begin(st, err, sizeof(err)), 0);
	CHECK_INT("upsert in tx", upsert(st, 0, "tx@example.org", "", "{}",
	    SUB_ACTIVE, &what), 0);
	CHECK_INT("commit", store_commit(st, err, sizeof(err)), 0);
	CHECK("committed", sub_find(st, "tx@example.org", &got) >= 0);
	CHECK_INT("count after tx", store_sub_count(st, counts, err,
	    sizeof(err)), 0);
	CHECK_INT("count active after tx", counts[SUB_ACTIVE], 3);
}

static void
test_status(struct store *st)
{
	/* one subscriber walked through the rules, by key then by id */
	static const struct {
		enum sub_status	 status;
		int		 force;
		int		 want_changed;
		enum sub_status	 want;
	} steps[] = {
		{ SUB_UNSUBSCRIBED, 0, 1, SUB_UNSUBSCRIBED },
		{ SUB_UNSUBSCRIBED, 0, 0, SUB_UNSUBSCRIBED },	/* same */
		{ SUB_ACTIVE, 0, 0, SUB_UNSUBSCRIBED },		/* protected */
		{ SUB_BOUNCED, 0, 0, SUB_UNSUBSCRIBED },	/* protected */
		{ SUB_BOUNCED, 1, 1, SUB_BOUNCED },
		{ SUB_UNSUBSCRIBED, 1, 1, SUB_UNSUBSCRIBED },
		{ SUB_ACTIVE, 1, 1, SUB_ACTIVE },
		{ SUB_ACTIVE, 1, 0, SUB_ACTIVE },		/* same */
		{ SUB_BOUNCED, 0, 1, SUB_BOUNCED },
		{ SUB_ACTIVE, 1, 1, SUB_ACTIVE },
		{ SUB_PENDING, 0, 1, SUB_PENDING },
		{ SUB_ACTIVE, 0, 1, SUB_ACTIVE },
	};
	static const char	*who[] = { "byKey@example.org",
	    "byId@example.org" };
	struct subs		 got;
	enum store_upsert	 what;
	char			 key[ADDR_BUFSZ], err[256], label[64];
	size_t			 i, w;
	int64_t			 id;
	int			 k, changed;

	for (w = 0; w < 2; w++) {
		CHECK_INT("status setup", upsert(st, 0, who[w], "", "{}",
		    SUB_ACTIVE, &what), 0);
		addr_key(who[w], key, sizeof(key));
		k = sub_find(st, key, &got);
		CHECK("status setup found", k >= 0);
		if (k < 0)
			return;
		id = got.id[k];
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			snprintf(label, sizeof(label), "%s step %zu",
			    w ? "by id" : "by key", i);
			changed = -1;
			if (w == 0)
				CHECK_INT(label, store_sub_set_status(st, key,
				    steps[i].status, steps[i].force, &changed,
				    err, sizeof(err)), 0);
			else
				CHECK_INT(label, store_sub_set_status_id(st,
				    id, steps[i].status, steps[i].force,
				    &changed, err, sizeof(err)), 0);
			CHECK_INT(label, changed, steps[i].want_changed);
			k = sub_find(st, key, &got);
			CHECK_INT(label, k >= 0 ? (int)got.status[k] : -1,
			    steps[i].want);
		}
	}
	changed = -1;
	CHECK_INT("unknown key", store_sub_set_status(st, "nobody@example.org",
	    SUB_UNSUBSCRIBED, 1, &changed, err, sizeof(err)), 0);
	CHECK_INT("unknown key changed", changed, 0);
	changed = -1;
	CHECK_INT("unknown id", store_sub_set_status_id(st, 999999,
	    SUB_UNSUBSCRIBED, 1, &changed, err, sizeof(err)), 0);
	CHECK_INT("unknown id changed", changed, 0);
	CHECK_INT("changed NULL", store_sub_set_status(st, key, SUB_BOUNCED,
	    1, NULL, err, sizeof(err)), 0);
	k = sub_find(st, key, &got);
	CHECK_INT("changed NULL applied", k >= 0 ? (int)got.status[k] : -1,
	    SUB_BOUNCED);
}

/*
 * Whether v, a time the store set (unix seconds, its clock), falls
 * between t0 and t1 read here with time(NULL).  time() reads the
 * kernel's coarse clock, up to a tick behind the precise one that
 * PostgreSQL's clock_timestamp() reads: at the turn of a second the
 * store's may already be the next (a loaded run, 2026-12-06).
 */
static int
set_between(int64_t v, int64_t t0, int64_t t1)
{
	return v >= t0 && v <= t1 + 1;
}

static void
test_list(void)
{
	static const char	*emails[] = { "p1@example.org",
	    "p2@example.org", "p3@example.org", "p4@example.org",
	    "p5@example.org" };
	static const struct {
		int	after;		/* index into ids; -1: 0 */
		int	limit;
		int	first, n;	/* expected rows: ids[first..] */
	} pages[] = {
		{ -1, 2, 0, 2 },
		{ 1, 2, 2, 2 },
		{ 3, 2, 4, 1 },
		{ 4, 2, 0, 0 },
		{ -1, 100, 0, 5 },
		{ 0, 1, 1, 1 },
	};
	struct store		*st;
	struct subs		 got;
	enum store_upsert	 what;
	char			 db[256], err[256], label[64], fields[64];
	int64_t			 ids[5], counts[4], t0, t1;
	size_t			 i;
	int			 j;

	store_at(db, sizeof(db), "list");
	if ((st = open_ok(db)) == NULL) {
		CHECK("list open", 0);
		return;
	}
	t0 = (int64_t)time(NULL);
	for (i = 0; i < 5; i++) {
		snprintf(fields, sizeof(fields), "{\"n\":\"%zu\"}", i);
		CHECK_INT("list setup", upsert(st, 0, emails[i], "Pé", fields,
		    SUB_ACTIVE, &what), 0);
	}
	t1 = (int64_t)time(NULL);
	memset(&got, 0, sizeof(got));
	CHECK_INT("list all", store_sub_list(st, 0, 10, subs_cb, &got, err,
	    sizeof(err)), 0);
	CHECK_INT("list all n", got.n, 5);
	for (j = 0; j < 5 && j < got.n; j++) {
		ids[j] = got.id[j];
		CHECK_STR("list email order", got.email[j], emails[j]);
		snprintf(fields, sizeof(fields), "{\"n\":\"%d\"}", j);
		CHECK_STR("list fields", got.fields[j], fields);
		CHECK_STR("list name", got.name[j], "Pé");
		CHECK("list created", set_between(got.created[j], t0, t1));
		if (j > 0)
			CHECK("list ids ascending", ids[j] > ids[j - 1]);
	}
	if (got.n != 5) {
		store_close(st);
		return;
	}
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		snprintf(label, sizeof(label), "page %zu", i);
		memset(&got, 0, sizeof(got));
		CHECK_INT(label, store_sub_list(st, pages[i].after < 0 ? 0 :
		    ids[pages[i].after], pages[i].limit, subs_cb, &got, err,
		    sizeof(err)), 0);
		CHECK_INT(label, got.n, pages[i].n);
		for (j = 0; j < got.n && j < pages[i].n; j++)
			CHECK_INT(label, got.id[j], ids[pages[i].first + j]);
	}

	/* a callback returning -1 stops the walk */
	memset(&got, 0, sizeof(got));
	got.stop_after = 2;
	CHECK_INT("list stop", store_sub_list(st, 0, 10, subs_cb, &got, err,
	    sizeof(err)), 0);
	CHECK_INT("list stop n", got.n, 2);

	memset(&got, 0, sizeof(got));
	CHECK_INT("get", store_sub_get(st, ids[2], subs_cb, &got, err,
	    sizeof(err)), 0);
	CHECK_INT("get n", got.n, 1);
	CHECK_STR("get email", got.email[0], emails[2]);
	memset(&got, 0, sizeof(got));
	CHECK_INT("get missing", store_sub_get(st, ids[4] + 100, subs_cb, &got,
	    err, sizeof(err)), 0);
	CHECK_INT("get missing n", got.n, 0);

	/* look-up by key: the key of any spelling of the address */
	{
		char	key[ADDR_BUFSZ];

		addr_key("P4@Example.ORG", key, sizeof(key));
		memset(&got, 0, sizeof(got));
		CHECK_INT("find", store_sub_find(st, key, subs_cb, &got, err,
		    sizeof(err)), 0);
		CHECK_INT("find n", got.n, 1);
		CHECK_INT("find id", got.id[0], ids[3]);
		CHECK_STR("find email", got.email[0], emails[3]);
		addr_key("nobody@example.org", key, sizeof(key));
		memset(&got, 0, sizeof(got));
		CHECK_INT("find missing", store_sub_find(st, key, subs_cb,
		    &got, err, sizeof(err)), 0);
		CHECK_INT("find missing n", got.n, 0);
	}

	store_sub_set_status(st, "p2@example.org", SUB_UNSUBSCRIBED, 1, NULL,
	    err, sizeof(err));
	store_sub_set_status(st, "p3@example.org", SUB_BOUNCED, 1, NULL, err,
	    sizeof(err));
	store_sub_set_status(st, "p4@example.org", SUB_BOUNCED, 1, NULL, err,
	    sizeof(err));
	upsert(st, 0, "p6@example.org", "", "{}", SUB_PENDING, &what);
	CHECK_INT("count", store_sub_count(st, counts, err, sizeof(err)), 0);
	CHECK_INT("count pending", counts[SUB_PENDING], 1);
	CHECK_INT("count active", counts[SUB_ACTIVE], 2);
	CHECK_INT("count unsubscribed", counts[SUB_UNSUBSCRIBED], 1);
	CHECK_INT("count bounced", counts[SUB_BOUNCED], 2);
	store_close(st);
}

/* Collected broadcasts and deliveries. */
struct bcs {
	int			 n;
	struct broadcast	 b[8];
	char			 title[8][128];
	char			 source[8][256];
	char		 lang[8][16];
};

static int
bcs_cb(const struct broadcast *b, void *arg)
{
	struct bcs	*c = arg;

	if (c->n >= 8)
		return -1;
	c->b[c->n] = *b;
	snprintf(c->title[c->n], sizeof(c->title[0]), "%s", b->title);
	snprintf(c->source[c->n], sizeof(c->source[0]), "%s", b->source);
	snprintf(c->lang[c->n], sizeof(c->lang[0]), "%s", b->lang ? b->lang :
	    "(null)");
	c->b[c->n].lang = c->lang[c->n];
	c->b[c->n].title = c->title[c->n];
	c->b[c->n].source = c->source[c->n];
	c->b[c->n].subject = NULL;
	c->b[c->n].filename = NULL;
	c->n++;
	return 0;
}

static struct broadcast
bc_get1(struct store *st, int64_t id, int *n)
{
	static struct bcs	 got;
	struct broadcast	 none;
	char			 err[256];

	memset(&got, 0, sizeof(got));
	memset(&none, 0, sizeof(none));
	if (store_bc_get(st, id, bcs_cb, &got, err, sizeof(err)) == -1)
		printf("bc_get: %s\n", err);
	*n = got.n;
	return got.n > 0 ? got.b[0] : none;
}

struct dlvs {
	int		 n;
	int64_t		 sub[NMAX];
	char		 email[NMAX][128];
	int		 attempts[NMAX];
	int		 active[NMAX];
	int64_t		 bc[NMAX];
};

static int
dlvs_cb(const struct delivery *d, void *arg)
{
	struct dlvs	*c = arg;

	if (c->n >= NMAX)
		return -1;
	c->sub[c->n] = d->subscriber_id;
	snprintf(c->email[c->n], sizeof(c->email[0]), "%s", d->email);
	c->attempts[c->n] = d->attempts;
	c->active[c->n] = d->active;
	c->bc[c->n] = d->broadcast_id;
	c->n++;
	return 0;
}

/*
 * What a claim at now (ms) would hand out, the rows after subscriber
 * `after`, up to limit: claimed by owner "t" and released at once, so
 * the rows stay as they were.
 */
static int
claim(struct store *st, int64_t bc, int64_t after, int64_t now, int limit,
    struct dlvs *out)
{
	struct dlvs	all;
	char		err[256];
	int		i, n;

	memset(&all, 0, sizeof(all));
	memset(out, 0, sizeof(*out));
	n = store_dlv_claim_rows(st, bc, "t", now, 60000, NMAX, dlvs_cb, &all,
	    err, sizeof(err));
	if (n == -1) {
		printf("claim: %s\n", err);
		return -1;
	}
	if (store_dlv_release(st, "t", bc, NULL, 0, NULL, err,
	    sizeof(err)) == -1) {
		printf("release: %s\n", err);
		return -1;
	}
	for (i = 0; i < all.n && out->n < limit; i++) {
		if (all.sub[i] <= after)
			continue;
		out->sub[out->n] = all.sub[i];
		memcpy(out->email[out->n], all.email[i], sizeof(all.email[i]));
		out->attempts[out->n] = all.attempts[i];
		out->active[out->n] = all.active[i];
		out->bc[out->n] = all.bc[i];
		out->n++;
	}
	return out->n;
}

/*
 * Record one result for subscriber sub as the engine does: claimed (with
 * whatever else is due, released again) and recorded in one group.
 */
static int
record1(struct store *st, int64_t bc, int64_t sub, enum dlv_state state,
    int attempts, int64_t next_at, int code, const char *msg)
{
	struct dlv_result	r;
	struct dlv_tally	t;
	struct dlvs		all;
	char			err[256];
	int			rc = 0;

	memset(&all, 0, sizeof(all));
	if (store_dlv_claim_rows(st, bc, "t", INT64_C(1) << 40, 60000, NMAX,
	    dlvs_cb, &all, err, sizeof(err)) == -1) {
		printf("claim: %s\n", err);
		return -1;
	}
	r.broadcast_id = bc;
	r.subscriber_id = sub;
	r.state = state;
	r.attempts = attempts;
	r.next_at = next_at;
	r.code = code;
	r.msg = msg;
	if (store_dlv_record(st, "t", &r, 1, &t, err, sizeof(err)) == -1) {
		printf("record: %s\n", err);
		rc = -1;
	} else if (t.applied != 1) {
		printf("record: %zu applied\n", t.applied);
		rc = -1;
	}
	if (store_dlv_release(st, "t", bc, NULL, 0, NULL, err,
	    sizeof(err)) == -1) {
		printf("release: %s\n", err);
		rc = -1;
	}
	return rc;
}

/* One slice of a broadcast's recipients: 1 if more may be left, 0 if
 * not, -1 on error. */
static int
slice(struct store *st, int64_t bc, int limit)
{
	char	err[256];
	int	more;

	if (store_bc_snapshot(st, bc, limit, &more, err, sizeof(err)) == -1) {
		printf("snapshot: %s\n", err);
		return -1;
	}
	return more;
}

/*
 * Recipients are taken in slices, one transaction each; a reopen (a
 * crash) between two carries on where the last committed one stopped:
 * nobody twice, nobody skipped.  Who joins or leaves meanwhile counts as
 * of the slice that reaches them.
 */
static void
test_snapshot_slices(void)
{
	struct store		*st;
	struct broadcast	 bc, got;
	struct dlvs		 d;
	enum store_upsert	 what;
	char			 db[256], err[256], email[64];
	int64_t			 id;
	int			 i, n, has7 = 0, has10 = 0, ordered = 1;

	store_at(db, sizeof(db), "snap");
	if ((st = open_ok(db)) == NULL) {
		CHECK("snap open", 0);
		return;
	}
	for (i = 0; i < 10; i++) {
		snprintf(email, sizeof(email), "s%d@example.org", i);
		upsert(st, 0, email, "", "{}", SUB_ACTIVE, &what);
	}
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "Slices";
	bc.source = "Slices\n";
	CHECK_INT("snap create", store_bc_create(st, &bc, &id, err,
	    sizeof(err)), 0);
	CHECK_INT("snap slice 1: more", slice(st, id, 4), 1);
	store_close(st);

	if ((st = open_ok(db)) == NULL) {	/* as after a crash */
		CHECK("snap reopen", 0);
		return;
	}
	got = bc_get1(st, id, &n);
	CHECK_INT("snap reopen: total", got.total, 4);
	CHECK_INT("snap reopen: snapping", got.snapping, 1);
	/* s2 (taken) and s7 (not yet) leave, s10 joins */
	store_sub_set_status(st, "s2@example.org", SUB_UNSUBSCRIBED, 1, NULL,
	    err, sizeof(err));
	store_sub_set_status(st, "s7@example.org", SUB_UNSUBSCRIBED, 1, NULL,
	    err, sizeof(err));
	upsert(st, 0, "s10@example.org", "", "{}", SUB_ACTIVE, &what);
	CHECK_INT("snap slice 2: more", slice(st, id, 4), 1);
	CHECK_INT("snap slice 3: the last", slice(st, id, 4), 0);
	got = bc_get1(st, id, &n);
	CHECK_INT("snap total", got.total, 10);
	CHECK_INT("snap done", got.snapping, 0);
	CHECK_INT("snap rows", sql_int(db, "SELECT count(*) FROM deliveries"),
	    10);
	n = claim(st, id, 0, 0, 100, &d);
	CHECK_INT("snap claim", n, 10);
	for (i = 0; i < d.n; i++) {
		has7 |= strcmp(d.email[i], "s7@example.org") == 0;
		has10 |= strcmp(d.email[i], "s10@example.org") == 0;
		if (i > 0 && d.sub[i] <= d.sub[i - 1])
			ordered = 0;
	}
	CHECK_INT("snap: left before its slice", has7, 0);
	CHECK_INT("snap: joined before its slice", has10, 1);
	CHECK_INT("snap: once each, in order", ordered, 1);
	store_close(st);
}

/*
 * A resend (store_bc_resend_count, resent_from): its recipients are the
 * original's deliveries in the states asked for, of subscribers still
 * active, taken in slices like a new broadcast's; the original shows
 * its newest resend.
 */
/* Statements in several languages (issue 14 part 2). */
#define LANG_SEEN_MAX	16
struct lang_seen {
	char	 langs[256];
	char	 titles[256];
	int64_t	 counts[4];	/* "", es, pt-BR, other */
};

static int
lang_tr_cb(const struct bc_translation *t, void *arg)
{
	struct lang_seen	*l = arg;
	size_t			 n = strlen(l->langs), m = strlen(l->titles);

	snprintf(l->langs + n, sizeof(l->langs) - n, "%s%s", n ? "," : "",
	    t->lang);
	snprintf(l->titles + m, sizeof(l->titles) - m, "%s%s/%s/%s/%d",
	    m ? "," : "", t->title, t->subject, t->filename, t->markdown);
	return 0;
}

static int
lang_count_cb(const char *lang, int64_t n, void *arg)
{
	struct lang_seen	*l = arg;

	l->counts[*lang == '\0' ? 0 : strcmp(lang, "es") == 0 ? 1 :
	    strcmp(lang, "pt-BR") == 0 ? 2 : 3] += n;
	return 0;
}

static int
lang_sub_cb(const struct subscriber *sub, void *arg)
{
	snprintf(arg, LANG_SEEN_MAX, "%s", sub->lang);
	return 0;
}

static void
test_languages(void)
{
	static const struct bc_translation tr[] = {
		{ "es", "Hola", "Hola", "Hola\n", "s.es.txt", 0 },
		{ "pt-BR", "Olá", NULL, "Olá\n", "s.pt-BR.md", 1 },
	};
	struct lang_seen l;
	struct store	*st;
	struct broadcast bc, got;
	enum store_upsert what;
	char		 db[256], err[256], lang[LANG_SEEN_MAX];
	int64_t		 id, re, plain;
	int		 n;

	store_at(db, sizeof(db), "langs");
	if ((st = open_ok(db)) == NULL) {
		CHECK("langs open", 0);
		return;
	}
	upsert(st, 0, "a@example.org", "", "{}", SUB_ACTIVE, &what);
	upsert(st, 0, "b@example.org", "", "{}", SUB_ACTIVE, &what);
	upsert(st, 0, "c@example.org", "", "{}", SUB_ACTIVE, &what);
	CHECK_INT("set lang", store_sub_set_lang(st, "b@example.org", "es",
	    err, sizeof(err)), 0);
	CHECK_INT("set lang again", store_sub_set_lang(st, "c@example.org",
	    "pt-BR", err, sizeof(err)), 0);
	CHECK_INT("set lang: nobody", store_sub_set_lang(st,
	    "nobody@example.org", "es", err, sizeof(err)), 0);
	*lang = 'x';
	store_sub_find(st, "b@example.org", lang_sub_cb, lang, err,
	    sizeof(err));
	CHECK_STR("sub lang", lang, "es");
	store_sub_find(st, "a@example.org", lang_sub_cb, lang, err,
	    sizeof(err));
	CHECK_STR("sub without lang", lang, "");
	/* a re-import keeps the language */
	upsert(st, 0, "b@example.org", "B", "{}", SUB_ACTIVE, &what);
	store_sub_find(st, "b@example.org", lang_sub_cb, lang, err,
	    sizeof(err));
	CHECK_STR("sub lang after upsert", lang, "es");

	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "Hello";
	bc.source = "Hello\n";
	bc.filename = "s.txt";
	bc.lang = "en";
	bc.translations = tr;
	bc.ntranslations = 2;
	CHECK_INT("langs: create", store_bc_create(st, &bc, &id, err,
	    sizeof(err)), 0);
	got = bc_get1(st, id, &n);
	CHECK_STR("langs: default lang", got.lang, "en");
	memset(&l, 0, sizeof(l));
	CHECK_INT("langs: read", store_bc_translations(st, id, lang_tr_cb, &l,
	    err, sizeof(err)), 0);
	CHECK_STR("langs: translations", l.langs, "es,pt-BR");
	CHECK_STR("langs: their rows", l.titles,
	    "Hola/Hola/s.es.txt/0,Olá/Olá/s.pt-BR.md/1");
	CHECK_INT("langs: recipients", slice(st, id, 100), 0);
	CHECK_INT("langs: counts", store_bc_lang_counts(st, id, lang_count_cb,
	    &l, err, sizeof(err)), 0);
	CHECK_INT("langs: none", l.counts[0], 1);
	CHECK_INT("langs: es", l.counts[1], 1);
	CHECK_INT("langs: pt-BR", l.counts[2], 1);
	CHECK_INT("langs: other", l.counts[3], 0);

	/* a resend has the original's versions */
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "Hello";
	bc.source = "Hello\n";
	bc.lang = "en";
	bc.resent_from = id;
	bc.resend_states = 1u << DLV_FAILED;
	CHECK_INT("langs: resend", store_bc_create(st, &bc, &re, err,
	    sizeof(err)), 0);
	memset(&l, 0, sizeof(l));
	store_bc_translations(st, re, lang_tr_cb, &l, err, sizeof(err));
	CHECK_STR("langs: resend's translations", l.langs, "es,pt-BR");

	/* one language: as before */
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "Plain";
	bc.source = "Plain\n";
	CHECK_INT("langs: plain", store_bc_create(st, &bc, &plain, err,
	    sizeof(err)), 0);
	got = bc_get1(st, plain, &n);
	CHECK_STR("langs: plain lang", got.lang, "");
	memset(&l, 0, sizeof(l));
	store_bc_translations(st, plain, lang_tr_cb, &l, err, sizeof(err));
	CHECK_STR("langs: plain has none", l.langs, "");
	store_close(st);
}

static void
test_resend(void)
{
	static const enum dlv_state outcome[] = {
		DLV_SENT, DLV_FAILED, DLV_DEFERRED, DLV_FAILED, DLV_DEFERRED,
		DLV_SENT, DLV_FAILED, DLV_PENDING, DLV_FAILED,
	};
	const unsigned	 F = 1u << DLV_FAILED, D = 1u << DLV_DEFERRED;
	struct store	*st;
	struct broadcast bc, got;
	struct subs	 s;
	struct dlvs	 d;
	enum store_upsert what;
	char		 db[256], err[256], email[64], list[256];
	int64_t		 id, re, re2, none, n64, sub[9];
	int		 i, k, n;

	store_at(db, sizeof(db), "resend");
	if ((st = open_ok(db)) == NULL) {
		CHECK("resend open", 0);
		return;
	}
	for (i = 0; i < 9; i++) {
		snprintf(email, sizeof(email), "r%d@example.org", i);
		upsert(st, 0, email, "", "{}", SUB_ACTIVE, &what);
		k = sub_find(st, email, &s);
		sub[i] = k >= 0 ? s.id[k] : -1;
	}
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "Resent";
	bc.source = "Resent\n";
	bc.filename = "resent.md";
	bc.markdown = 1;
	CHECK_INT("resend: original", store_bc_create(st, &bc, &id, err,
	    sizeof(err)), 0);
	CHECK_INT("resend: original's recipients", slice(st, id, 100), 0);
	for (i = 0; i < 9; i++)
		if (outcome[i] != DLV_PENDING)
			CHECK_INT("resend: record", record1(st, id, sub[i],
			    outcome[i], 1, outcome[i] == DLV_DEFERRED ?
			    INT64_C(1) << 41 : 0, 0, NULL), 0);
	/* r6 left, r8 bounced: neither is taken again */
	store_sub_set_status(st, "r6@example.org", SUB_UNSUBSCRIBED, 1, NULL,
	    err, sizeof(err));
	store_sub_set_status(st, "r8@example.org", SUB_BOUNCED, 1, NULL, err,
	    sizeof(err));

	CHECK_INT("resend count: failed", store_bc_resend_count(st, id, F,
	    &n64, err, sizeof(err)), 0);
	CHECK_INT("resend count: failed, active", n64, 2);
	store_bc_resend_count(st, id, D, &n64, err, sizeof(err));
	CHECK_INT("resend count: deferred", n64, 2);
	store_bc_resend_count(st, id, F | D, &n64, err, sizeof(err));
	CHECK_INT("resend count: both", n64, 4);
	store_bc_resend_count(st, id + 100, F | D, &n64, err, sizeof(err));
	CHECK_INT("resend count: no such broadcast", n64, 0);

	/* both: r1, r2, r3, r4, in two slices */
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "Resent";
	bc.source = "Resent\n";
	bc.resent_from = id;
	bc.resend_states = F | D;
	CHECK_INT("resend: create", store_bc_create(st, &bc, &re, err,
	    sizeof(err)), 0);
	CHECK_INT("resend: slice 1 of 2", slice(st, re, 3), 1);
	CHECK_INT("resend: slice 2 of 2", slice(st, re, 3), 0);
	got = bc_get1(st, re, &n);
	CHECK_INT("resend: total", got.total, 4);
	CHECK_INT("resend: pending", got.pending, 4);
	CHECK_INT("resend: snapped", got.snapping, 0);
	CHECK_INT("resend: resent_from", got.resent_from, id);
	CHECK_INT("resend: states", got.resend_states, F | D);
	CHECK_INT("resend: none of its own", got.resent_as, 0);
	n = claim(st, re, 0, INT64_C(1) << 42, 100, &d);
	list[0] = '\0';
	for (i = 0; i < d.n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i ? " " : "", d.email[i]);
	CHECK_STR("resend: its recipients", list, "r1@example.org "
	    "r2@example.org r3@example.org r4@example.org");
	/* the original is as it was */
	got = bc_get1(st, id, &n);
	CHECK_INT("original: total", got.total, 9);
	CHECK_INT("original: failed", got.failed, 4);
	CHECK_INT("original: deferred", got.deferred, 2);
	CHECK_INT("original: resent_as", got.resent_as, re);
	CHECK_INT("original: resent_from", got.resent_from, 0);

	/* failed only, after r3 left too; the original shows the newest */
	store_sub_set_status(st, "r3@example.org", SUB_UNSUBSCRIBED, 1, NULL,
	    err, sizeof(err));
	bc.resend_states = F;
	CHECK_INT("resend failed: create", store_bc_create(st, &bc, &re2, err,
	    sizeof(err)), 0);
	CHECK_INT("resend failed: one slice", slice(st, re2, 100), 0);
	n = claim(st, re2, 0, INT64_C(1) << 42, 100, &d);
	CHECK_INT("resend failed: one left", n, 1);
	CHECK_STR("resend failed: r1", n == 1 ? d.email[0] : "",
	    "r1@example.org");
	CHECK_INT("original: newest resend", bc_get1(st, id, &n).resent_as,
	    re2);
	/* a resend of a resend: its own deliveries (all pending: none) */
	bc.resent_from = re2;
	bc.resend_states = F | D;
	CHECK_INT("resend of resend: create", store_bc_create(st, &bc, &none,
	    err, sizeof(err)), 0);
	CHECK_INT("resend of resend: slice", slice(st, none, 100), 0);
	CHECK_INT("resend of resend: nobody", bc_get1(st, none, &n).total, 0);
	CHECK_INT("resend's resent_as", bc_get1(st, re2, &n).resent_as, none);
	/* a plain broadcast still takes every active subscriber */
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = bc.source = "Plain\n";
	CHECK_INT("plain after resends", store_bc_create(st, &bc, &none, err,
	    sizeof(err)), 0);
	slice(st, none, 100);
	CHECK_INT("plain: every active one", bc_get1(st, none, &n).total, 6);
	store_close(st);
}

static void
test_broadcast(void)
{
	static const struct {
		const char	*email;
		enum sub_status	 status;
	} people[] = {
		{ "a@example.org", SUB_ACTIVE },
		{ "u@example.org", SUB_UNSUBSCRIBED },
		{ "b@example.org", SUB_ACTIVE },
		{ "x@example.org", SUB_BOUNCED },
		{ "p@example.org", SUB_PENDING },
		{ "c@example.org", SUB_ACTIVE },
	};
	struct store		*st;
	struct broadcast	 bc, got;
	struct bcs		 list;
	struct dlvs		 d;
	struct subs		 s;
	enum store_upsert	 what;
	char			 db[256], err[256], key[ADDR_BUFSZ];
	int64_t			 id1, id2, a, b, c, when, counts[4], t0, t1;
	size_t			 i;
	int			 n, k;

	store_at(db, sizeof(db), "bc");
	if ((st = open_ok(db)) == NULL) {
		CHECK("bc open", 0);
		return;
	}
	for (i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
		upsert(st, 0, people[i].email, "", "{}", SUB_ACTIVE, &what);
		addr_key(people[i].email, key, sizeof(key));
		if (people[i].status != SUB_ACTIVE)
			store_sub_set_status(st, key, people[i].status, 1,
			    NULL, err, sizeof(err));
	}
	a = sub_find(st, "a@example.org", &s) >= 0 ?
	    s.id[sub_find(st, "a@example.org", &s)] : -1;
	b = s.id[sub_find(st, "b@example.org", &s)];
	c = s.id[sub_find(st, "c@example.org", &s)];
	CHECK("ids ascending", a > 0 && a < b && b < c);

	memset(&bc, 0, sizeof(bc));
	bc.title = "Déclaration – “Nous refusons…”";
	bc.subject = "Déclaration";
	bc.source = "Title: Déclaration\n\nNous refusons…\n";
	bc.filename = "statement.txt";
	bc.markdown = 1;
	bc.created = 1700000000;
	CHECK_INT("bc create", store_bc_create(st, &bc, &id1, err,
	    sizeof(err)), 0);
	CHECK("bc id", id1 > 0);
	got = bc_get1(st, id1, &n);
	CHECK_INT("bc created without recipients", got.total, 0);
	CHECK_INT("bc snapping", got.snapping, 1);
	CHECK_INT("bc slice: more", slice(st, id1, 2), 1);
	got = bc_get1(st, id1, &n);
	CHECK_INT("bc slice: total", got.total, 2);
	CHECK_INT("bc slice: still snapping", got.snapping, 1);
	CHECK_INT("bc last slice: no more", slice(st, id1, 2), 0);
	CHECK_INT("bc no-op slice: no more", slice(st, id1, 2), 0);
	got = bc_get1(st, id1, &n);
	CHECK_INT("bc all taken", got.snapping, 0);
	CHECK_INT("bc get n", n, 1);
	CHECK_INT("bc id", got.id, id1);
	CHECK_STR("bc title", got.title, bc.title);
	CHECK_STR("bc source", got.source, bc.source);
	CHECK_INT("bc markdown", got.markdown, 1);
	CHECK_INT("bc state", got.state, BC_QUEUED);
	CHECK_INT("bc created", got.created, 1700000000);
	CHECK_INT("bc started", got.started, 0);
	CHECK_INT("bc finished", got.finished, 0);
	CHECK_INT("bc total: the active only", got.total, 3);
	CHECK_INT("bc pending", got.pending, 3);
	CHECK_INT("bc sent", got.sent + got.deferred + got.failed, 0);
	bc_get1(st, id1 + 100, &n);
	CHECK_INT("bc get missing", n, 0);

	/* the snapshot: exactly the active subscribers, in id order */
	n = claim(st, id1, 0, 0, 100, &d);
	CHECK_INT("claim all", n, 3);
	CHECK_INT("claim all rows", d.n, 3);
	CHECK_INT("claim 0", d.sub[0], a);
	CHECK_INT("claim 1", d.sub[1], b);
	CHECK_INT("claim 2", d.sub[2], c);
	CHECK_STR("claim email", d.email[1], "b@example.org");
	CHECK_INT("claim attempts", d.attempts[0], 0);
	CHECK_INT("claim active", d.active[0] && d.active[1] && d.active[2],
	    1);
	CHECK_INT("claim bc", d.bc[2], id1);
	CHECK_INT("claim limit", claim(st, id1, 0, 0, 2, &d), 2);
	CHECK_INT("claim after", claim(st, id1, a, 0, 100, &d), 2);
	CHECK_INT("claim after first", d.sub[0], b);
	CHECK_INT("claim after last", claim(st, id1, c, 0, 100, &d), 0);

	/* a subscriber added later is not in the snapshot */
	upsert(st, 0, "late@example.org", "", "{}", SUB_ACTIVE, &what);
	CHECK_INT("snapshot fixed", claim(st, id1, 0, 0, 100, &d), 3);

	/* deferred come back when due; sent and failed never */
	CHECK_INT("next due none", store_dlv_next_due(st, id1, &when, err,
	    sizeof(err)), 0);
	CHECK_INT("next due none value", when, -1);
	CHECK_INT("defer b", record1(st, id1, b, DLV_DEFERRED, 1, 1000, 451,
	    "4.7.1 try later"), 0);
	CHECK_INT("sent c", record1(st, id1, c, DLV_SENT, 1, 0, 250, NULL), 0);
	CHECK_INT("deferred not due", claim(st, id1, 0, 999, 100, &d), 1);
	CHECK_INT("deferred not due: a", d.sub[0], a);
	CHECK_INT("deferred due", claim(st, id1, 0, 1000, 100, &d), 2);
	CHECK_INT("deferred due: b", d.sub[1], b);
	CHECK_INT("deferred attempts", d.attempts[1], 1);
	CHECK_INT("next due", store_dlv_next_due(st, id1, &when, err,
	    sizeof(err)), 0);
	CHECK_INT("next due value", when, 1000);
	CHECK_INT("defer a", record1(st, id1, a, DLV_DEFERRED, 2, 500, 421,
	    "busy"), 0);
	store_dlv_next_due(st, id1, &when, err, sizeof(err));
	CHECK_INT("next due earliest", when, 500);
	CHECK_INT("deferred partly due", claim(st, id1, 0, 700, 100, &d), 1);
	CHECK_INT("deferred partly due: a", d.sub[0], a);
	CHECK_INT("deferred partly due: attempts", d.attempts[0], 2);
	CHECK_INT("update sql", sql_int(db, "SELECT code FROM deliveries "
	    "WHERE state = 2 AND next_at = 1000"), 451);

	CHECK_INT("counts", store_dlv_counts(st, id1, counts, err,
	    sizeof(err)), 0);
	CHECK_INT("counts pending", counts[DLV_PENDING], 0);
	CHECK_INT("counts sent", counts[DLV_SENT], 1);
	CHECK_INT("counts deferred", counts[DLV_DEFERRED], 2);
	CHECK_INT("counts failed", counts[DLV_FAILED], 0);
	CHECK_INT("fail a", record1(st, id1, a, DLV_FAILED, 3, 0, 550,
	    "5.1.1 no such user"), 0);
	store_dlv_counts(st, id1, counts, err, sizeof(err));
	CHECK_INT("counts failed after", counts[DLV_FAILED], 1);
	CHECK_INT("counts deferred after", counts[DLV_DEFERRED], 1);
	store_dlv_next_due(st, id1, &when, err, sizeof(err));
	CHECK_INT("next due after fail", when, 1000);
	CHECK_INT("failed not claimed", claim(st, id1, 0, 1 << 30, 100, &d), 1);
	CHECK_INT("failed not claimed: b", d.sub[0], b);

	/* the counts were kept as the results were recorded */
	got = bc_get1(st, id1, &n);
	CHECK_INT("bc sent", got.sent, 1);
	CHECK_INT("bc deferred", got.deferred, 1);
	CHECK_INT("bc failed", got.failed, 1);
	CHECK_INT("bc pending derived", got.pending, 0);
	CHECK_INT("bc total kept", got.total, 3);

	/* a subscriber who left is still claimed, flagged inactive */
	store_sub_set_status(st, "b@example.org", SUB_UNSUBSCRIBED, 1, NULL,
	    err, sizeof(err));
	CHECK_INT("inactive claimed", claim(st, id1, 0, 1000, 100, &d), 1);
	CHECK_INT("inactive flag", d.active[0], 0);

	/* state: started once, finished on done/cancelled */
	t0 = (int64_t)time(NULL);
	CHECK_INT("sending", store_bc_set_state(st, id1, BC_SENDING, NULL, err,
	    sizeof(err)), 0);
	t1 = (int64_t)time(NULL);
	got = bc_get1(st, id1, &n);
	CHECK_INT("sending state", got.state, BC_SENDING);
	CHECK("started now", set_between(got.started, t0, t1));
	CHECK_INT("not finished", got.finished, 0);
	CHECK_INT("mark started", sql_exec(db, "UPDATE broadcasts SET "
	    "started = 111"), 0);
	store_bc_set_state(st, id1, BC_PAUSED, NULL, err, sizeof(err));
	got = bc_get1(st, id1, &n);
	CHECK_INT("paused state", got.state, BC_PAUSED);
	CHECK_INT("paused keeps started", got.started, 111);
	CHECK_INT("paused not finished", got.finished, 0);
	store_bc_set_state(st, id1, BC_SENDING, NULL, err, sizeof(err));
	got = bc_get1(st, id1, &n);
	CHECK_INT("resumed keeps started", got.started, 111);
	t0 = (int64_t)time(NULL);
	store_bc_set_state(st, id1, BC_DONE, NULL, err, sizeof(err));
	t1 = (int64_t)time(NULL);
	got = bc_get1(st, id1, &n);
	CHECK_INT("done state", got.state, BC_DONE);
	CHECK("done finished", set_between(got.finished, t0, t1));
	CHECK_INT("done keeps started", got.started, 111);

	/* a second broadcast snapshots the list as it is now */
	bc.title = "Second";
	bc.created = 0;
	bc.filename = NULL;
	bc.markdown = 0;
	t0 = (int64_t)time(NULL);
	CHECK_INT("bc2 create", store_bc_create(st, &bc, &id2, err,
	    sizeof(err)), 0);
	t1 = (int64_t)time(NULL);
	CHECK_INT("bc2 snapshot in one", slice(st, id2, 100), 0);
	CHECK("bc2 id", id2 > id1);
	got = bc_get1(st, id2, &n);
	CHECK_INT("bc2 total", got.total, 3);	/* a, c, late */
	CHECK("bc2 created now", set_between(got.created, t0, t1));
	CHECK_INT("bc2 markdown", got.markdown, 0);
	n = claim(st, id2, 0, 0, 100, &d);
	CHECK_INT("bc2 claim", n, 3);
	k = sub_find(st, "late@example.org", &s);
	CHECK_INT("bc2 has late", n == 3 ? d.sub[2] : -1, k >= 0 ? s.id[k] :
	    -2);
	CHECK_INT("bc2 has a", d.sub[0], a);
	CHECK_INT("bc2 has c", d.sub[1], c);
	CHECK_INT("bc1 untouched", claim(st, id1, 0, 1000, 100, &d), 1);
	store_bc_set_state(st, id2, BC_CANCELLED, NULL, err, sizeof(err));
	got = bc_get1(st, id2, &n);
	CHECK_INT("cancelled", got.state, BC_CANCELLED);
	CHECK("cancelled finished", got.finished > 0);
	CHECK_INT("cancelled never started", got.started, 0);

	memset(&list, 0, sizeof(list));
	CHECK_INT("bc list", store_bc_list(st, 10, bcs_cb, &list, err,
	    sizeof(err)), 0);
	CHECK_INT("bc list n", list.n, 2);
	CHECK_INT("bc list newest first", list.b[0].id, id2);
	CHECK_INT("bc list then", list.b[1].id, id1);
	CHECK_STR("bc list title", list.title[1], "Déclaration – “Nous "
	    "refusons…”");
	memset(&list, 0, sizeof(list));
	store_bc_list(st, 1, bcs_cb, &list, err, sizeof(err));
	CHECK_INT("bc list limit", list.n, 1);
	CHECK_INT("bc list limit newest", list.b[0].id, id2);
	store_close(st);

	/* and it all survives a reopen */
	if ((st = open_ok(db)) == NULL) {
		CHECK("bc reopen", 0);
		return;
	}
	got = bc_get1(st, id1, &n);
	CHECK_INT("reopen bc state", got.state, BC_DONE);
	CHECK_INT("reopen bc failed", got.failed, 1);
	store_dlv_counts(st, id1, counts, err, sizeof(err));
	CHECK_INT("reopen dlv sent", counts[DLV_SENT], 1);
	store_close(st);
}

static void
test_names(void)
{
	static const char	*subs[] = { "pending", "active", "unsubscribed",
	    "bounced" };
	int			 i;

	for (i = 0; i < 4; i++) {
		CHECK_STR("sub name", store_sub_strstatus((enum sub_status)i),
		    subs[i]);
		CHECK_INT("sub parse", store_sub_parsestatus(subs[i]), i);
	}
	CHECK_INT("sub parse unknown", store_sub_parsestatus("Active"), -1);
	CHECK_STR("sub name unknown", store_sub_strstatus((enum sub_status)9),
	    "?");
	CHECK_STR("bc name", store_bc_strstate(BC_CANCELLED), "cancelled");
	CHECK_STR("bc name 1", store_bc_strstate(BC_SENDING), "sending");
	CHECK_STR("dlv name", store_dlv_strstate(DLV_DEFERRED), "deferred");
	CHECK_STR("dlv name 3", store_dlv_strstate(DLV_FAILED), "failed");
}

/*
 * The counts kept as rows change (sub_counts: inserts added up per
 * transaction, status changes by trigger) against a real count.
 */
static void
check_counts(const char *db, struct store *st, const char *label)
{
	int64_t		 kept[4];
	char		 err[256], l[128], sql[96];
	int		 k;

	CHECK_INT(label, store_sub_count(st, kept, err, sizeof(err)), 0);
	for (k = 0; k < 4; k++) {
		snprintf(l, sizeof(l), "%s: status %d kept as counted", label,
		    k);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM subscribers "
		    "WHERE status = %d", k);
		CHECK_INT(l, kept[k], sql_int(db, sql));
	}
}

/* One returned message; prints the error if the call fails. */
static struct store_bounce_result
bounce(struct store *st, int64_t bc, int64_t sub, enum store_bounce kind,
    int *rc)
{
	struct store_bounce_result	r;
	char				err[256];

	*rc = store_bounce_record(st, bc, sub, kind, 3, &r, err, sizeof(err));
	if (*rc == -1)
		printf("bounce: %s\n", err);
	return r;
}

/*
 * Returned messages: each (broadcast, subscriber, kind) counts once; a
 * hard bounce bounces at once, soft ones from three broadcasts do, a
 * complaint unsubscribes; nobody who was not a recipient is touched.
 */
static void
test_bounces(void)
{
	static const char *who[] = { "a@example.org", "b@example.org",
	    "c@example.org", "d@example.org", "late@example.org" };
	struct store_bounce_result	 r;
	struct store			*st;
	struct broadcast		 bc, got;
	struct subs			 s;
	enum store_upsert		 what;
	char				 db[256], err[256];
	int64_t				 id[4], sub[5];
	int				 i, n, rc;

	store_at(db, sizeof(db), "bounce");
	if ((st = open_ok(db)) == NULL) {
		CHECK("bounce open", 0);
		return;
	}
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = "T";
	bc.source = "T\n";
	bc.filename = "t.txt";
	for (i = 0; i < 4; i++)
		upsert(st, 0, who[i], "", "{}", SUB_ACTIVE, &what);
	for (i = 0; i < 4; i++) {
		CHECK_INT("bounce bc create", store_bc_create(st, &bc,
		    &id[i], err, sizeof(err)), 0);
		CHECK_INT("bounce bc snapshot", slice(st, id[i], 100),
		    0);
	}
	/* joined after the broadcasts: a recipient of none of them */
	upsert(st, 0, who[4], "", "{}", SUB_ACTIVE, &what);
	for (i = 0; i < 5; i++)
		sub[i] = s.id[sub_find(st, who[i], &s)];

	r = bounce(st, id[0], sub[0], STORE_BOUNCE_HARD, &rc);
	CHECK("hard: recorded", rc == 0 && r.known && r.recorded &&
	    r.suppressed && r.status == SUB_BOUNCED);
	r = bounce(st, id[0], sub[0], STORE_BOUNCE_HARD, &rc);
	CHECK("hard again: nothing new", rc == 0 && r.known && !r.recorded &&
	    !r.suppressed && r.status == SUB_BOUNCED);
	got = bc_get1(st, id[0], &n);
	CHECK_INT("hard: the broadcast's bounced count", got.bounced, 1);

	r = bounce(st, id[0], 999999, STORE_BOUNCE_HARD, &rc);
	CHECK("no such subscriber: unknown", rc == 0 && !r.known &&
	    !r.recorded);
	r = bounce(st, 999999, sub[1], STORE_BOUNCE_HARD, &rc);
	CHECK("no such broadcast: unknown", rc == 0 && !r.known);
	r = bounce(st, id[0], sub[4], STORE_BOUNCE_HARD, &rc);
	CHECK("not a recipient: unknown", rc == 0 && !r.known &&
	    !r.recorded && !r.suppressed);
	CHECK_INT("not a recipient: still active", s.status[sub_find(
	    st, who[4], &s)], SUB_ACTIVE);

	/* soft: counted, bounced at the third broadcast */
	r = bounce(st, id[0], sub[1], STORE_BOUNCE_SOFT, &rc);
	CHECK("soft 1", rc == 0 && r.recorded && r.soft == 1 &&
	    !r.suppressed && r.status == SUB_ACTIVE);
	r = bounce(st, id[0], sub[1], STORE_BOUNCE_SOFT, &rc);
	CHECK("soft 1 again: once", rc == 0 && !r.recorded && !r.suppressed);
	r = bounce(st, id[1], sub[1], STORE_BOUNCE_SOFT, &rc);
	CHECK("soft 2", rc == 0 && r.recorded && r.soft == 2 &&
	    !r.suppressed && r.status == SUB_ACTIVE);
	r = bounce(st, id[2], sub[1], STORE_BOUNCE_SOFT, &rc);
	CHECK("soft 3: bounced", rc == 0 && r.recorded && r.soft == 3 &&
	    r.suppressed && r.status == SUB_BOUNCED);
	CHECK_INT("soft 3: status", s.status[sub_find(st, who[1], &s)],
	    SUB_BOUNCED);
	got = bc_get1(st, id[0], &n);
	CHECK_INT("bc 1 bounced: a hard, b soft", got.bounced, 2);

	/* a recipient counted once per broadcast, soft then hard */
	r = bounce(st, id[3], sub[3], STORE_BOUNCE_SOFT, &rc);
	r = bounce(st, id[3], sub[3], STORE_BOUNCE_HARD, &rc);
	CHECK("soft then hard: bounced", rc == 0 && r.recorded &&
	    r.suppressed);
	got = bc_get1(st, id[3], &n);
	CHECK_INT("soft then hard: one recipient bounced", got.bounced, 1);

	/* complaints: unsubscribed at once, counted apart */
	r = bounce(st, id[0], sub[2], STORE_COMPLAINT, &rc);
	CHECK("complaint", rc == 0 && r.recorded && r.suppressed &&
	    r.status == SUB_UNSUBSCRIBED);
	r = bounce(st, id[0], sub[2], STORE_COMPLAINT, &rc);
	CHECK("complaint again: once", rc == 0 && !r.recorded);
	got = bc_get1(st, id[0], &n);
	CHECK_INT("complained", got.complained, 1);
	CHECK_INT("a complaint is no bounce", got.bounced, 2);
	/* the subscriber only (a List-Unsubscribe token): broadcast 0 */
	r = bounce(st, 0, sub[4], STORE_COMPLAINT, &rc);
	CHECK("complaint, broadcast unknown", rc == 0 && r.known &&
	    r.recorded && r.suppressed && r.status == SUB_UNSUBSCRIBED);

	CHECK_INT("bad kind refused", store_bounce_record(st, id[0],
	    sub[0], (enum store_bounce)0, 3, &r, err, sizeof(err)), -1);
	check_counts(db, st, "counts after bounces");
	store_close(st);
}

static int
row_id_cb(const struct subscriber *sub, void *arg)
{
	*(int64_t *)arg = sub->id;
	return 0;
}

/* A subscriber's row as text, to compare two stores. */
static int
row_text_cb(const struct subscriber *sub, void *arg)
{
	char	*out = arg;

	snprintf(out, 512, "%s|%s|%s|%d|%s", sub->email, sub->name,
	    sub->fields, (int)sub->status, sub->lang ? sub->lang : "");
	return 0;
}

#define ROWS_N	1203

static void
rows_email(int i, char *out, size_t len)
{
	/* keys seen before (at 0..2 and again later, also across the
	 * chunk boundary at 500) and new ones, in mixed case */
	static const struct { int at; const char *email; } fixed[] = {
		{ 0, "Act@Example.org" }, { 1, "pend@example.org" },
		{ 2, "gone@example.org" }, { 5, "ACT@example.org" },
		{ 510, "PEND@example.org" }, { 700, "New3@Example.org" },
		{ 1000, "gone@EXAMPLE.org" }, { 1202, "new1199@example.org" },
	};
	size_t	k;

	for (k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
		if (fixed[k].at == i) {
			snprintf(out, len, "%s", fixed[k].email);
			return;
		}
	snprintf(out, len, "%s%d@example.org", i % 7 ? "new" : "New", i);
}

/*
 * A chunked import gives what a row at a time gives: two stores, the
 * same rows, one through store_sub_upsert, one through
 * store_sub_upsert_rows (in a transaction, as the daemon does, then once
 * more without one); the same outcome per row and the same rows after.
 */
static void
test_upsert_rows(void)
{
	static struct store_sub_row	 rows[ROWS_N];
	static char			 addr[ROWS_N][ADDR_BUFSZ];
	static char			 key[ROWS_N][ADDR_BUFSZ];
	static char			 name[ROWS_N][64];
	struct store			*a, *b;
	char				 dba[256], dbb[256], err[256];
	char				 ta[512], tb[512], e[ADDR_BUFSZ];
	enum store_upsert		 what;
	int64_t				 ia, ib;
	int				 i, pass, same, rc;

	store_at(dba, sizeof(dba), "rows_a");
	store_at(dbb, sizeof(dbb), "rows_b");
	a = open_ok(dba);
	b = open_ok(dbb);
	CHECK("rows: open", a != NULL && b != NULL);
	if (a == NULL || b == NULL) {
		store_close(a);
		store_close(b);
		return;
	}
	for (i = 0; i < 2; i++) {
		struct store *st = i ? b : a;

		upsert(st, 0, "act@example.org", "Act", "{}", SUB_ACTIVE,
		    &what);
		upsert(st, 0, "pend@example.org", "P", "{}", SUB_PENDING,
		    &what);
		upsert(st, 0, "gone@example.org", "G", "{}", SUB_ACTIVE,
		    &what);
		store_sub_set_status(st, "gone@example.org", SUB_UNSUBSCRIBED,
		    0, NULL, err, sizeof(err));
	}
	for (i = 0; i < ROWS_N; i++) {
		rows_email(i, e, sizeof(e));
		if (addr_normalize(e, addr[i], sizeof(addr[i]), err,
		    sizeof(err)) == -1) {
			printf("rows: %s: %s\n", e, err);
			CHECK("rows: addresses", 0);
			goto out;
		}
		addr_key(addr[i], key[i], sizeof(key[i]));
		/* quotes, a backslash, braces and UTF-8: array literals */
		snprintf(name[i], sizeof(name[i]), "N\"%d\\ {ü}, «x»", i);
	}
	for (pass = 0; pass < 2; pass++) {
		ia = store_import_id(a);
		ib = store_import_id(b);
		for (i = 0; i < ROWS_N; i++) {
			rows[i].email = addr[i];
			rows[i].key = key[i];
			rows[i].name = name[i];
			rows[i].fields = pass ? "{\"k\":\"v\\\"\"}" : "{}";
			/* a language on some rows; a row without keeps theirs */
			rows[i].lang = i % 3 == 0 ? "" : pass ? "pt-BR" :
			    i % 3 == 1 ? "es" : "ar";
			rows[i].status = SUB_ACTIVE;
		}
		if (pass == 0)
			store_begin(b, err, sizeof(err));
		rc = store_sub_upsert_rows(b, ib, rows, ROWS_N, err,
		    sizeof(err));
		if (rc == -1)
			printf("rows: %s\n", err);
		CHECK_INT(pass ? "rows: upsert, autocommit" :
		    "rows: upsert in a transaction", rc, 0);
		if (pass == 0)
			CHECK_INT("rows: commit", store_commit(b, err,
			    sizeof(err)), 0);
		for (i = 0, same = 1; i < ROWS_N; i++) {
			if (store_sub_upsert(a, ia, rows[i].email, rows[i].key,
			    rows[i].name, rows[i].fields, SUB_ACTIVE, &what,
			    err, sizeof(err)) == -1) {
				printf("rows: %s\n", err);
				same = 0;
				break;
			}
			if (rows[i].lang[0] != '\0' && (what == UPSERT_ADDED ||
			    what == UPSERT_UPDATED) && store_sub_set_lang(a,
			    rows[i].key, rows[i].lang, err, sizeof(err)) == -1) {
				printf("rows: %s\n", err);
				same = 0;
				break;
			}
			if (what != rows[i].what) {
				printf("rows: pass %d row %d %s: %d, one at a "
				    "time %d\n", pass, i, rows[i].key,
				    (int)rows[i].what, (int)what);
				same = 0;
			}
		}
		CHECK(pass ? "rows: again, outcome per row as one at a time" :
		    "rows: outcome per row as one at a time", same);
		CHECK_INT("rows: first pass adds", pass == 0 ?
		    rows[3].what : UPSERT_ADDED, UPSERT_ADDED);
		CHECK_INT("rows: across chunks a duplicate", rows[700].what,
		    UPSERT_DUPLICATE);
	}
	for (i = 0, same = 1; i < ROWS_N; i++) {
		ta[0] = tb[0] = '\0';
		store_sub_find(a, key[i], row_text_cb, ta, err, sizeof(err));
		store_sub_find(b, key[i], row_text_cb, tb, err, sizeof(err));
		if (strcmp(ta, tb) != 0 || ta[0] == '\0') {
			printf("rows: %s: '%s' against '%s'\n", key[i], tb, ta);
			same = 0;
		}
	}
	CHECK("rows: the same rows as one at a time", same);
	/* new subscribers numbered in the file's order, as one at a time */
	for (i = 3, same = 1, ia = 0; i < ROWS_N; i++) {
		if (i == 5 || i == 510 || i == 700 || i == 1000 || i == 1202)
			continue;	/* seen before */
		ib = 0;
		store_sub_find(b, key[i], row_id_cb, &ib, err, sizeof(err));
		if (ib <= ia) {
			printf("rows: row %d %s: id %lld after %lld\n", i,
			    key[i], (long long)ib, (long long)ia);
			same = 0;
			break;
		}
		ia = ib;
	}
	CHECK("rows: new ids in the file's order", same);
	check_counts(dbb, b, "rows: counts");
out:
	store_close(a);
	store_close(b);
}

int
main(void)
{
	struct store	*st;
	char		 db[256];

	umask(022);	/* the store must not rely on the caller's umask */
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (sdb_pg() == NULL) {
		test_schema();
		test_refuse();
		test_migrate();
	} else {
		test_schema_pg();
		test_pg_secret();
	}
	test_url();
	store_at(db, sizeof(db), "subs");
	if ((st = open_ok(db)) != NULL) {
		test_upsert(st);
		check_counts(db, st, "counts after upserts");
		test_status(st);
		check_counts(db, st, "counts after status changes");
		store_close(st);
	} else
		CHECK("subs open", 0);
	test_upsert_rows();
	test_list();
	test_broadcast();
	test_snapshot_slices();
	test_resend();
	test_languages();
	test_bounces();
	test_names();
	CHECK_INT("temp dir removed", nftw(dir, rm_cb, 16, FTW_DEPTH |
	    FTW_PHYS), 0);
	return unit_done("store");
}
