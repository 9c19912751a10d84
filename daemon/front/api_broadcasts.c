/*
 * api_broadcasts.c -- /v1/broadcasts (send, test sends, pause, resume,
 * cancel) and /v1/status over the control socket.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "core.h"
#include "front.h"
#include "store.h"

#define API_TRANSLATIONS_MAX	63

/*
 * The request's statement; 0, or -1 after answering 400.  Its
 * translations (optional "translations": [{source, filename, markdown,
 * lang}], each "lang" optional as the statement's) point into body:
 * api_broadcasts_source_free when done.
 */
static int
api_broadcasts_source(struct evhttp_request *req, json_t *body,
    struct bc_source *src)
{
	struct bc_source	*t;
	json_t			*trs, *o;
	size_t			 i;

	memset(src, 0, sizeof(*src));
	src->source = json_string_value(json_object_get(body, "source"));
	src->filename = json_string_value(json_object_get(body, "filename"));
	src->subject = json_string_value(json_object_get(body, "subject"));
	src->markdown = json_is_true(json_object_get(body, "markdown"));
	src->lang = json_string_value(json_object_get(body, "lang"));
	if (src->source == NULL || src->filename == NULL) {
		control_error(req, 400, "missing source or filename");
		return -1;
	}
	trs = json_object_get(body, "translations");
	if (trs == NULL || json_array_size(trs) == 0)
		return 0;
	if (!json_is_array(trs) || json_array_size(trs) >
	    API_TRANSLATIONS_MAX) {
		control_error(req, 400, "translations: not an array of at "
		    "most %d statements", API_TRANSLATIONS_MAX);
		return -1;
	}
	t = xcalloc(json_array_size(trs), sizeof(*t));
	json_array_foreach(trs, i, o) {
		t[i].source = json_string_value(json_object_get(o, "source"));
		t[i].filename = json_string_value(json_object_get(o,
		    "filename"));
		t[i].markdown = json_is_true(json_object_get(o, "markdown"));
		t[i].lang = json_string_value(json_object_get(o, "lang"));
		if (t[i].source == NULL || t[i].filename == NULL) {
			control_error(req, 400, "translation %zu: missing "
			    "source or filename", i + 1);
			free(t);
			return -1;
		}
	}
	src->translations = t;
	src->ntranslations = json_array_size(trs);
	return 0;
}

static void
api_broadcasts_source_free(struct bc_source *src)
{
	free((void *)src->translations);
	src->translations = NULL;
	src->ntranslations = 0;
}

/* A new broadcast is stored (or the store refused it). */
static void
api_broadcasts_created(const struct core_result *r, void *arg)
{
	/* a client that left leaves the broadcast stored */
	control_late_answer(arg, r, r->rc != CORE_OK ? NULL :
	    json_pack("{s:I}", "id", (json_int_t)r->id));
}

static void
api_broadcasts_create(struct evhttp_request *req, json_t *body)
{
	struct bc_source	 src;
	struct late		*l;
	enum core_rc		 rc;
	char			 err[1024];

	if (api_broadcasts_source(req, body, &src) == -1)
		return;
	l = control_late(req);
	if ((rc = queue_bc_create(&src, api_broadcasts_created, l, err,
	    sizeof(err))) != CORE_OK) {
		req = late_end(l);
		control_error(req, control_status(rc), "%s", err);
	}
	api_broadcasts_source_free(&src);
}

/* A new broadcast waited for the subscribers.file sync: store it now. */
struct api_send_wait {
	struct late		*late;
	json_t			*body;
};

static void
api_broadcasts_synced(int rc, const char *err, void *arg)
{
	struct api_send_wait	*w = arg;
	struct evhttp_request	*req = late_end(w->late);

	(void)err;
	/* a file that could not be read is logged by whoever started the
	 * sync; the broadcast goes to the subscribers there are */
	if (req == NULL)
		;		/* its client left: nothing is stored */
	else if (rc == -1 && env->stopping)
		control_error(req, 503, "%s: not stored: broadsided is "
		    "shutting down", json_string_value(json_object_get(w->body,
		    "filename")));
	else
		api_broadcasts_create(req, w->body);
	json_decref(w->body);
	free(w);
}

/* The tests are done: every address's result. */
static void
api_broadcasts_tested(const struct queue_test_result *r, size_t n,
    void *arg)
{
	struct evhttp_request	*req = arg;
	json_t			*results = json_array();
	size_t			 i;

	for (i = 0; i < n; i++)
		json_array_append_new(results, json_pack("{s:s,s:s,s:i,s:s}",
		    "email", r[i].email, "result", r[i].result, "code",
		    r[i].code, "message", r[i].msg));
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    NULL, NULL);
	control_reply(req, 200, json_pack("{s:o}", "results", results));
}

