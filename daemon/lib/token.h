/*
 * token.h -- HMAC-SHA256 tokens bound to a subscriber and a purpose (leaf
 * module, libc and libcrypto only).
 *
 * SYNOPSIS
 *	char t[TOKEN_SIZE];
 *	token_make(key, keylen, "unsubscribe", subscriber_id, t, sizeof(t));
 *	token_check(key, keylen, "unsubscribe", t, &subscriber_id);
 *
 *	tk = token_key_new(key, keylen, err, errlen);	(once per broadcast)
 *	token_key_make(tk, purpose, id, t, sizeof(t));	(thread-safe)
 *	token_key_free(tk);
 *
 * FORMAT
 *	token = base64url(id || mac), no padding, TOKEN_LEN (32) characters:
 *	id is the subscriber id as 8 big-endian octets and mac the first 16
 *	octets of HMAC-SHA256(key, "broadside-token-v1" NUL purpose NUL id).
 *	The purpose is inside the MAC, so a token made for one purpose never
 *	verifies for another; the id travels in clear (it is not a secret,
 *	only unforgeable).
 *
 * BEHAVIOUR
 *	token_check accepts exactly TOKEN_LEN base64url characters, recomputes
 *	the MAC and compares it with CRYPTO_memcmp (constant time).  Anything
 *	else -- wrong length, padding, other alphabet, a flipped bit, another
 *	purpose or key -- fails.  A token_key holds the precomputed inner and
 *	outer HMAC states, so making a token costs two SHA-256 blocks; it is
 *	read-only after token_key_new and may be shared between threads.
 *
 * DIAGNOSTICS
 *	token_make and token_key_make return -1 when out is too small or the
 *	key or purpose is empty; token_check returns -1 for any bad token and
 *	0 with *id set for a good one.
 */
#ifndef BROADSIDE_TOKEN_H
#define BROADSIDE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_LEN	32		/* characters, no NUL */
#define TOKEN_SIZE	(TOKEN_LEN + 1)
#define TOKEN_MACLEN	16		/* truncated HMAC octets */

struct token_key;

struct token_key *token_key_new(const unsigned char *, size_t, char *, size_t);
void	 token_key_free(struct token_key *);
int	 token_key_mac(const struct token_key *, const char *, uint64_t,
	    unsigned char [TOKEN_MACLEN]);
int	 token_key_make(const struct token_key *, const char *, uint64_t,
	    char *, size_t);
int	 token_key_check(const struct token_key *, const char *, const char *,
	    uint64_t *);

int	 token_make(const unsigned char *, size_t, const char *, uint64_t,
	    char *, size_t);
int	 token_check(const unsigned char *, size_t, const char *, const char *,
	    uint64_t *);

#endif
