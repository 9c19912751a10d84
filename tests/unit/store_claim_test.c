/*
 * store_claim_test.c -- the claim model of store.h (issue 11): owners
 * and leases, groups of results added to the counts, release, postpone,
 * crash recovery, settled, and the migration from schema 3.  Ends with a
 * rough timing of a claim and a record in a large broadcast (printed, not
 * asserted; STORE_CLAIM_ROWS sets its size, 200000 by default).  At 1M
 * rows, -O2, no sanitizer: claim 500 in 4-7 ms, record 500 in 2-4 ms,
 * commits included (the same order as at 2,000 rows: the cost follows
 * the rows claimed, not the broadcast's size).  Under valgrind the whole
 * test takes about 25 s, 20 of them to make the 200,000 rows.
 *
 * Everything lives in a temporary folder under /tmp, removed at the end.
 * Rows are inspected with a second connection where the interface does
 * not show them.  With STORE_URL set (store_db.h) the same checks run on
 * PostgreSQL, each test in a database of its own; the migration from
 * SQLite's schema 3 is SQLite's alone.
 */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>

#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_db.h"
#include "unit.h"

#define APPLICATION_ID	0x42525344	/* "BRSD", store_sqlite.c */
#define T0		1800000000000LL	/* a fixed now, unix ms */
#define NMAX		64

static char	 dir[] = "/tmp/store_claim_test.XXXXXX";

static void
path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* A new store called name, on the backend under test. */
static void
store_at(char *out, size_t len, const char *name)
{
	if (sdb_new(dir, "sc", name, out, len) == -1)
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
		return sdb_pg_int(db, sql, -1);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return -998;
	}
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_type(q, 0) == SQLITE_NULL ? -1 :
			    sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	} else
		printf("sql_int: %s: %s\n", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
	return v;
}

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
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static double
mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

/* n active subscribers s0..s(n-1), and a broadcast of them all. */
static int64_t
setup(struct store *st, const char *tag, int n)
{
	struct broadcast	 bc;
	enum store_upsert	 what;
	char			 email[64], err[256];
	int64_t			 id;
	int			 i, more;

	for (i = 0; i < n; i++) {
		snprintf(email, sizeof(email), "%s%d@example.org", tag, i);
		if (store_sub_upsert(st, 0, email, email, "", "{}", SUB_ACTIVE,
		    &what, err, sizeof(err)) == -1) {
			printf("setup: %s\n", err);
			return -1;
		}
	}
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = tag;
	bc.source = "Claims\n";
	if (store_bc_create(st, &bc, &id, err, sizeof(err)) == -1 ||
	    store_bc_snapshot(st, id, 1000, &more, err, sizeof(err)) == -1) {
		printf("setup: %s\n", err);
		return -1;
	}
	return id;
}

struct got {
	int		 n;
	int		 stop_after;
	int64_t		 sub[NMAX];
	int		 attempts[NMAX];
	int		 active[NMAX];
	char		 email[NMAX][64];
};

static int
got_cb(const struct delivery *d, void *arg)
{
	struct got	*g = arg;

	if (g->n >= NMAX)
		return -1;
	g->sub[g->n] = d->subscriber_id;
	g->attempts[g->n] = d->attempts;
	g->active[g->n] = d->active;
	snprintf(g->email[g->n], sizeof(g->email[0]), "%s", d->email);
	g->n++;
	return g->stop_after > 0 && g->n >= g->stop_after ? -1 : 0;
}

static int
claim(struct store *st, int64_t bc, const char *owner, int64_t now,
    int64_t lease, int limit, struct got *g)
{
	char	err[256];
	int	n;

	memset(g, 0, sizeof(*g));
	n = store_dlv_claim_rows(st, bc, owner, now, lease, limit, got_cb, g,
	    err, sizeof(err));
	if (n == -1)
		printf("claim: %s\n", err);
	return n;
}

/* The timing's claims: counted and checked, not kept. */
struct big {
	long	 rows;
	int	 n;
	int	 ineligible;
};

static int
big_cb(const struct delivery *d, void *arg)
{
	struct big	*b = arg;

	/* pending rows are the second half, less every tenth (deferred) */
	if (d->subscriber_id <= b->rows / 2 || d->subscriber_id % 10 == 0 ||
	    d->attempts != 0)
		b->ineligible++;
	b->n++;
	return 0;
}

static struct broadcast	 bc_last;

static int
bc_cb(const struct broadcast *b, void *arg)
{
	(void)arg;
	bc_last = *b;
	return 0;
}

/* The counts of bc as store_bc_get shows them. */
static struct broadcast
bc_get(struct store *st, int64_t id)
{
	char	err[256];

	memset(&bc_last, 0, sizeof(bc_last));
	bc_last.total = -1;
	if (store_bc_get(st, id, bc_cb, NULL, err, sizeof(err)) == -1)
		printf("bc_get: %s\n", err);
	return bc_last;
}

/* The kept counts of bc against the rows: pending, sent, deferred,
 * failed, total. */
static void
check_counts(struct store *st, int64_t id, const char *label, int64_t pending,
    int64_t sent, int64_t deferred, int64_t failed, int64_t total)
{
	struct broadcast	 b = bc_get(st, id);
	int64_t			 real[4];
	char			 err[256], l[160];

	snprintf(l, sizeof(l), "%s: pending", label);
	CHECK_INT(l, b.pending, pending);
	snprintf(l, sizeof(l), "%s: sent", label);
	CHECK_INT(l, b.sent, sent);
	snprintf(l, sizeof(l), "%s: deferred", label);
	CHECK_INT(l, b.deferred, deferred);
	snprintf(l, sizeof(l), "%s: failed", label);
	CHECK_INT(l, b.failed, failed);
	snprintf(l, sizeof(l), "%s: total", label);
	CHECK_INT(l, b.total, total);
	if (store_dlv_counts(st, id, real, err, sizeof(err)) == -1) {
		printf("dlv_counts: %s\n", err);
		CHECK(label, 0);
		return;
	}
	snprintf(l, sizeof(l), "%s: rows pending (claimed included)", label);
	CHECK_INT(l, real[DLV_PENDING], pending);
	snprintf(l, sizeof(l), "%s: rows sent", label);
	CHECK_INT(l, real[DLV_SENT], sent);
	snprintf(l, sizeof(l), "%s: rows deferred", label);
	CHECK_INT(l, real[DLV_DEFERRED], deferred);
	snprintf(l, sizeof(l), "%s: rows failed", label);
	CHECK_INT(l, real[DLV_FAILED], failed);
}

