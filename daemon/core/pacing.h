/*
 * pacing.h -- delivery paced per destination group (issue 12 section 3).
 *
 * Synopsis: every recipient belongs to a group: its provider in the
 * static table (lib/dest.c: gmail.com and googlemail.com are one), else
 * its own domain.  pacing.groups gives a group its rate and a cap on its
 * messages out at once; the others run at pacing.default.  The engine
 * (queue.c) asks pacing_wait() before it hands a job to a relay, takes
 * the group's token with pacing_take() as it does (the global rate token
 * is still taken by the sender thread), and reports each job's end with
 * pacing_done().  A group told to slow down (a 4.7.x reply, a 421)
 * halves its rate, at most once a second, down to PACING_MIN_SHARE of
 * it, and recovers additively: a tenth of its rate a second.
 *
 * Threading: the main loop only.  No I/O: unit-testable.
 */
#ifndef BROADSIDE_PACING_H
#define BROADSIDE_PACING_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define PACING_MIN_SHARE	(1.0 / 64)	/* slowest: of the rate */
#define PACING_RECOVER		0.1	/* of the rate, gained a second */
#define PACING_BURST		2.0	/* tokens a group may save */
#define PACING_UNPACED		"*"	/* the one group of every recipient
					   not paced */

struct pacing_group {
	char		 key[256];	/* provider or domain (dest_key) */
	char		 match[256];	/* the configured match, or "" */
	double		 rate;		/* configured: messages a second,
					   0: unlimited */
	double		 cur;		/* now (slowed, recovering) */
	int		 connections;	/* out at once, 0: no cap */
	int		 out;		/* taken, not yet done */
	double		 tokens, last;	/* the bucket, at cur */
	double		 slowed;	/* when it was last slowed */
	uint64_t	 sent, throttled;
	unsigned	 gen;		/* queue_pump's scan: its mark */
	int		 seen;		/* ready jobs seen in that scan */
	double		 scan_wait;	/* pacing_wait() in that scan */
	struct pacing_group *next;	/* hash chain */
};

/* The configuration's groups (again after a reload). */
void	pacing_config(const struct config *);
/*
 * The group of a recipient's address (created on first use): its
 * provider in the static table, else a configured match of its domain,
 * else its MX's group; all the groups without a rate or cap of their
 * own (pacing off, or pacing.default 0 and not configured) are one,
 * PACING_UNPACED.  NULL while its MX is being looked up (resolver.h:
 * news then comes).
 */
struct pacing_group *pacing_group_of(const char *email);
/* Whether any group is paced (pacing.groups or pacing.default set). */
int	pacing_active(void);
/* 0: a job of g may go now; > 0: seconds until its next token;
 * < 0: at its cap of messages out (wait for one to end). */
double	pacing_wait(struct pacing_group *, double now);
void	pacing_take(struct pacing_group *, double now);
/* A job of g ended (sent: a 250 to its final dot). */
void	pacing_done(struct pacing_group *, int sent);
/* The destination asked to slow down: 1 if the rate went down now. */
int	pacing_slow(struct pacing_group *, double now);
/* The group's rate now (recovering as time passes), 0: unlimited. */
double	pacing_rate_now(struct pacing_group *, double now);
/* Every group, for /metrics: fn(group, arg) for each. */
void	pacing_each(void (*)(const struct pacing_group *, void *), void *);
void	pacing_free(void);

#endif
