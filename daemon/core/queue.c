/*
 * queue.c -- the delivery engine, main-loop side.
 *
 * Broadcasts go out one at a time, in order.  The running one ("run")
 * claims recipients in the store in batches of rate.batch_size: a claim
 * marks the rows as this daemon's (env->node) under a lease, so nothing
 * is taken twice and no cursor is kept.  The sender pool (smtp.c) takes
 * a rate token for each, renders and sends on its threads.  Results come
 * back on the main loop; every group of them is written to the store in
 * one transaction (store_dlv_record: guarded by the owner, adding to the
 * broadcast's counts) before the counts that status reports move, so
 * nothing is reported sent before its 250 is recorded.
 *
 * Work taken but not done -- a paused or cancelled run's jobs, jobs a
 * pool gave back at shutdown or after a reload -- is released: back as it
 * was, no attempt spent.  After a crash, queue_init releases what this
 * node held, so whatever was claimed but not recorded goes out again:
 * duplicates are limited to what was in flight.  Retries (4xx, broken
 * connections) are recorded deferred with a due time on the store's
 * clock and are claimable again once due; when nothing is claimable the
 * run sleeps on one timer until the next due time (as OpenSMTPD's runq
 * does), and finishes once nothing is pending, deferred or claimed.
 */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "addr.h"
#include "bounces.h"
#include "buf.h"
#include "core.h"
#include "dkim.h"
#include "feed.h"
#include "fields.h"
#include "lang.h"
#include "mime.h"
#include "pacing.h"
#include "resolver.h"
#include "rate.h"
#include "relays.h"
#include "render.h"
#include "smtp.h"
#include "smtp_reply.h"
#include "statement.h"
#include "store.h"
#include "token.h"

#define QUEUE_RATE_WINDOW	5	/* seconds averaged for "rate" */
#define QUEUE_STATEMENT_MAX	(1024 * 1024)
#define QUEUE_LANGS_MAX		64	/* versions of one statement */
#define QUEUE_STOPPED_MAX	4096	/* recently suppressed subscribers */
#define QUEUE_LEASE_MS		(3600 * 1000)	/* a claim's lease: far
					   longer than a job can be out */
#define QUEUE_RUN_MIN		5	/* refusals in a row (2+ domains) that
					   are the relay's, not the recipients' */
#define QUEUE_RUN_KEEP		1000	/* refusals of one run kept, to undo */
#define QUEUE_MSG_FAULTS	5	/* message faults in a row: pause */
#define QUEUE_HINT_MAX		(6 * 3600)	/* seconds: a reply's "try
						   again in" honoured up to */
#define QUEUE_STORE_RETRY	0.25	/* seconds between tries of a store
					   that refused a group of results */
#define QUEUE_GROUP_GAP		0.01	/* seconds: one group at most so
					   often (each commit is an fsync) */
#define QUEUE_GROUP_GAP_BUSY	0.05	/* ... or this, while results come */
#define QUEUE_GROUP_BUSY	400	/* ... this many a second or more */
#define QUEUE_HEALTH_EVERY	1.0	/* seconds a writability check holds */
#define QUEUE_GROUP_MAX		512	/* results: a group this big goes
					   without waiting for the gap */
#define QUEUE_PACE_HOLD		4.0	/* seconds of a waiting destination
					   group's jobs kept ready */
#define QUEUE_PACE_POLL		0.25	/* seconds between claims while
					   postponed rows are not all due
					   (store_dlv_next_due sees only
					   deferred ones) */
#define QUEUE_WATCH_EVERY	0.4	/* seconds between looks at what
					   other nodes changed (shared
					   store): a pause acts within 1 s */

enum qjob_kind {
	QJOB_BROADCAST,
	QJOB_TEST,
	QJOB_CONFIRM,
};

struct qrun;
struct qtest;
struct qpool;

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
	unsigned		 epoch;		/* beat_epoch() of its claim */
	struct qpool		*qp;		/* the relay it went to */
	int			 probe;		/* to see if that relay is back */
	struct pacing_group	*pg;		/* its destination group; NULL:
						   not paced (tests, confirms) */
	int			 mx_wait;	/* its domain's MX is being
						   looked up: no group yet */
	TAILQ_ENTRY(qjob)	 entry;
};
TAILQ_HEAD(qjob_list, qjob);

/* A broadcast's version in another language: rendered once a run. */
struct qver {
	char			 lang[LANG_MAX];
	struct render		*render;
	struct statement	 st;
};

struct qrun {
	int64_t			 id;
	enum bc_state		 state;
	struct render		*render;	/* the default language's */
	struct statement	 st;
	int			 st_ok;
	char			 lang[LANG_MAX]; /* the default's, or "" */
	struct qver		*vers;		/* the other languages' */
	size_t			 nvers;
	const char		**langs;	/* lang, then each of vers */
	struct qjob_list	 ready;		/* claimed, not yet submitted */
	int			 nready;
	int			 inflight;
	int64_t			 total;
	int64_t			 counts[4];	/* committed: pending unused */
	int			 refs;		/* results, refusals and a claim
						   not yet done with it: keep it */
	int			 settled;	/* the last claim found nothing
						   pending, deferred or claimed */
	double			 dry_at;	/* the last claim found less
						   than a batch then (mono;
						   0: it found a batch) */
	atomic_int		 halted;	/* paused or cancelled: senders
						   skip what they have not begun */
	TAILQ_ENTRY(qrun)	 entry;
};
TAILQ_HEAD(qrun_list, qrun);

/* A `send --test`: the asker is told once every address is done. */
struct qtest {
	queue_test_cb			 cb;	/* NULL: the asker went away */
	void				*arg;
	struct render			*render;
	struct statement		 st;
	int				 left;
	struct queue_test_result	*results;
	size_t				 nresults;
};

/* What becomes of a claimed delivery, buffered until the next commit. */
enum qres_kind {
	QRES_RECORD,		/* a result: sent, deferred, failed, dropped */
	QRES_RELEASE,		/* not done: back as it was */
	QRES_RESTORE,		/* a recorded result undone (state: back to) */
	QRES_POSTPONE,		/* not now (its destination's pace): back as
				   it was, due at next_at */
};

struct qresult {
	enum qres_kind	 kind;
	int64_t		 bid, sid;
	enum dlv_state	 state;		/* new state */
	int		 attempts;
	int64_t		 next_at;	/* unix ms */
	int		 code;
	int		 bounce;	/* 1: bounced by bid; -1: undo that */
	char		 msg[256];
	struct qrun	*run;
	int		 from;		/* old state, for run->counts */
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

/* A group of results, out to the writer or being gathered. */
struct qgroup {
	struct qresult		*results;
	size_t			 n, cap;
	struct dlv_result	*records;	/* as the store takes them */
	size_t			 crecords;
	int64_t			 skipped;	/* another owner's by now */
	char			 err[512];
};

/* A claimed row, copied on the writer thread. */
struct qclaim_row {
	int64_t		 sid;
	char		*email, *name, *fields;
	int		 attempts;
	int		 active;
	char		 lang[LANG_MAX];	/* the subscriber's */
};

/*
 * A claim, out to the writer thread: it marks up to batch rows claimed
 * and copies them; if there were none, it asks whether the broadcast is
 * settled and when the next deferred one is due.  The loop turns the
 * rows into jobs.
 */
struct qclaim {
	struct qrun		*run;
	int64_t			 bid;
	int			 batch;
	uint64_t		 commits;	/* q.commits when submitted */
	struct qclaim_row	*rows;
	size_t			 n, cap;
	int			 settled;
	int64_t			 now, due;
	double			 at;		/* now_mono() when now was read */
	char			 err[512];
};

struct qsel;

/* The current run of identical RCPT refusals from one relay. */
struct qrefusals {
	int			 code;
	char			 enh[12];
	int			 relay;		/* recognised as the relay's */
	int			 domains;	/* 2: more than one seen */
	char			 domain[256];	/* the first one's */
	struct qrefusal		*v;
	size_t			 n;
	int			 total;		/* including those not kept */
};

/* A relay: its sender pool and its state (relays.c). */
struct qpool {
	struct smtp_pool	*pool;
	struct relay		 relay;
	struct qrefusals	 rr;		/* counted per relay: another
						   relay's answers do not
						   break this one's run */
	int			 retired;	/* a reload replaced it: its
						   faults say nothing now */
	TAILQ_ENTRY(qpool)	 entry;
};
TAILQ_HEAD(qpool_list, qpool);

static struct {
	struct qpool		**pools;	/* the relays taking new jobs */
	struct relay		**rv;		/* their states, for relays.c */
	size_t			 npools;
	struct qpool_list	 draining;	/* old pools after a reload */
	struct qrun_list	 runs;		/* current first, then retired */
	struct qrun		*current;
	struct qjob_list	 urgent;	/* test and confirm jobs */
	struct event		*timer;
	struct event		*gtimer;	/* the next group's gap */
	double			 group_next;	/* no group before (mono) */
	double			 group_at;	/* the last went (mono) */
	struct token_key	*tkey;

	struct rate		 rate;		/* taken by sender threads */
	struct smtp_slots	*slots;		/* sessions, across pools */

	/* relay/session faults: that relay is out (relays.c); with none
	 * left, the whole delivery waits */
	struct event		*rtimer;	/* the next probe is due */
	struct event		*ptimer;	/* a waiting destination group's
						   next token */
	double			 ptimer_at;	/* when it fires (mono) */
	unsigned		 pgen;		/* queue_next_job's scans */
	double			 claim_hold;	/* no claim before (mono): the
						   last rows were postponed */
	double			 pdue;		/* the last postponed row is
						   due (mono) */
	uint64_t		 postponed;	/* rows postponed for their
						   destination's pace */
	char			 relay_reason[320];
	char			 store_reason[560];	/* store_failing */
	double			 store_retry_at;	/* next try, now_mono() */

	int			 msg_faults;	/* message faults in a row */

	struct qresult		*results;	/* for the next group */
	size_t			 nresults, cresults;
	struct qgroup		 group;		/* the one out, or the next */
	int			 group_out;	/* submitted, done() not run */
	uint64_t		 commits;	/* groups done */
	struct qclaim		 claim;		/* the one out, or the last */
	int			 claim_out;
	int			 enter_out;	/* state changes out */
	uint64_t		 enter_gen;	/* state changes submitted */
	int64_t			 snow;		/* the store's clock at snow_at */
	double			 snow_at;	/* now_mono(): the last claim's */
	struct qsel		*sel;		/* queue_select's read, back */
	int			 sel_out;	/* ... out on the reader */
	int			 sel_again;	/* pumped meanwhile */
	struct event		*wtimer;	/* the next watch (shared store) */
	int			 watch_out;
	struct event		*stimer;	/* shared rate: slots to reserve? */
	int			 slots_out;

	uint64_t		 window[QUEUE_RATE_WINDOW];
	int64_t			 window_sec;

	uint64_t		 total_sent, total_deferred, total_failed;
	char			*smtp_sig;	/* the settings cur was made with */
	int			 shutting_down;
	int			 closing;	/* queue_free: no pump */
	int			 store_failing;	/* last flush failed */
	/* the last claim or slot reservation failed (a shared store out
	 * of reach): the run shows waiting, store_reason says why */
	int			 store_unreached;
	double			 slots_retry_at;
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
static void	queue_result_add(struct qrun *, enum qres_kind, int64_t, int,
		    enum dlv_state, int, int64_t, int, int, const char *);

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

	/* claimed but not handed to a sender: no longer recipients */
	TAILQ_FOREACH(run, &q.runs, entry)
		for (j = TAILQ_FIRST(&run->ready); j != NULL; j = tmp) {
			tmp = TAILQ_NEXT(j, entry);
			if (j->sid != sid)
				continue;
			TAILQ_REMOVE(&run->ready, j, entry);
			run->nready--;
			queue_result_add(run, QRES_RECORD, sid, j->attempts > 0 ?
			    DLV_DEFERRED : DLV_PENDING, DLV_DROPPED, 0, 0, 0, 0,
			    NULL);
			qjob_free(j);
		}
}

/* Parse a statement and compile its templates: one per broadcast. */
static struct render *
queue_render_new(int64_t id, const char *source, int markdown,
    const char *subject, time_t date, const char *lang, const char *url_lang,
    struct statement *st, int *st_ok, char *err, size_t errlen)
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
	p.lang = lang != NULL && *lang != '\0' ? lang : NULL;
	p.url_lang = url_lang;
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
	struct fields		 f;
	int			 ret;

