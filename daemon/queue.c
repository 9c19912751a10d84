/*
 * queue.c -- the delivery engine, main-loop side.
 *
 * Broadcasts go out one at a time, in order.  The running one ("run")
 * claims recipients from the store in batches of rate.batch_size behind a
 * cursor, takes a token from the rate bucket for each, and hands them to
 * the SMTP sender pool (smtp.c), whose threads render and send.  Results
 * come back on the main loop; every group of results is written to the
 * store in one transaction before the counts that status reports move, so
 * nothing is reported sent before its 250 is recorded.
 *
 * Nothing is marked in the store when claimed: after a crash, whatever
 * was claimed but not recorded is still pending and goes out again, so
 * duplicates are limited to what was in flight.  Retries (4xx, broken
 * connections) are deferred with a due time; when the cursor reaches the
 * end, the run waits for its in-flight jobs, then starts again from the
 * beginning for what is due, sleeping on one timer until the next due
 * time (as OpenSMTPD's runq does).
 */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "addr.h"
#include "broadside.h"
#include "buf.h"
#include "mime.h"
#include "rate.h"
#include "render.h"
#include "smtp.h"
#include "statement.h"
#include "store.h"
#include "token.h"

#define QUEUE_RATE_WINDOW	5	/* seconds averaged for "rate" */
#define QUEUE_STATEMENT_MAX	(1024 * 1024)
#define QUEUE_STOPPED_MAX	4096	/* recently suppressed subscribers */
#define QUEUE_COUNTS_EVERY	0.5	/* seconds between count rows while
					   results stream in */
#define QUEUE_SNAP_SLICE	20000	/* recipients taken per transaction, at
					   most (slice_adapt: about
					   SLICE_TARGET of loop time each) */
#define QUEUE_SNAP_SLICE_MIN	1000
#define QUEUE_RUN_MIN		5	/* refusals in a row (2+ domains) that
					   are the relay's, not the recipients' */
#define QUEUE_RUN_KEEP		1000	/* refusals of one run kept, to undo */
#define QUEUE_MSG_FAULTS	5	/* message faults in a row: pause */
#define QUEUE_RELAY_WAIT_MAX	30	/* seconds: global backoff cap */
#define QUEUE_STORE_RETRY	0.25	/* seconds between tries of a store
					   that refused a group of results */

enum qjob_kind {
	QJOB_BROADCAST,
	QJOB_TEST,
	QJOB_CONFIRM,
};

struct qrun;
struct qtest;

struct qjob {
	struct smtp_job		 sj;
	enum qjob_kind		 kind;
	struct qrun		*run;
	struct qtest		*test;
	int64_t			 sid;
	int			 attempts;	/* before this one */
	char			*email;
	char			*name;
	char			*fields;	/* JSON object text */
	char			*from;		/* envelope sender (a reload
						   may free the config's) */
	struct buf		 prebuilt;	/* confirm mails: built on the
						   main loop */
	struct render		*render;
	int			 skipped;	/* run halted before it began */
	TAILQ_ENTRY(qjob)	 entry;
};
TAILQ_HEAD(qjob_list, qjob);

struct qrun {
	int64_t			 id;
	enum bc_state		 state;
	struct render		*render;
	struct statement	 st;
	int			 st_ok;
	int64_t			 cursor;	/* last subscriber id claimed */
	struct qjob_list	 ready;		/* claimed, not yet submitted */
	int			 nready;
	int			 inflight;
	int64_t			 total;
	int64_t			 counts[4];	/* committed: pending unused */
	int			 refs;		/* results and refusals not yet
						   done with it: keep it */
	atomic_int		 halted;	/* paused or cancelled: senders
						   skip what they have not begun */
	TAILQ_ENTRY(qrun)	 entry;
};
TAILQ_HEAD(qrun_list, qrun);

/* A `send --test`: the request waits until every address is done. */
struct qtest {
	struct evhttp_request	*req;
	struct render		*render;
	struct statement	 st;
	int			 left;
	json_t			*results;
};

struct qresult {
	int64_t		 bid, sid;
	enum dlv_state	 state;		/* new state, or -1: drop */
	int		 attempts;
	int64_t		 next_at;
	int		 code;
	int		 bounce;	/* 1: bounced by bid; -1: undo that */
	int		 dropped;	/* rows dropped, applied on commit */
	char		 msg[256];
	struct qrun	*run;
	int		 from;		/* old state */
};

/*
 * A run of RCPT refusals with the same reply code and enhanced code, in
 * the order results come back.  Each was recorded as the recipient's
 * (bounced or deferred); once QUEUE_RUN_MIN of them span two domains the
 * run is the relay's, every one is undone, and refusals with that answer
 * are relay faults until another answer breaks the run.
 */
struct qrefusal {
	struct qrun	*run;
	int64_t		 sid;
	int		 from;		/* state before, and recorded */
	int		 to;
	int		 attempts;	/* before */
	int		 bounced;
};

struct qpool {
	struct smtp_pool	*pool;
	TAILQ_ENTRY(qpool)	 entry;
};
TAILQ_HEAD(qpool_list, qpool);

static struct {
	struct qpool		*cur;		/* pool taking new jobs */
	struct qpool_list	 draining;	/* old pools after a reload */
	struct qrun_list	 runs;		/* current first, then retired */
	struct qrun		*current;
	struct qjob_list	 urgent;	/* test and confirm jobs */
	struct event		*timer;
	struct token_key	*tkey;

	struct rate		 rate;		/* taken by sender threads */
	struct smtp_slots	*slots;		/* sessions, across pools */

	/* relay/session faults: the whole delivery backs off */
	double			 relay_until;	/* now_mono() before which no
						   broadcast job is handed out */
	double			 relay_backoff;	/* seconds, 0: relay is fine */
	char			 relay_reason[320];
	char			 store_reason[560];	/* store_failing */
	double			 store_retry_at;	/* next try, now_mono() */

	/* the current run of identical RCPT refusals */
	int			 rr_code;
	char			 rr_enh[12];
	int			 rr_relay;	/* recognised as the relay's */
	int			 rr_domains;	/* 2: more than one seen */
	char			 rr_domain[256];	/* the first one's */
	struct qrefusal		*rr;
	size_t			 nrr;
	int			 rr_total;	/* including those not kept */
	int			 msg_faults;	/* message faults in a row */

	struct qresult		*results;
	size_t			 nresults, cresults;

	uint64_t		 window[QUEUE_RATE_WINDOW];
	int64_t			 window_sec;

	uint64_t		 total_sent, total_deferred, total_failed;
	char			*smtp_sig;	/* the settings cur was made with */
	int			 shutting_down;
	int			 store_failing;	/* last flush failed */
	int			 counts_dirty;	/* rows behind run->counts */
	double			 counts_at;	/* when they were last written */
	struct event		*counts_timer;	/* catches up dirty rows */
	struct event		*snap_timer;	/* takes recipients in slices */
	int64_t			 snap_id;	/* broadcast they go to, 0: find */
	size_t			 snap_slice;	/* recipients per slice now */
	unsigned int		 seed;
	void			(*drained)(void *);	/* after shutdown */
	void			*drained_arg;
} q;

/* Suppressed subscribers, checked by sender threads before sending. */
static pthread_mutex_t	 stopped_mtx = PTHREAD_MUTEX_INITIALIZER;
static int64_t		 stopped[QUEUE_STOPPED_MAX];
static size_t		 nstopped;

static void	queue_pump(void);
static void	queue_done_cb(struct smtp_job *, void *);
static void	queue_batch_cb(void *);
static void	qjob_free(struct qjob *);

static int
queue_is_stopped(int64_t sid)
{
	size_t	i;
	int	found = 0;

	pthread_mutex_lock(&stopped_mtx);
	for (i = 0; i < nstopped && !found; i++)
		found = stopped[i] == sid;
	pthread_mutex_unlock(&stopped_mtx);
	return found;
}

void
queue_subscriber_stop(int64_t sid)
{
	struct qrun	*run;
	struct qjob	*j, *tmp;

	pthread_mutex_lock(&stopped_mtx);
	if (nstopped == QUEUE_STOPPED_MAX) {
		memmove(stopped, stopped + 1, (QUEUE_STOPPED_MAX - 1) *
		    sizeof(stopped[0]));
		nstopped--;
	}
	stopped[nstopped++] = sid;
	pthread_mutex_unlock(&stopped_mtx);

	/* claimed but not handed to a sender: forget them */
	TAILQ_FOREACH(run, &q.runs, entry)
		for (j = TAILQ_FIRST(&run->ready); j != NULL; j = tmp) {
			tmp = TAILQ_NEXT(j, entry);
			if (j->sid != sid)
				continue;
			TAILQ_REMOVE(&run->ready, j, entry);
			run->nready--;
			qjob_free(j);
		}
}

