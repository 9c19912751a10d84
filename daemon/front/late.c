/*
 * late.c -- requests answered later, once the core's store write is done
 * on the writer thread (or a sync or a test send has ended).
 *
 * evhttp frees a request with its connection when the client goes away
 * first; the connection's close callback is the only word of it.  A late
 * request takes that callback over while it waits: if it fires, the
 * request is forgotten (late_req() gives NULL, nobody is answered) and
 * the connection's own close callback runs as it would have.  libevent
 * has no getter for a close callback, so the caller names its own.
 */
#include <stdlib.h>

#include <event2/http.h>

#include "front.h"

struct late {
	struct evhttp_request	*req;		/* NULL once the client left */
	struct evhttp_connection *evcon;
	late_close_cb		 close;		/* the connection's own */
	void			*close_arg;
};

static void
late_gone(struct evhttp_connection *evcon, void *arg)
{
	struct late	*l = arg;

	l->req = NULL;
	l->evcon = NULL;
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (l->close != NULL)
		l->close(evcon, l->close_arg);
}

struct late *
late_new(struct evhttp_request *req, late_close_cb close, void *close_arg)
{
	struct late	*l;

	l = xcalloc(1, sizeof(*l));
	l->req = req;
	l->close = close;
	l->close_arg = close_arg;
	l->evcon = evhttp_request_get_connection(req);
	if (l->evcon != NULL)
		evhttp_connection_set_closecb(l->evcon, late_gone, l);
	return l;
}

/* The request to answer now, or NULL if its client left; l is freed. */
struct evhttp_request *
late_end(struct late *l)
{
	struct evhttp_request	*req = l->req;

	if (l->evcon != NULL)
		evhttp_connection_set_closecb(l->evcon, l->close,
		    l->close_arg);
	free(l);
	return req;
}