	(void)sj;
	if (j->kind == QJOB_BROADCAST && atomic_load(&j->run->halted)) {
		j->skipped = 1;
		snprintf(err, errlen, "broadcast paused or cancelled");
		return -1;
	}
	/* a stopped or cut-off node's claims may be another's now */
	if (j->kind == QJOB_BROADCAST && !beat_ok(j->epoch)) {
		j->skipped = 1;
		snprintf(err, errlen, "heartbeat lapsed");
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
	fields_decode(j->fields, &f);
	r.field_names = f.names;
	r.field_values = f.values;
	r.nfields = f.n;
	ret = render_message(j->render, &r, out, err, errlen);
	fields_free(&f);
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

/* "waiting for relay: ...": each relay's reason (one relay: its own). */
static const char *
queue_relay_reason(void)
{
	struct relay	*r;
	size_t		 i, len;

	snprintf(q.relay_reason, sizeof(q.relay_reason), "waiting for relay: ");
	for (i = 0; i < q.npools; i++) {
		r = q.rv[i];
		len = strlen(q.relay_reason);
		if (q.npools == 1)
			snprintf(q.relay_reason + len, sizeof(q.relay_reason) -
			    len, "%s", r->reason);
		else
			snprintf(q.relay_reason + len, sizeof(q.relay_reason) -
			    len, "%s%s: %s%s", i > 0 ? "; " : "", r->name,
			    r->state == RELAY_REFUSED ? "refused: " : "",
			    r->reason);
	}
	return q.relay_reason;
}

const char *
queue_waiting(int64_t bid)
{
	struct qrun	*run = q.current;

	if (run == NULL || run->id != bid || run->state != BC_SENDING)
		return NULL;
	if (q.store_failing || q.store_unreached)
		return q.store_reason;
	if (q.npools > 0 && relays_up(q.rv, q.npools) == 0)
		return queue_relay_reason();
	return NULL;
}

/*
 * What the engine knows of broadcast bid while it sends it, for status
 * when the store cannot be read and nothing was read of it before: the
 * state, total and counts as loaded and recorded here since (what other
 * nodes recorded since the load is not in them).  bc's strings are the
 * engine's, valid until the loop goes on.  bid 0: the current run.
 * 0, or -1: not the current run.
 */
int
queue_run_known(int64_t bid, struct broadcast *bc)
{
	struct qrun	*run = q.current;

	if (run == NULL || (bid != 0 && run->id != bid))
		return -1;
	memset(bc, 0, sizeof(*bc));
	bc->id = run->id;
	bc->state = run->state;
	bc->title = run->st_ok ? run->st.title : "";
	bc->subject = bc->title;
	bc->lang = run->lang;
	bc->total = run->total;
	bc->sent = run->counts[DLV_SENT];
	bc->deferred = run->counts[DLV_DEFERRED];
	bc->failed = run->counts[DLV_FAILED];
	bc->pending = bc->total - bc->sent - bc->deferred - bc->failed;
	if (bc->pending < 0)
		bc->pending = 0;
	return 0;
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

static void	queue_record(void);

/* The gap after a group is over: the next one goes. */
static void
queue_gtimer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	queue_record();
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

/*
 * News from the store: a broadcast stored (send, resend), all of one's
 * recipients taken (snapshot.c), one live seen by the watch.  A
 * selection read before it may say there is nothing to send, or that
 * the broadcast is still being taken, and may be waiting to be applied
 * at the very pump this kick makes (its done() and the news in the same
 * loop turn): applied, it would leave the broadcast queued with nothing
 * left to kick it.  So the news counts as a change (q.enter_gen), and
 * queue_select reads again.
 */
void
queue_news(void)
{
	q.enter_gen++;
	queue_kick();
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
 * Results are written a group at a time, each group one transaction on
 * the writer's thread (writer.c): runs of results through
 * store_dlv_record (guarded by the owner, adding to the broadcasts'
 * counts), releases and undone results as they come.  One group is out
 * at a time; what comes back meanwhile waits for the next (group
 * commit).  Only once a group is committed do the runs' counts (what
 * status and the log say) move and the runs it points at may go.
 */

/* The writer's thread: one transaction.  Touches nothing but g and st. */
static int
queue_group_write(struct store *st, void *arg)
{
	struct qgroup		*g = arg;
	struct qresult		*r;
	struct dlv_result	*d;
	struct dlv_tally	 t;
	size_t			 i, j, k;

	g->skipped = 0;
	if (g->crecords < g->n) {
		g->crecords = g->cap;
		g->records = xrealloc(g->records, g->crecords *
		    sizeof(*g->records));
	}
	if (store_begin(st, g->err, sizeof(g->err)) == -1)
		return -1;
	for (i = 0; i < g->n; i = j) {
		r = &g->results[i];
		j = i + 1;
		if (r->kind == QRES_RELEASE) {
			if (store_dlv_release(st, env->node, r->bid, &r->sid, 1,
			    NULL, g->err, sizeof(g->err)) == -1)
				goto fail;
			continue;
		}
		if (r->kind == QRES_POSTPONE) {
			if (store_dlv_postpone(st, env->node, r->bid, r->sid,
			    r->next_at, NULL, g->err, sizeof(g->err)) == -1)
				goto fail;
			continue;
		}
		if (r->kind == QRES_RESTORE) {
			if (store_dlv_restore(st, r->bid, r->sid,
			    (enum dlv_state)r->from, r->state, r->attempts,
			    NULL, g->err, sizeof(g->err)) == -1 ||
			    (r->bounce < 0 && store_sub_bounce(st, r->sid,
			    r->bid, 1, NULL, g->err, sizeof(g->err)) == -1))
				goto fail;
			continue;
		}
		/* a run of results: one call */
		for (j = i; j < g->n && g->results[j].kind == QRES_RECORD;
		    j++) {
			d = &g->records[j - i];
			r = &g->results[j];
			d->broadcast_id = r->bid;
			d->subscriber_id = r->sid;
			d->state = r->state;
			d->attempts = r->attempts;
			d->next_at = r->next_at;
			d->code = r->code;
			d->msg = r->msg;
		}
		if (store_dlv_record(st, env->node, g->records, j - i, &t,
		    g->err, sizeof(g->err)) == -1)
			goto fail;
		g->skipped += (int64_t)t.skipped;
		for (k = i; k < j; k++)
			if (g->results[k].bounce > 0 && store_sub_bounce(st,
			    g->results[k].sid, g->results[k].bid, 0, NULL,
			    g->err, sizeof(g->err)) == -1)
				goto fail;
	}
	if (store_commit(st, g->err, sizeof(g->err)) == 0)
		return 0;
fail:
	store_rollback(st);
	return -1;
}

/* The buffer and the group trade arrays, with what each holds. */
static void
queue_group_swap(void)
{
	struct qresult	*results = q.group.results;
	size_t		 cap = q.group.cap, n = q.group.n;

	q.group.results = q.results;
	q.group.cap = q.cresults;
	q.group.n = q.nresults;
	q.results = results;
	q.cresults = cap;
	q.nresults = n;
}

static void	queue_after_results(void);

/* The loop: a group came back from the writer, committed or not. */
static void
queue_group_done(void *arg, int rc)
{
	struct qgroup	*g = arg;
	struct qresult	*r;
	size_t		 i;

	q.group_out = 0;
	q.commits++;
	if (rc == -1) {
		/*
		 * Keep the results, in order, and try again when the retry is
		 * due: the messages were sent, and recording that is what
		 * matters.  Stop sending new ones until the store takes
		 * writes again.
		 */
		if (!q.store_failing)
			log_warnx("store: cannot record %zu results, will "
			    "retry: %s", g->n, g->err);
		snprintf(q.store_reason, sizeof(q.store_reason), "waiting "
		    "for store: %s", g->err);
		q.store_failing = 1;
		/* a lock held by another process is usually brief */
		q.store_retry_at = now_mono() + QUEUE_STORE_RETRY;
		queue_timer_at(QUEUE_STORE_RETRY);
		if (g->cap < g->n + q.nresults) {
			g->cap = g->n + q.nresults;
			g->results = xrealloc(g->results, g->cap *
			    sizeof(*g->results));
		}
		memcpy(g->results + g->n, q.results, q.nresults *
		    sizeof(*q.results));
		g->n += q.nresults;
		/* the group's array becomes the buffer (what failed first) */
		q.nresults = 0;
		queue_group_swap();
	} else {
		for (i = 0; i < g->n; i++) {
			r = &g->results[i];
			if (r->kind != QRES_RELEASE &&
			    r->kind != QRES_POSTPONE) {
				if (r->from != DLV_PENDING)
					r->run->counts[r->from]--;
				if (r->state == DLV_DROPPED)
					r->run->total--;
				else if (r->state != DLV_PENDING)
					r->run->counts[r->state]++;
			}
			r->run->refs--;
		}
		if (g->skipped > 0)
			log_warnx("store: %" PRId64 " results not recorded: "
			    "their claims had lapsed and another node took "
			    "them", g->skipped);
		if (q.store_failing)
			log_info("store: takes writes again");
		q.store_failing = 0;
		g->n = 0;
	}
	if (q.closing)
		return;			/* queue_record_last goes on */
	if (rc == 0)
		queue_notify_progress();
	queue_after_results();
}

/*
 * Results not yet committed, gathered or out.  Sending waits while
 * rate.batch_size of them do, so a crash resends at most that many
 * besides the messages with the sender threads (SPEC: "at most one
 * group"), however slow the disk.
 */
static size_t
queue_uncommitted(void)
{
	return q.nresults + (q.group_out ? q.group.n : 0);
}

static int
queue_uncommitted_full(void)
{
	return queue_uncommitted() >= (size_t)env->conf->rate_batch_size;
}

/* Hand what is buffered to the writer, unless a group is out. */
static void
queue_record(void)
{
	double	now;
	int	busy;

	if (q.nresults == 0 || q.group_out)
		return;
	/*
	 * Results gather for a gap after a group went: a commit per few
	 * results (one fsync each) cost more CPU than the loop's commits
	 * did.  At shutdown everything goes at once.
	 */
	if (!q.closing && !q.shutting_down && q.nresults < QUEUE_GROUP_MAX &&
	    !queue_uncommitted_full() && now_mono() < q.group_next) {
		if (!evtimer_pending(q.gtimer, NULL)) {
			struct timeval tv = { 0, (suseconds_t)((q.group_next -
			    now_mono()) * 1e6) + 1 };

			evtimer_add(q.gtimer, &tv);
		}
		return;
	}
	/*
	 * Failing (another process holds the lock, the disk is full): try
	 * again only when the retry is due, not with every group of results
	 * or request.
	 */
	if (q.store_failing && now_mono() + 0.005 < q.store_retry_at) {
		queue_timer_at(q.store_retry_at - now_mono());
		return;
	}
	queue_group_swap();		/* the group was empty */
	q.group_out = 1;
	writer_submit(env->writer, queue_group_write, queue_group_done,
	    &q.group);
	/*
	 * Results coming fast (QUEUE_GROUP_BUSY a second since the last
	 * group): a longer gap, so that each commit's fixed cost goes over
	 * more rows.  On a shared PostgreSQL (scripts/bench-scale, 4 nodes,
	 * 2026-12-07) groups of 12 cost the database 116 us a message,
	 * groups of 60 80 us.  A paced send keeps the short gap: what a
	 * stopped or killed node has not committed stays small.  Either way
	 * at most rate.batch_size wait (queue_uncommitted_full).
	 */
	now = now_mono();
	busy = q.group.n >= QUEUE_GROUP_BUSY * (now - q.group_at);
	q.group_at = now;
	q.group_next = now + (busy ? QUEUE_GROUP_GAP_BUSY : QUEUE_GROUP_GAP);
}

static void
queue_flush(void)
{
	queue_record();
}

/* queue_free: the jobs out (a claim's rows come back released), then
 * the rest, through the writer. */
static void
queue_record_last(void)
{
	int	tries;

	writer_finish(env->writer);
	/* twice at most: what the store still refuses, the next start
	 * releases (claims lapse; results are sent again) */
	for (tries = 0; q.nresults > 0 && tries < 2; tries++) {
		q.store_failing = 0;
		queue_record();
		writer_finish(env->writer);
	}
}

/* from and state: the delivery's state before and after. */
static void
queue_result_add(struct qrun *run, enum qres_kind kind, int64_t sid,
    int from, enum dlv_state state, int attempts, int64_t next_at, int code,
    int bounce, const char *msg)
{
	struct qresult	*r;

	if (q.nresults == q.cresults) {
		q.cresults = q.cresults ? q.cresults * 2 : 64;
		q.results = xrealloc(q.results, q.cresults * sizeof(*r));
	}
	r = &q.results[q.nresults++];
	r->kind = kind;
	r->bid = run->id;
	r->sid = sid;
	r->state = state;
	r->attempts = attempts;
	r->next_at = next_at;
	r->code = code;
	r->bounce = bounce;
	r->run = run;
	run->refs++;
	r->from = from;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
}

/* A claimed job that will not be sent now: back as it was, no attempt. */
static void
queue_result_release(struct qrun *run, int64_t sid)
{
	queue_result_add(run, QRES_RELEASE, sid, 0, DLV_PENDING, 0, 0, 0, 0,
	    NULL);
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

/*
 * A deferral's wait, in seconds: the delay the server's reply names
 * ("try again in 120 seconds"), within [retry.initial_delay,
 * QUEUE_HINT_MAX] (a server's own hint may exceed retry.max_delay),
 * else the backoff.
 */
static int64_t
queue_retry_wait(int attempts, const char *reply)
{
	long	hint = smtp_reply_delay(reply);

	if (hint < 0)
		return queue_backoff(attempts);
	if (hint < env->conf->retry_initial_delay)
		hint = env->conf->retry_initial_delay;
	if (hint > QUEUE_HINT_MAX)
		hint = QUEUE_HINT_MAX;
	return hint;
}

static void
queue_test_free(struct qtest *t)
{
	size_t	i;

	for (i = 0; i < t->nresults; i++) {
		free(t->results[i].email);
		free(t->results[i].msg);
	}
	free(t->results);
	render_free(t->render);
	statement_free(&t->st);
	free(t);
}

static void
queue_test_done(struct qjob *j)
{
	struct qtest			*t = j->test;
	struct queue_test_result	*r;

	r = &t->results[t->nresults++];
	r->email = xstrdup(j->email);
	r->result = smtp_strresult(j->sj.result);
	r->code = j->sj.code;
	r->msg = xstrdup(j->sj.msg);
	log_info("test %s: %s code=%d %s", j->email,
	    smtp_strresult(j->sj.result), j->sj.code, j->sj.msg);
	if (--t->left > 0)
		return;
	if (t->cb != NULL)
		t->cb(t->results, t->nresults, t->arg);
	queue_test_free(t);
}

static void	queue_retire(struct qrun *);
static void	qrun_drop_ready(struct qrun *);

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

/*
 * The store's clock (leases, due times are on it: the database's on
 * PostgreSQL) without asking it on the loop: the last claim's reading,
 * taken on the writer thread, plus the monotonic time since.
 */
static int64_t
queue_store_now(void)
{
	struct timespec	ts;

	if (q.snow_at > 0)
		return q.snow + (int64_t)((now_mono() - q.snow_at) * 1000);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A change of a broadcast's state, out to the writer. */
struct qenter {
	int64_t		 id;
	unsigned	 from;		/* states it may leave: 1 << state */
	enum bc_state	 to;
	char		*reason;
	char		 line[1024];	/* logged once stored */
	/* an API's change: the rest of it once stored (or refused) */
	void		(*then)(struct qenter *);
	core_done_cb	 cb;
	void		*arg;
	enum core_rc	 rc;
	char		 err[512];
	struct event	*retry;
};

#define QUEUE_ENGINE_FROM	(1u << BC_QUEUED | 1u << BC_SENDING)

static void	queue_enter_submit(struct qenter *);

/* The writer's thread: the store's state allows it?  Then write it. */
static int
queue_enter_work(struct store *st, void *arg)
{
	struct qenter		*e = arg;
	struct qstate_ctx	 c;

	memset(&c, 0, sizeof(c));
	e->rc = CORE_FAILED;
	if (store_begin(st, e->err, sizeof(e->err)) == -1)
		return -1;
	if (store_bc_get(st, e->id, queue_state_cb, &c, e->err,
	    sizeof(e->err)) == -1)
		goto fail;
	if (!c.found || !(e->from & (1u << c.state))) {
		e->rc = c.found ? CORE_CONFLICT : CORE_NOTFOUND;
		if (c.found)
			snprintf(e->err, sizeof(e->err), "broadcast %" PRId64
			    " is %s", e->id, store_bc_strstate(c.state));
		else
			snprintf(e->err, sizeof(e->err), "broadcast %" PRId64
			    ": no such broadcast", e->id);
		goto fail;
	}
	if ((c.state != e->to || e->to != BC_SENDING) &&
	    store_bc_set_state(st, e->id, e->to, e->reason, e->err,
	    sizeof(e->err)) == -1)
		goto fail;
	if (store_commit(st, e->err, sizeof(e->err)) == -1)
		goto fail;
	e->rc = CORE_OK;
	return 0;
 fail:
	store_rollback(st);
	return -1;
}

static void
qenter_free(struct qenter *e)
{
	if (e->retry != NULL)
		event_free(e->retry);
	free(e->reason);
	free(e);
}

static void
queue_enter_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	q.enter_out--;
	queue_enter_submit(arg);
}

/* The loop: the change is stored, refused, or the store failed. */
static void
queue_enter_done(void *arg, int rc)
{
	struct qenter	*e = arg;
	struct timeval	 tv = { 0, (suseconds_t)(QUEUE_STORE_RETRY * 1e6) };

	(void)rc;
	if (e->rc == CORE_OK) {
		if (e->to == BC_PAUSED && e->reason != NULL &&
		    strncmp(e->reason, "paused by", 9) != 0)
			log_warnx("broadcast %" PRId64 ": %s", e->id, e->line);
		else
			log_info("broadcast %" PRId64 ": %s", e->id, e->line);
	} else if (e->rc == CORE_FAILED && e->then == NULL && !q.closing) {
		/* the engine's: it acts on it already; the store is told
		 * again until it takes it (a restart would redo it) */
		log_warnx("broadcast %" PRId64 ": -> %s: %s; trying again",
		    e->id, store_bc_strstate(e->to), e->err);
		if (e->retry == NULL && (e->retry = evtimer_new(env->base,
		    queue_enter_retry_cb, e)) == NULL)
			fatalx("evtimer_new");
		evtimer_add(e->retry, &tv);
		return;			/* still out: enter_out stays */
	} else if (e->then == NULL)
		log_warnx("broadcast %" PRId64 ": -> %s: %s", e->id,
		    store_bc_strstate(e->to), e->err);
	q.enter_out--;
	if (e->then != NULL)
		e->then(e);
	qenter_free(e);
	queue_kick();
}

static void
queue_enter_submit(struct qenter *e)
{
	q.enter_out++;
	q.enter_gen++;
	writer_submit(env->writer, queue_enter_work, queue_enter_done, e);
}

static struct qenter * __attribute__((format(printf, 4, 0)))
qenter_new(int64_t id, enum bc_state to, const char *reason,
    const char *fmt, va_list ap)
{
	struct qenter	*e;

	e = xcalloc(1, sizeof(*e));
	e->id = id;
	e->to = to;
	e->reason = reason != NULL ? xstrdup(reason) : NULL;
	vsnprintf(e->line, sizeof(e->line), fmt, ap);
	return e;
}

/*
 * Every change of a broadcast's state goes through here or through
 * queue_bc_control (an API's, answered once stored): the store (with the reason, for paused), the run if
 * it has one, and one log line once stored, the caller's fmt (a warning
 * for a pause the engine decided, else info).  The engine's own changes
 * (here) take effect in memory at once and are written by the writer
 * thread after what is already out, guarded: only from queued or
 * sending, so a pause or cancel the store has already taken stays.  A
 * run that leaves "sending" is halted: senders skip its jobs they have
 * not begun.
 */
static void __attribute__((format(printf, 5, 6)))
queue_enter(struct qrun *run, int64_t id, enum bc_state to,
    const char *reason, const char *fmt, ...)
{
	struct qenter	*e;
	va_list		 ap;

	va_start(ap, fmt);
	e = qenter_new(id, to, reason, fmt, ap);
	va_end(ap);
	e->from = QUEUE_ENGINE_FROM;
	if (run != NULL) {
		run->state = to;
		atomic_store(&run->halted, to != BC_SENDING);
	}
	queue_enter_submit(e);
}

/*
 * A run paused or cancelled (queue_enter): its ready jobs go, and it
 * stops being the current one.  It may be freed here.
 */
static void
qrun_halt(struct qrun *run)
{
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
		queue_result_release(run, j->sid);
		qjob_free(j);
		return;
	}
	TAILQ_INSERT_HEAD(&run->ready, j, entry);
	run->nready++;
}

/* Pump again when the first relay out is due for its probe. */
static void
queue_relay_timer(void)
{
	struct timeval	tv;
	double		next = relays_next(q.rv, q.npools), secs;

	if (next < 0 || q.rtimer == NULL)
		return;
	secs = next - now_mono() + 0.001;
	if (secs < 0)
		secs = 0;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(q.rtimer, &tv);
}

static void
queue_rtimer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	queue_pump();
}

/*
 * The relay (qp) or its session failed: about nobody on the list.  That
 * relay is out (relays.c: a temporary fault for 1 s doubling to 30 s, a
 * permanent one for longer, then probed with one message) and the job,
 * released by the caller with no attempt spent, goes to another relay
 * at once, as do the jobs still queued for this one.  With no relay
 * left, a temporary fault holds the whole delivery back ("waiting") and
 * delivery resumes within about 30 s of a relay's return; permanent
 * faults from every relay pause the broadcast with the server's answer.
 */
static void
queue_relay_fault(struct qrun *run, struct qpool *qp, int probe, int perm,
    const char *what)
{
	char	reason[320];
	double	wait;

	if (qp->retired) {
		queue_kick();	/* the old settings' relay: not news */
		return;
	}
	wait = relay_fault(&qp->relay, perm, probe, what, now_mono(),
	    &q.seed);
	if (wait > 0)
		smtp_pool_recall(qp->pool);	/* its queue: to the others */
	if (perm && relays_refused(q.rv, q.npools)) {
		if (run->state != BC_SENDING)
			return;
		snprintf(reason, sizeof(reason), "relay refused: %s", what);
		notify_status("broadcast %" PRId64 " paused: %s", run->id,
		    reason);
		queue_flush();
		queue_enter(run, run->id, BC_PAUSED, reason, "paused: %s",
		    reason);
		qrun_halt(run);
		return;
	}
	if (wait > 0) {
		if (q.npools > 1)
			log_warnx("relay %s: %s: %s; next try in %.1f s, %zu "
			    "of %zu relays up", qp->relay.name,
			    relay_strstate(qp->relay.state), what, wait,
			    relays_up(q.rv, q.npools), q.npools);
		if (relays_up(q.rv, q.npools) == 0) {
			log_warnx("broadcast %" PRId64 ": %s; next try in "
			    "%.1f s", run->id, queue_relay_reason(), wait);
			notify_status("broadcast %" PRId64 ": %s", run->id,
			    q.relay_reason);
		}
		queue_relay_timer();
	}
	queue_kick();
}

/* A relay answered about a recipient: it is up (again). */
static void
queue_relay_answered(struct qpool *qp)
{
	size_t	up;

	if (qp->retired || !relay_ok(&qp->relay))
		return;
	up = relays_up(q.rv, q.npools);
	if (q.npools > 1)
		log_info("relay %s answers again, %zu of %zu relays up%s",
		    qp->relay.name, up, q.npools, up == 1 ?
		    "; delivery resumes" : "");
	else
		log_info("relay answers again; delivery resumes");
	q.relay_reason[0] = '\0';
}

/* New settings, or a broadcast resumed: every relay is tried at once. */
static void
queue_relay_ok(void)
{
	size_t	i;
	int	was = 0;

	for (i = 0; i < q.npools; i++)
		was |= relay_reset(q.rv[i]);
	if (was)
		log_info("relays: every one is tried again");
	q.relay_reason[0] = '\0';
}

/* Forget the run of refusals (another answer came between). */
static void
queue_refusals_reset(struct qrefusals *rr)
{
	size_t	i;

	for (i = 0; i < rr->n; i++)
		rr->v[i].run->refs--;
	rr->n = 0;
	rr->total = 0;
	rr->relay = 0;
	rr->domains = 0;
	rr->code = 0;
	rr->enh[0] = '\0';
}

/* A relay's pool is freed: its run of refusals too. */
static void
queue_refusals_free(struct qrefusals *rr)
{
	queue_refusals_reset(rr);
	free(rr->v);
	rr->v = NULL;
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
queue_refusal_is_relay(struct qrefusals *rr, struct smtp_job *sj)
{
	if (rr->total > 0 && (sj->code != rr->code ||
	    strcmp(sj->enh, rr->enh) != 0))
		queue_refusals_reset(rr);
	if (rr->relay)
		rr->total++;
	return rr->relay;
}

/*
 * A refusal to RCPT, just recorded as the recipient's (from -> to).  Is
 * it the one that shows the run is the relay's?  Then undo every one of
 * the run, this one too, and return 1: a relay fault.
 */
static int
queue_refusal(struct qrefusals *rr, struct qrun *run, struct qjob *j,
    struct smtp_job *sj, int from, int to, int bounced)
{
	struct qrefusal	*f;
	size_t		 i;

	if (rr->total == 0) {
		rr->code = sj->code;
		snprintf(rr->enh, sizeof(rr->enh), "%s", sj->enh);
		snprintf(rr->domain, sizeof(rr->domain), "%s",
		    queue_domain(j->email));
	} else if (strcasecmp(rr->domain, queue_domain(j->email)) != 0)
		rr->domains = 2;
	rr->total++;
	if (rr->n < QUEUE_RUN_KEEP) {
		if (rr->v == NULL)
			rr->v = xcalloc(QUEUE_RUN_KEEP, sizeof(*rr->v));
		f = &rr->v[rr->n++];
		f->run = run;
		run->refs++;
		f->sid = j->sid;
		f->from = from;
		f->to = to;
		f->attempts = j->attempts;
		f->bounced = bounced;
	}
	if (rr->total < QUEUE_RUN_MIN || rr->domains < 2)
		return 0;

	/* the relay's: undo each one, this one included */
	rr->relay = 1;
	log_warnx("broadcast %" PRId64 ": %d recipients in more than one "
	    "domain refused in a row with the same answer, the relay's: "
	    "none is bounced or charged: %s", run->id, rr->total, sj->msg);
	for (i = 0; i < rr->n; i++) {
		f = &rr->v[i];
		queue_result_add(f->run, QRES_RESTORE, f->sid, f->to,
		    (enum dlv_state)f->from, f->attempts, 0, 0,
		    f->bounced ? -1 : 0, NULL);
		if (f->to == DLV_FAILED)
			q.total_failed--;
		else if (f->to == DLV_DEFERRED)
			q.total_deferred--;
		f->run->refs--;
	}
	rr->n = 0;
	return 1;
}

/*
 * The destination asks to slow down: a 4.7.x to MAIL, RCPT, DATA or the
 * final dot, or a 421 at connect or to MAIL.  Its group slows (pacing.c:
 * halved, then back by a tenth of its rate a second); the other groups
 * go on at theirs.  A 4.7.x is about neither the recipient nor the
 * relay: the job goes back with no attempt spent, ready again once the
 * slowed group reaches it, or postponed for the delay the reply names
 * (within [retry.initial_delay, 6 h]).  A 421 without 4.7.x stays a
 * relay fault.  1: the job was dealt with here.
 */
static int
queue_throttle(struct qrun *run, struct qjob *j, struct qpool *qp)
{
	struct smtp_job	*sj = &j->sj;
	long		 hint;
	int		 is47, is421;

	if (sj->result == SMTP_CANCELLED || sj->result == SMTP_OK)
		return 0;
	is47 = sj->code >= 400 && sj->code < 500 &&
	    strncmp(sj->enh, "4.7.", 4) == 0 && (sj->phase ==
	    SMTP_PHASE_CONNECT || sj->phase == SMTP_PHASE_MAIL ||
	    sj->phase == SMTP_PHASE_RCPT || sj->phase == SMTP_PHASE_DATA ||
	    sj->phase == SMTP_PHASE_DOT);
	is421 = sj->code == 421 && (sj->phase == SMTP_PHASE_CONNECT ||
	    sj->phase == SMTP_PHASE_MAIL);
	if (!is47 && !is421)
		return 0;
	if (pacing_slow(j->pg, now_mono()))
		log_warnx("destination %s: asked to slow down, now %.2f "
		    "messages a second (pacing: %.2f): %s: %.300s", j->pg->key,
		    pacing_rate_now(j->pg, now_mono()), j->pg->rate,
		    smtp_strphase(sj->phase), sj->msg);
	if (!is47)
		return 0;
	queue_relay_answered(qp);
	if ((hint = smtp_reply_delay(sj->msg)) > 0) {
		if (hint < env->conf->retry_initial_delay)
			hint = env->conf->retry_initial_delay;
		if (hint > QUEUE_HINT_MAX)
			hint = QUEUE_HINT_MAX;
		queue_result_add(run, QRES_POSTPONE, j->sid, 0, DLV_PENDING,
		    j->attempts, queue_store_now() + (int64_t)hint *
		    1000, 0, 0, NULL);
		qjob_free(j);
		return 1;
	}
	queue_release(run, j);
	return 1;
}

static void
queue_done_cb(struct smtp_job *sj, void *arg)
{
	struct qjob	*j = sj->udata;
	struct qrun	*run = j->run;
	struct qpool	*qp = arg;	/* the relay it went to */
	int		 attempts = j->attempts + 1;
	int		 from = j->attempts > 0 ? DLV_DEFERRED : DLV_PENDING;
	int		 to, perm, probe = j->probe, relay_run = 0, mailbox;

	j->probe = 0;
	if (probe && !qp->retired)
		qp->relay.probe = 0;	/* back: another may go */
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
	if (j->pg != NULL) {
		pacing_done(j->pg, sj->result == SMTP_OK);
		if (queue_throttle(run, j, qp))
			return;
	}
	/* a refusal that goes on a run found to be this relay's is its
	 * fault, not an answer about the recipient; a 4.2.x (mailbox
	 * busy, full, disabled) is about that mailbox alone: it retries
	 * that recipient only, and breaks any run */
	mailbox = sj->code >= 400 && sj->code < 500 &&
	    strncmp(sj->enh, "4.2.", 4) == 0;
	if (mailbox && sj->result == SMTP_RCPT_TEMP)
		queue_refusals_reset(&qp->rr);
	else if ((sj->result == SMTP_RCPT_TEMP && sj->phase ==
	    SMTP_PHASE_RCPT && sj->code >= 400) || sj->result == SMTP_RCPT_PERM)
		relay_run = queue_refusal_is_relay(&qp->rr, sj);
	if (!relay_run && sj->result != SMTP_RELAY_TEMP &&
	    sj->result != SMTP_RELAY_PERM && sj->result != SMTP_CANCELLED &&
	    sj->result != SMTP_RENDER_FAIL)
		queue_relay_answered(qp);	/* about the recipient */
	switch (sj->result) {
	case SMTP_OK:
		qp->relay.sent++;
		queue_result_add(run, QRES_RECORD, j->sid, from, DLV_SENT, attempts, 0,
		    sj->code, 0, sj->msg);
		queue_window_add();
		q.total_sent++;
		q.msg_faults = 0;
		queue_refusals_reset(&qp->rr);
		break;
	case SMTP_RCPT_TEMP:
		if (relay_run) {
			queue_release(run, j);
			queue_relay_fault(run, qp, probe, 0, sj->msg);
			return;
		}
		if (attempts >= env->conf->retry_max_attempts) {
			log_info("broadcast %" PRId64 " rcpt=%s failed after "
			    "%d attempts: %s", run->id, j->email, attempts,
			    sj->msg);
			to = DLV_FAILED;
			queue_result_add(run, QRES_RECORD, j->sid, from, to, attempts, 0,
			    sj->code, 0, sj->msg);
			q.total_failed++;
		} else {
			to = DLV_DEFERRED;
			queue_result_add(run, QRES_RECORD, j->sid, from, to, attempts,
			    queue_store_now() +
			    queue_retry_wait(attempts, sj->msg) * 1000,
			    sj->code, 0, sj->msg);
			q.total_deferred++;
		}
		if (sj->phase == SMTP_PHASE_RCPT && sj->code >= 400 &&
		    !mailbox && queue_refusal(&qp->rr, run, j, sj, from, to, 0))
			queue_relay_fault(run, qp, probe, 0, sj->msg);
		break;
	case SMTP_RCPT_PERM:
		if (relay_run) {
			queue_release(run, j);
			queue_relay_fault(run, qp, probe, 1, sj->msg);
			return;
		}
		log_info("broadcast %" PRId64 " rcpt=%s failed (bounced): "
		    "%s: %s", run->id, j->email, smtp_strphase(sj->phase),
		    sj->msg);
		queue_result_add(run, QRES_RECORD, j->sid, from, DLV_FAILED, attempts, 0,
		    sj->code, 1, sj->msg);
		q.total_failed++;
		if (queue_refusal(&qp->rr, run, j, sj, from, DLV_FAILED, 1))
			queue_relay_fault(run, qp, probe, 1, sj->msg);
		break;
	case SMTP_MSG_PERM:
		log_info("broadcast %" PRId64 " rcpt=%s message refused: %s: "
		    "%s", run->id, j->email, smtp_strphase(sj->phase),
		    sj->msg);
		queue_result_add(run, QRES_RECORD, j->sid, from, DLV_FAILED, attempts, 0,
		    sj->code, 0, sj->msg);
		q.total_failed++;
		queue_refusals_reset(&qp->rr);
		if (++q.msg_faults >= QUEUE_MSG_FAULTS) {
			char	what[320];

			snprintf(what, sizeof(what), "%d messages in a row "
			    "refused: %.280s", q.msg_faults, sj->msg);
			q.msg_faults = 0;
			queue_relay_fault(run, qp, probe, 1, what);
		}
		break;
	case SMTP_RELAY_TEMP:
	case SMTP_RELAY_PERM:
		/* about nobody on the list: no attempt spent, again later */
		perm = sj->result == SMTP_RELAY_PERM;
		{
			char	what[320];

			snprintf(what, sizeof(what), "%s: %.300s",
			    smtp_strphase(sj->phase), sj->msg);
			/* first: a pause may free the run */
			queue_release(run, j);
			queue_relay_fault(run, qp, probe, perm, what);
		}
		return;
	case SMTP_RENDER_FAIL:
		if (queue_is_stopped(j->sid)) {
			queue_result_add(run, QRES_RECORD, j->sid, from,
			    DLV_DROPPED, 0, 0, 0, 0, NULL);
			break;
		}
		log_warnx("broadcast %" PRId64 " rcpt=%s cannot render: %s",
		    run->id, j->email, sj->msg);
		queue_result_add(run, QRES_RECORD, j->sid, from, DLV_FAILED, attempts, 0,
		    0, 0, sj->msg);
		q.total_failed++;
		break;
	case SMTP_CANCELLED:
		if (sj->recalled && !j->skipped) {
			/* its relay went out: to another one */
			queue_release(run, j);
			return;
		}
		/* never attempted: back as it was */
		queue_result_release(run, j->sid);
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
		queue_refusals_free(&p->rr);
		free(p);
	}
}

/*
 * Results came back (from the senders or the writer): hand them on, then
 * send more; or, shutting down, tell main once nothing is in flight (only
 * main ends the loop).
 */
static void
queue_after_results(void)
{
	queue_record();
	if (q.shutting_down) {
		if (!queue_busy() && q.drained != NULL)
			q.drained(q.drained_arg);
		return;
	}
	queue_pump();
}

static void
queue_batch_cb(void *arg)
{
	(void)arg;
	queue_after_results();
}

/* Give back what was claimed and not handed out (released at the next
 * commit). */
static void
qrun_drop_ready(struct qrun *run)
{
	struct qjob	*j;

	while ((j = TAILQ_FIRST(&run->ready)) != NULL) {
		TAILQ_REMOVE(&run->ready, j, entry);
		queue_result_release(run, j->sid);
		qjob_free(j);
	}
	run->nready = 0;
}

/* Only once nothing points at it: no job, no result (refs). */
static void
qrun_free(struct qrun *run)
{
	size_t	i;

	render_free(run->render);
	if (run->st_ok)
		statement_free(&run->st);
	for (i = 0; i < run->nvers; i++) {
		render_free(run->vers[i].render);
		statement_free(&run->vers[i].st);
	}
	free(run->vers);
	free(run->langs);
	free(run);
}

/*
 * The version a subscriber gets: their language's, else their base
 * language's (pt for pt-BR), else the default.  Rendered once a run, so
 * a message costs the same however many languages there are.
 */
static struct render *
qrun_render_for(const struct qrun *run, const char *lang)
{
	int	i;

	if (run->nvers == 0 || lang == NULL || *lang == '\0')
		return run->render;
	i = lang_pick(lang, run->langs, run->nvers + 1);
	return i <= 0 ? run->render : run->vers[i - 1].render;
}

struct qrun_tr {
	struct qrun	*run;
	int64_t		 id;
	time_t		 date;
	int		 failed;
	char		 err[512];
};

/* Render a run's version in another language (the loop's read). */
static int
qrun_tr_cb(const struct bc_translation *t, void *arg)
{
	struct qrun_tr	*x = arg;
	struct qrun	*run = x->run;
	struct qver	*v;
	int		 st_ok = 0;
	char		 why[400];

	if (run->nvers + 1 >= QUEUE_LANGS_MAX)
		return 0;
	run->vers = xrealloc(run->vers, (run->nvers + 1) * sizeof(*v));
	v = &run->vers[run->nvers];
	memset(v, 0, sizeof(*v));
	snprintf(v->lang, sizeof(v->lang), "%s", t->lang);
	v->render = queue_render_new(x->id, t->source, t->markdown,
	    t->subject, x->date, v->lang, v->lang, &v->st, &st_ok, why,
	    sizeof(why));
	if (v->render == NULL) {
		snprintf(x->err, sizeof(x->err), "%s: %s", t->lang, why);
		x->failed = 1;
		return -1;
	}
	run->nvers++;
	return 0;
}

/* A run's other languages: 0, or -1 with err (it cannot be sent), or -2
 * (the store did not answer: try again later). */
static int
qrun_versions(struct qrun *run, time_t date, const struct pub_snap *ps,
    char *err, size_t errlen)
{
	struct qrun_tr	x;
	size_t		i;

	memset(&x, 0, sizeof(x));
	x.run = run;
	x.id = run->id;
	x.date = date;
	if (pub_snap_translations(ps, run->id, qrun_tr_cb, &x, err,
	    errlen) == -1)
		return -2;
	if (x.failed) {
		snprintf(err, errlen, "%s", x.err);
		return -1;
	}
	run->langs = xcalloc(run->nvers + 1, sizeof(*run->langs));
	run->langs[0] = run->lang;
	for (i = 0; i < run->nvers; i++)
		run->langs[i + 1] = run->vers[i].lang;
	return 0;
}

struct qrun_load {
	int64_t		 id;
	enum bc_state	 state;
	char		 lang[LANG_MAX];
	char		*source;
	char		*subject;
	int		 markdown;
	int64_t		 created;
	int64_t		 total, sent, deferred, failed;
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
	snprintf(l->lang, sizeof(l->lang), "%s", bc->lang ? bc->lang : "");
	l->markdown = bc->markdown;
	l->created = bc->created;
	l->total = bc->total;
	l->sent = bc->sent;
	l->deferred = bc->deferred;
	l->failed = bc->failed;
	l->snapping = bc->snapping;
	return 0;
}

/*
 * queue_select's read, on the reader thread: the oldest queued or
 * sending broadcast, and its translations.  The loop applies it at its
 * next pump, unless a change of state was submitted since (read again).
 */
struct qsel {
	struct qrun_load	 l;
	struct pub_snap		*ps;
	uint64_t		 gen;		/* q.enter_gen when asked */
	int			 again;		/* pumped while it was out */
	int			 rc;
	char			 err[512];
};

static int
queue_select_work(struct store *st, void *arg)
{
	struct qsel	*s = arg;

	if (store_bc_list(st, 1000000, queue_pick_cb, &s->l, s->err,
	    sizeof(s->err)) == -1)
		return -1;
	if (s->l.id == 0 || s->l.snapping)
		return 0;
	s->ps = pub_snap_new(s->l.id, 0, 1);
	if (pub_snap_work(st, s->ps) == -1) {
		snprintf(s->err, sizeof(s->err), "%s", pub_snap_err(s->ps));
		return -1;
	}
	return 0;
}

static void
qsel_free(struct qsel *s)
{
	if (s == NULL)
		return;
	free(s->l.source);
	free(s->l.subject);
	pub_snap_free(s->ps);
	free(s);
}

static void
queue_select_done(void *arg, int rc)
{
	struct qsel	*s = arg;

	q.sel_out = 0;
	s->rc = rc;
	s->again = q.sel_again;
	q.sel_again = 0;
	qsel_free(q.sel);
	q.sel = s;
	queue_kick();
}

static struct qrun *queue_select_apply(struct qrun_load,
    const struct pub_snap *);

/*
 * Make the oldest queued or sending broadcast the current run: asked of
 * the reader thread at one pump, applied at the pump its answer kicks.
 * A pump asks again only when kicked again (a new broadcast, a change).
 */
static struct qrun *
queue_select(void)
{
	struct qsel	*s;
	struct qrun	*run;

	/* the store's states are this loop's once no change is out */
	if (q.enter_out > 0)
		return NULL;
	if (q.sel_out) {
		q.sel_again = 1;
		return NULL;
	}
	s = q.sel;
	q.sel = NULL;
	if (s != NULL && s->rc == -1) {
		log_warnx("store: %s", s->err);
		qsel_free(s);
		return NULL;
	}
	if (s == NULL || s->gen != q.enter_gen || (s->again &&
	    (s->l.id == 0 || s->l.snapping))) {
		qsel_free(s);
		s = xcalloc(1, sizeof(*s));
		s->gen = q.enter_gen;
		q.sel_out = 1;
		reader_submit(queue_select_work, queue_select_done, s);
		return NULL;
	}
	run = queue_select_apply(s->l, s->ps);
	s->l.source = s->l.subject = NULL;	/* the apply's */
	qsel_free(s);
	return run;
}

static struct qrun *
queue_select_apply(struct qrun_load l, const struct pub_snap *ps)
{
	struct qrun		*run;
	char			 err[512];
	int			 rc = 0;

	if (l.id == 0 || l.snapping) {
		/* still taking the oldest one's recipients: it goes first,
		 * when snapshot.c has them all */
		free(l.source);
		free(l.subject);
		return NULL;
	}
	/*
	 * Paused and resumed while its last jobs were still out: take the
	 * same run back (its jobs in flight are still claimed: nobody takes
	 * them twice).
	 */
	TAILQ_FOREACH(run, &q.runs, entry)
		if (run->id == l.id)
			break;
	if (run != NULL) {
		TAILQ_REMOVE(&q.runs, run, entry);
		TAILQ_INSERT_HEAD(&q.runs, run, entry);
		queue_enter(run, l.id, BC_SENDING, NULL, "sending again");
		free(l.source);
		free(l.subject);
		return run;
	}
	run = xcalloc(1, sizeof(*run));
	run->id = l.id;
	run->total = l.total;
	TAILQ_INIT(&run->ready);
	/* the broadcast's own counts, kept by every record: counting its
	 * deliveries here read all of them on the loop (about 150 ms and
	 * 8 MB of page cache at a million) */
	run->counts[DLV_SENT] = l.sent;
	run->counts[DLV_DEFERRED] = l.deferred;
	run->counts[DLV_FAILED] = l.failed;
	snprintf(run->lang, sizeof(run->lang), "%s", l.lang);
	run->render = queue_render_new(l.id, l.source, l.markdown, l.subject,
	    (time_t)l.created, run->lang, NULL, &run->st, &run->st_ok, err,
	    sizeof(err));
	if (run->render != NULL && (rc = qrun_versions(run,
	    (time_t)l.created, ps, err, sizeof(err))) == -2) {
		log_warnx("broadcast %" PRId64 ": store: %s", l.id, err);
		goto fail;		/* as a failed list: tried again */
	}
	if (run->render == NULL || rc == -1) {
		/* templates or statement broken since it was accepted */
		char	why[600];

		snprintf(why, sizeof(why), "cannot render: %s", err);
		queue_enter(NULL, l.id, BC_PAUSED, why, "paused: %s", why);
		goto fail;
	}
	queue_enter(run, l.id, BC_SENDING, NULL, "sending, total=%" PRId64
	    " sent=%" PRId64 " deferred=%" PRId64 " failed=%" PRId64,
	    run->total, run->counts[DLV_SENT], run->counts[DLV_DEFERRED],
	    run->counts[DLV_FAILED]);
	free(l.source);
	free(l.subject);
	TAILQ_INSERT_HEAD(&q.runs, run, entry);
	return run;
fail:
	free(l.source);
	free(l.subject);
	qrun_free(run);
	return NULL;
}

/* The loop: a claimed row becomes a job, or is dropped if they left. */
static void
queue_claim_take(struct qrun *run, const struct qclaim_row *d)
{
	struct qjob	*j;
	char		*from;

	if (!d->active || queue_is_stopped(d->sid)) {
		/* left since the broadcast was made: not a recipient now */
		queue_result_add(run, QRES_RECORD, d->sid,
		    d->attempts > 0 ? DLV_DEFERRED : DLV_PENDING, DLV_DROPPED, 0,
		    0, 0, 0, NULL);
		return;
	}
	j = qjob_new(QJOB_BROADCAST, d->sid, d->email, d->name, d->fields);
	if ((from = bounces_sender(run->id, d->sid)) != NULL) {
		free(j->from);		/* b-TOKEN@bounce.domain: VERP */
		j->sj.mail_from = j->from = from;
	}
	j->run = run;
	j->attempts = d->attempts;
	j->render = qrun_render_for(run, d->lang);
	j->sj.id = (uint64_t)d->sid;
	j->sj.metered = 1;		/* a rate token as it starts */
	j->sj.halted = &run->halted;
	j->pg = pacing_group_of(d->email);
	j->mx_wait = j->pg == NULL;	/* waits (not failed) for its MX */
	j->epoch = beat_epoch();
	TAILQ_INSERT_TAIL(&run->ready, j, entry);
	run->nready++;
}

/* The writer thread: copy a claimed row (its strings are the store's). */
static int
queue_claim_row_cb(const struct delivery *d, void *arg)
{
	struct qclaim		*c = arg;
	struct qclaim_row	*r;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->rows = xrealloc(c->rows, c->cap * sizeof(*c->rows));
	}
	r = &c->rows[c->n++];
	r->sid = d->subscriber_id;
	r->email = xstrdup(d->email);
	r->name = d->name ? xstrdup(d->name) : NULL;
	r->fields = d->fields ? xstrdup(d->fields) : NULL;
	r->attempts = d->attempts;
	r->active = d->active;
	snprintf(r->lang, sizeof(r->lang), "%s", d->lang ? d->lang : "");
	return 0;
}

/* The writer thread: claim; if nothing, is it settled, when is one due. */
static int
queue_claim_work(struct store *st, void *arg)
{
	struct qclaim	*c = arg;

	c->n = 0;
	c->settled = 0;
	c->due = -1;
	c->now = store_now_ms(st);
	c->at = now_mono();
	if (store_dlv_claim_rows(st, c->bid, env->node, c->now,
	    QUEUE_LEASE_MS, c->batch, queue_claim_row_cb, c, c->err,
	    sizeof(c->err)) == -1)
		return -1;
	if (c->n > 0)
		return 0;
	if (store_bc_settled(st, c->bid, &c->settled, c->err,
	    sizeof(c->err)) == -1)
		return -1;
	if (!c->settled && store_dlv_next_due(st, c->bid, &c->due, c->err,
	    sizeof(c->err)) == -1)
		return -1;
	return 0;
}

/* The loop: the claimed rows become jobs, or go back if the run stopped. */
/* A claim or slot reservation failed (why: err) or went through (NULL). */
static void
queue_unreached(const char *err)
{
	if (err != NULL) {
		snprintf(q.store_reason, sizeof(q.store_reason), "waiting "
		    "for store: %s", err);
		q.store_unreached = 1;
		return;
	}
	if (q.store_unreached)
		log_info("store: answers again");
	q.store_unreached = 0;
}

static void
queue_claim_done(void *arg, int rc)
{
	struct qclaim		*c = arg;
	struct qrun		*run = c->run;
	struct qclaim_row	*r;
	size_t			 i, n = c->n;
	int			 take;

	q.claim_out = 0;
	run->refs--;
	if (rc == 0) {			/* queue_store_now's */
		q.snow = c->now;
		q.snow_at = c->at;
	}
	/* rows seen before a failed commit are not claimed: not sent */
	take = rc == 0 && run == q.current && run->state == BC_SENDING &&
	    !q.shutting_down && !q.closing && beat_ok(beat_epoch());
	for (i = 0; i < n; i++) {
		r = &c->rows[i];
		if (take)
			queue_claim_take(run, r);
		else
			queue_result_release(run, r->sid);
		free(r->email);
		free(r->name);
		free(r->fields);
	}
	c->n = 0;
	if (q.closing)
		return;			/* queue_record_last goes on */
	if (rc == -1) {
		if (!q.store_unreached)
			log_warnx("broadcast %" PRId64 ": claim: %s", c->bid,
			    c->err);
		queue_unreached(c->err);
		queue_timer_at(1.0);
		return;
	}
	queue_unreached(NULL);
	if (!take) {
		queue_flush();
		return;
	}
	run->dry_at = n < (size_t)c->batch ? c->at : 0;
	/* rows (or only dropped ones: claim more), or results committed
	 * since it was asked (its answer may be stale): again */
	if (n > 0 || c->commits != q.commits) {
		queue_pump();
		return;
	}
	/* nothing claimable now */
	if (run->inflight > 0 || q.nresults > 0 || q.group_out)
		return;			/* their results pump */
	if (c->settled) {
		run->settled = 1;
		queue_pump();		/* finishes it */
		return;
	}
	/* deferred ones: until the first is due; else claimed by another
	 * node: until its lease may have lapsed (on a shared store, its
	 * heartbeat expired) */
	queue_timer_at(c->due >= 0 ? (double)(c->due - c->now) / 1000 +
	    0.01 : q.pdue > now_mono() ? QUEUE_PACE_POLL :
	    env->shared ? 2.0 : 5.0);
}

/*
 * On a shared store the other nodes change broadcasts too (pause,
 * resume, cancel, a new one, the end).  Every QUEUE_WATCH_EVERY the
 * writer thread reads the current run's state and the oldest broadcast
 * queued or sending (one small statement, no store call on the loop):
 * a run stopped elsewhere is halted here as a local pause or cancel
 * would (not stored again: the store has it), and a broadcast sent or
 * resumed elsewhere is taken up when this node is idle.  It also reads
 * which of this node's claims are of subscribers who left through
 * another node (unsubscribed, bounced), and stops them here as a local
 * unsubscribe does: none of them gets a message more than 0.4 s on.
 */
#define QUEUE_WATCH_GONE	256	/* gone subscribers per look */

struct qwatch {
	int64_t		 id;		/* the current run's, or 0 */
	uint64_t	 gen;		/* q.enter_gen when asked */
	int		 state;
	int64_t		 live;
	int64_t		 gone[QUEUE_WATCH_GONE];
	int		 ngone;
	char		 err[256];
};
static struct qwatch	 qw;

static int
queue_watch_work(struct store *st, void *arg)
{
	struct qwatch	*w = arg;

	w->ngone = 0;
	if (w->id != 0 && store_dlv_gone(st, w->id, env->node, w->gone,
	    QUEUE_WATCH_GONE, &w->ngone, w->err, sizeof(w->err)) == -1)
		return -1;
	return store_bc_watch(st, w->id, &w->state, &w->live, w->err,
	    sizeof(w->err));
}

static void
queue_watch_done(void *arg, int rc)
{
	struct qwatch	*w = arg;
	struct qrun	*run = q.current;
	char		 why[512];
	int		 i;

	q.watch_out = 0;
	if (rc != 0 || q.closing)
		return;
	/* left through another node: stopped here too (also while this
	 * node drains after SIGTERM) */
	for (i = 0; i < w->ngone; i++)
		if (!queue_is_stopped(w->gone[i])) {
			log_info("broadcast %" PRId64 " subscriber %" PRId64
			    ": gone through another node: not sent", w->id,
			    w->gone[i]);
			queue_subscriber_stop(w->gone[i]);
		}
	if (q.shutting_down)
		return;
	/* a change of this node's crossed the look: its own word wins */
	if (w->gen != q.enter_gen || q.enter_out > 0)
		return;
	if (run != NULL && run->id == w->id && run->state == BC_SENDING &&
	    (w->state == BC_PAUSED || w->state == BC_CANCELLED ||
	    w->state == BC_DONE)) {
		log_info("broadcast %" PRId64 ": %s on another node", run->id,
		    store_bc_strstate((enum bc_state)w->state));
		run->state = (enum bc_state)w->state;
		qrun_halt(run);
		if (w->state == BC_CANCELLED && feed_update(why,
		    sizeof(why)) == -1)
			log_warnx("feed: %s", why);
		queue_kick();
		return;
	}
	if (q.current == NULL && w->live != 0)
		queue_news();
}

static void
queue_wtimer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (q.watch_out || q.closing)
		return;
	qw.id = q.current != NULL ? q.current->id : 0;
	qw.gen = q.enter_gen;
	q.watch_out = 1;
	writer_submit(env->writer, queue_watch_work, queue_watch_done, &qw);
}

/* Pump again in secs: a destination group's next token, a claim held. */
static void
queue_ptimer_at(double secs)
{
	struct timeval	tv;

	if (q.ptimer == NULL)
		return;
	if (secs < 0.001)
		secs = 0.001;
	/* the earlier of the two: a group's token is not put off by a
	 * held claim */
	if (evtimer_pending(q.ptimer, NULL) && q.ptimer_at <= now_mono() +
	    secs)
		return;
	q.ptimer_at = now_mono() + secs;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(q.ptimer, &tv);
}

/*
 * One rate across the nodes of a shared store: the sender threads take
 * slots granted from reservations in the store (rate_share, rate_grant)
 * instead of the bucket.  While a run sends, the loop keeps about
 * QUEUE_SLOTS_AHEAD of them ahead, reserving max(1, rate x 0.1 s) at a
 * time through the writer thread (store_rate_reserve: a GCRA row per
 * broadcast on the store's clock, so the nodes' slots never overlap).
 */
#define QUEUE_SLOTS_AHEAD	0.1	/* seconds of slots ahead */
#define QUEUE_SLOTS_EVERY	0.02	/* seconds between looks */

struct qslots {
	int64_t		 bid;
	double		 mps;
	int		 n;
	int64_t		 wait_us;
	double		 at;		/* now_mono() as the store answered */
	char		 err[256];
};
static struct qslots	 qs;

static int
queue_slots_work(struct store *st, void *arg)
{
	struct qslots	*s = arg;
	int		 rc;

	rc = store_rate_reserve(st, s->bid, s->mps, s->n, &s->wait_us,
	    s->err, sizeof(s->err));
	s->at = now_mono();
	return rc;
}

static void
queue_slots_done(void *arg, int rc)
{
	struct qslots	*s = arg;

	q.slots_out = 0;
	if (rc == -1) {
		/* one line, not one a tick while the store is out of reach */
		if (!q.store_unreached)
			log_warnx("broadcast %" PRId64 ": rate: %s", s->bid,
			    s->err);
		queue_unreached(s->err);
		q.slots_retry_at = now_mono() + QUEUE_STORE_RETRY;
		return;
	}
	queue_unreached(NULL);
	if (rc == 0 && rate_grant(&q.rate, s->at + (double)s->wait_us / 1e6,
	    s->n) == -1)
		log_warnx("broadcast %" PRId64 ": rate: slots granted "
		    "faster than taken", s->bid);
}

static void
queue_stimer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qrun	*run = q.current;
	double		 mps = env->conf->rate_mps;

