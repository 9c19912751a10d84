/*
 * hmac.h -- HMAC-SHA256 with the key's pads hashed once (RFC 2104).
 *
 * hmac_key_new() hashes (key ^ ipad) and (key ^ opad) into two digest
 * contexts; each MAC copies them, so a message costs two short digests
 * and no key set-up (the tokens of every link and the VERP envelope
 * senders, per message).  A key is read-only once made: several threads
 * may MAC with it at once.
 */
#ifndef BROADSIDE_HMAC_H
#define BROADSIDE_HMAC_H

#include <stddef.h>

#define HMAC_SHA256_LEN	32

struct hmac_key;

/* One piece of the message; the MAC is over the pieces in turn. */
struct hmac_part {
	const void	*p;
	size_t		 len;
};

struct hmac_key	*hmac_key_new(const unsigned char *, size_t);
void		 hmac_key_free(struct hmac_key *);
int		 hmac_sha256(const struct hmac_key *, const struct hmac_part *,
		    size_t, unsigned char [HMAC_SHA256_LEN]);

#endif
