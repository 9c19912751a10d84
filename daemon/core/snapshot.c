/*
 * snapshot.c -- a new broadcast's recipients, taken in slices.
 *
 * A new broadcast's recipients are taken from the store a slice at a
 * time, one transaction each, on the writer thread (writer.c): a million
 * subscribers cost the loop nothing but a submit per slice, and never an
 * fsync.  A slice holds the writer's queue (the engine's results wait
 * behind it), so slices are sized to about SNAPSHOT_TARGET of the
 * thread's time.  Only the first slice of a new broadcast is taken on
 * the loop, in the request's turn, so status shows recipients pending as
 * soon as send returns.  Broadcasts are done oldest first; the engine
 * starts one only once all its recipients are taken.  After a crash the
 * engine starts this again where the store stopped.
 */
#include <inttypes.h>
#include <stdio.h>

#include <event2/event.h>

#include "core.h"
#include "store.h"

#define SNAPSHOT_SLICE		50000	/* recipients taken per transaction, at
					   most (slice_adapt: about
					   SNAPSHOT_TARGET of the thread's
					   time each) */
#define SNAPSHOT_SLICE_MIN	1000
#define SNAPSHOT_FIRST		2000	/* on the loop, in send's turn */
#define SNAPSHOT_TARGET		0.050	/* seconds of the writer's time */

/* One slice, out to the writer thread. */
struct snap_job {
	int64_t		 id;		/* 0: find the oldest still taking */
	int		 slice;
	int		 more;
	double		 secs;		/* the slice's time on the thread */
	char		 err[512];
};

static struct {
	struct event	*timer;		/* takes recipients in slices */
	struct writer	*writer;
	struct snap_job	 job;
	int		 out;		/* job submitted, done() not yet run */
	int64_t		 id;		/* broadcast they go to, 0: find */
	size_t		 slice;		/* recipients per slice now */
	int		 stopped;
	void		(*taken)(void);	/* a broadcast has them all */
} snap;

static int
snapshot_pick_cb(const struct broadcast *bc, void *arg)
{
	/* newest first: the last match is the oldest */
	if (bc->snapping)
		*(int64_t *)arg = bc->id;
	return 0;
}

/* The writer thread: find the broadcast if need be, take a slice. */
static int
snapshot_work(struct store *st, void *arg)
{
	struct snap_job	*j = arg;
	double		 t0;

	j->more = 0;
	if (j->id == 0) {
		if (store_bc_list(st, 1000000, snapshot_pick_cb, &j->id,
		    j->err, sizeof(j->err)) == -1)
			return -1;
		if (j->id == 0)
			return 0;	/* none left */
	}
	t0 = now_mono();
	if (store_bc_snapshot(st, j->id, j->slice, &j->more, j->err,
	    sizeof(j->err)) == -1)
		return -1;
	j->secs = now_mono() - t0;
	return 0;
}

/* The loop: a slice came back. */
static void
snapshot_done(void *arg, int rc)
{
	struct timeval	 now = { 0, 0 }, later = { 1, 0 };
	struct snap_job	*j = arg;

	snap.out = 0;
	if (rc == -1) {
		log_warnx("broadcast %" PRId64 ": %s", j->id, j->err);
		if (!snap.stopped)
			evtimer_add(snap.timer, &later);
		return;
	}
	if (j->id == 0)
		return;			/* none left */
	snap.id = j->id;
	snap.slice = slice_adapt(snap.slice, j->secs, SNAPSHOT_TARGET,
	    SNAPSHOT_SLICE_MIN, SNAPSHOT_SLICE);
	if (!j->more) {
		log_info("broadcast %" PRId64 ": recipients taken", snap.id);
		snap.id = 0;		/* next: another one, if any */
		snap.taken();
	}
	if (!snap.stopped)
		evtimer_add(snap.timer, &now);
}

static void
snapshot_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (snap.stopped || snap.out)
		return;			/* its done() goes on */
	snap.job.id = snap.id;
	snap.job.slice = (int)snap.slice;
	snap.out = 1;
	writer_submit(snap.writer, snapshot_work, snapshot_done, &snap.job);
}

void
snapshot_kick(void)
{
	struct timeval	now = { 0, 0 };

	evtimer_add(snap.timer, &now);
}


void
snapshot_init(void (*taken)(void), struct writer *writer)
{
	snap.taken = taken;
	snap.writer = writer;
	snap.slice = SNAPSHOT_SLICE / 10;	/* grows while slices are quick */
	if ((snap.timer = evtimer_new(env->base, snapshot_cb, NULL)) == NULL)
		fatalx("evtimer_new");
}

/* The first slice of a new broadcast now, in the caller's turn. */
void
snapshot_first(int64_t id)
{
	char	err[512];
	int	more;

	/* the writer may hold the lock for a commit: then all slices
	 * are the thread's */
	if (store_bc_snapshot(env->store, id, SNAPSHOT_FIRST, &more, err,
	    sizeof(err)) == -1)
		log_info("broadcast %" PRId64 ": recipients will be taken "
		    "on the writer thread: %s", id, err);
	snapshot_kick();
}

/* Shutdown: no more slices (what is committed stays; a start resumes;
 * a slice out finishes with the writer). */
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
