/*
 * store_db.h -- the store tests on either backend.  Without STORE_URL a
 * store is a file in the test's temporary folder (SQLite); with
 * STORE_URL (a postgresql:// URL of a server's maintenance database,
 * tests/integration/store_pg.sh sets it) each store is a database of its
 * own, made afresh.  Rows are inspected on a second connection of the
 * same kind.
 */
#ifndef BROADSIDE_STORE_DB_H
#define BROADSIDE_STORE_DB_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server's URL, or NULL: SQLite. */
static inline const char *
sdb_pg(void)
{
	const char	*u = getenv("STORE_URL");

	return u != NULL && *u != '\0' ? u : NULL;
}

static inline int
sdb_is_url(const char *db)
{
	return strncmp(db, "postgresql://", 13) == 0;
}

/* url with its database name replaced by name. */
static inline int
sdb_url(const char *url, const char *name, char *out, size_t len)
{
	const char	*host = strstr(url, "://"), *path, *query;
	int		 n;

	if (host == NULL)
		return -1;
	host += 3;
	path = strchr(host, '/');
	query = strchr(host, '?');
	if (path == NULL || (query != NULL && query < path))
		path = query != NULL ? query : host + strlen(host);
	if (query == NULL)
		query = "";
	n = snprintf(out, len, "%.*s/%s%s", (int)(path - url), url, name,
	    query);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static inline void
sdb_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Run sql on the server's maintenance database; 0 or -1. */
static inline int
sdb_admin(const char *sql)
{
	PGconn		*c = PQconnectdb(sdb_pg());
	PGresult	*r;
	int		 ret = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		printf("sdb_admin: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQsetNoticeProcessor(c, sdb_quiet, NULL);
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		ret = 0;
	else
		printf("sdb_admin: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ret;
}

/*
 * Where the test's store called name lives: dir/name.db, or (STORE_URL
 * set) a new empty database named prefix_name.
 */
static inline int
sdb_new(const char *dir, const char *prefix, const char *name, char *out,
    size_t len)
{
	char	db[64], sql[256];

	if (sdb_pg() == NULL) {
		snprintf(out, len, "%s/%s.db", dir, name);
		return 0;
	}
	snprintf(db, sizeof(db), "%s_%s", prefix, name);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    db);
	if (sdb_admin(sql) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if (sdb_admin(sql) == -1)
		return -1;
	return sdb_url(sdb_pg(), db, out, len);
}

/* First column of sql's first row on PostgreSQL: a boolean as 0 or 1,
 * NULL as null_value, -999 if there is no row, -998 on error. */
static inline long long
sdb_pg_int(const char *url, const char *sql, long long null_value)
{
	PGconn		*c = PQconnectdb(url);
	PGresult	*r;
	long long	 v = -999;
	const char	*s;

	if (PQstatus(c) != CONNECTION_OK) {
		printf("sdb_pg_int: %s", PQerrorMessage(c));
		PQfinish(c);
		return -998;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		printf("sdb_pg_int: %s: %s", sql, PQresultErrorMessage(r));
		v = -998;
	} else if (PQntuples(r) > 0) {
		s = PQgetvalue(r, 0, 0);
		if (PQgetisnull(r, 0, 0))
			v = null_value;
		else if (strcmp(s, "t") == 0)
			v = 1;
		else if (strcmp(s, "f") == 0)
			v = 0;
		else
			v = strtoll(s, NULL, 10);
	}
	PQclear(r);
	PQfinish(c);
	return v;
}

static inline void
sdb_pg_text(const char *url, const char *sql, char *out, size_t len)
{
	PGconn		*c = PQconnectdb(url);
	PGresult	*r;

	snprintf(out, len, "(error)");
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
}

static inline int
sdb_pg_exec(const char *url, const char *sql)
{
	PGconn		*c = PQconnectdb(url);
	PGresult	*r;
	int		 ret = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		printf("sdb_pg_exec: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK)
		ret = 0;
	else
		printf("sdb_pg_exec: %s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return ret;
}

#endif
