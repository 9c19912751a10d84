/*
 * verp_test.c -- envelope sender tokens: round trip, the length of the
 * local part, agreement with OpenSSL's HMAC() over the documented input,
 * and every kind of forged, cut or altered token refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "verp.h"
#include "unit.h"

static const unsigned char key[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "0123456789abcdef0123456789abcdeF";

static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Decode by hand (bit by bit, unlike verp.c) into 24 octets. */
static int
decode(const char *t, unsigned char raw[24])
{
	size_t	i;
	int	bit, j, v;

	memset(raw, 0, 24);
	for (i = 0; i < VERP_LEN; i++) {
		const char *p = strchr(alpha, t[i]);

		if (p == NULL || t[i] == '\0')
			return -1;
		v = (int)(p - alpha);
		for (j = 4; j >= 0; j--) {
			bit = (int)i * 5 + (4 - j);
			if (bit < 192 && (v >> j & 1))
				raw[bit / 8] |= 0x80 >> (bit % 8);
		}
	}
	return 0;
}

/* The token's MAC is HMAC(HMAC(key, label), domain NUL bid sid)[0..8]. */
static int
matches_reference(const unsigned char *k, size_t klen, uint64_t bid,
    uint64_t sid, const char *t)
{
	unsigned char	 raw[24], vkey[32], msg[64], ref[32];
	unsigned int	 len;
	size_t		 n = 0;
	int		 i;

	if (decode(t, raw) == -1)
		return 0;
	HMAC(EVP_sha256(), k, (int)klen,
	    (const unsigned char *)"broadside-verp-key-v1", 21, vkey, &len);
	memcpy(msg, "broadside-verp-v1", 18);	/* with its NUL */
	n = 18;
	for (i = 0; i < 8; i++)
		msg[n++] = (bid >> (56 - 8 * i)) & 0xff;
	for (i = 0; i < 8; i++)
		msg[n++] = (sid >> (56 - 8 * i)) & 0xff;
	HMAC(EVP_sha256(), vkey, 32, msg, n, ref, &len);
	return memcmp(raw, msg + 18, 16) == 0 && memcmp(raw + 16, ref, 8) == 0;
}

