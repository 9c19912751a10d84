/*
 * relays.h -- the SMTP relays' state: which are up, which are out and
 * why, and which one takes the next message.
 *
 * Synopsis: the engine (queue.c) keeps one struct relay per configured
 * relay, next to that relay's sender pool.  relays_pick() chooses the
 * relay for the next message by smooth weighted round robin (nginx's:
 * each relay's weight added to its credit, the highest credit taken and
 * charged the sum) among the relays ready and with room; a relay that is
 * out and due for a probe goes first, for one message at a time.
 *
 * Behaviour: relay_fault() takes a relay out on a relay/session fault: a
 * temporary one for 1 s doubling to RELAY_WAIT_MAX (+-20 %), a permanent
 * one (the relay refuses everyone) for RELAY_REFUSED_WAIT.  When the wait
 * is over the relay gets one message, its probe; if that one is answered
 * about its recipient (relay_ok()), the relay is up again, else it stays
 * out and waits twice as long.  Faults of messages that were already out
 * when the relay went out change nothing: they come back at once.
 *
 * Threading: main loop only.  No allocation, no I/O: unit-testable.
 */
#ifndef BROADSIDE_RELAYS_H
#define BROADSIDE_RELAYS_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_WAIT_MAX		30	/* seconds: a temporary fault's cap */
#define RELAY_REFUSED_WAIT	300	/* seconds before a refusing relay is
					   asked again */

enum relay_state {
	RELAY_UP,
	RELAY_OUT,		/* temporary fault: probed after the wait */
	RELAY_REFUSED,		/* permanent fault: probed after longer */
};

struct relay {
	char		 name[128];	/* host[:port], for logs and metrics */
	int		 weight;
	long		 credit;	/* smooth weighted round robin */
	enum relay_state state;
	double		 backoff;	/* seconds: the last wait, unjittered */
	double		 until;		/* now_mono() before which it gets
					   nothing */
	int		 probe;		/* a probe is out */
	char		 reason[320];	/* why it is out */
	uint64_t	 sent;		/* messages it took (a 2xx to the dot) */
	uint64_t	 faults;	/* times it was taken out */
};

void	relay_init(struct relay *, const char *name, int weight);
/* Up, or out with its wait over and no probe out. */
int	relay_ready(const struct relay *, double now);
/*
 * The relay for the next message among v[0..n-1]: ready, and room(i,
 * arg) says it can take one now.  A relay due for a probe first, else by
 * weight.  -1: none.
 */
int	relays_pick(struct relay *const *v, size_t n, double now,
	    int (*room)(size_t, void *), void *arg);
/*
 * A relay/session fault of a message that went to r (probe: it was r's
 * probe).  Returns the wait in seconds when it is news (r taken out, or
 * its probe failed), 0 when r was out already (a message sent before).
 * seed: rand_r()'s, for the jitter.
 */
double	relay_fault(struct relay *, int perm, int probe, const char *what,
	    double now, unsigned int *seed);
/* The relay answered about a recipient: up.  1 if it was out. */
int	relay_ok(struct relay *);
/* Up at once (a reload, a resume): 1 if it was out. */
int	relay_reset(struct relay *);
/* How many are up. */
size_t	relays_up(struct relay *const *, size_t);
/* Whether every one refuses (permanent faults). */
int	relays_refused(struct relay *const *, size_t);
/* When the first relay out without a probe out may be probed
 * (now_mono()), or -1. */
double	relays_next(struct relay *const *, size_t);
const char *relay_strstate(enum relay_state);

#endif
