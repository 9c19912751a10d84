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

/* GET /v1/feed: its broadcasts read on the reader thread, rendered here
 * once they are back, answered late. */
struct api_feed {
	struct late	*late;
	struct pub_snap	*ps;
};

static int
api_daemon_feed_work(struct store *st, void *arg)
{
	return pub_snap_work(st, ((struct api_feed *)arg)->ps);
}

static void
api_daemon_feed_done(void *arg, int rc)
{
	struct api_feed		*f = arg;
	struct evhttp_request	*req = late_end(f->late);
	struct buf		 b = BUF_INIT;
	char			 err[512];

	if (req == NULL)
		;
	else if (rc == -1)
		control_error(req, 500, "feed: %s", pub_snap_err(f->ps));
	else if (feed_render(f->ps, &b, err, sizeof(err)) == -1)
		control_error(req, 500, "feed: %s", err);
	else
		control_reply(req, 200, json_pack("{s:s%}", "xml", b.p ? b.p :
		    "", b.len));
	buf_free(&b);
	pub_snap_free(f->ps);
	free(f);
}

void
api_daemon_feed(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct api_feed	*f;

	(void)id;
	(void)verb;
	f = xcalloc(1, sizeof(*f));
	f->ps = pub_snap_new(0, feed_read_limit(), 0);
	f->late = control_late(req);
	reader_submit(api_daemon_feed_work, api_daemon_feed_done, f);
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
