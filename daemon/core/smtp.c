/*
 * smtp.c -- SMTP sender threads, one reused libcurl easy handle each.
 *
 * libcurl waits for the reply to the final "." inside curl_easy_perform,
 * so sending blocks: it happens on conf->connections threads, never on the
 * main loop.  Each thread keeps one easy handle, and with it one SMTP
 * session, across messages.  Jobs go in through a bounded ring (one mutex,
 * one condition variable) and come back through a second list; the first
 * job finished after a drain writes to an eventfd, and the loop's callback
 * drains every finished job in one go and calls done() for each (the
 * shape of redis bio.c).
 *
 * Which command a reply answered is read from libcurl's debug callback:
 * CURLINFO_HEADER_OUT shows each command sent, CURLINFO_HEADER_IN each
 * reply line.  That tells a 5xx to RCPT TO (a bounce) from a 5xx to DATA.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "broadside.h"
#include "buf.h"
#include "dkim.h"
#include "rate.h"
#include "smtp.h"

#define SMTP_MAX_CONNECTIONS	256
#define SMTP_QUEUE_PER_CONN	2	/* queued jobs per thread, beyond one each in flight */
#define SMTP_CLOSE_WAIT		0.5	/* seconds for the server's FIN */
#define SMTP_LAZY_MS		20	/* most a lazily posted job waits */

struct smtp_worker {
	struct smtp_pool	*pool;
	int			 id;
	pthread_t		 thread;
	CURL			*curl;
	int			 nsock;		/* sockets this handle holds open */

	/* the message being sent */
	struct buf		 msg;
	size_t			 off;
	struct curl_slist	 rcpt;		/* one node, no allocation */
	struct dkim_signer	*dkim;		/* NULL: no signing */
	struct buf		 signed_msg;	/* headers + msg, swapped in */

	int			 slot;		/* holds a session slot */

	/* what the debug callback saw */
	enum smtp_phase		 phase;
	int			 quitting;
	int			 code;
	int			 inreply;	/* a multi-line reply goes on */
	char			 reply[512];	/* every line of the reply */
	char			 enh[12];	/* its first enhanced code */
	char			 errbuf[CURL_ERROR_SIZE];
};

struct smtp_pool {
	struct event_base	*base;
	struct event		*ev;
	struct event		*tick;		/* reports lazy posts, see
						   smtp_pool_post */
	int			 efd;
	void			(*done)(struct smtp_job *, void *);
	void			(*batch)(void *);
	void			*arg;

	char			*url;
	char			*ca_file;
	char			*username;
	char			*password;
	enum smtp_tls		 tls;
	long			 timeout;
	int			 idle;
	int			 verbose;

	struct smtp_worker	*workers;
	int			 nworkers;
	int			 nstarted;

	/* main thread only */
	int			 limit;		/* most jobs outstanding */
	int			 outstanding;	/* submitted, done() not yet run */
	struct smtp_job		**drain;

	/* under mtx */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct smtp_job		**queue;	/* ring of limit slots */
	int			 qhead;
	int			 qlen;
	struct smtp_job		**fin;		/* limit slots */
	int			 nfin;
	int			 notified;	/* eventfd written, not yet drained */
	int			 stopping;
	int			 nexited;	/* threads past their last QUIT */
	atomic_int		 stop_flag;	/* stopping, read without mtx */
	struct rate		*rate;
	struct smtp_slots	*slots;
	struct dkim		*dkim;		/* a reference, or NULL */
	int			 own_slots;	/* made here: free with the pool */
	int			 freeing;	/* in smtp_pool_free */

	atomic_int		 sessions;
	atomic_uint_fast64_t	 connects;
};

struct smtp_slots {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	int			 max;
	int			 used;
};

static void	*smtp_worker_main(void *);
static int	 smtp_worker_setup(struct smtp_worker *);
static void	 smtp_worker_send(struct smtp_worker *, struct smtp_job *);
static void	 smtp_pool_drain(struct smtp_pool *);
static void	 smtp_pool_on_wake(evutil_socket_t, short, void *);
static void	 smtp_pool_on_tick(evutil_socket_t, short, void *);
static void	 smtp_pool_tick(struct smtp_pool *);

