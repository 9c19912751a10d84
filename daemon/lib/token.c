/*
 * token.c -- HMAC-SHA256 tokens for unsubscribe and confirm links.
 *
 * The HMAC comes from hmac.c, whose key hashes its pads once: OpenSSL
 * 3's one-shot HMAC() fetches the algorithm and rekeys on every call
 * (about 1 us), which would be most of the per-recipient rendering
 * budget; copying a keyed state costs a tenth.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hmac.h"
#include "token.h"

#define TOKEN_DOMAIN	"broadside-token-v1"
#define TOKEN_RAWLEN	(8 + TOKEN_MACLEN)	/* 24 octets = 32 chars */

struct token_key {
	struct hmac_key	*hk;
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct token_key *
token_key_new(const unsigned char *key, size_t keylen, char *err,
    size_t errlen)
{
	struct token_key	*tk;

	if (key == NULL || keylen == 0) {
		snprintf(err, errlen, "empty token key");
		return NULL;
	}
	if ((tk = calloc(1, sizeof(*tk))) == NULL ||
	    (tk->hk = hmac_key_new(key, keylen)) == NULL) {
		free(tk);
		snprintf(err, errlen, "cannot set up HMAC-SHA256");
		return NULL;
	}
	return tk;
}

void
token_key_free(struct token_key *tk)
{
	if (tk == NULL)
		return;
	hmac_key_free(tk->hk);
	free(tk);
}

static void
token_put64(unsigned char *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* The first TOKEN_MACLEN octets of HMAC(domain NUL purpose NUL id). */
int
token_key_mac(const struct token_key *tk, const char *purpose, uint64_t id,
    unsigned char mac[TOKEN_MACLEN])
{
	struct hmac_part	 parts[3];
	unsigned char		 h[HMAC_SHA256_LEN], idb[8];

	if (purpose == NULL || *purpose == '\0')
		return -1;
	token_put64(idb, id);
	parts[0].p = TOKEN_DOMAIN;
	parts[0].len = sizeof(TOKEN_DOMAIN);
	parts[1].p = purpose;
	parts[1].len = strlen(purpose) + 1;
	parts[2].p = idb;
	parts[2].len = sizeof(idb);
	if (hmac_sha256(tk->hk, parts, 3, h) == -1)
		return -1;
	memcpy(mac, h, TOKEN_MACLEN);
	OPENSSL_cleanse(h, sizeof(h));
	return 0;
}

int
token_key_make(const struct token_key *tk, const char *purpose, uint64_t id,
    char *out, size_t outlen)
{
	unsigned char	 raw[TOKEN_RAWLEN];
	uint32_t	 v;
	size_t		 i, o;

	if (outlen < TOKEN_SIZE)
		return -1;
	token_put64(raw, id);
	if (token_key_mac(tk, purpose, id, raw + 8) == -1)
		return -1;
	/* 24 octets encode to exactly 32 characters: no padding, no tail */
	for (i = 0, o = 0; i < TOKEN_RAWLEN; i += 3) {
		v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 |
		    raw[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return 0;
}

static int
token_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
token_key_check(const struct token_key *tk, const char *purpose,
    const char *token, uint64_t *idp)
{
	unsigned char	 raw[TOKEN_RAWLEN], mac[TOKEN_MACLEN];
	uint64_t	 id;
	uint32_t	 v;
	size_t		 i, o;
	int		 j, d;

	if (token == NULL || strnlen(token, TOKEN_LEN + 1) != TOKEN_LEN)
		return -1;
	for (i = 0, o = 0; i < TOKEN_LEN; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if ((d = token_b64val((unsigned char)token[i + j])) < 0)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		raw[o++] = (v >> 16) & 0xff;
		raw[o++] = (v >> 8) & 0xff;
		raw[o++] = v & 0xff;
	}
	for (i = 0, id = 0; i < 8; i++)
		id = id << 8 | raw[i];
	if (token_key_mac(tk, purpose, id, mac) == -1)
		return -1;
	if (CRYPTO_memcmp(mac, raw + 8, TOKEN_MACLEN) != 0)
		return -1;
	if (idp != NULL)
		*idp = id;
	return 0;
}

int
token_make(const unsigned char *key, size_t keylen, const char *purpose,
    uint64_t id, char *out, size_t outlen)
{
	struct token_key	*tk;
	char			 err[128];
	int			 ret;

	if ((tk = token_key_new(key, keylen, err, sizeof(err))) == NULL)
		return -1;
	ret = token_key_make(tk, purpose, id, out, outlen);
	token_key_free(tk);
	return ret;
}

int
token_check(const unsigned char *key, size_t keylen, const char *purpose,
    const char *token, uint64_t *idp)
{
	struct token_key	*tk;
	char			 err[128];
	int			 ret;

	if ((tk = token_key_new(key, keylen, err, sizeof(err))) == NULL)
		return -1;
	ret = token_key_check(tk, purpose, token, idp);
	token_key_free(tk);
	return ret;
}
