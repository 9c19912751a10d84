/*
 * control.c -- the control API: HTTP/1.1 + JSON on a UNIX socket.
 *
 * The socket is created with mode 0660; a stale socket file left by a
 * crash is replaced, a live one (another daemon answers) is not.  Every
 * request is checked against the peer's credentials: root, the daemon's
 * own user and its group may talk to it, nobody else.
 *
 * A request body over CONTROL_MAX_BODY is answered 413 by evhttp, with
 * "Connection: close"; every connection ends with a lingering close
 * (http_linger.h), so a client still sending reads that answer instead
 * of a failed write.  libevent 2.1 has no hook for a server connection
 * being made, so each one's bufferevent is made here (control_bev_cb)
 * and, once evhttp has wrapped it (its callback argument is then the
 * connection), given the close callback that lingers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "buf.h"
#include "front.h"
#include "http_linger.h"

#define CONTROL_MAX_BODY	(4 * 1024 * 1024)	/* one import chunk */
#define CONTROL_MAX_HEADERS	(8 * 1024)

static struct evhttp		*control_http;
static struct evconnlistener	*control_listener;
static char			*control_path;
static struct event		*control_fresh_ev;
static struct bufferevent	**control_fresh;	/* not yet wrapped */
static size_t			 control_nfresh, control_capfresh;

/*
 * Connections: each one's close lingers.
 */

static void
control_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	(void)arg;
	evhttp_connection_set_closecb(evcon, NULL, NULL);	/* once */
	http_linger(env->base, evcon, NULL, NULL);
}

struct late *
control_late(struct evhttp_request *req)
{
	return late_new(req, control_conn_close_cb, NULL);
}

/* Answer a late request: r's error, else 200 with j (taken); nobody if
 * its client left. */
void
control_late_answer(struct late *l, const struct core_result *r, json_t *j)
{
	struct evhttp_request	*req;

	if ((req = late_end(l)) == NULL)
		json_decref(j);
	else if (r->rc != CORE_OK) {
		json_decref(j);
		control_error(req, control_status(r->rc), "%s", r->err);
	} else
		control_reply(req, 200, j);
}

/* The bufferevents made lately are wrapped by now: set their closecb. */
static void
control_bind_fresh(void)
{
	void	*evcon;
	size_t	 i;

	for (i = 0; i < control_nfresh; i++) {
		evcon = NULL;
		bufferevent_getcb(control_fresh[i], NULL, NULL, NULL, &evcon);
		if (evcon == NULL || evhttp_connection_get_bufferevent(evcon)
		    != control_fresh[i])
			fatalx("control: connection without its bufferevent");
		evhttp_connection_set_closecb(evcon, control_conn_close_cb,
		    NULL);
	}
	control_nfresh = 0;
}

static void
control_fresh_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	control_bind_fresh();
}

/* evhttp asks for the bufferevent of a connection it just accepted. */
static struct bufferevent *
control_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;

	(void)arg;
	control_bind_fresh();	/* the previous ones are wrapped by now */
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE))
	    == NULL)
		fatalx("bufferevent_socket_new");
	if (control_nfresh == control_capfresh) {
		control_capfresh = control_capfresh ? 2 * control_capfresh : 8;
		control_fresh = xrealloc(control_fresh, control_capfresh *
		    sizeof(*control_fresh));
	}
	control_fresh[control_nfresh++] = bev;
	event_active(control_fresh_ev, EV_TIMEOUT, 0);
	return bev;
}

void
control_reply(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer	*out = evbuffer_new();
	char		*s;

	if (out == NULL)
		fatalx("evbuffer_new");
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s == NULL)
		fatalx("json_dumps");
	evbuffer_add(out, s, strlen(s));
	evbuffer_add(out, "\n", 1);
	free(s);
	json_decref(j);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", out);
	evbuffer_free(out);
}

void
control_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	control_reply(req, code, json_pack("{s:s}", "error", msg));
}

/* The request body as JSON; NULL (after answering 400) when it is not. */
json_t *
control_body_json(struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);
	json_error_t	 jerr;
	json_t		*j;

	j = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		control_error(req, 400, "bad JSON request: %s",
		    j ? "not an object" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * 1 if one of the peer's supplementary groups is ours (SO_PEERGROUPS,
 * Linux 4.13): the socket's 0660 lets such a user connect, so the peer
 * check must let it in too.
 */
