/*
 * statement.c -- parse a statement file (plain text or Markdown) into its
 * title, byline, date and body; see statement.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmark.h>

#include "lang.h"
#include "statement.h"
#include "utf8.h"

struct line {
	const char	*p;	/* trimmed of surrounding white space */
	size_t		 len;
	const char	*raw;	/* whole line without its line end */
	size_t		 rawlen;
};

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

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n ? n : 1)) == NULL)
		abort();
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
trim(const char **p, size_t *len)
{
	while (*len > 0 && ((*p)[0] == ' ' || (*p)[0] == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t'))
		(*len)--;
}

/* Split into lines and check every byte; returns the number of lines. */
static long
split_lines(const char *buf, size_t len, struct line **linesp, char *err,
    size_t errlen)
{
	const unsigned char	*p = (const unsigned char *)buf;
	struct line		*lines;
	size_t			 i, k, start, n = 0, cap;
	long			 lineno = 1;

	cap = 16;
	lines = xmalloc(cap * sizeof(*lines));
	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '\n') {
			if (p[i] == '\0') {
				seterr(err, errlen, "line %ld: NUL byte", lineno);
				goto fail;
			}
			if (p[i] == '\r' && !(i + 1 < len && p[i + 1] == '\n')) {
				seterr(err, errlen, "line %ld: CR without LF",
				    lineno);
				goto fail;
			}
			if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r') ||
			    p[i] == 0x7f) {
				seterr(err, errlen, "line %ld: control "
				    "character 0x%02x", lineno, p[i]);
				goto fail;
			}
			if (p[i] >= 0x80) {
				if ((k = utf8_seq(p + i, len - i)) == 0) {
					seterr(err, errlen, "line %ld: invalid "
					    "UTF-8", lineno);
					goto fail;
				}
				i += k - 1;
			}
			continue;
		}
		if (i == len && start == len)
			break;		/* no line after the final LF */
		if (n == cap) {
			cap *= 2;
			if ((lines = realloc(lines, cap * sizeof(*lines))) ==
			    NULL)
				abort();
		}
		lines[n].raw = buf + start;
		lines[n].rawlen = i - start;
		if (lines[n].rawlen > 0 && buf[i - 1] == '\r')
			lines[n].rawlen--;
		lines[n].p = lines[n].raw;
		lines[n].len = lines[n].rawlen;
		trim(&lines[n].p, &lines[n].len);
		n++;
		lineno++;
		start = i + 1;
	}
	*linesp = lines;
	return n;
 fail:
	free(lines);
	return -1;
}

/*
 * Dates.
 */

static const char *month_names[] = { "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october",
    "november", "december" };
static const char *day_names[] = { "sunday", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday" };

static int
month_of(const char *w)
{
	size_t	 i, n = strlen(w);

	for (i = 0; i < 12; i++) {
		if (strcmp(w, month_names[i]) == 0)
			return i + 1;
		if ((n == 3 || (n == 4 && i == 8)) &&
		    strncmp(w, month_names[i], n) == 0)
			return i + 1;
	}
	return 0;
}

static int
is_weekday(const char *w)
{
	size_t	 i, n = strlen(w);

	for (i = 0; i < 7; i++)
		if (strcmp(w, day_names[i]) == 0 ||
		    (n == 3 && strncmp(w, day_names[i], 3) == 0))
			return 1;
	return 0;
}

/* A day of month "6", "06", "6th"; 0 when not one. */
static int
day_of(const char *w)
{
	int	 d = 0;
	size_t	 i;

	for (i = 0; isdigit((unsigned char)w[i]) && i < 2; i++)
		d = d * 10 + (w[i] - '0');
	if (i == 0)
		return 0;
	if (w[i] != '\0' && strcmp(w + i, "st") != 0 &&
	    strcmp(w + i, "nd") != 0 && strcmp(w + i, "rd") != 0 &&
	    strcmp(w + i, "th") != 0)
		return 0;
	return d;
}

static int
year_of(const char *w)
{
	int	 y = 0;
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)w[i]))
			return 0;
		y = y * 10 + (w[i] - '0');
	}
	return w[4] == '\0' && y >= 1970 ? y : 0;
}

static int
make_date(int y, int m, int d, time_t *t)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm	 tm;
	int		 max;

	if (y == 0 || m < 1 || m > 12 || d < 1)
		return -1;
	max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	if (d > max)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*t = timegm(&tm);
	return 0;
}