/* Copy printable ASCII only, so a reply cannot forge log lines. */
static void
smtp_sanitise(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t	i, n = 0;

	if (dstlen == 0)
		return;
	for (i = 0; i < len && n + 1 < dstlen; i++) {
		if (src[i] == '\r' || src[i] == '\n')
			break;
		dst[n++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	}
	dst[n] = '\0';
}

/*
 * smtp:// or smtps:// as conf->tls asks, with the EHLO name as the path,
 * which is where libcurl takes it from.
 */
static char *
smtp_make_url(const struct smtp_conf *conf, char *err, size_t errlen)
{
	const char	*rest, *slash, *s;
	char		*url;
	int		 smtps;

	if (conf->url == NULL) {
		snprintf(err, errlen, "smtp.url is not set");
		return NULL;
	}
	if (strncasecmp(conf->url, "smtp://", 7) == 0) {
		smtps = 0;
		rest = conf->url + 7;
	} else if (strncasecmp(conf->url, "smtps://", 8) == 0) {
		smtps = 1;
		rest = conf->url + 8;
	} else {
		snprintf(err, errlen, "smtp.url: want smtp:// or smtps://");
		return NULL;
	}
	if (smtps && conf->tls != SMTP_TLS_TLS) {
		snprintf(err, errlen, "smtp.url is smtps:// but smtp.tls is "
		    "not \"tls\"");
		return NULL;
	}
	for (s = rest; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f) {
			snprintf(err, errlen, "smtp.url: space or control "
			    "character");
			return NULL;
		}
	slash = strchr(rest, '/');
	if (slash == rest || *rest == '\0') {
		snprintf(err, errlen, "smtp.url: no host");
		return NULL;
	}
	if (conf->helo_name != NULL) {
		for (s = conf->helo_name; *s != '\0'; s++)
			if (!((*s >= 'a' && *s <= 'z') ||
			    (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || strchr(".-[]:", *s))) {
				snprintf(err, errlen, "bad EHLO name");
				return NULL;
			}
		if (*conf->helo_name == '\0') {
			snprintf(err, errlen, "empty EHLO name");
			return NULL;
		}
		xasprintf(&url, "%s://%.*s/%s",
		    conf->tls == SMTP_TLS_TLS ? "smtps" : "smtp",
		    (int)(slash ? (size_t)(slash - rest) : strlen(rest)), rest,
		    conf->helo_name);
	} else
		xasprintf(&url, "%s://%s",
		    conf->tls == SMTP_TLS_TLS ? "smtps" : "smtp", rest);
	return url;
}

struct smtp_pool *
smtp_pool_new(struct event_base *base, const struct smtp_conf *conf,
    void (*done)(struct smtp_job *, void *), void (*batch)(void *),
    void *arg, char *err, size_t errlen)
{
	struct smtp_pool	*p;
	sigset_t		 all, old;
	int			 i, rc;

	if (conf->connections < 1 || conf->connections > SMTP_MAX_CONNECTIONS) {
		snprintf(err, errlen, "smtp.connections: want 1 to %d",
		    SMTP_MAX_CONNECTIONS);
		return NULL;
	}
	if (conf->timeout < 1) {
		snprintf(err, errlen, "smtp.timeout: want at least 1 second");
		return NULL;
	}
	if (conf->password != NULL && conf->username == NULL) {
		snprintf(err, errlen, "smtp: a password without a username");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return NULL;
	}

	p = xcalloc(1, sizeof(*p));
	p->efd = -1;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	if ((p->url = smtp_make_url(conf, err, errlen)) == NULL)
		goto fail;
	p->base = base;
	p->done = done;
	p->batch = batch;
	p->arg = arg;
	p->ca_file = conf->ca_file ? xstrdup(conf->ca_file) : NULL;
	p->username = conf->username ? xstrdup(conf->username) : NULL;
	p->password = conf->password ? xstrdup(conf->password) : NULL;
	p->tls = conf->tls;
	p->timeout = conf->timeout;
	p->verbose = conf->verbose;
	p->idle = conf->idle > 0 ? conf->idle : SMTP_IDLE_CLOSE;
	p->nworkers = conf->connections;
	p->rate = conf->rate;
	if ((p->slots = conf->slots) == NULL) {
		p->slots = smtp_slots_new(conf->connections);
		p->own_slots = 1;
	}
	atomic_init(&p->stop_flag, 0);
	p->limit = conf->connections * (1 + SMTP_QUEUE_PER_CONN);
	p->queue = xcalloc(p->limit, sizeof(*p->queue));
	p->fin = xcalloc(p->limit, sizeof(*p->fin));
	p->drain = xcalloc(p->limit, sizeof(*p->drain));
	atomic_init(&p->sessions, 0);
	atomic_init(&p->connects, 0);

	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST,
	    smtp_pool_on_wake, p)) == NULL || event_add(p->ev, NULL) == -1 ||
	    (p->tick = evtimer_new(base, smtp_pool_on_tick, p)) == NULL) {
		snprintf(err, errlen, "cannot add the pool's wake-up event");
		goto fail;
	}

	p->workers = xcalloc(p->nworkers, sizeof(*p->workers));
	if (conf->dkim != NULL) {
		p->dkim = dkim_ref(conf->dkim);
		for (i = 0; i < p->nworkers; i++)
			p->workers[i].dkim = dkim_signer_new(p->dkim);
	}
	/* signals belong to the main thread: the workers block them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < p->nworkers; i++) {
		p->workers[i].pool = p;
		p->workers[i].id = i;
		rc = pthread_create(&p->workers[i].thread, NULL,
		    smtp_worker_main, &p->workers[i]);
		if (rc != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "pthread_create: %s",
			    strerror(rc));
			goto fail;
		}
		p->nstarted++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;

fail:
	smtp_pool_free(p);
	return NULL;
}

int
smtp_pool_submit(struct smtp_pool *p, struct smtp_job *job)
{
	if (p->outstanding >= p->limit)
		return -1;
	pthread_mutex_lock(&p->mtx);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mtx);
		return -1;
	}
	job->result = SMTP_RELAY_TEMP;
	job->phase = SMTP_PHASE_NONE;
	job->code = 0;
	job->enh[0] = '\0';
	job->msg[0] = '\0';
	job->recalled = 0;
	/* outstanding <= limit, so the ring cannot overflow */
	p->queue[(p->qhead + p->qlen) % p->limit] = job;
	p->qlen++;
	p->outstanding++;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	if (!evtimer_pending(p->tick, NULL))
		smtp_pool_tick(p);
	return 0;
}

