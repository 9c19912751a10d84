/*
 * http.c -- the public HTTP listener (http.listen): the feed, the
 * archive, one-click unsubscribe, double opt-in, health and metrics.
 *
 * libevent's evhttp parses requests; this file puts hard limits around it,
 * since anyone on the Internet may talk to it:
 * - request bodies over HTTP_MAX_BODY and header blocks over
 *   HTTP_MAX_HEADERS are refused by evhttp (413, "Connection: close");
 *   every connection ends with a lingering close (http_linger.h), so a
 *   client still sending its body reads the 413 instead of a reset;
 * - a connection idle for HTTP_IDLE seconds is closed (evhttp's timeout),
 *   and each request must be complete within HTTP_DEADLINE seconds of the
 *   accept or of the previous request (a 1 s sweep), so a client
 *   trickling one byte at a time (slowloris) is cut too;
 * - at most http_maxconns connections are open: the listener is disabled
 *   at the cap and enabled when one closes, so new clients wait in the
 *   kernel's backlog instead of taking file descriptors;
 * - only GET, HEAD and POST (evhttp answers others 501); a request-target
 *   with bad percent-encoding, a control character, a backslash, or a
 *   "." or ".." segment (encoded or not) gets 400.
 * libevent 2.1's evhttp has no hook for server connections opening and
 * closing, so each connection's bufferevent is made here (bevcb); right
 * after evhttp wraps it in a connection (whose address is then the
 * bufferevent's callback argument) a close callback is set on it.
 *
 * The feed is kept in memory with its ETag (SHA-256 of the bytes) and
 * Last-Modified, rebuilt by http_feed_changed(), which the core calls
 * through feed_on_change(): requests never read feed.path.  The site's
 * pages (/, /archive/, /archive/ID, the form at GET /subscribe) are kept
 * the same way by site.c, each with its own Content-Security-Policy, and
 * go stale at the same moment.
 *
 * Tokens (token.h) carry the subscriber id; "unsubscribe" tokens come in
 * every message, "confirm" tokens in the opt-in mail.  GET and HEAD never
 * change state (mail scanners and link checkers follow every link): both
 * /unsubscribe and /confirm show a page whose button POSTs to the same
 * URL, as RFC 8058 one-click does for unsubscribe.  POST /confirm
 * activates pending subscribers only, so an old confirm link never
 * re-subscribes someone who left.
 * POST /subscribe answers the same page whatever the address's state and
 * mails only addresses never seen, so it reveals nothing (as a page, as
 * JSON to "Accept: application/json", or as text); it is limited
 * per client address (IPv6 by /64) and overall, so it cannot be used to
 * mail-bomb someone.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "addr.h"
#include "buf.h"
#include "front.h"
#include "lang.h"
#include "http_linger.h"
#include "http_parse.h"
#include "mustache.h"
#include "render.h"
#include "site.h"
#include "store.h"
#include "rate.h"
#include "token.h"

#define HTTP_MAX_BODY		(64 * 1024)
#define HTTP_MAX_HEADERS	(8 * 1024)
#define HTTP_IDLE		10	/* seconds without a byte */
#define HTTP_DEADLINE		15	/* seconds per request */
#define HTTP_MAX_CONNS		512
#define HTTP_FD_RESERVE		256	/* fds kept for the store, SMTP... */
#define HTTP_BACKLOG		511
#define HTTP_NAME_MAX		200	/* octets in a subscriber's name */

/* /subscribe limits: per client address, and over all clients */
#define HTTP_RATE_SLOTS		1024
#define HTTP_RATE_PROBE		8
#define HTTP_RATE_BURST		5.0
#define HTTP_RATE_PER_SEC	(5.0 / 60.0)
#define HTTP_GRATE_BURST	60.0
#define HTTP_GRATE_PER_SEC	1.0
/* confirmation mails to one pending address: one per 10 minutes */
#define HTTP_ARATE_BURST	1.0
#define HTTP_ARATE_PER_SEC	(1.0 / 600.0)

#define HTTP_CODES		600

struct http_conn {
	TAILQ_ENTRY(http_conn)	  entry;
	struct bufferevent	 *bev;
	struct evhttp_connection *evcon;	/* NULL until bound */
	evutil_socket_t		  fd;
	double			  deadline;	/* now_mono() seconds */
};
TAILQ_HEAD(http_conns, http_conn);

/* a closed connection draining what its client still sends */
struct http_linger {
	TAILQ_ENTRY(http_linger)  entry;
	struct event		 *ev;
	int			  fd;		/* our duplicate */
	size_t			  drained;
	double			  deadline;	/* now_mono() seconds */
	void			(*done)(void *);
	void			 *arg;
};
TAILQ_HEAD(http_lingers, http_linger);

struct http_rate {
	unsigned char	key[16];
	int		used;
	struct rate_bucket b;
};

static struct evhttp		*http;
static struct evconnlistener	*http_listener;
static struct event		*http_fresh_ev, *http_sweep_ev;
static struct http_conns	 http_fresh = TAILQ_HEAD_INITIALIZER(http_fresh);
static struct http_conns	 http_live = TAILQ_HEAD_INITIALIZER(http_live);
static struct http_lingers	 http_lingering =
				    TAILQ_HEAD_INITIALIZER(http_lingering);
static struct http_conn		**http_byfd;
static size_t			 http_nbyfd;
static int			 http_nconns, http_maxconns;
static int			 http_paused;
static struct token_key		*http_tkey;
static uint64_t			 http_codes[HTTP_CODES];

static struct buf		 http_feed = BUF_INIT;
static char			 http_feed_etag[40];
static char			 http_feed_lastmod[40];
static time_t			 http_feed_mtime;


static struct http_rate		 http_rates[HTTP_RATE_SLOTS];
static struct http_rate		 http_arates[HTTP_RATE_SLOTS];
static uint32_t			 http_rate_seed;
static struct rate_bucket	 http_grate = { HTTP_GRATE_BURST, 0 };

static void	http_conn_close_cb(struct evhttp_connection *, void *);

/*
 * Connections.
 */

static void
http_listener_update(void)
{
	if (http_listener == NULL)
		return;
	if (!http_paused && http_nconns >= http_maxconns) {
		evconnlistener_disable(http_listener);
		http_paused = 1;
		log_warnx("http: %d connections open, not accepting more",
		    http_nconns);
	} else if (http_paused && http_nconns < http_maxconns) {
		evconnlistener_enable(http_listener);
		http_paused = 0;
	}
}

