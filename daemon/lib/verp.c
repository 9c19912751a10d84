/*
 * verp.c -- envelope sender tokens (verp.h): base32 of a broadcast id, a
 * subscriber id and a truncated HMAC under a key of their own.
 *
 * As in token.c, HMAC runs from two EVP_MD_CTX states taken after the
 * key pads were hashed, so a token costs two SHA-256 blocks and a copy,
 * not OpenSSL 3's fetch and rekeying of a one-shot HMAC(): the engine
 * makes one per message on the main loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hmac.h"
#include "verp.h"

#define VERP_DOMAIN	"broadside-verp-v1"
#define VERP_KEY_LABEL	"broadside-verp-key-v1"
#define VERP_RAWLEN	(8 + 8 + VERP_MACLEN)	/* 24 octets */

struct verp_key {
	struct hmac_key	*hk;		/* under the key derived for VERP */
};

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

struct verp_key *
verp_key_new(const unsigned char *key, size_t keylen, char *err,
    size_t errlen)
{
	struct verp_key	*vk = NULL;
	unsigned char	 k[HMAC_SHA256_LEN];
	unsigned int	 klen = 0;

	if (key == NULL || keylen == 0) {
		snprintf(err, errlen, "empty VERP key");
		return NULL;
	}
	/* the secret file's key, for this purpose only */
	if (HMAC(EVP_sha256(), key, (int)keylen,
	    (const unsigned char *)VERP_KEY_LABEL, sizeof(VERP_KEY_LABEL) - 1,
	    k, &klen) == NULL || klen != HMAC_SHA256_LEN ||
	    (vk = calloc(1, sizeof(*vk))) == NULL ||
	    (vk->hk = hmac_key_new(k, sizeof(k))) == NULL) {
		free(vk);
		OPENSSL_cleanse(k, sizeof(k));
		snprintf(err, errlen, "cannot set up HMAC-SHA256");
		return NULL;
	}
	OPENSSL_cleanse(k, sizeof(k));
	return vk;
}

void
verp_key_free(struct verp_key *vk)
{
	if (vk == NULL)
		return;
	hmac_key_free(vk->hk);
	free(vk);
}

static void
verp_put64(unsigned char *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* The first VERP_MACLEN octets of HMAC(vkey, domain NUL ids). */
static int
verp_mac(const struct verp_key *vk, const unsigned char ids[16],
    unsigned char mac[VERP_MACLEN])
{
	struct hmac_part	 parts[2];
	unsigned char		 h[HMAC_SHA256_LEN];

	parts[0].p = VERP_DOMAIN;
	parts[0].len = sizeof(VERP_DOMAIN);
	parts[1].p = ids;
	parts[1].len = 16;
	if (hmac_sha256(vk->hk, parts, 2, h) == -1)
		return -1;
	memcpy(mac, h, VERP_MACLEN);
	OPENSSL_cleanse(h, sizeof(h));
	return 0;
}

int
verp_make(const struct verp_key *vk, uint64_t bid, uint64_t sid, char *out,
    size_t outlen)
{
	unsigned char	 raw[VERP_RAWLEN];
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 bits = 0;

	if (outlen < VERP_SIZE)
		return -1;
	verp_put64(raw, bid);
	verp_put64(raw + 8, sid);
	if (verp_mac(vk, raw, raw + 16) == -1)
		return -1;
	for (i = 0; i < VERP_RAWLEN; i++) {
		acc = (acc << 8 | raw[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[(acc >> bits) & 31];
		}
	}
	if (bits > 0)		/* 192 = 38 * 5 + 2: the pad bits are zero */
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

static int
verp_b32val(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int
verp_check(const struct verp_key *vk, const char *token, uint64_t *bidp,
    uint64_t *sidp)
{
	unsigned char	 raw[VERP_RAWLEN], mac[VERP_MACLEN];
	uint64_t	 bid, sid;
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 bits = 0, d;

	if (token == NULL || strnlen(token, VERP_LEN + 1) != VERP_LEN)
		return -1;
	for (i = 0; i < VERP_LEN; i++) {
		if ((d = verp_b32val((unsigned char)token[i])) < 0)
			return -1;
		acc = (acc << 5 | (uint32_t)d) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (acc >> bits) & 0xff;
		}
	}
	/* one encoding per token: what is left over must be zero */
	if (o != VERP_RAWLEN || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	for (i = 0, bid = 0, sid = 0; i < 8; i++) {
		bid = bid << 8 | raw[i];
		sid = sid << 8 | raw[8 + i];
	}
	if (verp_mac(vk, raw, mac) == -1)
		return -1;
	if (CRYPTO_memcmp(mac, raw + 16, VERP_MACLEN) != 0)
		return -1;
	if (bidp != NULL)
		*bidp = bid;
	if (sidp != NULL)
		*sidp = sid;
	return 0;
}
