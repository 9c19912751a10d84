/*
 * intake.c -- subscriber CSV into the store: the import API's sessions
 * and the subscribers.file sync both feed chunks through here.
 *
 * The CSV parser (import.c) keeps its state across chunks, so chunk
 * boundaries may fall anywhere.  Each chunk is one transaction: an
 * interrupted import keeps what it committed, and running it again is
 * idempotent (an upsert keyed by the lowercased address), so it is
 * resumable by re-running.  Errors of a chunk are kept (INTAKE_ERRORS_MAX)
 * for the import API to report, or logged when the intake has a label
 * (subscribers.file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "core.h"
#include "import.h"
#include "store.h"

#define INTAKE_ERRORS_MAX	1000	/* kept per chunk */

static void
intake_error_add(struct intake *in, unsigned long line, const char *msg,
    const char *addr)
{
	struct intake_error	*e;

	if (in->nerrors >= INTAKE_ERRORS_MAX) {
		in->errors_dropped++;
		return;
	}
	in->errors = xrealloc(in->errors, (in->nerrors + 1) *
	    sizeof(*in->errors));
	e = &in->errors[in->nerrors++];
	e->line = line;
	if (addr != NULL)
		xasprintf(&e->msg, "%s%s", msg, addr);
	else
		e->msg = xstrdup(msg);
}

static void
intake_errors_clear(struct intake *in)
{
	size_t	i;

	for (i = 0; i < in->nerrors; i++)
		free(in->errors[i].msg);
	free(in->errors);
	in->errors = NULL;
	in->nerrors = 0;
	in->errors_dropped = 0;
}

/*
 * Rows wait in a chunk (their text in one buffer, by offset) and go to
 * the store together: one statement for most of them.
 */
struct intake_row {
	size_t		 email, key, name, fields;	/* offsets in text */
	size_t		 lang;		/* "" when the CSV says none */
	unsigned long	 line;
};

static int
intake_flush(struct intake *in)
{
	struct store_sub_row	 rows[STORE_UPSERT_CHUNK];
	struct intake_row	*r;
	const char		*t = in->text->p;
	size_t			 i;

	if (in->nrows == 0)
		return 0;
	for (i = 0; i < in->nrows; i++) {
		r = &in->rows[i];
		rows[i].email = t + r->email;
		rows[i].key = t + r->key;
		rows[i].name = t + r->name;
		rows[i].fields = t + r->fields;
		/* the lang column: the language they read (a row without
		 * one keeps theirs) */
		rows[i].lang = t + r->lang;
		rows[i].status = SUB_ACTIVE;
	}
	if (store_sub_upsert_rows(in->st, in->id, rows, in->nrows,
	    in->store_err, sizeof(in->store_err)) == -1) {
		in->store_failed = 1;
		in->nrows = 0;
		buf_reset(in->text);
		return -1;
	}
	for (i = 0; i < in->nrows; i++) {
		switch (rows[i].what) {
		case UPSERT_ADDED:
			in->added++;
			break;
		case UPSERT_UPDATED:
			in->updated++;
			break;
		case UPSERT_SUPPRESSED:
			in->suppressed++;
			break;
		case UPSERT_DUPLICATE:
			in->duplicate++;
			if (in->label != NULL)
				log_warnx("%s:%lu: duplicate address %s",
				    in->label, in->rows[i].line, rows[i].email);
			else
				intake_error_add(in, in->rows[i].line,
				    "duplicate address ", rows[i].email);
			break;
		}
	}
	in->nrows = 0;
	buf_reset(in->text);
	return 0;
}

static size_t
intake_text(struct intake *in, const char *p, size_t len)
{
	size_t	off = in->text->len;

	buf_add(in->text, p, len);
	buf_add(in->text, "", 1);
	return off;
}

static int
intake_row_cb(const struct import_row *row, void *arg)
{
	struct intake		*in = arg;
	struct intake_row	*r;

	if (in->store_failed)
		return -1;
	import_fields_json(row, in->fields);
	r = &in->rows[in->nrows++];
	r->line = row->line;
	r->email = intake_text(in, row->addr, strlen(row->addr));
	r->key = intake_text(in, row->key, strlen(row->key));
	r->name = intake_text(in, row->name, row->namelen);
	r->fields = intake_text(in, in->fields->p, in->fields->len);
	r->lang = intake_text(in, row->lang, strlen(row->lang));
	if (in->nrows == STORE_UPSERT_CHUNK)
		return intake_flush(in);
	return 0;
}

