/*
 * pacing.c -- per-destination groups, their token buckets and their
 * slowing down and recovery (see pacing.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broadside.h"
#include "config.h"
#include "dest.h"
#include "pacing.h"
#include "resolver.h"
#include "util.h"

#define PACING_BUCKETS	1024
#define PACING_SLOW_GAP	1.0	/* seconds between two decreases */

static struct pacing_group	*pacing_tab[PACING_BUCKETS];
static const struct config	*pacing_conf;

static unsigned
pacing_hash(const char *s)
{
	unsigned	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % PACING_BUCKETS;
}

/* The configured settings of g's key, else the default. */
static void
pacing_apply(struct pacing_group *g)
{
	const struct config	*c = pacing_conf;
	int			 i;

	g->rate = c != NULL ? c->pacing_default : 0;
	g->connections = 0;
	g->match[0] = '\0';
	for (i = 0; c != NULL && i < c->pacing_ngroups; i++)
		if (strcmp(c->pacing_groups[i].key, g->key) == 0) {
			g->rate = c->pacing_groups[i].rate;
			g->connections = c->pacing_groups[i].connections;
			snprintf(g->match, sizeof(g->match), "%s",
			    c->pacing_groups[i].match);
			break;
		}
	if (g->cur <= 0 || g->cur > g->rate)
		g->cur = g->rate;
}

void
pacing_config(const struct config *c)
{
	struct pacing_group	*g;
	size_t			 i;

	pacing_conf = c;
	for (i = 0; i < PACING_BUCKETS; i++)
		for (g = pacing_tab[i]; g != NULL; g = g->next) {
			g->cur = 0;		/* new settings: at full rate */
			pacing_apply(g);
		}
}

int
pacing_active(void)
{
	return pacing_conf != NULL && (pacing_conf->pacing_ngroups > 0 ||
	    pacing_conf->pacing_default > 0);
}

/* A configured group's key. */
static int
pacing_configured(const char *key)
{
	int	i;

	for (i = 0; pacing_conf != NULL && i < pacing_conf->pacing_ngroups;
	    i++)
		if (strcmp(pacing_conf->pacing_groups[i].key, key) == 0)
			return 1;
	return 0;
}

/* d is m, or a name under it. */
static int
pacing_under(const char *d, const char *m)
{
	size_t	dl = strlen(d), ml = strlen(m);

	if (dl == ml)
		return strcasecmp(d, m) == 0;
	return dl > ml && d[dl - ml - 1] == '.' &&
	    strcasecmp(d + dl - ml, m) == 0;
}

struct pacing_group *
pacing_group_of(const char *email)
{
	const char		*at = strrchr(email, '@');
	const char		*d = at != NULL ? at + 1 : email;
	struct pacing_group	*g;
	char			 key[256];
	unsigned		 h;
	int			 i, found = 0;

	/* the static table; else a configured match of the domain itself;
	 * else, with pacing on, its MX's group (resolver.c; NULL while it
	 * is being looked up); else the domain */
	if (dest_provider(d) != NULL)
		found = 1;
	for (i = 0; !found && pacing_conf != NULL &&
	    i < pacing_conf->pacing_ngroups; i++)
		if (pacing_under(d, pacing_conf->pacing_groups[i].match)) {
			snprintf(key, sizeof(key), "%s",
			    pacing_conf->pacing_groups[i].key);
			found = 2;
		}
	if (!pacing_active())
		snprintf(key, sizeof(key), "%s", PACING_UNPACED);
	else if (found == 1)
		dest_key(d, key, sizeof(key));
	else if (!found && resolver_key(d, key, sizeof(key)) == 0)
		return NULL;
	/* a group of its own only when it is paced: a list's many small
	 * domains cost no memory while pacing.default is 0 */
	if (!found && pacing_conf->pacing_default <= 0 &&
	    !pacing_configured(key))
		snprintf(key, sizeof(key), "%s", PACING_UNPACED);
	h = pacing_hash(key);
	for (g = pacing_tab[h]; g != NULL; g = g->next)
		if (strcmp(g->key, key) == 0)
			return g;
	g = xcalloc(1, sizeof(*g));
	snprintf(g->key, sizeof(g->key), "%s", key);
	g->tokens = PACING_BURST;
	pacing_apply(g);
	g->next = pacing_tab[h];
	pacing_tab[h] = g;
	return g;
}

/* Bring the bucket (and the recovering rate) up to now. */
static void
pacing_fill(struct pacing_group *g, double now)
{
	double	dt;

	if (g->last == 0)
		g->last = now;
	if (now <= g->last)
		return;
	dt = now - g->last;
	if (g->cur < g->rate) {
		g->cur += dt * g->rate * PACING_RECOVER;
		if (g->cur > g->rate)
			g->cur = g->rate;
	}
	g->tokens += dt * g->cur;
	if (g->tokens > PACING_BURST)
		g->tokens = PACING_BURST;
	g->last = now;
}

double
pacing_rate_now(struct pacing_group *g, double now)
{
	if (g->rate <= 0)
		return 0;
	pacing_fill(g, now);
	return g->cur;
}

double
pacing_wait(struct pacing_group *g, double now)
{
	if (g->connections > 0 && g->out >= g->connections)
		return -1;
	if (g->rate <= 0)
		return 0;
	pacing_fill(g, now);
	if (g->tokens >= 1.0)
		return 0;
	return (1.0 - g->tokens) / g->cur;
}

void
pacing_take(struct pacing_group *g, double now)
{
	g->out++;
	if (g->rate <= 0)
		return;
	pacing_fill(g, now);
	g->tokens -= 1.0;
}

void
pacing_done(struct pacing_group *g, int sent)
{
	if (g->out > 0)
		g->out--;
	if (sent)
		g->sent++;
}

int
pacing_slow(struct pacing_group *g, double now)
{
	double	floor;

	g->throttled++;
	if (g->rate <= 0 || (g->slowed > 0 && now - g->slowed <
	    PACING_SLOW_GAP))
		return 0;
	pacing_fill(g, now);
	floor = g->rate * PACING_MIN_SHARE;
	if (g->cur <= floor)
		return 0;
	g->cur /= 2;
	if (g->cur < floor)
		g->cur = floor;
	if (g->tokens > 1.0)
		g->tokens = 1.0;
	g->slowed = now;
	return 1;
}

void
pacing_each(void (*fn)(const struct pacing_group *, void *), void *arg)
{
	struct pacing_group	*g;
	size_t			 i;

	for (i = 0; i < PACING_BUCKETS; i++)
		for (g = pacing_tab[i]; g != NULL; g = g->next)
			fn(g, arg);
}

void
pacing_free(void)
{
	struct pacing_group	*g, *next;
	size_t			 i;

	for (i = 0; i < PACING_BUCKETS; i++) {
		for (g = pacing_tab[i]; g != NULL; g = next) {
			next = g->next;
			free(g);
		}
		pacing_tab[i] = NULL;
	}
	pacing_conf = NULL;
}
