/*
 * resolver.c -- one thread asking DNS for MX records, a TTL cache on the
 * loop (see resolver.h).
 */
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "broadside.h"
#include "dest.h"
#include "resolver.h"
#include "util.h"

#define RESOLVER_BUCKETS	4096
#define RESOLVER_MAX		100000	/* domains cached */
#define RESOLVER_TTL_MIN	60
#define RESOLVER_TTL_MAX	86400
#define RESOLVER_NOMX_TTL	3600	/* no such domain, or no MX */

struct rentry {
	char		 domain[256];
	char		 key[256];
	int		 known;		/* key is an answer (maybe stale) */
	int		 asked;		/* a lookup is out */
	double		 expires;	/* now_mono() */
	struct rentry	*next;
};

/* A lookup, from the loop to the thread and back. */
struct rreq {
	char		 domain[256];
	char		 key[256];
	int		 ttl;
	int		 failed;
	struct rreq	*next;
};

static struct {
	struct event_base	*base;
	struct event		*ev;
	int			 efd;
	void			(*news)(void *);
	void			*arg;
	struct rentry		*tab[RESOLVER_BUCKETS];
	size_t			 n;
	uint64_t		 lookups, failed;
	int			 started;

	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct rreq		*todo, *todo_tail;	/* under mtx */
	struct rreq		*done;			/* under mtx */
	int			 stop;			/* under mtx */
	char			 dns[64];		/* under mtx */
	int			 dns_gen;		/* under mtx */
} r = { .efd = -1 };

static unsigned
resolver_hash(const char *s)
{
	unsigned	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % RESOLVER_BUCKETS;
}

