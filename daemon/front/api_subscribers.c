/*
 * api_subscribers.c -- /v1/subscribers over the control socket: list,
 * count, add, remove, reactivate.
 */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "addr.h"
#include "buf.h"
#include "core.h"
#include "front.h"
#include "lang.h"
#include "store.h"

#define LIST_PAGE_MAX		10000

static json_t *
subscriber_json(const struct subscriber *s)
{
	json_t	*fields;

	fields = json_loads(s->fields, 0, NULL);
	if (fields == NULL)
		fields = json_object();
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:s?}", "id",
	    (json_int_t)s->id, "email", s->email, "name", s->name,
	    "status", store_sub_strstatus(s->status), "fields", fields,
	    "created", (json_int_t)s->created, "lang",
	    s->lang != NULL && *s->lang != '\0' ? s->lang : NULL);
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

/* A list or the counts, read and made into JSON on the reader thread
 * (nothing of the loop's in them), answered late. */
struct subs_read {
	struct late	*late;
	int		 count;		/* the counts, else a page */
	int64_t		 after;
	int		 limit;
	json_t		*j;
	char		 err[512];
};

static int
subscribers_read_work(struct store *st, void *arg)
{
	struct subs_read	*r = arg;
	struct list_ctx		 lc;
	int64_t			 c[4];

	if (r->count) {
		if (store_sub_count(st, c, r->err, sizeof(r->err)) == -1)
			return -1;
		r->j = json_pack("{s:I,s:I,s:I,s:I,s:I}",
		    "pending", (json_int_t)c[SUB_PENDING],
		    "active", (json_int_t)c[SUB_ACTIVE],
		    "unsubscribed", (json_int_t)c[SUB_UNSUBSCRIBED],
		    "bounced", (json_int_t)c[SUB_BOUNCED],
		    "total", (json_int_t)(c[0] + c[1] + c[2] + c[3]));
		return 0;
	}
	lc.arr = json_array();
	lc.last = 0;
	if (store_sub_list(st, r->after, r->limit, subscribers_list_cb, &lc,
	    r->err, sizeof(r->err)) == -1) {
		json_decref(lc.arr);
		return -1;
	}
	r->j = json_pack("{s:o,s:o}", "subscribers", lc.arr, "next",
	    json_array_size(lc.arr) == (size_t)r->limit ?
	    json_integer(lc.last) : json_null());
	return 0;
}

static void
subscribers_read_done(void *arg, int rc)
{
	struct subs_read	*r = arg;
	struct evhttp_request	*req = late_end(r->late);

	if (req != NULL && rc == -1)
		control_error(req, 500, "%s", r->err);
	else if (req != NULL) {
		control_reply(req, 200, r->j);
		r->j = NULL;
	}
	if (r->j != NULL)
		json_decref(r->j);
	free(r);
}

void
api_subscribers_list(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct evkeyvalq	 q;
	struct subs_read	*r;
	const char		*v, *query;
	int64_t			 after = 0;
	long			 limit = 1000;

	(void)id;
	(void)verb;
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
	r = xcalloc(1, sizeof(*r));
	r->after = after;
	r->limit = (int)limit;
	r->late = control_late(req);
	reader_submit(subscribers_read_work, subscribers_read_done, r);
}

void
api_subscribers_count(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct subs_read	*r;

	(void)id;
	(void)verb;
	r = xcalloc(1, sizeof(*r));
	r->count = 1;
	r->late = control_late(req);
	reader_submit(subscribers_read_work, subscribers_read_done, r);
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

static const char	*what_names[] = { "added", "updated", "suppressed",
    "duplicate" };

/* Answer an add or remove once stored: {"email", "result"}, logged. */
static void
subscribers_reply(const struct core_result *r, void *arg, const char *result)
{
	if (r->rc == CORE_OK)
		log_info("subscriber %s: %s by control", r->email, result);
	control_late_answer(arg, r, r->rc != CORE_OK ? NULL :
	    json_pack("{s:s,s:s}", "email", r->email, "result", result));
}

static void
subscribers_added(const struct core_result *r, void *arg)
{
	subscribers_reply(r, arg, what_names[r->what]);
}

void
api_subscribers_add(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct subs_req	 sr;
	json_t		*j;
	const char	*name, *lang;
	char		 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], tag[LANG_MAX];

	(void)id;
	(void)verb;
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
	lang = json_string_value(json_object_get(j, "lang"));
	if (lang != NULL && lang_norm(lang, tag, sizeof(tag)) == -1) {
		control_error(req, 400, "--lang: \"%.40s\" is not a language "
		    "tag (es, pt-BR, ar...)", lang);
		goto end;
	}
	memset(&sr, 0, sizeof(sr));
	sr.op = SUBS_ADD;
	sr.addr = addr;
	sr.name = name;
	sr.lang = lang != NULL ? tag : NULL;
	subs_write(&sr, subscribers_added, control_late(req));
end:
	json_decref(j);
}

