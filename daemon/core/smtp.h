/*
 * smtp.h -- SMTP sender thread pool (libcurl, one reused easy handle per
 * thread).
 *
 * libcurl's SMTP code blocks waiting for the reply to the final "." inside
 * curl_easy_perform, so it never runs on the libevent main loop.  A pool
 * of conf->connections threads each owns one curl easy handle and keeps
 * one SMTP session open across messages.  The main loop hands jobs over a
 * bounded queue; a thread renders the message with the job's render
 * callback, sends it, and posts the job back; the main loop is woken by
 * one event, and calls done() for every finished job in one go.
 *
 * Threading contract:
 *  - smtp_pool_new/submit/space/busy/shutdown/free are called on the main
 *    thread (the one running the event_base loop), never from a render
 *    callback.
 *  - done() and batch() run on the main thread, from the event loop (or
 *    from smtp_pool_free).  They may call smtp_pool_submit().
 *  - render() runs on a sender thread, concurrently with other render()
 *    calls: it must only read shared data (compiled templates) and write
 *    to `out` and `err`.  It must not touch the store.
 *  - Between submit and done(), the job belongs to the pool: the caller
 *    must not touch it, and mail_from, rcpt and render_arg must stay
 *    valid.  The pool never frees a job.
 *
 * Classification: job->result, job->code, job->enh and job->phase, as
 * smtp_reply.h says.
 *
 * Rate and sessions: a job with `metered` set leaves the queue only with
 * a token from conf->rate (if any), taken by whichever thread is free for
 * the job at the head, so jobs keep their order and a queued job never
 * carries a token taken long before it is sent.  conf->slots (if any) caps the sessions open at once
 * across every pool sharing it: after a reload, the new pool's threads
 * open sessions only as the old pool's close theirs.
 *
 * DKIM: with conf->dkim, each thread has its own signer (dkim.h) and puts
 * the DKIM-Signature header(s) before what render() made; a message that
 * cannot be signed comes back as SMTP_RENDER_FAIL, unsent.  A new pool
 * (a reload) signs with the keys it was given; the old one keeps its own.
 *
 * Sessions: a failed message makes libcurl close that thread's session;
 * the next message opens a new one.  A session idle for conf->idle
 * (default SMTP_IDLE_CLOSE) seconds is closed with QUIT.
 */
#ifndef BROADSIDE_SMTP_H
#define BROADSIDE_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "broadside.h"		/* enum smtp_tls */
#include "smtp_reply.h"

struct buf;
struct dkim;
struct event_base;
struct rate;
struct smtp_slots;

#define SMTP_IDLE_CLOSE	30	/* seconds before an idle session is closed */

struct smtp_conf {
	const char	*url;		/* smtp://host:port or smtps://host:port */
	enum smtp_tls	 tls;		/* none, starttls, tls (smtps) */
	const char	*ca_file;	/* NULL: system store */
	const char	*username;	/* NULL: no AUTH */
	const char	*password;	/* never logged */
	int		 connections;	/* threads = max sessions, >= 1 */
	int		 timeout;	/* seconds per message, >= 1 */
	const char	*helo_name;	/* EHLO name, NULL: the host name */
	int		 verbose;	/* log_debug the dialogue (no AUTH) */
	int		 idle;		/* seconds before an idle session is
					   closed; 0: SMTP_IDLE_CLOSE */
	struct rate	*rate;		/* taken per metered job; NULL: none */
	struct smtp_slots *slots;	/* session cap shared by pools; NULL:
					   connections per pool */
	struct dkim	*dkim;		/* sign what render() made; NULL: not.
					   The pool holds a reference until
					   its threads have ended */
};

struct smtp_job;

/* 0 on success; -1 with err filled.  Appends the whole message (CRLF). */
typedef int smtp_render_fn(void *arg, struct smtp_job *, struct buf *out,
    char *err, size_t errlen);

struct smtp_job {
	/* filled by the caller */
	uint64_t	 id;
	const char	*mail_from;	/* envelope sender, "" for <> */
	const char	*rcpt;		/* one envelope recipient */
	smtp_render_fn	*render;
	void		*render_arg;
	void		*udata;
	int		 metered;	/* takes a token from conf->rate */
	_Atomic int	*halted;	/* if set when it starts: cancelled */

	/* filled by the pool before done() */
	enum smtp_result result;
	enum smtp_phase	 phase;
	int		 code;
	char		 enh[12];	/* "5.7.1", or "" */
	char		 msg[512];	/* every line of the reply */
	int		 recalled;	/* SMTP_CANCELLED by smtp_pool_recall */
};

struct smtp_pool;

/*
 * Starts conf->connections threads (sessions open lazily, on the first
 * message).  conf strings are copied.  done(job, arg) runs once per job;
 * batch(arg), if not NULL, runs after each group of done() calls (one
 * wake-up), e.g. to commit the store once per group.  NULL and err filled
 * on a bad conf or failure to start.
 */
struct smtp_pool	*smtp_pool_new(struct event_base *,
			    const struct smtp_conf *,
			    void (*done)(struct smtp_job *, void *),
			    void (*batch)(void *), void *arg,
			    char *err, size_t errlen);

/* Queue a job: 0, or -1 when the pool is full or shutting down. */
int	smtp_pool_submit(struct smtp_pool *, struct smtp_job *);

/* How many more jobs smtp_pool_submit() accepts now. */
int	smtp_pool_space(struct smtp_pool *);

/* Every thread has ended and every job been reported: free at once. */
int	smtp_pool_reapable(struct smtp_pool *);

/* Jobs submitted whose done() has not run yet (queued, sending, posted). */
int	smtp_pool_busy(struct smtp_pool *);

/* SMTP sessions open now, and opened since the start (for /metrics). */
int		smtp_pool_sessions(struct smtp_pool *);
uint64_t	smtp_pool_connects(struct smtp_pool *);

/*
 * Stop taking jobs: queued jobs come back through done() as
 * SMTP_CANCELLED (from the loop), in-flight ones finish (each bounded by
 * conf->timeout) and come back as usual.  Keep the loop running until
 * smtp_pool_busy() is 0, then smtp_pool_free().
 */
void	smtp_pool_shutdown(struct smtp_pool *);

/*
 * Shut down if not already done, wait for in-flight jobs (bounded by
 * conf->timeout), call done() for every job not yet reported (here, on
 * the calling thread), close the sessions (QUIT), join the threads.
 */
void	smtp_pool_free(struct smtp_pool *);

/*
 * Give back the jobs queued and not yet begun (their relay went out, so
 * they go to another): each comes back through done() as SMTP_CANCELLED
 * with recalled set, from the loop.  The pool goes on taking jobs.
 */
void	smtp_pool_recall(struct smtp_pool *);

/* Sessions allowed open at once, shared by the pools given it. */
struct smtp_slots	*smtp_slots_new(int max);
void			 smtp_slots_set(struct smtp_slots *, int max);
void			 smtp_slots_free(struct smtp_slots *);

#endif