int
statement_parse_date(const char *s, size_t len, time_t *t)
{
	char	 copy[64], *w[5], *q;
	size_t	 i, n;
	int	 y, m, d;

	if (len == 0 || len >= sizeof(copy))
		return -1;
	for (i = 0; i < len; i++)
		copy[i] = (s[i] == ',' || s[i] == '\t') ? ' ' :
		    tolower((unsigned char)s[i]);
	copy[len] = '\0';
	n = 0;
	for (q = strtok(copy, " "); q != NULL; q = strtok(NULL, " ")) {
		if (n == 5)
			return -1;
		w[n++] = q;
	}
	if (n > 0 && is_weekday(w[0])) {
		memmove(w, w + 1, (n - 1) * sizeof(w[0]));
		n--;
	}
	if (n == 1) {
		if (strlen(w[0]) != 10 || w[0][4] != '-' || w[0][7] != '-')
			return -1;
		w[0][4] = w[0][7] = '\0';
		if (!isdigit((unsigned char)w[0][5]) ||
		    !isdigit((unsigned char)w[0][6]) ||
		    !isdigit((unsigned char)w[0][8]) ||
		    !isdigit((unsigned char)w[0][9]))
			return -1;
		y = year_of(w[0]);
		m = (w[0][5] - '0') * 10 + (w[0][6] - '0');
		d = (w[0][8] - '0') * 10 + (w[0][9] - '0');
		return make_date(y, m, d, t);
	}
	if (n != 3)
		return -1;
	if ((d = day_of(w[0])) != 0 && (m = month_of(w[1])) != 0)
		return make_date(year_of(w[2]), m, d, t);
	if ((m = month_of(w[0])) != 0 && (d = day_of(w[1])) != 0)
		return make_date(year_of(w[2]), m, d, t);
	return -1;
}

/*
 * Bodies.
 */

struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n) {
		while (b->cap - b->len <= n)
			b->cap = b->cap ? b->cap * 2 : 256;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_html(struct sbuf *b, const char *s, size_t n)
{
	size_t	 i, start = 0;
	const char	*rep;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		sb_add(b, s + start, i - start);
		sb_add(b, rep, strlen(rep));
		start = i + 1;
	}
	sb_add(b, s + start, n - start);
}

static void
add_paragraph(struct statement *st, size_t *cap, char *s)
{
	if (st->nparagraphs == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		st->paragraphs = realloc(st->paragraphs, *cap *
		    sizeof(*st->paragraphs));
		if (st->paragraphs == NULL)
			abort();
	}
	st->paragraphs[st->nparagraphs++] = s;
}

/* Plain text of a cmark subtree: text and code, soft breaks as spaces. */
static void
md_plain(cmark_node *node, struct sbuf *b)
{
	cmark_iter		*it;
	cmark_event_type	 ev;
	cmark_node		*cur;
	const char		*lit;
	size_t			 start, i;

	it = cmark_iter_new(node);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cur = cmark_iter_get_node(it);
		if (ev == CMARK_EVENT_EXIT &&
		    cmark_node_get_type(cur) <= CMARK_NODE_LAST_BLOCK) {
			/* Separate blocks (list items) by a space. */
			if (b->len > 0 && b->p[b->len - 1] != ' ')
				sb_add(b, " ", 1);
			continue;
		}
		if (ev != CMARK_EVENT_ENTER)
			continue;
		switch (cmark_node_get_type(cur)) {
		case CMARK_NODE_TEXT:
		case CMARK_NODE_CODE:
		case CMARK_NODE_CODE_BLOCK:
			if ((lit = cmark_node_get_literal(cur)) == NULL)
				break;
			/* a code block's lines are joined like soft breaks */
			start = b->len;
			sb_add(b, lit, strlen(lit));
			for (i = start; i < b->len; i++)
				if (b->p[i] == '\n')
					b->p[i] = ' ';
			break;
		case CMARK_NODE_SOFTBREAK:
		case CMARK_NODE_LINEBREAK:
			sb_add(b, " ", 1);
			break;
		default:
			break;
		}
	}
	cmark_iter_free(it);
	while (b->len > 0 && (b->p[b->len - 1] == '\n' ||
	    b->p[b->len - 1] == ' '))
		b->p[--b->len] = '\0';
}

/* A one-line Markdown value (title, byline, date) as plain text. */
static char *
md_inline(const char *s, size_t len)
{
	cmark_node	*doc;
	struct sbuf	 b = { NULL, 0, 0 };

	doc = cmark_parse_document(s, len, CMARK_OPT_DEFAULT);
	md_plain(doc, &b);
	cmark_node_free(doc);
	if (b.p == NULL)
		return xstrndup("", 0);
	return b.p;
}

