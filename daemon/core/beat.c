/*
 * beat.c -- this node's heartbeat on a shared store (issue 13).
 *
 * On PostgreSQL several daemons share the deliveries; a node's claims
 * are its own only while it beats (store.h, store_node_beat): a node
 * not seen for STORE_BEAT_EXPIRY_MS -- stopped, cut off, stuck -- has
 * its claims put back by the others' next claim.  So every STORE_BEAT_MS
 * the loop hands a beat to the writer thread (never a store call on the
 * loop), and keeps, on its own monotonic clock, until when its claims
 * are surely still its own: the time the last good beat was asked for,
 * plus the expiry, less BEAT_MARGIN_MS (the store counts from when it
 * wrote the beat, later, and in whole seconds).
 *
 * A sender thread asks beat_ok before each message: past that time (a
 * node stopped with SIGSTOP and continued, a store out of reach) it
 * sends nothing more, so a stopped node duplicates at most what it had
 * in flight.  A beat that comes back late, or that the store says
 * followed an expired one, starts a new epoch: what was claimed before
 * may be another node's now and is given back unsent (beat_ok of its
 * epoch is 0 for good), while claims made from then on go out.
 *
 * SQLite is one daemon: no beats, beat_ok is always 1.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "core.h"
#include "store.h"

#define BEAT_MARGIN_MS	1000

struct beat_job {
	int	 lapsed;		/* the store's word */
	char	 err[512];
};

static struct {
	struct event	*timer;
	int		 on;		/* beating (a shared store) */
	int		 out;		/* a beat at the writer */
	int		 first;		/* none came back yet */
	int		 failing;	/* the last beat failed (logged once) */
	double		 asked;		/* now_mono() the one out was asked */
	struct beat_job	 job;
	void		(*renewed)(void);
} b;

/* monotonic ms until which the claims are ours; 0: no lease (SQLite) */
static _Atomic int64_t	 beat_until;
static atomic_uint	 beat_gen;

static int64_t
beat_now_ms(void)
{
	return (int64_t)(now_mono() * 1000);
}

unsigned
beat_epoch(void)
{
	return atomic_load(&beat_gen);
}

int
beat_ok(unsigned epoch)
{
	int64_t	until = atomic_load(&beat_until);

	if (until == 0)
		return 1;
	return epoch == atomic_load(&beat_gen) && beat_now_ms() < until;
}

/* The writer thread. */
static int
beat_work(struct store *st, void *arg)
{
	struct beat_job	*j = arg;

	return store_node_beat(st, &j->lapsed, j->err, sizeof(j->err));
}

/* The loop: the beat is in (or not). */
static void
beat_done(void *arg, int rc)
{
	struct beat_job	*j = arg;
	int64_t		 asked = (int64_t)(b.asked * 1000), until;
	int		 was_ok;

	b.out = 0;
	if (!b.on)
		return;			/* beat_stop: writer_finish's */
	if (rc == -1) {
		if (!b.failing)
			log_warnx("node %s: heartbeat: %s; claims given up "
			    "once it is %d s old", env->node, j->err,
			    (STORE_BEAT_EXPIRY_MS - BEAT_MARGIN_MS) / 1000);
		b.failing = 1;
		return;
	}
	if (b.failing)
		log_info("node %s: heartbeat written again", env->node);
	b.failing = 0;
	until = atomic_load(&beat_until);
	was_ok = beat_now_ms() < until;
	if (!b.first && (j->lapsed || asked >= until)) {
		/* the others may have taken what it held: not ours now */
		atomic_fetch_add(&beat_gen, 1);
		log_warnx("node %s: heartbeat lapsed (%s); what it had "
		    "claimed is given back unsent", env->node, j->lapsed ?
		    "the store had it expired" : "none written in time");
	}
	b.first = 0;
	atomic_store(&beat_until, asked + STORE_BEAT_EXPIRY_MS -
	    BEAT_MARGIN_MS);
	if (!was_ok && b.renewed != NULL)
		b.renewed();
}

static void
beat_submit(void)
{
	if (b.out || !b.on)
		return;			/* the writer is behind: one at a time */
	b.out = 1;
	b.asked = now_mono();
	writer_submit(env->writer, beat_work, beat_done, &b.job);
}

static void
beat_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	beat_submit();
}

/*
 * After writer_new: beat at once and every STORE_BEAT_MS if the store
 * is shared; renewed() runs on the loop when a beat makes the claims
 * good again after they were not (to look for work).
 */
void
beat_init(void (*renewed)(void))
{
	struct timeval	tv = { STORE_BEAT_MS / 1000,
			    (STORE_BEAT_MS % 1000) * 1000 };

	memset(&b, 0, sizeof(b));
	atomic_store(&beat_until, 0);
	if (!store_node_beats(env->store))
		return;
	b.on = 1;
	b.first = 1;
	b.renewed = renewed;
	atomic_store(&beat_until, 1);	/* nothing is ours before a beat */
	if ((b.timer = event_new(env->base, -1, EV_PERSIST, beat_timer_cb,
	    NULL)) == NULL || event_add(b.timer, &tv) == -1)
		fatalx("beat: timer");
	beat_submit();
}

/* queue_free: no more beats (one out comes back through writer_finish). */
void
beat_stop(void)
{
	if (b.timer != NULL)
		event_free(b.timer);
	b.timer = NULL;
	b.on = 0;
}
