/*
 * mime.c -- RFC 5322 / MIME message assembly: RFC 2047 encoded-words,
 * display-name quoting, quoted-printable, format=flowed; see mime.h.
 *
 * The body encoders run once per recipient over the whole rendered body,
 * so they are table-driven and copy runs of plain bytes with memcpy.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "utf8.h"

struct mime_common {
	struct buf	 b;
	size_t		 from_end;	/* "From: ...\r\n" is b.p[0..from_end) */
	size_t		 subj_end;	/* "Subject: ...\r\n" */
	size_t		 mid_end;	/* MIME-Version, Reply-To, List-Id */
	size_t		 ct_end;	/* List-Unsubscribe-Post .. text part head */
	size_t		 html_end;	/* boundary, html part head */
	/* then the closing delimiter up to b.len */
	char		 boundary[MIME_BOUNDARY_MAX + 1];
	size_t		 boundarylen;
	int		 qpsafe;	/* boundary holds "=_": QP cannot emit it */
};

static const char hexdig[] = "0123456789ABCDEF";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char *wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
    "Sat" };
static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Quoted-printable classes. */
#define QP_LIT	0	/* copied as is */
#define QP_ESC	1	/* =XX */
#define QP_LF	2
#define QP_CR	3
#define QP_WS	4	/* space, tab: literal unless at a line end */

static unsigned char	qp_class[256];
static unsigned char	qp_plain[256];	/* QP_LIT or QP_WS */
static char		qp_hex[256][3];
static unsigned char	q_safe[256];	/* RFC 2047 Q, phrase context */
static unsigned char	atext[256];	/* RFC 5322 atext */
static int		tables_ready;

static void
mime_tables(void)
{
	int	 c;

	if (tables_ready)
		return;
	for (c = 0; c < 256; c++) {
		if (c >= 33 && c <= 126 && c != '=')
			qp_class[c] = QP_LIT;
		else
			qp_class[c] = QP_ESC;
		qp_hex[c][0] = '=';
		qp_hex[c][1] = hexdig[c >> 4];
		qp_hex[c][2] = hexdig[c & 15];
		q_safe[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '!' || c == '*' ||
		    c == '+' || c == '-' || c == '/';
		atext[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~",
		    c) != NULL);
	}
	qp_class['\n'] = QP_LF;
	qp_class['\r'] = QP_CR;
	qp_class[' '] = QP_WS;
	qp_class['\t'] = QP_WS;
	for (c = 0; c < 256; c++)
		qp_plain[c] = qp_class[c] == QP_LIT || qp_class[c] == QP_WS;
	/* Benign race: every thread writes the same values. */
	tables_ready = 1;
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
mime_check_header(const char *name, const char *s, size_t len, char *err,
    size_t errlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			seterr(err, errlen, "%s: CR or LF in header value",
			    name);
			return -1;
		}
		if (p[i] == '\0') {
			seterr(err, errlen, "%s: NUL in header value", name);
			return -1;
		}
		if (p[i] >= 0x80) {
			if ((k = utf8_seq(p + i, len - i)) == 0) {
				seterr(err, errlen, "%s: invalid UTF-8", name);
				return -1;
			}
			i += k - 1;
		}
	}
	return 0;
}

/* ASCII token without white space, controls, '<', '>'; what an address,
 * a list id or a Message-ID may hold. */
static int
check_token(const char *name, const char *what, const char *s, int needat,
    char *err, size_t errlen)
{
	const unsigned char	*p;

	if (s == NULL || *s == '\0') {
		seterr(err, errlen, "%s: empty %s", name, what);
		return -1;
	}
	if (mime_check_header(name, s, strlen(s), err, errlen) == -1)
		return -1;
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>') {
			seterr(err, errlen, "%s: bad character in %s "
			    "(0x%02x)", name, what, *p);
			return -1;
		}
	}
	if (needat && strchr(s, '@') == NULL) {
		seterr(err, errlen, "%s: %s without @", name, what);
		return -1;
	}
	if (strlen(s) > MIME_LINE_MAX - 40) {
		seterr(err, errlen, "%s: %s too long", name, what);
		return -1;
	}
	return 0;
}

int
mime_check_addr(const char *name, const char *addr, char *err, size_t errlen)
{
	return check_token(name, "address", addr, 1, err, errlen);
}