static int
control_peer_in_group(int fd)
{
	gid_t		 small[64], *gids = small;
	socklen_t	 len = sizeof(small);
	size_t		 i, n;
	int		 in = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids, &len) == -1) {
		if (errno != ERANGE || len == 0)
			return 0;
		gids = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids, &len)
		    == -1) {
			free(gids);
			return 0;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !in; i++)
		in = gids[i] == getegid();
	if (gids != small)
		free(gids);
	return in;
}

/* 1 if the peer may use the socket; 0 with *uid and *gid set if not. */
static int
control_peer_ok(struct evhttp_request *req, long *uid, long *gid)
{
	struct evhttp_connection	*conn;
	struct bufferevent		*bev;
	struct ucred			 cred;
	socklen_t			 len = sizeof(cred);
	evutil_socket_t			 fd;

	*uid = *gid = -1;
	conn = evhttp_request_get_connection(req);
	if (conn == NULL || (bev = evhttp_connection_get_bufferevent(conn))
	    == NULL || (fd = bufferevent_getfd(bev)) == -1)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	if (cred.uid == 0 || cred.uid == geteuid() || cred.gid == getegid() ||
	    control_peer_in_group(fd))
		return 1;
	*uid = (long)cred.uid;
	*gid = (long)cred.gid;
	log_warnx("control: refused peer pid=%d uid=%d gid=%d", (int)cred.pid,
	    (int)cred.uid, (int)cred.gid);
	return 0;
}

/*
 * The API, one row per resource and method (as redis's command table or
 * tmux's cmd_table).  "{id}" matches a positive number, "{verb}" any one
 * part, handed to the handler.
 */
static const struct control_route {
	enum evhttp_cmd_type	 method;
	const char		*path;
	control_handler		 fn;
} control_routes[] = {
	{ EVHTTP_REQ_GET,  "status",			api_broadcasts_status },
	{ EVHTTP_REQ_GET,  "status/{id}",		api_broadcasts_status_one },
	{ EVHTTP_REQ_POST, "broadcasts",		api_broadcasts_send },
	{ EVHTTP_REQ_POST, "broadcasts/{id}/resend",	api_broadcasts_resend },
	{ EVHTTP_REQ_POST, "broadcasts/{id}/{verb}",	api_broadcasts_control },
	{ EVHTTP_REQ_GET,  "subscribers",		api_subscribers_list },
	{ EVHTTP_REQ_POST, "subscribers",		api_subscribers_add },
	{ EVHTTP_REQ_GET,  "subscribers/count",		api_subscribers_count },
	{ EVHTTP_REQ_POST, "subscribers/remove",	api_subscribers_remove },
	{ EVHTTP_REQ_POST, "subscribers/reactivate",	api_subscribers_reactivate },
	{ EVHTTP_REQ_POST, "import",			api_import_start },
	{ EVHTTP_REQ_POST, "import/{id}",		api_import_chunk },
	{ EVHTTP_REQ_POST, "import/{id}/finish",	api_import_finish },
	{ EVHTTP_REQ_GET,  "feed",			api_daemon_feed },
	{ EVHTTP_REQ_POST, "reload",			api_daemon_reload },
	{ EVHTTP_REQ_POST, "bounces",			api_bounces_report },
};

/* Does path match the route's pattern?  Sets *id and *verb if it does. */
static int
control_match(const char *pattern, const char *path, int64_t *id,
    const char **verb)
{
	const char	*p = pattern, *s = path;
	char		*end;
	size_t		 n;

	*id = 0;
	*verb = NULL;
	while (*p != '\0') {
		if (strncmp(p, "{id}", 4) == 0) {
			if (*s < '1' || *s > '9')
				return 0;
			*id = strtoll(s, &end, 10);
			if (*id <= 0 || (*end != '/' && *end != '\0'))
				return 0;
			s = end;
			p += 4;
		} else if (strncmp(p, "{verb}", 6) == 0) {
			n = strcspn(s, "/");
			if (n == 0 || s[n] != '\0')
				return 0;
			*verb = s;
			s += n;
			p += 6;
		} else if (*p++ != *s++)
			return 0;
	}
	return *s == '\0';
}

