/*
 * dkim.h -- DKIM signing (RFC 6376) with rsa-sha256 and, optionally, a
 * second ed25519-sha256 signature (RFC 8463); leaf module on libc and
 * OpenSSL 3 libcrypto (EVP).
 *
 * SYNOPSIS
 *	d = dkim_new(&conf, err, errlen);	once, at start and on reload
 *	s = dkim_signer_new(d);			once per sender thread
 *	dkim_sign(s, msg, len, now, &hdr, err, errlen);	per message
 *	dkim_signer_free(s);			when the thread ends
 *	dkim_unref(d);				each holder, once
 *
 * KEYS
 *	dkim_new reads the PEM private keys once (unencrypted, a regular
 *	file that others cannot read or write): key_file must hold an RSA
 *	key of DKIM_RSA_MIN_BITS bits or more, ed25519_key_file (optional,
 *	with ed25519_selector) an Ed25519 key.  SHA-256 is fetched once
 *	(EVP_MD_fetch) so no message pays OpenSSL's name lookup.  The keys
 *	and the digest are shared read-only by every signer; a struct dkim
 *	is reference counted (dkim_ref, dkim_unref, atomic): whoever hands
 *	it to threads holds a reference until they have ended, so a reload
 *	that loads new keys never frees a key a sender is using.
 *	dkim_id() names the domain, selectors and public keys: two loads
 *	with the same id sign alike.
 *
 * SIGNING
 *	relaxed/relaxed, no l=, t= the signing time.  h= lists each header
 *	of DKIM_SIGNED_HEADERS once more than the message holds it
 *	(oversigning: a From or List-Unsubscribe added later breaks the
 *	signature; a header the message lacks is listed once, so none can
 *	be added).  The DKIM-Signature header is hashed as RFC 6376 3.7
 *	says: canonicalised, its b= present and empty, no CRLF after it.
 *	With an Ed25519 key both signatures are made; the output holds the
 *	ed25519-sha256 header first, then the rsa-sha256 one, each folded
 *	below 78 columns and ending in CRLF; the caller puts them before
 *	the message.  The body is what follows the first empty line.
 *
 * THREADS
 *	A struct dkim_signer belongs to one thread: its EVP_MD_CTX and
 *	EVP_PKEY_CTX, and a cache of the last body and its hash.  A body
 *	equal to the last one this signer hashed (a broadcast whose body has
 *	no per-recipient part) is not hashed again: once per broadcast and
 *	thread.
 *
 * CANONICALISATION
 *	dkim_canon_body and dkim_canon_header are the relaxed algorithms
 *	(RFC 6376 3.4.2, 3.4.4): only CRLF ends a line; a body with no
 *	content canonicalises to nothing.  They are exported for the tests
 *	and the fuzzer.
 *
 * DIAGNOSTICS
 *	Functions that can fail return -1 (dkim_new: NULL) with one line in
 *	err; dkim_new's starts with the dkim_conf field at fault and names
 *	the key file ("key_file: PATH: RSA key of 1024 bits; ...").  Nothing
 *	is logged.  Allocation failure aborts.
 */
#ifndef BROADSIDE_DKIM_H
#define BROADSIDE_DKIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define DKIM_RSA_MIN_BITS	2048
#define DKIM_SIGNED_HEADERS	"from", "to", "subject", "date", \
				"message-id", "reply-to", "mime-version", \
				"content-type", "list-id", \
				"list-unsubscribe", "list-unsubscribe-post"

struct dkim_conf {
	const char	*domain;		/* d= */
	const char	*selector;		/* s= of the RSA signature */
	const char	*key_file;		/* PEM, RSA */
	const char	*ed25519_selector;	/* NULL: no ed25519 signature */
	const char	*ed25519_key_file;	/* PEM, Ed25519 */
};

/* What a signer did, for tests and metrics. */
struct dkim_stats {
	uint64_t	signed_msgs;
	uint64_t	body_hashed;		/* body hashes computed */
	uint64_t	body_reused;		/* taken from the cache */
};

struct dkim;
struct dkim_signer;

struct dkim	*dkim_new(const struct dkim_conf *, char *, size_t);
struct dkim	*dkim_ref(struct dkim *);
void		 dkim_unref(struct dkim *);
const char	*dkim_id(const struct dkim *);

struct dkim_signer *dkim_signer_new(struct dkim *);
void		 dkim_signer_free(struct dkim_signer *);
/* Appends the DKIM-Signature header(s) for msg (CRLF lines) to hdr. */
int		 dkim_sign(struct dkim_signer *, const char *, size_t, time_t,
		    struct buf *, char *, size_t);
void		 dkim_signer_stats(const struct dkim_signer *,
		    struct dkim_stats *);

/* Relaxed canonicalisation, streaming: feed any chunks, then finish. */
struct dkim_canon {
	void		(*out)(void *, const char *, size_t);
	void		*arg;
	size_t		 blank;		/* empty lines held back */
	int		 wsp;		/* white space held back */
	int		 cr;		/* a CR held back */
	int		 content;	/* the line has content */
	char		 chunk[256];	/* output gathered before out() */
	size_t		 nchunk;
};
void	dkim_canon_init(struct dkim_canon *,
	    void (*)(void *, const char *, size_t), void *);
void	dkim_canon_feed(struct dkim_canon *, const char *, size_t);
void	dkim_canon_finish(struct dkim_canon *);
/* The whole body at once, appended to out. */
void	dkim_canon_body(const char *, size_t, struct buf *);
/* One header field ("Name: value\r\n\tmore\r\n"): "name:value\r\n". */
void	dkim_canon_header(const char *, size_t, struct buf *);

#endif