	(void)fd;
	(void)what;
	(void)arg;
	/* none for a node with nothing to send: unused slots are lost
	 * to every node (a broadcast's last rows); jobs handed to the
	 * senders wait for their slots too */
	if (q.slots_out || q.closing || q.shutting_down || run == NULL ||
	    run->state != BC_SENDING || (run->nready == 0 &&
	    run->inflight == 0) || mps <= 0 ||
	    rate_ahead(&q.rate, now_mono()) >= QUEUE_SLOTS_AHEAD ||
	    now_mono() < q.slots_retry_at)
		return;
	qs.bid = run->id;
	qs.mps = mps;
	qs.n = (int)(mps * 0.1);
	if (qs.n < 1)
		qs.n = 1;
	q.slots_out = 1;
	writer_submit(env->writer, queue_slots_work, queue_slots_done, &qs);
}

/* Ask the writer for the run's next rows, unless a claim is out. */
static void
queue_claim(struct qrun *run)
{
	struct qclaim	*c = &q.claim;

	if (q.claim_out || q.store_failing || run->settled)
		return;
	if (!beat_ok(beat_epoch()))
		return;			/* the next good beat kicks */
	/* the last rows went mostly back for their destinations' pace:
	 * not again at once (each is a write) */
	if (now_mono() < q.claim_hold) {
		queue_ptimer_at(q.claim_hold - now_mono());
		return;
	}
	c->run = run;
	c->bid = run->id;
	c->batch = env->conf->rate_batch_size;
	c->commits = q.commits;
	run->refs++;
	q.claim_out = 1;
	writer_submit(env->writer, queue_claim_work, queue_claim_done, c);
}

