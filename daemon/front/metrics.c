/*
 * metrics.c -- the engine's figures as Prometheus text, for /metrics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bounces.h"
#include "buf.h"
#include "core.h"
#include "front.h"
#include "pacing.h"
#include "resolver.h"
#include "store.h"

#define METRICS_BOUNCE_BCS	20	/* latest broadcasts with counts */

/* one family's lines together, as the text format wants */
struct metrics_bcs {
	struct buf	 bounced, complained;
};

static int
metrics_bc_cb(const struct broadcast *bc, void *arg)
{
	struct metrics_bcs	*m = arg;

	if (bc->bounced > 0)
		buf_printf(&m->bounced, "broadside_broadcast_bounced_total{"
		    "broadcast=\"%" PRId64 "\"} %" PRId64 "\n", bc->id,
		    bc->bounced);
	if (bc->complained > 0)
		buf_printf(&m->complained, "broadside_broadcast_complaints_"
		    "total{broadcast=\"%" PRId64 "\"} %" PRId64 "\n", bc->id,
		    bc->complained);
	return 0;
}

/* each node's share of the broadcasts in the engine (shared store) */
struct metrics_nodes {
	int64_t		 bc;
	struct buf	 sent, in_flight, seen;
};

static int
metrics_node_cb(const struct store_node_share *n, void *arg)
{
	struct metrics_nodes	*m = arg;

	/* node names are [A-Za-z0-9._-] (config): no label escaping */
	buf_printf(&m->sent, "broadside_node_messages{broadcast=\"%" PRId64
	    "\",node=\"%s\"} %" PRId64 "\n", m->bc, n->node, n->sent);
	buf_printf(&m->in_flight, "broadside_node_in_flight{broadcast=\"%"
	    PRId64 "\",node=\"%s\"} %" PRId64 "\n", m->bc, n->node,
	    n->in_flight);
	if (n->last_seen > 0)
		buf_printf(&m->seen, "broadside_node_last_seen_seconds{"
		    "broadcast=\"%" PRId64 "\",node=\"%s\"} %" PRId64 "\n",
		    m->bc, n->node, n->last_seen);
	return 0;
}

/*
 * The store's figures, read on the reader thread (metrics_read): the
 * subscribers by status, each node's share of the broadcasts in the
 * engine (their ids taken on the loop at the ask), the latest
 * broadcasts' bounce counts.  Errors are logged back on the loop.
 */
struct metrics_read {
	int		 subs_ok;
	int64_t		 counts[4];
	int64_t		*runs;
	size_t		 nruns;
	int		 beats;
	struct metrics_nodes nodes;
	struct metrics_bcs bcs;
	int		 bcs_ok;
	char		 err[256];	/* the first failure */
	void		(*done)(struct metrics_read *, void *);
	void		*arg;
};

static void
metrics_fail(struct metrics_read *r, const char *err)
{
	if (r->err[0] == '\0')
		snprintf(r->err, sizeof(r->err), "%s", err);
}

static int
metrics_read_work(struct store *st, void *arg)
{
	struct metrics_read	*r = arg;
	char			 err[256];
	size_t			 i;

	r->subs_ok = store_sub_count(st, r->counts, err, sizeof(err)) == 0;
	if (!r->subs_ok)
		metrics_fail(r, err);
	for (i = 0; r->beats && i < r->nruns; i++) {
		r->nodes.bc = r->runs[i];
		if (store_bc_nodes(st, r->runs[i], metrics_node_cb, &r->nodes,
		    err, sizeof(err)) == -1)
			metrics_fail(r, err);
	}
	r->bcs_ok = store_bc_list(st, METRICS_BOUNCE_BCS, metrics_bc_cb,
	    &r->bcs, err, sizeof(err)) == 0;
	if (!r->bcs_ok)
		metrics_fail(r, err);
	return 0;
}

static void
metrics_read_done(void *arg, int rc)
{
	struct metrics_read	*r = arg;

	(void)rc;
	if (r->err[0] != '\0')
		log_warnx("metrics: %s", r->err);
	r->done(r, r->arg);
}

/* On the loop: read the store's figures off it, then done(r, arg) on the
 * loop; r goes back with metrics_read_free. */
