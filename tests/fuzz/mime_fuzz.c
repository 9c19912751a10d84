/*
 * mime_fuzz.c -- the MIME encoders (mime.c), as round trips.
 *
 * What mime_qp, mime_flowed, mime_text_encode, mime_header_text,
 * mime_header_phrase and mime_encode_word produce is decoded here by
 * small independent decoders (RFC 2045 quoted-printable, RFC 3676
 * format=flowed with DelSp=no, RFC 5322 unfolding, RFC 2047 Q and B
 * encoded-words) and must give back the input (bodies: with LF turned
 * into CRLF and, for flowed text, trailing white space dropped, as
 * mime.h says).  Along the way: QP lines at most 76 octets, CRLF only,
 * printable ASCII only, no white space before a line end; header lines
 * at most 998 octets, continuation lines starting with white space;
 * encoded-words at most 75 characters, each decoding to whole UTF-8
 * characters.
 */
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "mime.h"

#include "fuzz.h"

static int
mf_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 2045 6.7 decoding of what mime_qp produces (upper-case hex). */
static void
qp_decode(const char *s, size_t len, struct buf *out)
{
	size_t	i;
	int	h, l;

	FUZZ_CHECK(fuzz_crlf_lines(s, len, MIME_QP_LINE));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 2;
				continue;
			}
			FUZZ_CHECK(i + 2 < len);
			h = mf_hex((unsigned char)s[i + 1]);
			l = mf_hex((unsigned char)s[i + 2]);
			FUZZ_CHECK(h >= 0 && l >= 0);
			buf_addc(out, (char)(h << 4 | l));
			i += 2;
		} else if (c == '\r') {
			/* no white space before a hard or soft line end */
			FUZZ_CHECK(i == 0 || (s[i - 1] != ' ' &&
			    s[i - 1] != '\t'));
			buf_add(out, "\r\n", 2);
			i++;
		} else {
			FUZZ_CHECK((c >= 33 && c <= 126) || c == ' ' ||
			    c == '\t');
			buf_addc(out, (char)c);
		}
	}
	FUZZ_CHECK(len == 0 || (s[len - 1] != ' ' && s[len - 1] != '\t'));
}

/* LF or CRLF line ends as CRLF; with trim, as mime_flowed sees lines. */
static void
body_expect(const char *s, size_t len, int trim, struct buf *out)
{
	const char	*nl;
	size_t		 i = 0, e, n;

	while (i < len) {
		nl = memchr(s + i, '\n', len - i);
		e = nl ? (size_t)(nl - s) : len;
		n = e - i;
		if (trim) {
			/* mime_flowed drops one CR at the end of any line */
			if (n > 0 && s[i + n - 1] == '\r')
				n--;
			if (!(n == 3 && memcmp(s + i, "-- ", 3) == 0))
				while (n > 0 && (s[i + n - 1] == ' ' ||
				    s[i + n - 1] == '\t'))
					n--;
		} else if (nl != NULL && n > 0 && s[i + n - 1] == '\r')
			n--;
		buf_add(out, s + i, n);
		if (nl)
			buf_add(out, "\r\n", 2);
		i = nl ? e + 1 : len;
	}
}

/* RFC 3676 decoding (DelSp=no): join soft breaks, remove stuffing. */
static void
flowed_decode(const char *s, size_t len, struct buf *out)
{
	size_t	i = 0, e, n;
	int	crlf;

	while (i < len) {
		for (e = i; e < len && !(s[e] == '\r' && e + 1 < len &&
		    s[e + 1] == '\n'); e++)
			;
		crlf = e < len;
		n = e - i;
		if (n == 3 && memcmp(s + i, "-- ", 3) == 0) {
			buf_add(out, "-- ", 3);
			if (crlf)
				buf_add(out, "\r\n", 2);
		} else {
			if (n > 0 && s[i] == ' ') {
				i++;
				n--;
			}
			buf_add(out, s + i, n);
			if (crlf && !(n > 0 && s[i + n - 1] == ' '))
				buf_add(out, "\r\n", 2);
		}
		i = crlf ? e + 2 : len;
	}
}

static void
same(const struct buf *a, const struct buf *b, const char *what)
{
	if (a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len)
	    == 0))
		return;
	fprintf(stderr, "%s: round trip differs:\n[%.*s]\n[%.*s]\n", what,
	    (int)a->len, a->p ? a->p : "", (int)b->len, b->p ? b->p : "");
	FUZZ_CHECK(!"round trip");
}