/*
 * RFC 2047 encoded-words.
 */

#define WORD_OVERHEAD	12	/* "=?UTF-8?Q?" "?=" */

size_t
mime_encode_word(struct buf *out, const char *s, size_t len, int enc,
    size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 room, used, i, k, j, cost, nbytes;
	unsigned		 v;
	char			*o;

	mime_tables();
	if (len == 0)
		return 0;
	if (max > MIME_WORD_MAX)
		max = MIME_WORD_MAX;
	room = max > WORD_OVERHEAD ? max - WORD_OVERHEAD : 0;
	i = 0;
	if (enc == 'B' || enc == 'b') {
		nbytes = room / 4 * 3;
		while (i < len) {
			if ((k = utf8_seq(p + i, len - i)) == 0)
				k = 1;
			if (i + k > nbytes && i > 0)
				break;
			i += k;
		}
		buf_grow(out, WORD_OVERHEAD + (i + 2) / 3 * 4);
		o = out->p + out->len;
		memcpy(o, "=?UTF-8?B?", 10);
		o += 10;
		for (j = 0; j + 3 <= i; j += 3) {
			v = p[j] << 16 | p[j + 1] << 8 | p[j + 2];
			*o++ = b64[v >> 18];
			*o++ = b64[(v >> 12) & 63];
			*o++ = b64[(v >> 6) & 63];
			*o++ = b64[v & 63];
		}
		if (i - j == 1) {
			v = p[j] << 16;
			*o++ = b64[v >> 18];
			*o++ = b64[(v >> 12) & 63];
			*o++ = '=';
			*o++ = '=';
		} else if (i - j == 2) {
			v = p[j] << 16 | p[j + 1] << 8;
			*o++ = b64[v >> 18];
			*o++ = b64[(v >> 12) & 63];
			*o++ = b64[(v >> 6) & 63];
			*o++ = '=';
		}
		*o++ = '?';
		*o++ = '=';
		out->len = o - out->p;
		*o = '\0';
		return i;
	}
	buf_add(out, "=?UTF-8?Q?", 10);
	used = 0;
	while (i < len) {
		if ((k = utf8_seq(p + i, len - i)) == 0)
			k = 1;
		cost = 0;
		for (j = 0; j < k; j++)
			cost += (q_safe[p[i + j]] || p[i + j] == ' ') ? 1 : 3;
		if (used + cost > room && i > 0)
			break;
		for (j = 0; j < k; j++) {
			if (p[i + j] == ' ')
				buf_addc(out, '_');
			else if (q_safe[p[i + j]])
				buf_addc(out, p[i + j]);
			else
				buf_add(out, qp_hex[p[i + j]], 3);
		}
		used += cost;
		i += k;
	}
	buf_add(out, "?=", 2);
	return i;
}

/* Q unless it is over 5/4 of B: Latin text stays readable. */
static int
word_enc(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 q = 0, i;

	mime_tables();
	for (i = 0; i < len; i++)
		q += (q_safe[p[i]] || p[i] == ' ') ? 1 : 3;
	return q * 4 <= (len + 2) / 3 * 4 * 5 ? 'Q' : 'B';
}

/* The whole value as encoded-words, folded between them. */
static void
hdr_words(struct buf *out, size_t *col, const char *s, size_t len)
{
	size_t	 i, k, max, before;
	int	 enc;

	enc = word_enc(s, len);
	for (i = 0; i < len; i += k) {
		if (i > 0) {
			buf_add(out, "\r\n ", 3);
			*col = 1;
		}
		max = MIME_LINE_SOFT > *col ? MIME_LINE_SOFT - *col : 0;
		if (max > MIME_WORD_MAX)
			max = MIME_WORD_MAX;
		if (max < 24)
			max = 24;
		before = out->len;
		k = mime_encode_word(out, s + i, len - i, enc, max);
		*col += out->len - before;
	}
}

/* Does the value need encoded-words? */
static int
needs_words(const char *s, size_t len, size_t col)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, word = 0;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return 1;
		if (p[i] == '=' && i + 1 < len && p[i + 1] == '?')
			return 1;
		/* a fold goes before a run of spaces, which stays with
		 * the word after it: count them together */
		if (p[i] == ' ' && i > 0 && p[i - 1] != ' ')
			word = 0;
		if (++word + col + 1 > MIME_LINE_MAX)
			return 1;
	}
	return 0;
}

