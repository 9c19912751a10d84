/*
 * api_import.c -- /v1/import: streamed CSV imports over the control
 * socket.
 *
 * An import is a session: the CLI opens it, posts the file in chunks of
 * raw bytes (never the whole file at once), then finishes it.  Each
 * chunk goes through the core's intake in one transaction on the writer
 * thread (intake.c) and is answered once stored: what it did and which
 * lines were refused.  One chunk of a session is out at a time.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "core.h"
#include "front.h"
#include "import.h"

#define IMPORT_IDLE_MAX		300	/* seconds before a session is dropped */

struct import_session {
	TAILQ_ENTRY(import_session)	 entry;
	struct intake			*in;
	time_t				 last;
	int				 out;	/* a chunk is out */
	int				 gone;	/* freed once it is back */
	int				 finish;
	int				 fed;	/* the chunk had bytes */
	struct late			*late;
};

static TAILQ_HEAD(, import_session) import_sessions =
    TAILQ_HEAD_INITIALIZER(import_sessions);

static void
api_import_free(struct import_session *is)
{
	TAILQ_REMOVE(&import_sessions, is, entry);
	if (is->out) {
		is->gone = 1;	/* the writer has its intake: freed after */
		return;
	}
	intake_free(is->in);
	free(is);
}

static void
api_import_expire(void)
{
	struct import_session	*is, *tmp;
	time_t			 now = time(NULL);

	for (is = TAILQ_FIRST(&import_sessions); is != NULL; is = tmp) {
		tmp = TAILQ_NEXT(is, entry);
		if (now - is->last > IMPORT_IDLE_MAX && !is->out) {
			log_warnx("import %" PRId64 ": abandoned by its client;"
			    " kept the %" PRId64 " rows committed", is->in->id,
			    is->in->added + is->in->updated);
			api_import_free(is);
		}
	}
}

/* The import has its number (or the store refused one). */
static void
api_import_opened(const struct core_result *r, void *arg)
{
	struct import_session	*is = arg;
	struct evhttp_request	*req = late_end(is->late);

	is->late = NULL;
	is->out = 0;
	if (r->rc != CORE_OK || is->gone || req == NULL) {
		if (r->rc != CORE_OK)
			log_warnx("import: %s", r->err);
		if (req != NULL)
			control_error(req, r->rc == CORE_OK ? 503 : 500, "%s",
			    r->rc == CORE_OK ? "shutting down" : r->err);
		if (!is->gone)
			TAILQ_REMOVE(&import_sessions, is, entry);
		intake_free(is->in);
		free(is);
		return;
	}
	is->last = time(NULL);
	log_info("import %" PRId64 ": started", is->in->id);
	control_reply(req, 200, json_pack("{s:I}", "import",
	    (json_int_t)is->in->id));
}

void
api_import_start(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct import_session	*is;

	(void)id;
	(void)verb;
	api_import_expire();
	is = xcalloc(1, sizeof(*is));
	is->in = intake_new(NULL);
	is->last = time(NULL);
	is->out = 1;
	is->late = control_late(req);
	TAILQ_INSERT_TAIL(&import_sessions, is, entry);
	intake_open(is->in, api_import_opened, is);
}

/* A chunk is stored (or not): say what it did. */
static void
api_import_fed(const struct core_result *r, void *arg)
{
	struct import_session	*is = arg;
	struct intake		*in = is->in;
	struct evhttp_request	*req = late_end(is->late);
	json_t			*j, *errors;
	size_t			 i;
	int			 fed = is->fed;

	is->late = NULL;
	is->out = 0;
	is->last = time(NULL);
	if (is->gone) {
		intake_free(in);
		free(is);
		if (req != NULL)
			control_error(req, 503, "import: stopped by shutdown");
		return;
	}
	errors = json_array();
	for (i = 0; fed && i < in->nerrors; i++)
		json_array_append_new(errors, json_pack("{s:I,s:s}", "line",
		    (json_int_t)in->errors[i].line, "error",
		    in->errors[i].msg));
	j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I}",
	    "import", (json_int_t)in->id,
	    "added", (json_int_t)in->added,
	    "updated", (json_int_t)in->updated,
	    "suppressed", (json_int_t)in->suppressed,
	    "duplicates", (json_int_t)in->duplicate,
	    "bad", (json_int_t)intake_bad(in),
	    "lines", (json_int_t)intake_lines(in),
	    "errors", errors,
	    "errors_dropped", (json_int_t)(fed ? in->errors_dropped : 0));
	if (r->rc != CORE_OK) {
		log_warnx("import %" PRId64 ": %s", in->id, r->err);
		json_object_set_new(j, "error", json_string(r->err));
	}
	if (is->finish || r->rc != CORE_OK) {
		log_info("import %" PRId64 ": %s: added=%" PRId64
		    " updated=%" PRId64 " suppressed=%" PRId64
		    " duplicates=%" PRId64 " bad=%lu", in->id,
		    r->rc != CORE_OK ? "failed" : "done", in->added,
		    in->updated, in->suppressed, in->duplicate,
		    import_rows_bad(in->imp));
		api_import_free(is);
	}
	if (req != NULL)
		control_reply(req, 200, j);
	else
		json_decref(j);
}

static void
api_import_feed(struct evhttp_request *req, int64_t id, int finish)
{
	struct import_session	*is;
	struct evbuffer		*body;
	struct core_result	 none;
	size_t			 len;

	api_import_expire();
	TAILQ_FOREACH(is, &import_sessions, entry)
		if (is->in->id == id)
			break;
	if (is == NULL) {
		control_error(req, 404, "import %" PRId64 ": no such session "
		    "(finished or expired)", id);
		return;
	}
	if (is->out) {
		control_error(req, 409, "import %" PRId64 ": a chunk is still "
		    "being stored; send the next once it is answered", id);
		return;
	}
	is->last = time(NULL);
	is->finish = finish;
	is->late = control_late(req);
	body = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(body);
	is->fed = finish || len > 0;
	if (!is->fed) {
		/* nothing to say about earlier chunks */
		memset(&none, 0, sizeof(none));
		api_import_fed(&none, is);
		return;
	}
	is->out = 1;
	intake_feed(is->in, finish ? NULL : (const char *)evbuffer_pullup(
	    body, -1), finish ? 0 : len, api_import_fed, is);
}

void
api_import_chunk(struct evhttp_request *req, int64_t id, const char *verb)
{
	(void)verb;
	api_import_feed(req, id, 0);
}

void
api_import_finish(struct evhttp_request *req, int64_t id, const char *verb)
{
	(void)verb;
	api_import_feed(req, id, 1);
}

void
api_import_shutdown(void)
{
	struct import_session	*is;

	while ((is = TAILQ_FIRST(&import_sessions)) != NULL)
		api_import_free(is);
}