int
main(void)
{
	static const struct {
		const char	*name;
		uint64_t	 bid, sid;
	} ids[] = {
		{ "zeros", 0, 0 },
		{ "small", 1, 1 },
		{ "typical", 42, 1000001 },
		{ "int64 max", INT64_MAX, INT64_MAX },
		{ "uint64 max", UINT64_MAX, UINT64_MAX },
		{ "mixed", 7, UINT64_MAX - 1 },
	};
	struct verp_key	*vk, *vk2;
	uint64_t	 bid, sid;
	char		 t[VERP_SIZE], t2[VERP_SIZE], bad[VERP_SIZE + 8];
	char		 addr[128], err[128], name[128];
	size_t		 i, pos, k;
	int		 refused, all;

	vk = verp_key_new(key, sizeof(key), err, sizeof(err));
	vk2 = verp_key_new(key2, sizeof(key2), err, sizeof(err));
	CHECK("key", vk != NULL && vk2 != NULL);
	CHECK("empty key refused", verp_key_new(key, 0, err, sizeof(err)) ==
	    NULL);

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		CHECK_INT(ids[i].name, verp_make(vk, ids[i].bid, ids[i].sid, t,
		    sizeof(t)), 0);
		CHECK_INT("length", strlen(t), VERP_LEN);
		CHECK("lowercase base32", strspn(t, alpha) == VERP_LEN);
		snprintf(addr, sizeof(addr), VERP_PREFIX "%s", t);
		snprintf(name, sizeof(name), "%s: local part < 64 octets",
		    ids[i].name);
		CHECK(name, strlen(addr) < 64);
		snprintf(name, sizeof(name), "%s: HMAC as documented",
		    ids[i].name);
		CHECK(name, matches_reference(key, sizeof(key), ids[i].bid,
		    ids[i].sid, t));
		bid = sid = 12345;
		CHECK_INT("round trip", verp_check(vk, t, &bid, &sid), 0);
		CHECK("broadcast id back", bid == ids[i].bid);
		CHECK("subscriber id back", sid == ids[i].sid);
		/* another key: another token, and this one refused */
		CHECK_INT("make, key 2", verp_make(vk2, ids[i].bid, ids[i].sid,
		    t2, sizeof(t2)), 0);
		CHECK("other key, other token", strcmp(t, t2) != 0);
		CHECK_INT("other key's token refused", verp_check(vk, t2, &bid,
		    &sid), -1);
		/* a relay that folds the case changes nothing */
		for (k = 0; k < VERP_LEN; k++)
			t2[k] = t[k] >= 'a' && t[k] <= 'z' ? t[k] - 32 : t[k];
		t2[VERP_LEN] = '\0';
		CHECK_INT("uppercase read as lowercase", verp_check(vk, t2,
		    &bid, &sid), 0);
		CHECK("uppercase: same ids", bid == ids[i].bid &&
		    sid == ids[i].sid);
	}

	/* every character changed to every other one: refused */
	verp_make(vk, 42, 1000001, t, sizeof(t));
	all = 1;
	for (pos = 0; pos < VERP_LEN; pos++)
		for (k = 0; k < 32; k++) {
			if (alpha[k] == t[pos])
				continue;
			memcpy(bad, t, sizeof(t));
			bad[pos] = alpha[k];
			if (verp_check(vk, bad, &bid, &sid) != -1) {
				printf("FAIL altered token accepted: %s\n",
				    bad);
				all = 0;
			}
		}
	CHECK("every one-character change refused", all);

	/* the ids changed with the MAC kept: refused */
	verp_make(vk, 43, 1000001, t2, sizeof(t2));
	memcpy(bad, t2, 26);	/* 26 chars = 130 bits: both ids, no MAC */
	memcpy(bad + 26, t + 26, sizeof(t) - 26);
	CHECK_INT("another broadcast's ids with this MAC", verp_check(vk, bad,
	    &bid, &sid), -1);
	verp_make(vk, 1000001, 42, t2, sizeof(t2));
	CHECK_INT("ids swapped: another token", strcmp(t, t2) != 0, 1);

	/* cut, lengthened, padded, other alphabets */
	memcpy(bad, t, sizeof(t));
	bad[VERP_LEN - 1] = '\0';
	CHECK_INT("truncated by one", verp_check(vk, bad, &bid, &sid), -1);
	bad[16] = '\0';
	CHECK_INT("truncated to 16", verp_check(vk, bad, &bid, &sid), -1);
	CHECK_INT("empty", verp_check(vk, "", &bid, &sid), -1);
	CHECK_INT("NULL", verp_check(vk, NULL, &bid, &sid), -1);
	snprintf(bad, sizeof(bad), "%sa", t);
	CHECK_INT("one more character", verp_check(vk, bad, &bid, &sid), -1);
	snprintf(bad, sizeof(bad), "%s=", t);
	CHECK_INT("padding", verp_check(vk, bad, &bid, &sid), -1);
	refused = 1;
	for (k = 0; k < 6; k++) {
		memcpy(bad, t, sizeof(t));
		bad[10] = "0189=-"[k];
		refused &= verp_check(vk, bad, &bid, &sid) == -1;
	}
	CHECK("characters outside base32 refused", refused);
	/* the last character carries 2 bits and 3 zero pad bits: with a
	 * pad bit set it is another spelling, refused */
	memcpy(bad, t, sizeof(t));
	bad[VERP_LEN - 1] = alpha[(strchr(alpha, t[VERP_LEN - 1]) - alpha) |
	    1];
	CHECK_INT("pad bit set", verp_check(vk, bad, &bid, &sid), -1);

	CHECK_INT("out too small", verp_make(vk, 1, 1, t, VERP_LEN), -1);

	verp_key_free(vk);
	verp_key_free(vk2);
	verp_key_free(NULL);
	return unit_done("verp_test");
}
