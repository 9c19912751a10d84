/*
 * verp.h -- the envelope sender's token: which broadcast and which
 * subscriber a returned message is about (leaf module, libc and
 * libcrypto only).
 *
 * SYNOPSIS
 *	vk = verp_key_new(key, keylen, err, errlen);	(the secret file's)
 *	verp_make(vk, broadcast_id, subscriber_id, t, sizeof(t));
 *	verp_check(vk, t, &broadcast_id, &subscriber_id);
 *	verp_key_free(vk);
 *
 * FORMAT
 *	token = lowercase base32 (RFC 4648 alphabet, no padding) of
 *	bid || sid || mac, VERP_LEN (39) characters: bid and sid as 8
 *	big-endian octets each, mac the first 8 octets of
 *	HMAC-SHA256(vkey, "broadside-verp-v1" NUL bid sid), where vkey =
 *	HMAC-SHA256(key, "broadside-verp-key-v1") is the secret file's key
 *	derived for this purpose alone: no token of token.c, Message-ID or
 *	boundary is ever a VERP MAC, nor the other way round.  24 octets
 *	are 192 bits, 39 characters carry 195: the last 3 bits are zero.
 *	The envelope sender is "b-" token "@" bounce domain, a 41-octet
 *	local part (RFC 5321 allows 64), lowercase so that a relay that
 *	folds the case changes nothing.  The ids travel in clear (they are
 *	not secrets, only unforgeable); the address never does.
 *
 * BEHAVIOUR
 *	verp_check accepts exactly VERP_LEN characters of the alphabet (an
 *	uppercase letter is read as its lowercase: some relays fold case),
 *	with zero pad bits, then recomputes the MAC and compares it with
 *	CRYPTO_memcmp.  A verp_key is read-only after verp_key_new and may
 *	be shared between threads.
 *
 * DIAGNOSTICS
 *	verp_key_new returns NULL with err filled; verp_make returns -1 when
 *	out is too small; verp_check returns -1 for any bad token (length,
 *	alphabet, pad bits, MAC) and 0 with the ids set for a good one.
 */
#ifndef BROADSIDE_VERP_H
#define BROADSIDE_VERP_H

#include <stddef.h>
#include <stdint.h>

#define VERP_LEN	39		/* characters, no NUL */
#define VERP_SIZE	(VERP_LEN + 1)
#define VERP_MACLEN	8		/* truncated HMAC octets */
#define VERP_PREFIX	"b-"		/* the local part: "b-" token */

struct verp_key;

struct verp_key	*verp_key_new(const unsigned char *, size_t, char *, size_t);
void		 verp_key_free(struct verp_key *);
int		 verp_make(const struct verp_key *, uint64_t, uint64_t, char *,
		    size_t);
int		 verp_check(const struct verp_key *, const char *, uint64_t *,
		    uint64_t *);

#endif
