/*
 * relays_test.c -- the relays' state and choice (daemon/core/relays.c):
 * messages spread by weight among the relays up with room, a fault takes
 * a relay out with a doubling wait, the probe after it, a permanent
 * fault's longer wait, faults of messages sent before it went out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relays.h"
#include "unit.h"

static int	full[4];		/* relay i has no room */

static int
room(size_t i, void *arg)
{
	(void)arg;
	return !full[i];
}

/* n picks from v; counts per relay in got */
static void
picks(struct relay *const *v, size_t nv, int n, double now, int *got)
{
	int	i, k;

	for (i = 0; i < n; i++)
		if ((k = relays_pick(v, nv, now, room, NULL)) >= 0)
			got[k]++;
}

int
main(void)
{
	struct relay	 a, b, c, *v[3] = { &a, &b, &c };
	unsigned int	 seed = 1;
	int		 got[3], k, i, seq[8];
	double		 w, now = 100.0;

	/* 1. weights 3:1:0 (c out for now): exactly 3:1 over 400, and
	 *    smooth: never more than three of a in a row */
	relay_init(&a, "a:25", 3);
	relay_init(&b, "b:25", 1);
	relay_init(&c, "c:25", 2);
	memset(got, 0, sizeof(got));
	picks(v, 2, 400, now, got);
	CHECK_INT("3:1 a", got[0], 300);
	CHECK_INT("3:1 b", got[1], 100);
	for (i = 0; i < 8; i++)
		seq[i] = relays_pick(v, 2, now, room, NULL);
	CHECK("smooth: b once in any four", (seq[0] == 1) + (seq[1] == 1) +
	    (seq[2] == 1) + (seq[3] == 1) == 1 && (seq[4] == 1) +
	    (seq[5] == 1) + (seq[6] == 1) + (seq[7] == 1) == 1);
	memset(got, 0, sizeof(got));
	picks(v, 3, 600, now, got);
	CHECK("3:1:2 over 600", got[0] == 300 && got[1] == 100 &&
	    got[2] == 200);

	/* 2. no room for the relay whose turn it is: nobody (-1) until it
	 * has some, so the split stays by weight; none with room: -1 */
	full[0] = 1;
	memset(got, 0, sizeof(got));
	picks(v, 2, 10, now, got);
	CHECK("a full: b takes at most its own turn", got[0] == 0 &&
	    got[1] <= 1);
	CHECK_INT("a full: a's turn waits", relays_pick(v, 2, now, room,
	    NULL), -1);
	full[0] = 0;
	CHECK_INT("a has room again: its turn", relays_pick(v, 2, now, room,
	    NULL), 0);
	full[0] = 1;
	full[1] = 1;
	CHECK_INT("all full", relays_pick(v, 2, now, room, NULL), -1);
	full[0] = full[1] = 0;

	/* 3. a temporary fault: out 1 s (+-20 %), b takes everything */
	w = relay_fault(&a, 0, 0, "connect: refused", now, &seed);
	CHECK("fault: wait 0.8..1.2 s", w >= 0.8 && w <= 1.2);
	CHECK_STR("fault: state", relay_strstate(a.state), "out");
	CHECK_STR("fault: reason", a.reason, "connect: refused");
	CHECK_INT("fault: up", relays_up(v, 2), 1);
	CHECK("fault: next probe", relays_next(v, 2) == now + w);
	w = relay_fault(&a, 0, 0, "connect: refused", now + 0.1, &seed);
	CHECK("a message sent before: not news", w == 0);
	memset(got, 0, sizeof(got));
	picks(v, 2, 10, now + 0.5, got);
	CHECK("out: b takes all", got[0] == 0 && got[1] == 10);

	/* 4. its wait over: a first, for one probe */
	k = relays_pick(v, 2, now + 1.3, room, NULL);
	CHECK_INT("probe: a first", k, 0);
	a.probe = 1;		/* the engine marks it out */
	CHECK_INT("probe out: b", relays_pick(v, 2, now + 1.3, room, NULL), 1);
	CHECK("probe out: no next", relays_next(v, 1) < 0);
	/* the probe fails: 2 s */
	w = relay_fault(&a, 0, 1, "connect: refused", now + 1.4, &seed);
	CHECK("probe failed: wait 1.6..2.4 s", w >= 1.6 && w <= 2.4);
	CHECK_INT("probe failed: no probe out", a.probe, 0);
	for (i = 0; i < 10; i++)
		w = relay_fault(&a, 0, 1, "connect: refused", now + 2, &seed);
	CHECK("doubling stops at RELAY_WAIT_MAX", w >= 0.8 * RELAY_WAIT_MAX &&
	    w <= 1.2 * RELAY_WAIT_MAX);
	CHECK_INT("faults counted once per outage", a.faults, 1);
	/* the probe answered: up, and in the weights again */
	CHECK_INT("answered: was out", relay_ok(&a), 1);
	CHECK_INT("answered: again", relay_ok(&a), 0);
	CHECK_INT("answered: up", relays_up(v, 2), 2);
	memset(got, 0, sizeof(got));
	picks(v, 2, 40, now + 100, got);
	CHECK("back: 3:1", got[0] == 30 && got[1] == 10);

	/* 5. permanent faults: refused, long wait; all refused */
	w = relay_fault(&b, 1, 0, "550 5.7.1 Relaying denied", now, &seed);
	CHECK("refused: RELAY_REFUSED_WAIT", w >= 0.8 * RELAY_REFUSED_WAIT &&
	    w <= 1.2 * RELAY_REFUSED_WAIT);
	CHECK_STR("refused: state", relay_strstate(b.state), "refused");
	CHECK_INT("one refuses: not all", relays_refused(v, 2), 0);
	relay_fault(&a, 1, 0, "530 5.7.0 Authentication required", now, &seed);
	CHECK_INT("both refuse", relays_refused(v, 2), 1);
	CHECK_INT("none up", relays_up(v, 2), 0);
	CHECK_INT("none now", relays_pick(v, 2, now + 1, room, NULL), -1);
	relay_reset(&a);
	relay_reset(&b);
	CHECK_INT("reset: all up", relays_up(v, 2), 2);
	return unit_done("relays");
}
