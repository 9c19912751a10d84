/*
 * subscribers.c -- the subscriber list over the control API: add, remove,
 * reactivate, list, count, and streamed CSV imports.
 *
 * An import is a session: the CLI opens it, posts the file in chunks of
 * raw bytes (never the whole file at once), then finishes it.  The CSV
 * parser keeps its state across chunks, so chunk boundaries may fall
 * anywhere.  Each chunk is one transaction: an interrupted import keeps
 * what it committed, and running it again is idempotent (an upsert keyed
 * by the lowercased address), so it is resumable by re-running.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "addr.h"
#include "broadside.h"
#include "buf.h"
#include "import.h"
#include "store.h"

#define IMPORT_ERRORS_MAX	1000	/* reported per chunk */
#define IMPORT_IDLE_MAX		300	/* seconds before a session is dropped */
#define LIST_PAGE_MAX		10000

struct import_session {
	TAILQ_ENTRY(import_session)	 entry;
	int64_t				 id;		/* import id in the store */
	struct import			*imp;
	time_t				 last;
	int64_t				 added, updated, suppressed, duplicate;
	json_t				*errors;	/* of the current chunk */
	int64_t				 errors_dropped;
	const char			*label;		/* for logs (sync) */
	int				 store_failed;
	char				 store_err[256];
	struct buf			 fields;
};

static TAILQ_HEAD(, import_session) import_sessions =
    TAILQ_HEAD_INITIALIZER(import_sessions);

static int
import_row_cb_store(const struct import_row *row, void *arg)
{
	struct import_session	*is = arg;
	enum store_upsert	 what;
	char			 name[IMPORT_FIELD_MAX + 1];

	if (is->store_failed)
		return -1;
	import_fields_json(row, &is->fields);
	memcpy(name, row->name, row->namelen);
	name[row->namelen] = '\0';
	if (store_sub_upsert(env->store, is->id, row->addr, row->key, name,
	    is->fields.p, SUB_ACTIVE, &what, is->store_err,
	    sizeof(is->store_err)) == -1) {
		is->store_failed = 1;
		return -1;
	}
	switch (what) {
	case UPSERT_ADDED:
		is->added++;
		break;
	case UPSERT_UPDATED:
		is->updated++;
		break;
	case UPSERT_SUPPRESSED:
		is->suppressed++;
		break;
	case UPSERT_DUPLICATE:
		is->duplicate++;
		if (is->errors != NULL &&
		    json_array_size(is->errors) < IMPORT_ERRORS_MAX)
			json_array_append_new(is->errors, json_pack("{s:I,s:s+}",
			    "line", (json_int_t)row->line, "error",
			    "duplicate address ", row->addr));
		else if (is->label != NULL)
			log_warnx("%s:%lu: duplicate address %s", is->label,
			    row->line, row->addr);
		else
			is->errors_dropped++;
		break;
	}
	return 0;
}

static void
import_err_cb_store(unsigned long line, const char *msg, void *arg)
{
	struct import_session	*is = arg;

	if (is->label != NULL)
		log_warnx("%s:%lu: %s", is->label, line, msg);
	else if (json_array_size(is->errors) < IMPORT_ERRORS_MAX)
		json_array_append_new(is->errors, json_pack("{s:I,s:s}",
		    "line", (json_int_t)line, "error", msg));
	else
		is->errors_dropped++;
}

static struct import_session *
import_session_new(const char *label)
{
	struct import_session	*is;

	is = xcalloc(1, sizeof(*is));
	is->id = store_import_id(env->store);
	is->imp = import_new(import_row_cb_store, import_err_cb_store, is);
	is->last = time(NULL);
	is->label = label;
	return is;
}

static void
import_session_free(struct import_session *is)
{
	import_free(is->imp);
	json_decref(is->errors);
	buf_free(&is->fields);
	free(is);
}