/* Parse a statement and compile its templates: one per broadcast. */
static struct render *
queue_render_new(int64_t id, const char *source, int markdown,
    const char *subject, time_t date, struct statement *st, int *st_ok,
    char *err, size_t errlen)
{
	struct render_params	 p;
	struct render		*r;

	memset(st, 0, sizeof(*st));
	if (statement_parse(source, strlen(source), markdown, st, err, errlen)
	    == -1)
		return NULL;
	*st_ok = 1;
	memset(&p, 0, sizeof(p));
	config_site(env->conf, &p.site);
	p.st = st;
	p.broadcast_id = (uint64_t)id;
	p.subject = subject != NULL && *subject != '\0' ? subject : NULL;
	p.key = env->key;
	p.keylen = (size_t)env->keylen;
	p.date = date;
	if ((r = render_new(&p, err, errlen)) == NULL) {
		statement_free(st);
		*st_ok = 0;
	}
	return r;
}

/*
 * Sender thread: render one personalised message.  Reads only the job
 * and the shared, read-only render.
 */
static int
queue_render_cb(void *arg, struct smtp_job *sj, struct buf *out, char *err,
    size_t errlen)
{
	struct qjob		*j = arg;
	struct render_rcpt	 r;
	json_t			*fields = NULL, *v;
	const char		**names = NULL, **values = NULL, *k;
	size_t			 n = 0;
	int			 ret;

	(void)sj;
	if (j->kind == QJOB_BROADCAST && atomic_load(&j->run->halted)) {
		j->skipped = 1;
		snprintf(err, errlen, "broadcast paused or cancelled");
		return -1;
	}
	if (j->kind == QJOB_BROADCAST && queue_is_stopped(j->sid)) {
		snprintf(err, errlen, "suppressed: unsubscribed");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.id = (uint64_t)j->sid;
	r.email = j->email;
	r.name = j->name;
	if (j->fields != NULL && strcmp(j->fields, "{}") != 0 &&
	    (fields = json_loads(j->fields, 0, NULL)) != NULL &&
	    json_is_object(fields) && json_object_size(fields) > 0) {
		names = xcalloc(json_object_size(fields), sizeof(*names));
		values = xcalloc(json_object_size(fields), sizeof(*values));
		json_object_foreach(fields, k, v) {
			if (!json_is_string(v))
				continue;
			names[n] = k;
			values[n] = json_string_value(v);
			n++;
		}
	}
	r.field_names = names;
	r.field_values = values;
	r.nfields = n;
	ret = render_message(j->render, &r, out, err, errlen);
	free(names);
	free(values);
	json_decref(fields);
	return ret;
}

/*
 * The double opt-in mail, from the confirm templates.  Built on the main
 * loop (it reads the config, which a reload may replace), sent as is.
 */
static int
queue_build_confirm(struct qjob *j, struct buf *out, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct mus_pair		 vars[4];
	struct mime_msg		 m;
	struct buf		 text = BUF_INIT, html = BUF_INIT;
	char			 tok[TOKEN_SIZE], *confirm = NULL, *unsub = NULL;
	char			 subject[512], mid[128];
	int			 ret = -1;

	config_site(env->conf, &site);
	if (token_key_make(q.tkey, "confirm", (uint64_t)j->sid, tok,
	    sizeof(tok)) == -1)
		goto end;
	xasprintf(&confirm, "%s/confirm?t=%s", site.base_url, tok);
	if (token_key_make(q.tkey, "unsubscribe", (uint64_t)j->sid, tok,
	    sizeof(tok)) == -1)
		goto end;
	xasprintf(&unsub, "%s/unsubscribe?t=%s", site.base_url, tok);
	vars[0].key = "email";
	vars[0].val = mus_str(j->email, strlen(j->email));
	vars[1].key = "name";
	vars[1].val = mus_str(j->name, strlen(j->name));
	vars[2].key = "confirm_url";
	vars[2].val = mus_str(confirm, strlen(confirm));
	vars[3].key = "unsubscribe_url";
	vars[3].val = mus_str(unsub, strlen(unsub));
	if (render_page(&site, "confirm.txt", vars, 4, &text, err, errlen)
	    == -1 || render_page(&site, "confirm.html", vars, 4, &html, err,
	    errlen) == -1)
		goto end;
	snprintf(subject, sizeof(subject), "Confirm your subscription to %s",
	    site.list_name);
	snprintf(mid, sizeof(mid), "confirm.%" PRId64 ".%ld@%s", j->sid,
	    (long)time(NULL), site.list_id);
	memset(&m, 0, sizeof(m));
	m.from_name = site.from_name;
	m.from_addr = site.from_addr;
	m.reply_to = site.reply_to;
	m.subject = subject;
	m.list_id = site.list_id;
	m.boundary = "=_bs.confirm";
	/* not confirmed yet: the bare address only, so nobody can put text
	 * of their choosing into a mail from the list's domain */
	m.to_name = "";
	m.to_addr = j->email;
	m.date = time(NULL);
	m.message_id = mid;
	m.list_unsubscribe_url = unsub;
	m.text = text.p ? text.p : "";
	m.textlen = text.len;
	m.html = html.p ? html.p : "";
	m.htmllen = html.len;
	ret = mime_message(out, &m, err, errlen);
end:
	free(confirm);
	free(unsub);
	buf_free(&text);
	buf_free(&html);
	return ret;
}

/* Sender thread: hand over the prebuilt confirmation mail. */
static int
queue_render_confirm_cb(void *arg, struct smtp_job *sj, struct buf *out,
    char *err, size_t errlen)
{
	struct qjob	*j = arg;

	(void)sj;
	(void)err;
	(void)errlen;
	buf_add(out, j->prebuilt.p, j->prebuilt.len);
	return 0;
}

static void
qjob_free(struct qjob *j)
{
	free(j->email);
	free(j->name);
	free(j->fields);
	free(j->from);
	buf_free(&j->prebuilt);
	free(j);
}

static struct qjob *
qjob_new(enum qjob_kind kind, int64_t sid, const char *email,
    const char *name, const char *fields)
{
	struct qjob	*j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->sid = sid;
	j->email = xstrdup(email);
	j->name = xstrdup(name ? name : "");
	j->fields = fields ? xstrdup(fields) : NULL;
	j->from = xstrdup(env->conf->list_from_addr);
	j->sj.mail_from = j->from;
	j->sj.rcpt = j->email;
	j->sj.render = kind == QJOB_CONFIRM ? queue_render_confirm_cb :
	    queue_render_cb;
	j->sj.render_arg = j;
	j->sj.udata = j;
	return j;
}

static void
queue_window_add(void)
{
	int64_t	sec = (int64_t)now_mono();
	int64_t	i;

	if (sec != q.window_sec) {
		for (i = q.window_sec + 1; i <= sec && i <= q.window_sec +
		    QUEUE_RATE_WINDOW; i++)
			q.window[i % QUEUE_RATE_WINDOW] = 0;
		q.window_sec = sec;
	}
	q.window[sec % QUEUE_RATE_WINDOW]++;
}

double
queue_rate(int64_t bid)
{
	int64_t		sec = (int64_t)now_mono();
	uint64_t	sum = 0;
	int64_t		i;

	if (q.current == NULL || q.current->id != bid)
		return 0.0;
	/* whole seconds before the current one */
	for (i = sec - QUEUE_RATE_WINDOW + 1; i < sec; i++)
		if (i > q.window_sec - QUEUE_RATE_WINDOW && i <= q.window_sec)
			sum += q.window[i % QUEUE_RATE_WINDOW];
	return (double)sum / (QUEUE_RATE_WINDOW - 1);
}

const char *
queue_waiting(int64_t bid)
{
	struct qrun	*run = q.current;

	if (run == NULL || run->id != bid || run->state != BC_SENDING)
		return NULL;
	if (q.store_failing)
		return q.store_reason;
	if (q.relay_backoff > 0)
		return q.relay_reason;
	return NULL;
}

static void
queue_timer_at(double secs)
{
	struct timeval	tv;

	if (secs < 0)
		secs = 0;
	if (secs > 86400)
		secs = 86400;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(q.timer, &tv);
}

static void
queue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	queue_pump();
}