/*
 * Nothing more to claim until this node's own rows are done: the last
 * claim found less than a batch, and came after every row postponed
 * for its destination's pace was due again (those come back only by
 * claims, while the ready list still holds a waiting group's jobs).
 */
static int
qrun_dry(const struct qrun *run)
{
	return run->dry_at > 0 && run->dry_at >= q.pdue;
}

/*
 * Refill the ready list.  Returns 1 if it has work, 0 if the run must
 * wait (for a claim out, in-flight jobs or a retry due time: what it
 * waits for pumps again), -1 if it is finished.
 */
static int
queue_refill(struct qrun *run)
{
	if (run->nready > 0)
		return 1;
	if (run->settled)
		return -1;
	/*
	 * The last claim found less than a batch: all that is open is
	 * claimed (the broadcast's last rows, here and on the other
	 * nodes).  Claim again once this node's own are done, not with
	 * each result: at the end of a broadcast every node claimed back
	 * to back and found nothing, each claim a write that reads past
	 * every row sent (scripts/bench-scale, 4 nodes on PostgreSQL,
	 * 2026-12-07: 281 claims for 40,000 rows, 200 of them short).
	 * Their results pump again; a claim held off by a timer comes from
	 * an idle node.
	 */
	if (qrun_dry(run) && (run->inflight > 0 || q.nresults > 0 ||
	    q.group_out))
		return 0;
	/* results go first (the writer runs jobs in order, so the claim
	 * sees them) */
	queue_flush();
	queue_claim(run);
	return 0;
}