static int
record(struct store *st, const char *owner, const struct dlv_result *r,
    size_t n, struct dlv_tally *t)
{
	char	err[256];

	memset(t, 0, sizeof(*t));
	if (store_dlv_record(st, owner, r, n, t, err, sizeof(err)) == -1) {
		printf("record: %s\n", err);
		return -1;
	}
	return 0;
}

static struct dlv_result
result(int64_t bc, int64_t sub, enum dlv_state state, int attempts,
    int64_t next_at, int code, const char *msg)
{
	struct dlv_result	r;

	r.broadcast_id = bc;
	r.subscriber_id = sub;
	r.state = state;
	r.attempts = attempts;
	r.next_at = next_at;
	r.code = code;
	r.msg = msg;
	return r;
}

static long long
row_int(const char *db, int64_t bc, int64_t sub, const char *col)
{
	char	sql[256];

	snprintf(sql, sizeof(sql), "SELECT %s FROM deliveries WHERE "
	    "broadcast_id = %lld AND subscriber_id = %lld", col, (long long)bc,
	    (long long)sub);
	return sql_int(db, sql);
}

/*
 * Two owners take turns on one broadcast with leases that never lapse:
 * no row is handed out twice, every row once, and claimed rows stay
 * pending in the counts.
 */
static void
test_two_owners(void)
{
	static const struct {
		const char	*owner;
		int		 limit;
	} turns[] = {
		{ "node-a", 4 }, { "node-b", 4 }, { "node-a", 1 },
		{ "node-b", 7 }, { "node-a", 3 }, { "node-b", 50 },
		{ "node-a", 50 },
	};
	struct store	*st;
	struct got	 g;
	char		 db[256], l[64];
	int		 seen[NMAX], i, k, n, dup = 0, total = 0;
	int64_t		 id, first = 0;

	store_at(db, sizeof(db), "owners");
	if ((st = open_ok(db)) == NULL || (id = setup(st, "o", 20)) <= 0) {
		CHECK("owners setup", 0);
		store_close(st);
		return;
	}
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < (int)(sizeof(turns) / sizeof(turns[0])); i++) {
		n = claim(st, id, turns[i].owner, T0 + i, 60000,
		    turns[i].limit, &g);
		snprintf(l, sizeof(l), "turn %d: claimed", i);
		CHECK(l, n >= 0 && n == g.n);
		for (k = 0; k < g.n; k++) {
			if (first == 0)
				first = g.sub[k];
			if (g.sub[k] - first < 0 || g.sub[k] - first >= NMAX)
				continue;
			if (seen[g.sub[k] - first]++)
				dup++;
			if (k > 0 && g.sub[k] <= g.sub[k - 1])
				dup++;
		}
		total += g.n;
	}
	CHECK_INT("owners: no row twice, in order", dup, 0);
	CHECK_INT("owners: every row once", total, 20);
	CHECK_INT("owners: a's rows", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE state = 4 AND owner = 'node-a'"), 4 + 1 + 3);
	CHECK_INT("owners: first claim in id order", row_int(db, id, first,
	    "owner = 'node-a'"), 1);
	check_counts(st, id, "owners: claimed count as pending", 20, 0, 0, 0,
	    20);
	CHECK_INT("owners: nothing left", claim(st, id, "node-c", T0 + 100,
	    60000, 50, &g), 0);

	/* a callback that stops keeps its row, and only that */
	store_dlv_release_stale(st, "node-b", NULL, l, sizeof(l));
	memset(&g, 0, sizeof(g));
	g.stop_after = 2;
	CHECK_INT("owners: stopped claim", store_dlv_claim_rows(st, id,
	    "node-c", T0 + 200, 1000, 50, got_cb, &g, l, sizeof(l)), 2);
	CHECK_INT("owners: stopped claim rows", sql_int(db, "SELECT count(*) "
	    "FROM deliveries WHERE owner = 'node-c'"), 2);
	store_close(st);
}

/*
 * A lapsed lease: the rows go to another owner, and the first owner's
 * late results for them are skipped, counted, and change nothing.
 */
static void
test_lease(void)
{
	struct store		*st;
	struct got		 a, b;
	struct dlv_result	 r[3];
	struct dlv_tally	 t;
	char			 db[256], err[256];
	int64_t			 id, last, n;
	int			 i;

	store_at(db, sizeof(db), "lease");
	if ((st = open_ok(db)) == NULL || (id = setup(st, "l", 4)) <= 0) {
		CHECK("lease setup", 0);
		store_close(st);
		return;
	}
	CHECK_INT("lease: a claims", claim(st, id, "node-a", T0, 1000, 3, &a),
	    3);
	CHECK_INT("lease: a's lease", row_int(db, id, a.sub[0], "lease"),
	    T0 + 1000);
	CHECK_INT("lease: live, b gets the rest", claim(st, id, "node-b",
	    T0 + 500, 1000, 10, &b), 1);
	last = b.sub[0];
	CHECK_INT("lease: at expiry still a's", claim(st, id, "node-b",
	    T0 + 1000, 1000, 10, &b), 0);
	CHECK_INT("lease: lapsed, b takes them", claim(st, id, "node-b",
	    T0 + 1001, 1000, 10, &b), 3);
	CHECK_INT("lease: same rows", b.sub[0] == a.sub[0] &&
	    b.sub[2] == a.sub[2], 1);
	CHECK_INT("lease: no attempt spent", b.attempts[0], 0);
	CHECK_INT("lease: owner now b", row_int(db, id, a.sub[1],
	    "owner = 'node-b'"), 1);
	CHECK_INT("lease: kept pending as before", row_int(db, id, a.sub[1],
	    "prev_state"), 0);

	/* a's results arrive late: all skipped */
	for (i = 0; i < 3; i++)
		r[i] = result(id, a.sub[i], DLV_SENT, 1, 0, 250, "ok");
	CHECK_INT("lease: late record", record(st, "node-a", r, 3, &t), 0);
	CHECK_INT("lease: late skipped", t.skipped, 3);
	CHECK_INT("lease: late applied", t.applied, 0);
	CHECK_INT("lease: late sent", t.sent, 0);
	check_counts(st, id, "lease: late changes nothing", 4, 0, 0, 0, 4);
	CHECK_INT("lease: still b's", row_int(db, id, a.sub[0], "state"), 4);

	/* b's results count */
	r[2] = result(id, a.sub[2], DLV_FAILED, 1, 0, 550, "5.1.1");
	CHECK_INT("lease: b records", record(st, "node-b", r, 3, &t), 0);
	CHECK_INT("lease: b applied", t.applied, 3);
	CHECK_INT("lease: b skipped", t.skipped, 0);
	check_counts(st, id, "lease: b's results", 1, 2, 0, 1, 4);
	CHECK_INT("lease: recorded twice is skipped", record(st, "node-b", r,
	    1, &t), 0);
	CHECK_INT("lease: twice skipped", t.skipped, 1);
	check_counts(st, id, "lease: not counted twice", 1, 2, 0, 1, 4);

	/* a deferred row whose claim lapses is still deferred once released */
	r[0] = result(id, last, DLV_DEFERRED, 1, T0 + 2000, 451, NULL);
	CHECK_INT("lease: defer the last", record(st, "node-b", r, 1, &t), 0);
	CHECK_INT("lease: a takes it", claim(st, id, "node-a", T0 + 2000, 100,
	    10, &a), 1);
	CHECK_INT("lease: b takes it over", claim(st, id, "node-b", T0 + 2101,
	    100, 10, &b), 1);
	check_counts(st, id, "lease: taken over", 1, 2, 0, 1, 4);
	CHECK_INT("lease: b lets it go", store_dlv_release(st, "node-b", id,
	    &last, 1, &n, err, sizeof(err)), 0);
	CHECK_INT("lease: deferred as before", row_int(db, id, last, "state"),
	    DLV_DEFERRED);
	CHECK_INT("lease: due as before", row_int(db, id, last, "next_at"),
	    T0 + 2000);
	CHECK_INT("lease: attempts as before", row_int(db, id, last,
	    "attempts"), 1);
	check_counts(st, id, "lease: let go", 0, 2, 1, 1, 4);
	store_close(st);
}