static json_t *
import_summary(struct import_session *is)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "import", (json_int_t)is->id,
	    "added", (json_int_t)is->added,
	    "updated", (json_int_t)is->updated,
	    "suppressed", (json_int_t)is->suppressed,
	    "duplicates", (json_int_t)is->duplicate,
	    "bad", (json_int_t)(import_rows_bad(is->imp) + is->duplicate),
	    "lines", (json_int_t)import_lines(is->imp));
}

/* Feed one chunk (len 0 = finish) inside one transaction. */
static int
import_session_feed(struct import_session *is, const char *data, size_t len,
    char *err, size_t errlen)
{
	int	rc;

	if (store_begin(env->store, err, errlen) == -1)
		return -1;
	if (len > 0)
		rc = import_feed(is->imp, data, len);
	else
		rc = import_finish(is->imp);
	if (is->store_failed) {
		store_rollback(env->store);
		snprintf(err, errlen, "%s", is->store_err);
		return -1;
	}
	if (store_commit(env->store, err, errlen) == -1) {
		store_rollback(env->store);
		return -1;
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s", import_error(is->imp));
		return -1;
	}
	return 0;
}

static void
import_expire(void)
{
	struct import_session	*is, *tmp;
	time_t			 now = time(NULL);

	for (is = TAILQ_FIRST(&import_sessions); is != NULL; is = tmp) {
		tmp = TAILQ_NEXT(is, entry);
		if (now - is->last > IMPORT_IDLE_MAX) {
			log_warnx("import %" PRId64 ": abandoned by its client;"
			    " kept the %" PRId64 " rows committed", is->id,
			    is->added + is->updated);
			TAILQ_REMOVE(&import_sessions, is, entry);
			import_session_free(is);
		}
	}
}

void
import_route(struct evhttp_request *req, const char *path)
{
	struct import_session	*is;
	struct evbuffer		*in;
	json_t			*j;
	char			 err[512];
	const char		*rest;
	char			*end;
	int64_t			 id;
	int			 finish;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		control_error(req, 405, "use POST");
		return;
	}
	import_expire();
	if (strcmp(path, "import") == 0) {
		is = import_session_new(NULL);
		TAILQ_INSERT_TAIL(&import_sessions, is, entry);
		log_info("import %" PRId64 ": started", is->id);
		control_reply(req, 200, json_pack("{s:I}", "import",
		    (json_int_t)is->id));
		return;
	}
	rest = path + 6;
	if (*rest++ != '/' || (id = strtoll(rest, &end, 10)) <= 0 ||
	    (*end != '\0' && strcmp(end, "/finish") != 0)) {
		control_error(req, 404, "no such endpoint: /v1/%s", path);
		return;
	}
	finish = *end != '\0';
	TAILQ_FOREACH(is, &import_sessions, entry)
		if (is->id == id)
			break;
	if (is == NULL) {
		control_error(req, 404, "import %" PRId64 ": no such session "
		    "(finished or expired)", id);
		return;
	}
	is->last = time(NULL);
	json_decref(is->errors);
	is->errors = json_array();
	is->errors_dropped = 0;
	in = evhttp_request_get_input_buffer(req);
	if (finish)
		id = import_session_feed(is, NULL, 0, err, sizeof(err));
	else if (evbuffer_get_length(in) == 0)
		id = 0;
	else
		id = import_session_feed(is, (const char *)evbuffer_pullup(in,
		    -1), evbuffer_get_length(in), err, sizeof(err));
	j = import_summary(is);
	json_object_set_new(j, "errors", json_incref(is->errors));
	json_object_set_new(j, "errors_dropped",
	    json_integer(is->errors_dropped));
	if (id == -1) {
		log_warnx("import %" PRId64 ": %s", is->id, err);
		json_object_set_new(j, "error", json_string(err));
	}
	if (finish || id == -1) {
		log_info("import %" PRId64 ": %s: added=%" PRId64
		    " updated=%" PRId64 " suppressed=%" PRId64
		    " duplicates=%" PRId64 " bad=%lu", is->id,
		    id == -1 ? "failed" : "done", is->added, is->updated,
		    is->suppressed, is->duplicate, import_rows_bad(is->imp));
		TAILQ_REMOVE(&import_sessions, is, entry);
		import_session_free(is);
	}
	control_reply(req, 200, j);
}

