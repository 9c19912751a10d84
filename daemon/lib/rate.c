/*
 * rate.c -- a token bucket, and one under a mutex (see rate.h).
 */
#include "rate.h"

int
rate_bucket_take(struct rate_bucket *b, double per_second, double burst,
    double now)
{
	if (now > b->last) {
		b->tokens += (now - b->last) * per_second;
		b->last = now;
	}
	if (b->tokens > burst)
		b->tokens = burst;
	if (b->tokens < 1.0)
		return 0;
	b->tokens -= 1.0;
	return 1;
}

void
rate_init(struct rate *r, double per_second, int burst)
{
	pthread_mutex_init(&r->mtx, NULL);
	r->per_second = per_second;
	r->burst = burst < 1 ? 1 : burst;
	r->b.tokens = r->burst;
	r->b.last = 0;
}

void
rate_set(struct rate *r, double per_second, int burst)
{
	pthread_mutex_lock(&r->mtx);
	r->per_second = per_second;
	r->burst = burst < 1 ? 1 : burst;
	if (r->b.tokens > r->burst)
		r->b.tokens = r->burst;
	pthread_mutex_unlock(&r->mtx);
}

double
rate_take(struct rate *r, double now)
{
	double	wait = 0;

	pthread_mutex_lock(&r->mtx);
	if (r->per_second > 0) {
		if (r->b.last == 0)
			r->b.last = now;
		if (!rate_bucket_take(&r->b, r->per_second, r->burst, now))
			wait = (1.0 - r->b.tokens) / r->per_second;
	}
	pthread_mutex_unlock(&r->mtx);
	return wait;
}

void
rate_refund(struct rate *r)
{
	pthread_mutex_lock(&r->mtx);
	if (r->per_second > 0 && r->b.tokens + 1.0 <= r->burst)
		r->b.tokens += 1.0;
	pthread_mutex_unlock(&r->mtx);
}

void
rate_destroy(struct rate *r)
{
	pthread_mutex_destroy(&r->mtx);
}
