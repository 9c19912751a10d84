/*
 * hmac.c -- HMAC-SHA256 with precomputed pads (see hmac.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hmac.h"

#define SHA256_BLOCK	64

struct hmac_key {
	EVP_MD_CTX	*inner;		/* sha256 after (key ^ ipad) */
	EVP_MD_CTX	*outer;		/* sha256 after (key ^ opad) */
};

/* NULL for an empty key or if OpenSSL fails. */
struct hmac_key *
hmac_key_new(const unsigned char *key, size_t keylen)
{
	struct hmac_key	*hk = NULL;
	unsigned char	 k[SHA256_BLOCK], ipad[SHA256_BLOCK];
	unsigned char	 opad[SHA256_BLOCK];
	unsigned int	 hlen;
	size_t		 i;

	if (key == NULL || keylen == 0)
		return NULL;
	memset(k, 0, sizeof(k));
	if (keylen > SHA256_BLOCK) {
		/* RFC 2104: keys longer than a block are hashed first */
		if (EVP_Digest(key, keylen, k, &hlen, EVP_sha256(), NULL) != 1)
			goto fail;
	} else
		memcpy(k, key, keylen);
	for (i = 0; i < SHA256_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	if ((hk = calloc(1, sizeof(*hk))) == NULL)
		goto fail;
	if ((hk->inner = EVP_MD_CTX_new()) == NULL ||
	    (hk->outer = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (EVP_DigestInit_ex(hk->inner, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(hk->inner, ipad, sizeof(ipad)) != 1 ||
	    EVP_DigestInit_ex(hk->outer, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(hk->outer, opad, sizeof(opad)) != 1)
		goto fail;
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	return hk;
 fail:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	hmac_key_free(hk);
	return NULL;
}

void
hmac_key_free(struct hmac_key *hk)
{
	if (hk == NULL)
		return;
	EVP_MD_CTX_free(hk->inner);
	EVP_MD_CTX_free(hk->outer);
	free(hk);
}

/* HMAC over the n parts in turn, into out; 0, or -1 if OpenSSL fails. */
int
hmac_sha256(const struct hmac_key *hk, const struct hmac_part *parts,
    size_t n, unsigned char out[HMAC_SHA256_LEN])
{
	EVP_MD_CTX	*c;
	unsigned char	 h[HMAC_SHA256_LEN];
	unsigned int	 hlen;
	size_t		 i;
	int		 ret = -1;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_MD_CTX_copy_ex(c, hk->inner) != 1)
		goto end;
	for (i = 0; i < n; i++)
		if (EVP_DigestUpdate(c, parts[i].p, parts[i].len) != 1)
			goto end;
	if (EVP_DigestFinal_ex(c, h, &hlen) != 1 ||
	    EVP_MD_CTX_copy_ex(c, hk->outer) != 1 ||
	    EVP_DigestUpdate(c, h, sizeof(h)) != 1 ||
	    EVP_DigestFinal_ex(c, out, &hlen) != 1)
		goto end;
	ret = 0;
 end:
	OPENSSL_cleanse(h, sizeof(h));
	EVP_MD_CTX_free(c);
	return ret;
}
