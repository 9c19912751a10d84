/*
 * dkim.c -- DKIM-Signature headers (RFC 6376, RFC 8463) on OpenSSL 3 EVP.
 *
 * Keys and the SHA-256 method are loaded once per struct dkim and shared
 * read-only; each sender thread signs through its own struct
 * dkim_signer (digest and key contexts, body-hash cache).  The contract
 * is in dkim.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim.h"

#define DKIM_FOLD	76		/* columns a folded line stays within */
#define DKIM_SHA256_LEN	32
#define DKIM_SIG_MAX	1024		/* bytes: RSA-8192 and below */
#define DKIM_KEY_MAX	65536		/* bytes of a key file */

enum dkim_alg {
	DKIM_RSA,
	DKIM_ED25519,
};

struct dkim_key {
	enum dkim_alg	 alg;
	EVP_PKEY	*pkey;
	char		*selector;
};

struct dkim {
	atomic_int	 refs;
	char		*domain;
	struct dkim_key	 keys[2];	/* ed25519 first, when there is one */
	int		 nkeys;
	EVP_MD		*sha256;
	char		*id;
};

struct dkim_signer {
	struct dkim	*d;
	EVP_MD_CTX	*md;		/* body and header hashes */
	EVP_MD_CTX	*ed;		/* Ed25519 signing, a copy of: */
	EVP_MD_CTX	*ed_init;	/* set up once; NULL: no Ed25519 */
	EVP_PKEY_CTX	*rsa;		/* RSA signing, set up once */
	struct buf	 body;		/* the last body hashed */
	unsigned char	 bh[DKIM_SHA256_LEN];
	int		 have_bh;
	struct buf	 signed_hdrs;	/* canonical signed headers */
	struct buf	 hdr;		/* one DKIM-Signature being built */
	struct buf	 canon;
	struct dkim_stats st;
};

struct dkim_field {
	const char	*p;		/* the field, up to its last CRLF */
	size_t		 len;
	size_t		 namelen;	/* before ':', trailing WSP dropped */
};

static const char *const dkim_signed[] = { DKIM_SIGNED_HEADERS };
#define DKIM_NSIGNED	(sizeof(dkim_signed) / sizeof(dkim_signed[0]))

static const char *
dkim_alg_name(enum dkim_alg a)
{
	return a == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256";
}

/* ---- canonicalisation --------------------------------------------- */

static void
dkim_canon_put(struct dkim_canon *c, const char *p, size_t n)
{
	if (c->nchunk + n > sizeof(c->chunk)) {
		if (c->nchunk > 0)
			c->out(c->arg, c->chunk, c->nchunk);
		c->nchunk = 0;
		if (n > sizeof(c->chunk)) {
			c->out(c->arg, p, n);
			return;
		}
	}
	memcpy(c->chunk + c->nchunk, p, n);
	c->nchunk += n;
}

void
dkim_canon_init(struct dkim_canon *c, void (*out)(void *, const char *,
    size_t), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->out = out;
	c->arg = arg;
}

/* A byte that is line content (not white space, not a line's CRLF). */
static void
dkim_canon_content(struct dkim_canon *c, char ch)
{
	for (; c->blank > 0; c->blank--)
		dkim_canon_put(c, "\r\n", 2);
	if (c->wsp) {
		dkim_canon_put(c, " ", 1);
		c->wsp = 0;
	}
	dkim_canon_put(c, &ch, 1);
	c->content = 1;
}

static void
dkim_canon_eol(struct dkim_canon *c)
{
	c->wsp = 0;			/* white space at a line's end goes */
	if (c->content)
		dkim_canon_put(c, "\r\n", 2);
	else
		c->blank++;		/* only written if content follows */
	c->content = 0;
}

/*
 * RFC 6376 3.4.4: white space at the end of a line goes, runs of it
 * become one SP, empty lines at the end go, a last line without CRLF
 * gets one.  Only CRLF ends a line: a lone CR or LF is content.
 */