/* "ADDR:PORT" into sin: 0, or -1. */
static int
resolver_addr(const char *dns, struct sockaddr_in *sin)
{
	char		 host[64], *end;
	const char	*colon = strrchr(dns, ':');
	long		 port;

	if (colon == NULL || (size_t)(colon - dns) >= sizeof(host))
		return -1;
	memcpy(host, dns, (size_t)(colon - dns));
	host[colon - dns] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535 ||
	    inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -1;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

/*
 * The thread: the MX of q->domain, the one of lowest preference, into
 * q->key (dest.c: provider or parent); else the domain itself.
 */
static void
resolver_lookup(res_state rs, struct rreq *q)
{
	unsigned char	 ans[4096];
	char		 best[NS_MAXDNAME], parent[256];
	const char	*prov;
	unsigned	 ttl;
	int		 n, rc;

	q->failed = 0;
	n = res_nquery(rs, q->domain, C_IN, T_MX, ans, sizeof(ans));
	if (n < 12) {
		/* no such domain, or no MX: its own group for long; a
		 * failure (time-out, SERVFAIL): for RESOLVER_FAIL_TTL */
		q->failed = rs->res_h_errno != HOST_NOT_FOUND &&
		    rs->res_h_errno != NO_DATA;
		q->ttl = q->failed ? RESOLVER_FAIL_TTL : RESOLVER_NOMX_TTL;
		goto own;
	}
	if (n > (int)sizeof(ans))
		n = sizeof(ans);	/* truncated: what fits */
	if ((rc = dest_mx(ans, (size_t)n, best, sizeof(best), &ttl)) <= 0) {
		q->failed = rc < 0;
		q->ttl = rc < 0 ? RESOLVER_FAIL_TTL : RESOLVER_NOMX_TTL;
		goto own;
	}
	q->ttl = (int)(ttl < RESOLVER_TTL_MIN ? RESOLVER_TTL_MIN :
	    ttl > RESOLVER_TTL_MAX ? RESOLVER_TTL_MAX : ttl);
	if ((prov = dest_provider(best)) != NULL)
		snprintf(q->key, sizeof(q->key), "%s", prov);
	else if (dest_parent(best, parent, sizeof(parent)) == 0)
		dest_key(parent, q->key, sizeof(q->key));
	else
		goto own;
	return;
own:
	dest_key(q->domain, q->key, sizeof(q->key));
}

static void *
resolver_main(void *arg)
{
	struct __res_state	 rs;
	struct sockaddr_in	 sin;
	struct rreq		*q;
	uint64_t		 one = 1;
	int			 gen = -1, ok = 0;

	(void)arg;
	memset(&rs, 0, sizeof(rs));
	pthread_mutex_lock(&r.mtx);
	for (;;) {
		while (r.todo == NULL && !r.stop)
			pthread_cond_wait(&r.cond, &r.mtx);
		if (r.stop)
			break;
		q = r.todo;
		if ((r.todo = q->next) == NULL)
			r.todo_tail = NULL;
		if (gen != r.dns_gen) {
			/* new servers: a new state */
			if (ok)
				res_nclose(&rs);
			memset(&rs, 0, sizeof(rs));
			ok = res_ninit(&rs) == 0;
			if (ok && r.dns[0] != '\0' &&
			    resolver_addr(r.dns, &sin) == 0) {
				rs.nsaddr_list[0] = sin;
				rs.nscount = 1;
			}
			if (ok) {
				rs.retrans = 2;	/* seconds */
				rs.retry = 2;
			}
			gen = r.dns_gen;
		}
		pthread_mutex_unlock(&r.mtx);

		if (ok)
			resolver_lookup(&rs, q);
		else {
			q->failed = 1;
			q->ttl = RESOLVER_FAIL_TTL;
			dest_key(q->domain, q->key, sizeof(q->key));
		}

		pthread_mutex_lock(&r.mtx);
		q->next = r.done;
		r.done = q;
		if (write(r.efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			fatal("resolver: eventfd write");
	}
	pthread_mutex_unlock(&r.mtx);
	if (ok)
		res_nclose(&rs);
	return NULL;
}

static struct rentry *
resolver_find(const char *d)
{
	struct rentry	*e;

	for (e = r.tab[resolver_hash(d)]; e != NULL; e = e->next)
		if (strcmp(e->domain, d) == 0)
			return e;
	return NULL;
}

/* The loop: answers into the cache, then news(). */
static void
resolver_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct rreq	*q, *next;
	struct rentry	*e;
	uint64_t	 n;
	int		 any = 0;

	(void)what;
	(void)arg;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("resolver: eventfd read");
	pthread_mutex_lock(&r.mtx);
	q = r.done;
	r.done = NULL;
	pthread_mutex_unlock(&r.mtx);
	for (; q != NULL; q = next) {
		next = q->next;
		r.lookups++;
		if (q->failed)
			r.failed++;
		if ((e = resolver_find(q->domain)) != NULL) {
			if (!e->known || !q->failed) {
				snprintf(e->key, sizeof(e->key), "%s", q->key);
				e->known = 1;
			}
			e->asked = 0;
			e->expires = now_mono() + q->ttl;
			if (strcmp(e->key, e->domain) != 0 || q->failed)
				log_debug("resolver: %s: group %s%s (%d s)",
				    e->domain, e->key, q->failed ?
				    ", lookup failed" : "", q->ttl);
		}
		free(q);
		any = 1;
	}
	if (any && r.news != NULL)
		r.news(r.arg);
}

int
resolver_init(struct event_base *base, const char *dns,
    void (*news)(void *), void *arg, char *err, size_t errlen)
{
	sigset_t	all, old;
	int		rc;

	if (r.started)
		return 0;
	r.base = base;
	r.news = news;
	r.arg = arg;
	pthread_mutex_init(&r.mtx, NULL);
	pthread_cond_init(&r.cond, NULL);
	snprintf(r.dns, sizeof(r.dns), "%s", dns ? dns : "");
	if ((r.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "resolver: eventfd: %s", strerror(errno));
		return -1;
	}
	if ((r.ev = event_new(base, r.efd, EV_READ | EV_PERSIST,
	    resolver_on_wake, NULL)) == NULL || event_add(r.ev, NULL) == -1) {
		snprintf(err, errlen, "resolver: cannot add its event");
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r.thread, NULL, resolver_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "resolver: pthread_create: %s",
		    strerror(rc));
		return -1;
	}
	r.started = 1;
	return 0;
}

void
resolver_set_dns(const char *dns)
{
	if (!r.started)
		return;
	pthread_mutex_lock(&r.mtx);
	if (strcmp(r.dns, dns ? dns : "") != 0) {
		snprintf(r.dns, sizeof(r.dns), "%s", dns ? dns : "");
		r.dns_gen++;
	}
	pthread_mutex_unlock(&r.mtx);
}

int
resolver_key(const char *d, char *key, size_t keylen)
{
	struct rentry	*e;
	struct rreq	*q;
	char		 low[256];
	unsigned	 h;

	dest_key(d, low, sizeof(low));
	if (!r.started) {
		snprintf(key, keylen, "%s", low);
		return 1;
	}
	if ((e = resolver_find(low)) == NULL) {
		if (r.n >= RESOLVER_MAX) {
			snprintf(key, keylen, "%s", low);
			return 1;	/* full: its own group */
		}
		e = xcalloc(1, sizeof(*e));
		snprintf(e->domain, sizeof(e->domain), "%s", low);
		h = resolver_hash(low);
		e->next = r.tab[h];
		r.tab[h] = e;
		r.n++;
	}
	if (!e->asked && (!e->known || now_mono() >= e->expires)) {
		q = xcalloc(1, sizeof(*q));
		snprintf(q->domain, sizeof(q->domain), "%s", low);
		pthread_mutex_lock(&r.mtx);
		if (r.todo_tail != NULL)
			r.todo_tail->next = q;
		else
			r.todo = q;
		r.todo_tail = q;
		pthread_cond_signal(&r.cond);
		pthread_mutex_unlock(&r.mtx);
		e->asked = 1;
	}
	if (!e->known)
		return 0;
	snprintf(key, keylen, "%s", e->key);	/* stale is fine meanwhile */
	return 1;
}

void
resolver_counts(uint64_t *lookups, uint64_t *failed, size_t *cached)
{
	*lookups = r.lookups;
	*failed = r.failed;
	*cached = r.n;
}

void
resolver_free(void)
{
	struct rentry	*e, *en;
	struct rreq	*q, *qn;
	size_t		 i;

	if (r.started) {
		/* a lookup out ends within its time-outs (retrans x retry) */
		pthread_mutex_lock(&r.mtx);
		r.stop = 1;
		pthread_cond_signal(&r.cond);
		pthread_mutex_unlock(&r.mtx);
		pthread_join(r.thread, NULL);
		for (q = r.todo; q != NULL; q = qn) {
			qn = q->next;
			free(q);
		}
		for (q = r.done; q != NULL; q = qn) {
			qn = q->next;
			free(q);
		}
		r.todo = r.todo_tail = r.done = NULL;
		pthread_cond_destroy(&r.cond);
		pthread_mutex_destroy(&r.mtx);
	}
	if (r.ev != NULL)
		event_free(r.ev);
	r.ev = NULL;
	if (r.efd != -1)
		close(r.efd);
	r.efd = -1;
	for (i = 0; i < RESOLVER_BUCKETS; i++) {
		for (e = r.tab[i]; e != NULL; e = en) {
			en = e->next;
			free(e);
		}
		r.tab[i] = NULL;
	}
	r.n = 0;
	r.started = 0;
	r.stop = 0;
}