static void
md_body(struct statement *st, const struct line *lines, size_t first,
    size_t end)
{
	struct sbuf	 src = { NULL, 0, 0 }, b;
	cmark_node	*doc, *child;
	size_t		 i, cap = 0;

	while (first < end && lines[first].len == 0)
		first++;
	while (end > first && lines[end - 1].len == 0)
		end--;
	for (i = first; i < end; i++) {
		sb_add(&src, lines[i].raw, lines[i].rawlen);
		sb_add(&src, "\n", 1);
	}
	if (src.p == NULL)
		sb_add(&src, "", 0);
	doc = cmark_parse_document(src.p, src.len, CMARK_OPT_DEFAULT);
	st->html = cmark_render_html(doc, CMARK_OPT_SAFE);
	st->htmllen = strlen(st->html);
	for (child = cmark_node_first_child(doc); child != NULL;
	    child = cmark_node_next(child)) {
		memset(&b, 0, sizeof(b));
		md_plain(child, &b);
		if (b.len == 0) {
			free(b.p);
			continue;
		}
		add_paragraph(st, &cap, b.p);
	}
	cmark_node_free(doc);
	st->text = src.p;
	st->textlen = src.len;
}

static void
plain_body(struct statement *st, const struct line *lines, size_t first,
    size_t end)
{
	struct sbuf	 html = { NULL, 0, 0 }, text = { NULL, 0, 0 };
	size_t		 i, cap = 0;

	for (i = first; i < end; i++) {
		if (lines[i].len == 0)
			continue;
		add_paragraph(st, &cap, xstrndup(lines[i].p, lines[i].len));
		sb_add(&html, "<p>", 3);
		sb_html(&html, lines[i].p, lines[i].len);
		sb_add(&html, "</p>\n", 5);
		if (text.len > 0)
			sb_add(&text, "\n", 1);
		sb_add(&text, lines[i].p, lines[i].len);
		sb_add(&text, "\n", 1);
	}
	sb_add(&html, "", 0);
	sb_add(&text, "", 0);
	st->html = html.p;
	st->htmllen = html.len;
	st->text = text.p;
	st->textlen = text.len;
}

/* Set a metadata field from a line's value; Markdown is reduced to text. */
static char *
meta_value(const char *s, size_t len, int markdown)
{
	if (markdown)
		return md_inline(s, len);
	return xstrndup(s, len);
}

static void
set_byline(struct statement *st, char *v)
{
	size_t	 n;

	if (strncmp(v, "By ", 3) == 0) {
		st->byline_line = v;
		st->byline = xstrndup(v + 3, strlen(v + 3));
	} else {
		st->byline = v;
		n = strlen(v);
		st->byline_line = xmalloc(n + 4);
		memcpy(st->byline_line, "By ", 3);
		memcpy(st->byline_line + 3, v, n + 1);
	}
}

static int
header_key(const struct line *l, const char **val, size_t *vallen)
{
	static const char	*keys[] = { "title", "author", "date",
				    "language" };
	const char		*colon;
	size_t			 i, klen;

	if ((colon = memchr(l->p, ':', l->len)) == NULL)
		return -1;
	klen = colon - l->p;
	for (i = 0; i < 4; i++) {
		if (klen == strlen(keys[i]) &&
		    strncasecmp(l->p, keys[i], klen) == 0) {
			*val = colon + 1;
			*vallen = l->p + l->len - *val;
			trim(val, vallen);
			return i;
		}
	}
	return -1;
}

/* Parse the header block from line 0; returns the first body line. */
static long
parse_header(struct statement *st, const struct line *lines, size_t n,
    int markdown, char *err, size_t errlen)
{
	const char	*v;
	size_t		 i, vlen;
	char		 tag[LANG_MAX];
	int		 k, seen[4] = { 0, 0, 0, 0 };

	for (i = 0; i < n && lines[i].len > 0; i++) {
		if ((k = header_key(&lines[i], &v, &vlen)) == -1) {
			seterr(err, errlen, "line %zu: expected \"Title:\", "
			    "\"Author:\", \"Date:\" or \"Language:\" in the "
			    "header block, or a blank line", i + 1);
			return -1;
		}
		if (seen[k]++) {
			seterr(err, errlen, "line %zu: repeated header", i + 1);
			return -1;
		}
		if (vlen == 0) {
			seterr(err, errlen, "line %zu: empty header value",
			    i + 1);
			return -1;
		}
		switch (k) {
		case 0:
			if (vlen > STATEMENT_TITLE_MAX) {
				seterr(err, errlen, "line %zu: title longer "
				    "than %d octets", i + 1,
				    STATEMENT_TITLE_MAX);
				return -1;
			}
			st->title = meta_value(v, vlen, markdown);
			break;
		case 1:
			set_byline(st, meta_value(v, vlen, markdown));
			break;
		case 2:
			if (statement_parse_date(v, vlen, &st->date) == -1) {
				seterr(err, errlen, "line %zu: cannot parse "
				    "date \"%.*s\"", i + 1, (int)(vlen > 40 ?
				    40 : vlen), v);
				return -1;
			}
			st->date_text = xstrndup(v, vlen);
			break;
		case 3:
			v = xstrndup(v, vlen);
			if (lang_norm(v, tag, sizeof(tag)) == -1) {
				seterr(err, errlen, "line %zu: \"%.40s\" is "
				    "not a language tag (es, pt-BR, ar...)",
				    i + 1, v);
				free((char *)v);
				return -1;
			}
			free((char *)v);
			st->lang = xstrndup(tag, strlen(tag));
			break;
		}
	}
	/* a Language: line alone: the rest reads as without a header */
	if (!seen[0] && seen[3] && !seen[1] && !seen[2])
		return i;
	if (!seen[0]) {
		seterr(err, errlen, "no title: the header block has no "
		    "\"Title:\" line");
		return -1;
	}
	return i;
}