void
metrics_read(void (*done)(struct metrics_read *, void *), void *arg)
{
	struct metrics_read	*r;
	struct queue_stats	 st;
	size_t			 i;

	r = xcalloc(1, sizeof(*r));
	r->done = done;
	r->arg = arg;
	r->beats = env->shared;
	if (r->beats) {
		queue_stats(&st);
		r->runs = xcalloc(st.nruns + 1, sizeof(*r->runs));
		for (i = 0; i < st.nruns; i++)
			r->runs[i] = st.runs[i].id;
		r->nruns = st.nruns;
		queue_stats_free(&st);
	}
	reader_submit(metrics_read_work, metrics_read_done, r);
}

void
metrics_read_free(struct metrics_read *r)
{
	buf_free(&r->nodes.sent);
	buf_free(&r->nodes.in_flight);
	buf_free(&r->nodes.seen);
	buf_free(&r->bcs.bounced);
	buf_free(&r->bcs.complained);
	free(r->runs);
	free(r);
}

/* Subscribers by status, if the store told them. */
void
metrics_subscribers(struct buf *b, const struct metrics_read *r)
{
	static const char	*names[4] = { "pending", "active",
				    "unsubscribed", "bounced" };
	int			 i;

	if (!r->subs_ok)
		return;
	buf_printf(b, "# HELP broadside_subscribers Subscribers by "
	    "status.\n# TYPE broadside_subscribers gauge\n");
	for (i = 0; i < 4; i++)
		buf_printf(b, "broadside_subscribers{status=\"%s\"} %"
		    PRId64 "\n", names[i], r->counts[i]);
}

/*
 * On a shared store (PostgreSQL): which node this is, and every node's
 * share of the broadcasts in the engine, so that one scrape of any node
 * shows them all.  Nothing on SQLite.
 */
static void
metrics_nodes(struct buf *b, const struct metrics_read *r)
{
	const struct metrics_nodes	*m = &r->nodes;

	if (!r->beats)
		return;
	buf_printf(b, "# HELP broadside_node This daemon's node name in the "
	    "shared store.\n# TYPE broadside_node gauge\n"
	    "broadside_node{node=\"%s\"} 1\n", env->node);
	buf_printf(b, "# HELP broadside_node_messages Messages of a "
	    "broadcast each node recorded sent.\n# TYPE "
	    "broadside_node_messages gauge\n");
	buf_add(b, m->sent.p, m->sent.len);
	buf_printf(b, "# HELP broadside_node_in_flight Deliveries of a "
	    "broadcast each node holds claimed, not yet recorded.\n# TYPE "
	    "broadside_node_in_flight gauge\n");
	buf_add(b, m->in_flight.p, m->in_flight.len);
	buf_printf(b, "# HELP broadside_node_last_seen_seconds Each node's "
	    "last heartbeat (unix seconds, the store's clock).\n# TYPE "
	    "broadside_node_last_seen_seconds gauge\n");
	buf_add(b, m->seen.p, m->seen.len);
}

/* What `broadside bounce` brought in: since the start, and per broadcast
 * (the store's counts) for the latest ones. */
static void
metrics_bounces(struct buf *b, const struct metrics_read *r)
{
	struct bounces_stats	 bs;
	const struct metrics_bcs *m = &r->bcs;

	bounces_stats(&bs);
	buf_printf(b, "# HELP broadside_bounces_total Returned messages and "
	    "complaints reported by broadside bounce since the daemon "
	    "started, by what became of them.\n# TYPE broadside_bounces_total "
	    "counter\n");
	buf_printf(b, "broadside_bounces_total{result=\"hard\"} %" PRIu64
	    "\n", bs.hard);
	buf_printf(b, "broadside_bounces_total{result=\"soft\"} %" PRIu64
	    "\n", bs.soft);
	buf_printf(b, "broadside_bounces_total{result=\"complaint\"} %"
	    PRIu64 "\n", bs.complaint);
	buf_printf(b, "broadside_bounces_total{result=\"duplicate\"} %"
	    PRIu64 "\n", bs.duplicate);
	buf_printf(b, "broadside_bounces_total{result=\"ignored\"} %" PRIu64
	    "\n", bs.ignored);
	buf_printf(b, "# HELP broadside_broadcast_bounced_total Recipients "
	    "of a broadcast whose message came back (hard or soft bounce), "
	    "latest %d broadcasts.\n# TYPE broadside_broadcast_bounced_total "
	    "counter\n", METRICS_BOUNCE_BCS);
	if (m->bounced.len > 0)
		buf_add(b, m->bounced.p, m->bounced.len);
	buf_printf(b, "# HELP broadside_broadcast_complaints_total Complaints "
	    "about a broadcast, latest %d broadcasts.\n# TYPE "
	    "broadside_broadcast_complaints_total counter\n",
	    METRICS_BOUNCE_BCS);
	if (m->complained.len > 0)
		buf_add(b, m->complained.p, m->complained.len);
}