int
smtp_pool_space(struct smtp_pool *p)
{
	int	stopping;

	pthread_mutex_lock(&p->mtx);
	stopping = p->stopping;
	pthread_mutex_unlock(&p->mtx);
	return stopping ? 0 : p->limit - p->outstanding;
}

int
smtp_pool_busy(struct smtp_pool *p)
{
	return p->outstanding;
}

int
smtp_pool_sessions(struct smtp_pool *p)
{
	return atomic_load(&p->sessions);
}

uint64_t
smtp_pool_connects(struct smtp_pool *p)
{
	return atomic_load(&p->connects);
}

/*
 * Post a finished job to the loop; called with mtx held.  1: the caller
 * wakes the loop.  A lazy post (a sender thread's, while more jobs are
 * queued than there are threads) leaves the wake-up to a later one: the
 * loop has nothing to refill yet, and one wake-up reports several jobs
 * (a wake-up per message cost the loop more than the rest of its work).
 * A thread about to wait (idle, for a token, for a session slot) wakes
 * the loop first with smtp_pool_flush(); a message that takes long (a
 * stalled relay) leaves the jobs posted before it to the loop's tick,
 * at most SMTP_LAZY_MS later.
 */
static int
smtp_pool_post(struct smtp_pool *p, struct smtp_job *job, int lazy)
{
	p->fin[p->nfin++] = job;
	if (p->notified || (lazy && p->qlen > p->nworkers))
		return 0;
	p->notified = 1;
	return 1;
}

/* With mtx held: 1 if jobs were posted lazily and the loop not woken. */
static int
smtp_pool_flush(struct smtp_pool *p)
{
	if (p->nfin == 0 || p->notified)
		return 0;
	p->notified = 1;
	return 1;
}