static void
queue_finish(struct qrun *run)
{
	queue_enter(run, run->id, BC_DONE, NULL, "done, total=%" PRId64
	    " sent=%" PRId64 " failed=%" PRId64, run->total,
	    run->counts[DLV_SENT], run->counts[DLV_FAILED]);
	notify_status("idle; broadcast %" PRId64 " done: %" PRId64 " sent, %"
	    PRId64 " failed", run->id, run->counts[DLV_SENT],
	    run->counts[DLV_FAILED]);
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

/* relays_pick's room(): the relay's pool takes another job now. */
static int
queue_pool_room(size_t i, void *arg)
{
	(void)arg;
	return smtp_pool_space(q.pools[i]->pool) > 0;
}

/*
 * The relay for the next job (relays.c: a due probe first, else by
 * weight among those up with room); any: else any relay with room (test
 * and confirm mails are tried whatever the relays' state).  NULL: none.
 */
static struct qpool *
queue_pick(int any)
{
	size_t	i;
	int	k;

	if ((k = relays_pick(q.rv, q.npools, now_mono(), queue_pool_room,
	    NULL)) >= 0)
		return q.pools[k];
	for (i = 0; any && i < q.npools; i++)
		if (queue_pool_room(i, NULL))
			return q.pools[i];
	return NULL;
}

/* Whether a relay may take a broadcast job now (no pick made). */
static int
queue_room(void)
{
	size_t	i;

	for (i = 0; i < q.npools; i++)
		if (relay_ready(q.rv[i], now_mono()) && queue_pool_room(i, NULL))
			return 1;
	return 0;
}

/* Hand j to relay qp: 0, or -1 if its pool is full. */
static int
queue_submit(struct qpool *qp, struct qjob *j)
{
	j->qp = qp;
	/* a broadcast job to a relay that is out: its probe */
	j->probe = j->kind == QJOB_BROADCAST && qp->relay.state != RELAY_UP;
	if (smtp_pool_submit(qp->pool, &j->sj) == -1) {
		j->probe = 0;
		return -1;
	}
	if (j->probe)
		qp->relay.probe = 1;
	return 0;
}

/*
 * How many of a waiting group's jobs stay ready: what it sends in
 * QUEUE_PACE_HOLD seconds (at least its cap and 2); the others are
 * postponed, so one slow destination does not fill the ready list.
 */
static int
queue_pace_hold(struct pacing_group *g, double now)
{
	double	r = pacing_rate_now(g, now);
	int	hold = r > 0 ? (int)(r * QUEUE_PACE_HOLD) + 1 :
		    4 * g->connections;

	if (hold < g->connections)
		hold = g->connections;
	return hold < 2 ? 2 : hold;
}

/*
 * The first ready job whose destination group may go now (pacing.c):
 * the jobs of a group waiting for its token or its cap are passed over,
 * not waited for, so one destination never holds the others back.  A
 * waiting group's jobs beyond queue_pace_hold() are postponed (back in
 * the store, due when the group would reach them; no attempt spent).
 * NULL: none may go; *wait is then the soonest a group's token is due
 * (-1: only caps, which results lift).
 */
static struct qjob *
queue_next_job(struct qrun *run, double *wait)
{
	struct qjob		*j, *tmp;
	struct pacing_group	*g;
	double			 now = now_mono(), due, r;
	unsigned		 gen = ++q.pgen;
	int			 hold, postponed = 0;
	int64_t			 store_now = -1;

	*wait = -1;
	for (j = TAILQ_FIRST(&run->ready); j != NULL; j = tmp) {
		tmp = TAILQ_NEXT(j, entry);
		if (j->mx_wait) {
			/* its MX is being looked up: the answer kicks */
			if ((j->pg = pacing_group_of(j->email)) == NULL)
				continue;
			j->mx_wait = 0;
		}
		if ((g = j->pg) == NULL)
			return j;
		if (g->gen != gen) {
			g->gen = gen;
			g->seen = 0;
			g->scan_wait = pacing_wait(g, now);
		}
		if (g->scan_wait == 0)
			return j;
		if (g->scan_wait > 0 && (*wait < 0 || g->scan_wait < *wait))
			*wait = g->scan_wait;
		hold = queue_pace_hold(g, now);
		if (++g->seen <= hold)
			continue;
		/* due when about half the group's backlog would be left
		 * at twice its configured rate: back soon enough for a
		 * rate raised by a reload or recovering after a throttle
		 * (what comes back too early goes back again, at most
		 * twice the rate a second) */
		r = g->rate;
		due = r > 0 ? (g->seen - hold / 2) / (2 * r) : 2.0;
		if (due < 1.0)
			due = 1.0;
		if (store_now < 0)
			store_now = queue_store_now();
		TAILQ_REMOVE(&run->ready, j, entry);
		run->nready--;
		queue_result_add(run, QRES_POSTPONE, j->sid, 0, DLV_PENDING,
		    j->attempts, store_now + (int64_t)(due * 1000), 0, 0, NULL);
		if (now + due > q.pdue)
			q.pdue = now + due;
		qjob_free(j);
		q.postponed++;
		postponed++;
	}
	if (postponed > 0) {
		log_debug("broadcast %" PRId64 ": %d recipients postponed for "
		    "their destination's pace", run->id, postponed);
		/* the next claim would bring as many back: wait a little */
		q.claim_hold = now + 1.0;
	}
	return NULL;
}

static void
queue_pump(void)
{
	struct qpool		*qp;
	struct qrun		*run, *tmp;
	struct qjob		*j;
	double			 pwait;
	int			 rc;

	if (q.shutting_down || q.npools == 0)
		return;
	queue_check_pools();

	/* test and confirm mails first, outside the rate and the runs */
	while ((j = TAILQ_FIRST(&q.urgent)) != NULL &&
	    (qp = queue_pick(1)) != NULL) {
		TAILQ_REMOVE(&q.urgent, j, entry);
		if (queue_submit(qp, j) == -1) {
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

	/* the store refuses results: send no more until it takes them
	 * (the writer's done() pumps again) */
	if (q.store_failing) {
		queue_flush();
		return;
	}
	/* every relay is out: nothing until the first is due for a probe
	 * (rtimer), or a probe out comes back */
	if (relays_up(q.rv, q.npools) == 0) {
		for (rc = 0; rc < (int)q.npools; rc++)
			if (relay_ready(q.rv[rc], now_mono()))
				break;
		if (rc == (int)q.npools) {
			queue_relay_timer();
			return;
		}
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
		while (queue_room()) {
			/* a group's commit pumps again */
			if (queue_uncommitted_full())
				return;
			if (run->nready == 0 &&
			    (rc = queue_refill(run)) != 1) {
				if (rc == -1 && run->inflight == 0) {
					queue_finish(run);
					queue_retire(run);
					break;	/* next broadcast */
				}
				return;
			}
			/* the global rate token is taken by the sender
			 * thread as the message starts, not here; the
			 * destination group's here, as it is handed on */
			if ((j = queue_next_job(run, &pwait)) == NULL) {
				if (pwait >= 0)
					queue_ptimer_at(pwait);
				break;
			}
			if ((qp = queue_pick(0)) == NULL)
				break;
			TAILQ_REMOVE(&run->ready, j, entry);
			run->nready--;
			if (queue_submit(qp, j) == -1) {
				TAILQ_INSERT_HEAD(&run->ready, j, entry);
				run->nready++;
				return;
			}
			if (j->pg != NULL)
				pacing_take(j->pg, now_mono());
			run->inflight++;
		}
		/* relays out: pump again when the first may be probed */
		queue_relay_timer();
		if (q.current == run) {
			/* pool full: results will pump; the next rows come
			 * while these are sent */
			if (run->nready < env->conf->rate_batch_size / 2 &&
			    !qrun_dry(run))
				queue_claim(run);
			return;
		}
	}
}

/* Everything the sender pools are made from, as one comparable string. */
static char *
queue_smtp_sig(void)
{
	const struct config	*c = env->conf;
	const struct config_relay *r;
	char			*sig, *more;
	int			 i;

	xasprintf(&sig, "%s\n%d\n%s\n%s", c->smtp_ca_file ?
	    c->smtp_ca_file : "", c->smtp_timeout, c->list_id, c->dkim ?
	    dkim_id(c->dkim) : "");
	for (i = 0; i < c->smtp_nrelays; i++) {
		r = &c->smtp_relays[i];
		xasprintf(&more, "%s\n%s\n%d\n%s\n%s\n%d\n%d", sig, r->url,
		    (int)r->tls, r->username ? r->username : "",
		    r->password ? r->password : "", r->connections, r->weight);
		explicit_bzero(sig, strlen(sig));
		free(sig);
		sig = more;
	}
	return sig;
}

/* A pool's threads end on their own; freed once they have
 * (queue_check_pools), never joined on the loop. */
static void
queue_pool_retire(struct qpool *qp)
{
	qp->retired = 1;
	smtp_pool_shutdown(qp->pool);
	TAILQ_INSERT_TAIL(&q.draining, qp, entry);
}

/* One sender pool per relay, each with its own settings and share of
 * the sessions; the old ones (a reload) drain. */
static int
queue_pool_new(char *err, size_t errlen)
{
	const struct config	*c = env->conf;
	const struct config_relay *r;
	struct smtp_conf	 sc;
	struct qpool		**v;
	struct relay		**rv;
	char			 why[512];
	size_t			 i, k, n = (size_t)c->smtp_nrelays;

	v = xcalloc(n, sizeof(*v));
	rv = xcalloc(n, sizeof(*rv));
	for (i = 0; i < n; i++) {
		r = &c->smtp_relays[i];
		memset(&sc, 0, sizeof(sc));
		sc.url = r->url;
		sc.tls = r->tls;
		sc.ca_file = c->smtp_ca_file;
		sc.username = r->username;
		sc.password = r->password;
		sc.connections = r->connections;
		sc.timeout = c->smtp_timeout;
		sc.helo_name = c->list_id;
		sc.verbose = log_verbose();
		sc.rate = &q.rate;
		sc.slots = q.slots;
		sc.dkim = c->dkim;	/* new keys (a reload): new pools */
		v[i] = xcalloc(1, sizeof(**v));
		relay_init(&v[i]->relay, r->name, r->weight);
		rv[i] = &v[i]->relay;
		for (k = 0; k < q.npools; k++)	/* its counts go on */
			if (strcmp(q.rv[k]->name, r->name) == 0) {
				rv[i]->sent = q.rv[k]->sent;
				rv[i]->faults = q.rv[k]->faults;
			}
		v[i]->pool = smtp_pool_new(env->base, &sc, queue_done_cb,
		    queue_batch_cb, v[i], why, sizeof(why));
		if (v[i]->pool == NULL) {
			snprintf(err, errlen, "%s%s%s", n > 1 ? r->name : "",
			    n > 1 ? ": " : "", why);
			free(v[i]);
			while (i-- > 0)
				queue_pool_retire(v[i]);
			free(v);
			free(rv);
			return -1;
		}
	}
	for (i = 0; i < q.npools; i++)
		queue_pool_retire(q.pools[i]);
	free(q.pools);
	free(q.rv);
	q.pools = v;
	q.rv = rv;
	q.npools = n;
	if (q.smtp_sig != NULL) {
		explicit_bzero(q.smtp_sig, strlen(q.smtp_sig));
		free(q.smtp_sig);
	}
	q.smtp_sig = queue_smtp_sig();
	return 0;
}

/* MX answers came (resolver.c): jobs waiting for them may go. */
static void
queue_mx_news(void *arg)
{
	(void)arg;
	queue_kick();
}

int
queue_init(void (*drained)(void *), void *arg, char *err, size_t errlen)
{
	int64_t	released;

	q.drained = drained;
	q.drained_arg = arg;
	q.closing = q.shutting_down = 0;
	TAILQ_INIT(&q.runs);
	TAILQ_INIT(&q.urgent);
	TAILQ_INIT(&q.draining);
	q.seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	/* what this node held when it stopped (a crash: in flight, maybe
	 * sent; the results not recorded) is claimable again */
	if (store_dlv_release_stale(env->store, env->node, &released, err,
	    errlen) == -1)
		return -1;
	if (released > 0)
		log_notice("queue: %" PRId64 " deliveries claimed by %s before "
		    "it stopped are claimable again", released, env->node);
	if ((q.tkey = token_key_new(env->key, (size_t)env->keylen, err,
	    errlen)) == NULL)
		return -1;
	if ((env->writer = writer_new(env->base, env->store, err,
	    errlen)) == NULL)
		return -1;
	beat_init(queue_kick);
	if (store_node_beats(env->store)) {
		struct timeval	tv = { 0, (suseconds_t)(QUEUE_WATCH_EVERY *
				    1e6) };

		if ((q.wtimer = event_new(env->base, -1, EV_PERSIST,
		    queue_wtimer_cb, NULL)) == NULL ||
		    event_add(q.wtimer, &tv) == -1)
			fatalx("queue: watch timer");
		tv.tv_usec = (suseconds_t)(QUEUE_SLOTS_EVERY * 1e6);
		if ((q.stimer = event_new(env->base, -1, EV_PERSIST,
		    queue_stimer_cb, NULL)) == NULL ||
		    event_add(q.stimer, &tv) == -1)
			fatalx("queue: rate timer");
	}
	if ((q.timer = evtimer_new(env->base, queue_timer_cb, NULL)) == NULL ||
	    (q.gtimer = evtimer_new(env->base, queue_gtimer_cb, NULL)) == NULL ||
	    (q.rtimer = evtimer_new(env->base, queue_rtimer_cb, NULL)) == NULL ||
	    (q.ptimer = evtimer_new(env->base, queue_rtimer_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	pacing_config(env->conf);
	if (resolver_init(env->base, env->conf->pacing_dns, queue_mx_news,
	    NULL, err, errlen) == -1)
		return -1;
	snapshot_init(queue_news);
	rate_init(&q.rate, env->conf->rate_mps, env->conf->rate_burst);
	/* a shared store: one rate across its nodes, in slots reserved */
	rate_share(&q.rate, store_node_beats(env->store));
	q.slots = smtp_slots_new(env->conf->smtp_sessions);
	if (queue_pool_new(err, errlen) == -1)
		return -1;
	snapshot_kick();	/* a broadcast cut short by a crash */
	queue_kick();
	return 0;
}

/* A reload: new rate now; new SMTP settings for the next sessions. */
void
queue_reload(void)
{
	char	err[512], *sig;

	rate_set(&q.rate, env->conf->rate_mps, env->conf->rate_burst);
	pacing_config(env->conf);
	resolver_set_dns(env->conf->pacing_dns);
	/* new sessions only when the SMTP settings changed; the new pool's
	 * threads open theirs as the old pool's close (one shared cap) */
	sig = queue_smtp_sig();
	if (strcmp(sig, q.smtp_sig) != 0) {
		if (queue_pool_new(err, sizeof(err)) == -1)
			log_warnx("reload: smtp: %s; keeping the old settings",
			    err);
		else
			smtp_slots_set(q.slots, env->conf->smtp_sessions);
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
	size_t		 i;
	int		 n = 0;

	for (i = 0; i < q.npools; i++)
		n += smtp_pool_busy(q.pools[i]->pool);
	TAILQ_FOREACH(p, &q.draining, entry)
		n += smtp_pool_busy(p->pool);
	return n;
}

/*
 * /healthz: can the store take writes?  Checked on the writer thread (a
 * write of its own, in turn with the engine's, so the engine's commits
 * never make it fail), at most once every QUEUE_HEALTH_EVERY
 * while it is fine, at every ask while it is not; the answer is the last
 * check's, so the loop never waits for it.
 */
static struct {
	int	 ok;
	int	 out;
	double	 at;			/* now_mono() of the last check */
	char	 err[256];		/* the last failure */
	char	 jerr[256];		/* the thread's */
} qh = { 1, 0, 0, "", "" };

static int
queue_health_work(struct store *st, void *arg)
{
	(void)arg;
	return store_writable(st, qh.jerr, sizeof(qh.jerr));
}

static void
queue_health_done(void *arg, int rc)
{
	(void)arg;
	qh.out = 0;
	qh.at = now_mono();
	if (rc == 1)
		return;			/* locked: as it was; ask again */
	if (rc == -1) {
		if (qh.ok || strcmp(qh.err, qh.jerr) != 0)
			log_warnx("storage: %s", qh.jerr);
		snprintf(qh.err, sizeof(qh.err), "%s", qh.jerr);
	} else if (!qh.ok)
		log_info("storage: writable again");
	qh.ok = rc == 0;
}

int
queue_store_ok(char *err, size_t errlen)
{
	if (env->writer != NULL && !q.closing && !qh.out &&
	    (!qh.ok || now_mono() - qh.at > QUEUE_HEALTH_EVERY)) {
		qh.out = 1;
		writer_submit(env->writer, queue_health_work, queue_health_done,
		    NULL);
	}
	if (!qh.ok)
		snprintf(err, errlen, "%s", qh.err);
	return qh.ok;
}

/* SIGTERM: take no new work; in-flight jobs finish and are recorded. */
void
queue_shutdown(void)
{
	struct qpool	*p;
	size_t		 i;

	q.shutting_down = 1;
	if (q.timer != NULL)
		evtimer_del(q.timer);
	snapshot_stop();
	if (q.rtimer != NULL)
		evtimer_del(q.rtimer);
	for (i = 0; i < q.npools; i++)
		smtp_pool_shutdown(q.pools[i]->pool);
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
	size_t		 i;

	q.closing = 1;
	beat_stop();
	qsel_free(q.sel);
	q.sel = NULL;
	if (q.wtimer != NULL)
		event_free(q.wtimer);
	q.wtimer = NULL;
	if (q.stimer != NULL)
		event_free(q.stimer);
	q.stimer = NULL;
	for (i = 0; i < q.npools; i++) {
		smtp_pool_free(q.pools[i]->pool);	/* runs remaining
							   done()s */
		queue_refusals_free(&q.pools[i]->rr);
		free(q.pools[i]);
	}
	free(q.pools);
	free(q.rv);
	q.pools = NULL;
	q.rv = NULL;
	q.npools = 0;
	while ((p = TAILQ_FIRST(&q.draining)) != NULL) {
		TAILQ_REMOVE(&q.draining, p, entry);
		smtp_pool_free(p->pool);
		queue_refusals_free(&p->rr);
		free(p);
	}
	/* results, and claims not handed out back to the store (what the
	 * store refuses now, the next start releases) */
	TAILQ_FOREACH(run, &q.runs, entry)
		qrun_drop_ready(run);
	if (env->writer != NULL)
		queue_record_last();
	writer_free(env->writer);
	env->writer = NULL;
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
	if (q.gtimer != NULL)
		event_free(q.gtimer);
	q.gtimer = NULL;
	if (q.rtimer != NULL)
		event_free(q.rtimer);
	q.rtimer = NULL;
	if (q.ptimer != NULL)
		event_free(q.ptimer);
	q.ptimer = NULL;
	pacing_free();
	resolver_free();
	snapshot_free();
	token_key_free(q.tkey);
	if (q.smtp_sig != NULL) {
		explicit_bzero(q.smtp_sig, strlen(q.smtp_sig));
		free(q.smtp_sig);
		q.smtp_sig = NULL;
	}
	free(q.results);
	q.results = NULL;
	q.nresults = q.cresults = 0;
	free(q.group.results);
	free(q.group.records);
	memset(&q.group, 0, sizeof(q.group));
	smtp_slots_free(q.slots);
	q.slots = NULL;
	rate_destroy(&q.rate);
}

int
queue_send_confirm(int64_t sid, const char *email, const char *name,
    const char *lang, char *err, size_t errlen)
{
	struct qjob	*j;

	if (q.shutting_down) {
		snprintf(err, errlen, "shutting down");
		return -1;
	}
	j = qjob_new(QJOB_CONFIRM, sid, email, name, NULL);
	if (confirm_build(q.tkey, j->sid, j->email, j->name, lang,
	    &j->prebuilt, err, errlen) == -1) {
		qjob_free(j);
		return -1;
	}
	TAILQ_INSERT_TAIL(&q.urgent, j, entry);
	queue_kick();
	return 0;
}

/* What the engine has done and is doing (/metrics formats it). */
void
queue_stats(struct queue_stats *st)
{
	struct qrun	*run;
	size_t		 n = 0, i;

	memset(st, 0, sizeof(*st));
	st->sent = q.total_sent;
	st->deferred = q.total_deferred;
	st->failed = q.total_failed;
	TAILQ_FOREACH(run, &q.runs, entry)
		n++;
	st->runs = xcalloc(n ? n : 1, sizeof(*st->runs));
	TAILQ_FOREACH(run, &q.runs, entry) {
		st->runs[st->nruns].id = run->id;
		memcpy(st->runs[st->nruns].counts, run->counts,
		    sizeof(run->counts));
		st->nruns++;
		st->depth += run->nready + run->inflight;
	}
	if (q.current != NULL) {
		st->waiting_id = q.current->id;
		st->waiting = queue_waiting(q.current->id);
		st->rate = queue_rate(q.current->id);
	}
	for (i = 0; i < q.npools; i++)
		st->sessions += smtp_pool_sessions(q.pools[i]->pool);
	st->nrelays = queue_relays(&st->relays);
}

size_t
queue_relays(struct queue_relay_stats **out)
{
	struct queue_relay_stats	*v;
	struct relay			*r;
	size_t				 i;

	v = xcalloc(q.npools ? q.npools : 1, sizeof(*v));
	for (i = 0; i < q.npools; i++) {
		r = q.rv[i];
		v[i].name = r->name;
		v[i].up = r->state == RELAY_UP;
		v[i].state = relay_strstate(r->state);
		v[i].reason = r->state != RELAY_UP ? r->reason : NULL;
		v[i].weight = r->weight;
		v[i].sent = r->sent;
		v[i].faults = r->faults;
	}
	*out = v;
	return q.npools;
}

void
queue_stats_free(struct queue_stats *st)
{
	free(st->runs);
	st->runs = NULL;
	free(st->relays);
	st->relays = NULL;
}

/*
 * Broadcasts as `broadside send`, `pause`, `resume` and `cancel` ask for
 * them (the front turns requests into these calls).
 */

/*
 * A version's language: as the request says, else the .LANG. part of its
 * file name, else its Language: line, else site.language.
 */
static int
queue_src_lang(const struct bc_source *src, const struct statement *st,
    char *tag, size_t len, char *err, size_t errlen)
{
	if (src->lang != NULL && *src->lang != '\0') {
		if (lang_norm(src->lang, tag, len) == -1) {
			snprintf(err, errlen, "%s: \"%.40s\" is not a language "
			    "tag", src->filename, src->lang);
			return -1;
		}
		return 0;
	}
	if (lang_from_name(src->filename, tag, len) == 1)
		return 0;
	if (st->lang != NULL) {
		snprintf(tag, len, "%s", st->lang);
		return 0;
	}
	snprintf(tag, len, "%s", env->conf->site_language != NULL ?
	    env->conf->site_language : "en");
	return 0;
}

/* Check one version and render it once; *r and *st to free on CORE_OK. */
static enum core_rc
queue_ver_prepare(const struct bc_source *src, const char *subject,
    int translation, struct render **r, struct statement *st, char *tag,
    size_t taglen, char *err, size_t errlen)
{
	char		 why[1024];
	int		 st_ok = 0;

	if (src->source == NULL || src->filename == NULL) {
		snprintf(err, errlen, "translation without source or filename");
		return CORE_INVALID;
	}
	if (strlen(src->source) > QUEUE_STATEMENT_MAX) {
		snprintf(err, errlen, "%s: statement larger than %d bytes",
		    src->filename, QUEUE_STATEMENT_MAX);
		return CORE_INVALID;
	}
	memset(st, 0, sizeof(*st));
	if (statement_parse(src->source, strlen(src->source), src->markdown,
	    st, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", src->filename, why);
		return CORE_INVALID;
	}
	if (queue_src_lang(src, st, tag, taglen, err, errlen) == -1) {
		statement_free(st);
		return CORE_INVALID;
	}
	statement_free(st);
	*r = queue_render_new(0, src->source, src->markdown, subject,
	    time(NULL), tag, translation ? tag : NULL, st, &st_ok, why,
	    sizeof(why));
	if (*r == NULL) {
		snprintf(err, errlen, "%s: %s", src->filename, why);
		return st_ok ? CORE_FAILED : CORE_INVALID;
	}
	return CORE_OK;
}

/*
 * Check a statement and its translations and render each once; *r and
 * *st (the default language's) to free on CORE_OK.  langs (may be NULL)
 * gets each version's language, titles (may be NULL) each translation's
 * title (to free).
 */
static enum core_rc
queue_bc_prepare(const struct bc_source *src, struct render **r,
    struct statement *st, char (*langs)[LANG_MAX], char **titles,
    char *err, size_t errlen)
{
	const char		*subject = src->subject;
	char			 tag[QUEUE_LANGS_MAX][LANG_MAX];
	struct statement	 tst;
	struct render		*tr;
	enum core_rc		 rc;
	size_t			 i, k;

	if (subject != NULL && (!text_header_safe(subject, strlen(subject)) ||
	    !utf8_valid(subject, strlen(subject)) ||
	    strlen(subject) > 998)) {
		snprintf(err, errlen, "--subject: control character or "
		    "longer than 998 octets");
		return CORE_INVALID;
	}
	if (src->ntranslations + 1 > QUEUE_LANGS_MAX) {
		snprintf(err, errlen, "%s: more than %d languages",
		    src->filename, QUEUE_LANGS_MAX);
		return CORE_INVALID;
	}
	if ((rc = queue_ver_prepare(src, subject, 0, r, st, tag[0],
	    sizeof(tag[0]), err, errlen)) != CORE_OK)
		return rc;
	for (i = 0; i < src->ntranslations; i++) {
		/* --subject is the default language's: the others' titles */
		if ((rc = queue_ver_prepare(&src->translations[i], NULL, 1, &tr,
		    &tst, tag[i + 1], sizeof(tag[0]), err, errlen)) !=
		    CORE_OK)
			goto fail;
		for (k = 0; k <= i; k++)
			if (strcmp(tag[k], tag[i + 1]) == 0)
				break;
		if (k <= i) {
			snprintf(err, errlen, "%s: a second statement in "
			    "\"%s\" (%s is too)", src->translations[i].filename,
			    tag[i + 1], k == 0 ? src->filename :
			    src->translations[k - 1].filename);
			render_free(tr);
			statement_free(&tst);
			rc = CORE_INVALID;
			goto fail;
		}
		if (titles != NULL)
			titles[i] = xstrdup(tst.title);
		render_free(tr);
		statement_free(&tst);
	}
	if (langs != NULL)
		for (i = 0; i <= src->ntranslations; i++)
			memcpy(langs[i], tag[i], LANG_MAX);
	return CORE_OK;
 fail:
	if (titles != NULL)
		for (k = 0; k < i; k++) {
			free(titles[k]);
			titles[k] = NULL;
		}
	render_free(*r);
	*r = NULL;
	statement_free(st);
	return rc;
}

enum core_rc
queue_bc_check(const struct bc_source *src, char *err, size_t errlen)
{
	struct statement	 st;
	struct render		*r;
	enum core_rc		 rc;

	if ((rc = queue_bc_prepare(src, &r, &st, NULL, NULL, err, errlen)) !=
	    CORE_OK)
		return rc;
	render_free(r);
	statement_free(&st);
	return CORE_OK;
}

/* A new broadcast, out to the writer with its first recipients. */
struct qcreate {
	struct broadcast	 bc;		/* its strings are ours */
	char			*title, *subject, *source, *filename;
	char			 lang[LANG_MAX];
	struct bc_translation	*trs;		/* strings: the request's
						   copies below */
	char			**trstr;	/* 4 a translation */
	size_t			 ntrs;
	int			 slice;
	int64_t			 id;
	int			 rc;
	char			 err[512];
	core_done_cb		 cb;
	void			*arg;
};

/* The writer's thread: store it, then the first slice of recipients so
 * that status shows them pending as soon as send returns. */
static int
queue_create_work(struct store *st, void *arg)
{
	struct qcreate	*c = arg;
	char		 err[512];
	int		 more;

	if ((c->rc = store_bc_create(st, &c->bc, &c->id, c->err,
	    sizeof(c->err))) == -1)
		return -1;
	if (store_bc_snapshot(st, c->id, c->slice, &more, err,
	    sizeof(err)) == -1)
		log_warnx("broadcast %" PRId64 ": %s", c->id, err);
	return 0;
}

static void
queue_create_done(void *arg, int rc)
{
	struct qcreate		*c = arg;
	struct core_result	 r;
	char			 why[512];
	size_t			 i;

	(void)rc;
	memset(&r, 0, sizeof(r));
	if (c->rc == -1) {
		r.rc = CORE_FAILED;
		r.err = c->err;
	} else {
		r.id = c->id;
		log_info("broadcast %" PRId64 ": stored \"%s\" from %s "
		    "lang=%s translations=%zu", c->id, c->title, c->filename,
		    c->lang, c->ntrs);
		snapshot_kick();	/* the rest of its recipients */
		if (feed_update(why, sizeof(why)) == -1)
			log_warnx("feed: %s", why);
		queue_news();
	}
	c->cb(&r, c->arg);
	free(c->title);
	free(c->subject);
	free(c->source);
	free(c->filename);
	for (i = 0; i < 4 * c->ntrs; i++)
		free(c->trstr[i]);
	free(c->trstr);
	free(c->trs);
	free(c);
}

enum core_rc
queue_bc_create(const struct bc_source *src, core_done_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct qcreate		*c;
	struct statement	 st;
	struct render		*r;
	enum core_rc		 rc;
	char			 langs[QUEUE_LANGS_MAX][LANG_MAX];
	char			*titles[QUEUE_LANGS_MAX];
	const struct bc_source	*t;
	size_t			 i;

	memset(titles, 0, sizeof(titles));
	if ((rc = queue_bc_prepare(src, &r, &st, langs, titles, err, errlen))
	    != CORE_OK)
		return rc;
	c = xcalloc(1, sizeof(*c));
	c->title = xstrdup(st.title);
	c->subject = xstrdup(src->subject ? src->subject : st.title);
	c->source = xstrdup(src->source);
	c->filename = xstrdup(src->filename);
	memcpy(c->lang, langs[0], sizeof(c->lang));
	c->bc.title = c->title;
	c->bc.subject = c->subject;
	c->bc.source = c->source;
	c->bc.filename = c->filename;
	c->bc.markdown = src->markdown;
	c->bc.lang = c->lang;
	c->bc.created = (int64_t)time(NULL);
	if ((c->ntrs = src->ntranslations) > 0) {
		c->trs = xcalloc(c->ntrs, sizeof(*c->trs));
		c->trstr = xcalloc(4 * c->ntrs, sizeof(*c->trstr));
		for (i = 0; i < c->ntrs; i++) {
			t = &src->translations[i];
			c->trstr[4 * i] = xstrdup(langs[i + 1]);
			c->trstr[4 * i + 1] = titles[i];
			c->trstr[4 * i + 2] = xstrdup(t->source);
			c->trstr[4 * i + 3] = xstrdup(t->filename);
			c->trs[i].lang = c->trstr[4 * i];
			c->trs[i].title = c->trs[i].subject =
			    c->trstr[4 * i + 1];
			c->trs[i].source = c->trstr[4 * i + 2];
			c->trs[i].filename = c->trstr[4 * i + 3];
			c->trs[i].markdown = t->markdown;
		}
		c->bc.translations = c->trs;
		c->bc.ntranslations = c->ntrs;
	}
	c->slice = snapshot_slice();
	c->cb = cb;
	c->arg = arg;
	render_free(r);
	statement_free(&st);
	writer_submit(env->writer, queue_create_work, queue_create_done, c);
	return CORE_OK;
}

enum core_rc
queue_test_start(const struct bc_source *src, const char *const *addrs,
    size_t n, queue_test_cb cb, void *arg, struct qtest **tp, char *err,
    size_t errlen)
{
	struct statement	 st;
	struct render		*r;
	struct qtest		*t;
	struct qjob		*j;
	enum core_rc		 rc;
	char			 addr[320], why[512];
	size_t			 i;

	for (i = 0; i < n; i++)
		if (addr_normalize(addrs[i], addr, sizeof(addr), why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "--test %s: %s", addrs[i], why);
			return CORE_INVALID;
		}
	if ((rc = queue_bc_prepare(src, &r, &st, NULL, NULL, err, errlen)) !=
	    CORE_OK)
		return rc;
	t = xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->render = r;
	t->st = st;
	t->results = xcalloc(n, sizeof(*t->results));
	for (i = 0; i < n; i++) {
		addr_normalize(addrs[i], addr, sizeof(addr), why, sizeof(why));
		j = qjob_new(QJOB_TEST, 0, addr, "", NULL);
		j->test = t;
		j->render = r;
		t->left++;
		TAILQ_INSERT_TAIL(&q.urgent, j, entry);
	}
	log_info("test send of %s to %d addresses", src->filename, t->left);
	*tp = t;
	queue_kick();
	return CORE_OK;
}

void
queue_test_forget(struct qtest *t)
{
	t->cb = NULL;
}

/* The store took a pause, resume or cancel (or refused it). */
static void
queue_control_done(struct qenter *e)
{
	struct core_result	 r;
	struct qrun		*run, *cur;
	char			 why[512];

	memset(&r, 0, sizeof(r));
	r.rc = e->rc;
	r.id = e->id;
	r.state = store_bc_strstate(e->to);
	r.err = e->err;
	if (e->rc != CORE_OK)
		goto end;
	TAILQ_FOREACH(run, &q.runs, entry)
		if (run->id == e->id)
			break;
	if (run != NULL && e->to != BC_QUEUED) {
		run->state = e->to;
		qrun_halt(run);
	}
	if (e->to == BC_QUEUED)
		queue_relay_ok();	/* resumed once the relay is fixed */
	/* a cancelled statement (maybe an embargoed text sent by mistake)
	 * leaves the feed and the archive at once */
	if (e->to == BC_CANCELLED && feed_update(why, sizeof(why)) == -1)
		log_warnx("feed: %s", why);
	/* a resumed broadcast older than the one sending goes first */
	if ((cur = q.current) != NULL && e->to == BC_QUEUED &&
	    e->id < cur->id) {
		queue_enter(cur, cur->id, BC_QUEUED, NULL, "queued behind "
		    "broadcast %" PRId64, e->id);
		qrun_drop_ready(cur);
		queue_retire(cur);
	}
 end:
	e->cb(&r, e->arg);
}

/*
 * pause, resume or cancel broadcast id: refused when the store already
 * says it cannot be (read on the reader thread), else cb once the writer
 * has stored it (it checks again there: the engine's own changes go
 * before it).  A bad verb is refused at once.
 */
struct qctl {
	int64_t			 id;
	enum bc_state		 to;
	unsigned		 from;
	struct qstate_ctx	 c;
	core_done_cb		 cb;
	void			*arg;
	char			 err[512];
};

static int
queue_control_work(struct store *st, void *arg)
{
	struct qctl	*x = arg;

	return store_bc_get(st, x->id, queue_state_cb, &x->c, x->err,
	    sizeof(x->err));
}

static void
queue_control_read(void *arg, int rc)
{
	struct qctl		*x = arg;
	struct core_result	 r;
	struct qenter		*e;

	memset(&r, 0, sizeof(r));
	r.id = x->id;
	r.err = x->err;
	if (rc == -1)
		r.rc = CORE_FAILED;
	else if (!x->c.found) {
		snprintf(x->err, sizeof(x->err), "broadcast %" PRId64 ": no "
		    "such broadcast", x->id);
		r.rc = CORE_NOTFOUND;
	} else if (!(x->from & (1u << x->c.state))) {
		snprintf(x->err, sizeof(x->err), "broadcast %" PRId64 " is "
		    "%s%s", x->id, store_bc_strstate(x->c.state),
		    x->to == BC_QUEUED ? ", not paused" : "");
		r.rc = CORE_CONFLICT;
	} else {
		queue_flush();		/* results first */
		e = xcalloc(1, sizeof(*e));
		e->id = x->id;
		e->to = x->to;
		e->from = x->from;
		if (x->to == BC_PAUSED)
			e->reason = xstrdup("paused by broadside pause");
		snprintf(e->line, sizeof(e->line), "%s",
		    store_bc_strstate(x->to));
		e->then = queue_control_done;
		e->cb = x->cb;
		e->arg = x->arg;
		queue_enter_submit(e);
		free(x);
		return;
	}
	x->cb(&r, x->arg);
	free(x);
}

enum core_rc
queue_bc_control(int64_t id, const char *verb, core_done_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct qctl	*x;
	enum bc_state	 to;
	unsigned	 from;

	if (strcmp(verb, "pause") == 0) {
		to = BC_PAUSED;
		from = 1u << BC_QUEUED | 1u << BC_SENDING;
	} else if (strcmp(verb, "resume") == 0) {
		to = BC_QUEUED;
		from = 1u << BC_PAUSED;
	} else if (strcmp(verb, "cancel") == 0) {
		to = BC_CANCELLED;
		from = 1u << BC_QUEUED | 1u << BC_SENDING | 1u << BC_PAUSED;
	} else {
		snprintf(err, errlen, "no such action: %s", verb);
		return CORE_NOTFOUND;
	}
	x = xcalloc(1, sizeof(*x));
	x->id = id;
	x->to = to;
	x->from = from;
	x->cb = cb;
	x->arg = arg;
	reader_submit(queue_control_work, queue_control_read, x);
	return CORE_OK;
}