static void
intake_err_cb(unsigned long line, const char *msg, void *arg)
{
	struct intake	*in = arg;

	if (in->label != NULL)
		log_warnx("%s:%lu: %s", in->label, line, msg);
	else
		intake_error_add(in, line, msg, NULL);
}

/* label: where rows come from, for the log (errors are logged), or NULL */
struct intake *
intake_new(const char *label)
{
	struct intake	*in;

	in = xcalloc(1, sizeof(*in));
	in->imp = import_new(intake_row_cb, intake_err_cb, in);
	in->label = label;
	in->fields = xcalloc(1, sizeof(*in->fields));
	in->text = xcalloc(1, sizeof(*in->text));
	in->rows = xcalloc(STORE_UPSERT_CHUNK, sizeof(*in->rows));
	return in;
}

void
intake_free(struct intake *in)
{
	if (in == NULL)
		return;
	import_free(in->imp);
	intake_errors_clear(in);
	buf_free(in->fields);
	free(in->fields);
	buf_free(in->text);
	free(in->text);
	free(in->rows);
	free(in);
}

/* A chunk out to the writer thread. */
struct intake_job {
	struct intake	*in;
	char		*data;
	size_t		 len;
	int		 open;		/* only take an import id */
	char		 err[512];
	core_done_cb	 cb;
	void		*arg;
};

static int
intake_import_id(struct intake_job *j, struct store *st)
{
	if (j->in->id > 0)
		return 0;
	if ((j->in->id = store_import_id(st)) <= 0) {
		j->in->id = 0;
		snprintf(j->err, sizeof(j->err), "cannot number the import");
		return -1;
	}
	return 0;
}

/* The writer's thread: parse the chunk and store its rows, in one
 * transaction. */
static int
intake_work(struct store *st, void *arg)
{
	struct intake_job	*j = arg;
	struct intake		*in = j->in;
	int			 rc;

	if (intake_import_id(j, st) == -1)
		return -1;
	if (j->open)
		return 0;
	intake_errors_clear(in);
	if (store_begin(st, j->err, sizeof(j->err)) == -1)
		return -1;
	in->st = st;
	if (j->len > 0)
		rc = import_feed(in->imp, j->data, j->len);
	else
		rc = import_finish(in->imp);
	/* what is left of the chunk (none after a failure: a failed
	 * flush empties it, and no row is taken after) */
	if (!in->store_failed)
		intake_flush(in);
	in->st = NULL;
	if (in->store_failed) {
		store_rollback(st);
		snprintf(j->err, sizeof(j->err), "%s", in->store_err);
		return -1;
	}
	if (store_commit(st, j->err, sizeof(j->err)) == -1) {
		store_rollback(st);
		return -1;
	}
	if (rc == -1) {
		snprintf(j->err, sizeof(j->err), "%s", import_error(in->imp));
		return -1;
	}
	return 0;
}

static void
intake_done(void *arg, int rc)
{
	struct intake_job	*j = arg;
	struct core_result	 r;

	memset(&r, 0, sizeof(r));
	r.rc = rc == 0 ? CORE_OK : CORE_FAILED;
	r.err = j->err;
	r.id = j->in->id;
	j->cb(&r, j->arg);
	free(j->data);
	free(j);
}

static void
intake_submit(struct intake *in, const char *data, size_t len, int open,
    core_done_cb cb, void *arg)
{
	struct intake_job	*j;

	j = xcalloc(1, sizeof(*j));
	j->in = in;
	if (len > 0) {
		j->data = xmalloc(len);
		memcpy(j->data, data, len);
	}
	j->len = len;
	j->open = open;
	j->cb = cb;
	j->arg = arg;
	writer_submit(env->writer, intake_work, intake_done, j);
}

/* Number the import (r->id), before its first chunk. */
void
intake_open(struct intake *in, core_done_cb cb, void *arg)
{
	intake_submit(in, NULL, 0, 1, cb, arg);
}

void
intake_feed(struct intake *in, const char *data, size_t len,
    core_done_cb cb, void *arg)
{
	intake_submit(in, data, len, 0, cb, arg);
}

unsigned long
intake_bad(const struct intake *in)
{
	return import_rows_bad(in->imp) + (unsigned long)in->duplicate;
}

unsigned long
intake_lines(const struct intake *in)
{
	return import_lines(in->imp);
}