void
queue_kick(void)
{
	if (q.timer != NULL && !q.shutting_down)
		queue_timer_at(0);
}

/* STATUS= for systemd, at most once a second while sending. */
static void
queue_notify_progress(void)
{
	static double	 last;
	struct qrun	*run = q.current;

	if (run == NULL || now_mono() - last < 1.0)
		return;
	last = now_mono();
	if (queue_waiting(run->id) != NULL) {
		notify_status("broadcast %" PRId64 ": %s", run->id,
		    queue_waiting(run->id));
		return;
	}
	notify_status("broadcast %" PRId64 ": sent %" PRId64 " of %" PRId64
	    ", deferred %" PRId64 ", failed %" PRId64 ", %.1f msg/s", run->id,
	    run->counts[DLV_SENT], run->total, run->counts[DLV_DEFERRED],
	    run->counts[DLV_FAILED], queue_rate(run->id));
}

/*
 * Write every buffered result in one transaction.  The broadcasts' count
 * rows (what status reads) are a summary of the delivery rows, rebuilt
 * from them at start-up; a lazy flush (the one per group of results)
 * rewrites them at most every QUEUE_COUNTS_EVERY seconds, any other
 * flush (each claim, pause, cancel, the end of a run, exit) always, and
 * a timer catches up rows left behind.  They never run ahead of what is
 * committed.  At 1 connection every message is its own commit, and the
 * count row was one more page in each.
 */
static void
queue_record(int lazy)
{
	struct qresult	*r;
	struct qrun	*run;
	char		 err[512];
	size_t		 i;
	int		 dropped, counts;

	counts = !lazy || now_mono() - q.counts_at >= QUEUE_COUNTS_EVERY;
	if (q.nresults == 0 && !(counts && q.counts_dirty))
		return;
	/*
	 * Failing (another process holds the lock, the disk is full): try
	 * again only when the retry is due, not with every group of results
	 * or request, since each try may wait STORE_BUSY_MS on the loop.
	 */
	if (q.store_failing && now_mono() + 0.005 < q.store_retry_at) {
		queue_timer_at(q.store_retry_at - now_mono());
		return;
	}
	if (store_begin(env->store, err, sizeof(err)) == -1)
		goto fail;
	for (i = 0; i < q.nresults; i++) {
		r = &q.results[i];
		if ((int)r->state == -1) {
			if ((dropped = store_dlv_drop(env->store, r->bid,
			    r->sid, err, sizeof(err))) == -1)
				goto fail;
			/* applied once committed: a failed commit is retried */
			r->dropped = dropped;
			continue;
		}
		if (store_dlv_update(env->store, r->bid, r->sid, r->state,
		    r->attempts, r->next_at, r->code, r->msg, err,
		    sizeof(err)) == -1)
			goto fail;
		if (r->bounce != 0 && store_sub_bounce(env->store, r->sid,
		    r->bid, r->bounce < 0, NULL, err, sizeof(err)) == -1)
			goto fail;
	}
	/* counts move only with what is about to be committed */
	for (i = 0; i < q.nresults; i++) {
		r = &q.results[i];
		if (r->from != DLV_PENDING)
			r->run->counts[r->from]--;
		if ((int)r->state != -1 && r->state != DLV_PENDING)
			r->run->counts[r->state]++;
	}
	if (counts)
		TAILQ_FOREACH(run, &q.runs, entry)
			if (store_bc_set_counts(env->store, run->id,
			    run->counts, err, sizeof(err)) == -1)
				goto fail_counts;
	if (store_commit(env->store, err, sizeof(err)) == -1)
		goto fail_counts;
	for (i = 0; i < q.nresults; i++) {
		r = &q.results[i];
		r->run->total -= r->dropped;
		r->run->refs--;
	}
	if (counts) {
		q.counts_dirty = 0;
		q.counts_at = now_mono();
	} else if (q.nresults > 0 && !q.counts_dirty) {
		struct timeval	tv = { 0, QUEUE_COUNTS_EVERY * 1000000 };

		q.counts_dirty = 1;
		evtimer_add(q.counts_timer, &tv);
	}
	q.nresults = 0;
	if (q.store_failing)
		log_info("store: takes writes again");
	q.store_failing = 0;
	queue_notify_progress();
	return;
fail_counts:
	/* undo the count moves: nothing was recorded */
	for (i = 0; i < q.nresults; i++) {
		r = &q.results[i];
		if ((int)r->state != -1 && r->state != DLV_PENDING)
			r->run->counts[r->state]--;
		if (r->from != DLV_PENDING)
			r->run->counts[r->from]++;
	}
fail:
	store_rollback(env->store);
	/*
	 * Keep the results and try again on the next batch or timer: the
	 * messages were sent, and recording that is what matters.  Stop
	 * sending new ones until the store takes writes again.
	 */
	if (!q.store_failing)
		log_warnx("store: cannot record %zu results, will retry: %s",
		    q.nresults, err);
	snprintf(q.store_reason, sizeof(q.store_reason), "waiting for store: "
	    "%s", err);
	q.store_failing = 1;
	/* a lock held by another process is usually brief */
	q.store_retry_at = now_mono() + QUEUE_STORE_RETRY;
	queue_timer_at(QUEUE_STORE_RETRY);
}

static void
queue_flush(void)
{
	queue_record(0);
}

static void
queue_counts_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	queue_flush();
}

/* from and state: the delivery's state before and after (-1: drop). */
static void
queue_result_add(struct qrun *run, int64_t sid, int from, int state,
    int attempts, int64_t next_at, int code, int bounce, const char *msg)
{
	struct qresult	*r;

	if (q.nresults == q.cresults) {
		q.cresults = q.cresults ? q.cresults * 2 : 64;
		q.results = xrealloc(q.results, q.cresults * sizeof(*r));
	}
	r = &q.results[q.nresults++];
	r->bid = run->id;
	r->sid = sid;
	r->state = (enum dlv_state)state;
	r->attempts = attempts;
	r->next_at = next_at;
	r->code = code;
	r->bounce = bounce;
	r->dropped = 0;
	r->run = run;
	run->refs++;
	r->from = from;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
}

/* Exponential backoff with +-20 % jitter, in seconds. */
static int64_t
queue_backoff(int attempts)
{
	double	d = env->conf->retry_initial_delay;
	int	i;

	for (i = 1; i < attempts && d < env->conf->retry_max_delay; i++)
		d *= 2;
	if (d > env->conf->retry_max_delay)
		d = env->conf->retry_max_delay;
	d *= 0.8 + 0.4 * ((double)rand_r(&q.seed) / RAND_MAX);
	return (int64_t)ceil(d);
}

/* The client went away: answer nobody when the tests finish. */
static void
queue_test_closed_cb(struct evhttp_connection *conn, void *arg)
{
	struct qtest	*t = arg;

	(void)conn;
	t->req = NULL;
}

static void
queue_test_done(struct qjob *j)
{
	struct qtest	*t = j->test;

	json_array_append_new(t->results, json_pack("{s:s,s:s,s:i,s:s}",
	    "email", j->email, "result", smtp_strresult(j->sj.result),
	    "code", j->sj.code, "message", j->sj.msg));
	log_info("test %s: %s code=%d %s", j->email,
	    smtp_strresult(j->sj.result), j->sj.code, j->sj.msg);
	if (--t->left > 0)
		return;
	if (t->req != NULL) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    t->req), NULL, NULL);
		control_reply(t->req, 200, json_pack("{s:O}", "results",
		    t->results));
	}
	json_decref(t->results);
	render_free(t->render);
	statement_free(&t->st);
	free(t);
}

static void	queue_retire(struct qrun *);
static void	qrun_drop_ready(struct qrun *);

/*
 * A run paused or cancelled (its state already in the store): senders
 * skip its jobs they have not begun, and it stops being the current one.
 * It may be freed here.
 */
static void
qrun_halt(struct qrun *run, enum bc_state to)
{
	run->state = to;
	atomic_store(&run->halted, 1);
	qrun_drop_ready(run);
	if (q.current == run)
		queue_retire(run);
}

/* A job that did not happen, for a reason outside the recipient: again. */
static void
queue_release(struct qrun *run, struct qjob *j)
{
	if (run->state != BC_SENDING) {
		qjob_free(j);	/* still pending in the store */
		return;
	}
	TAILQ_INSERT_HEAD(&run->ready, j, entry);
	run->nready++;
}

/*
 * The relay or the session failed: about nobody on the list.  A permanent
 * fault pauses the broadcast with the server's answer; a temporary one
 * holds every broadcast job back, 1 s doubling to 30 s (+-20 %), so
 * delivery resumes within about 30 s of the relay's return.
 */
