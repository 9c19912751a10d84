/*
 * dest.h -- destinations: the big mailbox providers as one group each,
 * and the parent domain of a mail exchanger.
 *
 * SYNOPSIS
 *	dest_provider("googlemail.com")		"gmail.com"
 *	dest_provider("aspmx.l.google.com")	"gmail.com" (an MX host)
 *	dest_provider("example.org")		NULL
 *	dest_parent("mx1.mail.example.co.uk", out, len)	"example.co.uk"
 *
 * A provider is named by its first domain in the static table (gmail.com
 * for gmail.com, googlemail.com and google.com, Google's MX domain).  A
 * domain matches a provider when it is one of its domains or ends with
 * "." and one of them.  Pure functions of their arguments: any thread.
 */
#ifndef BROADSIDE_DEST_H
#define BROADSIDE_DEST_H

#include <stddef.h>

/* The provider domain (d) or an MX host in it belongs to, or NULL. */
const char	*dest_provider(const char *d);
/*
 * The registrable parent of host name h (its last two labels, three
 * under a two-level public suffix such as co.uk), lowercase, in out:
 * 0, or -1 if it does not fit or h is no host name.
 */
int		 dest_parent(const char *h, char *out, size_t outlen);
/* The group key of a domain: its provider, else itself (lowercase). */
void		 dest_key(const char *d, char *out, size_t outlen);
/*
 * The MX host of lowest preference in a DNS answer (ans, n octets, as
 * res_nquery returns it) into host, and the least TTL of the MX records
 * in *ttl: 1; 0 if it holds no MX record; -1 if it is malformed.  Reads
 * nothing outside ans[0..n).
 */
int		 dest_mx(const unsigned char *ans, size_t n, char *host,
		    size_t hostlen, unsigned *ttl);

#endif
