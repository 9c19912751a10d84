/*
 * mime_test.c -- quoted-printable, format=flowed, RFC 2047 encoded-words,
 * display-name quoting, header injection and whole-message assembly.
 *
 * With MIME_OUT set to a folder, also writes NAME.eml messages and
 * NAME.json inputs for tests/py/check_mime.py to parse with Python's email
 * package (tests/integration/mime_parse.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"
#include "statement.h"
#include "unit.h"

/* --- small decoders used to check the encoders --- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo quoted-printable; -1 on a malformed escape or a bad line. */
static int
qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t	 i;
	int	 h, l;

	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
				i += 2;
				continue;
			}
			if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 ||
			    (l = hexval(s[i + 2])) < 0)
				return -1;
			buf_addc(out, (char)(h * 16 + l));
			i += 2;
		} else if (s[i] == '\r') {
			if (i + 1 >= n || s[i + 1] != '\n')
				return -1;
			buf_addc(out, '\n');
			i++;
		} else if (s[i] == '\n')
			return -1;		/* bare LF */
		else
			buf_addc(out, s[i]);
	}
	return 0;
}

/* Longest line (without CRLF) and whether every line end is CRLF. */
static size_t
max_line(const char *s, size_t n, int *crlf_only)
{
	size_t	 i, start = 0, max = 0;

	*crlf_only = 1;
	for (i = 0; i < n; i++) {
		if (s[i] == '\n') {
			if (i == 0 || s[i - 1] != '\r')
				*crlf_only = 0;
			if (i - start - 1 > max && i > start)
				max = i - start - 1;
			start = i + 1;
		} else if (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n'))
			*crlf_only = 0;
	}
	if (n - start > max)
		max = n - start;
	return max;
}

static int
valid_utf8(const unsigned char *p, size_t n)
{
	size_t	 i = 0, k, j;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		k = p[i] >= 0xf0 ? 4 : p[i] >= 0xe0 ? 3 : p[i] >= 0xc0 ? 2 : 0;
		if (k == 0 || i + k > n)
			return 0;
		for (j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static int
b64val(int c)
{
	const char	*t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/", *q;

	if (c == 0 || (q = strchr(t, c)) == NULL)
		return -1;
	return q - t;
}

/*
 * Decode a header value made only of encoded-words separated by folding
 * white space.  Checks each word is at most 75 characters and decodes to
 * whole UTF-8 characters.  Returns -1 on anything else.
 */
static int
words_decode(const char *s, struct buf *out)
{
	const char	*e, *q;
	struct buf	 w = BUF_INIT;
	size_t		 len;
	int		 enc, v, bits, nbits, ret = -1;

	while (*s) {
		while (*s == ' ' || *s == '\r' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		if (strncmp(s, "=?UTF-8?", 8) != 0)
			goto end;
		enc = s[8];
		if (s[9] != '?' || (q = strstr(s + 10, "?=")) == NULL)
			goto end;
		e = q + 2;
		if ((size_t)(e - s) > 75)
			goto end;
		buf_reset(&w);
		if (enc == 'Q') {
			for (q = s + 10; q < e - 2; q++) {
				if (*q == '_')
					buf_addc(&w, ' ');
				else if (*q == '=') {
					if (hexval(q[1]) < 0 || hexval(q[2]) < 0)
						goto end;
					buf_addc(&w, (char)(hexval(q[1]) * 16 +
					    hexval(q[2])));
					q += 2;
				} else
					buf_addc(&w, *q);
			}
		} else if (enc == 'B') {
			bits = nbits = 0;
			for (q = s + 10; q < e - 2 && *q != '='; q++) {
				if ((v = b64val(*q)) < 0)
					goto end;
				bits = bits << 6 | v;
				nbits += 6;
				if (nbits >= 8) {
					nbits -= 8;
					buf_addc(&w, (char)(bits >> nbits));
					bits &= (1 << nbits) - 1;
				}
			}
		} else
			goto end;
		len = w.len;
		if (len == 0 || !valid_utf8((unsigned char *)w.p, len))
			goto end;
		buf_add(out, w.p, len);
		s = e;
	}
	ret = 0;
 end:
	buf_free(&w);
	return ret;
}

/* --- quoted-printable --- */

static void
test_qp(void)
{
	static const struct {
		const char	*name, *in, *want;
	} t[] = {
		{ "plain", "hello world", "hello world" },
		{ "equals", "a=b", "a=3Db" },
		{ "trailing spaces", "abc  \n", "abc =20\r\n" },
		{ "trailing tab at end", "a\t", "a=09" },
		{ "inner tab", "a\tb", "a\tb" },
		{ "crlf kept", "x\r\ny", "x\r\ny" },
		{ "lf to crlf", "x\ny\n", "x\r\ny\r\n" },
		{ "bare cr", "a\rb", "a=0Db" },
		{ "utf8", "caf\xc3\xa9", "caf=C3=A9" },
		{ "nul and del", "a\0b\x7f", "a=00b=7F" },
		{ "76 exactly",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" },
		{ "77 soft break",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\naa" },
		{ "escape not split",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9x",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n=C3=A9x" },
		{ "escape ends line at 76",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=3D" },
		{ "trailing space at col 73",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \n",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=20\r\n" },
		{ "trailing space at col 74",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \n",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\r\n=20\r\n" },
	};
	struct buf	 b = BUF_INIT;
	size_t		 i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		n = strlen(t[i].in);
		if (strcmp(t[i].name, "nul and del") == 0)
			n = 4;
		mime_qp(&b, t[i].in, n);
		CHECK_STR(t[i].name, b.len ? b.p : "", t[i].want);
	}
	buf_free(&b);
}

/* Random inputs: decode(encode(x)) == x with LF as CRLF, lines <= 76. */
static void
test_qp_random(void)
{
	static const char	 alpha[] = "ab =\t\r\n\xc3\xa9.";
	struct buf		 in = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	struct buf		 want = BUF_INIT;
	uint32_t		 seed = 12345;
	size_t			 i, j, n, maxl, bad = 0, toolong = 0;
	int			 crlf;

	for (i = 0; i < 2000; i++) {
		buf_reset(&in);
		buf_reset(&enc);
		buf_reset(&dec);
		buf_reset(&want);
		seed = seed * 1103515245 + 12345;
		n = (seed >> 8) % 400;
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245 + 12345;
			buf_addc(&in, alpha[(seed >> 16) % (sizeof(alpha) - 1)]);
		}
		for (j = 0; j < in.len; j++) {
			if (in.p[j] == '\n' && (j == 0 || in.p[j - 1] != '\r'))
				buf_addc(&want, '\n');
			else if (in.p[j] == '\r' && j + 1 < in.len &&
			    in.p[j + 1] == '\n')
				;
			else
				buf_addc(&want, in.p[j]);
		}
		mime_qp(&enc, in.p ? in.p : "", in.len);
		if (qp_decode(enc.p ? enc.p : "", enc.len, &dec) == -1 ||
		    dec.len != want.len || (dec.len && memcmp(dec.p, want.p,
		    dec.len) != 0))
			bad++;
		maxl = max_line(enc.p ? enc.p : "", enc.len, &crlf);
		if (maxl > 76 || !crlf)
			toolong++;
		/* No white space before a line end. */
		for (j = 0; j + 1 < enc.len; j++)
			if (enc.p[j + 1] == '\r' && (enc.p[j] == ' ' ||
			    enc.p[j] == '\t'))
				toolong++;
		if (enc.len && (enc.p[enc.len - 1] == ' ' ||
		    enc.p[enc.len - 1] == '\t'))
			toolong++;
	}
	CHECK_INT("qp random round trips failing", bad, 0);
	CHECK_INT("qp random lines over 76 / bare LF / trailing ws", toolong, 0);
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
	buf_free(&want);
}

/* --- format=flowed --- */

/* Undo format=flowed (DelSp=no): unstuff, join soft-broken lines. */
static void
unflow(const char *s, size_t n, struct buf *out)
{
	size_t	 i = 0, e, len;
	const char	*l;

	while (i < n) {
		l = s + i;
		e = i;
		while (e + 1 < n && !(s[e] == '\r' && s[e + 1] == '\n'))
			e++;
		if (e + 1 >= n)
			e = n;
		len = e - i;
		if (len > 0 && l[0] == ' ') {
			l++;
			len--;
		}
		buf_add(out, l, len);
		if (e < n && !(len > 0 && l[len - 1] == ' ' &&
		    !(len == 3 && memcmp(l, "-- ", 3) == 0)))
			buf_addc(out, '\n');
		i = e + 2;
	}
}

static void
test_flowed(void)
{
	static const struct {
		const char	*name, *in, *want;
	} t[] = {
		{ "short", "Hello.\n", "Hello.\r\n" },
		{ "no final newline", "Hello.", "Hello." },
		{ "blank lines", "a\n\nb\n", "a\r\n\r\nb\r\n" },
		{ "crlf input", "a\r\nb\r\n", "a\r\nb\r\n" },
		{ "trailing space trimmed", "abc   \n", "abc\r\n" },
		{ "sig separator kept", "-- \nme\n", "-- \r\nme\r\n" },
		{ "stuff space", " indented\n", "  indented\r\n" },
		{ "stuff quote", ">not a quote\n", " >not a quote\r\n" },
		{ "stuff From", "From here on\n", " From here on\r\n" },
		{ "no stuff Fromage", "Fromage\n", "Fromage\r\n" },
		{ "wrap at 72",
		  "The quick brown fox jumps over the lazy dog and keeps running until the end of line.\n",
		  "The quick brown fox jumps over the lazy dog and keeps running until the \r\nend of line.\r\n" },
		{ "long word unbroken",
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yy\n",
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \r\nyy\r\n" },
		{ "wrapped line starting with From",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa From x\n",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \r\n From x\r\n" },
		/* 40 e-acute, space, 40 e-acute: 81 characters, 161 octets. */
		{ "utf8 counted in characters",
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  " \xc3\xa9\xc3\xa9\n",
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		  " \xc3\xa9\xc3\xa9\r\n" },
	};
	struct buf	 b = BUF_INIT;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		mime_flowed(&b, t[i].in, strlen(t[i].in));
		CHECK_STR(t[i].name, b.len ? b.p : "", t[i].want);
	}
	buf_free(&b);
}

/* Wrapped text: every line <= 72 characters unless one word, lossless. */
static void
test_flowed_random(void)
{
	static const char	*words[] = { "a", "bb", "word", "longer",
	    "\xe2\x80\x9cquoted\xe2\x80\x9d", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    ">", "From", "caf\xc3\xa9", "\xf0\x9f\x98\x80", "-" };
	struct buf		 in = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
	uint32_t		 seed = 777;
	size_t			 i, j, n, bad = 0, wide = 0, s, e, cols;

	for (i = 0; i < 500; i++) {
		buf_reset(&in);
		buf_reset(&enc);
		buf_reset(&dec);
		seed = seed * 1103515245 + 12345;
		n = (seed >> 8) % 120;
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245 + 12345;
			if (j > 0) {
				buf_addc(&in, (seed >> 20) % 9 == 0 ? '\n' :
				    ' ');
				if ((seed >> 24) % 13 == 0)
					buf_addc(&in, ' ');
			}
			buf_addstr(&in, words[(seed >> 16) %
			    (sizeof(words) / sizeof(words[0]))]);
		}
		buf_addc(&in, '\n');
		mime_flowed(&enc, in.p, in.len);
		unflow(enc.p, enc.len, &dec);
		if (dec.len != in.len || memcmp(dec.p, in.p, in.len) != 0) {
			if (bad++ == 0)
				printf("flowed round trip: got \"%s\", want "
				    "\"%s\"\n", dec.p, in.p);
		}
		for (s = 0; s < enc.len; s = e + 2) {
			e = s;
			while (e + 1 < enc.len && !(enc.p[e] == '\r' &&
			    enc.p[e + 1] == '\n'))
				e++;
			for (cols = 0, j = s; j < e; j++)
				cols += (enc.p[j] & 0xc0) != 0x80;
			/* Space-stuffed, one long word or within 72. */
			if (cols > 72 && e - s > 2 && memchr(enc.p + s + 1,
			    ' ', e - s - 2) != NULL) {
				if (wide++ == 0)
					printf("wide line: \"%.*s\"\n",
					    (int)(e - s), enc.p + s);
			}
		}
	}
	CHECK_INT("flowed random round trips failing", bad, 0);
	CHECK_INT("flowed random lines over 72 with a space", wide, 0);
	buf_free(&in);
	buf_free(&enc);
	buf_free(&dec);
}

/* --- headers --- */

static void
test_phrase(void)
{
	static const struct {
		const char	*name, *in, *want;
	} t[] = {
		{ "atoms", "John Smith", "John Smith" },
		{ "comma quoted", "Smith, John", "\"Smith, John\"" },
		{ "dot quoted", "John Q. Public", "\"John Q. Public\"" },
		{ "escapes", "Say \"hi\" \\ bye", "\"Say \\\"hi\\\" \\\\ bye\"" },
		{ "double space quoted", "a  b", "\"a  b\"" },
		{ "latin Q", "Jos\xc3\xa9", "=?UTF-8?Q?Jos=C3=A9?=" },
		{ "looks encoded", "=?utf-8?q?x?=", "=?UTF-8?Q?=3D=3Futf-8=3Fq=3Fx=3F=3D?=" },
		{ "cjk B", "\xe5\xb1\xb1\xe7\x94\xb0", "=?UTF-8?B?5bGx55Sw?=" },
	};
	struct buf	 b = BUF_INIT;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		CHECK_INT(t[i].name, mime_header_phrase(&b, 4, t[i].in, err,
		    sizeof(err)), 0);
		CHECK_STR(t[i].name, b.len ? b.p : "", t[i].want);
	}
	buf_free(&b);
}

/* Encoded-words: round trip, <= 75 per word, lines <= 78, no split. */
static void
test_words(void)
{
	static const struct {
		const char	*name, *in;
	} t[] = {
		{ "latin", "Fran\xc3\xa7oise M\xc3\xbcller-\xc3\x98stergaard d\xe2\x80\x99" "Arc "
		  "and the na\xc3\xafve caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9 of \xc3\x85ngstr\xc3\xb6m" },
		{ "cjk", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"
		  "\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\xe4\xb8\xad\xe6\x96\x87"
		  "\xe5\xad\x97\xe7\xac\xa6\xe4\xb8\xb2\xe3\x82\x82\xe9\x95\xb7\xe3\x81\x8f\xe3\x81\x97"
		  "\xe3\x81\xa6\xe3\x81\xbf\xe3\x81\xbe\xe3\x81\x97\xe3\x82\x87\xe3\x81\x86\xe3\x80\x82" },
		{ "arabic", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9"
		  "\xd8\xa7\xd9\x84\xd9\x85 \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7"
		  "\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85 \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7" },
		{ "hebrew", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d "
		  "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d \xd7\xa9\xd7\x9c"
		  "\xd7\x95\xd7\x9d \xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d" },
		{ "emoji", "Party \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89 time "
		  "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 family "
		  "\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88 flag \xf0\x9f\x98\x80\xf0\x9f\x98\x80" },
		{ "ellipsis title", "Venice, Lagos, Lima\xe2\x80\xa6 we walk with you \xe2\x80\x93 "
		  "a \xe2\x80\x9c" "caf\xc3\xa9\xe2\x80\x9d statement" },
	};
	struct buf	 b = BUF_INIT, d = BUF_INIT;
	char		 err[256];
	size_t		 i, maxl;
	int		 crlf;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		buf_reset(&d);
		CHECK_INT(t[i].name, mime_header_text(&b, 9, t[i].in, err,
		    sizeof(err)), 0);
		if (words_decode(b.p, &d) == -1) {
			CHECK(t[i].name, 0);
			printf("  encoded: %s\n", b.p);
			continue;
		}
		CHECK_STR(t[i].name, d.p, t[i].in);
		maxl = max_line(b.p, b.len, &crlf);
		CHECK(t[i].name, maxl + 9 <= 78 || strchr(b.p, '\n') != NULL);
		CHECK(t[i].name, crlf);
		/* Continuation lines: " " + word <= 78. */
		CHECK(t[i].name, maxl <= 76);

		buf_reset(&b);
		buf_reset(&d);
		CHECK_INT(t[i].name, mime_header_phrase(&b, 4, t[i].in, err,
		    sizeof(err)), 0);
		CHECK(t[i].name, words_decode(b.p, &d) == 0 &&
		    strcmp(d.p, t[i].in) == 0);
	}

	/* A word never splits a character even with tiny room. */
	for (i = 24; i <= 75; i++) {
		size_t used;

		buf_reset(&b);
		buf_reset(&d);
		used = mime_encode_word(&b, t[4].in + 6, strlen(t[4].in + 6),
		    'B', i);
		CHECK("B word fits", b.len <= i && used > 0);
		CHECK("B word whole chars", words_decode(b.p, &d) == 0 &&
		    d.len == used);
		buf_reset(&b);
		buf_reset(&d);
		used = mime_encode_word(&b, t[1].in, strlen(t[1].in), 'Q', i);
		CHECK("Q word fits", b.len <= i && used > 0);
		CHECK("Q word whole chars", words_decode(b.p, &d) == 0 &&
		    d.len == used);
	}
	buf_free(&b);
	buf_free(&d);
}

static void
test_subject_ascii(void)
{
	struct buf	 b = BUF_INIT;
	char		 err[256], long_title[1100];
	size_t		 maxl;
	int		 crlf;

	CHECK_INT("ascii subject", mime_header_text(&b, 9, "Hello, world",
	    err, sizeof(err)), 0);
	CHECK_STR("ascii subject", b.p, "Hello, world");
	buf_reset(&b);
	CHECK_INT("folded", mime_header_text(&b, 9, "one two three four five "
	    "six seven eight nine ten eleven twelve thirteen fourteen fifteen",
	    err, sizeof(err)), 0);
	CHECK_STR("folded", b.p, "one two three four five six seven eight "
	    "nine ten eleven twelve\r\n thirteen fourteen fifteen");
	/* One 990-octet word cannot fold under 998: encoded-words. */
	memset(long_title, 'x', 990);
	long_title[990] = '\0';
	buf_reset(&b);
	CHECK_INT("long word", mime_header_text(&b, 9, long_title, err,
	    sizeof(err)), 0);
	maxl = max_line(b.p, b.len, &crlf);
	CHECK("long word lines", maxl <= 78 && crlf &&
	    strstr(b.p, "\r\n") - b.p + 9 <= 78);
	buf_free(&b);
}

/* --- injection --- */

static void
base_msg(struct mime_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->from_name = "Statements Desk";
	m->from_addr = "desk@example.org";
	m->reply_to = "Replies <replies@example.org>";
	m->subject = "A statement";
	m->list_id = "Statements <statements.example.org>";
	m->boundary = "=_bs_0123456789abcdef";
	m->to_name = "Ann Example";
	m->to_addr = "ann@example.net";
	m->date = 1767657600;	/* 2026-01-06 00:00:00 UTC */
	m->message_id = "b1.r1@example.org";
	m->list_unsubscribe_url = "https://example.org/unsubscribe?t=abc";
	m->list_unsubscribe_mailto = NULL;
	m->text = "Hello Ann.\n";
	m->textlen = strlen(m->text);
	m->html = "<p>Hello Ann.</p>\n";
	m->htmllen = strlen(m->html);
}

static void
test_injection(void)
{
	static const char *bad[] = { "x\r\nBcc: evil@example.com", "x\nBcc: y",
	    "x\rBcc: y" };
	struct mime_msg	 m;
	struct buf	 b = BUF_INIT;
	char		 err[256], name[64];
	size_t		 i, f;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (f = 0; f < 9; f++) {
			base_msg(&m);
			switch (f) {
			case 0: m.subject = bad[i]; break;
			case 1: m.to_name = bad[i]; break;
			case 2: m.from_name = bad[i]; break;
			case 3: m.to_addr = bad[i]; break;
			case 4: m.from_addr = bad[i]; break;
			case 5: m.reply_to = bad[i]; break;
			case 6: m.list_id = bad[i]; break;
			case 7: m.message_id = bad[i]; break;
			case 8: m.list_unsubscribe_url = bad[i]; break;
			}
			snprintf(name, sizeof(name), "inject %zu field %zu", i,
			    f);
			buf_reset(&b);
			err[0] = '\0';
			CHECK_INT(name, mime_message(&b, &m, err, sizeof(err)),
			    -1);
			CHECK_INT(name, b.len, 0);
			CHECK(name, err[0] != '\0');
		}
	}
	CHECK_INT("nul in value", mime_check_header("f", "a\0b", 3, err,
	    sizeof(err)), -1);
	CHECK_STR("nul in value", err, "f: NUL in header value");
	CHECK_INT("cr in value", mime_check_header("subject", "a\rb", 3, err,
	    sizeof(err)), -1);
	CHECK_STR("cr in value", err, "subject: CR or LF in header value");
	CHECK_INT("bad utf8", mime_check_header("f", "a\xc0\xafz", 4, err,
	    sizeof(err)), -1);
	CHECK_INT("surrogate", mime_check_header("f", "\xed\xa0\x80", 3, err,
	    sizeof(err)), -1);
	CHECK_INT("good utf8", mime_check_header("f", "\xf0\x9f\x98\x80", 4,
	    err, sizeof(err)), 0);
	CHECK_INT("addr with space", mime_check_addr("to", "a b@example.org",
	    err, sizeof(err)), -1);
	CHECK_INT("addr with <", mime_check_addr("to", "a<b@example.org",
	    err, sizeof(err)), -1);
	CHECK_INT("addr non-ascii", mime_check_addr("to",
	    "jos\xc3\xa9@example.org", err, sizeof(err)), -1);
	CHECK_INT("addr ok", mime_check_addr("to", "a.b+c@example.org", err,
	    sizeof(err)), 0);
	base_msg(&m);
	m.boundary = "bad boundary";
	CHECK_INT("boundary with space", mime_message(&b, &m, err,
	    sizeof(err)), -1);
	base_msg(&m);
	m.boundary = "plain";
	m.text = "--plain\n";
	m.textlen = 8;
	CHECK_INT("boundary in body", mime_message(&b, &m, err, sizeof(err)),
	    -1);
	base_msg(&m);
	m.list_unsubscribe_url = "javascript:alert(1)";
	CHECK_INT("unsubscribe not http", mime_message(&b, &m, err,
	    sizeof(err)), -1);
	buf_free(&b);
}

/* --- whole message --- */

static void
test_message_golden(void)
{
	struct mime_msg	 m;
	struct buf	 b = BUF_INIT, enc = BUF_INIT, b2 = BUF_INIT;
	struct mime_common *c;
	char		 err[256];
	const char	*want =
	    "From: Statements Desk <desk@example.org>\r\n"
	    "To: Ann Example <ann@example.net>\r\n"
	    "Subject: A statement\r\n"
	    "Date: Tue, 06 Jan 2026 00:00:00 +0000\r\n"
	    "Message-ID: <b1.r1@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Reply-To: Replies <replies@example.org>\r\n"
	    "List-Id: Statements <statements.example.org>\r\n"
	    "List-Unsubscribe: <https://example.org/unsubscribe?t=abc>,\r\n"
	    " <mailto:unsub@example.org?subject=unsubscribe>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"=_bs_0123456789abcdef\"\r\n"
	    "\r\n"
	    "--=_bs_0123456789abcdef\r\n"
	    "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Hello Ann.\r\n"
	    "\r\n"
	    "--=_bs_0123456789abcdef\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<p>Hello Ann.</p>\r\n"
	    "\r\n"
	    "--=_bs_0123456789abcdef--\r\n";

	base_msg(&m);
	m.list_unsubscribe_mailto = "unsub@example.org?subject=unsubscribe";
	CHECK_INT("golden", mime_message(&b, &m, err, sizeof(err)), 0);
	CHECK_STR("golden", b.p, want);

	/* Pre-encoded bodies, split at a line break, give the same bytes. */
	c = mime_common_new(&m, err, sizeof(err));
	CHECK("common", c != NULL);
	m.text = "Hello Ann.\n";
	mime_text_encode(&enc, "Hello ", 6);
	buf_reset(&enc);
	mime_text_encode(&enc, "Hello Ann.\n", 11);
	m.text = enc.p;
	m.textlen = enc.len;
	m.flags = MIME_TEXT_ENCODED;
	if (c != NULL) {
		CHECK_INT("pre-encoded", mime_message_common(&b2, c, &m, err,
		    sizeof(err)), 0);
		CHECK_STR("pre-encoded", b2.p, want);
	}
	mime_common_free(c);

	/* Line-locality: enc(A B) == enc(A) enc(B) for A ending in LF. */
	{
		const char *a = "First line with trailing  \n> quoted\n",
		    *bb = "From the second part, a line long enough to wrap "
		    "at seventy-two characters and then some more words\n";
		struct buf whole = BUF_INIT, parts = BUF_INIT, ab = BUF_INIT;

		buf_addstr(&ab, a);
		buf_addstr(&ab, bb);
		mime_text_encode(&whole, ab.p, ab.len);
		mime_text_encode(&parts, a, strlen(a));
		mime_text_encode(&parts, bb, strlen(bb));
		CHECK_STR("line-local", parts.p, whole.p);
		buf_free(&whole);
		buf_free(&parts);
		buf_free(&ab);
	}
	buf_free(&b);
	buf_free(&b2);
	buf_free(&enc);
}

/* --- messages for the Python check --- */

static void
json_str(FILE *f, const char *s, size_t n)
{
	size_t	 i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
write_case(const char *dir, const char *name, struct mime_msg *m)
{
	struct buf	 b = BUF_INIT;
	char		 path[4096], err[256];
	FILE		 *f;

	if (mime_message(&b, m, err, sizeof(err)) == -1) {
		printf("FAIL %s: %s\n", name, err);
		unit_fail++;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.eml", dir, name);
	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		unit_fail++;
		return;
	}
	fwrite(b.p, 1, b.len, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		unit_fail++;
		return;
	}
	fputs("{\"subject\": ", f);
	json_str(f, m->subject, strlen(m->subject));
	fputs(", \"to_name\": ", f);
	json_str(f, m->to_name, strlen(m->to_name));
	fputs(", \"to_addr\": ", f);
	json_str(f, m->to_addr, strlen(m->to_addr));
	fputs(", \"from_name\": ", f);
	json_str(f, m->from_name, strlen(m->from_name));
	fputs(", \"text\": ", f);
	json_str(f, m->text, m->textlen);
	fputs(", \"html\": ", f);
	json_str(f, m->html, m->htmllen);
	fputs("}\n", f);
	fclose(f);
	unit_pass++;
	buf_free(&b);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*p;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc(n + 1);
	if (p == NULL || fread(p, 1, n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return p;
}

static void
write_messages(const char *dir)
{
	static const struct {
		const char	*case_name, *name, *title;
	} t[] = {
		{ "ascii", "Ann Example", "A plain statement" },
		{ "quoted", "Smith, \"Jo\" \\ Ann", "Specials: (yes) <no>, \"quotes\"" },
		{ "latin", "Fran\xc3\xa7oise M\xc3\xbcller",
		  "R\xc3\xa9sum\xc3\xa9 of the na\xc3\xafve caf\xc3\xa9 \xe2\x80\x93 "
		  "a \xe2\x80\x9cstatement\xe2\x80\x9d\xe2\x80\xa6" },
		{ "cjk", "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e",
		  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe5\xa3\xb0\xe6\x98\x8e"
		  "\xe6\x96\x87\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\xe9\x95\xb7\xe3\x81\x84"
		  "\xe3\x82\xbf\xe3\x82\xa4\xe3\x83\x88\xe3\x83\xab\xe3\x82\x92\xe6\x8a\x98"
		  "\xe3\x82\x8a\xe8\xbf\x94\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x99" },
		{ "arabic", "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf \xd8\xb9\xd9\x84\xd9\x8a",
		  "\xd8\xa8\xd9\x8a\xd8\xa7\xd9\x86 \xd8\xb9\xd9\x86 \xd8\xa7\xd9\x84\xd8\xb3"
		  "\xd9\x84\xd8\xa7\xd9\x85" },
		{ "hebrew", "\xd7\x93\xd7\x95\xd7\x93 \xd7\x9b\xd7\x94\xd7\x9f",
		  "\xd7\x94\xd7\xa6\xd7\x94\xd7\xa8\xd7\x94 \xd7\xa2\xd7\x9c "
		  "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" },
		{ "emoji", "Sam \xf0\x9f\x8c\x88 Lee",
		  "We \xe2\x9d\xa4\xef\xb8\x8f solidarity \xf0\x9f\x91\xa9\xe2\x80\x8d"
		  "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x8e\x89 together" },
		{ "long-ascii", "A Rather Long Display Name With Many Words In It For Folding Purposes",
		  "A very long ASCII subject line that certainly goes beyond the "
		  "seventy-eight character soft limit of RFC 5322 and needs folding" },
	};
	static const char *text =
	    "Dear friend,\n\nThis line is long enough that format=flowed "
	    "has to wrap it at seventy-two characters, with \xe2\x80\x9c" "curly "
	    "quotes\xe2\x80\x9d and an ellipsis\xe2\x80\xa6 and an en dash \xe2\x80\x93 "
	    "here.\n>Not a quote.\nFrom the start.\n  Indented line.\n"
	    "=== equals === and trailing tab\tx\n-- \nThe desk\n";
	static const char *html =
	    "<!doctype html><html><body><p style=\"color:#222\">Dear friend,</p>"
	    "<p>A \xe2\x80\x9cquoted\xe2\x80\x9d paragraph\xe2\x80\xa6 that is long enough "
	    "to need soft line breaks in quoted-printable because it is over "
	    "seventy-six characters =&gt; yes.</p>\n</body></html>\n";
	struct mime_msg		 m;
	struct statement	 st;
	char			 err[256], *src;
	size_t			 i, len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		base_msg(&m);
		m.to_name = t[i].name;
		m.from_name = t[i].name;
		m.subject = t[i].title;
		m.text = text;
		m.textlen = strlen(text);
		m.html = html;
		m.htmllen = strlen(html);
		m.list_unsubscribe_mailto = "unsubscribe@example.org";
		write_case(dir, t[i].case_name, &m);
	}

	if ((src = read_file("tests/fixtures/statement-plain.txt", &len)) ==
	    NULL) {
		printf("FAIL cannot read tests/fixtures/statement-plain.txt\n");
		unit_fail++;
		return;
	}
	if (statement_parse(src, len, 0, &st, err, sizeof(err)) == -1) {
		printf("FAIL statement fixture: %s\n", err);
		unit_fail++;
		free(src);
		return;
	}
	base_msg(&m);
	m.subject = st.title;
	m.text = st.text;
	m.textlen = st.textlen;
	m.html = st.html;
	m.htmllen = st.htmllen;
	write_case(dir, "statement", &m);
	statement_free(&st);
	free(src);
}

int
main(void)
{
	const char	*dir;

	test_qp();
	test_qp_random();
	test_flowed();
	test_flowed_random();
	test_phrase();
	test_words();
	test_subject_ascii();
	test_injection();
	test_message_golden();
	if ((dir = getenv("MIME_OUT")) != NULL && *dir != '\0')
		write_messages(dir);
	return unit_done("mime");
}