/* The client went away: answer nobody when the tests finish. */
static void
api_broadcasts_test_gone(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	queue_test_forget(arg);
}

static void
api_broadcasts_test(struct evhttp_request *req, json_t *body, json_t *tests)
{
	struct bc_source	  src;
	struct qtest		 *t;
	enum core_rc		  rc;
	const char		**addrs;
	json_t			 *a;
	char			  err[1024];
	size_t			  i, n = json_array_size(tests);

	if (api_broadcasts_source(req, body, &src) == -1)
		return;
	addrs = xcalloc(n, sizeof(*addrs));
	json_array_foreach(tests, i, a) {
		if (!json_is_string(a)) {
			control_error(req, 400, "--test ?: not a string");
			api_broadcasts_source_free(&src);
			free(addrs);
			return;
		}
		addrs[i] = json_string_value(a);
	}
	rc = queue_test_start(&src, addrs, n, api_broadcasts_tested, req, &t,
	    err, sizeof(err));
	api_broadcasts_source_free(&src);
	free(addrs);
	if (rc != CORE_OK) {
		control_error(req, control_status(rc), "%s", err);
		return;
	}
	/* answered when every test is done */
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    api_broadcasts_test_gone, t);
}

/* POST /v1/broadcasts: store a new broadcast (or send a test). */
void
api_broadcasts_send(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct api_send_wait	*w;
	struct bc_source	 src;
	json_t			*body, *tests;
	enum core_rc		 rc;
	char			 err[1024];

	(void)id;
	(void)verb;
	if ((body = control_body_json(req)) == NULL)
		return;
	tests = json_object_get(body, "test");
	if (json_is_array(tests) && json_array_size(tests) > 0) {
		api_broadcasts_test(req, body, tests);
		json_decref(body);
		return;
	}
	if (api_broadcasts_source(req, body, &src) == -1) {
		json_decref(body);
		return;
	}
	/* a bad file is refused at once, not once the sync is over */
	rc = queue_bc_check(&src, err, sizeof(err));
	api_broadcasts_source_free(&src);
	if (rc != CORE_OK) {
		control_error(req, control_status(rc), "%s", err);
		json_decref(body);
		return;
	}
	w = xmalloc(sizeof(*w));
	w->late = control_late(req);
	w->body = body;
	if (sync_wait(api_broadcasts_synced, w)) {
		/* its recipients are the active subscribers once the file
		 * is in */
		log_info("broadcast from %s: waiting for the subscribers.file "
		    "sync to end", src.filename);
		return;
	}
	req = late_end(w->late);
	free(w);
	api_broadcasts_create(req, body);
	json_decref(body);
}

static void
api_broadcasts_controlled(const struct core_result *r, void *arg)
{
	control_late_answer(arg, r, r->rc != CORE_OK ? NULL :
	    json_pack("{s:I,s:s}", "id", (json_int_t)r->id, "state",
	    r->state));
}

/* POST /v1/broadcasts/ID/pause|resume|cancel */
void
api_broadcasts_control(struct evhttp_request *req, int64_t id,
    const char *verb)
{
	struct late	*l = control_late(req);
	enum core_rc	 rc;
	char		 err[1024];

	if ((rc = queue_bc_control(id, verb, api_broadcasts_controlled, l, err,
	    sizeof(err))) != CORE_OK) {
		req = late_end(l);
		control_error(req, control_status(rc), "%s", err);
	}
}

static void
api_broadcasts_resent(const struct core_result *r, void *arg)
{
	/* a client that left leaves the resend stored */
	control_late_answer(arg, r, r->rc != CORE_OK ? NULL :
	    json_pack("{s:I,s:I}", "id", (json_int_t)r->id, "total",
	    (json_int_t)r->changed));
}

/*
 * POST /v1/broadcasts/ID/resend {"failed": bool, "deferred": bool}
 * (neither true: both): a new broadcast to those it did not reach.
 */
void
api_broadcasts_resend(struct evhttp_request *req, int64_t id,
    const char *verb)
{
	struct late	*l;
	json_t		*body;
	enum core_rc	 rc;
	unsigned	 states = 0;
	char		 err[1024];

	(void)verb;
	if ((body = control_body_json(req)) == NULL)
		return;
	if (json_is_true(json_object_get(body, "failed")))
		states |= 1u << DLV_FAILED;
	if (json_is_true(json_object_get(body, "deferred")))
		states |= 1u << DLV_DEFERRED;
	json_decref(body);
	if (states == 0)
		states = 1u << DLV_FAILED | 1u << DLV_DEFERRED;
	l = control_late(req);
	if ((rc = resend_start(id, states, api_broadcasts_resent, l, err,
	    sizeof(err))) != CORE_OK) {
		req = late_end(l);
		control_error(req, control_status(rc), "%s", err);
	}
}