/* A label value: backslash, quote and newline escaped. */
static void
metrics_label(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++)
		buf_printf(b, "%s%c", *v == '\\' || *v == '"' || *v == '\n' ?
		    "\\" : "", *v == '\n' ? 'n' : *v);
}

/* The configured destination groups (pacing.groups): the rate each runs
 * at now (lower while slowed), its messages, its throttle replies; and
 * the MX lookups.  Other groups are not listed: a list may have as many
 * as it has domains. */
struct metrics_pace {
	struct buf	*b;
	int		 what;
};

static void
metrics_pace_one(const struct pacing_group *g, void *arg)
{
	struct metrics_pace	*m = arg;

	if (g->match[0] == '\0')
		return;
	buf_printf(m->b, "%s{group=\"", m->what == 0 ?
	    "broadside_pacing_rate" : m->what == 1 ?
	    "broadside_pacing_messages_total" :
	    "broadside_pacing_throttled_total");
	metrics_label(m->b, g->match);
	if (m->what == 0)
		buf_printf(m->b, "\"} %.2f\n", g->cur);
	else
		buf_printf(m->b, "\"} %" PRIu64 "\n", m->what == 1 ? g->sent :
		    g->throttled);
}

static void
metrics_pacing(struct buf *b)
{
	struct metrics_pace	m = { b, 0 };
	uint64_t		lookups, failed;
	size_t			cached;

	buf_printf(b, "# HELP broadside_pacing_rate A destination group's "
	    "rate now, messages a second (0: unlimited).\n# TYPE "
	    "broadside_pacing_rate gauge\n");
	pacing_each(metrics_pace_one, &m);
	m.what = 1;
	buf_printf(b, "# HELP broadside_pacing_messages_total Messages a "
	    "destination group took since the daemon started.\n# TYPE "
	    "broadside_pacing_messages_total counter\n");
	pacing_each(metrics_pace_one, &m);
	m.what = 2;
	buf_printf(b, "# HELP broadside_pacing_throttled_total Replies asking "
	    "a destination group to slow down.\n# TYPE "
	    "broadside_pacing_throttled_total counter\n");
	pacing_each(metrics_pace_one, &m);
	resolver_counts(&lookups, &failed, &cached);
	buf_printf(b, "# HELP broadside_mx_lookups_total MX lookups made.\n"
	    "# TYPE broadside_mx_lookups_total counter\n"
	    "broadside_mx_lookups_total %" PRIu64 "\n"
	    "# HELP broadside_mx_lookup_failures_total MX lookups that "
	    "failed (time-out, SERVFAIL).\n# TYPE "
	    "broadside_mx_lookup_failures_total counter\n"
	    "broadside_mx_lookup_failures_total %" PRIu64 "\n", lookups,
	    failed);
}

/* Each SMTP relay: up or out (and why), and the messages it took. */
static void
metrics_relays(struct buf *b, const struct queue_stats *st)
{
	const struct queue_relay_stats	*r;
	size_t				 i;

	buf_printf(b, "# HELP broadside_relay_up An SMTP relay takes messages "
	    "(1) or is out after a relay fault (0).\n# TYPE "
	    "broadside_relay_up gauge\n");
	for (i = 0; i < st->nrelays; i++) {
		buf_printf(b, "broadside_relay_up{relay=\"");
		metrics_label(b, st->relays[i].name);
		buf_printf(b, "\"} %d\n", st->relays[i].up);
	}
	buf_printf(b, "# HELP broadside_relay_out An SMTP relay out, with its "
	    "state (out: a temporary fault, refused: a permanent one) and "
	    "the reason.\n# TYPE broadside_relay_out gauge\n");
	for (i = 0; i < st->nrelays; i++) {
		r = &st->relays[i];
		if (r->up)
			continue;
		buf_printf(b, "broadside_relay_out{relay=\"");
		metrics_label(b, r->name);
		buf_printf(b, "\",state=\"%s\",reason=\"", r->state);
		metrics_label(b, r->reason ? r->reason : "");
		buf_printf(b, "\"} 1\n");
	}
	buf_printf(b, "# HELP broadside_relay_messages_total Messages an SMTP "
	    "relay accepted since the daemon started.\n# TYPE "
	    "broadside_relay_messages_total counter\n");
	for (i = 0; i < st->nrelays; i++) {
		buf_printf(b, "broadside_relay_messages_total{relay=\"");
		metrics_label(b, st->relays[i].name);
		buf_printf(b, "\"} %" PRIu64 "\n", st->relays[i].sent);
	}
	buf_printf(b, "# HELP broadside_relay_faults_total Times an SMTP "
	    "relay was taken out since the daemon started.\n# TYPE "
	    "broadside_relay_faults_total counter\n");
	for (i = 0; i < st->nrelays; i++) {
		buf_printf(b, "broadside_relay_faults_total{relay=\"");
		metrics_label(b, st->relays[i].name);
		buf_printf(b, "\"} %" PRIu64 "\n", st->relays[i].faults);
	}
}