/* Fresh connections are wrapped by now: find each one's evhttp side. */
static void
http_bind_fresh(void)
{
	struct http_conn	*c;
	void			*arg = NULL;

	while ((c = TAILQ_FIRST(&http_fresh)) != NULL) {
		TAILQ_REMOVE(&http_fresh, c, entry);
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
		c->fd = bufferevent_getfd(c->bev);
		if (arg == NULL || c->fd < 0 || evhttp_connection_get_bufferevent(
		    arg) != c->bev)
			fatalx("http: connection without its bufferevent");
		c->evcon = arg;
		evhttp_connection_set_closecb(c->evcon, http_conn_close_cb, c);
		if ((size_t)c->fd >= http_nbyfd) {
			size_t n = http_nbyfd ? http_nbyfd : 256;

			while (n <= (size_t)c->fd)
				n *= 2;
			http_byfd = xrealloc(http_byfd, n * sizeof(*http_byfd));
			memset(http_byfd + http_nbyfd, 0, (n - http_nbyfd) *
			    sizeof(*http_byfd));
			http_nbyfd = n;
		}
		http_byfd[c->fd] = c;
		TAILQ_INSERT_TAIL(&http_live, c, entry);
	}
}

static void
http_fresh_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	http_bind_fresh();
}

/* evhttp asks for the bufferevent of a connection it just accepted. */
static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct http_conn	*c;

	(void)arg;
	http_bind_fresh();	/* the previous ones are wrapped by now */
	c = xcalloc(1, sizeof(*c));
	if ((c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE))
	    == NULL)
		fatalx("bufferevent_socket_new");
	c->fd = -1;
	c->deadline = now_mono() + HTTP_DEADLINE;
	TAILQ_INSERT_TAIL(&http_fresh, c, entry);
	http_nconns++;
	http_listener_update();
	event_active(http_fresh_ev, EV_TIMEOUT, 0);
	return c->bev;
}

/*
 * Lingering close (http_linger.h): the control socket uses it too.
 */

static void
http_linger_end(struct http_linger *l)
{
	TAILQ_REMOVE(&http_lingering, l, entry);
	event_free(l->ev);
	close(l->fd);
	if (l->done != NULL)
		l->done(l->arg);
	free(l);
}

static void
http_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	static char		 sink[64 * 1024];
	struct http_linger	*l = arg;
	size_t			 got = 0;
	ssize_t			 n;

	if (what & EV_TIMEOUT) {	/* HTTP_LINGER_IDLE without a byte */
		http_linger_end(l);
		return;
	}
	/* a few reads per wake-up: a fast sender cannot hold the loop */
	while (got < 4 * sizeof(sink)) {
		if ((n = read(fd, sink, sizeof(sink))) > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		http_linger_end(l);	/* end of file, or reset */
		return;
	}
	l->drained += got;
	if (l->drained >= HTTP_LINGER_MAX || now_mono() >= l->deadline)
		http_linger_end(l);
}

void
http_linger(struct event_base *base, struct evhttp_connection *evcon,
    void (*done)(void *), void *arg)
{
	struct http_linger	*l;
	struct bufferevent	*bev;
	struct timeval		 tv = { HTTP_LINGER_IDLE, 0 };
	int			 fd;

	/*
	 * evhttp closes its descriptor right after this callback; ours
	 * keeps the socket open, so unread input causes no reset yet.
	 */
	if ((bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0 ||
	    (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		if (done != NULL)
			done(arg);
		return;
	}
	(void)shutdown(fd, SHUT_WR);	/* the answer, then end of file */
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->deadline = now_mono() + HTTP_LINGER_TIME;
	l->done = done;
	l->arg = arg;
	if ((l->ev = event_new(base, fd, EV_READ | EV_PERSIST, http_linger_cb,
	    l)) == NULL || event_add(l->ev, &tv) == -1)
		fatalx("http: linger event");
	TAILQ_INSERT_TAIL(&http_lingering, l, entry);
}

void
http_linger_flush(void)
{
	struct http_linger	*l;

	while ((l = TAILQ_FIRST(&http_lingering)) != NULL)
		http_linger_end(l);
}

/* A connection's socket is closed at last: its slot is free. */
static void
http_conn_gone(void *arg)
{
	(void)arg;
	http_nconns--;
	http_listener_update();
}

static void
http_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn	*c = arg;

	evhttp_connection_set_closecb(evcon, NULL, NULL);	/* once */
	TAILQ_REMOVE(&http_live, c, entry);
	if ((size_t)c->fd < http_nbyfd && http_byfd[c->fd] == c)
		http_byfd[c->fd] = NULL;
	free(c);
	/* it holds a descriptor until the linger ends: counted till then */
	http_linger(env->base, evcon, http_conn_gone, NULL);
}

static struct http_conn *
http_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;
	evutil_socket_t			 fd;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0 || (size_t)fd >= http_nbyfd ||
	    http_byfd[fd] == NULL || http_byfd[fd]->evcon != evcon)
		return NULL;
	return http_byfd[fd];
}

/*
 * A request answered once the writer thread has stored its change
 * (http_wait_end gives it back, or NULL if its client left), with what
 * the answer needs.
 */
struct http_wait {
	struct late	*late;
	char		 email[ADDR_BUFSZ];
	char		 key[ADDR_BUFSZ];
	char		*name;
	char		 lang[LANG_MAX];	/* the form's, or "" */
	double		 now;
	int		 confirm;	/* POST /confirm, else /unsubscribe */
	int		 as;		/* enum http_as: how to answer */
};

static struct http_wait *
http_wait_new(struct evhttp_request *req)
{
	struct http_wait	*w;
	struct http_conn	*c;

	http_bind_fresh();	/* this one is wrapped by now */
	c = http_conn_of(req);
	w = xcalloc(1, sizeof(*w));
	w->late = late_new(req, c != NULL ? http_conn_close_cb : NULL, c);
	return w;
}

static struct evhttp_request *
http_wait_end(struct http_wait *w)
{
	struct evhttp_request	*req = late_end(w->late);

	free(w->name);
	free(w);
	return req;
}

/* Every second: cut connections past their deadline, retry accepting. */
static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c, *next;
	double			 now = now_mono();

	(void)fd;
	(void)what;
	(void)arg;
	http_bind_fresh();
	for (c = TAILQ_FIRST(&http_live); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (now > c->deadline)
			evhttp_connection_free(c->evcon);  /* runs the closecb */
	}
	if (http_paused && http_nconns < http_maxconns && http_listener) {
		evconnlistener_enable(http_listener);
		http_paused = 0;
	}
}

/* accept() failed, e.g. out of file descriptors: pause until the sweep. */
static void
http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)arg;
	log_warn("http: accept");
	evconnlistener_disable(l);
	http_paused = 1;
}