/* The relays out while a broadcast sends (the others carry it), or NULL. */
static json_t *
api_broadcasts_relays_out(void)
{
	struct queue_relay_stats	*v;
	json_t				*a = NULL;
	size_t				 i, n = queue_relays(&v);

	for (i = 0; i < n; i++) {
		if (v[i].up)
			continue;
		if (a == NULL)
			a = json_array();
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "relay",
		    v[i].name, "state", v[i].state, "reason", v[i].reason ?
		    v[i].reason : ""));
	}
	free(v);
	return a;
}

/* Recipients per language of the version they get, once counted
 * (langs.c, off the loop): "languages": {LANG: n}. */
static void
api_broadcasts_langs(json_t *j, const struct broadcast *bc)
{
	const struct langs_entry	*le;
	const char			*lang;
	json_t				*o;
	int64_t				 n;
	size_t				 i;

	if (langs_get(bc->id, bc->lang, bc->snapping, &le) != 1)
		return;
	o = json_object();
	for (i = 0; langs_entry_get(le, i, &lang, &n) == 0; i++)
		json_object_set_new(o, lang, json_integer(n));
	json_object_set_new(j, "languages", o);
}

/*
 * One broadcast as status shows it.  store_err: the store could not be
 * read and bc is the last row read (api_bc_last): a broadcast the engine
 * is sending waits for the store, with the engine's reason if it has
 * met the fault already, else the read's; "stale" says the counts are
 * the last known.
 */
static json_t *
api_broadcasts_json(const struct broadcast *bc, const char *store_err)
{
	const char	*state = store_bc_strstate(bc->state);
	const char	*reason = bc->state == BC_PAUSED ? bc->reason : NULL;
	const char	*waiting = queue_waiting(bc->id);
	char		 why[600];
	json_t		*j;

	if (waiting == NULL && store_err != NULL) {
		snprintf(why, sizeof(why), "waiting for store: %s", store_err);
		waiting = why;
	}
	/* sending, but held back by the relay or the store */
	if (waiting != NULL && (bc->state == BC_SENDING ||
	    bc->state == BC_QUEUED)) {
		state = "waiting";
		reason = waiting;
	}

	j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,"
	    "s:I,s:I,s:I,s:s?}",
	    "id", (json_int_t)bc->id, "title", bc->title,
	    "subject", bc->subject, "state", state,
	    "total", (json_int_t)bc->total, "sent", (json_int_t)bc->sent,
	    "pending", (json_int_t)bc->pending,
	    "deferred", (json_int_t)bc->deferred,
	    "failed", (json_int_t)bc->failed,
	    "bounced", (json_int_t)bc->bounced,
	    "complained", (json_int_t)bc->complained,
	    "rate", queue_rate(bc->id),
	    "created", (json_int_t)bc->created,
	    "started", (json_int_t)bc->started,
	    "finished", (json_int_t)bc->finished,
	    "reason", reason);
	api_broadcasts_langs(j, bc);
	/* a resend, and the newest resend of this one */
	json_object_set_new(j, "resent_from", bc->resent_from ?
	    json_integer(bc->resent_from) : json_null());
	json_object_set_new(j, "resent_as", bc->resent_as ?
	    json_integer(bc->resent_as) : json_null());
	/* relays out while it sends (or waits): which, and why */
	if (bc->state == BC_SENDING) {
		json_t	*out = api_broadcasts_relays_out();

		if (out != NULL)
			json_object_set_new(j, "relays_out", out);
	}
	if (store_err != NULL)
		json_object_set_new(j, "stale", json_true());
	return j;
}

/*
 * The broadcasts as last read, for status while the store cannot be
 * read (a shared PostgreSQL restarting, SQLite locked past its
 * timeout): the latest list, each row replaced by a newer one-broadcast
 * read.  At most 1,000 rows, as the list.
 */
static struct bc_vec	 api_bc_last;

static void
api_broadcasts_remember(struct bc_vec *v, int one)
{
	size_t	i;

	if (!one) {
		bc_vec_free(&api_bc_last);
		api_bc_last = *v;
		memset(v, 0, sizeof(*v));
		return;
	}
	if (v->n == 0)
		return;
	for (i = 0; i < api_bc_last.n; i++)
		if (api_bc_last.v[i]->id == v->v[0]->id)
			break;
	if (i == api_bc_last.n) {
		if (i >= 1000)
			return;
		bc_vec_add(v->v[0], &api_bc_last);
		return;
	}
	bc_dup_free(api_bc_last.v[i]);
	api_bc_last.v[i] = v->v[0];
	v->v[0] = v->v[--v->n];
}

static const struct broadcast *
api_broadcasts_last(int64_t id)
{
	size_t	i;

	for (i = 0; i < api_bc_last.n; i++)
		if (api_bc_last.v[i]->id == id)
			return api_bc_last.v[i];
	return NULL;
}