/*
 * subscribers.file, at start and on reload, is read a slice at a time
 * from the main loop (one transaction per slice, then a zero timeout so
 * the loop polls before the next), so a file of a million rows never
 * holds up HTTP, the control socket or the engine.  The daemon says
 * READY, and `broadside reload` returns, once the rows are in; a new
 * broadcast waits for them too (subscribers_sync_wait), so nobody in the
 * file is left out of it.  A reload during a sync starts it again from
 * the top (the file may have changed since); every waiter is told when
 * it ends.
 */
#define SYNC_SLICE	(64 * 1024)	/* bytes a slice, at most (slice_adapt:
					   about SLICE_TARGET of loop time) */
#define SYNC_SLICE_MIN	(4 * 1024)

struct sync_waiter {
	sync_done_cb	 cb;
	void		*arg;
};

static struct {
	char			*path;
	int			 fd;
	struct import_session	*is;
	struct event		*ev;
	struct sync_waiter	*waiters;
	size_t			 nwaiters;
	size_t			 slice;		/* bytes a slice now */
} sync_run = { .fd = -1, .slice = SYNC_SLICE / 4 };

static char	sync_chunk[SYNC_SLICE];

static void
sync_close(void)
{
	if (sync_run.fd != -1)
		close(sync_run.fd);
	sync_run.fd = -1;
	if (sync_run.is != NULL)
		import_session_free(sync_run.is);
	sync_run.is = NULL;
	free(sync_run.path);
	sync_run.path = NULL;
}