/*
 * Replies.
 */

static void
http_count(int code)
{
	if (code >= 0 && code < HTTP_CODES)
		http_codes[code]++;
}

static const char *
http_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void
http_reply(struct evhttp_request *req, int code, const char *ctype,
    const char *data, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out;
	char			 n[32];

	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD && code != 304) {
		/* evhttp drops the body of a HEAD reply, and its length */
		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(h, "Content-Length", n);
	}
	if (len > 0 && code != 304)
		evbuffer_add(out, data, len);
	http_count(code);
	evhttp_send_reply(req, code, http_reason(code), out);
	evbuffer_free(out);
}

static void
http_text(struct evhttp_request *req, int code, const char *msg)
{
	char	line[512];
	int	n;

	n = snprintf(line, sizeof(line), "%d %s: %s\n", code,
	    http_reason(code), msg);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	http_reply(req, code, "text/plain; charset=utf-8", line, (size_t)n);
}

static void
http_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	http_text(req, 405, "method not allowed");
}

/* Headers for pages that carry a token: never cached, never referred. */
static void
http_private(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

/* A page built for this request: its policy too (site.c). */
static void
http_html(struct evhttp_request *req, int code, const struct buf *b)
{
	struct buf	csp = BUF_INIT;

	site_csp(b->p ? b->p : "", b->len, env->conf->list_base_url, &csp);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Security-Policy", csp.p);
	buf_free(&csp);
	http_reply(req, code, "text/html; charset=utf-8", b->p ? b->p : "",
	    b->len);
}

static void
http_html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': buf_addstr(b, "&amp;"); break;
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		case '"': buf_addstr(b, "&quot;"); break;
		case '\'': buf_addstr(b, "&#39;"); break;
		default: buf_addc(b, *s);
		}
	}
}

/*
 * A short page for outcomes that have no template of their own
 * (notice.html, in the site's frame); built by hand only if that
 * template cannot be rendered.
 */
/*
 * The language of a page about one subscriber (the unsubscribe and
 * confirm pages and their answers): theirs when the site has words in
 * it, else site.language.  Set for the request being answered.
 */
static char	http_page_lang[LANG_MAX];

static void
http_page_lang_set(const char *want)
{
	struct render_site	site;

	config_site(env->conf, &site);
	if (render_lang_best(&site, want, http_page_lang,
	    sizeof(http_page_lang)) == -1)
		http_page_lang[0] = '\0';
}

static void
http_site_conf(struct render_site *site)
{
	config_site(env->conf, site);
	if (http_page_lang[0] != '\0')
		site->lang = http_page_lang;
}

static void
http_simple_page(struct evhttp_request *req, int code, const char *title,
    const char *text)
{
	struct render_site	 site;
	struct mus_pair		 p[2];
	struct buf		 b = BUF_INIT;
	char			 err[512];

	http_site_conf(&site);
	p[0].key = "page_title";
	p[0].val = mus_str(title, strlen(title));
	p[1].key = "text";
	p[1].val = mus_str(text, strlen(text));
	if (render_page(&site, "notice.html", p, 2, &b, err, sizeof(err))
	    == -1) {
		log_warnx("http: notice.html: %s", err);
		buf_free(&b);
		buf_addstr(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
		    "content=\"width=device-width, initial-scale=1\">\n"
		    "<title>");
		http_html_escape(&b, title);
		buf_addstr(&b, "</title>\n</head>\n<body>\n<main>\n<h1>");
		http_html_escape(&b, title);
		buf_addstr(&b, "</h1>\n<p>");
		http_html_escape(&b, text);
		buf_addstr(&b, "</p>\n</main>\n</body>\n</html>\n");
	}
	http_html(req, code, &b);
	buf_free(&b);
}

/*
 * A string of the site's language (render_string: LANG.strings, else
 * en.strings), as text in b; fallback (English) if it cannot be had, so
 * that a broken override folder still leaves a page.  Returns b's text.
 */
static const char *
http_string(const char *key, const char *fallback, struct buf *b)
{
	struct render_site	 site;
	char			 err[512];

	http_site_conf(&site);
	buf_reset(b);
	if (render_string(&site, key, NULL, 0, b, err, sizeof(err)) == -1) {
		log_warnx("http: %s", err);
		buf_reset(b);
		buf_addstr(b, fallback);
	}
	buf_addstr(b, "");
	return b->p;
}

/* A page title from the strings (one per page: a buffer kept here). */
static void
http_title(struct mus_pair *p, const char *key, const char *fallback)
{
	static struct buf	b = BUF_INIT;
	const char		*s = http_string(key, fallback, &b);

	p->key = "page_title";
	p->val = mus_str(s, strlen(s));
}

/* A notice whose title and text are strings (check_mailbox, link_gone). */
static void
http_notice(struct evhttp_request *req, int code, const char *key,
    const char *title, const char *text)
{
	struct buf	 t = BUF_INIT, x = BUF_INIT, k = BUF_INIT;

	buf_printf(&k, "%s_text", key);
	http_string(key, title, &t);
	http_string(k.p, text, &x);
	http_simple_page(req, code, t.p, x.p);
	buf_free(&t);
	buf_free(&x);
	buf_free(&k);
}

static void
http_render_page(struct evhttp_request *req, int code, const char *name,
    const struct mus_pair *vars, size_t nvars)
{
	struct render_site	 site;
	struct buf		 b = BUF_INIT;
	char			 err[512];

	http_site_conf(&site);
	if (render_page(&site, name, vars, nvars, &b, err, sizeof(err)) == -1) {
		log_warnx("http: %s: %s", name, err);
		http_text(req, 500, "cannot render the page");
	} else
		http_html(req, code, &b);
	buf_free(&b);
}

