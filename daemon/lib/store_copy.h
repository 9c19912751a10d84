/*
 * store_copy.h -- a SQLite store copied into a new PostgreSQL one
 * (`broadside store migrate`).
 */
#ifndef BROADSIDE_STORE_COPY_H
#define BROADSIDE_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

/* Progress: rows of table copied so far; done once it is complete. */
typedef void	(*store_copy_cb)(const char *table, int64_t rows, int done,
		    void *);

/*
 * Copy every subscriber, broadcast, delivery, bounce and translation of
 * the SQLite store at src_path into the PostgreSQL store at url (its
 * schema made already: open both with store_open first, which also keeps
 * a daemon off the SQLite one), in one transaction.  Refused when the
 * target already holds subscribers or broadcasts.
 */
int	store_copy_sqlite_pg(const char *src_path, const char *url,
	    const char *password, store_copy_cb, void *, char *, size_t);

/* "PREFIX: WHAT: message" on one line, from result's error or else the
 * connection's (store_pg.c; libpq's PGconn and PGresult) */
struct pg_conn;
struct pg_result;
void	store_pg_msg(const struct pg_conn *, const struct pg_result *,
	    const char *prefix, const char *what, char *, size_t);

#endif