static void
queue_relay_fault(struct qrun *run, int perm, const char *what)
{
	char	reason[320], err[512];
	double	now = now_mono(), wait;

	if (perm) {
		if (run->state != BC_SENDING)
			return;
		snprintf(reason, sizeof(reason), "relay refused: %s", what);
		log_warnx("broadcast %" PRId64 ": paused: %s", run->id, reason);
		notify_status("broadcast %" PRId64 " paused: %s", run->id,
		    reason);
		queue_flush();
		if (store_bc_set_state(env->store, run->id, BC_PAUSED, reason,
		    err, sizeof(err)) == -1)
			log_warnx("broadcast %" PRId64 ": %s", run->id, err);
		qrun_halt(run, BC_PAUSED);
		return;
	}
	if (now < q.relay_until)
		return;		/* one of those in flight when it began */
	q.relay_backoff = q.relay_backoff > 0 ? q.relay_backoff * 2 : 1;
	if (q.relay_backoff > QUEUE_RELAY_WAIT_MAX)
		q.relay_backoff = QUEUE_RELAY_WAIT_MAX;
	wait = q.relay_backoff * (0.8 + 0.4 * ((double)rand_r(&q.seed) /
	    RAND_MAX));
	q.relay_until = now + wait;
	snprintf(q.relay_reason, sizeof(q.relay_reason), "waiting for relay: "
	    "%s", what);
	log_warnx("broadcast %" PRId64 ": %s; next try in %.1f s", run->id,
	    q.relay_reason, wait);
	notify_status("broadcast %" PRId64 ": %s", run->id, q.relay_reason);
	queue_timer_at(wait);
}

static void
queue_relay_ok(void)
{
	if (q.relay_backoff == 0)
		return;
	log_info("relay answers again; delivery resumes");
	q.relay_backoff = 0;
	q.relay_until = 0;
	q.relay_reason[0] = '\0';
}

/* Forget the run of refusals (another answer came between). */
static void
queue_refusals_reset(void)
{
	size_t	i;

	for (i = 0; i < q.nrr; i++)
		q.rr[i].run->refs--;
	q.nrr = 0;
	q.rr_total = 0;
	q.rr_relay = 0;
	q.rr_domains = 0;
	q.rr_code = 0;
	q.rr_enh[0] = '\0';
}

static const char *
queue_domain(const char *email)
{
	const char	*at = strrchr(email, '@');

	return at ? at + 1 : email;
}

/*
 * A refusal to RCPT, before it is recorded: 1 if it continues a run
 * already found to be the relay's (then it is a relay fault), else 0.
 */
static int
queue_refusal_is_relay(struct smtp_job *sj)
{
	if (q.rr_total > 0 && (sj->code != q.rr_code ||
	    strcmp(sj->enh, q.rr_enh) != 0))
		queue_refusals_reset();
	if (q.rr_relay)
		q.rr_total++;
	return q.rr_relay;
}

/*
 * A refusal to RCPT, just recorded as the recipient's (from -> to).  Is
 * it the one that shows the run is the relay's?  Then undo every one of
 * the run, this one too, and return 1: a relay fault.
 */
static int
queue_refusal(struct qrun *run, struct qjob *j, struct smtp_job *sj,
    int from, int to, int bounced)
{
	struct qrefusal	*f;
	size_t		 i;

	if (q.rr_total == 0) {
		q.rr_code = sj->code;
		snprintf(q.rr_enh, sizeof(q.rr_enh), "%s", sj->enh);
		snprintf(q.rr_domain, sizeof(q.rr_domain), "%s",
		    queue_domain(j->email));
	} else if (strcasecmp(q.rr_domain, queue_domain(j->email)) != 0)
		q.rr_domains = 2;
	q.rr_total++;
	if (q.nrr < QUEUE_RUN_KEEP) {
		if (q.rr == NULL)
			q.rr = xcalloc(QUEUE_RUN_KEEP, sizeof(*q.rr));
		f = &q.rr[q.nrr++];
		f->run = run;
		run->refs++;
		f->sid = j->sid;
		f->from = from;
		f->to = to;
		f->attempts = j->attempts;
		f->bounced = bounced;
	}
	if (q.rr_total < QUEUE_RUN_MIN || q.rr_domains < 2)
		return 0;

	/* the relay's: undo each one, this one included */
	q.rr_relay = 1;
	log_warnx("broadcast %" PRId64 ": %d recipients in more than one "
	    "domain refused in a row with the same answer, the relay's: "
	    "none is bounced or charged: %s", run->id, q.rr_total, sj->msg);
	for (i = 0; i < q.nrr; i++) {
		f = &q.rr[i];
		queue_result_add(f->run, f->sid, f->to, f->from, f->attempts,
		    0, 0, f->bounced ? -1 : 0, "undone: the relay refused "
		    "a run of recipients");
		if (f->to == DLV_FAILED)
			q.total_failed--;
		else if (f->to == DLV_DEFERRED)
			q.total_deferred--;
		f->run->refs--;
	}
	q.nrr = 0;
	return 1;
}

static void
queue_done_cb(struct smtp_job *sj, void *arg)
{
	struct qjob	*j = sj->udata;
	struct qrun	*run = j->run;
	int		 attempts = j->attempts + 1;
	int		 from = j->attempts > 0 ? DLV_DEFERRED : DLV_PENDING;
	int		 to, perm;

	(void)arg;
	switch (j->kind) {
	case QJOB_TEST:
		queue_test_done(j);
		qjob_free(j);
		return;
	case QJOB_CONFIRM:
		log_info("confirm %s: %s code=%d %s", j->email,
		    smtp_strresult(sj->result), sj->code, sj->msg);
		qjob_free(j);
		return;
	case QJOB_BROADCAST:
		break;
	}
	run->inflight--;
	if (j->skipped)
		sj->result = SMTP_CANCELLED;
	if (sj->result != SMTP_RELAY_TEMP && sj->result != SMTP_RELAY_PERM &&
	    sj->result != SMTP_CANCELLED && sj->result != SMTP_RENDER_FAIL)
		queue_relay_ok();	/* it answered about the recipient */
	switch (sj->result) {
	case SMTP_OK:
		queue_result_add(run, j->sid, from, DLV_SENT, attempts, 0,
		    sj->code, 0, sj->msg);
		queue_window_add();
		q.total_sent++;
		q.msg_faults = 0;
		queue_refusals_reset();
		break;
	case SMTP_RCPT_TEMP:
		if (sj->phase == SMTP_PHASE_RCPT && sj->code >= 400 &&
		    queue_refusal_is_relay(sj)) {
			queue_release(run, j);
			queue_relay_fault(run, 0, sj->msg);
			return;
		}
		if (attempts >= env->conf->retry_max_attempts) {
			log_info("broadcast %" PRId64 " rcpt=%s failed after "
			    "%d attempts: %s", run->id, j->email, attempts,
			    sj->msg);
			to = DLV_FAILED;
			queue_result_add(run, j->sid, from, to, attempts, 0,
			    sj->code, 0, sj->msg);
			q.total_failed++;
		} else {
			to = DLV_DEFERRED;
			queue_result_add(run, j->sid, from, to, attempts,
			    (int64_t)time(NULL) + queue_backoff(attempts),
			    sj->code, 0, sj->msg);
			q.total_deferred++;
		}
		if (sj->phase == SMTP_PHASE_RCPT && sj->code >= 400 &&
		    queue_refusal(run, j, sj, from, to, 0))
			queue_relay_fault(run, 0, sj->msg);
		break;
	case SMTP_RCPT_PERM:
		if (queue_refusal_is_relay(sj)) {
			queue_release(run, j);
			queue_relay_fault(run, 1, sj->msg);
			return;
		}
		log_info("broadcast %" PRId64 " rcpt=%s failed (bounced): "
		    "%s: %s", run->id, j->email, smtp_strphase(sj->phase),
		    sj->msg);
		queue_result_add(run, j->sid, from, DLV_FAILED, attempts, 0,
		    sj->code, 1, sj->msg);
		q.total_failed++;
		if (queue_refusal(run, j, sj, from, DLV_FAILED, 1))
			queue_relay_fault(run, 1, sj->msg);
		break;
	case SMTP_MSG_PERM:
		log_info("broadcast %" PRId64 " rcpt=%s message refused: %s: "
		    "%s", run->id, j->email, smtp_strphase(sj->phase),
		    sj->msg);
		queue_result_add(run, j->sid, from, DLV_FAILED, attempts, 0,
		    sj->code, 0, sj->msg);
		q.total_failed++;
		queue_refusals_reset();
		if (++q.msg_faults >= QUEUE_MSG_FAULTS) {
			char	what[320];

			snprintf(what, sizeof(what), "%d messages in a row "
			    "refused: %s", q.msg_faults, sj->msg);
			q.msg_faults = 0;
			queue_relay_fault(run, 1, what);
		}
		break;
	case SMTP_RELAY_TEMP:
	case SMTP_RELAY_PERM:
		/* about nobody on the list: no attempt spent, again later */
		perm = sj->result == SMTP_RELAY_PERM;
		{
			char	what[320];

			snprintf(what, sizeof(what), "%s: %s",
			    smtp_strphase(sj->phase), sj->msg);
			/* first: a pause may free the run */
			queue_release(run, j);
			queue_relay_fault(run, perm, what);
		}
		return;
	case SMTP_RENDER_FAIL:
		if (queue_is_stopped(j->sid)) {
			queue_result_add(run, j->sid, from, -1, 0, 0, 0, 0,
			    NULL);
			break;
		}
		log_warnx("broadcast %" PRId64 " rcpt=%s cannot render: %s",
		    run->id, j->email, sj->msg);
		queue_result_add(run, j->sid, from, DLV_FAILED, attempts, 0,
		    0, 0, sj->msg);
		q.total_failed++;
		break;
	case SMTP_CANCELLED:
		/* never attempted: it is still pending in the store */
		break;
	}
	qjob_free(j);
}