static void
http_pair(struct mus_pair *p, const char *key, const char *s)
{
	p->key = key;
	p->val = mus_str(s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/*
 * Tokens: 400 when missing or malformed, 403 when well-formed but not
 * ours (forged, other purpose, other key).  Returns 0 with *id set, or
 * the status to answer.
 */
static int
http_token(const char *query, const char *purpose, int64_t *id)
{
	struct buf	 t = BUF_INIT;
	uint64_t	 uid;
	size_t		 i;
	int		 code = 400;

	if (query == NULL || http_form_get(query, strlen(query), "t", &t) != 1)
		goto end;
	if (strlen(t.p) != TOKEN_LEN)
		goto end;
	for (i = 0; i < TOKEN_LEN; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_", t.p[i]) == NULL)
			goto end;
	code = 403;
	if (token_key_check(http_tkey, purpose, t.p, &uid) == -1 ||
	    uid == 0 || uid > INT64_MAX)
		goto end;
	*id = (int64_t)uid;
	code = 0;
 end:
	buf_free(&t);
	return code;
}

/*
 * The feed.
 */

static void
http_date(time_t t, char *out, size_t outlen)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
				    "Fri", "Sat" };
	static const char	*mons[] = { "Jan", "Feb", "Mar", "Apr", "May",
				    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
				    "Dec" };
	struct tm		 tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The feed was rewritten (feed_on_change): serve the new one. */
static void
http_feed_changed(void *arg)
{
	struct buf	 b = BUF_INIT;
	const struct buf *cur;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	char		 etag[sizeof(http_feed_etag)];

	(void)arg;
	if (http == NULL)
		return;
	site_changed();		/* so did the pages that list statements */
	if ((cur = feed_current()) == NULL) {
		log_warnx("http: feed: not rendered (serving the previous "
		    "one)");
		return;
	}
	buf_add(&b, cur->p, cur->len);
	if (EVP_Digest(b.p, b.len, md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("http: SHA-256");
	etag[0] = '"';
	for (i = 0; i < 16; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
	snprintf(etag + 33, sizeof(etag) - 33, "\"");
	if (strcmp(etag, http_feed_etag) != 0) {
		http_feed_mtime = time(NULL);
		http_date(http_feed_mtime, http_feed_lastmod,
		    sizeof(http_feed_lastmod));
		memcpy(http_feed_etag, etag, sizeof(etag));
	}
	buf_free(&http_feed);
	http_feed = b;
}

/*
 * Validators of a page served from memory; 1 if the client's copy is
 * current (answer 304).  If-None-Match wins over If-Modified-Since.
 */
static int
http_validators(struct evhttp_request *req, const char *etag,
    const char *lastmod, time_t mtime)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	const char		*inm, *ims;
	time_t			 t;

	evhttp_add_header(h, "ETag", etag);
	evhttp_add_header(h, "Last-Modified", lastmod);
	evhttp_add_header(h, "Cache-Control", "public, max-age=60");
	if ((inm = evhttp_find_header(in, "If-None-Match")) != NULL)
		return http_etag_match(inm, etag);
	if ((ims = evhttp_find_header(in, "If-Modified-Since")) != NULL &&
	    http_date_parse(ims, &t) == 0)
		return mtime <= t;
	return 0;
}

static void	http_site_later(struct evhttp_request *, const char *,
		    struct pub_snap *);
static void	http_site(struct evhttp_request *, const char *);

static void
http_feed_get(struct evhttp_request *req)
{
	/* a new or cancelled statement: the feed being made for it */
	if (feed_pending() > 0) {
		http_site_later(req, "/feed.xml", NULL);
		return;
	}
	if (http_validators(req, http_feed_etag, http_feed_lastmod,
	    http_feed_mtime)) {
		http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	http_reply(req, 200, "application/rss+xml; charset=utf-8", http_feed.p,
	    http_feed.len);
}

/*
 * The site: /, /archive/, /archive/ID and the form at /subscribe, from
 * memory (site.c) with their validators and policy.
 */

static void
http_site_answer(struct evhttp_request *req, const char *path,
    const struct pub_snap *ps)
{
	const struct site_page	*pg;
	char			 err[512], lastmod[40];
	int			 code;

	if (site_page_get(path, ps, &pg, &code, err, sizeof(err)) == -1) {
		log_warnx("http: %s: %s", path, err);
		http_text(req, 500, "cannot render this page");
		return;
	}
	if (code != 200) {
		http_text(req, 404, strncmp(path, "/archive/", 9) == 0 &&
		    path[9] >= '1' && path[9] <= '9' ? "no such statement" :
		    strncmp(path, "/feed.", 6) == 0 ? "no such feed" :
		    "no such page");
		return;
	}
	http_date(pg->mtime, lastmod, sizeof(lastmod));
	if (http_validators(req, pg->etag, lastmod, pg->mtime)) {
		http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	if (strncmp(path, "/feed.", 6) == 0) {
		http_reply(req, 200, "application/rss+xml; charset=utf-8",
		    pg->body.p, pg->body.len);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Security-Policy", pg->csp.p);
	http_reply(req, 200, "text/html; charset=utf-8", pg->body.p,
	    pg->body.len);
}

/* A page to render first: what it shows is read on the reader thread
 * (after any feed update submitted before: reads run in order). */
struct http_page {
	struct http_wait	*w;
	char			*path;
	struct pub_snap		*ps;
};

static int
http_site_work(struct store *st, void *arg)
{
	struct http_page	*hp = arg;

	return hp->ps != NULL ? pub_snap_work(st, hp->ps) : 0;
}

static void
http_site_done(void *arg, int rc)
{
	struct http_page	*hp = arg;
	struct evhttp_request	*req = http_wait_end(hp->w);

	if (req == NULL)
		;
	else if (rc == -1) {
		log_warnx("http: %s: %s", hp->path, pub_snap_err(hp->ps));
		http_text(req, 500, "cannot render this page");
	} else if (hp->ps == NULL && strcmp(hp->path, "/feed.xml") == 0)
		http_feed_get(req);	/* after the feed update */
	else if (hp->ps == NULL)
		http_site(req, hp->path);	/* the same: maybe stale now */
	else
		http_site_answer(req, hp->path, hp->ps);
	pub_snap_free(hp->ps);
	free(hp->path);
	free(hp);
}

static void
http_site_later(struct evhttp_request *req, const char *path,
    struct pub_snap *ps)
{
	struct http_page	*hp;

	hp = xcalloc(1, sizeof(*hp));
	hp->path = xstrdup(path);
	hp->ps = ps;
	hp->w = http_wait_new(req);
	reader_submit(http_site_work, http_site_done, hp);
}

static void
http_site(struct evhttp_request *req, const char *path)
{
	struct pub_snap	*ps;

	if ((ps = site_page_read(path)) != NULL)
		http_site_later(req, path, ps);
	else if (feed_pending() > 0)	/* not before the change it is for */
		http_site_later(req, path, NULL);
	else
		http_site_answer(req, path, NULL);
}

/*
 * Subscribers.
 */

struct http_sub {
	int64_t		id;
	int		found;
	enum sub_status	status;
	char		email[ADDR_BUFSZ];
	char		lang[LANG_MAX];
};

static int
http_sub_cb(const struct subscriber *s, void *arg)
{
	struct http_sub	*hs = arg;

	hs->id = s->id;
	hs->found = 1;
	hs->status = s->status;
	snprintf(hs->email, sizeof(hs->email), "%s", s->email);
	snprintf(hs->lang, sizeof(hs->lang), "%s", s->lang != NULL ? s->lang :
	    "");
	return -1;
}

/*
 * The subscriber a link's token names, read on the reader thread; then
 * found(req, query, id, hs) on the loop in their language, or the answer
 * (500, 404) if the store failed or does not know them.
 */
typedef void	(*http_found_cb)(struct evhttp_request *, const char *,
		    int64_t, const struct http_sub *);

struct http_tok {
	struct http_wait	*w;
	http_found_cb		 found;
	int64_t			 id;
	char			*query;
	struct http_sub		 hs;
	char			 err[512];
};

static int
http_tok_work(struct store *st, void *arg)
{
	struct http_tok	*t = arg;

	return store_sub_get(st, t->id, http_sub_cb, &t->hs, t->err,
	    sizeof(t->err));
}

static void
http_tok_done(void *arg, int rc)
{
	struct http_tok		*t = arg;
	struct evhttp_request	*req = http_wait_end(t->w);

	if (req == NULL)
		;
	else if (rc == -1) {
		log_warnx("http: subscriber %" PRId64 ": %s", t->id, t->err);
		http_text(req, 500, "temporary failure, try again later");
	} else if (!t->hs.found)
		http_text(req, 404, "no such subscriber");
	else {
		http_page_lang_set(t->hs.lang);	/* their pages in their
						   language */
		t->found(req, t->query, t->id, &t->hs);
		http_page_lang[0] = '\0';
	}
	free(t->query);
	free(t);
}

/* The token checked here (400 for a malformed one, 403 for a forged
 * one), the subscriber looked up off the loop. */
static void
http_token_subscriber(struct evhttp_request *req, const char *query,
    const char *purpose, http_found_cb found)
{
	struct http_tok	*t;
	int64_t		 id;
	int		 code;

	if ((code = http_token(query, purpose, &id)) != 0) {
		http_text(req, code, code == 400 ? "missing or malformed "
		    "token" : "this link is not valid");
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->found = found;
	t->id = id;
	t->query = xstrdup(query);
	t->w = http_wait_new(req);
	reader_submit(http_tok_work, http_tok_done, t);
}

/* A page for an address: "unsubscribed.html", "subscribed.html". */
static void
http_done_page(struct evhttp_request *req, const char *tmpl,
    const char *title_key, const char *title, const char *email)
{
	struct mus_pair	 p[2];

	http_pair(&p[0], "email", email);
	http_title(&p[1], title_key, title);
	http_render_page(req, 200, tmpl, p, 2);
}

/* POST /unsubscribe and /confirm: stored, or the store failed. */
static void
http_changed(const struct core_result *r, void *arg)
{
	struct http_wait	*w = arg;
	struct evhttp_request	*req;
	char			 email[ADDR_BUFSZ], lang[LANG_MAX];
	int			 unsub = !w->confirm;

	snprintf(email, sizeof(email), "%s", w->email);
	snprintf(lang, sizeof(lang), "%s", w->lang);
	if ((req = http_wait_end(w)) == NULL && r->rc != CORE_OK)
		return;
	if (r->rc != CORE_OK) {
		log_warnx("http: subscriber %" PRId64 ": %s", r->id, r->err);
		http_text(req, 500, "temporary failure, try again later");
		return;
	}
	if (r->changed)
		log_info("subscriber %" PRId64 ": %s", r->id, unsub ?
		    "unsubscribed over HTTP" : "confirmed");
	if (req == NULL)
		return;		/* done, but its client left */
	snprintf(http_page_lang, sizeof(http_page_lang), "%s", lang);
	if (unsub)
		http_done_page(req, "unsubscribed.html",
		    "unsubscribed_title", "Unsubscribed",
		    email);
	else
		http_done_page(req, "subscribed.html", "confirmed_title",
		    "Subscription confirmed", email);
	http_page_lang[0] = '\0';
}

/* Store a change to the subscriber a link names; answered from there. */
static void
http_change(struct evhttp_request *req, enum subs_op op, int64_t id,
    const char *email)
{
	struct http_wait	*w = http_wait_new(req);
	struct subs_req		 sr;

	snprintf(w->email, sizeof(w->email), "%s", email);
	snprintf(w->lang, sizeof(w->lang), "%s", http_page_lang);
	w->confirm = op == SUBS_CONFIRM_ID;
	memset(&sr, 0, sizeof(sr));
	sr.op = op;
	sr.id = id;
	subs_write(&sr, http_changed, w);
}

static void
http_unsubscribe_found(struct evhttp_request *req, const char *query,
    int64_t id, const struct http_sub *hs)
{
	struct mus_pair	 p[3];
	struct buf	 action = BUF_INIT;
	int		 post = evhttp_request_get_command(req) ==
			    EVHTTP_REQ_POST;

	if (post) {
		http_change(req, SUBS_UNSUBSCRIBE_ID, id, hs->email);
		return;
	}
	http_pair(&p[0], "email", hs->email);
	if (hs->status == SUB_UNSUBSCRIBED) {
		http_title(&p[1], "unsubscribed_title", "Unsubscribed");
		http_render_page(req, 200, "unsubscribed.html", p, 2);
		return;
	}
	buf_printf(&action, "%s/unsubscribe?%s", env->conf->list_base_url,
	    query);
	http_title(&p[1], "unsubscribe_title", "Unsubscribe");
	http_pair(&p[2], "action_url", action.p);
	http_render_page(req, 200, "unsubscribe.html", p, 3);
	buf_free(&action);
}

static void
http_unsubscribe(struct evhttp_request *req, const char *query)
{
	http_private(req);
	http_token_subscriber(req, query, "unsubscribe",
	    http_unsubscribe_found);
}

/*
 * GET (and HEAD) shows a page whose button POSTs back to the same URL
 * and changes nothing: mail scanners and link checkers follow every link
 * with GET.  POST activates a pending subscriber (double opt-in); an
 * active one just sees the done page again.
 */
static void
http_confirm_found(struct evhttp_request *req, const char *query,
    int64_t id, const struct http_sub *hs)
{
	struct mus_pair	 p[3];
	struct buf	 action = BUF_INIT;
	int		 post = evhttp_request_get_command(req) ==
			    EVHTTP_REQ_POST;

	if (hs->status == SUB_UNSUBSCRIBED || hs->status == SUB_BOUNCED) {
		http_notice(req, 410, "link_gone", "Link no longer valid",
		    "This address has left the list since this link was "
		    "sent; nothing was changed.");
		return;
	}
	if (post && hs->status == SUB_PENDING) {
		/* never over an unsubscribe that raced us (subs.c) */
		http_change(req, SUBS_CONFIRM_ID, id, hs->email);
		return;
	}
	http_pair(&p[0], "email", hs->email);
	if (post || hs->status == SUB_ACTIVE) {
		http_title(&p[1], "confirmed_title", "Subscription confirmed");
		http_render_page(req, 200, "subscribed.html", p, 2);
		return;
	}
	buf_printf(&action, "%s/confirm?%s", env->conf->list_base_url, query);
	http_title(&p[1], "confirm_title", "Confirm your subscription");
	http_pair(&p[2], "action_url", action.p);
	http_render_page(req, 200, "subscribe-confirm.html", p, 3);
	buf_free(&action);
}

static void
http_confirm(struct evhttp_request *req, const char *query)
{
	http_private(req);
	http_token_subscriber(req, query, "confirm", http_confirm_found);
}

/*
 * How POST /subscribe answers: JSON to a client that asks for it, the
 * form again with what went wrong to a browser, one line of text to
 * anything else (curl, scripts).  Success is a page for all but JSON.
 */
enum http_as { HTTP_AS_TEXT, HTTP_AS_HTML, HTTP_AS_JSON };

static int
http_accepts(struct evhttp_request *req)
{
	const char	*a;

	a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept");
	if (a == NULL)
		return HTTP_AS_TEXT;
	if (strcasestr(a, "application/json") != NULL)
		return HTTP_AS_JSON;
	if (strcasestr(a, "text/html") != NULL)
		return HTTP_AS_HTML;
	return HTTP_AS_TEXT;
}

static void
http_form_answer(struct evhttp_request *req, int as, int code,
    const char *msg)
{
	struct mus_pair	 p[3];
	struct buf	 title = BUF_INIT, canon = BUF_INIT;
	json_t		*j;
	char		*s;

	if (as == HTTP_AS_JSON) {
		j = json_pack("{s:b,s:s}", "ok", code < 300, code < 300 ?
		    "message" : "error", msg);
		if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
			fatalx("http: JSON");
		json_decref(j);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Cache-Control", "no-store");
		http_reply(req, code, "application/json", s, strlen(s));
		free(s);
	} else if (code < 300)
		http_notice(req, code, "check_mailbox", "Check your mailbox",
		    msg);
	else if (as == HTTP_AS_HTML) {
		buf_printf(&canon, "%s/subscribe", env->conf->list_base_url);
		http_pair(&p[0], "page_title", http_string("subscribe_to",
		    "Subscribe", &title));
		http_pair(&p[1], "canonical_url", canon.p);
		http_pair(&p[2], "message", msg);
		http_render_page(req, code, "subscribe.html", p, 3);
		buf_free(&title);
		buf_free(&canon);
	} else
		http_text(req, code, msg);
}

/* The client's address as a rate key: IPv4, or the /64 of IPv6. */
static void
http_client_key(struct evhttp_request *req, unsigned char key[16])
{
	struct evhttp_connection	*evcon;
	const struct sockaddr		*sa = NULL;

	memset(key, 0, 16);
	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		sa = evhttp_connection_get_addr(evcon);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
		}
	}
}

/*
 * Per-key limit (a client's address, or a subscriber's) in a fixed
 * table: HTTP_RATE_PROBE slots from the
 * key's hash; a full neighbourhood gives up the slot whose bucket is
 * fullest (the client that asked least lately).
 */
static int
http_rate_allow(struct http_rate *rates, const unsigned char key[16],
    double burst, double per_sec, double now)
{
	struct http_rate	*r, *victim = NULL;
	uint32_t		 h = 2166136261u ^ http_rate_seed;
	double			 best = -1.0, t;
	size_t			 i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	for (i = 0; i < HTTP_RATE_PROBE; i++) {
		r = &rates[(h + i) % HTTP_RATE_SLOTS];
		if (r->used && memcmp(r->key, key, 16) == 0)
			return rate_bucket_take(&r->b, per_sec, burst, now);
		if (!r->used) {
			if (best < burst + 1) {
				victim = r;
				best = burst + 1;
			}
			continue;
		}
		t = r->b.tokens + (now - r->b.last) * per_sec;
		if (t > best) {
			best = t;
			victim = r;
		}
	}
	memcpy(victim->key, key, 16);
	victim->used = 1;
	victim->b.tokens = burst;
	victim->b.last = now;
	return rate_bucket_take(&victim->b, per_sec, burst, now);
}

/*
 * May a confirmation mail go to this address now?  At most one per 10
 * minutes (HTTP_ARATE_*) per address, so that the form cannot be used to
 * flood someone's mailbox; the table lives in memory (a restart forgets
 * it) and a slot lost to a busier address only allows a mail early.
 */
static int
http_confirm_allow(const char *key, double now)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL)
	    != 1 || mdlen < 16)
		return 1;
	return http_rate_allow(http_arates, md, HTTP_ARATE_BURST,
	    HTTP_ARATE_PER_SEC, now);
}

/*
 * The form again for an address already known: only a still-pending one
 * gets its confirmation mail again (the first may have been lost), and
 * at most once per 10 minutes.  Active, unsubscribed and bounced ones
 * get nothing, and the answer is the same for all.
 */
static void
http_confirm_again(const struct core_result *r, const char *key,
    const char *name, const char *lang, double now)
{
	char	err[512];

	if (!r->found || r->status != SUB_PENDING)
		return;
	if (!http_confirm_allow(key, now)) {
		log_info("subscriber %" PRId64 ": still pending; a confirmation "
		    "mail went less than 10 minutes ago, not sent again",
		    r->id);
		return;
	}
	log_info("subscriber %" PRId64 ": still pending; confirmation mail "
	    "sent again", r->id);
	if (queue_send_confirm(r->id, r->email, name, lang, err, sizeof(err))
	    == -1)
		log_warnx("subscriber %" PRId64 ": confirmation mail: %s",
		    r->id, err);
}

/* POST /subscribe: the store has it (or not): mail, then the page. */
static void
http_subscribed(const struct core_result *r, void *arg)
{
	struct http_wait	*w = arg;
	struct evhttp_request	*req;
	char			 err[512];
	int			 as;

	if (r->rc != CORE_OK)
		log_warnx("http: subscribe: %s", r->err);
	else if (r->what == UPSERT_UPDATED)
		http_confirm_again(r, w->key, w->name, w->lang, w->now);
	else if (r->what == UPSERT_ADDED) {
		log_info("subscriber %" PRId64 ": pending confirmation",
		    r->id);
		(void)http_confirm_allow(w->key, w->now);  /* its 10 min */
		if (queue_send_confirm(r->id, w->email, w->name, w->lang, err,
		    sizeof(err)) == -1)
			log_warnx("subscriber %" PRId64 ": confirmation mail: "
			    "%s", r->id, err);
	}
	as = w->as;
	if ((req = http_wait_end(w)) == NULL)
		return;		/* its client left */
	if (r->rc != CORE_OK)
		http_form_answer(req, as, 503, "temporary failure, try again "
		    "later");
	else
		http_form_answer(req, as, 200, "If this address can be "
		    "subscribed, a message with a confirmation link is on its "
		    "way. Nothing is sent until you open that link.");
}

static void
http_subscribe(struct evhttp_request *req)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct http_wait	*w;
	struct subs_req		 sr;
	struct buf		 email = BUF_INIT, name = BUF_INIT;
	struct buf		 lang = BUF_INIT;
	const char		*ctype, *body;
	unsigned char		 key16[16];
	char			 addr[ADDR_BUFSZ], err[512], tag[LANG_MAX];
	int			 lrc = 0;
	size_t			 len;
	double			 now = now_mono();
	int			 rc, as = http_accepts(req);

	ctype = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ctype == NULL || strncasecmp(ctype,
	    "application/x-www-form-urlencoded", 33) != 0 ||
	    (ctype[33] != '\0' && ctype[33] != ';' && ctype[33] != ' ')) {
		http_form_answer(req, as, 415, "send an "
		    "application/x-www-form-urlencoded form");
		return;
	}
	len = evbuffer_get_length(in);
	body = len ? (const char *)evbuffer_pullup(in, -1) : "";
	if ((rc = http_form_get(body, len, "email", &email)) != 1 ||
	    http_form_get(body, len, "name", &name) == -1 ||
	    (lrc = http_form_get(body, len, "lang", &lang)) == -1) {
		http_form_answer(req, as, 400, rc == -1 ? "bad form encoding" :
		    "the form needs an email field");
		goto end;
	}
	if (addr_normalize(email.p, addr, sizeof(addr), err, sizeof(err))
	    == -1) {
		http_form_answer(req, as, 400, "this is not a valid email "
		    "address");
		goto end;
	}
	if (name.p == NULL)
		buf_addstr(&name, "");
	if (name.len > HTTP_NAME_MAX || !utf8_valid(name.p, name.len) ||
	    !text_header_safe(name.p, name.len)) {
		http_form_answer(req, as, 400, "the name is too long or holds "
		    "control characters or invalid UTF-8");
		goto end;
	}
	/* the language the reader wants the statements in (optional) */
	*tag = '\0';
	if (lrc == 1 && lang.len > 0 && (lang.len >= LANG_MAX ||
	    lang_norm(lang.p, tag, sizeof(tag)) == -1)) {
		http_form_answer(req, as, 400, "the language is not a "
		    "language tag (es, pt-BR, ar...)");
		goto end;
	}
	/* only well-formed requests count: they are the ones that mail */
	http_client_key(req, key16);
	if (!http_rate_allow(http_rates, key16, HTTP_RATE_BURST,
	    HTTP_RATE_PER_SEC, now)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "60");
		http_form_answer(req, as, 429, "too many requests from your "
		    "address; try again in a minute");
		goto end;
	}
	if (!rate_bucket_take(&http_grate, HTTP_GRATE_PER_SEC,
	    HTTP_GRATE_BURST, now)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "60");
		http_form_answer(req, as, 503, "too many subscriptions right "
		    "now; try again in a minute");
		goto end;
	}
	/* only a new address is stored and mailed (a pending one may be
	 * mailed again): subs.c */
	w = http_wait_new(req);
	snprintf(w->email, sizeof(w->email), "%s", addr);
	addr_key(addr, w->key, sizeof(w->key));
	w->name = xstrdup(name.p);
	snprintf(w->lang, sizeof(w->lang), "%s", tag);
	w->now = now;
	w->as = as;
	memset(&sr, 0, sizeof(sr));
	sr.op = SUBS_PENDING;
	sr.addr = addr;
	sr.name = name.p;
	sr.lang = *tag != '\0' ? tag : NULL;
	subs_write(&sr, http_subscribed, w);
 end:
	buf_free(&email);
	buf_free(&name);
	buf_free(&lang);
}

