/*
 * store_copy.c -- `broadside store migrate --from sqlite:PATH`: an
 * existing SQLite store copied into an empty PostgreSQL one.
 *
 * Both stores are opened through the store interface first, so that
 * each is at this build's schema (and the SQLite one is not in use by a
 * daemon: its lock is held until the copy ends).  The rows then go
 * table by table with COPY, in one transaction of the target: either
 * everything is there or nothing.  The columns copied are those both
 * schemas have, so a column one backend keeps alone (PostgreSQL's
 * per-node counts) keeps its default.  What the copy cannot take as is:
 * claimed deliveries (a dead daemon's) go back to the state they had
 * before the claim, owner and lease cleared; the counts of subscribers
 * by status are made from the rows; the id sequences continue after
 * the largest ids copied.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_copy.h"

/* In the order of their references. */
static const char *const copy_tables[] = {
	"subscribers", "broadcasts", "deliveries", "bounces", "translations",
};

/* A column's expression on the SQLite side, where it is not itself. */
static const struct {
	const char	*table, *column, *expr;
} copy_exprs[] = {
	{ "deliveries", "state",
	    "CASE WHEN state = 4 THEN prev_state ELSE state END" },
	{ "deliveries", "owner", "NULL" },
	{ "deliveries", "lease", "0" },
};

#define COPY_BUF	65536
#define COPY_EVERY	100000	/* rows between progress reports */

struct copy {
	sqlite3		*src;
	PGconn		*dst;
	const char	*src_path;
	char		*err;
	size_t		 errlen;
	store_copy_cb	 cb;
	void		*arg;
	char		*buf;
	size_t		 len;
};

static int
copy_pg_fail(struct copy *c, PGresult *r, const char *what)
{
	store_pg_msg(c->dst, r, "PostgreSQL", what, c->err, c->errlen);
	PQclear(r);
	return -1;
}