void
metrics_engine(struct buf *b, const struct metrics_read *r)
{
	struct queue_stats	 st;
	const char		*w;
	size_t			 i;

	queue_stats(&st);
	buf_printf(b, "# HELP broadside_messages_total Messages by outcome "
	    "since the daemon started.\n# TYPE broadside_messages_total "
	    "counter\n");
	buf_printf(b, "broadside_messages_total{result=\"sent\"} %" PRIu64
	    "\n", st.sent);
	buf_printf(b, "broadside_messages_total{result=\"deferred\"} %" PRIu64
	    "\n", st.deferred);
	buf_printf(b, "broadside_messages_total{result=\"failed\"} %" PRIu64
	    "\n", st.failed);
	buf_printf(b, "# HELP broadside_broadcast_messages Deliveries of "
	    "active broadcasts by state.\n# TYPE broadside_broadcast_messages "
	    "gauge\n");
	for (i = 0; i < st.nruns; i++) {
		buf_printf(b, "broadside_broadcast_messages{broadcast=\"%"
		    PRId64 "\",state=\"sent\"} %" PRId64 "\n", st.runs[i].id,
		    st.runs[i].counts[DLV_SENT]);
		buf_printf(b, "broadside_broadcast_messages{broadcast=\"%"
		    PRId64 "\",state=\"deferred\"} %" PRId64 "\n",
		    st.runs[i].id, st.runs[i].counts[DLV_DEFERRED]);
		buf_printf(b, "broadside_broadcast_messages{broadcast=\"%"
		    PRId64 "\",state=\"failed\"} %" PRId64 "\n",
		    st.runs[i].id, st.runs[i].counts[DLV_FAILED]);
	}
	buf_printf(b, "# HELP broadside_broadcast_waiting A broadcast held "
	    "back by a failing relay or store, with the reason.\n# TYPE "
	    "broadside_broadcast_waiting gauge\n");
	if ((w = st.waiting) != NULL) {
		buf_printf(b, "broadside_broadcast_waiting{broadcast=\"%"
		    PRId64 "\",reason=\"", st.waiting_id);
		/* a label value: backslash, quote and newline escaped */
		for (; *w != '\0'; w++)
			buf_printf(b, "%s%c", *w == '\\' || *w == '"' ||
			    *w == '\n' ? "\\" : "", *w == '\n' ? 'n' : *w);
		buf_printf(b, "\"} 1\n");
	}
	buf_printf(b, "# HELP broadside_send_rate Messages sent per second "
	    "now.\n# TYPE broadside_send_rate gauge\nbroadside_send_rate "
	    "%.2f\n", st.rate);
	buf_printf(b, "# HELP broadside_queue_depth Messages claimed and not "
	    "yet finished.\n# TYPE broadside_queue_depth gauge\n"
	    "broadside_queue_depth %d\n", st.depth);
	buf_printf(b, "# HELP broadside_smtp_sessions SMTP sessions open.\n"
	    "# TYPE broadside_smtp_sessions gauge\nbroadside_smtp_sessions "
	    "%d\n", st.sessions);
	metrics_relays(b, &st);
	metrics_pacing(b);
	metrics_nodes(b, r);
	queue_stats_free(&st);
	metrics_bounces(b, r);
}