/*
 * Health and metrics.
 */

static void
http_healthz(struct evhttp_request *req)
{
	char	why[256];
	int	ok = queue_store_ok(why, sizeof(why));

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (env->stopping)
		http_text(req, 503, "shutting down");
	else if (!ok)
		http_text(req, 503, "store not writable");
	else
		http_reply(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void
http_metrics_done(struct metrics_read *r, void *arg)
{
	struct evhttp_request	*req = http_wait_end(arg);
	struct buf		 b = BUF_INIT;
	int			 i;

	if (req == NULL) {
		metrics_read_free(r);
		return;
	}
	buf_printf(&b, "# HELP broadside_http_requests_total HTTP requests "
	    "answered, by status code.\n"
	    "# TYPE broadside_http_requests_total counter\n");
	http_codes[200]++;	/* this answer */
	for (i = 0; i < HTTP_CODES; i++)
		if (http_codes[i] != 0)
			buf_printf(&b, "broadside_http_requests_total{code=\"%d\"}"
			    " %" PRIu64 "\n", i, http_codes[i]);
	http_codes[200]--;
	buf_printf(&b, "# HELP broadside_http_connections HTTP connections "
	    "open.\n# TYPE broadside_http_connections gauge\n"
	    "broadside_http_connections %d\n", http_nconns);
	metrics_subscribers(&b, r);
	metrics_engine(&b, r);
	metrics_read_free(r);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.p,
	    b.len);
	buf_free(&b);
}

/* The store's figures are read off the loop; the answer is made once
 * they are back, with the loop's figures of that moment. */
static void
http_metrics(struct evhttp_request *req)
{
	metrics_read(http_metrics_done, http_wait_new(req));
}

/*
 * Dispatch.
 */

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_uri	*uri;
	struct http_conn	*c;
	struct buf		 path = BUF_INIT;
	const char		*query, *p;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	int			 get = cmd == EVHTTP_REQ_GET ||
				    cmd == EVHTTP_REQ_HEAD;

	(void)arg;
	if ((c = http_conn_of(req)) != NULL)
		c->deadline = now_mono() + HTTP_DEADLINE;
	uri = evhttp_uri_parse_with_flags(evhttp_request_get_uri(req), 0);
	if (uri == NULL || http_path(evhttp_uri_get_path(uri), &path) == -1) {
		http_text(req, 400, "bad request-target");
		goto end;
	}
	query = evhttp_uri_get_query(uri);
	if (query != NULL && http_query_check(query) == -1) {
		http_text(req, 400, "bad percent-encoding");
		goto end;
	}
	p = path.p;
	http_page_lang[0] = '\0';	/* site.language unless a page says */
	if (strcmp(p, "/feed.xml") == 0) {
		if (get)
			http_feed_get(req);
		else
			http_not_allowed(req, "GET, HEAD");
	} else if (strncmp(p, "/feed.", 6) == 0 && strlen(p) > 10 &&
	    strcmp(p + strlen(p) - 4, ".xml") == 0) {
		/* another language's feed: kept with the site's pages */
		if (get)
			http_site(req, p);
		else
			http_not_allowed(req, "GET, HEAD");
	} else if (strcmp(p, "/") == 0 || strcmp(p, "/archive") == 0 ||
	    strncmp(p, "/archive/", 9) == 0) {
		if (get)
			http_site(req, strcmp(p, "/archive") == 0 ?
			    "/archive/" : p);
		else
			http_not_allowed(req, "GET, HEAD");
	} else if (strcmp(p, "/unsubscribe") == 0)
		http_unsubscribe(req, query);
	else if (strcmp(p, "/confirm") == 0)
		http_confirm(req, query);
	else if (strcmp(p, "/subscribe") == 0) {
		if (cmd == EVHTTP_REQ_POST)
			http_subscribe(req);
		else if (get)
			http_site(req, p);	/* the form alone */
		else
			http_not_allowed(req, "GET, HEAD, POST");
	} else if (strcmp(p, "/healthz") == 0) {
		if (get)
			http_healthz(req);
		else
			http_not_allowed(req, "GET, HEAD");
	} else if (strcmp(p, "/metrics") == 0) {
		if (get)
			http_metrics(req);
		else
			http_not_allowed(req, "GET, HEAD");
	} else
		http_text(req, 404, "no such page");
 end:
	http_page_lang[0] = '\0';	/* no other answer in theirs */
	if (uri != NULL)
		evhttp_uri_free(uri);
	buf_free(&path);
}