static int
copy_exec(struct copy *c, const char *sql, const char *what)
{
	PGresult	*r = PQexec(c->dst, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		return copy_pg_fail(c, r, what);
	PQclear(r);
	return 0;
}

/* The first column of the first row of sql, as an integer. */
static int
copy_pg_int(struct copy *c, const char *sql, int64_t *v)
{
	PGresult	*r = PQexec(c->dst, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return copy_pg_fail(c, r, sql);
	*v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static int
copy_flush(struct copy *c)
{
	if (c->len > 0 && PQputCopyData(c->dst, c->buf, (int)c->len) != 1)
		return copy_pg_fail(c, NULL, "copy");
	c->len = 0;
	return 0;
}

static int
copy_put(struct copy *c, const char *p, size_t n)
{
	if (c->len + n > COPY_BUF && copy_flush(c) == -1)
		return -1;
	if (n > COPY_BUF)
		return PQputCopyData(c->dst, p, (int)n) == 1 ? 0 :
		    copy_pg_fail(c, NULL, "copy");
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	return 0;
}

/* One value in COPY's text format: \N for NULL, the rest escaped. */
static int
copy_value(struct copy *c, sqlite3_stmt *q, int i)
{
	const unsigned char	*s, *run;
	char			 esc[2] = { '\\', 0 };

	if (sqlite3_column_type(q, i) == SQLITE_NULL)
		return copy_put(c, "\\N", 2);
	s = sqlite3_column_text(q, i);
	if (s == NULL)
		return copy_put(c, "\\N", 2);
	for (run = s; *s != '\0'; s++) {
		switch (*s) {
		case '\\':	esc[1] = '\\'; break;
		case '\t':	esc[1] = 't'; break;
		case '\n':	esc[1] = 'n'; break;
		case '\r':	esc[1] = 'r'; break;
		default:	continue;
		}
		if (copy_put(c, (const char *)run, (size_t)(s - run)) == -1 ||
		    copy_put(c, esc, 2) == -1)
			return -1;
		run = s + 1;
	}
	return copy_put(c, (const char *)run, (size_t)(s - run));
}

/* Does the target have this table and column? */
static int
copy_pg_has(struct copy *c, const char *table, const char *column)
{
	const char	*v[2] = { table, column };
	PGresult	*r;
	int		 n;

	r = PQexecParams(c->dst, "SELECT count(*) FROM "
	    "information_schema.columns WHERE table_schema = current_schema() "
	    "AND table_name = $1 AND ($2 = '' OR column_name = $2)", 2, NULL,
	    v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return copy_pg_fail(c, r, "read the schema");
	n = atoi(PQgetvalue(r, 0, 0)) > 0;
	PQclear(r);
	return n;
}

static const char *
copy_expr(const char *table, const char *column)
{
	size_t	i;

	for (i = 0; i < sizeof(copy_exprs) / sizeof(copy_exprs[0]); i++)
		if (strcmp(copy_exprs[i].table, table) == 0 &&
		    strcmp(copy_exprs[i].column, column) == 0)
			return copy_exprs[i].expr;
	return NULL;
}

/* Append to a growing SQL text. */
static int
copy_cat(char **s, size_t *len, const char *a, const char *b)
{
	size_t	 n = strlen(a) + (b ? strlen(b) : 0);
	char	*p;

	if ((p = realloc(*s, *len + n + 1)) == NULL)
		return -1;
	*s = p;
	snprintf(p + *len, n + 1, "%s%s", a, b ? b : "");
	*len += n;
	return 0;
}

/*
 * The columns of table that both sides have: sel the SQLite SELECT,
 * cols PostgreSQL's column list.  0 columns: the table is not on both.
 */
static int
copy_columns(struct copy *c, const char *table, char **sel, char **cols,
    int *ncols)
{
	sqlite3_stmt	*q;
	char		 sql[128];
	const char	*name, *expr;
	size_t		 sl = 0, cl = 0;
	int		 has, rc, oom = 0;

	*sel = *cols = NULL;
	*ncols = 0;
	snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s')",
	    table);
	if (sqlite3_prepare_v2(c->src, sql, -1, &q, NULL) != SQLITE_OK) {
		snprintf(c->err, c->errlen, "%s: %s", c->src_path,
		    sqlite3_errmsg(c->src));
		return -1;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(q, 0);
		if ((has = copy_pg_has(c, table, name)) == -1) {
			sqlite3_finalize(q);
			return -1;
		}
		if (!has)
			continue;
		expr = copy_expr(table, name);
		oom |= copy_cat(sel, &sl, *ncols ? ", " : "SELECT ",
		    expr ? expr : name);
		oom |= copy_cat(cols, &cl, *ncols ? ", " : "", name);
		(*ncols)++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		snprintf(c->err, c->errlen, "%s: %s", c->src_path,
		    sqlite3_errmsg(c->src));
		return -1;
	}
	if (*ncols > 0)
		oom |= copy_cat(sel, &sl, " FROM ", table);
	if (oom) {
		snprintf(c->err, c->errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int
copy_table(struct copy *c, const char *table, int64_t *rows)
{
	sqlite3_stmt	*q = NULL;
	PGresult	*r;
	char		*sel, *cols, *copy = NULL;
	size_t		 cl = 0;
	int		 i, n, rc = -1, src_rc;

	*rows = 0;
	if (copy_columns(c, table, &sel, &cols, &n) == -1)
		goto out;
	if (n == 0) {
		rc = 0;		/* not in both schemas */
		goto out;
	}
	if (sqlite3_prepare_v2(c->src, sel, -1, &q, NULL) != SQLITE_OK) {
		snprintf(c->err, c->errlen, "%s: %s: %s", c->src_path, table,
		    sqlite3_errmsg(c->src));
		goto out;
	}
	if (copy_cat(&copy, &cl, "COPY ", table) == -1 ||
	    copy_cat(&copy, &cl, " (", cols) == -1 ||
	    copy_cat(&copy, &cl, ") FROM STDIN", NULL) == -1) {
		snprintf(c->err, c->errlen, "out of memory");
		goto out;
	}
	r = PQexec(c->dst, copy);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		copy_pg_fail(c, r, table);
		goto out;
	}
	PQclear(r);
	while ((src_rc = sqlite3_step(q)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			if ((i > 0 && copy_put(c, "\t", 1) == -1) ||
			    copy_value(c, q, i) == -1)
				goto abort;
		if (copy_put(c, "\n", 1) == -1)
			goto abort;
		if (++*rows % COPY_EVERY == 0 && c->cb != NULL)
			c->cb(table, *rows, 0, c->arg);
	}
	if (src_rc != SQLITE_DONE) {
		snprintf(c->err, c->errlen, "%s: %s: %s", c->src_path, table,
		    sqlite3_errmsg(c->src));
		goto abort;
	}
	if (copy_flush(c) == -1 || PQputCopyEnd(c->dst, NULL) != 1) {
		copy_pg_fail(c, NULL, table);
		goto drain;
	}
	r = PQgetResult(c->dst);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		copy_pg_fail(c, r, table);
		goto drain;
	}
	PQclear(r);
	if (c->cb != NULL)
		c->cb(table, *rows, 1, c->arg);
	rc = 0;
	goto drain;
abort:
	PQputCopyEnd(c->dst, "broadside: copy abandoned");
drain:
	while ((r = PQgetResult(c->dst)) != NULL)
		PQclear(r);
out:
	sqlite3_finalize(q);
	free(sel);
	free(cols);
	free(copy);
	c->len = 0;
	return rc;
}

/* What the target needs besides the rows: counts, sequences. */
static int
copy_finish(struct copy *c)
{
	static const char *const sql[] = {
		"INSERT INTO sub_counts (status, part, n) SELECT status, 0, "
		"count(*) FROM subscribers GROUP BY status "
		"ON CONFLICT (status, part) DO UPDATE "
		"SET n = sub_counts.n + EXCLUDED.n",
		"SELECT setval(pg_get_serial_sequence('subscribers', 'id'), "
		"coalesce(max(id), 0) + 1, false) FROM subscribers",
		"SELECT setval(pg_get_serial_sequence('broadcasts', 'id'), "
		"coalesce(max(id), 0) + 1, false) FROM broadcasts",
		"SELECT setval('import_seq', coalesce(max(import_id), 0) + 1, "
		"false) FROM subscribers",
	};
	size_t	i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (copy_exec(c, sql[i], "counts and sequences") == -1)
			return -1;
	return 0;
}

int
store_copy_sqlite_pg(const char *src_path, const char *url,
    const char *password, store_copy_cb cb, void *arg, char *err,
    size_t errlen)
{
	const char	*keys[] = { "dbname", "password", NULL };
	const char	*vals[] = { url, password, NULL };
	struct copy	 c;
	int64_t		 held = 0, rows;
	size_t		 i;
	int		 rc = -1;

	memset(&c, 0, sizeof(c));
	c.src_path = src_path;
	c.err = err;
	c.errlen = errlen;
	c.cb = cb;
	c.arg = arg;
	if ((c.buf = malloc(COPY_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sqlite3_open_v2(src_path, &c.src, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", src_path,
		    c.src ? sqlite3_errmsg(c.src) : "cannot open");
		goto out;
	}
	if (password == NULL)
		keys[1] = NULL;
	c.dst = PQconnectdbParams(keys, vals, 1);
	if (c.dst == NULL || PQstatus(c.dst) != CONNECTION_OK) {
		copy_pg_fail(&c, NULL, "connect");
		goto out;
	}
	if (copy_exec(&c, "BEGIN", "begin") == -1)
		goto out;
	/* a snapshot of the source for every table at once */
	if (sqlite3_exec(c.src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", src_path,
		    sqlite3_errmsg(c.src));
		goto out;
	}
	if (copy_pg_int(&c, "SELECT (SELECT count(*) FROM subscribers) + "
	    "(SELECT count(*) FROM broadcasts)", &held) == -1)
		goto out;
	if (held > 0) {
		snprintf(err, errlen, "the PostgreSQL store already holds "
		    "%" PRId64 " subscribers and broadcasts: migrate only into "
		    "a new database", held);
		goto out;
	}
	for (i = 0; i < sizeof(copy_tables) / sizeof(copy_tables[0]); i++)
		if (copy_table(&c, copy_tables[i], &rows) == -1)
			goto out;
	if (copy_finish(&c) == -1 || copy_exec(&c, "COMMIT", "commit") == -1)
		goto out;
	rc = 0;
out:
	if (c.dst != NULL)
		PQfinish(c.dst);	/* without COMMIT: rolled back */
	if (c.src != NULL)
		sqlite3_close(c.src);
	free(c.buf);
	return rc;
}
