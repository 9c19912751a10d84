/*
 * api_bounces.c -- POST /v1/bounces: the verdict `broadside bounce` made
 * of one returned message (a kind and the identifiers it carried), for
 * the core to verify and record (core/bounces.c).
 *
 * Request: {"kind": "hard"|"soft"|"complaint", "verp": TOKEN,
 * "message_id": ID, "unsubscribe_token": TOKEN, "status": "5.1.1"}, the
 * identifiers optional.  Answer 200 {"result": "recorded"|"duplicate"|
 * "ignored", "reason": …, "broadcast": N, "subscriber": N, "kind": …,
 * "subscriber_status": …} once the store has it, so that the CLI exits 0
 * only for what is in the store; 500 if the store refused it (the CLI
 * exits 75 and the MTA retries).  A forged or unknown token is 200
 * "ignored": the MTA must drop it, not retry it.
 */
#include <jansson.h>
#include <string.h>

#include <event2/http.h>

#include "bounces.h"
#include "core.h"
#include "front.h"
#include "store.h"

static json_t *
api_bounces_json(const struct bounce_outcome *o)
{
	json_t	*j;

	j = json_pack("{s:s,s:s,s:s}", "result", o->result, "reason",
	    o->why ? o->why : "", "kind", store_bounce_strkind(o->kind));
	if (o->via != NULL)
		json_object_set_new(j, "via", json_string(o->via));
	if (o->subscriber > 0) {
		json_object_set_new(j, "broadcast",
		    json_integer(o->broadcast));
		json_object_set_new(j, "subscriber",
		    json_integer(o->subscriber));
	}
	if (strcmp(o->result, "ignored") != 0)
		json_object_set_new(j, "subscriber_status",
		    json_string(store_sub_strstatus(o->status)));
	return j;
}

/* The core is done with it: answer, unless the CLI left meanwhile. */
static void
api_bounces_done(enum core_rc rc, const struct bounce_outcome *o,
    const char *err, void *arg)
{
	struct evhttp_request	*req;

	if ((req = late_end(arg)) == NULL)
		return;		/* it exits 75; the MTA retries: counted once */
	if (rc != CORE_OK)
		control_error(req, control_status(rc), "bounce not recorded: "
		    "%s", err ? err : "store failure");
	else
		control_reply(req, 200, api_bounces_json(o));
}

/* An optional string member: NULL if absent; -1 if not a string. */
static int
api_bounces_str(json_t *body, const char *key, const char **out)
{
	json_t	*v = json_object_get(body, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

void
api_bounces_report(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct bounce_verdict	 v;
	struct bounce_outcome	 out;
	struct late		*l;
	const char		*kind = NULL;
	json_t			*body;

	(void)id;
	(void)verb;
	if ((body = control_body_json(req)) == NULL)
		return;
	memset(&v, 0, sizeof(v));
	if (api_bounces_str(body, "kind", &kind) == -1 || kind == NULL ||
	    api_bounces_str(body, "verp", &v.verp) == -1 ||
	    api_bounces_str(body, "message_id", &v.message_id) == -1 ||
	    api_bounces_str(body, "unsubscribe_token", &v.unsub) == -1 ||
	    api_bounces_str(body, "status", &v.status) == -1) {
		control_error(req, 400, "bounce: kind missing, or a member "
		    "that is not a string");
		json_decref(body);
		return;
	}
	if (strcmp(kind, "hard") == 0)
		v.kind = STORE_BOUNCE_HARD;
	else if (strcmp(kind, "soft") == 0)
		v.kind = STORE_BOUNCE_SOFT;
	else if (strcmp(kind, "complaint") == 0)
		v.kind = STORE_COMPLAINT;
	else {
		control_error(req, 400, "bounce: kind is hard, soft or "
		    "complaint");
		json_decref(body);
		return;
	}
	/* the strings are the body's: the core copies what it keeps */
	l = control_late(req);
	if (bounces_report(&v, &out, api_bounces_done, l) == 0 &&
	    (req = late_end(l)) != NULL)
		control_reply(req, 200, api_bounces_json(&out));
	json_decref(body);
}