/*
 * Groups of results add to the counts: sent, deferred, failed, dropped
 * (the row deleted, total down), and a deferred row claimed again moves
 * from deferred to pending and on.
 */
static void
test_record(void)
{
	struct store		*st;
	struct got		 g;
	struct dlv_result	 r[8];
	struct dlv_tally	 t;
	char			 db[256], err[256];
	int64_t			 id, s[6];
	int			 i;

	store_at(db, sizeof(db), "record");
	if ((st = open_ok(db)) == NULL || (id = setup(st, "r", 6)) <= 0) {
		CHECK("record setup", 0);
		store_close(st);
		return;
	}
	check_counts(st, id, "record: before", 6, 0, 0, 0, 6);
	CHECK_INT("record: claim all", claim(st, id, "n1", T0, 30000, 10, &g),
	    6);
	for (i = 0; i < 6; i++)
		s[i] = g.sub[i];
	CHECK_STR("record: email", g.email[0], "r0@example.org");
	CHECK_INT("record: active", g.active[5], 1);

	r[0] = result(id, s[0], DLV_SENT, 1, 0, 250, "2.0.0 queued");
	r[1] = result(id, s[1], DLV_DEFERRED, 1, T0 + 5000, 451, "4.7.1 later");
	r[2] = result(id, s[2], DLV_FAILED, 1, 0, 550, "5.1.1 no such user");
	r[3] = result(id, s[3], DLV_DROPPED, 0, 0, 0, NULL);
	r[4] = result(id, s[4], DLV_SENT, 1, 0, 250, NULL);
	CHECK_INT("record: group 1", record(st, "n1", r, 5, &t), 0);
	CHECK_INT("record: g1 applied", t.applied, 5);
	CHECK_INT("record: g1 sent", t.sent, 2);
	CHECK_INT("record: g1 deferred", t.deferred, 1);
	CHECK_INT("record: g1 failed", t.failed, 1);
	CHECK_INT("record: g1 dropped", t.dropped, 1);
	check_counts(st, id, "record: group 1", 1, 2, 1, 1, 5);
	CHECK_INT("record: dropped row gone", sql_int(db, "SELECT count(*) "
	    "FROM deliveries"), 5);
	CHECK_INT("record: code", row_int(db, id, s[1], "code"), 451);
	CHECK_INT("record: next_at", row_int(db, id, s[1], "next_at"),
	    T0 + 5000);
	CHECK_INT("record: attempts", row_int(db, id, s[1], "attempts"), 1);
	CHECK_INT("record: owner cleared", row_int(db, id, s[1],
	    "owner IS NULL AND lease = 0"), 1);
	CHECK_INT("record: message", row_int(db, id, s[2],
	    "error = '5.1.1 no such user'"), 1);

	/* the deferred row comes back when due, counted pending meanwhile */
	CHECK_INT("record: not yet due", claim(st, id, "n1", T0 + 4999, 30000,
	    10, &g), 0);
	CHECK_INT("record: due", claim(st, id, "n1", T0 + 5000, 30000, 10, &g),
	    1);
	CHECK_INT("record: due row", g.sub[0], s[1]);
	CHECK_INT("record: due attempts", g.attempts[0], 1);
	check_counts(st, id, "record: deferred claimed", 2, 2, 0, 1, 5);
	r[0] = result(id, s[1], DLV_DEFERRED, 2, T0 + 15000, 451, "again");
	r[1] = result(id, s[5], DLV_SENT, 1, 0, 250, NULL);
	CHECK_INT("record: group 2", record(st, "n1", r, 2, &t), 0);
	check_counts(st, id, "record: group 2", 0, 3, 1, 1, 5);
	CHECK_INT("record: due again", claim(st, id, "n1", T0 + 15000, 30000,
	    10, &g), 1);
	r[0] = result(id, s[1], DLV_SENT, 3, 0, 250, NULL);
	CHECK_INT("record: group 3", record(st, "n1", r, 1, &t), 0);
	check_counts(st, id, "record: group 3", 0, 4, 0, 1, 5);

	/* not a result: refused before anything is written */
	r[0] = result(id, s[0], DLV_PENDING, 0, 0, 0, NULL);
	CHECK_INT("record: pending refused", store_dlv_record(st, "n1", r, 1,
	    &t, err, sizeof(err)), -1);

	/* inside the caller's transaction: undone with it */
	id = setup(st, "r2-", 2);
	claim(st, id, "n1", T0, 30000, 10, &g);
	r[0] = result(id, g.sub[0], DLV_SENT, 1, 0, 250, NULL);
	CHECK_INT("record: begin", store_begin(st, err, sizeof(err)), 0);
	CHECK_INT("record: in transaction", record(st, "n1", r, 1, &t), 0);
	CHECK_INT("record: rollback", store_rollback(st), 0);
	/* r0..r5 are still subscribers (r3 left only the first broadcast) */
	check_counts(st, id, "record: rolled back", 8, 0, 0, 0, 8);
	CHECK_INT("record: begin again", store_begin(st, err, sizeof(err)), 0);
	CHECK_INT("record: in transaction 2", record(st, "n1", r, 1, &t), 0);
	CHECK_INT("record: commit", store_commit(st, err, sizeof(err)), 0);
	check_counts(st, id, "record: committed", 7, 1, 0, 0, 8);
	store_close(st);
}