/* ASCII text folded at spaces: a fold goes before a space, which stays. */
static void
hdr_fold_ascii(struct buf *out, size_t *col, const char *s, size_t len)
{
	size_t	 i, j;

	i = 0;
	while (i < len) {
		j = i;
		while (j < len && s[j] == ' ')
			j++;
		while (j < len && s[j] != ' ')
			j++;
		if (i > 0 && *col + (j - i) > MIME_LINE_SOFT) {
			buf_add(out, "\r\n", 2);
			*col = 0;
		}
		buf_add(out, s + i, j - i);
		*col += j - i;
		i = j;
	}
}

static int
hdr_text(struct buf *out, size_t *col, const char *name, const char *s,
    char *err, size_t errlen)
{
	size_t	 len;

	if (s == NULL)
		s = "";
	len = strlen(s);
	if (mime_check_header(name, s, len, err, errlen) == -1)
		return -1;
	if (needs_words(s, len, *col))
		hdr_words(out, col, s, len);
	else
		hdr_fold_ascii(out, col, s, len);
	return 0;
}

int
mime_header_text(struct buf *out, size_t col, const char *s, char *err,
    size_t errlen)
{
	return hdr_text(out, &col, "header", s, err, errlen);
}

static int
hdr_phrase(struct buf *out, size_t *col, const char *name, const char *s,
    char *err, size_t errlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len, i, qlen;
	int			 atoms;

	mime_tables();
	len = strlen(s);
	if (mime_check_header(name, s, len, err, errlen) == -1)
		return -1;
	if (len == 0)
		return 0;
	if (needs_words(s, len, *col)) {
		hdr_words(out, col, s, len);
		return 0;
	}
	/* Atoms separated by single spaces survive a parse unchanged. */
	atoms = p[0] != ' ' && p[len - 1] != ' ';
	qlen = 2;
	for (i = 0; i < len; i++) {
		if (p[i] == ' ') {
			if (i > 0 && p[i - 1] == ' ')
				atoms = 0;
		} else if (!atext[p[i]])
			atoms = 0;
		qlen += (p[i] == '"' || p[i] == '\\') ? 2 : 1;
	}
	if (atoms) {
		hdr_fold_ascii(out, col, s, len);
		return 0;
	}
	if (*col + qlen > MIME_LINE_SOFT) {
		/* A quoted-string cannot be folded safely; words can. */
		hdr_words(out, col, s, len);
		return 0;
	}
	buf_grow(out, qlen);
	buf_addc(out, '"');
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, p[i]);
	}
	buf_addc(out, '"');
	*col += qlen;
	return 0;
}

int
mime_header_phrase(struct buf *out, size_t col, const char *s, char *err,
    size_t errlen)
{
	if (s == NULL)
		return 0;
	return hdr_phrase(out, &col, "display name", s, err, errlen);
}

/* "phrase <addr>" or "addr"; the token is an address or a list id. */
static int
hdr_named(struct buf *out, size_t *col, const char *name, const char *phrase,
    size_t phraselen, const char *tok, size_t toklen)
{
	size_t	 start = out->len;
	char	*ph = NULL;
	int	 r;

	if (phraselen == 0) {
		buf_add(out, tok, toklen);
		*col += toklen;
		return 0;
	}
	if ((ph = strndup(phrase, phraselen)) == NULL)
		abort();
	r = hdr_phrase(out, col, name, ph, NULL, 0);
	free(ph);
	if (r == -1) {
		buf_truncate(out, start);
		return -1;
	}
	if (*col + 3 + toklen > MIME_LINE_SOFT) {
		buf_add(out, "\r\n", 2);
		*col = 0;
	}
	buf_add(out, " <", 2);
	buf_add(out, tok, toklen);
	buf_addc(out, '>');
	*col += 3 + toklen;
	return 0;
}

static int
hdr_mailbox(struct buf *out, size_t *col, const char *field,
    const char *name, const char *addr, char *err, size_t errlen)
{
	size_t	 nlen;

	if (mime_check_addr(field, addr, err, errlen) == -1)
		return -1;
	if (name == NULL)
		name = "";
	nlen = strlen(name);
	if (mime_check_header(field, name, nlen, err, errlen) == -1)
		return -1;
	return hdr_named(out, col, field, name, nlen, addr, strlen(addr));
}