void
dkim_canon_feed(struct dkim_canon *c, const char *p, size_t len)
{
	size_t	i;
	char	ch;

	for (i = 0; i < len; i++) {
		ch = p[i];
		if (c->cr) {
			c->cr = 0;
			if (ch == '\n') {
				dkim_canon_eol(c);
				continue;
			}
			dkim_canon_content(c, '\r');
		}
		if (ch == '\r')
			c->cr = 1;
		else if (ch == ' ' || ch == '\t')
			c->wsp = 1;
		else
			dkim_canon_content(c, ch);
	}
}

void
dkim_canon_finish(struct dkim_canon *c)
{
	if (c->cr) {
		c->cr = 0;
		dkim_canon_content(c, '\r');
	}
	if (c->content)
		dkim_canon_eol(c);
	if (c->nchunk > 0)
		c->out(c->arg, c->chunk, c->nchunk);
	c->nchunk = 0;
}

static void
dkim_canon_to_buf(void *arg, const char *p, size_t n)
{
	buf_add(arg, p, n);
}

void
dkim_canon_body(const char *p, size_t len, struct buf *out)
{
	struct dkim_canon	c;

	dkim_canon_init(&c, dkim_canon_to_buf, out);
	dkim_canon_feed(&c, p, len);
	dkim_canon_finish(&c);
}

/*
 * RFC 6376 3.4.2: name in lower case, no white space around the colon,
 * CRLFs removed (unfolded), runs of white space as one SP, none at the
 * value's ends; then CRLF.
 */
void
dkim_canon_header(const char *p, size_t len, struct buf *out)
{
	const char	*colon = memchr(p, ':', len), *e = p + len;
	size_t		 n, i;
	int		 wsp = 0, any = 0;

	n = colon != NULL ? (size_t)(colon - p) : len;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	buf_grow(out, len + 3);
	for (i = 0; i < n; i++) {
		char ch = p[i];

		buf_addc(out, ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') :
		    ch);
	}
	buf_addc(out, ':');
	for (p = colon != NULL ? colon + 1 : e; p < e; p++) {
		if (*p == '\r' && p + 1 < e && p[1] == '\n') {
			p++;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			wsp = 1;
			continue;
		}
		if (wsp && any)
			buf_addc(out, ' ');
		wsp = 0;
		buf_addc(out, *p);
		any = 1;
	}
	buf_add(out, "\r\n", 2);
}

/* ---- keys --------------------------------------------------------- */

static int
dkim_pem_nopass(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return 0;		/* an encrypted key is refused, not prompted */
}

static void
dkim_ssl_err(char *out, size_t outlen)
{
	unsigned long	e = ERR_peek_last_error();

	if (e == 0)
		snprintf(out, outlen, "unknown error");
	else
		ERR_error_string_n(e, out, outlen);
	ERR_clear_error();
}

