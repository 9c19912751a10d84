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
 * Classification (job->result, smtp_classify()): every outcome is about
 * the recipient, the message, or the relay/session, from the reply code,
 * the RFC 3463 enhanced code and the command it answered.
 *  SMTP_OK             the server answered 250 to the final ".".
 *  SMTP_RCPT_TEMP      a 4xx to RCPT, DATA or the final "."; a 5xx to RCPT
 *                      that is neither about the address nor the relay
 *                      (5.3.x, 5.4.x, 5.5.x: unsure, so retry, never
 *                      bounce); the session lost during DATA or a timeout
 *                      after the final "." (ambiguous).  Defer this
 *                      recipient.
 *  SMTP_RCPT_PERM      a 5xx to RCPT about the address: 5.1.x, 5.2.1,
 *                      5.2.2, or a plain 550/551/553 without an enhanced
 *                      code.  The address bounced (but see the run rule
 *                      in queue.c: many in a row are the relay's).
 *  SMTP_MSG_PERM       a 5xx about this message: 5.6.x, 552 or 5.3.4 (size),
 *                      any other 5xx to DATA or the final "." but 5.7.x.
 *                      Fail this message, do not bounce the address.
 *  SMTP_RELAY_TEMP     the relay or the session, for now: no connection,
 *                      TLS failure, 421 anywhere, a 4xx (or no reply) to
 *                      the greeting, EHLO, STARTTLS, AUTH or MAIL FROM.
 *                      No recipient attempt is spent: wait and retry.
 *  SMTP_RELAY_PERM     the relay refuses everyone: a 5xx to the greeting,
 *                      EHLO, STARTTLS, AUTH or MAIL FROM, or a 5.7.x
 *                      anywhere (relaying denied, authentication required,
 *                      policy).  Pause until a person fixes it.
 *  SMTP_RENDER_FAIL    render() returned -1; nothing was sent.
 *  SMTP_CANCELLED      never attempted (pool shut down while the job was
 *                      queued, or its broadcast halted): not an attempt,
 *                      put it back to pending.
 * job->code is the server's reply code (0 when none, e.g. connection
 * failure), job->enh its enhanced status code ("" when none), job->phase
 * the command it answered, job->msg the reply text or the libcurl /
 * render error, printable ASCII only, truncated.
 *
 * Rate and sessions: a job with `metered` set leaves the queue only with
 * a token from conf->rate (if any), taken by whichever thread is free for
 * the job at the head, so jobs keep their order and a queued job never
 * carries a token taken long before it is sent.  conf->slots (if any) caps the sessions open at once
 * across every pool sharing it: after a reload, the new pool's threads
 * open sessions only as the old pool's close theirs.
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

struct buf;
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
};

enum smtp_result {
	SMTP_OK,
	SMTP_RCPT_TEMP,
	SMTP_RCPT_PERM,
	SMTP_MSG_PERM,
	SMTP_RELAY_TEMP,
	SMTP_RELAY_PERM,
	SMTP_RENDER_FAIL,
	SMTP_CANCELLED,
};

enum smtp_phase {
	SMTP_PHASE_CONNECT,	/* TCP, TLS, greeting */
	SMTP_PHASE_EHLO,
	SMTP_PHASE_STARTTLS,
	SMTP_PHASE_AUTH,
	SMTP_PHASE_MAIL,
	SMTP_PHASE_RCPT,
	SMTP_PHASE_DATA,	/* DATA command, until 354 */
	SMTP_PHASE_DOT,		/* message body and the final "." */
	SMTP_PHASE_NONE,	/* not attempted (render failure, cancelled) */
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
	char		 msg[256];
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

/* Sessions allowed open at once, shared by the pools given it. */
struct smtp_slots	*smtp_slots_new(int max);
void			 smtp_slots_set(struct smtp_slots *, int max);
void			 smtp_slots_free(struct smtp_slots *);

/*
 * The enhanced status code at the start of reply text "550 5.7.1 ...",
 * if its class matches the reply code's first digit: "5.7.1" in out.
 * 0 if found, -1 (out "") if not.
 */
int	smtp_enhanced(const char *reply, int code, char *out, size_t outlen);
/* Whom an answer is about (see above); code 0: no reply at all. */
enum smtp_result smtp_classify(enum smtp_phase, int code, const char *enh);

const char	*smtp_strresult(enum smtp_result);
const char	*smtp_strphase(enum smtp_phase);

#endif