static void
smtp_pool_wake(struct smtp_pool *p)
{
	uint64_t	one = 1;

	/* the counter cannot overflow: the loop reads it after every write */
	if (write(p->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		fatal("smtp: eventfd write");
}

void
smtp_pool_shutdown(struct smtp_pool *p)
{
	struct smtp_job	*job;
	int		 wake = 0;

	pthread_mutex_lock(&p->mtx);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mtx);
		return;
	}
	p->stopping = 1;
	atomic_store(&p->stop_flag, 1);
	while (p->qlen > 0) {
		job = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->limit;
		p->qlen--;
		job->result = SMTP_CANCELLED;
		job->phase = SMTP_PHASE_NONE;
		snprintf(job->msg, sizeof(job->msg), "not sent: shutting down");
		wake |= smtp_pool_post(p, job, 0);
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	if (wake)
		smtp_pool_wake(p);
}

void
smtp_pool_recall(struct smtp_pool *p)
{
	struct smtp_job	*job;
	int		 wake = 0;

	pthread_mutex_lock(&p->mtx);
	while (p->qlen > 0) {
		job = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->limit;
		p->qlen--;
		job->result = SMTP_CANCELLED;
		job->phase = SMTP_PHASE_NONE;
		job->recalled = 1;
		snprintf(job->msg, sizeof(job->msg), "not sent: recalled");
		wake |= smtp_pool_post(p, job, 0);
	}
	pthread_mutex_unlock(&p->mtx);
	if (wake)
		smtp_pool_wake(p);
}

void
smtp_pool_free(struct smtp_pool *p)
{
	int	i;

	if (p == NULL)
		return;
	p->freeing = 1;
	smtp_pool_shutdown(p);
	for (i = 0; i < p->nstarted; i++)
		pthread_join(p->workers[i].thread, NULL);
	/* every thread is gone: report what they posted, here */
	smtp_pool_drain(p);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->tick != NULL)
		event_free(p->tick);
	if (p->efd != -1)
		close(p->efd);
	if (p->workers != NULL)
		for (i = 0; i < p->nworkers; i++) {
			buf_free(&p->workers[i].msg);
			buf_free(&p->workers[i].signed_msg);
			dkim_signer_free(p->workers[i].dkim);
		}
	dkim_unref(p->dkim);
	free(p->workers);
	free(p->queue);
	free(p->fin);
	free(p->drain);
	free(p->url);
	free(p->ca_file);
	free(p->username);
	if (p->password != NULL) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	if (p->own_slots)
		smtp_slots_free(p->slots);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mtx);
	free(p);
	curl_global_cleanup();
}

int
smtp_pool_reapable(struct smtp_pool *p)
{
	int	done;

	pthread_mutex_lock(&p->mtx);
	done = p->stopping && p->nexited == p->nstarted && p->nfin == 0;
	pthread_mutex_unlock(&p->mtx);
	return done && p->outstanding == 0;
}

struct smtp_slots *
smtp_slots_new(int max)
{
	struct smtp_slots	*sl = xcalloc(1, sizeof(*sl));

	pthread_mutex_init(&sl->mtx, NULL);
	pthread_cond_init(&sl->cond, NULL);
	sl->max = max;
	return sl;
}

void
smtp_slots_set(struct smtp_slots *sl, int max)
{
	pthread_mutex_lock(&sl->mtx);
	sl->max = max;
	pthread_cond_broadcast(&sl->cond);
	pthread_mutex_unlock(&sl->mtx);
}

void
smtp_slots_free(struct smtp_slots *sl)
{
	if (sl == NULL)
		return;
	pthread_cond_destroy(&sl->cond);
	pthread_mutex_destroy(&sl->mtx);
	free(sl);
}

/* Sender thread: a slot for a new session; -1 if the pool stops first. */
static int
smtp_slot_take(struct smtp_worker *w)
{
	struct smtp_slots	*sl = w->pool->slots;
	struct timespec		 ts;
	int			 ret = 0, wake;

	if (w->slot)
		return 0;
	/* the wait for a slot may be long: report what this pool holds */
	pthread_mutex_lock(&w->pool->mtx);
	wake = smtp_pool_flush(w->pool);
	pthread_mutex_unlock(&w->pool->mtx);
	if (wake)
		smtp_pool_wake(w->pool);
	pthread_mutex_lock(&sl->mtx);
	while (sl->used >= sl->max) {
		if (atomic_load(&w->pool->stop_flag)) {
			ret = -1;
			break;
		}
		/* the stop flag is not signalled here: look again soon */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sl->cond, &sl->mtx, &ts);
	}
	if (ret == 0) {
		sl->used++;
		w->slot = 1;
	}
	pthread_mutex_unlock(&sl->mtx);
	return ret;
}