/* Open the configured file and start a session; 0 if none is set. */
static int
sync_open(char *err, size_t errlen)
{
	const char	*path = env->conf->subscribers_file;

	sync_close();
	if (path == NULL)
		return 0;
	if ((sync_run.fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "subscribers.file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	sync_run.path = xstrdup(path);
	sync_run.is = import_session_new(sync_run.path);
	return 1;
}

/* Import the next slice: 1 if more is left, 0 at the end, -1 on error. */
static int
sync_slice(char *err, size_t errlen)
{
	struct import_session	*is = sync_run.is;
	ssize_t			 n;

	while ((n = read(sync_run.fd, sync_chunk, sync_run.slice)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		snprintf(err, errlen, "%s: read: %s", sync_run.path,
		    strerror(errno));
		return -1;
	}
	if (import_session_feed(is, sync_chunk, (size_t)n, err, errlen) == -1)
		return -1;
	if (n > 0)
		return 1;
	log_info("subscribers.file %s: added=%" PRId64 " updated=%" PRId64
	    " suppressed=%" PRId64 " duplicates=%" PRId64 " bad=%lu",
	    sync_run.path, is->added, is->updated, is->suppressed,
	    is->duplicate, import_rows_bad(is->imp));
	return 0;
}

/* The sync ended (rc 0) or failed (-1, err): close, tell the waiters. */
static void
sync_end(int rc, const char *err)
{
	struct sync_waiter	*w = sync_run.waiters;
	size_t			 i, n = sync_run.nwaiters;

	sync_close();
	sync_run.waiters = NULL;
	sync_run.nwaiters = 0;
	for (i = 0; i < n; i++)
		w[i].cb(rc, err, w[i].arg);
	free(w);
}

static void
sync_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 now = { 0, 0 };
	char		 err[512];
	double		 t0 = now_mono();
	int		 rc;

	(void)fd;
	(void)what;
	(void)arg;
	rc = sync_slice(err, sizeof(err));
	sync_run.slice = slice_adapt(sync_run.slice, now_mono() - t0,
	    SLICE_TARGET, SYNC_SLICE_MIN, SYNC_SLICE);
	if (rc == 1)
		evtimer_add(sync_run.ev, &now);
	else
		sync_end(rc, rc == -1 ? err : NULL);
}

static void
sync_wait_add(sync_done_cb cb, void *arg)
{
	sync_run.waiters = xrealloc(sync_run.waiters,
	    (sync_run.nwaiters + 1) * sizeof(*sync_run.waiters));
	sync_run.waiters[sync_run.nwaiters].cb = cb;
	sync_run.waiters[sync_run.nwaiters++].arg = arg;
}

/* Start (or start again) a sync; cb(rc, err, arg) once it has ended. */
void
subscribers_sync_start(sync_done_cb cb, void *arg)
{
	struct timeval	 now = { 0, 0 };
	char		 err[512];
	int		 rc;

	sync_wait_add(cb, arg);
	if (sync_run.is != NULL)
		log_info("subscribers.file: reloaded during a sync; starting "
		    "it again from the top");
	if ((rc = sync_open(err, sizeof(err))) <= 0) {
		sync_end(rc, rc == -1 ? err : NULL);
		return;
	}
	if (sync_run.ev == NULL &&
	    (sync_run.ev = evtimer_new(env->base, sync_step_cb, NULL)) == NULL)
		fatalx("subscribers.file: timer");
	evtimer_add(sync_run.ev, &now);
}

/* 0 if no sync runs; else 1, and cb(rc, err, arg) once it has ended. */
int
subscribers_sync_wait(sync_done_cb cb, void *arg)
{
	if (sync_run.is == NULL)
		return 0;
	sync_wait_add(cb, arg);
	return 1;
}

/* Shutdown: stop a sync between slices (what is committed stays). */
void
subscribers_sync_cancel(void)
{
	if (sync_run.ev != NULL)
		evtimer_del(sync_run.ev);
	if (sync_run.is != NULL) {
		log_info("subscribers.file: sync stopped by shutdown; the "
		    "next start syncs it again");
		sync_end(-1, "stopped by shutdown");
	}
}

void
subscribers_shutdown(void)
{
	struct import_session	*is;

	subscribers_sync_cancel();
	if (sync_run.ev != NULL)
		event_free(sync_run.ev);
	sync_run.ev = NULL;

	while ((is = TAILQ_FIRST(&import_sessions)) != NULL) {
		TAILQ_REMOVE(&import_sessions, is, entry);
		import_session_free(is);
	}
}

static json_t *
subscriber_json(const struct subscriber *s)
{
	json_t	*fields;

	fields = json_loads(s->fields, 0, NULL);
	if (fields == NULL)
		fields = json_object();
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:I}", "id", (json_int_t)s->id,
	    "email", s->email, "name", s->name,
	    "status", store_sub_strstatus(s->status), "fields", fields,
	    "created", (json_int_t)s->created);
}

struct list_ctx {
	json_t	*arr;
	int64_t	 last;
};

static int
subscribers_list_cb(const struct subscriber *s, void *arg)
{
	struct list_ctx	*lc = arg;

	json_array_append_new(lc->arr, subscriber_json(s));
	lc->last = s->id;
	return 0;
}

static void
subscribers_list(struct evhttp_request *req)
{
	struct evkeyvalq	 q;
	struct list_ctx		 lc;
	const char		*v, *query;
	char			 err[512];
	int64_t			 after = 0;
	long			 limit = 1000;

	TAILQ_INIT(&q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query != NULL && evhttp_parse_query_str(query, &q) == 0) {
		if ((v = evhttp_find_header(&q, "after")) != NULL)
			after = strtoll(v, NULL, 10);
		if ((v = evhttp_find_header(&q, "limit")) != NULL)
			limit = strtol(v, NULL, 10);
	}
	evhttp_clear_headers(&q);
	if (limit < 1 || limit > LIST_PAGE_MAX)
		limit = LIST_PAGE_MAX;
	lc.arr = json_array();
	lc.last = 0;
	if (store_sub_list(env->store, after, (int)limit, subscribers_list_cb,
	    &lc, err, sizeof(err)) == -1) {
		json_decref(lc.arr);
		control_error(req, 500, "%s", err);
		return;
	}
	control_reply(req, 200, json_pack("{s:o,s:o}", "subscribers", lc.arr,
	    "next", json_array_size(lc.arr) == (size_t)limit ?
	    json_integer(lc.last) : json_null()));
}