int
control_status(enum core_rc rc)
{
	switch (rc) {
	case CORE_OK:
		return 200;
	case CORE_INVALID:
		return 400;
	case CORE_NOTFOUND:
		return 404;
	case CORE_CONFLICT:
		return 409;
	case CORE_UNAVAILABLE:
		return 503;
	case CORE_FAILED:
		break;
	}
	return 500;
}

static void
control_request_cb(struct evhttp_request *req, void *arg)
{
	const struct control_route	*r;
	const char			*uri = evhttp_request_get_uri(req);
	const char			*verb;
	char				*path;
	long				 uid, gid;
	int64_t				 id;
	size_t				 i;
	int				 other = 0;

	(void)arg;
	if (!control_peer_ok(req, &uid, &gid)) {
		control_error(req, 403, "permission denied: uid %ld gid %ld is "
		    "neither root nor broadsided's user or group", uid, gid);
		return;
	}
	if (env->stopping) {
		control_error(req, 503, "daemon is shutting down");
		return;
	}
	if (strncmp(uri, "/v1/", 4) != 0) {
		control_error(req, 404, "no such endpoint");
		return;
	}
	path = xstrdup(uri + 4);
	path[strcspn(path, "?")] = '\0';
	for (i = 0; i < sizeof(control_routes) / sizeof(*control_routes);
	    i++) {
		r = &control_routes[i];
		if (!control_match(r->path, path, &id, &verb))
			continue;
		if (r->method != evhttp_request_get_command(req)) {
			other = r->method == EVHTTP_REQ_GET ? 'G' : 'P';
			continue;
		}
		r->fn(req, id, verb);
		free(path);
		return;
	}
	if (other)
		control_error(req, 405, "use %s", other == 'G' ? "GET" :
		    "POST");
	else
		control_error(req, 404, "no such endpoint: /v1/%s", path);
	free(path);
}

/*
 * Bind the socket, refusing to take it from a live daemon.  The caller
 * has already taken the store lock, so a live socket here means another
 * daemon with another store: still not ours to take.
 */
static int
control_bind(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		snprintf(err, errlen, "%s: another broadsided is listening "
		    "on it", path);
		return -1;
	}
	if (errno == ECONNREFUSED) {
		struct stat st;

		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			close(fd);
			snprintf(err, errlen, "%s: exists and is not a socket",
			    path);
			return -1;
		}
		unlink(path);	/* stale, from a crash */
	}
	close(fd);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "%s: bind: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || listen(fd, 64) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int
control_init(char *err, size_t errlen)
{
	int	fd;

	if ((fd = control_bind(env->conf->control_socket, err, errlen)) == -1)
		return -1;
	control_path = xstrdup(env->conf->control_socket);
	if ((control_http = evhttp_new(env->base)) == NULL)
		fatalx("evhttp_new");
	evhttp_set_max_body_size(control_http, CONTROL_MAX_BODY);
	evhttp_set_max_headers_size(control_http, CONTROL_MAX_HEADERS);
	evhttp_set_timeout(control_http, 60);
	evhttp_set_allowed_methods(control_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(control_http, control_request_cb, NULL);
	evhttp_set_bevcb(control_http, control_bev_cb, NULL);
	if ((control_fresh_ev = event_new(env->base, -1, 0, control_fresh_cb,
	    NULL)) == NULL)
		fatalx("control: events");
	control_listener = evconnlistener_new(env->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (control_listener == NULL) {
		snprintf(err, errlen, "%s: cannot listen", control_path);
		close(fd);
		return -1;
	}
	if (evhttp_bind_listener(control_http, control_listener) == NULL) {
		snprintf(err, errlen, "%s: cannot serve HTTP", control_path);
		return -1;
	}
	log_info("control: listening on %s", control_path);
	return 0;
}

void
control_shutdown(void)
{
	if (control_http != NULL) {
		control_bind_fresh();
		evhttp_free(control_http);	/* frees the bound listener */
	}
	control_http = NULL;
	http_linger_flush();
	if (control_fresh_ev != NULL)
		event_free(control_fresh_ev);
	control_fresh_ev = NULL;
	free(control_fresh);
	control_fresh = NULL;
	control_nfresh = control_capfresh = 0;
	control_listener = NULL;
	if (control_path != NULL)
		unlink(control_path);
	free(control_path);
	control_path = NULL;
}
