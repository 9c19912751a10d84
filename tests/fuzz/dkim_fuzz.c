/*
 * dkim_fuzz.c -- the relaxed canonicalisers of dkim.c (RFC 6376 3.4.2,
 * 3.4.4).
 *
 * The body: fed whole, and fed in pseudo-random chunks through the
 * streaming interface, it must equal a plain reference written here line
 * by line (only CRLF ends a line; runs of SP and HTAB become one SP, none
 * at a line's end; empty lines at the end dropped; every line, an
 * unterminated last one too, ends in CRLF; no content, no output).  The
 * output has no HTAB, no two SPs in a row, no SP before CRLF, no empty
 * line at its end, and canonicalising it again changes nothing.
 * The header: the name in lower case with no white space before the
 * colon; in the value no HTAB, no run of SPs, no SP after the colon or
 * before the final CRLF, and the input's other bytes in order.
 */
#include <string.h>

#include "buf.h"
#include "dkim.h"

#include "fuzz.h"

static int
df_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* The reference: one line at a time, no state carried between bytes. */
static void
df_reference(const char *s, size_t len, struct buf *out)
{
	const char	*line = s, *e = s + len, *nl;
	size_t		 blank = 0, n, i;
	struct buf	 l = BUF_INIT;

	while (line < e) {
		nl = memmem(line, (size_t)(e - line), "\r\n", 2);
		n = nl != NULL ? (size_t)(nl - line) : (size_t)(e - line);
		buf_reset(&l);
		for (i = 0; i < n; i++) {
			if (df_wsp(line[i])) {
				if (i == 0 || !df_wsp(line[i - 1]))
					buf_addc(&l, ' ');
				continue;
			}
			buf_addc(&l, line[i]);
		}
		while (l.len > 0 && l.p[l.len - 1] == ' ')
			l.len--;
		if (l.len == 0)
			blank++;
		else {
			for (; blank > 0; blank--)
				buf_add(out, "\r\n", 2);
			buf_add(out, l.p, l.len);
			buf_add(out, "\r\n", 2);
		}
		line = nl != NULL ? nl + 2 : e;
	}
	buf_free(&l);
}

static void
df_sink(void *arg, const char *p, size_t n)
{
	buf_add(arg, p, n);
}

static void
df_body(const char *s, size_t len, uint64_t *seed)
{
	struct dkim_canon	 c;
	struct buf		 whole = BUF_INIT, chunked = BUF_INIT;
	struct buf		 ref = BUF_INIT, again = BUF_INIT;
	size_t			 off, n;

	dkim_canon_body(s, len, &whole);
	dkim_canon_init(&c, df_sink, &chunked);
	for (off = 0; off < len; off += n) {
		n = (size_t)(fuzz_rand(seed) % 300) + 1;
		if (n > len - off)
			n = len - off;
		dkim_canon_feed(&c, s + off, n);
	}
	dkim_canon_finish(&c);
	df_reference(s, len, &ref);

	FUZZ_CHECK(whole.len == chunked.len);
	FUZZ_CHECK(whole.len == 0 || memcmp(whole.p, chunked.p,
	    whole.len) == 0);
	FUZZ_CHECK(whole.len == ref.len);
	FUZZ_CHECK(whole.len == 0 || memcmp(whole.p, ref.p, whole.len) == 0);
	if (whole.len > 0) {
		FUZZ_CHECK(whole.len >= 3);
		FUZZ_CHECK(memcmp(whole.p + whole.len - 2, "\r\n", 2) == 0);
		FUZZ_CHECK(whole.len < 4 || memcmp(whole.p + whole.len - 4,
		    "\r\n\r\n", 4) != 0);
		FUZZ_CHECK(memchr(whole.p, '\t', whole.len) == NULL);
		FUZZ_CHECK(memmem(whole.p, whole.len, "  ", 2) == NULL);
		FUZZ_CHECK(memmem(whole.p, whole.len, " \r\n", 3) == NULL);
	}
	dkim_canon_body(whole.p ? whole.p : "", whole.len, &again);
	FUZZ_CHECK(again.len == whole.len);
	FUZZ_CHECK(whole.len == 0 || memcmp(again.p, whole.p, whole.len) == 0);
	buf_free(&whole);
	buf_free(&chunked);
	buf_free(&ref);
	buf_free(&again);
}

static void
df_header(const char *s, size_t len)
{
	struct buf	 out = BUF_INIT;
	const char	*colon = memchr(s, ':', len), *p, *o, *oe;
	size_t		 namelen, i;

	dkim_canon_header(s, len, &out);
	FUZZ_CHECK(out.len >= 3);
	FUZZ_CHECK(memcmp(out.p + out.len - 2, "\r\n", 2) == 0);
	oe = out.p + out.len - 2;
	/* the name: lower case, as given, no white space before ':' */
	namelen = colon != NULL ? (size_t)(colon - s) : len;
	while (namelen > 0 && df_wsp(s[namelen - 1]))
		namelen--;
	for (i = 0; i < namelen; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];

		FUZZ_CHECK(out.p[i] == c);
	}
	FUZZ_CHECK(out.p[namelen] == ':');
	if (colon == NULL) {
		FUZZ_CHECK(out.len == namelen + 3);
		goto end;
	}
	/* the value: no HTAB, SP run, SP at either end; the other bytes of
	 * the input value in order, CRLF pairs removed in one pass (as
	 * dkimpy does: "\r\r\n\n" leaves a CRLF) */
	o = out.p + namelen + 1;
	FUZZ_CHECK(o == oe || (*o != ' ' && oe[-1] != ' '));
	FUZZ_CHECK(memchr(o, '\t', (size_t)(oe - o)) == NULL);
	FUZZ_CHECK(memmem(o, (size_t)(oe - o), "  ", 2) == NULL);
	for (p = colon + 1; p < s + len; p++) {
		if (*p == '\r' && p + 1 < s + len && p[1] == '\n') {
			p++;
			continue;
		}
		if (df_wsp(*p))
			continue;
		while (o < oe && *o == ' ')
			o++;
		FUZZ_CHECK(o < oe && *o == *p);
		o++;
	}
	FUZZ_CHECK(o == oe);
 end:
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint64_t	 seed = fuzz_seed(data, len);
	char		*s = fuzz_dup(data, len, 0);

	df_body(s, len, &seed);
	df_header(s, len < 4096 ? len : 4096);
	free(s);
	return 0;
}