static void
subscribers_count(struct evhttp_request *req)
{
	int64_t	 c[4];
	char	 err[512];

	if (store_sub_count(env->store, c, err, sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		return;
	}
	control_reply(req, 200, json_pack("{s:I,s:I,s:I,s:I,s:I}",
	    "pending", (json_int_t)c[SUB_PENDING],
	    "active", (json_int_t)c[SUB_ACTIVE],
	    "unsubscribed", (json_int_t)c[SUB_UNSUBSCRIBED],
	    "bounced", (json_int_t)c[SUB_BOUNCED],
	    "total", (json_int_t)(c[0] + c[1] + c[2] + c[3])));
}

/* Check one address from a request; answer 400 and return -1 if bad. */
static int
subscribers_addr(struct evhttp_request *req, json_t *j, char *addr,
    char *key)
{
	const char	*email = json_string_value(json_object_get(j, "email"));
	char		 err[256];

	if (email == NULL) {
		control_error(req, 400, "missing \"email\"");
		return -1;
	}
	if (addr_normalize(email, addr, ADDR_BUFSZ, err, sizeof(err)) == -1) {
		control_error(req, 400, "%s: %s", email, err);
		return -1;
	}
	addr_key(addr, key, ADDR_BUFSZ);
	return 0;
}

static void
subscribers_add(struct evhttp_request *req)
{
	static const char	*what_names[] = { "added", "updated",
	    "suppressed", "duplicate" };
	enum store_upsert	 what;
	json_t			*j;
	const char		*name;
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[512];

	if ((j = control_body_json(req)) == NULL)
		return;
	if (subscribers_addr(req, j, addr, key) == -1)
		goto end;
	name = json_string_value(json_object_get(j, "name"));
	if (name == NULL)
		name = "";
	if (!utf8_valid(name, strlen(name)) ||
	    !text_header_safe(name, strlen(name)) || strlen(name) > 1024) {
		control_error(req, 400, "name: control character, invalid "
		    "UTF-8 or longer than 1024 octets");
		goto end;
	}
	if (store_sub_upsert(env->store, 0, addr, key, name, "{}", SUB_ACTIVE,
	    &what, err, sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		goto end;
	}
	log_info("subscriber %s: %s by control", addr, what_names[what]);
	control_reply(req, 200, json_pack("{s:s,s:s}", "email", addr,
	    "result", what_names[what]));
end:
	json_decref(j);
}

/* One subscriber's id and status, looked up by key. */
struct sub_lookup {
	int		 found;
	int64_t		 id;
	enum sub_status	 status;
	char		 email[ADDR_BUFSZ];	/* as stored */
};

static int
sub_lookup_cb(const struct subscriber *s, void *arg)
{
	struct sub_lookup	*sl = arg;

	sl->found = 1;
	sl->id = s->id;
	sl->status = s->status;
	snprintf(sl->email, sizeof(sl->email), "%s", s->email);
	return -1;
}

static int
sub_lookup(const char *key, struct sub_lookup *sl, char *err, size_t errlen)
{
	memset(sl, 0, sizeof(*sl));
	return store_sub_find(env->store, key, sub_lookup_cb, sl, err, errlen);
}

/*
 * Unsubscribe, as the HTTP unsubscribe does: the status first (so no
 * later claim takes the address), then whatever the engine already
 * claimed for it is dropped before it reaches a sender.
 */
static void
subscribers_remove(struct evhttp_request *req)
{
	struct sub_lookup	 sl;
	json_t			*j;
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[512];
	int			 changed;

	if ((j = control_body_json(req)) == NULL)
		return;
	if (subscribers_addr(req, j, addr, key) == -1)
		goto end;
	if (store_sub_set_status(env->store, key, SUB_UNSUBSCRIBED, 1,
	    &changed, err, sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		goto end;
	}
	if (!changed) {
		control_error(req, 404, "%s: not subscribed", addr);
		goto end;
	}
	if (sub_lookup(key, &sl, err, sizeof(err)) == -1)
		log_warnx("subscriber %s: %s", addr, err);
	if (sl.found)
		queue_subscriber_stop(sl.id);
	log_info("subscriber %s: removed by control", addr);
	control_reply(req, 200, json_pack("{s:s,s:s}", "email", addr,
	    "result", "removed"));
end:
	json_decref(j);
}

static int
bc_found_cb(const struct broadcast *b, void *arg)
{
	(void)b;
	*(int *)arg = 1;
	return -1;
}

/*
 * Undo mistaken bounces: {"email": ADDR} or {"bounced_by": BROADCAST}.
 * Only bounced subscribers become active; an unsubscribed address is
 * refused (409), since only its owner may bring it back.
 */
static void
subscribers_reactivate(struct evhttp_request *req)
{
	struct sub_lookup	 sl;
	json_t			*j, *by;
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[512];
	int64_t			 bc = 0;
	int			 changed = 0, found;

	if ((j = control_body_json(req)) == NULL)
		return;
	by = json_object_get(j, "bounced_by");
	if (by != NULL) {
		if (!json_is_integer(by) || (bc = json_integer_value(by)) <= 0) {
			control_error(req, 400, "bounced_by: not a broadcast ID");
			goto end;
		}
		found = 0;
		if (store_bc_get(env->store, bc, bc_found_cb, &found, err,
		    sizeof(err)) == -1) {
			control_error(req, 500, "%s", err);
			goto end;
		}
		if (!found) {
			control_error(req, 404, "broadcast %" PRId64 ": no such "
			    "broadcast", bc);
			goto end;
		}
		if (store_sub_reactivate(env->store, NULL, bc, &changed, err,
		    sizeof(err)) == -1) {
			control_error(req, 500, "%s", err);
			goto end;
		}
		log_info("broadcast %" PRId64 ": %d subscribers it bounced "
		    "reactivated by control", bc, changed);
		control_reply(req, 200, json_pack("{s:I,s:i}", "bounced_by",
		    (json_int_t)bc, "reactivated", changed));
		goto end;
	}
	if (subscribers_addr(req, j, addr, key) == -1)
		goto end;
	if (sub_lookup(key, &sl, err, sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		goto end;
	}
	if (!sl.found) {
		control_error(req, 404, "%s: no such subscriber", addr);
		goto end;
	}
	if (sl.status == SUB_UNSUBSCRIBED) {
		control_error(req, 409, "%s: unsubscribed, not bounced; only "
		    "the reader can subscribe again", sl.email);
		goto end;
	}
	if (store_sub_reactivate(env->store, key, 0, &changed, err,
	    sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		goto end;
	}
	if (changed)
		log_info("subscriber %s: reactivated by control", sl.email);
	control_reply(req, 200, json_pack("{s:s,s:i,s:s}", "email", sl.email,
	    "reactivated", changed, "status", store_sub_strstatus(changed ?
	    SUB_ACTIVE : sl.status)));
end:
	json_decref(j);
}

void
subscribers_route(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type	cmd = evhttp_request_get_command(req);

	if (strcmp(path, "subscribers") == 0 && cmd == EVHTTP_REQ_GET)
		subscribers_list(req);
	else if (strcmp(path, "subscribers") == 0 && cmd == EVHTTP_REQ_POST)
		subscribers_add(req);
	else if (strcmp(path, "subscribers/count") == 0 &&
	    cmd == EVHTTP_REQ_GET)
		subscribers_count(req);
	else if (strcmp(path, "subscribers/remove") == 0 &&
	    cmd == EVHTTP_REQ_POST)
		subscribers_remove(req);
	else if (strcmp(path, "subscribers/reactivate") == 0 &&
	    cmd == EVHTTP_REQ_POST)
		subscribers_reactivate(req);
	else
		control_error(req, 404, "no such endpoint: /v1/%s", path);
}
