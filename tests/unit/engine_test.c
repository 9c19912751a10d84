/*
 * engine_test.c -- the delivery engine (daemon/core/queue.c) driven alone:
 * a temporary store, the real config, renderer and feed, and a fake
 * sender pool in place of smtp.c.
 *
 * The fake implements smtp.h's pool interface: jobs submitted are
 * answered from the loop (as the real pool's threads post them back),
 * each rendered with the engine's own render callback and given the
 * outcome the test's policy picks for its recipient.  So whom a fault is
 * charged to is checked without an SMTP server or a clock second to wait:
 * a 5.1.1 bounces that subscriber only, a 4xx retries, a message fault
 * fails one message, a relay that is down holds the broadcast "waiting"
 * without spending anyone's attempt, and a run of identical refusals in
 * two domains is the relay's (paused, nobody bounced).
 */
#include <sys/stat.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "core.h"
#include "smtp.h"
#include "store.h"
#include "unit.h"

static struct daemon_env	 test_env;
struct daemon_env		*env = &test_env;

/*
 * The fake sender pool.
 */

#define FAKE_SPACE	16

/* What the relay says to a recipient. */
struct fake_answer {
	enum smtp_result	 result;
	enum smtp_phase		 phase;
	int			 code;
	const char		*enh;
	const char		*msg;
};
typedef void	(*fake_policy)(const char *, struct fake_answer *);

struct smtp_pool {
	void			(*done)(struct smtp_job *, void *);
	void			(*batch)(void *);
	void			*arg;
	struct smtp_job		*jobs[FAKE_SPACE];
	int			 njobs;
	int			 shut;
	struct event		*ev;
};

struct smtp_slots {
	int	max;
};

static fake_policy	 fake_answer_for;
static int		 fake_sent;		/* rendered and answered */
static int		 fake_bad_render;	/* a message without its To: */

static void
fake_answer_one(struct smtp_job *job)
{
	struct fake_answer	 a;
	struct buf		 out = BUF_INIT;
	char			 err[256], want[400];

	if (job->render(job->render_arg, job, &out, err, sizeof(err)) == -1) {
		job->result = SMTP_RENDER_FAIL;
		job->phase = SMTP_PHASE_NONE;
		snprintf(job->msg, sizeof(job->msg), "%s", err);
		buf_free(&out);
		return;
	}
	/* the engine's render: a personalised message to this recipient */
	snprintf(want, sizeof(want), "%s", job->rcpt);
	buf_add(&out, "", 1);
	if (strstr(out.p, "\r\nTo: ") == NULL || strstr(out.p, want) == NULL)
		fake_bad_render++;
	buf_free(&out);
	memset(&a, 0, sizeof(a));
	a.result = SMTP_OK;
	a.phase = SMTP_PHASE_DOT;
	a.code = 250;
	a.enh = "2.0.0";
	a.msg = "250 2.0.0 Ok: queued";
	fake_answer_for(job->rcpt, &a);
	job->result = a.result;
	job->phase = a.phase;
	job->code = a.code;
	snprintf(job->enh, sizeof(job->enh), "%s", a.enh);
	snprintf(job->msg, sizeof(job->msg), "%s", a.msg);
	fake_sent++;
}

/* From the loop: answer what was submitted, then one batch() call. */
static void
fake_pool_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_pool	*p = arg;
	struct smtp_job		*jobs[FAKE_SPACE];
	int			 i, n = p->njobs;

	(void)fd;
	(void)what;
	memcpy(jobs, p->jobs, sizeof(jobs));
	p->njobs = 0;
	for (i = 0; i < n; i++) {
		if (jobs[i]->recalled)
			;	/* as smtp_pool_recall left it */
		else if (jobs[i]->halted != NULL &&
		    atomic_load(jobs[i]->halted)) {
			jobs[i]->result = SMTP_CANCELLED;
			jobs[i]->phase = SMTP_PHASE_NONE;
		} else
			fake_answer_one(jobs[i]);
		p->done(jobs[i], p->arg);
	}
	if (n > 0 && p->batch != NULL)
		p->batch(p->arg);
}

struct smtp_pool *
smtp_pool_new(struct event_base *base, const struct smtp_conf *conf,
    void (*done)(struct smtp_job *, void *), void (*batch)(void *),
    void *arg, char *err, size_t errlen)
{
	struct smtp_pool	*p;

	(void)conf;
	(void)err;
	(void)errlen;
	p = xcalloc(1, sizeof(*p));
	p->done = done;
	p->batch = batch;
	p->arg = arg;
	p->ev = event_new(base, -1, 0, fake_pool_cb, p);
	return p;
}

