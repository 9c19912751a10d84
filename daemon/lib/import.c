/*
 * import.c -- streaming subscriber CSV reader on top of libcsv; see
 * import.h for the contract.
 *
 * Input is handed to libcsv one physical line at a time (a chunk is cut
 * after each LF, and after each CR), so the line number is known whenever
 * libcsv calls back, and a syntax error can be resynchronised at the end
 * of the line.  libcsv
 * keeps the field being parsed in its own buffer; a realloc hook caps that
 * buffer just above IMPORT_FIELD_MAX, and when libcsv reports the refusal
 * the field is marked too long and the buffer emptied in place, so an
 * oversized field streams through in constant memory.  That last step
 * edits struct csv_parser, whose fields csv.h declares publicly (libcsv
 * 3.0.x); libcsv keeps its state there between calls and resumes from it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "addr.h"
#include "buf.h"
#include "import.h"
#include "lang.h"

/* libcsv's buffer: the field, one octet to detect overflow, the NUL. */
#define IMPORT_CSVBUF_MAX	(IMPORT_FIELD_MAX + 2)
#define IMPORT_REASON_MAX	512

struct import {
	struct csv_parser	 csv;
	import_row_cb		 row_cb;
	import_err_cb		 err_cb;
	void			*arg;

	unsigned long		 line;		/* current physical line */
	unsigned long		 rec_line;	/* where the record started */
	int			 in_record;
	int			 skip_line;	/* resync after syntax error */
	int			 partial_line;	/* octets after the last LF */
	unsigned int		 bom_len;	/* BOM octets matched */
	int			 bom_done;
	int			 dead;
	int			 finished;

	/* Header. */
	int			 have_header;
	size_t			 ncols;
	size_t			 col_email;
	size_t			 col_name;	/* ncols when absent */
	size_t			 col_lang;	/* ncols when absent */
	struct buf		 names;		/* column names, NUL-separated */
	size_t			 name_off[IMPORT_COLUMNS_MAX];
	struct import_field	*fields;
	size_t			 nfields;

	/* Current record: each field's octets then a NUL, in rec. */
	struct buf		 rec;
	size_t			 nrec;		/* fields seen */
	size_t			 off[IMPORT_COLUMNS_MAX];
	size_t			 len[IMPORT_COLUMNS_MAX];
	int			 too_long;	/* field being parsed */
	size_t			 long_col;	/* first too long, + 1 */

	unsigned long		 rows_ok;
	unsigned long		 rows_bad;
	char			 error[IMPORT_REASON_MAX];
};

static const unsigned char import_bom[3] = { 0xef, 0xbb, 0xbf };