static void
queue_check_pools(void)
{
	struct qpool	*p;

	/* only pools whose threads have all ended: freeing one joins them,
	 * and a thread waiting for a QUIT reply must not hold the loop */
	while ((p = TAILQ_FIRST(&q.draining)) != NULL &&
	    smtp_pool_reapable(p->pool)) {
		TAILQ_REMOVE(&q.draining, p, entry);
		smtp_pool_free(p->pool);
		free(p);
	}
}

static void
queue_batch_cb(void *arg)
{
	(void)arg;
	queue_record(1);
	if (q.shutting_down) {
		/* the last in-flight message is recorded: tell main, which
		 * alone ends the loop */
		if (!queue_busy() && q.drained != NULL)
			q.drained(q.drained_arg);
		return;
	}
	queue_pump();
}

/* Forget what was claimed and not handed out: it is still pending. */
static void
qrun_drop_ready(struct qrun *run)
{
	struct qjob	*j;

	while ((j = TAILQ_FIRST(&run->ready)) != NULL) {
		TAILQ_REMOVE(&run->ready, j, entry);
		qjob_free(j);
	}
	run->nready = 0;
}

static void
qrun_free(struct qrun *run)
{
	qrun_drop_ready(run);
	render_free(run->render);
	if (run->st_ok)
		statement_free(&run->st);
	free(run);
}

struct qrun_load {
	int64_t		 id;
	enum bc_state	 state;
	char		*source;
	char		*subject;
	int		 markdown;
	int64_t		 created;
	int64_t		 total;
	int		 snapping;
};

static int
queue_pick_cb(const struct broadcast *bc, void *arg)
{
	struct qrun_load	*l = arg;

	/* the list is newest first: the last match is the oldest */
	if (bc->state != BC_QUEUED && bc->state != BC_SENDING)
		return 0;
	free(l->source);
	free(l->subject);
	l->id = bc->id;
	l->state = bc->state;
	l->source = xstrdup(bc->source);
	l->subject = xstrdup(bc->subject);
	l->markdown = bc->markdown;
	l->created = bc->created;
	l->total = bc->total;
	l->snapping = bc->snapping;
	return 0;
}

