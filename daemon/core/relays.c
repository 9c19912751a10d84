/*
 * relays.c -- the SMTP relays' state and the choice of a relay for each
 * message (see relays.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relays.h"

void
relay_init(struct relay *r, const char *name, int weight)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->weight = weight > 0 ? weight : 1;
	r->state = RELAY_UP;
}

const char *
relay_strstate(enum relay_state s)
{
	switch (s) {
	case RELAY_UP:
		return "up";
	case RELAY_OUT:
		return "out";
	case RELAY_REFUSED:
		return "refused";
	}
	return "unknown";
}

int
relay_ready(const struct relay *r, double now)
{
	if (r->state == RELAY_UP)
		return 1;
	return !r->probe && now >= r->until;
}

int
relays_pick(struct relay *const *v, size_t n, double now,
    int (*room)(size_t, void *), void *arg)
{
	long	total = 0;
	size_t	i;
	int	best = -1;

	/* a probe first: the sooner a relay is back, the better */
	for (i = 0; i < n; i++)
		if (v[i]->state != RELAY_UP && relay_ready(v[i], now) &&
		    room(i, arg))
			return (int)i;
	/*
	 * Smooth weighted round robin over every relay that is up, full or
	 * not: when the one whose turn it is has no room, nobody gets the
	 * job now (its pool's next result pumps again), so the split
	 * follows the weights, not which relay's threads happen to be
	 * free (on a saturated machine that gave 209:191 for 3:1).
	 */
	for (i = 0; i < n; i++) {
		if (v[i]->state != RELAY_UP)
			continue;
		total += v[i]->weight;
		if (best == -1 || v[i]->credit + v[i]->weight >
		    v[best]->credit + v[best]->weight)
			best = (int)i;
	}
	if (best < 0 || !room((size_t)best, arg))
		return -1;
	for (i = 0; i < n; i++)
		if (v[i]->state == RELAY_UP)
			v[i]->credit += v[i]->weight;
	v[best]->credit -= total;
	return best;
}

double
relay_fault(struct relay *r, int perm, int probe, const char *what,
    double now, unsigned int *seed)
{
	double	wait;

	if (r->state != RELAY_UP && !probe)
		return 0;	/* sent before it went out */
	if (probe)
		r->probe = 0;
	if (perm)
		r->backoff = RELAY_REFUSED_WAIT;
	else if (r->state == RELAY_OUT && r->backoff > 0)
		r->backoff = r->backoff * 2 > RELAY_WAIT_MAX ? RELAY_WAIT_MAX :
		    r->backoff * 2;
	else
		r->backoff = 1;
	if (r->state == RELAY_UP)
		r->faults++;
	r->state = perm ? RELAY_REFUSED : RELAY_OUT;
	r->credit = 0;
	wait = r->backoff * (0.8 + 0.4 * ((double)rand_r(seed) / RAND_MAX));
	r->until = now + wait;
	snprintf(r->reason, sizeof(r->reason), "%s", what);
	return wait;
}

int
relay_reset(struct relay *r)
{
	int	was = r->state != RELAY_UP;

	r->state = RELAY_UP;
	r->backoff = 0;
	r->until = 0;
	r->reason[0] = '\0';
	/* a probe still out comes back to an up relay: nothing to do */
	r->probe = 0;
	return was;
}

int
relay_ok(struct relay *r)
{
	return relay_reset(r);
}

size_t
relays_up(struct relay *const *v, size_t n)
{
	size_t	i, up = 0;

	for (i = 0; i < n; i++)
		up += v[i]->state == RELAY_UP;
	return up;
}

int
relays_refused(struct relay *const *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i]->state != RELAY_REFUSED)
			return 0;
	return n > 0;
}

double
relays_next(struct relay *const *v, size_t n)
{
	double	next = -1;
	size_t	i;

	for (i = 0; i < n; i++)
		if (v[i]->state != RELAY_UP && !v[i]->probe &&
		    (next < 0 || v[i]->until < next))
			next = v[i]->until;
	return next;
}