void
api_broadcasts_shutdown(void)
{
	bc_vec_free(&api_bc_last);
}

static int
api_broadcasts_node_cb(const struct store_node_share *n, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:I,s:I,s:I}", "node",
	    n->node, "sent", (json_int_t)n->sent, "in_flight",
	    (json_int_t)n->in_flight, "last_seen", (json_int_t)n->last_seen));
	return 0;
}

/*
 * GET /v1/status, /v1/status/ID: the rows are read on the reader thread
 * (nodes' shares too, as plain JSON: no loop state in them), the JSON
 * that needs the engine's state (waiting, rate, languages, relays out)
 * made back on the loop, and the request answered late.
 */
struct api_bc_read {
	struct late	*late;
	int64_t		 id;
	int		 one;		/* id's, or the latest broadcasts */
	struct bc_vec	 bcs;
	json_t		*nodes;		/* one's nodes, or NULL */
	char		 err[512];
};

static int
api_broadcasts_read_work(struct store *st, void *arg)
{
	struct api_bc_read	*r = arg;
	char			 err[512];

	if (!r->one)
		return store_bc_list(st, 1000, bc_vec_add, &r->bcs, r->err,
		    sizeof(r->err));
	if (store_bc_get(st, r->id, bc_vec_add, &r->bcs, r->err,
	    sizeof(r->err)) == -1)
		return -1;
	if (r->bcs.n == 0)
		return 0;
	/* on a shared store: each node's share of it */
	r->nodes = json_array();
	if (store_bc_nodes(st, r->id, api_broadcasts_node_cb, r->nodes, err,
	    sizeof(err)) == -1) {
		json_decref(r->nodes);
		r->nodes = NULL;
	}
	return 0;
}

/* The status list of the broadcasts in v (store_err: as for one). */
static json_t *
api_broadcasts_array(const struct bc_vec *v, const char *store_err)
{
	json_t	*j = json_array();
	size_t	 i;

	for (i = 0; i < v->n; i++)
		json_array_append_new(j, api_broadcasts_json(v->v[i],
		    store_err));
	return j;
}

/*
 * The store out of reach: the rows as last read, else the engine's
 * counts of the broadcast it sends (not logged: the engine says so
 * once, a watch asks 5 times a second).
 */
static void
api_broadcasts_stale(struct evhttp_request *req, const struct api_bc_read *r)
{
	const struct broadcast	*bc;
	struct broadcast	 known;
	json_t			*j;

	if (!r->one && api_bc_last.n > 0)
		control_reply(req, 200, api_broadcasts_array(&api_bc_last,
		    r->err));
	else if (r->one && (bc = api_broadcasts_last(r->id)) != NULL)
		control_reply(req, 200, api_broadcasts_json(bc, r->err));
	else if (queue_run_known(r->id, &known) == 0) {
		j = api_broadcasts_json(&known, r->err);
		control_reply(req, 200, r->one ? j : json_pack("[o]", j));
	} else
		control_error(req, 500, "%s", r->err);
}

static void
api_broadcasts_read_done(void *arg, int rc)
{
	struct api_bc_read	*r = arg;
	struct evhttp_request	*req = late_end(r->late);
	json_t			*j;

	if (req == NULL)
		;
	else if (rc == -1)
		api_broadcasts_stale(req, r);
	else if (!r->one)
		control_reply(req, 200, api_broadcasts_array(&r->bcs, NULL));
	else if (r->bcs.n == 0)
		control_error(req, 404, "broadcast %" PRId64
		    ": no such broadcast", r->id);
	else {
		j = api_broadcasts_json(r->bcs.v[0], NULL);
		if (r->nodes != NULL) {
			json_object_set_new(j, "nodes", r->nodes);
			r->nodes = NULL;
		}
		control_reply(req, 200, j);
	}
	if (rc != -1)
		api_broadcasts_remember(&r->bcs, r->one);
	if (r->nodes != NULL)
		json_decref(r->nodes);
	bc_vec_free(&r->bcs);
	free(r);
}

static void
api_broadcasts_read(struct evhttp_request *req, int64_t id, int one)
{
	struct api_bc_read	*r;

	r = xcalloc(1, sizeof(*r));
	r->id = id;
	r->one = one;
	r->late = control_late(req);
	reader_submit(api_broadcasts_read_work, api_broadcasts_read_done, r);
}

/* GET /v1/status/ID */
void
api_broadcasts_status_one(struct evhttp_request *req, int64_t id,
    const char *verb)
{
	(void)verb;
	api_broadcasts_read(req, id, 1);
}

/* GET /v1/status: the latest broadcasts */
void
api_broadcasts_status(struct evhttp_request *req, int64_t id,
    const char *verb)
{
	(void)id;
	(void)verb;
	api_broadcasts_read(req, 0, 0);
}