static int
is_setext(const struct line *l)
{
	size_t	 i;

	if (l->len == 0)
		return 0;
	for (i = 0; i < l->len; i++)
		if (l->p[i] != '=' && l->p[i] != '-')
			return 0;
	return 1;
}

/* Strip a Markdown ATX heading marker: "# Title #" -> "Title". */
static void
strip_atx(const char **p, size_t *len)
{
	size_t	 i = 0;

	while (i < *len && i < 6 && (*p)[i] == '#')
		i++;
	if (i == 0 || (i < *len && (*p)[i] != ' '))
		return;
	*p += i;
	*len -= i;
	while (*len > 0 && (*p)[*len - 1] == '#')
		(*len)--;
	trim(p, len);
}

int
statement_parse(const char *buf, size_t len, int markdown,
    struct statement *st, char *err, size_t errlen)
{
	struct line	*lines = NULL;
	const char	*tp, *v;
	size_t		 i, tlen, vlen, first, end, last;
	long		 n, body;
	char		*s;
	time_t		 t;
	int		 ret = -1, heuristics = 1;

	memset(st, 0, sizeof(*st));
	st->markdown = markdown;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if ((n = split_lines(buf, len, &lines, err, errlen)) == -1)
		goto end;
	for (i = 0; i < (size_t)n && lines[i].len == 0; i++)
		;
	if (i == (size_t)n) {
		seterr(err, errlen, "empty statement");
		goto end;
	}
	end = n;
	while (end > 0 && lines[end - 1].len == 0)
		end--;

	if (i == 0 && header_key(&lines[0], &v, &vlen) != -1) {
		if ((body = parse_header(st, lines, n, markdown, err,
		    errlen)) == -1)
			goto end;
		first = body;
		for (i = (size_t)body; i < end && lines[i].len == 0; i++)
			;
		heuristics = st->title == NULL && i < end;
	}
	if (heuristics) {
		tp = lines[i].p;
		tlen = lines[i].len;
		if (markdown)
			strip_atx(&tp, &tlen);
		if (tlen > STATEMENT_TITLE_MAX) {
			seterr(err, errlen, "line %zu: title longer than %d "
			    "octets", i + 1, STATEMENT_TITLE_MAX);
			goto end;
		}
		st->title = meta_value(tp, tlen, markdown);
		first = i + 1;
		if (markdown && first < end && is_setext(&lines[first]))
			first++;
		while (first < end && lines[first].len == 0)
			first++;
		if (first < end) {
			s = meta_value(lines[first].p, lines[first].len,
			    markdown);
			if (strncmp(s, "By ", 3) == 0) {
				set_byline(st, s);
				first++;
			} else
				free(s);
		}
		last = end - 1;
		if (last >= first) {
			s = meta_value(lines[last].p, lines[last].len,
			    markdown);
			if (statement_parse_date(s, strlen(s), &t) == 0) {
				st->date = t;
				st->date_text = s;
				end = last;
			} else
				free(s);
		}
	}
	if (st->title == NULL || st->title[0] == '\0') {
		seterr(err, errlen, "no title");
		goto end;
	}
	if (strlen(st->title) > STATEMENT_TITLE_MAX) {
		seterr(err, errlen, "title longer than %d octets",
		    STATEMENT_TITLE_MAX);
		goto end;
	}
	if (first > end)
		first = end;
	if (markdown)
		md_body(st, lines, first, end);
	else
		plain_body(st, lines, first, end);
	ret = 0;
 end:
	free(lines);
	if (ret == -1)
		statement_free(st);
	return ret;
}

void
statement_free(struct statement *st)
{
	size_t	 i;

	free(st->title);
	free(st->byline);
	free(st->byline_line);
	free(st->date_text);
	free(st->lang);
	for (i = 0; i < st->nparagraphs; i++)
		free(st->paragraphs[i]);
	free(st->paragraphs);
	free(st->html);
	free(st->text);
	memset(st, 0, sizeof(*st));
}
