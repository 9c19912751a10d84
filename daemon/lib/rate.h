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

struct rate {
	pthread_mutex_t	 mtx;
	double		 per_second;	/* <= 0: unlimited */
	double		 burst;
	struct rate_bucket b;
};

void	rate_init(struct rate *, double per_second, int burst);
/* New settings (a reload): tokens saved so far are kept, capped. */
void	rate_set(struct rate *, double per_second, int burst);
/* 0 and one token taken; else the seconds until one is due (> 0). */
double	rate_take(struct rate *, double now);
/* Give back a token that was taken and not used. */
void	rate_refund(struct rate *);
void	rate_destroy(struct rate *);

#endif