int
smtp_pool_submit(struct smtp_pool *p, struct smtp_job *job)
{
	if (p->shut || p->njobs == FAKE_SPACE)
		return -1;
	job->recalled = 0;
	p->jobs[p->njobs++] = job;
	event_active(p->ev, EV_TIMEOUT, 0);
	return 0;
}

int
smtp_pool_space(struct smtp_pool *p)
{
	return p->shut ? 0 : FAKE_SPACE - p->njobs;
}

int
smtp_pool_busy(struct smtp_pool *p)
{
	return p->njobs;
}

int
smtp_pool_reapable(struct smtp_pool *p)
{
	return p->njobs == 0;
}

int
smtp_pool_sessions(struct smtp_pool *p)
{
	return p->njobs > 0;
}

uint64_t
smtp_pool_connects(struct smtp_pool *p)
{
	(void)p;
	return 0;
}

/* Jobs not yet answered come back unsent, from the loop, as smtp.c's. */
void
smtp_pool_recall(struct smtp_pool *p)
{
	int	i;

	for (i = 0; i < p->njobs; i++) {
		p->jobs[i]->result = SMTP_CANCELLED;
		p->jobs[i]->phase = SMTP_PHASE_NONE;
		p->jobs[i]->recalled = 1;
	}
}

void
smtp_pool_shutdown(struct smtp_pool *p)
{
	p->shut = 1;
}

void
smtp_pool_free(struct smtp_pool *p)
{
	int	i;

	for (i = 0; i < p->njobs; i++) {
		p->jobs[i]->result = SMTP_CANCELLED;
		p->jobs[i]->phase = SMTP_PHASE_NONE;
		p->done(p->jobs[i], p->arg);
	}
	event_free(p->ev);
	free(p);
}

struct smtp_slots *
smtp_slots_new(int max)
{
	struct smtp_slots	*sl = xcalloc(1, sizeof(*sl));

	sl->max = max;
	return sl;
}

void
smtp_slots_set(struct smtp_slots *sl, int max)
{
	sl->max = max;
}

void
smtp_slots_free(struct smtp_slots *sl)
{
	free(sl);
}

/*
 * Policies: what the relay answers whom.
 */

static void
answer_by_name(const char *rcpt, struct fake_answer *a)
{
	if (strncmp(rcpt, "unknown", 7) == 0) {
		a->result = SMTP_RCPT_PERM;
		a->phase = SMTP_PHASE_RCPT;
		a->code = 550;
		a->enh = "5.1.1";
		a->msg = "550 5.1.1 User unknown";
	} else if (strncmp(rcpt, "full", 4) == 0) {
		a->result = SMTP_RCPT_TEMP;
		a->phase = SMTP_PHASE_RCPT;
		a->code = 452;
		a->enh = "4.2.2";
		a->msg = "452 4.2.2 Mailbox full";
	} else if (strncmp(rcpt, "big", 3) == 0) {
		a->result = SMTP_MSG_PERM;
		a->phase = SMTP_PHASE_DOT;
		a->code = 552;
		a->enh = "5.3.4";
		a->msg = "552 5.3.4 Message too big for system";
	}
}

static int	relay_down;

static void
answer_relay(const char *rcpt, struct fake_answer *a)
{
	(void)rcpt;
	if (relay_down) {
		a->result = SMTP_RELAY_TEMP;
		a->phase = SMTP_PHASE_CONNECT;
		a->code = 0;
		a->enh = "";
		a->msg = "Failed to connect to 127.0.0.1 port 25: Connection "
		    "refused";
	}
}

/* A relay that refuses everyone with a plain 550: no enhanced code. */
static void
answer_refuse_all(const char *rcpt, struct fake_answer *a)
{
	(void)rcpt;
	a->result = SMTP_RCPT_PERM;
	a->phase = SMTP_PHASE_RCPT;
	a->code = 550;
	a->enh = "";
	a->msg = "550 Recipient address rejected";
}

/*
 * Driving the loop.
 */

struct bc_view {
	struct broadcast	bc;
	char			reason[512];
	int			found;
};

static int
bc_view_cb(const struct broadcast *bc, void *arg)
{
	struct bc_view	*v = arg;

	v->bc = *bc;
	snprintf(v->reason, sizeof(v->reason), "%s", bc->reason ? bc->reason :
	    "");
	v->bc.reason = v->reason;
	v->bc.title = v->bc.subject = v->bc.source = v->bc.filename = NULL;
	v->found = 1;
	return 0;
}