static void	*import_csv_realloc(void *, size_t);
static void	 import_fatal(struct import *, unsigned long, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 import_bad(struct import *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 import_on_field(void *, size_t, void *);
static void	 import_on_record(int, void *);
static void	 import_header(struct import *);
static void	 import_row(struct import *);
static void	 import_record_reset(struct import *);
static int	 import_bytes(struct import *, const char *, size_t);
static void	 import_trim(const char **, size_t *);
static const char *import_colname(struct import *, size_t, char *, size_t);

/*
 * libcsv grows its field buffer through this; refusing keeps a field from
 * taking more than IMPORT_CSVBUF_MAX octets.
 */
static void *
import_csv_realloc(void *p, size_t size)
{
	if (size > IMPORT_CSVBUF_MAX)
		return NULL;
	return realloc(p, size);
}

static void
import_fatal(struct import *im, unsigned long line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(im->error, sizeof(im->error), fmt, ap);
	va_end(ap);
	im->dead = 1;
	if (im->err_cb != NULL)
		im->err_cb(line, im->error, im->arg);
}

static void
import_bad(struct import *im, const char *fmt, ...)
{
	char	 reason[IMPORT_REASON_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	im->rows_bad++;
	if (im->err_cb != NULL)
		im->err_cb(im->rec_line, reason, im->arg);
}

struct import *
import_new(import_row_cb row_cb, import_err_cb err_cb, void *arg)
{
	struct import	*im;

	if ((im = calloc(1, sizeof(*im))) == NULL)
		return NULL;
	/*
	 * Strict RFC 4180 quoting; an unterminated quote at the end is an
	 * error.  Spaces around fields are trimmed by libcsv (and again by
	 * us for quoted ones), which also accepts `a, "b, c"`.
	 */
	if (csv_init(&im->csv, CSV_STRICT | CSV_STRICT_FINI |
	    CSV_APPEND_NULL) != 0) {
		free(im);
		return NULL;
	}
	csv_set_realloc_func(&im->csv, import_csv_realloc);
	csv_set_blk_size(&im->csv, 4096);
	im->row_cb = row_cb;
	im->err_cb = err_cb;
	im->arg = arg;
	im->line = 1;
	return im;
}

void
import_free(struct import *im)
{
	if (im == NULL)
		return;
	csv_free(&im->csv);
	buf_free(&im->names);
	buf_free(&im->rec);
	free(im->fields);
	free(im);
}

const char *
import_error(const struct import *im)
{
	return im->error;
}

unsigned long
import_rows_ok(const struct import *im)
{
	return im->rows_ok;
}

unsigned long
import_rows_bad(const struct import *im)
{
	return im->rows_bad;
}

unsigned long
import_lines(const struct import *im)
{
	return im->line - 1 + (im->partial_line ? 1 : 0);
}

static void
import_record_reset(struct import *im)
{
	im->nrec = 0;
	im->rec.len = 0;
	im->too_long = 0;
	im->long_col = 0;
	im->in_record = 0;
}

static void
import_on_field(void *s, size_t len, void *arg)
{
	struct import	*im = arg;
	size_t		 col, max;

	if (im->dead)
		return;
	if (im->nrec == 0 && !im->in_record) {
		/* A record after a lone CR starts on this line. */
		im->in_record = 1;
		im->rec_line = im->line;
	}
	col = im->nrec++;
	if (im->too_long || len > IMPORT_FIELD_MAX) {
		if (im->long_col == 0)
			im->long_col = col + 1;
		im->too_long = 0;
		len = 0;
	}
	max = im->have_header ? im->ncols : IMPORT_COLUMNS_MAX;
	if (col >= max)
		return;		/* counted, not kept */
	im->off[col] = im->rec.len;
	im->len[col] = len;
	buf_add_fast(&im->rec, s, len);
	buf_add_fast(&im->rec, "", 1);
}

static void
import_on_record(int c, void *arg)
{
	struct import	*im = arg;

	(void)c;
	if (im->dead)
		return;
	if (!im->have_header)
		import_header(im);
	else
		import_row(im);
	import_record_reset(im);
}

static void
import_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/*
 * The name of column col for a message: as in the header, or its number
 * when the record has more columns than the header.
 */
static const char *
import_colname(struct import *im, size_t col, char *num, size_t numlen)
{
	if (col < im->ncols)
		return im->names.p + im->name_off[col];
	snprintf(num, numlen, "%zu", col + 1);
	return num;
}

static void
import_header(struct import *im)
{
	size_t		 i, j, len, noff[IMPORT_COLUMNS_MAX];
	size_t		 nlen[IMPORT_COLUMNS_MAX];
	const char	*s, *base;
	int		 email = -1, name = -1, lang = -1;

	if (im->long_col != 0) {
		import_fatal(im, im->rec_line, "header: column %zu over %d "
		    "octets", im->long_col, IMPORT_FIELD_MAX);
		return;
	}
	if (im->nrec > IMPORT_COLUMNS_MAX) {
		import_fatal(im, im->rec_line, "header: more than %d columns",
		    IMPORT_COLUMNS_MAX);
		return;
	}
	for (i = 0; i < im->nrec; i++) {
		s = im->rec.p + im->off[i];
		len = im->len[i];
		if (!text_header_safe(s, len) || !utf8_valid(s, len)) {
			import_fatal(im, im->rec_line, "header: column %zu is "
			    "not one line of UTF-8 text", i + 1);
			return;
		}
		import_trim(&s, &len);
		if (len == 0) {
			import_fatal(im, im->rec_line,
			    "header: column %zu has no name", i + 1);
			return;
		}
		noff[i] = s - im->rec.p;
		nlen[i] = len;
		for (j = 0; j < i; j++) {
			if (nlen[j] == len &&
			    strncasecmp(im->rec.p + noff[j], s, len) == 0) {
				import_fatal(im, im->rec_line, "header: "
				    "duplicate column '%.*s'", (int)len, s);
				return;
			}
		}
		if (len == 5 && strncasecmp(s, "email", 5) == 0)
			email = i;
		else if (len == 4 && strncasecmp(s, "name", 4) == 0)
			name = i;
		else if (len == 4 && strncasecmp(s, "lang", 4) == 0)
			lang = i;
	}
	if (email == -1) {
		import_fatal(im, im->rec_line, "header: no email column");
		return;
	}

	im->ncols = im->nrec;
	im->col_email = email;
	im->col_name = name == -1 ? im->ncols : (size_t)name;
	im->col_lang = lang == -1 ? im->ncols : (size_t)lang;
	im->nfields = im->ncols - 1 - (name == -1 ? 0 : 1) -
	    (lang == -1 ? 0 : 1);
	if (im->nfields > 0 &&
	    (im->fields = calloc(im->nfields, sizeof(*im->fields))) == NULL) {
		import_fatal(im, im->rec_line, "out of memory");
		return;
	}
	for (i = 0; i < im->ncols; i++) {
		im->name_off[i] = im->names.len;
		buf_add(&im->names, im->rec.p + noff[i], nlen[i]);
		buf_addc(&im->names, '\0');
	}
	/* The names buffer is complete: pointers into it stay valid. */
	base = im->names.p;
	for (i = 0, j = 0; i < im->ncols; i++) {
		if (i != im->col_email && i != im->col_name &&
		    i != im->col_lang) {
			im->fields[j].name = base;
			im->fields[j].namelen = nlen[i];
			j++;
		}
		base += nlen[i] + 1;
	}
	im->have_header = 1;
}

static void
import_row(struct import *im)
{
	struct import_row	 r;
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[128];
	char			 num[32], tag[LANG_MAX];
	const char		*s;
	size_t			 i, j, len, shown;
	int			 empty = 1, plain;

	for (i = 0; i < im->nrec && i < im->ncols; i++)
		if (im->len[i] != 0)
			empty = 0;
	if (empty && im->long_col == 0 && im->nrec <= im->ncols)
		return;		/* blank line or ",,," */

	if (im->long_col != 0) {
		import_bad(im, "column '%s' over %d octets",
		    import_colname(im, im->long_col - 1, num, sizeof(num)),
		    IMPORT_FIELD_MAX);
		return;
	}
	if (im->nrec != im->ncols) {
		import_bad(im, "%zu columns, header has %zu", im->nrec,
		    im->ncols);
		return;
	}
	for (i = 0; i < im->ncols; i++) {
		s = im->rec.p + im->off[i];
		len = im->len[i];
		if (memchr(s, '\0', len) != NULL) {
			import_bad(im, "NUL byte in column '%s'",
			    import_colname(im, i, num, sizeof(num)));
			return;
		}
		if (memchr(s, '\n', len) != NULL ||
		    memchr(s, '\r', len) != NULL) {
			import_bad(im, "line break in column '%s'",
			    import_colname(im, i, num, sizeof(num)));
			return;
		}
		if (!utf8_valid(s, len)) {
			import_bad(im, "invalid UTF-8 in column '%s'",
			    import_colname(im, i, num, sizeof(num)));
			return;
		}
	}

	s = im->rec.p + im->off[im->col_email];
	if (addr_normalize(s, addr, sizeof(addr), err, sizeof(err)) == -1) {
		len = im->len[im->col_email];
		import_trim(&s, &len);
		/* Quote the address only when it is harmless to print. */
		plain = 1;
		for (i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				plain = 0;
		if (plain && len > 0) {
			shown = len > 100 ? 100 : len;
			while (shown < len && shown > 0 &&
			    ((unsigned char)s[shown] & 0xc0) == 0x80)
				shown--;
			import_bad(im, "invalid address '%.*s%s': %s",
			    (int)shown, s, shown < len ? "..." : "", err);
		} else
			import_bad(im, "invalid address: %s", err);
		return;
	}
	addr_key(addr, key, sizeof(key));

	memset(&r, 0, sizeof(r));
	r.line = im->rec_line;
	r.addr = addr;
	r.key = key;
	r.name = "";
	if (im->col_name < im->ncols) {
		s = im->rec.p + im->off[im->col_name];
		len = im->len[im->col_name];
		import_trim(&s, &len);
		((char *)s)[len] = '\0';
		r.name = s;
		r.namelen = len;
	}
	r.lang = "";
	if (im->col_lang < im->ncols) {
		s = im->rec.p + im->off[im->col_lang];
		len = im->len[im->col_lang];
		import_trim(&s, &len);
		((char *)s)[len] = '\0';
		if (len > 0 && lang_norm(s, tag, sizeof(tag)) == -1) {
			import_bad(im, "lang '%.20s' is not a language tag "
			    "(es, pt-BR, ar...)", s);
			return;
		}
		r.lang = len > 0 ? tag : "";
	}
	for (i = 0, j = 0; i < im->ncols; i++) {
		if (i == im->col_email || i == im->col_name ||
		    i == im->col_lang)
			continue;
		s = im->rec.p + im->off[i];
		len = im->len[i];
		import_trim(&s, &len);
		((char *)s)[len] = '\0';
		im->fields[j].value = s;
		im->fields[j].valuelen = len;
		j++;
	}
	r.fields = im->fields;
	r.nfields = im->nfields;
	if (im->row_cb != NULL && im->row_cb(&r, im->arg) == -1) {
		im->dead = 1;
		snprintf(im->error, sizeof(im->error), "import aborted");
		return;
	}
	im->rows_ok++;
}

/*
 * Hand s[0..len) to libcsv, one physical line at a time.
 */
static int
import_bytes(struct import *im, const char *s, size_t len)
{
	const char	*end = s + len, *nl, *cr, *seg, *q;
	size_t		 n, k;
	int		 status;

	while (s < end) {
		/*
		 * One line per call; a CR also ends the call, so that a
		 * record following a lone CR is seen to start here too.
		 */
		nl = memchr(s, '\n', end - s);
		seg = nl != NULL ? nl + 1 : end;
		if ((cr = memchr(s, '\r', seg - s)) != NULL && cr + 1 < seg)
			seg = cr + 1;
		if (im->skip_line)
			goto next;
		if (!im->in_record) {
			for (q = s; q < seg; q++) {
				if (*q != ' ' && *q != '\t' && *q != '\r' &&
				    *q != '\n') {
					im->in_record = 1;
					im->rec_line = im->line;
					break;
				}
			}
		}
		for (q = s; q < seg; q += n) {
			n = csv_parse(&im->csv, q, seg - q, import_on_field,
			    import_on_record, im);
			if (im->dead)
				return -1;
			if (q + n == seg)
				break;
			status = csv_error(&im->csv);
			if (status == CSV_ENOMEM &&
			    im->csv.entry_pos > IMPORT_FIELD_MAX) {
				/*
				 * Field too long: keep its last few octets
				 * (libcsv strips the trailing spaces and the
				 * closing quote from them) and go on.
				 */
				im->too_long = 1;
				if (im->csv.spaces > 15)
					im->csv.spaces = 15;
				k = im->csv.spaces + 1;
				if (k > im->csv.entry_pos)
					k = im->csv.entry_pos;
				memmove(im->csv.entry_buf, im->csv.entry_buf +
				    im->csv.entry_pos - k, k);
				im->csv.entry_pos = k;
				im->csv.status = 0;
				continue;
			}
			if (status == CSV_EPARSE) {
				if (!im->have_header) {
					import_fatal(im, im->rec_line,
					    "header: CSV syntax error (stray "
					    "quote)");
					return -1;
				}
				import_bad(im, "CSV syntax error (stray quote)"
				    ", rest of line skipped");
				/* Drop the partial record, resume after LF. */
				csv_fini(&im->csv, NULL, NULL, NULL);
				import_record_reset(im);
				im->skip_line = 1;
				goto next;
			}
			import_fatal(im, im->line, "CSV parser: %s",
			    csv_strerror(status));
			return -1;
		}
 next:
		if (seg[-1] == '\n') {
			im->line++;
			im->partial_line = 0;
		} else
			im->partial_line = 1;
		if (seg[-1] == '\n' || seg[-1] == '\r')
			im->skip_line = 0;
		s = seg;
	}
	return 0;
}

int
import_feed(struct import *im, const char *s, size_t len)
{
	const char	*end = s + len;

	if (im->dead || im->finished)
		return -1;
	/* A BOM may arrive split over several chunks. */
	while (!im->bom_done && s < end) {
		if ((unsigned char)*s == import_bom[im->bom_len]) {
			s++;
			if (++im->bom_len == sizeof(import_bom))
				im->bom_done = 1;
			continue;
		}
		im->bom_done = 1;
		/* Not a BOM after all: those octets were data. */
		if (im->bom_len > 0 && import_bytes(im,
		    (const char *)import_bom, im->bom_len) == -1)
			return -1;
	}
	return import_bytes(im, s, end - s);
}

int
import_finish(struct import *im)
{
	if (im->dead || im->finished)
		return -1;
	if (!im->bom_done) {
		im->bom_done = 1;
		if (im->bom_len > 0 && import_bytes(im,
		    (const char *)import_bom, im->bom_len) == -1)
			return -1;
	}
	im->finished = 1;
	if (!im->skip_line && csv_fini(&im->csv, import_on_field,
	    import_on_record, im) != 0) {
		if (im->dead)
			return -1;
		if (!im->have_header) {
			import_fatal(im, im->rec_line, "header: CSV syntax "
			    "error (quoted field not closed)");
			return -1;
		}
		import_bad(im, "CSV syntax error (quoted field not closed at "
		    "end of input)");
		import_record_reset(im);
	}
	if (im->dead)
		return -1;
	if (!im->have_header) {
		import_fatal(im, 1, "no header row");
		return -1;
	}
	return 0;
}

static void
json_str(struct buf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, run = 0;
	unsigned char		 c;

	buf_addc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4],
			    hex[c & 15] };
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + run, len - run);
	buf_addc(b, '"');
}

void
import_fields_json(const struct import_row *row, struct buf *b)
{
	size_t	i;

	buf_reset(b);
	buf_addc(b, '{');
	for (i = 0; i < row->nfields; i++) {
		if (i > 0)
			buf_addc(b, ',');
		json_str(b, row->fields[i].name, row->fields[i].namelen);
		buf_addc(b, ':');
		json_str(b, row->fields[i].value, row->fields[i].valuelen);
	}
	buf_addc(b, '}');
}