static EVP_PKEY *
dkim_key_load(const char *file, enum dkim_alg alg, char *err, size_t errlen)
{
	struct stat	 st;
	EVP_PKEY	*pkey;
	FILE		*f;
	char		 why[256];
	int		 bits;

	if (stat(file, &st) == -1) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	/* a FIFO or a device would block the open */
	if (!S_ISREG(st.st_mode) || st.st_size > DKIM_KEY_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", file, DKIM_KEY_MAX);
		return NULL;
	}
	/* as OpenDKIM: a key others can read or change is no secret */
	if (st.st_mode & (S_IROTH | S_IWOTH | S_IXOTH)) {
		snprintf(err, errlen, "%s: others may read it (mode %03o); "
		    "chmod 600 it (or 640, group of the daemon)", file,
		    (unsigned)(st.st_mode & 0777));
		return NULL;
	}
	if ((f = fopen(file, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	pkey = PEM_read_PrivateKey(f, NULL, dkim_pem_nopass, NULL);
	fclose(f);
	if (pkey == NULL) {
		dkim_ssl_err(why, sizeof(why));
		snprintf(err, errlen, "%s: no unencrypted PEM private key (%s)",
		    file, why);
		return NULL;
	}
	if (alg == DKIM_RSA && !EVP_PKEY_is_a(pkey, "RSA")) {
		snprintf(err, errlen, "%s: not an RSA key (%s); rsa-sha256 "
		    "needs one", file, EVP_PKEY_get0_type_name(pkey));
		goto fail;
	}
	if (alg == DKIM_ED25519 && !EVP_PKEY_is_a(pkey, "ED25519")) {
		snprintf(err, errlen, "%s: not an Ed25519 key (%s); "
		    "ed25519-sha256 needs one", file,
		    EVP_PKEY_get0_type_name(pkey));
		goto fail;
	}
	if (alg == DKIM_RSA &&
	    (bits = EVP_PKEY_get_bits(pkey)) < DKIM_RSA_MIN_BITS) {
		snprintf(err, errlen, "%s: RSA key of %d bits; DKIM wants %d or "
		    "more", file, bits, DKIM_RSA_MIN_BITS);
		goto fail;
	}
	return pkey;
 fail:
	EVP_PKEY_free(pkey);
	return NULL;
}

/* Selectors and domains: DNS labels, so they fit a tag and a TXT name. */
static int
dkim_name_ok(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' ||
	    s[n - 1] == '.' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '.' || s[i] == '_') ||
		    (s[i] == '.' && s[i + 1] == '.'))
			return 0;
	return 1;
}

/* "ALG=HEX" of the SHA-256 of the public key, for dkim_id. */
static void
dkim_key_fp(const struct dkim *d, const struct dkim_key *k, struct buf *out)
{
	unsigned char	*der = NULL, md[DKIM_SHA256_LEN];
	unsigned int	 mdlen = 0;
	int		 n, i;

	if ((n = i2d_PUBKEY(k->pkey, &der)) <= 0 ||
	    EVP_Digest(der, (size_t)n, md, &mdlen, d->sha256, NULL) != 1)
		abort();
	OPENSSL_free(der);
	buf_printf(out, " %s s=%s ", dkim_alg_name(k->alg), k->selector);
	for (i = 0; i < (int)mdlen; i++)
		buf_printf(out, "%02x", md[i]);
}

struct dkim *
dkim_new(const struct dkim_conf *conf, char *err, size_t errlen)
{
	struct dkim	*d;
	struct buf	 id = BUF_INIT;
	char		 why[1024];
	int		 i;

	if (conf->domain == NULL || !dkim_name_ok(conf->domain)) {
		snprintf(err, errlen, "domain: want a domain name");
		return NULL;
	}
	if (conf->selector == NULL || !dkim_name_ok(conf->selector)) {
		snprintf(err, errlen, "selector: want a DNS label");
		return NULL;
	}
	if (conf->key_file == NULL) {
		snprintf(err, errlen, "key_file: missing (the RSA key)");
		return NULL;
	}
	if ((conf->ed25519_selector == NULL) !=
	    (conf->ed25519_key_file == NULL)) {
		snprintf(err, errlen, "ed25519_selector and ed25519_key_file "
		    "go together");
		return NULL;
	}
	if (conf->ed25519_selector != NULL &&
	    !dkim_name_ok(conf->ed25519_selector)) {
		snprintf(err, errlen, "ed25519_selector: want a DNS label");
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		abort();
	atomic_init(&d->refs, 1);
	if ((d->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		snprintf(err, errlen, "OpenSSL has no SHA-256");
		goto fail;
	}
	if (conf->ed25519_key_file != NULL) {
		d->keys[d->nkeys].alg = DKIM_ED25519;
			if ((d->keys[d->nkeys].pkey = dkim_key_load(
		    conf->ed25519_key_file, DKIM_ED25519, why, sizeof(why)))
		    == NULL) {
			snprintf(err, errlen, "ed25519_key_file: %s", why);
			goto fail;
		}
		d->keys[d->nkeys++].selector = strdup(conf->ed25519_selector);
	}
	d->keys[d->nkeys].alg = DKIM_RSA;
	if ((d->keys[d->nkeys].pkey = dkim_key_load(conf->key_file, DKIM_RSA,
	    why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "key_file: %s", why);
		goto fail;
	}
	d->keys[d->nkeys++].selector = strdup(conf->selector);
	d->domain = strdup(conf->domain);
	buf_printf(&id, "d=%s", d->domain);
	for (i = 0; i < d->nkeys; i++) {
		if (d->keys[i].selector == NULL)
			abort();
		dkim_key_fp(d, &d->keys[i], &id);
	}
	if (d->domain == NULL)
		abort();
	d->id = buf_detach(&id);
	return d;
 fail:
	dkim_unref(d);
	return NULL;
}

struct dkim *
dkim_ref(struct dkim *d)
{
	atomic_fetch_add(&d->refs, 1);
	return d;
}

void
dkim_unref(struct dkim *d)
{
	int	i;

	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	for (i = 0; i < 2; i++) {
		EVP_PKEY_free(d->keys[i].pkey);
		free(d->keys[i].selector);
	}
	EVP_MD_free(d->sha256);
	free(d->domain);
	free(d->id);
	free(d);
}

const char *
dkim_id(const struct dkim *d)
{
	return d->id;
}

/* ---- signing ------------------------------------------------------ */

struct dkim_signer *
dkim_signer_new(struct dkim *d)
{
	struct dkim_signer	*s;
	int			 i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->d = dkim_ref(d);
	if ((s->md = EVP_MD_CTX_new()) == NULL ||
	    (s->ed = EVP_MD_CTX_new()) == NULL)
		abort();
	for (i = 0; i < d->nkeys; i++) {
		if (d->keys[i].alg == DKIM_ED25519) {
			/* copied per message: no method fetch each time */
			if ((s->ed_init = EVP_MD_CTX_new()) == NULL ||
			    EVP_DigestSignInit_ex(s->ed_init, NULL, NULL, NULL,
			    NULL, d->keys[i].pkey, NULL) != 1)
				abort();
			continue;
		}
		/* PKCS #1 v1.5 over a SHA-256 DigestInfo, set up once */
		if ((s->rsa = EVP_PKEY_CTX_new_from_pkey(NULL, d->keys[i].pkey,
		    NULL)) == NULL || EVP_PKEY_sign_init(s->rsa) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(s->rsa, RSA_PKCS1_PADDING)
		    != 1 || EVP_PKEY_CTX_set_signature_md(s->rsa, d->sha256)
		    != 1)
			abort();
	}
	return s;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->md);
	EVP_MD_CTX_free(s->ed);
	EVP_MD_CTX_free(s->ed_init);
	EVP_PKEY_CTX_free(s->rsa);
	buf_free(&s->body);
	buf_free(&s->signed_hdrs);
	buf_free(&s->hdr);
	buf_free(&s->canon);
	dkim_unref(s->d);
	free(s);
}

void
dkim_signer_stats(const struct dkim_signer *s, struct dkim_stats *st)
{
	*st = s->st;
}

/* Split the header block into fields; returns their number. */
static size_t
dkim_fields(const char *msg, size_t len, struct dkim_field **fp,
    size_t *bodyoff)
{
	struct dkim_field	*f = NULL;
	const char		*p = msg, *e = msg + len, *nl, *colon;
	size_t			 n = 0, cap = 0;

	*bodyoff = len;
	while (p < e) {
		if (e - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			*bodyoff = (size_t)(p + 2 - msg);
			break;
		}
		/* one field: lines until one not followed by white space */
		nl = p;
		for (;;) {
			nl = memmem(nl, (size_t)(e - nl), "\r\n", 2);
			if (nl == NULL) {
				nl = e;
				break;
			}
			nl += 2;
			if (nl >= e || (*nl != ' ' && *nl != '\t'))
				break;
		}
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon != NULL && *p != ' ' && *p != '\t') {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				if ((f = reallocarray(f, cap, sizeof(*f))) == NULL)
					abort();
			}
			f[n].p = p;
			f[n].len = (size_t)(nl - p);
			f[n].namelen = (size_t)(colon - p);
			while (f[n].namelen > 0 && (p[f[n].namelen - 1] == ' ' ||
			    p[f[n].namelen - 1] == '\t'))
				f[n].namelen--;
			n++;
		}
		p = nl;
	}
	*fp = f;
	return n;
}

static int
dkim_field_is(const struct dkim_field *f, const char *name)
{
	return f->namelen == strlen(name) &&
	    strncasecmp(f->p, name, f->namelen) == 0;
}

static void
dkim_md_update(void *arg, const char *p, size_t n)
{
	if (EVP_DigestUpdate(arg, p, n) != 1)
		abort();
}

/* The body hash, or the cached one when the body is the last one's. */
static int
dkim_body_hash(struct dkim_signer *s, const char *body, size_t len)
{
	struct dkim_canon	c;
	unsigned int		n;

	if (s->have_bh && s->body.len == len &&
	    memcmp(s->body.p, body, len) == 0) {
		s->st.body_reused++;
		return 0;
	}
	if (EVP_DigestInit_ex2(s->md, s->d->sha256, NULL) != 1)
		return -1;
	dkim_canon_init(&c, dkim_md_update, s->md);
	dkim_canon_feed(&c, body, len);
	dkim_canon_finish(&c);
	if (EVP_DigestFinal_ex(s->md, s->bh, &n) != 1 || n != sizeof(s->bh))
		return -1;
	buf_reset(&s->body);
	buf_add(&s->body, body, len);
	s->have_bh = 1;
	s->st.body_hashed++;
	return 0;
}

struct dkim_fold {
	struct buf	*b;
	size_t		 col;
};

/* Add a word, after a space or (sep 0) right after; fold if too long. */
static void
dkim_fold_add(struct dkim_fold *f, const char *w, size_t n, int sep)
{
	if (f->col + (sep ? 1 : 0) + n > DKIM_FOLD && f->col > 8) {
		buf_add(f->b, "\r\n\t", 3);
		f->col = 8;
	} else if (sep) {
		buf_addc(f->b, ' ');
		f->col++;
	}
	buf_add(f->b, w, n);
	f->col += n;
}

static void dkim_fold_fmt(struct dkim_fold *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
dkim_fold_fmt(struct dkim_fold *f, int sep, const char *fmt, ...)
{
	va_list	ap;
	char	w[512];
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(w, sizeof(w), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(w))
		abort();		/* names are checked at load */
	dkim_fold_add(f, w, (size_t)n, sep);
}

static int
dkim_sign_one(struct dkim_signer *s, const struct dkim_key *k,
    const char *hlist, time_t now, struct buf *out, char *err, size_t errlen)
{
	unsigned char	 md[DKIM_SHA256_LEN], sig[DKIM_SIG_MAX];
	char		 b64[DKIM_SIG_MAX * 4 / 3 + 4];
	struct dkim_fold f;
	const char	*p, *colon;
	unsigned int	 mdlen;
	size_t		 siglen = sizeof(sig), n, b64len;

	buf_reset(&s->hdr);
	f.b = &s->hdr;
	buf_addstr(&s->hdr, "DKIM-Signature:");
	f.col = s->hdr.len;
	dkim_fold_fmt(&f, 1, "v=1;");
	dkim_fold_fmt(&f, 1, "a=%s;", dkim_alg_name(k->alg));
	dkim_fold_fmt(&f, 1, "c=relaxed/relaxed;");
	dkim_fold_fmt(&f, 1, "d=%s;", s->d->domain);
	dkim_fold_fmt(&f, 1, "s=%s;", k->selector);
	dkim_fold_fmt(&f, 1, "t=%lld;", (long long)now);
	/* h=, folded after a colon when it must */
	for (p = hlist;; p = colon + 1) {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		dkim_fold_fmt(&f, p == hlist, "%s%.*s%c", p == hlist ? "h=" :
		    "", (int)n, p, colon != NULL ? ':' : ';');
		if (colon == NULL)
			break;
	}
	if (EVP_EncodeBlock((unsigned char *)b64, s->bh, sizeof(s->bh)) != 44)
		abort();
	dkim_fold_fmt(&f, 1, "bh=%s;", b64);
	dkim_fold_add(&f, "b=", 2, 1);

	/* RFC 6376 3.7: the signed headers, then this one, b= empty, no
	 * CRLF after it */
	buf_reset(&s->canon);
	dkim_canon_header(s->hdr.p, s->hdr.len, &s->canon);
	s->canon.len -= 2;
	if (EVP_DigestInit_ex2(s->md, s->d->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(s->md, s->signed_hdrs.p, s->signed_hdrs.len)
	    != 1 || EVP_DigestUpdate(s->md, s->canon.p, s->canon.len) != 1 ||
	    EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 ||
	    mdlen != sizeof(md)) {
		snprintf(err, errlen, "dkim: SHA-256 failed");
		return -1;
	}
	if (k->alg == DKIM_RSA) {
		if (EVP_PKEY_sign(s->rsa, sig, &siglen, md, sizeof(md)) != 1) {
			dkim_ssl_err(b64, sizeof(b64));
			snprintf(err, errlen, "dkim: RSA signing failed: %s",
			    b64);
			return -1;
		}
	} else {
		/* RFC 8463: PureEdDSA over the SHA-256 of the headers */
		if (EVP_MD_CTX_copy_ex(s->ed, s->ed_init) != 1 ||
		    EVP_DigestSign(s->ed, sig, &siglen,
		    md, sizeof(md)) != 1) {
			dkim_ssl_err(b64, sizeof(b64));
			snprintf(err, errlen, "dkim: Ed25519 signing failed: %s",
			    b64);
			return -1;
		}
	}
	b64len = (size_t)EVP_EncodeBlock((unsigned char *)b64, sig,
	    (int)siglen);
	/* the value, folded; a verifier drops it with its white space */
	for (p = b64; p < b64 + b64len; p += n) {
		n = DKIM_FOLD > f.col ? DKIM_FOLD - f.col : 0;
		if (n == 0) {
			buf_add(&s->hdr, "\r\n\t", 3);
			f.col = 8;
			n = DKIM_FOLD - f.col;
		}
		if (n > (size_t)(b64 + b64len - p))
			n = (size_t)(b64 + b64len - p);
		buf_add(&s->hdr, p, n);
		f.col += n;
	}
	buf_add(&s->hdr, "\r\n", 2);
	buf_add(out, s->hdr.p, s->hdr.len);
	return 0;
}

int
dkim_sign(struct dkim_signer *s, const char *msg, size_t len, time_t now,
    struct buf *out, char *err, size_t errlen)
{
	struct dkim_field	*f = NULL;
	struct buf		 hlist = BUF_INIT;
	size_t			 nf, bodyoff, i, j, k, count[DKIM_NSIGNED];
	size_t			 start = out->len;
	int			 ret = -1;

	nf = dkim_fields(msg, len, &f, &bodyoff);
	if (nf == 0) {
		snprintf(err, errlen, "dkim: the message has no header");
		goto end;
	}
	if (dkim_body_hash(s, msg + bodyoff, len - bodyoff) == -1) {
		snprintf(err, errlen, "dkim: SHA-256 failed");
		goto end;
	}
	/*
	 * Oversigning: each name once more than it occurs.  The k-th time
	 * a name is listed it takes its k-th instance from the bottom
	 * (RFC 6376 5.4.2); the one beyond them stands for "no more".
	 */
	buf_reset(&s->signed_hdrs);
	for (i = 0; i < DKIM_NSIGNED; i++) {
		count[i] = 0;
		for (j = 0; j < nf; j++)
			count[i] += dkim_field_is(&f[j], dkim_signed[i]);
		for (k = 0; k <= count[i]; k++)
			buf_printf(&hlist, "%s%s", hlist.len ? ":" : "",
			    dkim_signed[i]);
		for (j = nf; j-- > 0;)
			if (dkim_field_is(&f[j], dkim_signed[i]))
				dkim_canon_header(f[j].p, f[j].len,
				    &s->signed_hdrs);
	}
	for (i = 0; i < (size_t)s->d->nkeys; i++)
		if (dkim_sign_one(s, &s->d->keys[i], hlist.p, now, out, err,
		    errlen) == -1)
			goto end;
	s->st.signed_msgs++;
	ret = 0;
 end:
	if (ret == -1)
		buf_truncate(out, start);
	free(f);
	buf_free(&hlist);
	return ret;
}