/* Sender thread: give the slot back once no session is open. */
static void
smtp_slot_give(struct smtp_worker *w)
{
	struct smtp_slots	*sl = w->pool->slots;

	if (!w->slot || w->nsock > 0)
		return;
	pthread_mutex_lock(&sl->mtx);
	sl->used--;
	w->slot = 0;
	pthread_cond_broadcast(&sl->cond);
	pthread_mutex_unlock(&sl->mtx);
}

/*
 * Sender thread, with mtx held: may the job at the head of the queue go
 * now?  A metered job needs a rate token first.  The token is taken for
 * the head of the queue, whichever thread gets it, so jobs leave in the
 * order they were queued (a thread that held a job while it waited
 * could lose every token to a luckier one and go last).  0: pop it; else
 * the seconds to wait, then look again.
 */
static double
smtp_rate_head(struct smtp_pool *p, struct smtp_job *job)
{
	if (!job->metered || p->rate == NULL || (job->halted != NULL &&
	    atomic_load(job->halted)))
		return 0;
	return rate_take(p->rate, now_mono());
}

/* Main thread: report every finished job in one go. */
static void
smtp_pool_drain(struct smtp_pool *p)
{
	int	i, n, stopping;

	pthread_mutex_lock(&p->mtx);
	stopping = p->stopping;
	n = p->nfin;
	if (n > 0)
		memcpy(p->drain, p->fin, n * sizeof(*p->fin));
	p->nfin = 0;
	p->notified = 0;
	pthread_mutex_unlock(&p->mtx);

	/* free the slots first, so done() can submit the next jobs */
	p->outstanding -= n;
	for (i = 0; i < n; i++)
		p->done(p->drain[i], p->arg);
	if (!p->freeing) {
		if (p->outstanding > 0)
			smtp_pool_tick(p);
		else
			evtimer_del(p->tick);
	}
	/* a stopping pool's last thread wakes us with nothing to report, so
	 * its owner can free it (smtp_pool_reapable) */
	if ((n > 0 || (stopping && !p->freeing)) && p->batch != NULL)
		p->batch(p->arg);
}

static void
smtp_pool_on_wake(evutil_socket_t fd, short ev, void *arg)
{
	struct smtp_pool	*p = arg;
	uint64_t		 n;

	(void)ev;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("smtp: eventfd read");
	smtp_pool_drain(p);
}

/* Main thread: drain again in SMTP_LAZY_MS, unless a wake-up comes first. */
static void
smtp_pool_tick(struct smtp_pool *p)
{
	struct timeval	tv = { 0, SMTP_LAZY_MS * 1000 };

	evtimer_add(p->tick, &tv);
}

static void
smtp_pool_on_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	smtp_pool_drain(arg);
}

static void *
smtp_worker_main(void *arg)
{
	struct smtp_worker	*w = arg;
	struct smtp_pool	*p = w->pool;
	struct smtp_job		*job;
	struct timespec		 ts;
	double			 wait;
	int			 rc, wake;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		while (p->qlen == 0 && !p->stopping) {
			if (smtp_pool_flush(p))
				smtp_pool_wake(p);
			if (w->curl == NULL || w->nsock == 0) {
				pthread_cond_wait(&p->cond, &p->mtx);
				continue;
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += p->idle;
			rc = pthread_cond_timedwait(&p->cond, &p->mtx, &ts);
			if (rc == ETIMEDOUT && p->qlen == 0 && !p->stopping) {
				/* idle too long: QUIT rather than be cut off */
				pthread_mutex_unlock(&p->mtx);
				curl_easy_cleanup(w->curl);
				w->curl = NULL;
				smtp_slot_give(w);
				pthread_mutex_lock(&p->mtx);
			}
		}
		if (p->qlen == 0)
			break;
		job = p->queue[p->qhead];
		if ((wait = smtp_rate_head(p, job)) > 0) {
			/* at most 0.1 s at a time, to notice a stop or a
			 * halt; any thread may take the token next */
			if (wait > 0.1)
				wait = 0.1;
			if (smtp_pool_flush(p))
				smtp_pool_wake(p);
			clock_gettime(CLOCK_REALTIME, &ts);
			wait += (double)ts.tv_nsec / 1e9;
			ts.tv_sec += (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9);
			pthread_cond_timedwait(&p->cond, &p->mtx, &ts);
			continue;
		}
		p->qhead = (p->qhead + 1) % p->limit;
		p->qlen--;
		pthread_mutex_unlock(&p->mtx);

		smtp_worker_send(w, job);

		pthread_mutex_lock(&p->mtx);
		wake = smtp_pool_post(p, job, 1);
		if (wake) {
			pthread_mutex_unlock(&p->mtx);
			smtp_pool_wake(p);
			pthread_mutex_lock(&p->mtx);
		}
	}
	pthread_mutex_unlock(&p->mtx);
	if (w->curl != NULL)
		curl_easy_cleanup(w->curl);	/* QUIT, bounded by timeout */
	w->curl = NULL;
	smtp_slot_give(w);
	/* tell the loop it can free the pool without waiting (a reload) */
	pthread_mutex_lock(&p->mtx);
	p->nexited++;
	wake = p->nexited == p->nstarted && !p->notified;
	if (wake)
		p->notified = 1;
	pthread_mutex_unlock(&p->mtx);
	if (wake)
		smtp_pool_wake(p);
	return NULL;
}