static int
b64val(int c)
{
	const char	*b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789+/";
	const char	*p;

	if (c == '\0' || (p = strchr(b, c)) == NULL)
		return -1;
	return (int)(p - b);
}

/* One encoded-word w[0..len) appended decoded to out; -1 if it is not one. */
static int
word_decode(const char *w, size_t len, struct buf *out)
{
	size_t		 i, start = out->len;
	int		 h, l, v[4], k;
	char		 enc;

	if (len < 12 || len > MIME_WORD_MAX || memcmp(w, "=?UTF-8?", 8) != 0 ||
	    w[9] != '?' || w[len - 2] != '?' || w[len - 1] != '=')
		return -1;
	enc = w[8];
	w += 10;
	len -= 12;
	if (enc == 'Q') {
		for (i = 0; i < len; i++) {
			if (w[i] == '_')
				buf_addc(out, ' ');
			else if (w[i] == '=') {
				if (i + 2 >= len)
					return -1;
				h = mf_hex((unsigned char)w[i + 1]);
				l = mf_hex((unsigned char)w[i + 2]);
				if (h < 0 || l < 0)
					return -1;
				buf_addc(out, (char)(h << 4 | l));
				i += 2;
			} else if ((unsigned char)w[i] > 32 &&
			    (unsigned char)w[i] < 127 && w[i] != '?')
				buf_addc(out, w[i]);
			else
				return -1;
		}
	} else if (enc == 'B') {
		if (len % 4 != 0)
			return -1;
		for (i = 0; i < len; i += 4) {
			for (k = 0; k < 4; k++)
				v[k] = w[i + k] == '=' && i + 4 == len && k >= 2 ?
				    0 : b64val((unsigned char)w[i + k]);
			if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
				return -1;
			buf_addc(out, (char)(v[0] << 2 | v[1] >> 4));
			if (w[i + 2] != '=')
				buf_addc(out, (char)((v[1] & 15) << 4 | v[2] >> 2));
			if (w[i + 3] != '=')
				buf_addc(out, (char)((v[2] & 3) << 6 | v[3]));
		}
	} else
		return -1;
	/* never a split UTF-8 sequence */
	FUZZ_CHECK(utf8_valid(out->p + start, out->len - start));
	return 0;
}

/*
 * A header value starting at column col: lines within 998 octets,
 * continuation lines starting with white space; unfolded into out.
 */
static void
hdr_unfold(const char *s, size_t len, size_t col, struct buf *out)
{
	size_t	i, linelen = col;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			FUZZ_CHECK(i + 2 < len && s[i + 1] == '\n' &&
			    (s[i + 2] == ' ' || s[i + 2] == '\t'));
			FUZZ_CHECK(linelen <= MIME_LINE_MAX);
			linelen = 0;
			i++;
			continue;
		}
		FUZZ_CHECK(s[i] != '\n' && s[i] != '\0');
		linelen++;
		buf_addc(out, s[i]);
	}
	FUZZ_CHECK(linelen <= MIME_LINE_MAX);
}

/* Unfolded text made of encoded-words separated by single spaces. */
static int
words_decode(const char *s, size_t len, struct buf *out)
{
	const char	*sp;
	size_t		 i = 0, n;

	while (i < len) {
		sp = memchr(s + i, ' ', len - i);
		n = sp ? (size_t)(sp - s) - i : len - i;
		if (word_decode(s + i, n, out) == -1)
			return -1;
		i += n + (sp ? 1 : 0);
		if (sp != NULL && i == len)
			return -1;
	}
	return 0;
}

static void
hdr_text_check(const char *v, size_t col)
{
	struct buf	 enc = BUF_INIT, un = BUF_INIT, dec = BUF_INIT, want;
	char		 err[256];
	size_t		 len = strlen(v);
	int		 ok, rc;

	ok = utf8_valid(v, len) && text_header_safe(v, len);
	rc = mime_header_text(&enc, col, v, err, sizeof(err));
	FUZZ_CHECK(rc == (ok ? 0 : -1));
	if (rc == -1) {
		FUZZ_CHECK(enc.len == 0);
		buf_free(&enc);
		return;
	}
	hdr_unfold(enc.p ? enc.p : "", enc.len, col, &un);
	if (un.len > 0 && strstr(un.p, "=?UTF-8?") != NULL)
		FUZZ_CHECK(words_decode(un.p, un.len, &dec) == 0);
	else
		buf_add(&dec, un.p ? un.p : "", un.len);
	want.p = (char *)v;
	want.len = len;
	same(&dec, &want, "mime_header_text");
	buf_free(&enc);
	buf_free(&un);
	buf_free(&dec);
}

