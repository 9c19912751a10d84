/*
 * front.h -- the daemon's front: the control socket (HTTP/1.1 + JSON,
 * a route table of API resources) and the public listener.  The front
 * turns requests into core calls (core.h) and their results into
 * answers; the core never calls it.
 */
#ifndef FRONT_H
#define FRONT_H

#include <stdint.h>

#include "core.h"

struct evhttp_connection;
struct evhttp_request;
struct json_t;

/* late.c: a request answered later (after a store write off the loop);
 * late_end() gives it back, or NULL if its client left meanwhile */
typedef void	(*late_close_cb)(struct evhttp_connection *, void *);
struct late;
struct late	*late_new(struct evhttp_request *, late_close_cb, void *);
struct evhttp_request *late_end(struct late *);

/* control.c: the control socket */
int	control_init(char *, size_t);
void	control_shutdown(void);
void	control_reply(struct evhttp_request *, int, struct json_t *);
void	control_error(struct evhttp_request *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
struct json_t *control_body_json(struct evhttp_request *);
/* The HTTP status for a core result. */
int	control_status(enum core_rc);
/* control_late(req): answered later, from its done callback */
struct late	*control_late(struct evhttp_request *);
void	control_late_answer(struct late *, const struct core_result *,
	    struct json_t *);

/*
 * A route's handler.  id is the number a "{id}" in the route's path
 * matched, else 0; verb the path's last part where the route has a
 * "{verb}" there.
 */
typedef void	(*control_handler)(struct evhttp_request *, int64_t,
		    const char *);

/* api_broadcasts.c: /v1/broadcasts, /v1/status */
void	api_broadcasts_send(struct evhttp_request *, int64_t, const char *);
void	api_broadcasts_control(struct evhttp_request *, int64_t,
	    const char *);
void	api_broadcasts_resend(struct evhttp_request *, int64_t,
	    const char *);
void	api_broadcasts_status(struct evhttp_request *, int64_t,
	    const char *);
void	api_broadcasts_shutdown(void);
void	api_broadcasts_status_one(struct evhttp_request *, int64_t,
	    const char *);

/* api_subscribers.c: /v1/subscribers */
void	api_subscribers_list(struct evhttp_request *, int64_t, const char *);
void	api_subscribers_count(struct evhttp_request *, int64_t, const char *);
void	api_subscribers_add(struct evhttp_request *, int64_t, const char *);
void	api_subscribers_remove(struct evhttp_request *, int64_t,
	    const char *);
void	api_subscribers_reactivate(struct evhttp_request *, int64_t,
	    const char *);

/* api_bounces.c: /v1/bounces, what `broadside bounce` found */
void	api_bounces_report(struct evhttp_request *, int64_t, const char *);

/* api_import.c: /v1/import, streamed CSV imports */
void	api_import_start(struct evhttp_request *, int64_t, const char *);
void	api_import_chunk(struct evhttp_request *, int64_t, const char *);
void	api_import_finish(struct evhttp_request *, int64_t, const char *);
void	api_import_shutdown(void);

/* api_daemon.c: /v1/feed, /v1/reload */
void	api_daemon_feed(struct evhttp_request *, int64_t, const char *);
void	api_daemon_reload(struct evhttp_request *, int64_t, const char *);

/* metrics.c: the engine's Prometheus lines (sent/deferred/failed by
 * broadcast, waiting, rate, queue depth, sessions open) */
struct buf;
/* metrics.c: the store's figures read off the loop, then the text */
struct metrics_read;
void	metrics_read(void (*)(struct metrics_read *, void *), void *);
void	metrics_read_free(struct metrics_read *);
void	metrics_subscribers(struct buf *, const struct metrics_read *);
void	metrics_engine(struct buf *, const struct metrics_read *);

/* http.c: the public listener (http.listen) */
int	http_init(char *, size_t);
void	http_shutdown(void);

#endif