/* Make the oldest queued or sending broadcast the current run. */
static struct qrun *
queue_select(void)
{
	struct qrun_load	 l;
	struct qrun		*run;
	char			 err[512];

	memset(&l, 0, sizeof(l));
	if (store_bc_list(env->store, 1000000, queue_pick_cb, &l, err,
	    sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		return NULL;
	}
	if (l.id == 0 || l.snapping) {
		/* still taking the oldest one's recipients: it goes first,
		 * when queue_snap_cb has them all */
		free(l.source);
		free(l.subject);
		return NULL;
	}
	/*
	 * Paused and resumed while its last jobs were still out: take the
	 * same run back, with its cursor, so nothing in flight is claimed
	 * twice (the cursor goes back to the start only once it is idle).
	 */
	TAILQ_FOREACH(run, &q.runs, entry)
		if (run->id == l.id)
			break;
	if (run != NULL) {
		run->state = BC_SENDING;
		atomic_store(&run->halted, 0);
		TAILQ_REMOVE(&q.runs, run, entry);
		TAILQ_INSERT_HEAD(&q.runs, run, entry);
		if (l.state != BC_SENDING && store_bc_set_state(env->store,
		    l.id, BC_SENDING, NULL, err, sizeof(err)) == -1)
			log_warnx("broadcast %" PRId64 ": %s", l.id, err);
		log_info("broadcast %" PRId64 ": sending again", l.id);
		free(l.source);
		free(l.subject);
		return run;
	}
	run = xcalloc(1, sizeof(*run));
	run->id = l.id;
	run->total = l.total;
	TAILQ_INIT(&run->ready);
	if (store_dlv_counts(env->store, l.id, run->counts, err, sizeof(err))
	    == -1) {
		log_warnx("broadcast %" PRId64 ": %s", l.id, err);
		goto fail;
	}
	run->render = queue_render_new(l.id, l.source, l.markdown, l.subject,
	    (time_t)l.created, &run->st, &run->st_ok, err, sizeof(err));
	if (run->render == NULL) {
		/* templates or statement broken since it was accepted */
		char	why[600];

		snprintf(why, sizeof(why), "cannot render: %s", err);
		log_warnx("broadcast %" PRId64 ": paused: %s", l.id, why);
		store_bc_set_state(env->store, l.id, BC_PAUSED, why, err,
		    sizeof(err));
		goto fail;
	}
	run->state = BC_SENDING;
	if (l.state != BC_SENDING && store_bc_set_state(env->store, l.id,
	    BC_SENDING, NULL, err, sizeof(err)) == -1)
		log_warnx("broadcast %" PRId64 ": %s", l.id, err);
	log_info("broadcast %" PRId64 ": sending, total=%" PRId64 " sent=%"
	    PRId64 " deferred=%" PRId64 " failed=%" PRId64, l.id, run->total,
	    run->counts[DLV_SENT], run->counts[DLV_DEFERRED],
	    run->counts[DLV_FAILED]);
	free(l.source);
	free(l.subject);
	TAILQ_INSERT_HEAD(&q.runs, run, entry);
	return run;
fail:
	free(l.source);
	free(l.subject);
	free(run);
	return NULL;
}

static int
queue_claim_cb(const struct delivery *d, void *arg)
{
	struct qrun	*run = arg;
	struct qjob	*j;

	run->cursor = d->subscriber_id;
	if (!d->active || queue_is_stopped(d->subscriber_id)) {
		/* left since the broadcast was made: not a recipient now */
		queue_result_add(run, d->subscriber_id, d->attempts > 0 ?
		    DLV_DEFERRED : DLV_PENDING, -1, 0, 0, 0, 0, NULL);
		return 0;
	}
	j = qjob_new(QJOB_BROADCAST, d->subscriber_id, d->email, d->name,
	    d->fields);
	j->run = run;
	j->attempts = d->attempts;
	j->render = run->render;
	j->sj.id = (uint64_t)d->subscriber_id;
	j->sj.metered = 1;		/* a rate token as it starts */
	j->sj.halted = &run->halted;
	TAILQ_INSERT_TAIL(&run->ready, j, entry);
	run->nready++;
	return 0;
}

/*
 * Refill the ready list.  Returns 1 if it has work, 0 if the run must
 * wait (for in-flight jobs or a retry due time), -1 if it is finished.
 */
static int
queue_refill(struct qrun *run)
{
	char	 err[512];
	int64_t	 now = (int64_t)time(NULL), due;
	int	 n;

	for (;;) {
		queue_flush();
		if (q.nresults > 0)
			return 0;	/* the store is failing: wait */
		n = store_dlv_claim(env->store, run->id, run->cursor, now,
		    env->conf->rate_batch_size, queue_claim_cb, run, err,
		    sizeof(err));
		if (n == -1) {
			log_warnx("broadcast %" PRId64 ": claim: %s", run->id,
			    err);
			queue_timer_at(1.0);
			return 0;
		}
		if (run->nready > 0)
			return 1;
		if (n > 0)
			continue;	/* only dropped rows: claim more */
		/* end of the list */
		if (run->inflight > 0 || q.nresults > 0)
			return 0;
		if (run->cursor > 0) {
			run->cursor = 0;	/* again, for what is due */
			continue;
		}
		if (store_dlv_next_due(env->store, run->id, &due, err,
		    sizeof(err)) == -1) {
			log_warnx("broadcast %" PRId64 ": %s", run->id, err);
			queue_timer_at(1.0);
			return 0;
		}
		if (due >= 0) {
			queue_timer_at((double)(due - now) + 0.01);
			return 0;
		}
		return -1;
	}
}

static void
queue_finish(struct qrun *run)
{
	char	err[512];

	if (store_bc_set_state(env->store, run->id, BC_DONE, NULL, err,
	    sizeof(err)) == -1) {
		log_warnx("broadcast %" PRId64 ": %s", run->id, err);
		return;
	}
	log_info("broadcast %" PRId64 ": done, total=%" PRId64 " sent=%"
	    PRId64 " failed=%" PRId64, run->id, run->total,
	    run->counts[DLV_SENT], run->counts[DLV_FAILED]);
	notify_status("idle; broadcast %" PRId64 " done: %" PRId64 " sent, %"
	    PRId64 " failed", run->id, run->counts[DLV_SENT],
	    run->counts[DLV_FAILED]);
	run->state = BC_DONE;
}

static void
queue_retire(struct qrun *run)
{
	if (q.current == run)
		q.current = NULL;
	if (run->inflight == 0 && run->refs == 0) {
		TAILQ_REMOVE(&q.runs, run, entry);
		qrun_free(run);
	}
}

static void
queue_pump(void)
{
	struct smtp_pool	*pool;
	struct qrun		*run, *tmp;
	struct qjob		*j;
	int			 rc;

	if (q.shutting_down || q.cur == NULL)
		return;
	pool = q.cur->pool;
	queue_check_pools();

	/* test and confirm mails first, outside the rate and the runs */
	while ((j = TAILQ_FIRST(&q.urgent)) != NULL &&
	    smtp_pool_space(pool) > 0) {
		TAILQ_REMOVE(&q.urgent, j, entry);
		if (smtp_pool_submit(pool, &j->sj) == -1) {
			TAILQ_INSERT_HEAD(&q.urgent, j, entry);
			break;
		}
	}

	/* free retired runs whose last jobs came back */
	for (run = TAILQ_FIRST(&q.runs); run != NULL; run = tmp) {
		tmp = TAILQ_NEXT(run, entry);
		/* results not yet committed point at it: not yet */
		if (run != q.current && run->inflight == 0 && run->refs == 0) {
			TAILQ_REMOVE(&q.runs, run, entry);
			qrun_free(run);
		}
	}

	/* the store refuses results: send no more until it takes them */
	if (q.store_failing) {
		queue_flush();
		if (q.store_failing)
			return;
	}
	/* the relay failed: nothing for it until the backoff is over */
	if (now_mono() < q.relay_until) {
		queue_timer_at(q.relay_until - now_mono());
		return;
	}

	for (;;) {
		if ((run = q.current) == NULL) {
			if ((run = q.current = queue_select()) == NULL)
				return;
		}
		if (run->state != BC_SENDING) {
			queue_retire(run);
			continue;
		}
		while (smtp_pool_space(pool) > 0) {
			if (run->nready == 0 &&
			    (rc = queue_refill(run)) != 1) {
				if (rc == -1 && run->inflight == 0) {
					queue_finish(run);
					queue_retire(run);
					break;	/* next broadcast */
				}
				return;
			}
			/* the rate token is taken by the sender thread as
			 * the message starts, not here */
			j = TAILQ_FIRST(&run->ready);
			TAILQ_REMOVE(&run->ready, j, entry);
			run->nready--;
			if (smtp_pool_submit(pool, &j->sj) == -1) {
				TAILQ_INSERT_HEAD(&run->ready, j, entry);
				run->nready++;
				return;
			}
			run->inflight++;
		}
		if (q.current == run)
			return;		/* pool full: results will pump */
	}
}

/* Everything the sender pool is made from, as one comparable string. */
static char *
queue_smtp_sig(void)
{
	const struct config	*c = env->conf;
	char			*sig;

	xasprintf(&sig, "%s\n%d\n%s\n%s\n%s\n%d\n%d\n%s", c->smtp_url,
	    (int)c->smtp_tls, c->smtp_ca_file ? c->smtp_ca_file : "",
	    c->smtp_username ? c->smtp_username : "",
	    c->smtp_password ? c->smtp_password : "", c->smtp_connections,
	    c->smtp_timeout, c->list_id);
	return sig;
}

static int
queue_pool_new(char *err, size_t errlen)
{
	const struct config	*c = env->conf;
	struct smtp_conf	 sc;
	struct qpool		*p;

	memset(&sc, 0, sizeof(sc));
	sc.url = c->smtp_url;
	sc.tls = c->smtp_tls;
	sc.ca_file = c->smtp_ca_file;
	sc.username = c->smtp_username;
	sc.password = c->smtp_password;
	sc.connections = c->smtp_connections;
	sc.timeout = c->smtp_timeout;
	sc.helo_name = c->list_id;
	sc.verbose = log_verbose();
	sc.rate = &q.rate;
	sc.slots = q.slots;
	p = xcalloc(1, sizeof(*p));
	p->pool = smtp_pool_new(env->base, &sc, queue_done_cb, queue_batch_cb,
	    NULL, err, errlen);
	if (p->pool == NULL) {
		free(p);
		return -1;
	}
	if (q.cur != NULL) {
		smtp_pool_shutdown(q.cur->pool);
		TAILQ_INSERT_TAIL(&q.draining, q.cur, entry);
	}
	q.cur = p;
	if (q.smtp_sig != NULL) {
		explicit_bzero(q.smtp_sig, strlen(q.smtp_sig));
		free(q.smtp_sig);
	}
	q.smtp_sig = queue_smtp_sig();
	return 0;
}

/*
 * A new broadcast's recipients are taken from the store QUEUE_SNAP_SLICE
 * at a time, one transaction each, with a zero timeout between so the loop
 * polls in between: a million subscribers cost the loop a few ms at a
 * time, not a third of a second at once.  Broadcasts are done oldest
 * first; the engine starts one only once all its recipients are taken.
 * After a crash queue_init starts this again where the store stopped.
 */
static int
queue_snap_pick_cb(const struct broadcast *bc, void *arg)
{
	/* newest first: the last match is the oldest */
	if (bc->snapping)
		*(int64_t *)arg = bc->id;
	return 0;
}

static void
queue_snap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 now = { 0, 0 }, later = { 1, 0 };
	char		 err[512];
	double		 t0;
	int		 more;

	(void)fd;
	(void)what;
	(void)arg;
	if (q.shutting_down)
		return;
	if (q.snap_id == 0) {
		if (store_bc_list(env->store, 1000000, queue_snap_pick_cb,
		    &q.snap_id, err, sizeof(err)) == -1) {
			log_warnx("store: %s", err);
			evtimer_add(q.snap_timer, &later);
			return;
		}
		if (q.snap_id == 0)
			return;		/* none left */
	}
	t0 = now_mono();
	if (store_bc_snapshot(env->store, q.snap_id, (int)q.snap_slice, &more,
	    err, sizeof(err)) == -1) {
		log_warnx("broadcast %" PRId64 ": %s", q.snap_id, err);
		evtimer_add(q.snap_timer, &later);
		return;
	}
	q.snap_slice = slice_adapt(q.snap_slice, now_mono() - t0,
	    SLICE_TARGET, QUEUE_SNAP_SLICE_MIN, QUEUE_SNAP_SLICE);
	if (!more) {
		log_info("broadcast %" PRId64 ": recipients taken", q.snap_id);
		q.snap_id = 0;		/* next: another one, if any */
		queue_kick();
	}
	evtimer_add(q.snap_timer, &now);
}

static void
queue_snap_kick(void)
{
	struct timeval	now = { 0, 0 };

	evtimer_add(q.snap_timer, &now);
}