int
mime_header_mailbox(struct buf *out, size_t col, const char *name,
    const char *addr, char *err, size_t errlen)
{
	return hdr_mailbox(out, &col, "mailbox", name, addr, err, errlen);
}

/*
 * Split "Name <tok>" (name optional, possibly "quoted") or "tok".
 * Returns -1 on a malformed value.
 */
static int
split_named(const char *s, const char **name, size_t *namelen,
    const char **tok, size_t *toklen)
{
	const char	*lt, *e;
	size_t		 len = strlen(s);

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	if (len == 0)
		return -1;
	if (s[len - 1] != '>') {
		*name = s;
		*namelen = 0;
		*tok = s;
		*toklen = len;
		return 0;
	}
	if ((lt = memrchr(s, '<', len)) == NULL)
		return -1;
	*tok = lt + 1;
	*toklen = s + len - 1 - (lt + 1);
	e = lt;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - s >= 2 && *s == '"' && e[-1] == '"') {
		s++;
		e--;
	}
	*name = s;
	*namelen = e - s;
	return 0;
}

static int
hdr_named_value(struct buf *out, size_t *col, const char *field,
    const char *value, int needat, char *err, size_t errlen)
{
	const char	*name, *tok;
	size_t		 namelen, toklen;
	char		*t;
	int		 r;

	if (value == NULL) {
		seterr(err, errlen, "%s: missing", field);
		return -1;
	}
	if (mime_check_header(field, value, strlen(value), err, errlen) == -1)
		return -1;
	if (split_named(value, &name, &namelen, &tok, &toklen) == -1) {
		seterr(err, errlen, "%s: malformed \"%s\"", field, value);
		return -1;
	}
	if ((t = strndup(tok, toklen)) == NULL)
		abort();
	r = check_token(field, needat ? "address" : "id", t, needat, err,
	    errlen);
	free(t);
	if (r == -1)
		return -1;
	return hdr_named(out, col, field, name, namelen, tok, toklen);
}

void
mime_date(struct buf *out, time_t t)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * Body encoders.
 */

