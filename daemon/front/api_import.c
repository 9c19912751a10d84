/*
 * api_import.c -- /v1/import: streamed CSV imports over the control
 * socket.
 *
 * An import is a session: the CLI opens it, posts the file in chunks of
 * raw bytes (never the whole file at once), then finishes it.  Each
 * chunk goes through the core's intake in one transaction (intake.c);
 * the answer to each says what it did and which lines were refused.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
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
};

static TAILQ_HEAD(, import_session) import_sessions =
    TAILQ_HEAD_INITIALIZER(import_sessions);

static void
api_import_free(struct import_session *is)
{
	TAILQ_REMOVE(&import_sessions, is, entry);
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
		if (now - is->last > IMPORT_IDLE_MAX) {
			log_warnx("import %" PRId64 ": abandoned by its client;"
			    " kept the %" PRId64 " rows committed", is->in->id,
			    is->in->added + is->in->updated);
			api_import_free(is);
		}
	}
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
	TAILQ_INSERT_TAIL(&import_sessions, is, entry);
	log_info("import %" PRId64 ": started", is->in->id);
	control_reply(req, 200, json_pack("{s:I}", "import",
	    (json_int_t)is->in->id));
}

static void
api_import_feed(struct evhttp_request *req, int64_t id, int finish)
{
	struct import_session	*is;
	struct intake		*in;
	struct evbuffer		*body;
	json_t			*j, *errors;
	char			 err[512];
	size_t			 i;
	int			 rc, fed = 1;

	api_import_expire();
	TAILQ_FOREACH(is, &import_sessions, entry)
		if (is->in->id == id)
			break;
	if (is == NULL) {
		control_error(req, 404, "import %" PRId64 ": no such session "
		    "(finished or expired)", id);
		return;
	}
	in = is->in;
	is->last = time(NULL);
	body = evhttp_request_get_input_buffer(req);
	if (finish)
		rc = intake_feed(in, NULL, 0, err, sizeof(err));
	else if (evbuffer_get_length(body) == 0)
		rc = fed = 0;	/* nothing to say about earlier chunks */
	else
		rc = intake_feed(in, (const char *)evbuffer_pullup(body, -1),
		    evbuffer_get_length(body), err, sizeof(err));
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
	if (rc == -1) {
		log_warnx("import %" PRId64 ": %s", in->id, err);
		json_object_set_new(j, "error", json_string(err));
	}
	if (finish || rc == -1) {
		log_info("import %" PRId64 ": %s: added=%" PRId64
		    " updated=%" PRId64 " suppressed=%" PRId64
		    " duplicates=%" PRId64 " bad=%lu", in->id,
		    rc == -1 ? "failed" : "done", in->added, in->updated,
		    in->suppressed, in->duplicate, import_rows_bad(in->imp));
		api_import_free(is);
	}
	control_reply(req, 200, j);
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