static struct bc_view
bc_view(int64_t id)
{
	struct bc_view	v;
	char		err[256];

	memset(&v, 0, sizeof(v));
	if (store_bc_get(env->store, id, bc_view_cb, &v, err, sizeof(err))
	    == -1)
		printf("store_bc_get: %s\n", err);
	return v;
}

struct until {
	int	(*cond)(int64_t);
	int64_t	 id;
	double	 deadline;
};

static void
until_cb(evutil_socket_t fd, short what, void *arg)
{
	struct until	*u = arg;

	(void)fd;
	(void)what;
	if (u->cond(u->id) || now_mono() > u->deadline)
		event_base_loopbreak(env->base);
}

/* Run the loop until cond(id) holds (checked every 5 ms) or secs pass. */
static int
run_until(int (*cond)(int64_t), int64_t id, double secs)
{
	struct until	 u = { cond, id, now_mono() + secs };
	struct event	*ev;
	struct timeval	 tick = { 0, 5000 };

	ev = event_new(env->base, -1, EV_PERSIST, until_cb, &u);
	event_add(ev, &tick);
	event_base_dispatch(env->base);
	event_free(ev);
	return cond(id);
}

static int
is_done(int64_t id)
{
	struct bc_view	v = bc_view(id);

	return v.bc.state == BC_DONE;
}

static int
is_paused(int64_t id)
{
	return bc_view(id).bc.state == BC_PAUSED;
}

static int
is_waiting(int64_t id)
{
	return queue_waiting(id) != NULL;
}

static void
add_subscriber(const char *email)
{
	enum store_upsert	what;
	char			err[256];

	if (store_sub_upsert(env->store, 0, email, email, "Test Reader", "{}",
	    SUB_ACTIVE, &what, err, sizeof(err)) == -1)
		printf("store_sub_upsert %s: %s\n", email, err);
}

/* queue_bc_create's answer: the id once stored, -1 if refused */
static void
created_cb(const struct core_result *r, void *arg)
{
	*(int64_t *)arg = r->rc == CORE_OK ? r->id : -1;
}

static int
is_created(int64_t ptr)
{
	return *(int64_t *)(intptr_t)ptr != 0;
}

static int64_t
new_broadcast(void)
{
	struct bc_source	 src;
	char			 err[512];
	int64_t			 id = 0;

	memset(&src, 0, sizeof(src));
	src.source = "Title: Engine test\n\nA statement for the engine.\n";
	src.filename = "engine.txt";
	CHECK_INT("queue_bc_create", queue_bc_create(&src, created_cb, &id,
	    err, sizeof(err)), CORE_OK);
	/* stored by the writer thread, answered on the loop */
	CHECK_INT("queue_bc_create stored", run_until(is_created,
	    (int64_t)(intptr_t)&id, 10), 1);
	CHECK_INT("queue_bc_create id", id > 0, 1);
	return id;
}