/*
 * Release and postpone put a claim back as it was: state, attempts and
 * (release) due time; postpone sets a new due time.  Only the owner's.
 */
static void
test_release(void)
{
	struct store		*st;
	struct got		 g;
	struct dlv_result	 r;
	struct dlv_tally	 t;
	char			 db[256], err[256];
	int64_t			 id, s[4], n;
	int			 changed;

	store_at(db, sizeof(db), "release");
	if ((st = open_ok(db)) == NULL || (id = setup(st, "p", 4)) <= 0) {
		CHECK("release setup", 0);
		store_close(st);
		return;
	}
	/* s[0] deferred after 2 attempts, due at T0 */
	claim(st, id, "n1", T0 - 10000, 1000, 1, &g);
	s[0] = g.sub[0];
	r = result(id, s[0], DLV_DEFERRED, 2, T0, 421, "busy");
	record(st, "n1", &r, 1, &t);
	CHECK_INT("release: claim", claim(st, id, "n1", T0, 60000, 10, &g), 4);
	s[1] = g.sub[1];
	s[2] = g.sub[2];
	s[3] = g.sub[3];
	CHECK_INT("release: deferred row's attempts", g.attempts[0], 2);
	check_counts(st, id, "release: all claimed", 4, 0, 0, 0, 4);

	CHECK_INT("release: not the owner", store_dlv_release(st, "n2", id,
	    s, 2, &n, err, sizeof(err)), 0);
	CHECK_INT("release: not the owner: none", n, 0);
	CHECK_INT("release: two", store_dlv_release(st, "n1", id, s, 2, &n,
	    err, sizeof(err)), 0);
	CHECK_INT("release: two released", n, 2);
	CHECK_INT("release: deferred again", row_int(db, id, s[0], "state"),
	    DLV_DEFERRED);
	CHECK_INT("release: same attempts", row_int(db, id, s[0], "attempts"),
	    2);
	CHECK_INT("release: same due", row_int(db, id, s[0], "next_at"), T0);
	CHECK_INT("release: pending again", row_int(db, id, s[1], "state"),
	    DLV_PENDING);
	CHECK_INT("release: no owner", row_int(db, id, s[1],
	    "owner IS NULL AND lease = 0"), 1);
	check_counts(st, id, "release: two back", 3, 0, 1, 0, 4);
	CHECK_INT("release: subs need bc", store_dlv_release(st, "n1", 0, s,
	    1, &n, err, sizeof(err)), -1);

	/* postpone: as before, due later, no attempt spent */
	CHECK_INT("postpone: not the owner", store_dlv_postpone(st, "n2", id,
	    s[2], T0 + 9000, &changed, err, sizeof(err)), 0);
	CHECK_INT("postpone: not the owner: unchanged", changed, 0);
	CHECK_INT("postpone", store_dlv_postpone(st, "n1", id, s[2],
	    T0 + 9000, &changed, err, sizeof(err)), 0);
	CHECK_INT("postpone: changed", changed, 1);
	CHECK_INT("postpone: pending", row_int(db, id, s[2], "state"),
	    DLV_PENDING);
	CHECK_INT("postpone: attempts", row_int(db, id, s[2], "attempts"), 0);
	check_counts(st, id, "postpone: counts", 3, 0, 1, 0, 4);
	CHECK_INT("postpone: released ones due", claim(st, id, "n1", T0 + 8999,
	    60000, 10, &g), 2);
	CHECK_INT("postpone: first the deferred", g.sub[0], s[0]);
	CHECK_INT("postpone: its attempts", g.attempts[0], 2);
	CHECK_INT("postpone: then the pending", g.sub[1], s[1]);
	CHECK_INT("postpone: deferred one", store_dlv_postpone(st, "n1", id,
	    s[0], T0 + 9500, &changed, err, sizeof(err)), 0);
	CHECK_INT("postpone: deferred state", row_int(db, id, s[0], "state"),
	    DLV_DEFERRED);
	CHECK_INT("postpone: deferred due", row_int(db, id, s[0], "next_at"),
	    T0 + 9500);
	CHECK_INT("postpone: deferred attempts", row_int(db, id, s[0],
	    "attempts"), 2);
	CHECK_INT("postpone: due", claim(st, id, "n1", T0 + 9000, 60000, 10,
	    &g), 1);
	CHECK_INT("postpone: due row", g.sub[0], s[2]);
	CHECK_INT("postpone: due attempts", g.attempts[0], 0);

	/* all of a broadcast */
	CHECK_INT("release: all of bc", store_dlv_release(st, "n1", id, NULL,
	    0, &n, err, sizeof(err)), 0);
	CHECK_INT("release: all of bc released", n, 3);	/* s1, s2, s3 */
	check_counts(st, id, "release: all back", 3, 0, 1, 0, 4);
	CHECK_INT("release: none claimed", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE state = 4"), 0);
	store_close(st);
}

/* At start, every claim of this owner, lapsed or not, in every broadcast. */
static void
test_release_stale(void)
{
	struct store	*st;
	struct got	 g;
	char		 db[256], err[256];
	int64_t		 id1, id2, n;

	store_at(db, sizeof(db), "stale");
	if ((st = open_ok(db)) == NULL || (id1 = setup(st, "x", 5)) <= 0 ||
	    (id2 = setup(st, "y", 1)) <= 0) {
		CHECK("stale setup", 0);
		store_close(st);
		return;
	}
	claim(st, id1, "me", T0, 3600000, 2, &g);
	claim(st, id1, "other", T0, 3600000, 1, &g);
	claim(st, id1, "me", T0 - 100000, 1000, 1, &g);	/* lapsed */
	claim(st, id2, "me", T0, 3600000, 10, &g);
	store_close(st);

	if ((st = open_ok(db)) == NULL) {	/* as after a crash */
		CHECK("stale reopen", 0);
		return;
	}
	CHECK_INT("stale: release", store_dlv_release_stale(st, "me", &n, err,
	    sizeof(err)), 0);
	CHECK_INT("stale: released", n, 2 + 1 + 6);	/* id2: x* and y0 */
	CHECK_INT("stale: other's kept", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE state = 4 AND owner = 'other'"), 1);
	CHECK_INT("stale: mine gone", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE owner = 'me'"), 0);
	CHECK_INT("stale: claimable at once", claim(st, id1, "me", T0, 1000,
	    10, &g), 4);
	check_counts(st, id1, "stale: counts", 5, 0, 0, 0, 5);
	store_close(st);
}

/* Settled only when nothing is pending, deferred or claimed. */
static void
test_settled(void)
{
	struct store		*st;
	struct broadcast	 bc;
	struct got		 g;
	struct dlv_result	 r[2];
	struct dlv_tally	 t;
	char			 db[256], err[256];
	int64_t			 id;
	int			 settled, more;

	store_at(db, sizeof(db), "settled");
	if ((st = open_ok(db)) == NULL || setup(st, "z", 2) <= 0) {
		CHECK("settled setup", 0);
		store_close(st);
		return;
	}
	memset(&bc, 0, sizeof(bc));
	bc.title = bc.subject = bc.source = "Settled";
	store_bc_create(st, &bc, &id, err, sizeof(err));
	CHECK_INT("settled: call", store_bc_settled(st, id, &settled, err,
	    sizeof(err)), 0);
	CHECK_INT("settled: recipients not taken yet", settled, 0);
	store_bc_snapshot(st, id, 100, &more, err, sizeof(err));
	store_bc_settled(st, id, &settled, err, sizeof(err));
	CHECK_INT("settled: pending", settled, 0);
	claim(st, id, "n", T0, 1000, 10, &g);
	store_bc_settled(st, id, &settled, err, sizeof(err));
	CHECK_INT("settled: claimed", settled, 0);
	r[0] = result(id, g.sub[0], DLV_SENT, 1, 0, 250, NULL);
	r[1] = result(id, g.sub[1], DLV_DEFERRED, 1, T0 + 1000, 451, NULL);
	record(st, "n", r, 2, &t);
	store_bc_settled(st, id, &settled, err, sizeof(err));
	CHECK_INT("settled: deferred", settled, 0);
	claim(st, id, "n", T0 + 1000, 1000, 10, &g);
	r[0] = result(id, g.sub[0], DLV_FAILED, 2, 0, 550, NULL);
	record(st, "n", r, 1, &t);
	store_bc_settled(st, id, &settled, err, sizeof(err));
	CHECK_INT("settled: all sent or failed", settled, 1);
	CHECK_INT("settled: no such broadcast", store_bc_settled(st, id + 9,
	    &settled, err, sizeof(err)), -1);
	store_close(st);
}

/*
 * A database of schema 3, made with the statements of schemas 1-3, is
 * upgraded in place: rows kept, the new columns and indexes there, and
 * its rows claimable.  A row deferred in seconds (as schema 3 kept it) is
 * due at once on the ms clock.
 */
static void
test_migrate(void)
{
	static const char	*v3 =
	    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	    "INSERT INTO meta VALUES ('import_seq', 0);"
	    "CREATE TABLE subscribers (id INTEGER PRIMARY KEY,"
	    "  email TEXT NOT NULL, key TEXT NOT NULL UNIQUE,"
	    "  name TEXT NOT NULL DEFAULT '', fields TEXT NOT NULL DEFAULT '{}',"
	    "  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),"
	    "  import_id INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
	    "  updated INTEGER NOT NULL);"
	    "CREATE TABLE broadcasts (id INTEGER PRIMARY KEY,"
	    "  title TEXT NOT NULL, subject TEXT NOT NULL, source TEXT NOT NULL,"
	    "  filename TEXT NOT NULL DEFAULT '',"
	    "  markdown INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL,"
	    "  created INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0,"
	    "  finished INTEGER NOT NULL DEFAULT 0,"
	    "  total INTEGER NOT NULL DEFAULT 0, sent INTEGER NOT NULL DEFAULT 0,"
	    "  deferred INTEGER NOT NULL DEFAULT 0,"
	    "  failed INTEGER NOT NULL DEFAULT 0);"
	    "CREATE TABLE deliveries ("
	    "  broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),"
	    "  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),"
	    "  state INTEGER NOT NULL DEFAULT 0,"
	    "  attempts INTEGER NOT NULL DEFAULT 0,"
	    "  next_at INTEGER NOT NULL DEFAULT 0,"
	    "  code INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',"
	    "  updated INTEGER NOT NULL DEFAULT 0,"
	    "  PRIMARY KEY (broadcast_id, subscriber_id)) WITHOUT ROWID;"
	    "CREATE INDEX deliveries_deferred ON deliveries(broadcast_id, "
	    "  next_at) WHERE state = 2;"
	    "ALTER TABLE broadcasts ADD COLUMN snap_next INTEGER;"
	    "ALTER TABLE subscribers ADD COLUMN bounced_by INTEGER NOT NULL "
	    "  DEFAULT 0;"
	    "CREATE INDEX subscribers_bounced_by ON subscribers(bounced_by)"
	    "  WHERE bounced_by != 0;"
	    "ALTER TABLE broadcasts ADD COLUMN reason TEXT;"
	    "CREATE TABLE sub_counts (status INTEGER PRIMARY KEY,"
	    "  n INTEGER NOT NULL);"
	    "INSERT INTO subscribers(id, email, key, status, created, updated)"
	    "  VALUES (1, 'a@x.org', 'a@x.org', 1, 1, 1),"
	    "  (2, 'b@x.org', 'b@x.org', 1, 1, 1),"
	    "  (3, 'c@x.org', 'c@x.org', 1, 1, 1);"
	    "INSERT INTO sub_counts VALUES (0, 0), (1, 3), (2, 0), (3, 0);"
	    "INSERT INTO broadcasts(id, title, subject, source, state, created,"
	    "  total, sent, deferred, snap_next) VALUES (1, 'Old', 'Old', 'Old',"
	    "  1, 1, 3, 1, 1, NULL);"
	    "INSERT INTO deliveries(broadcast_id, subscriber_id, state,"
	    "  attempts, next_at) VALUES (1, 1, 1, 1, 0), (1, 2, 0, 0, 0),"
	    "  (1, 3, 2, 1, 1700000000);"
	    "PRAGMA application_id = 1112691524;"
	    "PRAGMA user_version = 3;";
	struct store	*st;
	struct got	 g;
	char		 db[256], err[256];
	int64_t		 n, c[4];
	long long	 current;
	int		 settled;

	if (sdb_pg() != NULL)
		return;		/* SQLite's schema 3: nothing to migrate */
	/* the version a new store gets (5 since the bounces table) */
	path_in(db, sizeof(db), "current.db");
	if ((st = open_ok(db)) == NULL) {
		CHECK("v3: a new store", 0);
		return;
	}
	store_close(st);
	current = sql_int(db, "PRAGMA user_version");
	CHECK("v3: a new store's version", current >= 4);
	path_in(db, sizeof(db), "v3.db");
	CHECK_INT("v3: made by hand", sql_exec(db, v3), 0);
	if ((st = open_ok(db)) == NULL) {
		CHECK("v3: opens", 0);
		return;
	}
	CHECK_INT("v3: now current", sql_int(db, "PRAGMA user_version"),
	    current);
	CHECK_INT("v3: rows kept", sql_int(db, "SELECT count(*) FROM "
	    "deliveries"), 3);
	CHECK_INT("v3: new columns", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE owner IS NULL AND lease = 0 AND prev_state = 0"),
	    3);
	CHECK_INT("v3: new indexes", sql_int(db, "SELECT count(*) FROM "
	    "sqlite_schema WHERE type = 'index' AND name IN "
	    "('deliveries_pending', 'deliveries_lease', 'deliveries_owner')"),
	    3);
	CHECK_INT("v3: subscriber counts kept", store_sub_count(st, c, err,
	    sizeof(err)) == 0 ? c[SUB_ACTIVE] : -1, 3);
	check_counts(st, 1, "v3: before", 1, 1, 1, 0, 3);
	CHECK_INT("v3: claim", claim(st, 1, "n", store_now_ms(st), 60000, 10,
	    &g), 2);
	CHECK_INT("v3: the pending", g.sub[0], 2);
	CHECK_INT("v3: the deferred (due: 2023)", g.sub[1], 3);
	CHECK_INT("v3: its attempts", g.attempts[1], 1);
	check_counts(st, 1, "v3: claimed", 2, 1, 0, 0, 3);
	store_bc_settled(st, 1, &settled, err, sizeof(err));
	CHECK_INT("v3: not settled", settled, 0);
	CHECK_INT("v3: release", store_dlv_release_stale(st, "n", &n, err,
	    sizeof(err)), 0);
	check_counts(st, 1, "v3: released", 1, 1, 1, 0, 3);
	CHECK_INT("v3: due time now in ms", row_int(db, 1, 3, "next_at"),
	    1700000000000LL);
	store_close(st);

	/* and a reopen migrates nothing more */
	st = open_ok(db);
	CHECK("v3: reopens", st != NULL);
	store_close(st);
	CHECK_INT("v3: still current", sql_int(db, "PRAGMA user_version"),
	    current);
}

/*
 * PostgreSQL: a daemon's claims go to the others once its session is
 * gone (its node lock with it), without waiting for the lease; while it
 * lives they stay its own.  Attempts are not spent, counts stay right.
 */
static void
test_dead_node(void)
{
	struct store_opts	 o;
	struct store		*a, *b;
	struct got		 g;
	char			 db[512], err[256];
	int64_t			 id, now;
	int			 i;

	if (sdb_pg() == NULL)
		return;		/* one node per SQLite file (its lock file) */
	store_at(db, sizeof(db), "dead");
	memset(&o, 0, sizeof(o));
	o.node = "na";
	if ((a = store_open_opts(db, &o, err, sizeof(err))) == NULL ||
	    (id = setup(a, "d", 6)) <= 0) {
		printf("dead: %s\n", err);
		CHECK("dead setup", 0);
		store_close(a);
		return;
	}
	o.node = "nb";
	if ((b = store_open_opts(db, &o, err, sizeof(err))) == NULL) {
		printf("dead: %s\n", err);
		CHECK("dead: b opens", 0);
		store_close(a);
		return;
	}
	now = store_now_ms(a);
	CHECK_INT("dead: a claims", claim(a, id, "na", now, 3600000, 4, &g), 4);
	CHECK_INT("dead: a alive, b gets the rest", claim(b, id, "nb", now,
	    3600000, 10, &g), 2);
	CHECK_INT("dead: both registered", sql_int(db, "SELECT count(*) "
	    "FROM nodes WHERE name IN ('na', 'nb')"), 2);
	store_close(a);
	/* the server ends a's session (and lock) once it sees the close */
	for (i = 0; i < 200 && sql_int(db, "SELECT count(*) FROM pg_locks "
	    "WHERE locktype = 'advisory' AND objid = (hashtextextended("
	    "'broadside node na', 0) & 4294967295)::oid") != 0; i++)
		usleep(25000);
	CHECK_INT("dead: a's lock gone", i < 200, 1);
	CHECK_INT("dead: b takes a's rows", claim(b, id, "nb", now + 1,
	    3600000, 10, &g), 4);
	CHECK_INT("dead: no attempt spent", g.attempts[0] + g.attempts[3], 0);
	CHECK_INT("dead: all b's now", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE state = 4 AND owner = 'nb'"), 6);
	check_counts(b, id, "dead: counts", 6, 0, 0, 0, 6);
	store_close(b);
}

/*
 * PostgreSQL: threads, each with its own connection and node name,
 * claim and record from one broadcast at the same time, as nodes do:
 * FOR NO KEY UPDATE SKIP LOCKED must hand every row to exactly one of
 * them, and the counts (a row per node) must add up.
 */
#define CONC_THREADS	3
#define CONC_ROWS	3000
struct conc {
	char		 db[512];
	char		 node[32];
	int64_t		 bc;
	int		 n;
	int64_t		*got;		/* CONC_ROWS */
	int		 failed;
	char		 err[256];
};

static int
conc_cb(const struct delivery *d, void *arg)
{
	struct conc	*c = arg;

	if (c->n < CONC_ROWS)
		c->got[c->n] = d->subscriber_id;
	c->n++;
	return 0;
}

static void *
conc_main(void *arg)
{
	struct conc		*c = arg;
	struct store_opts	 o;
	struct store		*node, *st;
	struct dlv_result	 r[40];
	struct dlv_tally	 t;
	int			 k, first, got;

	/*
	 * As a daemon does: the first handle holds the node's name, and the
	 * claims and records go through another (the writer thread's).
	 * Both wait up to STORE_THREAD_BUSY_MS for a row lock now; with the
	 * first handle's 20 ms, a loaded CI machine (2026-12-06) failed a
	 * record (a lock another thread's claim took on a row it then
	 * passed over) and a start ("lock for migration").
	 */
	memset(&o, 0, sizeof(o));
	o.node = c->node;
	if ((node = store_open_opts(c->db, &o, c->err, sizeof(c->err))) ==
	    NULL) {
		c->failed = 1;
		return NULL;
	}
	if ((st = store_open_more(node, c->err, sizeof(c->err))) == NULL) {
		c->failed = 1;
		store_close(node);
		return NULL;
	}
	for (;;) {
		first = c->n;
		got = store_dlv_claim_rows(st, c->bc, c->node, T0, 60000, 40,
		    conc_cb, c, c->err, sizeof(c->err));
		if (got <= 0) {
			c->failed = got < 0;
			break;
		}
		for (k = 0; k < got && first + k < CONC_ROWS; k++)
			r[k] = result(c->bc, c->got[first + k], DLV_SENT, 1, 0,
			    250, NULL);
		if (store_dlv_record(st, c->node, r, (size_t)k, &t, c->err,
		    sizeof(c->err)) == -1 || t.applied != (size_t)k) {
			c->failed = 1;
			break;
		}
	}
	store_close(st);
	store_close(node);
	return NULL;
}

static void
test_concurrent(void)
{
	struct conc	 c[CONC_THREADS];
	pthread_t	 th[CONC_THREADS];
	struct store	*st;
	unsigned char	*seen = NULL;
	char		 db[512];
	int64_t		 id, lo = 0;
	int		 i, k, total = 0, dup = 0, bad = 0;

	if (sdb_pg() == NULL)
		return;		/* one handle at a time on an SQLite file */
	store_at(db, sizeof(db), "conc");
	if ((st = open_ok(db)) == NULL || (id = setup(st, "c", 0)) <= 0) {
		CHECK("conc setup", 0);
		store_close(st);
		return;
	}
	store_close(st);
	/* the rows by SQL: setup's upserts one by one would take a while */
	if (sql_exec(db, "INSERT INTO subscribers(email, key, status, "
	    "created, updated) SELECT 'c' || i || '@example.org', "
	    "'c' || i || '@example.org', 1, 1, 1 FROM generate_series(1, 3000) "
	    "i; INSERT INTO deliveries(broadcast_id, subscriber_id) "
	    "SELECT b.id, s.id FROM broadcasts b, subscribers s; "
	    "UPDATE broadcasts SET total = 3000") == -1) {
		CHECK("conc rows", 0);
		return;
	}
	lo = sql_int(db, "SELECT min(id) FROM subscribers");
	memset(c, 0, sizeof(c));
	for (i = 0; i < CONC_THREADS; i++) {
		snprintf(c[i].db, sizeof(c[i].db), "%s", db);
		snprintf(c[i].node, sizeof(c[i].node), "conc-%d", i);
		c[i].bc = id;
		if ((c[i].got = calloc(CONC_ROWS, sizeof(int64_t))) == NULL)
			goto end;
	}
	for (i = 0; i < CONC_THREADS; i++)
		if (pthread_create(&th[i], NULL, conc_main, &c[i]) != 0) {
			CHECK("conc thread", 0);
			while (i-- > 0)
				pthread_join(th[i], NULL);
			goto end;
		}
	for (i = 0; i < CONC_THREADS; i++)
		pthread_join(th[i], NULL);
	if ((seen = calloc(CONC_ROWS, 1)) == NULL)
		goto end;
	for (i = 0; i < CONC_THREADS; i++) {
		if (c[i].failed)
			printf("conc %s: %s\n", c[i].node, c[i].err);
		CHECK_INT("conc: thread ran", c[i].failed, 0);
		total += c[i].n;
		for (k = 0; k < c[i].n && k < CONC_ROWS; k++) {
			if (c[i].got[k] - lo < 0 || c[i].got[k] - lo >= CONC_ROWS)
				bad++;
			else if (seen[c[i].got[k] - lo]++)
				dup++;
		}
		printf("conc: %s claimed %d\n", c[i].node, c[i].n);
	}
	CHECK_INT("conc: every row claimed", total, CONC_ROWS);
	CHECK_INT("conc: none twice", dup, 0);
	CHECK_INT("conc: none foreign", bad, 0);
	CHECK_INT("conc: all sent", sql_int(db, "SELECT count(*) FROM "
	    "deliveries WHERE state = 1 AND owner IS NULL"), CONC_ROWS);
	if ((st = open_ok(db)) != NULL) {
		check_counts(st, id, "conc: counts", 0, CONC_ROWS, 0, 0,
		    CONC_ROWS);
		store_close(st);
	}
end:
	for (i = 0; i < CONC_THREADS; i++)
		free(c[i].got);
	free(seen);
}

/* Claimed ids, for the rounds of timing_rounds. */
struct ids {
	int	 n;
	int64_t	 v[500];
};

static int
ids_cb(const struct delivery *d, void *arg)
{
	struct ids	*x = arg;

	if (x->n < 500)
		x->v[x->n++] = d->subscriber_id;
	return 0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * STORE_CLAIM_LOOPS=N: N rounds of the engine's work, a claim of 500
 * then their results recorded as one group, each a transaction of its
 * own: rows per second and the claim's p50/p99 (printed, not asserted).
 */
static void
timing_rounds(struct store *st, int64_t id, struct dlv_result *r, int loops)
{
	struct ids		 x;
	struct dlv_tally	 t;
	double			*ct, *rt, t0, t1, t2, total = 0;
	char			 err[256];
	long			 rows = 0;
	int			 i, k, done = 0;

	ct = calloc((size_t)loops, sizeof(*ct));
	rt = calloc((size_t)loops, sizeof(*rt));
	if (ct == NULL || rt == NULL) {
		free(ct);
		free(rt);
		return;
	}
	for (i = 0; i < loops; i++) {
		x.n = 0;
		t0 = mono();
		if (store_dlv_claim_rows(st, id, "n", T0, 60000, 500, ids_cb, &x,
		    err, sizeof(err)) == -1) {
			printf("rounds: %s\n", err);
			break;
		}
		t1 = mono();
		if (x.n == 0)
			break;
		for (k = 0; k < x.n; k++)
			r[k] = result(id, x.v[k], DLV_SENT, 1, 0, 250, NULL);
		if (record(st, "n", r, (size_t)x.n, &t) == -1)
			break;
		t2 = mono();
		rt[done] = (t2 - t1) * 1e3;
		ct[done++] = (t1 - t0) * 1e3;
		total += t2 - t0;
		rows += x.n;
	}
	if (done > 0) {
		qsort(ct, (size_t)done, sizeof(*ct), dbl_cmp);
		qsort(rt, (size_t)done, sizeof(*rt), dbl_cmp);
		printf("timing: %d rounds of claim 500 + record: %ld rows in "
		    "%.2f s, %.0f rows/s; claim p50 %.2f ms, p99 %.2f ms; "
		    "record p50 %.2f ms, p99 %.2f ms\n", done, rows, total,
		    rows / total, ct[done / 2], ct[(done * 99) / 100],
		    rt[done / 2], rt[(done * 99) / 100]);
	}
	free(ct);
	free(rt);
}

/*
 * Rough cost of one claim of 500 and one group of 500 results in a big
 * broadcast, half of it sent, a tenth of it deferred and not due: the
 * claim must read the eligible rows only.  Printed, not asserted.
 */
static void
test_timing(void)
{
	struct store		*st;
	struct big		 g;
	struct dlv_result	*r = NULL;
	struct dlv_tally	 t;
	const char		*env = getenv("STORE_CLAIM_ROWS");
	char			 db[256], sql[1024], err[256];
	double			 t0, t1, t2, t3;
	int64_t			 id = 1;
	long			 rows = env ? atol(env) : 200000;
	int			 i, n;

	rows = rows < 2000 ? 2000 : rows - rows % 20;
	store_at(db, sizeof(db), "big");
	if ((st = open_ok(db)) == NULL) {
		CHECK("timing open", 0);
		return;
	}
	store_close(st);	/* schema made; fill it from here */
	snprintf(sql, sizeof(sql),
	    "BEGIN;"
	    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "  WHERE i < %ld) INSERT INTO subscribers(id, email, key, status, "
	    "  created, updated) SELECT i, 'u' || i || '@example.org', "
	    "  'u' || i || '@example.org', 1, 1, 1 FROM n;"
	    "INSERT INTO broadcasts(id, title, subject, source, state, created, "
	    "  total, snap_next) VALUES (1, 'Big', 'Big', 'Big', 1, 1, %ld, "
	    "  NULL);"
	    "INSERT INTO deliveries(broadcast_id, subscriber_id, state, next_at) "
	    "  SELECT 1, id, CASE WHEN id <= %ld / 2 THEN 1 "
	    "  WHEN id %% 10 = 0 THEN 2 ELSE 0 END, "
	    "  CASE WHEN id > %ld / 2 AND id %% 10 = 0 THEN %lld ELSE 0 END "
	    "  FROM subscribers;"
	    "UPDATE broadcasts SET sent = (SELECT count(*) FROM deliveries "
	    "  WHERE state = 1), deferred = (SELECT count(*) FROM deliveries "
	    "  WHERE state = 2);"
	    "COMMIT;", rows, rows, rows, rows, T0 + 3600000);
	t0 = mono();
	if (sql_exec(db, sql) == -1 || (st = open_ok(db)) == NULL) {
		CHECK("timing setup", 0);
		return;
	}
	printf("timing: %ld rows made in %.2f s\n", rows, mono() - t0);
	if ((r = calloc(500, sizeof(*r))) == NULL) {
		CHECK("timing alloc", 0);
		goto end;
	}
	memset(&g, 0, sizeof(g));
	g.rows = rows;
	t0 = mono();
	n = store_dlv_claim_rows(st, id, "n", T0, 60000, 500, big_cb, &g, err,
	    sizeof(err));
	t1 = mono();
	CHECK_INT("timing: claimed 500", n, 500);
	CHECK_INT("timing: only eligible rows", g.ineligible, 0);
	if (n != 500) {
		printf("timing: %s\n", err);
		goto end;
	}
	/* the claim took the first 500 pending ids after the sent half */
	for (i = 0, n = 0; n < 500; i++)
		if ((rows / 2 + 1 + i) % 10 != 0)
			r[n++] = result(id, rows / 2 + 1 + i, DLV_SENT, 1, 0, 250,
			    NULL);
	t2 = mono();
	CHECK_INT("timing: record", record(st, "n", r, 500, &t), 0);
	t3 = mono();
	CHECK_INT("timing: recorded all", t.applied, 500);
	check_counts(st, id, "timing: counts", rows - rows / 2 - rows / 20 -
	    500, rows / 2 + 500, rows / 20, 0, rows);
	printf("timing: %ld deliveries (half sent, %ld deferred not due): "
	    "claim 500 %.2f ms, record 500 %.2f ms\n", rows, rows / 20,
	    (t1 - t0) * 1e3, (t3 - t2) * 1e3);
	memset(&g, 0, sizeof(g));
	g.rows = rows;
	t0 = mono();
	n = store_dlv_claim_rows(st, id, "n", T0, 60000, 500, big_cb, &g, err,
	    sizeof(err));
	t1 = mono();
	CHECK_INT("timing: next claim", n, rows - rows / 2 - rows / 20 - 500 <
	    500 ? rows - rows / 2 - rows / 20 - 500 : 500);
	CHECK_INT("timing: next claim eligible", g.ineligible, 0);
	printf("timing: next claim of %d %.2f ms\n", n, (t1 - t0) * 1e3);
	/* STORE_CLAIM_SETTLE: first what autovacuum and the checkpointer
	 * would do a while after the bulk load (PostgreSQL only) */
	if (getenv("STORE_CLAIM_SETTLE") != NULL && sdb_pg() != NULL &&
	    (sql_exec(db, "VACUUM ANALYZE") == -1 ||
	    sql_exec(db, "CHECKPOINT") == -1))
		printf("timing: settle failed\n");
	if (getenv("STORE_CLAIM_LOOPS") != NULL)
		timing_rounds(st, id, r, atoi(getenv("STORE_CLAIM_LOOPS")));
end:
	free(r);
	store_close(st);
}

int
main(void)
{
	umask(022);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_two_owners();
	test_lease();
	test_record();
	test_release();
	test_release_stale();
	test_settled();
	test_migrate();
	test_dead_node();
	test_concurrent();
	test_timing();
	CHECK_INT("temp dir removed", nftw(dir, rm_cb, 16, FTW_DEPTH |
	    FTW_PHYS), 0);
	return unit_done("store_claim");
}
