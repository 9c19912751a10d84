/*
 * rate.c -- a token bucket, and one under a mutex (see rate.h).
 */
#include <string.h>

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
	r->shared = 0;
	r->ng = 0;
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

/* Shared: the next granted slot, with mtx held. */
static double
rate_take_slot(struct rate *r, double now)
{
	struct rate_grant	*g;
	double			 gap = 1.0 / r->per_second, late;
	int			 skip;

	while (r->ng > 0) {
		g = &r->g[0];
		/* overdue by more than burst: those slots are gone, so that
		 * a late grant cannot burst above rate + burst */
		late = now - r->burst * gap - g->next;
		if (late > 0 && g->left > 0) {
			skip = (int)(late / gap) + 1;
			if (skip > g->left)
				skip = g->left;
			g->left -= skip;
			g->next += skip * gap;
		}
		if (g->left > 0)
			break;
		memmove(&r->g[0], &r->g[1], (size_t)(r->ng - 1) *
		    sizeof(r->g[0]));
		r->ng--;
	}
	if (r->ng == 0)
		return RATE_STARVED;
	g = &r->g[0];
	if (now < g->next)
		return g->next - now;
	g->next += gap;
	g->left--;
	return 0;
}

double
rate_take(struct rate *r, double now)
{
	double	wait = 0;

	pthread_mutex_lock(&r->mtx);
	if (r->per_second > 0 && r->shared)
		wait = rate_take_slot(r, now);
	else if (r->per_second > 0) {
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
rate_share(struct rate *r, int on)
{
	pthread_mutex_lock(&r->mtx);
	if (r->shared != on)
		r->ng = 0;
	r->shared = on;
	pthread_mutex_unlock(&r->mtx);
}

int
rate_grant(struct rate *r, double at, int n)
{
	int	ret = 0;

	pthread_mutex_lock(&r->mtx);
	if (r->ng == RATE_GRANTS || n <= 0)
		ret = -1;
	else {
		r->g[r->ng].next = at;
		r->g[r->ng].left = n;
		r->ng++;
	}
	pthread_mutex_unlock(&r->mtx);
	return ret;
}

double
rate_ahead(struct rate *r, double now)
{
	double	end, ahead = 0;
	int	i;

	pthread_mutex_lock(&r->mtx);
	if (r->per_second > 0)
		for (i = 0; i < r->ng; i++) {
			end = r->g[i].next + r->g[i].left / r->per_second;
			if (end - now > ahead)
				ahead = end - now;
		}
	pthread_mutex_unlock(&r->mtx);
	return ahead;
}

void
rate_destroy(struct rate *r)
{
	pthread_mutex_destroy(&r->mtx);
}
