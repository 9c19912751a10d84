/*
 * snapshot.c -- a new broadcast's recipients, taken in slices.
 *
 * A new broadcast's recipients are taken from the store SNAPSHOT_SLICE
 * at a time, one transaction each, with a zero timeout between so the loop
 * polls in between: a million subscribers cost the loop a few ms at a
 * time, not a third of a second at once.  Broadcasts are done oldest
 * first; the engine starts one only once all its recipients are taken.
 * After a crash the engine starts this again where the store stopped.
 */
#include <inttypes.h>
#include <stdio.h>

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

static void
snapshot_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 now = { 0, 0 }, later = { 1, 0 };
	char		 err[512];
	double		 t0;
	int		 more;

	(void)fd;
	(void)what;
	(void)arg;
	if (snap.stopped)
		return;
	if (snap.id == 0) {
		if (store_bc_list(env->store, 1000000, snapshot_pick_cb,
		    &snap.id, err, sizeof(err)) == -1) {
			log_warnx("store: %s", err);
			evtimer_add(snap.timer, &later);
			return;
		}
		if (snap.id == 0)
			return;		/* none left */
	}
	t0 = now_mono();
	if (store_bc_snapshot(env->store, snap.id, (int)snap.slice, &more,
	    err, sizeof(err)) == -1) {
		log_warnx("broadcast %" PRId64 ": %s", snap.id, err);
		evtimer_add(snap.timer, &later);
		return;
	}
	snap.slice = slice_adapt(snap.slice, now_mono() - t0,
	    SLICE_TARGET, SNAPSHOT_SLICE_MIN, SNAPSHOT_SLICE);
	if (!more) {
		log_info("broadcast %" PRId64 ": recipients taken", snap.id);
		snap.id = 0;		/* next: another one, if any */
		snap.taken();
	}
	evtimer_add(snap.timer, &now);
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

/* The first slice of a new broadcast now, in the caller's turn. */
void
snapshot_first(int64_t id)
{
	char	err[512];
	int	more;

	if (store_bc_snapshot(env->store, id, (int)snap.slice, &more, err,
	    sizeof(err)) == -1)
		log_warnx("broadcast %" PRId64 ": %s", id, err);
	snapshot_kick();
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
