/*
 * resend.c -- `broadside resend`: a new broadcast of a finished one's
 * statement to those of its recipients it did not reach (failed and/or
 * deferred) and who are still active.
 *
 * The new broadcast keeps the original's source, subject and Markdown
 * flag and points back at it (resent_from); the store takes its
 * recipients from the original's deliveries, in the same slices as a
 * new broadcast's (store_bc_snapshot, core/snapshot.c).  Everything
 * runs on the writer thread in one job: the original's state is read
 * there, after every change of state already submitted, so a broadcast
 * the store has as done or cancelled (the only states a resend is taken
 * from) cannot move again under it.  A resend is not published again:
 * the feed and the site's lists skip it (feed.c); its own archive page,
 * which its mails link to, stays.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "lang.h"
#include "store.h"

struct resend_job {
	int64_t		 from;
	unsigned	 states;	/* 1 << DLV_FAILED, 1 << DLV_DEFERRED */
	int		 slice;
	core_done_cb	 cb;
	void		*arg;

	/* the thread's answer */
	enum core_rc	 rc;
	char		 err[512];
	int64_t		 id;		/* the new broadcast */
	int64_t		 n;		/* its recipients */
	int		 found;
	struct broadcast orig;		/* its strings below */
	char		*title, *subject, *source, *filename;
	char		 lang[LANG_MAX];
};

static int
resend_orig_cb(const struct broadcast *bc, void *arg)
{
	struct resend_job	*j = arg;

	j->found = 1;
	j->orig = *bc;
	j->title = xstrdup(bc->title);
	j->subject = xstrdup(bc->subject);
	j->source = xstrdup(bc->source);
	j->filename = xstrdup(bc->filename ? bc->filename : "");
	j->orig.title = j->title;
	j->orig.subject = j->subject;
	j->orig.source = j->source;
	j->orig.filename = j->filename;
	snprintf(j->lang, sizeof(j->lang), "%s", bc->lang ? bc->lang : "");
	j->orig.lang = j->lang;
	j->orig.reason = NULL;
	return -1;
}

static const char *
resend_strstates(unsigned states)
{
	if (states == (1u << DLV_FAILED))
		return "failed";
	if (states == (1u << DLV_DEFERRED))
		return "deferred";
	return "failed or deferred";
}

/* The writer's thread. */
static int
resend_work(struct store *st, void *arg)
{
	struct resend_job	*j = arg;
	struct broadcast	 bc;
	char			 err[512];
	int			 more;

	j->rc = CORE_FAILED;
	if (store_bc_get(st, j->from, resend_orig_cb, j, j->err,
	    sizeof(j->err)) == -1)
		return -1;
	if (!j->found) {
		j->rc = CORE_NOTFOUND;
		snprintf(j->err, sizeof(j->err), "broadcast %" PRId64 ": no "
		    "such broadcast", j->from);
		return 0;
	}
	/* queued or sending: its deferred ones are still being tried;
	 * paused: a resume would send to them again */
	if (j->orig.state != BC_DONE && j->orig.state != BC_CANCELLED) {
		j->rc = CORE_CONFLICT;
		snprintf(j->err, sizeof(j->err), "broadcast %" PRId64 " is %s: "
		    "only a done or cancelled broadcast can be resent%s",
		    j->from, store_bc_strstate(j->orig.state),
		    j->orig.state == BC_PAUSED ? " (resume or cancel it "
		    "first)" : "");
		return 0;
	}
	if (store_bc_resend_count(st, j->from, j->states, &j->n, j->err,
	    sizeof(j->err)) == -1)
		return -1;
	if (j->n == 0) {
		j->rc = CORE_CONFLICT;
		snprintf(j->err, sizeof(j->err), "broadcast %" PRId64 ": no "
		    "active subscriber left whose delivery %s", j->from,
		    j->states == (1u << DLV_FAILED) ? "failed" :
		    j->states == (1u << DLV_DEFERRED) ? "was deferred" :
		    "failed or was deferred");
		return 0;
	}
	memset(&bc, 0, sizeof(bc));
	bc.title = j->title;
	bc.subject = j->subject;
	bc.source = j->source;
	bc.filename = j->filename;
	bc.markdown = j->orig.markdown;
	bc.lang = j->lang;		/* its translations: the store copies */
	bc.created = (int64_t)time(NULL);
	bc.resent_from = j->from;
	bc.resend_states = j->states;
	if (store_bc_create(st, &bc, &j->id, j->err, sizeof(j->err)) == -1)
		return -1;
	j->rc = CORE_OK;
	/* the first slice now, so that status shows them pending */
	if (store_bc_snapshot(st, j->id, j->slice, &more, err,
	    sizeof(err)) == -1)
		log_warnx("broadcast %" PRId64 ": %s", j->id, err);
	return 0;
}

static void
resend_done(void *arg, int rc)
{
	struct resend_job	*j = arg;
	struct core_result	 r;

	(void)rc;
	memset(&r, 0, sizeof(r));
	r.rc = j->rc;
	if (j->rc != CORE_OK)
		r.err = j->err;
	else {
		r.id = j->id;
		r.changed = j->n;
		log_info("broadcast %" PRId64 ": resend of broadcast %" PRId64
		    " to its %s recipients, %" PRId64 " still active", j->id,
		    j->from, resend_strstates(j->states), j->n);
		snapshot_kick();	/* the rest of its recipients */
		queue_news();
	}
	j->cb(&r, j->arg);
	free(j->title);
	free(j->subject);
	free(j->source);
	free(j->filename);
	free(j);
}

/*
 * Resend broadcast id to its recipients in states (a mask of 1 << state,
 * DLV_FAILED and/or DLV_DEFERRED): cb later with r->id the new broadcast
 * and r->changed its recipients, or r->rc CORE_NOTFOUND (no such
 * broadcast) or CORE_CONFLICT (not done or cancelled, or nobody to
 * resend to) with the reason.
 */
enum core_rc
resend_start(int64_t id, unsigned states, core_done_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct resend_job	*j;

	states &= 1u << DLV_FAILED | 1u << DLV_DEFERRED;
	if (states == 0) {
		snprintf(err, errlen, "resend: neither failed nor deferred");
		return CORE_INVALID;
	}
	if (env->stopping) {
		snprintf(err, errlen, "daemon is shutting down");
		return CORE_UNAVAILABLE;
	}
	j = xcalloc(1, sizeof(*j));
	j->from = id;
	j->states = states;
	j->slice = snapshot_slice();
	j->cb = cb;
	j->arg = arg;
	writer_submit(env->writer, resend_work, resend_done, j);
	return CORE_OK;
}