static size_t
smtp_worker_read_cb(char *dst, size_t size, size_t nitems, void *arg)
{
	struct smtp_worker	*w = arg;
	size_t			 n = size * nitems;

	if (n > w->msg.len - w->off)
		n = w->msg.len - w->off;
	memcpy(dst, w->msg.p + w->off, n);
	w->off += n;
	return n;
}

static curl_socket_t
smtp_worker_open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct smtp_worker	*w = arg;
	curl_socket_t		 fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == CURL_SOCKET_BAD)
		return fd;
	w->nsock++;
	atomic_fetch_add(&w->pool->sessions, 1);
	atomic_fetch_add(&w->pool->connects, 1);
	return fd;
}

static int
smtp_worker_close_cb(void *arg, curl_socket_t fd)
{
	struct smtp_worker	*w = arg;
	struct pollfd		 pfd = { .fd = fd, .events = POLLIN };
	char			 buf[512];
	double			 end = now_mono() + SMTP_CLOSE_WAIT;
	int			 ms;

	/*
	 * A session is over for both ends before its slot goes to another
	 * thread: send our FIN, then wait (briefly, on this sender thread)
	 * for the server's, so that it never sees more than the cap open,
	 * even across a reload.  A socket never connected fails shutdown.
	 */
	if (shutdown(fd, SHUT_WR) == 0)
		while ((ms = (int)((end - now_mono()) * 1000)) > 0 &&
		    poll(&pfd, 1, ms) > 0 && read(fd, buf, sizeof(buf)) > 0)
			;
	w->nsock--;
	atomic_fetch_sub(&w->pool->sessions, 1);
	return close(fd);
}

static enum smtp_phase
smtp_phase_of(const char *cmd, size_t len, enum smtp_phase cur, int code)
{
	/* after "334" in AUTH, the client sends SASL data, not a command */
	if (cur == SMTP_PHASE_AUTH && code == 334)
		return cur;
	if (len < 4)
		return cur;
	if (strncasecmp(cmd, "EHLO", 4) == 0 || strncasecmp(cmd, "HELO", 4) == 0)
		return SMTP_PHASE_EHLO;
	if (strncasecmp(cmd, "STAR", 4) == 0)
		return SMTP_PHASE_STARTTLS;
	if (strncasecmp(cmd, "AUTH", 4) == 0)
		return SMTP_PHASE_AUTH;
	if (strncasecmp(cmd, "MAIL", 4) == 0)
		return SMTP_PHASE_MAIL;
	if (strncasecmp(cmd, "RCPT", 4) == 0)
		return SMTP_PHASE_RCPT;
	if (strncasecmp(cmd, "DATA", 4) == 0)
		return SMTP_PHASE_DATA;
	return cur;
}

