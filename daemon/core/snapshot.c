/*
 * snapshot.c -- a new broadcast's recipients, taken in slices.
 *
 * A new broadcast's recipients are taken from the store SNAPSHOT_SLICE
 * at a time, one transaction each on the writer thread (writer.c), one
 * slice out at a time so the engine's results go between them: a
 * million subscribers hold the writer a few ms at a time, and the loop
 * not at all.  Broadcasts are done oldest
 * first; the engine starts one only once all its recipients are taken.
 * After a crash the engine starts this again where the store stopped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "core.h"
#include "store.h"

#define SNAPSHOT_SLICE		20000	/* recipients taken per transaction, at
					   most (slice_adapt: about
					   SLICE_TARGET of loop time each) */
#define SNAPSHOT_SLICE_MIN	1000

static struct {
	struct event	*timer;		/* takes recipients in slices */
	int64_t		 id;		/* broadcast they go to, 0: find */
	size_t		 slice;		/* recipients per slice now */
	int		 out;		/* a slice is out to the writer */
	int		 stopped;
	void		(*taken)(void);	/* a broadcast has them all */
} snap;

/* One slice, out to the writer thread. */
struct snap_job {
	int64_t		 id;		/* 0: find the oldest one first */
	int		 slice;
	int		 more;
	double		 took;		/* seconds on the thread */
	char		 err[512];
};

static int
snapshot_pick_cb(const struct broadcast *bc, void *arg)
{
	/* newest first: the last match is the oldest */
	if (bc->snapping)
		*(int64_t *)arg = bc->id;
	return 0;
}

/* The writer's thread. */
static int
snapshot_work(struct store *st, void *arg)
{
	struct snap_job	*j = arg;
	double		 t0 = now_mono();

	if (j->id == 0 && store_bc_list(st, 1000000, snapshot_pick_cb,
	    &j->id, j->err, sizeof(j->err)) == -1)
		return -1;
	if (j->id == 0)
		return 0;		/* none left */
	if (store_bc_snapshot(st, j->id, j->slice, &j->more, j->err,
	    sizeof(j->err)) == -1)
		return -1;
	j->took = now_mono() - t0;
	return 0;
}

static void
snapshot_done(void *arg, int rc)
{
	struct snap_job	*j = arg;
	struct timeval	 now = { 0, 0 }, later = { 1, 0 };

	snap.out = 0;
	if (snap.stopped || snap.timer == NULL) {
		free(j);
		return;
	}
	if (rc == -1) {
		if (j->id != 0)
			log_warnx("broadcast %" PRId64 ": %s", j->id, j->err);
		else
			log_warnx("store: %s", j->err);
		evtimer_add(snap.timer, &later);
		free(j);
		return;
	}
	snap.id = j->id;
	if (snap.id != 0) {
		/* a slice holds the writer from the engine's results: about
		 * SLICE_TARGET each */
		snap.slice = slice_adapt(snap.slice, j->took, SLICE_TARGET,
		    SNAPSHOT_SLICE_MIN, SNAPSHOT_SLICE);
		if (!j->more) {
			log_info("broadcast %" PRId64 ": recipients taken",
			    snap.id);
			snap.id = 0;	/* next: another one, if any */
			snap.taken();
		}
		evtimer_add(snap.timer, &now);
	}
	free(j);
}

static void
snapshot_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snap_job	*j;

	(void)fd;
	(void)what;
	(void)arg;
	if (snap.stopped || snap.out)
		return;			/* its done() looks again */
	j = xcalloc(1, sizeof(*j));
	j->id = snap.id;
	j->slice = (int)snap.slice;
	snap.out = 1;
	writer_submit(env->writer, snapshot_work, snapshot_done, j);
}

void
snapshot_kick(void)
{
	struct timeval	now = { 0, 0 };

	evtimer_add(snap.timer, &now);
}

void
snapshot_init(void (*taken)(void))
{
	snap.taken = taken;
	snap.slice = SNAPSHOT_SLICE / 4;	/* grows while slices are quick */
	if ((snap.timer = evtimer_new(env->base, snapshot_cb, NULL)) == NULL)
		fatalx("evtimer_new");
}

/* Recipients a slice takes now (the first one of a new broadcast). */
int
snapshot_slice(void)
{
	return (int)snap.slice;
}

/* Shutdown: no more slices (what is committed stays; a start resumes). */
void
snapshot_stop(void)
{
	snap.stopped = 1;
	if (snap.timer != NULL)
		evtimer_del(snap.timer);
}

void
snapshot_free(void)
{
	if (snap.timer != NULL)
		event_free(snap.timer);
	snap.timer = NULL;
}
