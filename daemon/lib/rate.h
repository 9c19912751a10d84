/*
 * rate.h -- a token bucket, shared between threads.
 *
 * SYNOPSIS
 *	struct rate r;
 *	rate_init(&r, 2.0, 1);		2 tokens a second, at most 1 saved
 *	wait = rate_take(&r, now_mono());
 *	if (wait > 0) ...		none now: one is due in `wait` s
 *
 * A bucket holds at most `burst` tokens and gains `per_second` of them a
 * second; per_second <= 0 means unlimited (rate_take always succeeds).
 * The engine's sender threads take a token as each message starts, so
 * "at most rate + burst messages in any second" holds however long a
 * message waited in a queue.  Every function is thread-safe.
 *
 * Shared (rate_share): several daemons on one store keep one rate
 * between them.  The bucket is then not used: tokens are the slots
 * granted (rate_grant) from reservations each daemon makes in the
 * store, n slots one 1/per_second apart from a time the store gave; a
 * thread takes the next due slot, and with none granted waits
 * RATE_STARVED and looks again.  Slots overdue by more than burst are
 * dropped, not sent at once (a grant that came back late).
 */
#ifndef BROADSIDE_RATE_H
#define BROADSIDE_RATE_H

#include <pthread.h>

/* The bucket alone, for one thread (the HTTP limiter's tables of them). */
struct rate_bucket {
	double		 tokens;
	double		 last;		/* when tokens was last brought up */
};

/*
 * Bring b up to now (per_second a second, at most burst), then take one
 * token: 1 if there was one, else 0.
 */
int	rate_bucket_take(struct rate_bucket *b, double per_second,
	    double burst, double now);

#define RATE_GRANTS	8
#define RATE_STARVED	0.005	/* seconds: no slot granted, look again */

/* n slots left, the next due at `next` (the caller's clock) */
struct rate_grant {
	double		 next;
	int		 left;
};

struct rate {
	pthread_mutex_t	 mtx;
	double		 per_second;	/* <= 0: unlimited */
	double		 burst;
	struct rate_bucket b;
	int		 shared;	/* tokens are granted slots only */
	struct rate_grant g[RATE_GRANTS];
	int		 ng;
};

void	rate_init(struct rate *, double per_second, int burst);
/* New settings (a reload): tokens saved so far are kept, capped. */
void	rate_set(struct rate *, double per_second, int burst);
/* 0 and one token taken; else the seconds until one is due (> 0). */
double	rate_take(struct rate *, double now);
/* Give back a token that was taken and not used. */
void	rate_refund(struct rate *);
void	rate_destroy(struct rate *);
/* Shared or not from now on (a change drops the slots granted). */
void	rate_share(struct rate *, int);
/* n slots, the first at `at`, then one each 1/per_second s; -1 if
 * RATE_GRANTS grants are pending already. */
int	rate_grant(struct rate *, double at, int n);
/* Seconds of granted slots still ahead at now (shared; 0: none). */
double	rate_ahead(struct rate *, double now);

#endif