static int
smtp_worker_debug_cb(CURL *h, curl_infotype type, char *data, size_t size,
    void *arg)
{
	struct smtp_worker	*w = arg;
	char			 line[256];
	size_t			 n;
	int			 code;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_OUT:
		if (size >= 4 && strncasecmp(data, "QUIT", 4) == 0)
			w->quitting = 1;
		else {
			w->phase = smtp_phase_of(data, size, w->phase,
			    w->code);
			w->code = 0;
			w->reply[0] = '\0';
			w->enh[0] = '\0';
			w->inreply = 0;
		}
		if (w->pool->verbose) {
			/* never log credentials: AUTH shows its mechanism only */
			if (w->phase != SMTP_PHASE_AUTH)
				smtp_sanitise(line, sizeof(line), data, size);
			else if (size > 5 && strncasecmp(data, "AUTH ", 5) == 0) {
				for (n = 5; n < size && data[n] != ' ' &&
				    data[n] != '\r'; n++)
					;
				smtp_sanitise(line, sizeof(line), data, n);
			} else
				snprintf(line, sizeof(line), "(SASL data)");
			log_debug("smtp %d > %s", w->id, line);
		}
		break;
	case CURLINFO_HEADER_IN:
		if (w->pool->verbose) {
			smtp_sanitise(line, sizeof(line), data, size);
			log_debug("smtp %d < %s", w->id, line);
		}
		if (w->quitting || size < 3 || data[0] < '1' || data[0] > '5' ||
		    data[1] < '0' || data[1] > '9' ||
		    data[2] < '0' || data[2] > '9')
			break;
		code = (data[0] - '0') * 100 + (data[1] - '0') * 10 +
		    (data[2] - '0');
		/* every line of a multi-line reply is kept, joined by " "
		 * (a delay or an enhanced code may sit on any of them); the
		 * code counts from its last line */
		if (!w->inreply) {
			w->reply[0] = '\0';
			w->enh[0] = '\0';
		}
		n = strlen(w->reply);
		if (n > 0 && n + 1 < sizeof(w->reply))
			w->reply[n++] = ' ';
		smtp_sanitise(w->reply + n, sizeof(w->reply) - n, data, size);
		if (w->enh[0] == '\0') {
			smtp_sanitise(line, sizeof(line), data, size);
			smtp_enhanced(line, code, w->enh, sizeof(w->enh));
		}
		w->inreply = size > 3 && data[3] == '-';
		if (w->inreply)
			break;
		w->code = code;
		if (code == 354 && w->phase == SMTP_PHASE_DATA)
			w->phase = SMTP_PHASE_DOT;
		break;
	case CURLINFO_TEXT:
		if (w->pool->verbose) {
			smtp_sanitise(line, sizeof(line), data, size);
			log_debug("smtp %d * %s", w->id, line);
		}
		break;
	default:
		break;
	}
	return 0;
}

#define SETOPT(h, opt, val) do {					\
	if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK)		\
		goto fail;						\
} while (0)

/* A new easy handle with everything that does not change per message. */
static int
smtp_worker_setup(struct smtp_worker *w)
{
	struct smtp_pool	*p = w->pool;
	CURL			*h;

	if ((h = curl_easy_init()) == NULL)
		return -1;
	SETOPT(h, CURLOPT_URL, p->url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TCP_NODELAY, 1L);
	SETOPT(h, CURLOPT_TIMEOUT, p->timeout);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, p->timeout);
	/* also bounds the wait for the reply to QUIT */
	SETOPT(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, p->timeout);
	SETOPT(h, CURLOPT_UPLOAD, 1L);
	SETOPT(h, CURLOPT_READFUNCTION, smtp_worker_read_cb);
	SETOPT(h, CURLOPT_READDATA, w);
	SETOPT(h, CURLOPT_MAIL_RCPT, &w->rcpt);
	SETOPT(h, CURLOPT_ERRORBUFFER, w->errbuf);
	SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, smtp_worker_open_cb);
	SETOPT(h, CURLOPT_OPENSOCKETDATA, w);
	SETOPT(h, CURLOPT_CLOSESOCKETFUNCTION, smtp_worker_close_cb);
	SETOPT(h, CURLOPT_CLOSESOCKETDATA, w);
	/* the debug callback is how we learn which command failed */
	SETOPT(h, CURLOPT_DEBUGFUNCTION, smtp_worker_debug_cb);
	SETOPT(h, CURLOPT_DEBUGDATA, w);
	SETOPT(h, CURLOPT_VERBOSE, 1L);
	switch (p->tls) {
	case SMTP_TLS_NONE:
		SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
		break;
	case SMTP_TLS_STARTTLS:
	case SMTP_TLS_TLS:
		SETOPT(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		break;
	}
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->ca_file != NULL)
		SETOPT(h, CURLOPT_CAINFO, p->ca_file);
	if (p->username != NULL)
		SETOPT(h, CURLOPT_USERNAME, p->username);
	if (p->password != NULL)
		SETOPT(h, CURLOPT_PASSWORD, p->password);
	w->curl = h;
	return 0;

