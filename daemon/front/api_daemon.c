/*
 * api_daemon.c -- /v1/feed (the feed as the daemon would serve it) and
 * /v1/reload over the control socket.
 */
#include <jansson.h>
#include <stdlib.h>

#include <event2/http.h>

#include "buf.h"
#include "core.h"
#include "front.h"

void
api_daemon_feed(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct buf	 b = BUF_INIT;
	char		 err[512];

	(void)id;
	(void)verb;
	if (feed_render(&b, err, sizeof(err)) == -1) {
		buf_free(&b);
		control_error(req, 500, "feed: %s", err);
		return;
	}
	control_reply(req, 200, json_pack("{s:s%}", "xml", b.p ? b.p : "",
	    b.len));
	buf_free(&b);
}

/*
 * The answer to POST /v1/reload, once subscribers.file is in.  Should the
 * client hang up first, evhttp keeps the request for this reply (it is
 * detached from its connection and freed by evhttp_send_reply).
 */
static void
api_daemon_reloaded(int rc, const char *err, void *arg)
{
	struct evhttp_request	*req = arg;

	if (rc == -1)
		control_error(req, 409, "%s", err);
	else
		control_reply(req, 200, json_pack("{s:b}", "reloaded", 1));
}

void
api_daemon_reload(struct evhttp_request *req, int64_t id, const char *verb)
{
	(void)id;
	(void)verb;
	reload_start(api_daemon_reloaded, req);
}
