/*
 * token_test.c -- HMAC tokens: roundtrip, purpose binding, tampering, and
 * agreement with OpenSSL's reference HMAC().
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"
#include "unit.h"

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "0123456789abcdef0123456789abcdeF";

static int
b64val(char c)
{
	const char	*a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789-_";
	const char	*p = strchr(a, c);

	return p && c ? (int)(p - a) : -1;
}

/* Decode the MAC part of a token and compare with HMAC() over the input. */
static int
matches_reference(const unsigned char *k, size_t klen, const char *purpose,
    uint64_t id, const char *t)
{
	unsigned char	 raw[24], msg[256], ref[32];
	unsigned int	 rlen;
	size_t		 i, o, n;
	uint32_t	 v;
	int		 j;

	for (i = 0, o = 0; i < TOKEN_LEN; i += 4) {
		for (v = 0, j = 0; j < 4; j++)
			v = v << 6 | (uint32_t)b64val(t[i + j]);
		raw[o++] = v >> 16;
		raw[o++] = v >> 8;
		raw[o++] = v;
	}
	n = 0;
	memcpy(msg, "broadside-token-v1", 19);
	n += 19;
	memcpy(msg + n, purpose, strlen(purpose) + 1);
	n += strlen(purpose) + 1;
	for (i = 0; i < 8; i++)
		msg[n++] = (id >> (56 - 8 * i)) & 0xff;
	HMAC(EVP_sha256(), k, (int)klen, msg, n, ref, &rlen);
	for (i = 0; i < 8; i++)
		if (raw[i] != ((id >> (56 - 8 * i)) & 0xff))
			return 0;
	return memcmp(raw + 8, ref, 16) == 0;
}

int
main(void)
{
	static const uint64_t	 ids[] = { 0, 1, 42, 0xffffffffffffffffULL,
				    0x0123456789abcdefULL };
	unsigned char		 longkey[100];
	char			 t[TOKEN_SIZE], t2[TOKEN_SIZE], bad[64];
	uint64_t		 got;
	size_t			 i, j;
	int			 bit, fails;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		CHECK_INT("make", token_make(key, sizeof(key), "unsubscribe",
		    ids[i], t, sizeof(t)), 0);
		CHECK_INT("length", strlen(t), TOKEN_LEN);
		CHECK("alphabet", strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_") == TOKEN_LEN);
		CHECK("reference HMAC", matches_reference(key, sizeof(key),
		    "unsubscribe", ids[i], t));
		got = 7;
		CHECK_INT("check", token_check(key, sizeof(key),
		    "unsubscribe", t, &got), 0);
		CHECK("id roundtrip", got == ids[i]);
		CHECK_INT("other purpose", token_check(key, sizeof(key),
		    "confirm", t, &got), -1);
		CHECK_INT("other key", token_check(key2, sizeof(key2),
		    "unsubscribe", t, &got), -1);
	}

	/* deterministic, and distinct per purpose and per id */
	token_make(key, sizeof(key), "unsubscribe", 42, t, sizeof(t));
	token_make(key, sizeof(key), "unsubscribe", 42, t2, sizeof(t2));
	CHECK_STR("stable", t, t2);
	token_make(key, sizeof(key), "confirm", 42, t2, sizeof(t2));
	CHECK("purpose changes token", strcmp(t, t2) != 0);
	CHECK_INT("confirm verifies", token_check(key, sizeof(key), "confirm",
	    t2, &got), 0);
	CHECK_INT("confirm is not unsubscribe", token_check(key, sizeof(key),
	    "unsubscribe", t2, &got), -1);
	/* purpose is NUL-delimited: "a" + "b..." can't collide with "ab" */
	token_make(key, sizeof(key), "unsubscribe", 43, t2, sizeof(t2));
	CHECK("id changes token", strcmp(t, t2) != 0);

	/* every single-bit flip of every character fails */
	fails = 0;
	for (i = 0; i < TOKEN_LEN; i++)
		for (bit = 0; bit < 7; bit++) {
			memcpy(bad, t, sizeof(t));
			bad[i] ^= (char)(1 << bit);
			if (bad[i] == '\0')
				continue;
			if (token_check(key, sizeof(key), "unsubscribe", bad,
			    &got) == 0)
				fails++;
		}
	CHECK_INT("bit flips accepted", fails, 0);

	/* truncated and extended */
	for (j = 0; j < TOKEN_LEN; j++) {
		memcpy(bad, t, j);
		bad[j] = '\0';
		if (token_check(key, sizeof(key), "unsubscribe", bad, &got)
		    == 0)
			fails++;
	}
	CHECK_INT("truncations accepted", fails, 0);
	snprintf(bad, sizeof(bad), "%s=", t);
	CHECK_INT("padding", token_check(key, sizeof(key), "unsubscribe", bad,
	    &got), -1);
	snprintf(bad, sizeof(bad), "%sA", t);
	CHECK_INT("extended", token_check(key, sizeof(key), "unsubscribe",
	    bad, &got), -1);

	/* garbage */
	CHECK_INT("empty", token_check(key, sizeof(key), "unsubscribe", "",
	    &got), -1);
	CHECK_INT("null", token_check(key, sizeof(key), "unsubscribe", NULL,
	    &got), -1);
	CHECK_INT("garbage", token_check(key, sizeof(key), "unsubscribe",
	    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", &got), -1);
	CHECK_INT("std base64", token_check(key, sizeof(key), "unsubscribe",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/", &got), -1);
	CHECK_INT("all A", token_check(key, sizeof(key), "unsubscribe",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &got), -1);

	/* output buffer, key and purpose checks */
	CHECK_INT("small out", token_make(key, sizeof(key), "unsubscribe", 1,
	    t, TOKEN_LEN), -1);
	CHECK_INT("empty key", token_make(key, 0, "unsubscribe", 1, t,
	    sizeof(t)), -1);
	CHECK_INT("empty purpose", token_make(key, sizeof(key), "", 1, t,
	    sizeof(t)), -1);

	/* keys longer than a SHA-256 block are hashed first (RFC 2104) */
	for (i = 0; i < sizeof(longkey); i++)
		longkey[i] = (unsigned char)i;
	CHECK_INT("long key make", token_make(longkey, sizeof(longkey),
	    "confirm", 99, t, sizeof(t)), 0);
	CHECK("long key reference", matches_reference(longkey,
	    sizeof(longkey), "confirm", 99, t));
	CHECK_INT("long key check", token_check(longkey, sizeof(longkey),
	    "confirm", t, &got), 0);
	CHECK("long key id", got == 99);

	return unit_done("token");
}