/* Is p[i] the end of a line: end of input, LF or CRLF? */
static inline int
at_eol(const unsigned char *p, size_t i, size_t n)
{
	return i >= n || p[i] == '\n' ||
	    (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n');
}

void
mime_qp(struct buf *out, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, j, k, col, room;
	int			 ws_end;
	char			*o;

	mime_tables();
	/* Worst case: 3 octets per byte plus a soft break per 25 bytes. */
	buf_grow(out, n * 3 + n / 8 + 8);
	o = out->p + out->len;
	col = 0;
	i = 0;
	while (i < n) {
		switch (qp_class[p[i]]) {
		case QP_LIT:
		case QP_WS:
			j = i;
			while (j < n && qp_plain[p[j]])
				j++;
			/* White space before a line end must be escaped. */
			ws_end = qp_class[p[j - 1]] == QP_WS && at_eol(p, j, n);
			if (ws_end)
				j--;
			while (i < j) {
				room = MIME_QP_LINE - 1 - col;
				k = j - i;
				if (k > room && !(k == room + 1 && !ws_end &&
				    at_eol(p, j, n))) {
					memcpy(o, p + i, room);
					o += room;
					i += room;
					memcpy(o, "=\r\n", 3);
					o += 3;
					col = 0;
					continue;
				}
				memcpy(o, p + i, k);
				o += k;
				col += k;
				i = j;
			}
			if (ws_end) {
				if (col + 3 > MIME_QP_LINE) {
					memcpy(o, "=\r\n", 3);
					o += 3;
					col = 0;
				}
				memcpy(o, qp_hex[p[i]], 3);
				o += 3;
				col += 3;
				i++;
			}
			break;
		case QP_CR:
			if (i + 1 < n && p[i + 1] == '\n') {
				i++;
				goto lf;
			}
			/* FALLTHROUGH */
		case QP_ESC:
			if (col + 3 > MIME_QP_LINE - 1 &&
			    !(col + 3 <= MIME_QP_LINE && at_eol(p, i + 1, n))) {
				memcpy(o, "=\r\n", 3);
				o += 3;
				col = 0;
			}
			memcpy(o, qp_hex[p[i]], 3);
			o += 3;
			col += 3;
			i++;
			break;
		case QP_LF:
 lf:
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
			i++;
			break;
		}
	}
	out->len = o - out->p;
	*o = '\0';
}

/*
 * Index of the start of character width+1 from p[pos], or n when the rest
 * holds at most width characters: a line p[pos..j) fits iff j <= limit.
 */
static inline size_t
char_limit(const unsigned char *p, size_t pos, size_t n, size_t width)
{
	size_t		 k, cols;
	unsigned	 high = 0;

	if (n - pos <= width)
		return n;
	for (k = pos; k <= pos + width; k++)	/* vectorises */
		high |= p[k];
	if (high < 0x80)
		return pos + width;
	for (cols = 0, k = pos; k < n; k++) {
		if ((p[k] & 0xc0) == 0x80)
			continue;
		if (cols == width)
			return k;
		cols++;
	}
	return n;
}

/* Can the line break before p[j]: after a run of spaces that follows
 * something other than spaces? */
static inline int
can_break(const unsigned char *p, size_t pos, size_t j)
{
	size_t	 k;

	if (j <= pos || p[j] == ' ' || p[j - 1] != ' ')
		return 0;
	for (k = j - 1; k > pos && p[k] == ' '; k--)
		;
	return p[k] != ' ';
}

static void
flowed_line(struct buf *out, const unsigned char *p, size_t n)
{
	size_t	 pos, j, lim, brk, width;
	int	 stuff;

	for (pos = 0; pos < n; pos = brk) {
		stuff = p[pos] == ' ' || p[pos] == '>' || (n - pos >= 5 &&
		    memcmp(p + pos, "From ", 5) == 0);
		/* The stuffed space counts towards the width. */
		width = MIME_FLOWED_WIDTH - stuff;
		lim = char_limit(p, pos, n, width);
		brk = n;
		if (lim < n) {
			/* The last break that fits, else the first one. */
			for (j = lim; j > pos && !can_break(p, pos, j); j--)
				;
			if (j == pos)
				for (j = lim + 1; j < n && !can_break(p, pos, j);
				    j++)
					;
			/* "-- " alone would read as a signature separator,
			 * which is never flowed: break later */
			if (j - pos == 3 && memcmp(p + pos, "-- ", 3) == 0)
				for (j++; j < n && !can_break(p, pos, j); j++)
					;
			brk = j;
		}
		buf_grow(out, brk - pos + 3);
		if (stuff)
			out->p[out->len++] = ' ';
		memcpy(out->p + out->len, p + pos, brk - pos);
		out->len += brk - pos;
		out->p[out->len++] = '\r';
		out->p[out->len++] = '\n';
	}
	out->p[out->len] = '\0';
}

void
mime_flowed(struct buf *out, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*nl;
	size_t			 i, e, len;

	buf_grow(out, n + n / 16 + 8);
	i = 0;
	while (i < n) {
		nl = memchr(p + i, '\n', n - i);
		e = nl ? (size_t)(nl - p) : n;
		len = e - i;
		if (len > 0 && p[i + len - 1] == '\r')
			len--;
		/* "-- " is the signature separator, kept as is (RFC 3676
		 * 4.3); other trailing white space would read as flowed. */
		if (!(len == 3 && memcmp(p + i, "-- ", 3) == 0))
			while (len > 0 && (p[i + len - 1] == ' ' ||
			    p[i + len - 1] == '\t'))
				len--;
		if (len == 0) {
			if (nl)
				buf_add(out, "\r\n", 2);
		} else if (len == 3 && memcmp(p + i, "-- ", 3) == 0) {
			buf_add(out, "-- ", 3);
			if (nl)
				buf_add(out, "\r\n", 2);
		} else {
			flowed_line(out, p + i, len);
			if (!nl)
				out->len -= 2;	/* no line end in the input */
		}
		i = nl ? e + 1 : n;
	}
	if (out->p != NULL)
		out->p[out->len] = '\0';
}

void
mime_text_encode(struct buf *out, const char *s, size_t n)
{
	struct buf	 tmp = BUF_INIT;

	mime_flowed(&tmp, s, n);
	mime_qp(out, tmp.p, tmp.len);
	buf_free(&tmp);
}

/*
 * Message assembly.
 */

static int
check_boundary(const char *b, char *err, size_t errlen)
{
	size_t	 i, len;

	if (b == NULL || (len = strlen(b)) == 0 || len > MIME_BOUNDARY_MAX) {
		seterr(err, errlen, "boundary: must be 1 to %d characters",
		    MIME_BOUNDARY_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!((b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= 'a' &&
		    b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
		    strchr("'()+_,-./:=?", b[i]) != NULL)) {
			seterr(err, errlen, "boundary: bad character");
			return -1;
		}
	}
	return 0;
}

static int
check_url(const char *field, const char *u, char *err, size_t errlen)
{
	const unsigned char	*p;

	if (u == NULL || *u == '\0') {
		seterr(err, errlen, "%s: missing", field);
		return -1;
	}
	if (mime_check_header(field, u, strlen(u), err, errlen) == -1)
		return -1;
	for (p = (const unsigned char *)u; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' ||
		    *p == '"') {
			seterr(err, errlen, "%s: bad character in URL (0x%02x)",
			    field, *p);
			return -1;
		}
	if (strlen(u) > MIME_LINE_MAX - 40) {
		seterr(err, errlen, "%s: URL too long", field);
		return -1;
	}
	return 0;
}

struct mime_common *
mime_common_new(const struct mime_msg *m, char *err, size_t errlen)
{
	struct mime_common	*c;
	struct buf		*b;
	size_t			 col;

	mime_tables();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	b = &c->b;
	if (check_boundary(m->boundary, err, errlen) == -1)
		goto fail;
	c->boundarylen = strlen(m->boundary);
	memcpy(c->boundary, m->boundary, c->boundarylen + 1);
	c->qpsafe = strstr(m->boundary, "=_") != NULL;

	buf_add(b, "From: ", 6);
	col = 6;
	if (hdr_mailbox(b, &col, "from", m->from_name, m->from_addr, err,
	    errlen) == -1)
		goto fail;
	buf_add(b, "\r\n", 2);
	c->from_end = b->len;

	if (m->subject == NULL || *m->subject == '\0') {
		seterr(err, errlen, "subject: empty");
		goto fail;
	}
	buf_add(b, "Subject: ", 9);
	col = 9;
	if (hdr_text(b, &col, "subject", m->subject, err, errlen) == -1)
		goto fail;
	buf_add(b, "\r\n", 2);
	c->subj_end = b->len;

	buf_addstr(b, "MIME-Version: 1.0\r\n");
	if (m->reply_to != NULL && *m->reply_to != '\0') {
		buf_add(b, "Reply-To: ", 10);
		col = 10;
		if (hdr_named_value(b, &col, "reply_to", m->reply_to, 1, err,
		    errlen) == -1)
			goto fail;
		buf_add(b, "\r\n", 2);
	}
	buf_add(b, "List-Id: ", 9);
	col = 9;
	if (hdr_named_value(b, &col, "list_id", m->list_id, 0, err,
	    errlen) == -1)
		goto fail;
	buf_add(b, "\r\n", 2);
	if (m->content_language != NULL && *m->content_language != '\0') {
		/* a language tag (RFC 3282): letters, digits and '-' */
		if (strlen(m->content_language) > 35 ||
		    strspn(m->content_language, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
		    strlen(m->content_language)) {
			seterr(err, errlen, "content_language: not a "
			    "language tag");
			goto fail;
		}
		buf_printf(b, "Content-Language: %s\r\n",
		    m->content_language);
	}
	c->mid_end = b->len;

	buf_printf(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n"
	    "\r\n--%s\r\n"
	    "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	    m->boundary, m->boundary);
	c->ct_end = b->len;
	buf_printf(b, "\r\n--%s\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	    m->boundary);
	c->html_end = b->len;
	buf_printf(b, "\r\n--%s--\r\n", m->boundary);
	return c;
 fail:
	mime_common_free(c);
	return NULL;
}

void
mime_common_free(struct mime_common *c)
{
	if (c == NULL)
		return;
	buf_free(&c->b);
	free(c);
}

/* Does "--boundary" start a line of the encoded body p[start..len)? */
static int
boundary_clash(const struct mime_common *c, const struct buf *out,
    size_t start)
{
	const char	*p = out->p + start, *e = out->p + out->len, *q;

	if (c->qpsafe)
		return 0;
	for (q = p; q < e; ) {
		if ((size_t)(e - q) >= c->boundarylen + 2 && q[0] == '-' &&
		    q[1] == '-' && memcmp(q + 2, c->boundary,
		    c->boundarylen) == 0)
			return 1;
		if ((q = memchr(q, '\n', e - q)) == NULL)
			break;
		q++;
	}
	return 0;
}

int
mime_message_common(struct buf *out, const struct mime_common *c,
    const struct mime_msg *m, char *err, size_t errlen)
{
	size_t	 start = out->len, col, body;

	buf_grow(out, c->b.len + 3 * (m->textlen + m->htmllen) + 1024);
	buf_add(out, c->b.p, c->from_end);
	buf_add(out, "To: ", 4);
	col = 4;
	if (hdr_mailbox(out, &col, "to", m->to_name, m->to_addr, err,
	    errlen) == -1)
		goto fail;
	buf_add(out, "\r\n", 2);
	buf_add(out, c->b.p + c->from_end, c->subj_end - c->from_end);
	buf_add(out, "Date: ", 6);
	mime_date(out, m->date);
	buf_add(out, "\r\nMessage-ID: <", 15);
	if (check_token("message_id", "Message-ID", m->message_id, 1, err,
	    errlen) == -1)
		goto fail;
	buf_addstr(out, m->message_id);
	buf_add(out, ">\r\n", 3);
	buf_add(out, c->b.p + c->subj_end, c->mid_end - c->subj_end);

	if (check_url("list_unsubscribe_url", m->list_unsubscribe_url, err,
	    errlen) == -1)
		goto fail;
	if (strncmp(m->list_unsubscribe_url, "https://", 8) != 0 &&
	    strncmp(m->list_unsubscribe_url, "http://", 7) != 0) {
		seterr(err, errlen, "list_unsubscribe_url: not an HTTP(S) URL");
		goto fail;
	}
	buf_add(out, "List-Unsubscribe: <", 19);
	buf_addstr(out, m->list_unsubscribe_url);
	buf_addc(out, '>');
	if (m->list_unsubscribe_mailto != NULL &&
	    *m->list_unsubscribe_mailto != '\0') {
		if (check_url("list_unsubscribe_mailto",
		    m->list_unsubscribe_mailto, err, errlen) == -1)
			goto fail;
		buf_add(out, ",\r\n <", 5);
		if (strncasecmp(m->list_unsubscribe_mailto, "mailto:", 7) != 0)
			buf_add(out, "mailto:", 7);
		buf_addstr(out, m->list_unsubscribe_mailto);
		buf_addc(out, '>');
	}
	buf_add(out, "\r\n", 2);
	buf_add(out, c->b.p + c->mid_end, c->ct_end - c->mid_end);

	body = out->len;
	if (m->flags & MIME_TEXT_ENCODED)
		buf_add(out, m->text, m->textlen);
	else
		mime_text_encode(out, m->text, m->textlen);
	if (boundary_clash(c, out, body)) {
		seterr(err, errlen, "text: body contains the boundary");
		goto fail;
	}
	buf_add(out, c->b.p + c->ct_end, c->html_end - c->ct_end);
	body = out->len;
	if (m->flags & MIME_HTML_ENCODED)
		buf_add(out, m->html, m->htmllen);
	else
		mime_qp(out, m->html, m->htmllen);
	if (boundary_clash(c, out, body)) {
		seterr(err, errlen, "html: body contains the boundary");
		goto fail;
	}
	buf_add(out, c->b.p + c->html_end, c->b.len - c->html_end);
	return 0;
 fail:
	buf_truncate(out, start);
	return -1;
}

int
mime_message(struct buf *out, const struct mime_msg *m, char *err,
    size_t errlen)
{
	struct mime_common	*c;
	int			 r;

	if ((c = mime_common_new(m, err, errlen)) == NULL)
		return -1;
	r = mime_message_common(out, c, m, err, errlen);
	mime_common_free(c);
	return r;
}
