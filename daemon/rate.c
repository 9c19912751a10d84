/*
 * rate.c -- a token bucket under one mutex (see rate.h).
 */
#include "rate.h"

static void
rate_fill(struct rate *r, double now)
{
	if (now > r->last) {
		r->tokens += (now - r->last) * r->per_second;
		r->last = now;
	}
	if (r->tokens > r->burst)
		r->tokens = r->burst;
}

void
rate_init(struct rate *r, double per_second, int burst)
{
	pthread_mutex_init(&r->mtx, NULL);
	r->per_second = per_second;
	r->burst = burst < 1 ? 1 : burst;
	r->tokens = r->burst;
	r->last = 0;
}

void
rate_set(struct rate *r, double per_second, int burst)
{
	pthread_mutex_lock(&r->mtx);
	r->per_second = per_second;
	r->burst = burst < 1 ? 1 : burst;
	if (r->tokens > r->burst)
		r->tokens = r->burst;
	pthread_mutex_unlock(&r->mtx);
}

double
rate_take(struct rate *r, double now)
{
	double	wait = 0;

	pthread_mutex_lock(&r->mtx);
	if (r->per_second > 0) {
		if (r->last == 0)
			r->last = now;
		rate_fill(r, now);
		if (r->tokens >= 1.0)
			r->tokens -= 1.0;
		else
			wait = (1.0 - r->tokens) / r->per_second;
	}
	pthread_mutex_unlock(&r->mtx);
	return wait;
}

void
rate_refund(struct rate *r)
{
	pthread_mutex_lock(&r->mtx);
	if (r->per_second > 0 && r->tokens + 1.0 <= r->burst)
		r->tokens += 1.0;
	pthread_mutex_unlock(&r->mtx);
}

void
rate_destroy(struct rate *r)
{
	pthread_mutex_destroy(&r->mtx);
}