int
main(void)
{
	char		 dir[] = "/tmp/broadside-engine.XXXXXX", conf[256];
	char		 text[2048], err[512];
	const char	*top = getenv("TOP");
	struct bc_view	 v;
	int64_t		 id, counts[4], stale = -1;
	FILE		*f;
	int		 i;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(conf, sizeof(conf), "%s/broadside.conf", dir);
	snprintf(text, sizeof(text),
	    "list: { name = \"Test List\"; from = \"Test List "
	    "<list@example.org>\"; id = \"test.example.org\"; "
	    "base_url = \"https://lists.example.org\"; };\n"
	    "storage: { path = \"%s/b.db\"; };\n"
	    "control: { socket = \"%s/c.sock\"; };\n"
	    "feed: { path = \"%s/feed.xml\"; };\n"
	    "templates: { dir = \"%s/templates\"; };\n"
	    "secret_file = \"%s/secret\";\n"
	    "smtp: { url = \"smtp://127.0.0.1:25\"; connections = 2; };\n"
	    "rate: { messages_per_second = 0.0; batch_size = 8; };\n"
	    "retry: { max_attempts = 2; initial_delay = 1; max_delay = 1; };\n",
	    dir, dir, dir, top ? top : ".", dir);
	if ((f = fopen(conf, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF) {
		perror(conf);
		return 1;
	}
	log_init(0);
	env->base = event_base_new();
	env->config_path = conf;
	if ((env->conf = config_load(conf, 0, NULL, NULL)) == NULL) {
		printf("config_load %s failed\n", conf);
		return 1;
	}
	env->node = "engine-test";
	memset(env->key, 7, 32);
	env->keylen = 32;
	if ((env->store = store_open(env->conf->storage_path, err,
	    sizeof(err))) == NULL) {
		printf("store_open: %s\n", err);
		return 1;
	}
	/* the loop's reads go to the reader thread, as in the daemon */
	if ((env->reader = reader_new(env->base, env->store, err,
	    sizeof(err))) == NULL) {
		printf("reader_new: %s\n", err);
		return 1;
	}
	CHECK_INT("queue_init", queue_init(NULL, NULL, err, sizeof(err)), 0);

	/* 1. whom each answer is charged to */
	add_subscriber("ann@a.example");
	add_subscriber("bob@b.example");
	add_subscriber("unknown@a.example");
	add_subscriber("full@b.example");
	add_subscriber("big@a.example");
	fake_answer_for = answer_by_name;
	id = new_broadcast();
	CHECK("classify: done", run_until(is_done, id, 20));
	v = bc_view(id);
	CHECK_INT("classify: sent", v.bc.sent, 2);
	CHECK_INT("classify: failed (5.1.1, 5.3.4, full twice)", v.bc.failed,
	    3);
	CHECK_INT("classify: pending", v.bc.pending, 0);
	CHECK_INT("classify: rendered and answered (full: 2 tries)",
	    fake_sent, 6);
	CHECK_INT("classify: every message to its recipient", fake_bad_render,
	    0);
	store_sub_count(env->store, counts, err, sizeof(err));
	CHECK_INT("classify: only 5.1.1 bounced", counts[SUB_BOUNCED], 1);
	CHECK_INT("classify: the others active", counts[SUB_ACTIVE], 4);

	/* 2. the relay is down: waiting, nobody's attempt spent; then back */
	fake_answer_for = answer_relay;
	relay_down = 1;
	fake_sent = 0;
	id = new_broadcast();
	CHECK("relay down: waiting", run_until(is_waiting, id, 10));
	CHECK("relay down: reason", queue_waiting(id) != NULL &&
	    strncmp(queue_waiting(id), "waiting for relay: ", 19) == 0 &&
	    strstr(queue_waiting(id), "Connection refused") != NULL);
	v = bc_view(id);
	CHECK_INT("relay down: nobody failed", v.bc.failed, 0);
	CHECK_INT("relay down: nobody deferred", v.bc.deferred, 0);
	relay_down = 0;
	/* the global backoff is 1 s +-20 % after the first failure */
	CHECK("relay back: done", run_until(is_done, id, 20));
	v = bc_view(id);
	CHECK_INT("relay back: sent to all four active", v.bc.sent, 4);
	CHECK_INT("relay back: failed", v.bc.failed, 0);
	CHECK("relay back: not waiting", queue_waiting(id) == NULL);

	/* 3. a run of 5 identical refusals in two domains is the relay's */
	for (i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "r%d@%s.example", i, i % 2 ? "c" :
		    "d");
		add_subscriber(text);
	}
	fake_answer_for = answer_refuse_all;
	id = new_broadcast();
	CHECK("refusal run: paused", run_until(is_paused, id, 20));
	v = bc_view(id);
	CHECK("refusal run: reason names the relay", strstr(v.reason,
	    "relay refused") != NULL);
	store_sub_count(env->store, counts, err, sizeof(err));
	CHECK_INT("refusal run: nobody more bounced", counts[SUB_BOUNCED], 1);
	CHECK_INT("refusal run: nobody failed", v.bc.failed, 0);
	/* every refusal undone and every claim released: all pending */
	CHECK_INT("refusal run: all pending again", v.bc.pending, v.bc.total);
	CHECK_INT("refusal run: total", v.bc.total, 12);

	queue_shutdown();
	writer_free(env->reader);	/* the last reads' done()s */
	env->reader = NULL;
	queue_free();
	feed_free();
	/* nothing left claimed by this node */
	CHECK_INT("release_stale", store_dlv_release_stale(env->store,
	    env->node, &stale, err, sizeof(err)), 0);
	CHECK_INT("no claim left after queue_free", stale, 0);
	store_close(env->store);
	config_free(env->conf);
	event_base_free(env->base);
	snprintf(text, sizeof(text), "rm -rf '%s'", dir);
	if (system(text) != 0)
		printf("could not remove %s\n", dir);
	return unit_done("engine");
}