int
queue_init(void (*drained)(void *), void *arg, char *err, size_t errlen)
{
	q.drained = drained;
	q.drained_arg = arg;
	TAILQ_INIT(&q.runs);
	TAILQ_INIT(&q.urgent);
	TAILQ_INIT(&q.draining);
	q.seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	q.snap_slice = QUEUE_SNAP_SLICE / 4;	/* grows while slices are quick */
	if ((q.tkey = token_key_new(env->key, (size_t)env->keylen, err,
	    errlen)) == NULL)
		return -1;
	if ((q.timer = evtimer_new(env->base, queue_timer_cb, NULL)) == NULL ||
	    (q.counts_timer = evtimer_new(env->base, queue_counts_cb, NULL))
	    == NULL ||
	    (q.snap_timer = evtimer_new(env->base, queue_snap_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	rate_init(&q.rate, env->conf->rate_mps, env->conf->rate_burst);
	q.slots = smtp_slots_new(env->conf->smtp_connections);
	if (queue_pool_new(err, errlen) == -1)
		return -1;
	queue_snap_kick();	/* a broadcast cut short by a crash */
	queue_kick();
	return 0;
}

/* A reload: new rate now; new SMTP settings for the next sessions. */
void
queue_reload(void)
{
	char	err[512], *sig;

	rate_set(&q.rate, env->conf->rate_mps, env->conf->rate_burst);
	/* new sessions only when the SMTP settings changed; the new pool's
	 * threads open theirs as the old pool's close (one shared cap) */
	sig = queue_smtp_sig();
	if (strcmp(sig, q.smtp_sig) != 0) {
		if (queue_pool_new(err, sizeof(err)) == -1)
			log_warnx("reload: smtp: %s; keeping the old settings",
			    err);
		else
			smtp_slots_set(q.slots, env->conf->smtp_connections);
	}
	queue_relay_ok();	/* new settings: try the relay at once */
	explicit_bzero(sig, strlen(sig));
	free(sig);
	queue_kick();
}

int
queue_busy(void)
{
	struct qpool	*p;
	int		 n = q.cur ? smtp_pool_busy(q.cur->pool) : 0;

	TAILQ_FOREACH(p, &q.draining, entry)
		n += smtp_pool_busy(p->pool);
	return n;
}

/* SIGTERM: take no new work; in-flight jobs finish and are recorded. */
void
queue_shutdown(void)
{
	struct qpool	*p;

	q.shutting_down = 1;
	if (q.timer != NULL)
		evtimer_del(q.timer);
	if (q.snap_timer != NULL)
		evtimer_del(q.snap_timer);
	if (q.cur != NULL)
		smtp_pool_shutdown(q.cur->pool);
	TAILQ_FOREACH(p, &q.draining, entry)
		smtp_pool_shutdown(p->pool);
	log_info("queue: stopping, %d messages in flight", queue_busy());
}

void
queue_free(void)
{
	struct qpool	*p;
	struct qrun	*run;
	struct qjob	*j;

	if (q.cur != NULL) {
		smtp_pool_free(q.cur->pool);	/* runs remaining done()s */
		free(q.cur);
		q.cur = NULL;
	}
	while ((p = TAILQ_FIRST(&q.draining)) != NULL) {
		TAILQ_REMOVE(&q.draining, p, entry);
		smtp_pool_free(p->pool);
		free(p);
	}
	queue_flush();
	while ((run = TAILQ_FIRST(&q.runs)) != NULL) {
		TAILQ_REMOVE(&q.runs, run, entry);
		qrun_free(run);
	}
	while ((j = TAILQ_FIRST(&q.urgent)) != NULL) {
		TAILQ_REMOVE(&q.urgent, j, entry);
		qjob_free(j);
	}
	if (q.timer != NULL)
		event_free(q.timer);
	q.timer = NULL;
	if (q.counts_timer != NULL)
		event_free(q.counts_timer);
	q.counts_timer = NULL;
	if (q.snap_timer != NULL)
		event_free(q.snap_timer);
	q.snap_timer = NULL;
	token_key_free(q.tkey);
	if (q.smtp_sig != NULL) {
		explicit_bzero(q.smtp_sig, strlen(q.smtp_sig));
		free(q.smtp_sig);
		q.smtp_sig = NULL;
	}
	free(q.results);
	q.results = NULL;
	free(q.rr);
	q.rr = NULL;
	q.nrr = 0;
	smtp_slots_free(q.slots);
	q.slots = NULL;
	rate_destroy(&q.rate);
}

int
queue_send_confirm(int64_t sid, const char *email, const char *name,
    char *err, size_t errlen)
{
	struct qjob	*j;

	if (q.shutting_down) {
		snprintf(err, errlen, "shutting down");
		return -1;
	}
	j = qjob_new(QJOB_CONFIRM, sid, email, name, NULL);
	if (queue_build_confirm(j, &j->prebuilt, err, errlen) == -1) {
		qjob_free(j);
		return -1;
	}
	TAILQ_INSERT_TAIL(&q.urgent, j, entry);
	queue_kick();
	return 0;
}

void
queue_metrics(struct buf *b)
{
	struct qrun	*run;
	int		 depth = 0;

	buf_printf(b, "# HELP broadside_messages_total Messages by outcome "
	    "since the daemon started.\n# TYPE broadside_messages_total "
	    "counter\n");
	buf_printf(b, "broadside_messages_total{result=\"sent\"} %" PRIu64
	    "\n", q.total_sent);
	buf_printf(b, "broadside_messages_total{result=\"deferred\"} %" PRIu64
	    "\n", q.total_deferred);
	buf_printf(b, "broadside_messages_total{result=\"failed\"} %" PRIu64
	    "\n", q.total_failed);
	buf_printf(b, "# HELP broadside_broadcast_messages Deliveries of "
	    "active broadcasts by state.\n# TYPE broadside_broadcast_messages "
	    "gauge\n");
	TAILQ_FOREACH(run, &q.runs, entry) {
		buf_printf(b, "broadside_broadcast_messages{broadcast=\"%"
		    PRId64 "\",state=\"sent\"} %" PRId64 "\n", run->id,
		    run->counts[DLV_SENT]);
		buf_printf(b, "broadside_broadcast_messages{broadcast=\"%"
		    PRId64 "\",state=\"deferred\"} %" PRId64 "\n", run->id,
		    run->counts[DLV_DEFERRED]);
		buf_printf(b, "broadside_broadcast_messages{broadcast=\"%"
		    PRId64 "\",state=\"failed\"} %" PRId64 "\n", run->id,
		    run->counts[DLV_FAILED]);
		depth += run->nready + run->inflight;
	}
	buf_printf(b, "# HELP broadside_broadcast_waiting A broadcast held "
	    "back by a failing relay or store, with the reason.\n# TYPE "
	    "broadside_broadcast_waiting gauge\n");
	if (q.current != NULL && queue_waiting(q.current->id) != NULL) {
		const char	*w = queue_waiting(q.current->id);

		buf_printf(b, "broadside_broadcast_waiting{broadcast=\"%"
		    PRId64 "\",reason=\"", q.current->id);
		/* a label value: backslash, quote and newline escaped */
		for (; *w != '\0'; w++)
			buf_printf(b, "%s%c", *w == '\\' || *w == '"' ||
			    *w == '\n' ? "\\" : "", *w == '\n' ? 'n' : *w);
		buf_printf(b, "\"} 1\n");
	}
	buf_printf(b, "# HELP broadside_send_rate Messages sent per second "
	    "now.\n# TYPE broadside_send_rate gauge\nbroadside_send_rate %.2f\n",
	    q.current ? queue_rate(q.current->id) : 0.0);
	buf_printf(b, "# HELP broadside_queue_depth Messages claimed and not "
	    "yet finished.\n# TYPE broadside_queue_depth gauge\n"
	    "broadside_queue_depth %d\n", depth);
	buf_printf(b, "# HELP broadside_smtp_sessions SMTP sessions open.\n"
	    "# TYPE broadside_smtp_sessions gauge\nbroadside_smtp_sessions %d\n",
	    q.cur ? smtp_pool_sessions(q.cur->pool) : 0);
}

static void	queue_send_body(struct evhttp_request *, json_t *);

/* A new broadcast waited for the subscribers.file sync: store it now. */
struct qsend_wait {
	struct evhttp_request	*req;
	json_t			*body;
};

static void
queue_send_synced(int rc, const char *err, void *arg)
{
	struct qsend_wait	*w = arg;

	(void)err;
	/* a file that could not be read is logged by whoever started the
	 * sync; the broadcast goes to the subscribers there are */
	if (rc == -1 && env->stopping)
		control_error(w->req, 503, "%s: not stored: broadsided is "
		    "shutting down", json_string_value(json_object_get(w->body,
		    "filename")));
	else
		queue_send_body(w->req, w->body);
	json_decref(w->body);
	free(w);
}

/* POST /v1/broadcasts: store a new broadcast (or send a test). */
static void
queue_send(struct evhttp_request *req)
{
	json_t	*body;

	if ((body = control_body_json(req)) == NULL)
		return;
	queue_send_body(req, body);
	json_decref(body);
}

static void
queue_send_body(struct evhttp_request *req, json_t *body)
{
	struct broadcast	 bc;
	struct statement	 st;
	struct render		*r;
	struct qtest		*t;
	struct qjob		*j;
	struct qsend_wait	*w;
	json_t			*tests, *a;
	const char		*source, *filename, *subject;
	char			 err[1024], addr[320], *aerr;
	int64_t			 id;
	size_t			 i;
	int			 markdown, more, st_ok = 0;

	source = json_string_value(json_object_get(body, "source"));
	filename = json_string_value(json_object_get(body, "filename"));
	subject = json_string_value(json_object_get(body, "subject"));
	markdown = json_is_true(json_object_get(body, "markdown"));
	tests = json_object_get(body, "test");
	if (source == NULL || filename == NULL) {
		control_error(req, 400, "missing source or filename");
		return;
	}
	if (strlen(source) > QUEUE_STATEMENT_MAX) {
		control_error(req, 400, "%s: statement larger than %d bytes",
		    filename, QUEUE_STATEMENT_MAX);
		return;
	}
	if (subject != NULL && (!text_header_safe(subject, strlen(subject)) ||
	    !utf8_valid(subject, strlen(subject)) ||
	    strlen(subject) > 998)) {
		control_error(req, 400, "--subject: control character or "
		    "longer than 998 octets");
		return;
	}
	/* parse and render once now, so a bad file is refused here */
	r = queue_render_new(0, source, markdown, subject, time(NULL), &st,
	    &st_ok, err, sizeof(err));
	if (r == NULL) {
		control_error(req, st_ok ? 500 : 400, "%s: %s", filename, err);
		return;
	}
	if (json_is_array(tests) && json_array_size(tests) > 0) {
		t = xcalloc(1, sizeof(*t));
		t->req = req;
		t->render = r;
		t->st = st;
		t->results = json_array();
		json_array_foreach(tests, i, a) {
			if (!json_is_string(a) || addr_normalize(
			    json_string_value(a), addr, sizeof(addr), err,
			    sizeof(err)) == -1) {
				aerr = json_is_string(a) ? err : "not a string";
				control_error(req, 400, "--test %s: %s",
				    json_is_string(a) ? json_string_value(a) :
				    "?", aerr);
				json_decref(t->results);
				render_free(r);
				statement_free(&st);
				free(t);
				return;
			}
		}
		json_array_foreach(tests, i, a) {
			addr_normalize(json_string_value(a), addr,
			    sizeof(addr), err, sizeof(err));
			j = qjob_new(QJOB_TEST, 0, addr, "", NULL);
			j->test = t;
			j->render = r;
			t->left++;
			TAILQ_INSERT_TAIL(&q.urgent, j, entry);
		}
		evhttp_connection_set_closecb(evhttp_request_get_connection(req),
		    queue_test_closed_cb, t);
		log_info("test send of %s to %d addresses", filename, t->left);
		queue_kick();
		return;		/* answered when every test is done */
	}
	w = xmalloc(sizeof(*w));
	w->req = req;
	w->body = body;
	if (subscribers_sync_wait(queue_send_synced, w)) {
		/* its recipients are the active subscribers once the file is in */
		json_incref(body);
		log_info("broadcast from %s: waiting for the subscribers.file "
		    "sync to end", filename);
		render_free(r);
		statement_free(&st);
		return;
	}
	free(w);
	memset(&bc, 0, sizeof(bc));
	bc.title = st.title;
	bc.subject = subject ? subject : st.title;
	bc.source = source;
	bc.filename = filename;
	bc.markdown = markdown;
	bc.created = (int64_t)time(NULL);
	if (store_bc_create(env->store, &bc, &id, err, sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
	} else {
		log_info("broadcast %" PRId64 ": stored \"%s\" from %s", id,
		    st.title, filename);
		/* the first slice of recipients now, so status shows them
		 * pending as soon as send returns; the rest in slices */
		if (store_bc_snapshot(env->store, id, (int)q.snap_slice, &more,
		    err, sizeof(err)) == -1)
			log_warnx("broadcast %" PRId64 ": %s", id, err);
		if (feed_update(err, sizeof(err)) == -1)
			log_warnx("feed: %s", err);
		control_reply(req, 200, json_pack("{s:I}", "id",
		    (json_int_t)id));
		queue_snap_kick();
		queue_kick();
	}
	render_free(r);
	statement_free(&st);
}

struct qstate_ctx {
	int		found;
	enum bc_state	state;
};

static int
queue_state_cb(const struct broadcast *bc, void *arg)
{
	struct qstate_ctx	*c = arg;

	c->found = 1;
	c->state = bc->state;
	return 0;
}

/* POST /v1/broadcasts/ID/pause|resume|cancel */
static void
queue_control(struct evhttp_request *req, int64_t id, const char *verb)
{
	struct qstate_ctx	 c;
	struct qrun		*run;
	enum bc_state		 to;
	char			 err[512];

	memset(&c, 0, sizeof(c));
	if (store_bc_get(env->store, id, queue_state_cb, &c, err,
	    sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		return;
	}
	if (!c.found) {
		control_error(req, 404, "broadcast %" PRId64 ": no such "
		    "broadcast", id);
		return;
	}
	if (strcmp(verb, "pause") == 0) {
		if (c.state != BC_QUEUED && c.state != BC_SENDING) {
			control_error(req, 409, "broadcast %" PRId64 " is %s",
			    id, store_bc_strstate(c.state));
			return;
		}
		to = BC_PAUSED;
	} else if (strcmp(verb, "resume") == 0) {
		if (c.state != BC_PAUSED) {
			control_error(req, 409, "broadcast %" PRId64 " is %s, "
			    "not paused", id, store_bc_strstate(c.state));
			return;
		}
		to = BC_QUEUED;
	} else if (strcmp(verb, "cancel") == 0) {
		if (c.state == BC_DONE || c.state == BC_CANCELLED) {
			control_error(req, 409, "broadcast %" PRId64 " is %s",
			    id, store_bc_strstate(c.state));
			return;
		}
		to = BC_CANCELLED;
	} else {
		control_error(req, 404, "no such action: %s", verb);
		return;
	}
	queue_flush();
	if (store_bc_set_state(env->store, id, to, to == BC_PAUSED ?
	    "paused by broadside pause" : NULL, err, sizeof(err)) == -1) {
		control_error(req, 500, "%s", err);
		return;
	}
	TAILQ_FOREACH(run, &q.runs, entry)
		if (run->id == id && to != BC_QUEUED) {
			qrun_halt(run, to);
			break;
		}
	if (to == BC_QUEUED)
		queue_relay_ok();	/* resumed once the relay is fixed */
	/* a cancelled statement (maybe an embargoed text sent by mistake)
	 * leaves the feed and the archive at once */
	if (to == BC_CANCELLED && feed_update(err, sizeof(err)) == -1)
		log_warnx("feed: %s", err);
	/* a resumed or paused broadcast may change which one runs */
	if (q.current != NULL && to == BC_QUEUED && id < q.current->id) {
		struct qrun *cur = q.current;

		cur->state = BC_QUEUED;
		atomic_store(&cur->halted, 1);
		store_bc_set_state(env->store, cur->id, BC_QUEUED, NULL, err,
		    sizeof(err));
		queue_retire(cur);
	}
	log_info("broadcast %" PRId64 ": %s", id, store_bc_strstate(to));
	control_reply(req, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id,
	    "state", store_bc_strstate(to)));
	queue_kick();
}

void
queue_route(struct evhttp_request *req, const char *path)
{
	const char	*rest;
	char		*end;
	int64_t		 id;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		control_error(req, 405, "use POST");
		return;
	}
	if (strcmp(path, "broadcasts") == 0) {
		queue_send(req);
		return;
	}
	rest = path + strlen("broadcasts/");
	id = strtoll(rest, &end, 10);
	if (strncmp(path, "broadcasts/", 11) != 0 || id <= 0 || *end != '/') {
		control_error(req, 404, "no such endpoint: /v1/%s", path);
		return;
	}
	queue_control(req, id, end + 1);
}