/*
 * Set-up.
 */

/* Bind http.listen ("host:port", "[v6]:port", "*:port"). */
static int
http_bind(const char *listen_on, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		*host, *port;
	int		 fd = -1, on = 1, rc;

	host = xstrdup(listen_on);
	port = strrchr(host, ':');
	*port++ = '\0';		/* config.c checked there is one */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(strcmp(host, "*") == 0 || host[0] == '\0' ?
	    NULL : host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", listen_on, gai_strerror(rc));
		goto end;
	}
	if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, res->ai_protocol)) == -1) {
		snprintf(err, errlen, "%s: socket: %s", listen_on,
		    strerror(errno));
		goto end;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		snprintf(err, errlen, "%s: %s", listen_on, strerror(errno));
		close(fd);
		fd = -1;
	}
 end:
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	return fd;
}

int
http_init(char *err, size_t errlen)
{
	struct rlimit	rl;
	struct timeval	tv = { 1, 0 };
	int		fd;

	if (env->conf->http_listen == NULL)
		return 0;
	if ((http_tkey = token_key_new(env->key, (size_t)env->keylen, err,
	    errlen)) == NULL)
		return -1;
	if ((fd = http_bind(env->conf->http_listen, err, errlen)) == -1) {
		token_key_free(http_tkey);
		http_tkey = NULL;
		return -1;
	}
	http_maxconns = HTTP_MAX_CONNS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)HTTP_MAX_CONNS + 2 * HTTP_FD_RESERVE)
		http_maxconns = rl.rlim_cur > 2 * HTTP_FD_RESERVE ?
		    (int)rl.rlim_cur - HTTP_FD_RESERVE : (int)rl.rlim_cur / 2;
	if (getentropy(&http_rate_seed, sizeof(http_rate_seed)) == -1)
		http_rate_seed = (uint32_t)getpid();

	if ((http = evhttp_new(env->base)) == NULL)
		fatalx("evhttp_new");
	evhttp_set_max_body_size(http, HTTP_MAX_BODY);
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_timeout(http, HTTP_IDLE);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST);
	evhttp_set_default_content_type(http, "text/plain; charset=utf-8");
	evhttp_set_bevcb(http, http_bev_cb, NULL);
	evhttp_set_gencb(http, http_request_cb, NULL);
	if ((http_fresh_ev = event_new(env->base, -1, 0, http_fresh_cb, NULL))
	    == NULL || (http_sweep_ev = event_new(env->base, -1, EV_PERSIST,
	    http_sweep_cb, NULL)) == NULL || event_add(http_sweep_ev, &tv)
	    == -1)
		fatalx("http: events");
	http_listener = evconnlistener_new(env->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (http_listener == NULL) {
		snprintf(err, errlen, "%s: cannot listen", env->conf->http_listen);
		close(fd);
		http_shutdown();
		return -1;
	}
	if (evhttp_bind_listener(http, http_listener) == NULL) {
		snprintf(err, errlen, "%s: cannot serve HTTP",
		    env->conf->http_listen);
		evconnlistener_free(http_listener);
		http_listener = NULL;
		http_shutdown();
		return -1;
	}
	evconnlistener_set_error_cb(http_listener, http_accept_error_cb);
	feed_on_change(http_feed_changed, NULL);
	if (feed_current() != NULL)	/* a reload's new listener */
		http_feed_changed(NULL);
	log_info("http: listening on %s (at most %d connections)",
	    env->conf->http_listen, http_maxconns);
	return 0;
}

void
http_shutdown(void)
{
	struct http_conn	*c;

	if (http == NULL)
		return;
	feed_on_change(NULL, NULL);
	http_listener = NULL;	/* evhttp_free frees it first */
	http_bind_fresh();
	evhttp_free(http);	/* closes connections: close callbacks run */
	http = NULL;
	http_linger_flush();
	while ((c = TAILQ_FIRST(&http_live)) != NULL) {
		TAILQ_REMOVE(&http_live, c, entry);
		free(c);
	}
	if (http_fresh_ev != NULL)
		event_free(http_fresh_ev);
	if (http_sweep_ev != NULL)
		event_free(http_sweep_ev);
	http_fresh_ev = http_sweep_ev = NULL;
	free(http_byfd);
	http_byfd = NULL;
	http_nbyfd = 0;
	http_nconns = 0;
	token_key_free(http_tkey);
	http_tkey = NULL;
	buf_free(&http_feed);
	http_feed_etag[0] = '\0';
	site_shutdown();
}
