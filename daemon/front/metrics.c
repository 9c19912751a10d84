/*
 * metrics.c -- the engine's figures as Prometheus text, for /metrics.
 */
#include <inttypes.h>
#include <stdio.h>

#include "buf.h"
#include "core.h"
#include "front.h"
#include "store.h"

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
}
