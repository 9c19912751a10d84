/*
 * resolver.h -- MX lookups off the loop, for destination groups.
 *
 * Synopsis: resolver_key(domain) answers from a cache on the loop: the
 * group key of the domain's mail exchanger (its provider in the static
 * table, else the MX host's parent domain: aspmx.l.google.com ->
 * gmail.com, mx1.mailhost.example -> mailhost.example), or the domain
 * itself when it has no MX or the lookup failed.  A domain not yet known
 * is asked of one resolver thread (glibc res_nquery on a private
 * res_state, pointed at pacing.dns when set); news() runs on the loop
 * when answers come.  Answers are kept for their TTL (60 s to 1 day), a
 * failure for RESOLVER_FAIL_TTL; a stale answer is used while it is
 * asked again.
 *
 * Threading: resolver_* on the main loop only.
 */
#ifndef BROADSIDE_RESOLVER_H
#define BROADSIDE_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define RESOLVER_FAIL_TTL	60	/* seconds a failed lookup counts */

/* Start the thread; dns: "ADDR:PORT" or NULL (the system's servers). */
int	resolver_init(struct event_base *, const char *dns,
	    void (*news)(void *), void *arg, char *err, size_t errlen);
/* New servers for the lookups to come (a reload); the cache stays. */
void	resolver_set_dns(const char *dns);
/*
 * The group key of domain d in key: 1 when known, 0 when its lookup is
 * under way (news() will run).  Before resolver_init: 1, d itself.
 */
int	resolver_key(const char *d, char *key, size_t keylen);
/* Lookups made and failed since the start, domains cached. */
void	resolver_counts(uint64_t *lookups, uint64_t *failed, size_t *cached);
void	resolver_free(void);

#endif