static void
hdr_phrase_check(const char *v, size_t col)
{
	struct buf	 enc = BUF_INIT, un = BUF_INIT, dec = BUF_INIT, want;
	char		 err[256];
	size_t		 len = strlen(v), i;
	int		 ok, rc;

	ok = utf8_valid(v, len) && text_header_safe(v, len);
	rc = mime_header_phrase(&enc, col, v, err, sizeof(err));
	FUZZ_CHECK(rc == (ok ? 0 : -1));
	if (rc == -1) {
		buf_free(&enc);
		return;
	}
	hdr_unfold(enc.p ? enc.p : "", enc.len, col, &un);
	if (un.len > 0 && un.p[0] == '"') {
		FUZZ_CHECK(un.len >= 2 && un.p[un.len - 1] == '"');
		for (i = 1; i + 1 < un.len; i++) {
			if (un.p[i] == '\\')
				i++;
			else
				FUZZ_CHECK(un.p[i] != '"');
			FUZZ_CHECK(i + 1 < un.len);
			buf_addc(&dec, un.p[i]);
		}
	} else if (un.len > 0 && strstr(un.p, "=?UTF-8?") != NULL)
		FUZZ_CHECK(words_decode(un.p, un.len, &dec) == 0);
	else {
		/* atoms: no specials that a parser would read otherwise */
		for (i = 0; i < un.len; i++)
			FUZZ_CHECK(strchr("()<>[]:;@\\,.\"", un.p[i]) == NULL);
		buf_add(&dec, un.p ? un.p : "", un.len);
	}
	want.p = (char *)v;
	want.len = len;
	same(&dec, &want, "mime_header_phrase");
	buf_free(&enc);
	buf_free(&un);
	buf_free(&dec);
}

static void
word_check(const char *s, size_t len, int enc, size_t max)
{
	struct buf	 out = BUF_INIT, dec = BUF_INIT, want;
	size_t		 k;

	k = mime_encode_word(&out, s, len, enc, max);
	if (len == 0) {
		FUZZ_CHECK(k == 0);
		buf_free(&out);
		return;
	}
	FUZZ_CHECK(k > 0 && k <= len);
	if (max >= 24)
		FUZZ_CHECK(out.len <= (max > MIME_WORD_MAX ? MIME_WORD_MAX :
		    max));
	/* mime.c is only given valid UTF-8 (mime_check_header) */
	if (utf8_valid(s, len)) {
		FUZZ_CHECK(word_decode(out.p, out.len, &dec) == 0);
		want.p = (char *)s;
		want.len = k;
		same(&dec, &want, "mime_encode_word");
	}
	buf_free(&out);
	buf_free(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf	 enc = BUF_INIT, dec = BUF_INIT, want = BUF_INIT,
			 fl = BUF_INIT;
	char		*s, *v;
	size_t		 col;

	s = fuzz_dup(data, len, 0);

	/* quoted-printable: any bytes */
	mime_qp(&enc, s, len);
	qp_decode(enc.p ? enc.p : "", enc.len, &dec);
	body_expect(s, len, 0, &want);
	same(&dec, &want, "mime_qp");

	/* format=flowed, then flowed + QP */
	buf_reset(&dec);
	buf_reset(&want);
	mime_flowed(&fl, s, len);
	flowed_decode(fl.p ? fl.p : "", fl.len, &dec);
	body_expect(s, len, 1, &want);
	same(&dec, &want, "mime_flowed");
	buf_reset(&enc);
	buf_reset(&dec);
	mime_text_encode(&enc, s, len);
	qp_decode(enc.p ? enc.p : "", enc.len, &dec);
	same(&dec, &fl, "mime_text_encode");

	/* headers: first byte is the column, the rest the value */
	if (len > 0) {
		col = data[0] % 80;
		v = fuzz_dup(data + 1, len - 1, 1);
		hdr_text_check(v, col);
		hdr_phrase_check(v, col);
		word_check(v, strlen(v), 'Q', 24 + data[0] % 52);
		word_check(v, strlen(v), 'B', 24 + data[0] % 52);
		free(v);
	}
	buf_free(&enc);
	buf_free(&dec);
	buf_free(&want);
	buf_free(&fl);
	free(s);
	return 0;
}