fail:
	curl_easy_cleanup(h);
	return -1;
}

/* The DKIM-Signature header(s), then the message, in w->msg. */
static int
smtp_worker_sign(struct smtp_worker *w, char *err, size_t errlen)
{
	struct buf	tmp;

	buf_reset(&w->signed_msg);
	if (dkim_sign(w->dkim, w->msg.p, w->msg.len, time(NULL),
	    &w->signed_msg, err, errlen) == -1)
		return -1;
	buf_add(&w->signed_msg, w->msg.p, w->msg.len);
	tmp = w->msg;
	w->msg = w->signed_msg;
	w->signed_msg = tmp;
	return 0;
}

static void
smtp_worker_send(struct smtp_worker *w, struct smtp_job *job)
{
	char		 err[sizeof(job->msg) + CURL_ERROR_SIZE];
	CURLcode	 rc;

	buf_reset(&w->msg);
	err[0] = '\0';
	job->enh[0] = '\0';
	/* the token was taken as the job left the queue: what render
	 * checks (halted, unsubscribed) is as fresh as can be */
	if (job->render(job->render_arg, job, &w->msg, err, sizeof(err)) == -1 ||
	    (w->dkim != NULL && smtp_worker_sign(w, err, sizeof(err)) == -1)) {
		job->result = SMTP_RENDER_FAIL;
		smtp_sanitise(job->msg, sizeof(job->msg), err, strlen(err));
		if (job->metered && w->pool->rate != NULL)
			rate_refund(w->pool->rate);
		return;
	}
	if (w->curl == NULL && smtp_worker_setup(w) == -1) {
		job->result = SMTP_RELAY_TEMP;
		snprintf(job->msg, sizeof(job->msg), "cannot set up libcurl");
		return;
	}
	if (smtp_slot_take(w) == -1) {
		job->result = SMTP_CANCELLED;
		snprintf(job->msg, sizeof(job->msg), "not sent: stopped");
		return;
	}

	w->off = 0;
	w->rcpt.data = (char *)job->rcpt;
	w->rcpt.next = NULL;
	w->phase = SMTP_PHASE_CONNECT;
	w->quitting = 0;
	w->code = 0;
	w->inreply = 0;
	w->reply[0] = '\0';
	w->enh[0] = '\0';
	w->errbuf[0] = '\0';
	if (curl_easy_setopt(w->curl, CURLOPT_MAIL_FROM, job->mail_from) !=
	    CURLE_OK || curl_easy_setopt(w->curl, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)w->msg.len) != CURLE_OK) {
		job->result = SMTP_RELAY_TEMP;
		snprintf(job->msg, sizeof(job->msg), "curl_easy_setopt failed");
		smtp_slot_give(w);
		return;
	}
	rc = curl_easy_perform(w->curl);
	/* the session may be gone (a failure closes it): free its slot */
	smtp_slot_give(w);

	job->phase = w->phase;
	if (rc == CURLE_OK) {
		job->result = SMTP_OK;
		job->code = w->code;
		memcpy(job->msg, w->reply, sizeof(job->msg));
		return;
	}
	if (w->code >= 400) {
		job->code = w->code;
		memcpy(job->msg, w->reply, sizeof(job->msg));
		memcpy(job->enh, w->enh, sizeof(job->enh));
	} else {
		job->code = 0;
		snprintf(err, sizeof(err), "%s%s%s", curl_easy_strerror(rc),
		    w->errbuf[0] ? ": " : "", w->errbuf);
		smtp_sanitise(job->msg, sizeof(job->msg), err, strlen(err));
	}
	job->result = smtp_classify(w->phase, job->code, job->enh);
	/* a failure with no reply code before any command: not answered */
	if (job->result == SMTP_OK)
		job->result = SMTP_RELAY_TEMP;
}