static void
subscribers_removed(const struct core_result *r, void *arg)
{
	subscribers_reply(r, arg, "removed");
}

/*
 * Unsubscribe, as the HTTP unsubscribe does: the status first (so no
 * later claim takes the address), then whatever the engine already
 * claimed for it is dropped before it reaches a sender (subs.c).
 */
void
api_subscribers_remove(struct evhttp_request *req, int64_t id,
    const char *verb)
{
	struct subs_req	 sr;
	json_t		*j;
	char		 addr[ADDR_BUFSZ], key[ADDR_BUFSZ];

	(void)id;
	(void)verb;
	if ((j = control_body_json(req)) == NULL)
		return;
	if (subscribers_addr(req, j, addr, key) == -1)
		goto end;
	memset(&sr, 0, sizeof(sr));
	sr.op = SUBS_REMOVE;
	sr.addr = addr;
	subs_write(&sr, subscribers_removed, control_late(req));
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

struct reactivate {
	struct late	*late;
	int64_t		 bc;		/* bounced_by, else 0 */
	int		 found;		/* bc is in the store */
	char		 err[512];
};

static void
subscribers_reactivated(const struct core_result *r, void *arg)
{
	struct reactivate	*ra = arg;
	struct evhttp_request	*req = late_end(ra->late);
	int64_t			 bc = ra->bc;

	free(ra);
	if (req == NULL)
		return;
	if (r->rc != CORE_OK) {
		control_error(req, control_status(r->rc), "%s", r->err);
		return;
	}
	if (bc > 0) {
		log_info("broadcast %" PRId64 ": %" PRId64 " subscribers it "
		    "bounced reactivated by control", bc, r->changed);
		control_reply(req, 200, json_pack("{s:I,s:I}", "bounced_by",
		    (json_int_t)bc, "reactivated", (json_int_t)r->changed));
		return;
	}
	if (r->changed)
		log_info("subscriber %s: reactivated by control", r->email);
	control_reply(req, 200, json_pack("{s:s,s:I,s:s}", "email", r->email,
	    "reactivated", (json_int_t)r->changed, "status",
	    store_sub_strstatus(r->changed ? SUB_ACTIVE :
	    (enum sub_status)r->status)));
}

/* bounced_by: is bc there?  Read on the reader thread; then the
 * change, or 404. */
static int
subscribers_bc_work(struct store *st, void *arg)
{
	struct reactivate	*ra = arg;

	return store_bc_get(st, ra->bc, bc_found_cb, &ra->found, ra->err,
	    sizeof(ra->err));
}

static void
subscribers_bc_done(void *arg, int rc)
{
	struct reactivate	*ra = arg;
	struct evhttp_request	*req;
	struct subs_req		 sr;

	if (rc == 0 && ra->found) {
		memset(&sr, 0, sizeof(sr));
		sr.op = SUBS_REACTIVATE_BOUNCED_BY;
		sr.id = ra->bc;
		subs_write(&sr, subscribers_reactivated, ra);
		return;
	}
	if ((req = late_end(ra->late)) != NULL && rc == -1)
		control_error(req, 500, "%s", ra->err);
	else if (req != NULL)
		control_error(req, 404, "broadcast %" PRId64 ": no such "
		    "broadcast", ra->bc);
	free(ra);
}

/*
 * Undo mistaken bounces: {"email": ADDR} or {"bounced_by": BROADCAST}.
 * Only bounced subscribers become active; an unsubscribed address is
 * refused (409), since only its owner may bring it back.
 */
void
api_subscribers_reactivate(struct evhttp_request *req, int64_t id,
    const char *verb)
{
	struct subs_req		 sr;
	struct reactivate	*ra;
	json_t			*j, *by;
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ];
	int64_t			 bc = 0;

	(void)id;
	(void)verb;
	if ((j = control_body_json(req)) == NULL)
		return;
	memset(&sr, 0, sizeof(sr));
	by = json_object_get(j, "bounced_by");
	if (by != NULL) {
		if (!json_is_integer(by) || (bc = json_integer_value(by)) <= 0) {
			control_error(req, 400, "bounced_by: not a broadcast ID");
			goto end;
		}
		ra = xcalloc(1, sizeof(*ra));
		ra->late = control_late(req);
		ra->bc = bc;
		reader_submit(subscribers_bc_work, subscribers_bc_done, ra);
		goto end;
	}
	if (subscribers_addr(req, j, addr, key) == -1)
		goto end;
	sr.op = SUBS_REACTIVATE;
	sr.addr = addr;
	ra = xcalloc(1, sizeof(*ra));
	ra->late = control_late(req);
	subs_write(&sr, subscribers_reactivated, ra);
end:
	json_decref(j);
}
