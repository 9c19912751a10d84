/*
 * metrics.c -- the engine's figures as Prometheus text, for /metrics.
 */
#include <inttypes.h>
#include <stdio.h>

#include "bounces.h"
#include "buf.h"
#include "core.h"
#include "front.h"
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

/* What `broadside bounce` brought in: since the start, and per broadcast
 * (the store's counts) for the latest ones. */
static void
metrics_bounces(struct buf *b)
{
	struct bounces_stats	 bs;
	struct metrics_bcs	 m = { BUF_INIT, BUF_INIT };
	char			 err[256];

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
	if (store_bc_list(env->store, METRICS_BOUNCE_BCS, metrics_bc_cb, &m,
	    err, sizeof(err)) == -1)
		log_warnx("metrics: %s", err);
	buf_printf(b, "# HELP broadside_broadcast_bounced_total Recipients "
	    "of a broadcast whose message came back (hard or soft bounce), "
	    "latest %d broadcasts.\n# TYPE broadside_broadcast_bounced_total "
	    "counter\n", METRICS_BOUNCE_BCS);
	if (m.bounced.len > 0)
		buf_add(b, m.bounced.p, m.bounced.len);
	buf_printf(b, "# HELP broadside_broadcast_complaints_total Complaints "
	    "about a broadcast, latest %d broadcasts.\n# TYPE "
	    "broadside_broadcast_complaints_total counter\n",
	    METRICS_BOUNCE_BCS);
	if (m.complained.len > 0)
		buf_add(b, m.complained.p, m.complained.len);
	buf_free(&m.bounced);
	buf_free(&m.complained);
}

void
metrics_engine(struct buf *b)
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
	queue_stats_free(&st);
	metrics_bounces(b);
}
