/*
 * bounce.c -- a returned message's MIME tree, walked for its delivery
 * status (RFC 3464), feedback report (RFC 5965) and returned headers.
 *
 * libc only, and nothing trusted: every length is checked against the
 * end of the input, header values are cut at a fixed size, multiparts
 * nest at most BOUNCE_DEPTH deep, and a part is decoded into a buffer of
 * its own (never longer than the part).  Line ends may be CRLF or LF.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"

#define BH_NAME		64
#define BH_VALUE	2048

struct bwalk {
	struct bounce_report	*r;
	int			 report;	/* a report part seen */
	int			 returned;	/* 0 none; 1 returned headers
						   kept from before a report,
						   2 from after one */
};

static void	bounce_entity(struct bwalk *, const char *, const char *, int);

const char *
bounce_strkind(enum bounce_kind k)
{
	switch (k) {
	case BOUNCE_OTHER:
		return "other";
	case BOUNCE_DELAYED:
		return "delayed";
	case BOUNCE_SOFT:
		return "soft";
	case BOUNCE_HARD:
		return "hard";
	}
	return "?";
}

const char *
bounce_strtype(enum bounce_type t)
{
	switch (t) {
	case BOUNCE_NONE:
		return "none";
	case BOUNCE_DSN:
		return "dsn";
	case BOUNCE_ARF:
		return "arf";
	case BOUNCE_AUTOREPLY:
		return "autoreply";
	}
	return "?";
}

/* The end of the line at p (its LF, or end), and the start of the next. */
static const char *
bounce_eol(const char *p, const char *end, const char **next)
{
	const char	*lf = memchr(p, '\n', (size_t)(end - p));

	if (lf == NULL) {
		*next = end;
		return end;
	}
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

/* Append [s, e) to a NUL-terminated dst of size n, cut to fit. */
static void
bounce_append(char *dst, size_t n, const char *s, const char *e)
{
	size_t	have = strlen(dst), add = (size_t)(e - s);

	if (have + 1 >= n)
		return;
	if (add > n - 1 - have)
		add = n - 1 - have;
	memcpy(dst + have, s, add);
	dst[have + add] = '\0';
}

/*
 * One header field at *pp, unfolded into name and value (cut to their
 * sizes; value trimmed): 1, *pp past it.  At a blank line (or the end):
 * 0, *pp past it.  At a line that is not a field: -1, *pp unmoved (a
 * lenient reader takes it as the body's start).
 */
static int
bounce_header(const char **pp, const char *end, char *name, size_t nlen,
    char *value, size_t vlen)
{
	const char	*p = *pp, *e, *next, *colon, *s;

	if (p >= end)
		return 0;
	e = bounce_eol(p, end, &next);
	if (e == p) {			/* blank line */
		*pp = next;
		return 0;
	}
	colon = memchr(p, ':', (size_t)(e - p));
	if (colon == NULL || colon == p || *p == ' ' || *p == '\t')
		return -1;
	for (s = p; s < colon && *s > ' ' && *s <= '~'; s++)
		;
	if (s < colon) {
		/* "Name :" happens; anything else is not a field */
		const char	*t = s;

		while (t < colon && (*t == ' ' || *t == '\t'))
			t++;
		if (t != colon)
			return -1;
	}
	name[0] = '\0';
	bounce_append(name, nlen, p, s);
	value[0] = '\0';
	bounce_append(value, vlen, colon + 1, e);
	/* continuation lines */
	while ((p = next) < end && (*p == ' ' || *p == '\t')) {
		e = bounce_eol(p, end, &next);
		bounce_append(value, vlen, p, e);
	}
	*pp = p;
	/* trim */
	for (s = value; *s == ' ' || *s == '\t'; s++)
		;
	memmove(value, s, strlen(s) + 1);
	for (e = value + strlen(value); e > value && isspace((unsigned char)
	    e[-1]); e--)
		;
	value[e - value] = '\0';
	return 1;
}

/* Past the line at p (for a line that is not a field). */
static const char *
bounce_skip_line(const char *p, const char *end)
{
	const char	*next;

	(void)bounce_eol(p, end, &next);
	return next;
}

/* Copy printable ASCII of s into dst (size n), others as '?'. */
static void
bounce_printable(char *dst, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i + 1 < n && s[i] != '\0'; i++)
		dst[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
	if (n > 0)
		dst[i] = '\0';
}

/*
 * Content-Type: "type/subtype" lowercased into type, and the boundary
 * parameter (quoted or not) into boundary ("" if none).
 */
static void
bounce_ctype(const char *v, char *type, size_t tlen, char *boundary,
    size_t blen)
{
	const char	*p, *s;
	size_t		 i;

	for (i = 0; i + 1 < tlen && v[i] != '\0' && v[i] != ';' &&
	    v[i] != ' ' && v[i] != '\t' && v[i] != '('; i++)
		type[i] = (char)tolower((unsigned char)v[i]);
	type[i] = '\0';
	boundary[0] = '\0';
	for (p = strchr(v, ';'); p != NULL; p = strchr(p, ';')) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary", 8) != 0)
			continue;
		s = p + 8;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '=')
			continue;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		i = 0;
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"' && i + 1 < blen; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				boundary[i++] = *s;
			}
		} else {
			for (; *s != '\0' && *s != ';' && *s != ' ' &&
			    *s != '\t' && i + 1 < blen; s++)
				boundary[i++] = *s;
		}
		boundary[i] = '\0';
		return;
	}
}

static int
bounce_b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
bounce_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Base64, skipping what is not of its alphabet; out has len octets. */
static size_t
bounce_unbase64(const char *p, const char *end, char *out)
{
	unsigned long	acc = 0;
	size_t		n = 0;
	int		bits = 0, v;

	for (; p < end; p++) {
		if (*p == '=')
			break;
		if ((v = bounce_b64val((unsigned char)*p)) < 0)
			continue;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	return n;
}

/* Quoted-printable: "=XX", soft line breaks; a bad escape kept as is. */
static size_t
bounce_unqp(const char *p, const char *end, char *out)
{
	size_t	n = 0;
	int	h, l;

	while (p < end) {
		if (*p != '=') {
			out[n++] = *p++;
			continue;
		}
		if (p + 1 < end && p[1] == '\n') {
			p += 2;
			continue;
		}
		if (p + 2 < end && p[1] == '\r' && p[2] == '\n') {
			p += 3;
			continue;
		}
		if (p + 2 < end && (h = bounce_hexval((unsigned char)p[1])) >= 0
		    && (l = bounce_hexval((unsigned char)p[2])) >= 0) {
			out[n++] = (char)(h * 16 + l);
			p += 3;
			continue;
		}
		out[n++] = *p++;
	}
	return n;
}

/*
 * "TYPE; ADDRESS": when TYPE is rfc822, the address (angle brackets,
 * quotes around it and comments dropped, trimmed) into out and 1; else
 * 0, and out holds an angle-addr found anywhere in the value, if any
 * (a non-compliant MTA writes "Final-Recipient: <a@b>").
 */
static int
bounce_recipient(const char *v, char *out, size_t outlen)
{
	const char	*semi = strchr(v, ';'), *s, *lt, *gt;
	char		 type[16], tmp[BOUNCE_ADDR_MAX];
	size_t		 i, j;
	int		 depth = 0;

	out[0] = '\0';
	if (semi != NULL) {
		for (s = v; *s == ' ' || *s == '\t'; s++)
			;
		for (i = 0; i + 1 < sizeof(type) && s + i < semi &&
		    s[i] != ' ' && s[i] != '\t'; i++)
			type[i] = (char)tolower((unsigned char)s[i]);
		type[i] = '\0';
		if (strcmp(type, "rfc822") == 0) {
			/* drop comments, then take the angle-addr or all */
			for (i = 0, s = semi + 1; *s != '\0' &&
			    i + 1 < sizeof(tmp); s++) {
				if (*s == '(')
					depth++;
				else if (*s == ')' && depth > 0)
					depth--;
				else if (depth == 0 && *s != '"')
					tmp[i++] = *s;
			}
			tmp[i] = '\0';
			if ((lt = strchr(tmp, '<')) != NULL &&
			    (gt = strchr(lt, '>')) != NULL) {
				memmove(tmp, lt + 1, (size_t)(gt - lt - 1));
				tmp[gt - lt - 1] = '\0';
			}
			for (i = 0; tmp[i] == ' ' || tmp[i] == '\t'; i++)
				;
			for (j = 0; tmp[i] != '\0' && tmp[i] != ' ' &&
			    tmp[i] != '\t' && tmp[i] != ';' && j + 1 < outlen;
			    i++)
				out[j++] = tmp[i];
			out[j] = '\0';
			return 1;
		}
	}
	if ((lt = strchr(v, '<')) != NULL && (gt = strchr(lt, '>')) != NULL &&
	    (size_t)(gt - lt - 1) < outlen) {
		memcpy(out, lt + 1, (size_t)(gt - lt - 1));
		out[gt - lt - 1] = '\0';
	}
	return 0;
}

/* The first RFC 3463 code in s ("5.1.1", "4.4.7") into out, else "". */
static void
bounce_status_code(const char *s, char *out, size_t outlen)
{
	const char	*p;
	size_t		 n, sub, det;

	out[0] = '\0';
	for (p = s; *p != '\0'; p++) {
		if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.' ||
		    (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.')))
			continue;
		for (sub = 0; isdigit((unsigned char)p[2 + sub]) && sub < 4;
		    sub++)
			;
		if (sub == 0 || sub > 3 || p[2 + sub] != '.')
			continue;
		for (det = 0; isdigit((unsigned char)p[3 + sub + det]) &&
		    det < 4; det++)
			;
		if (det == 0 || det > 3 || isalnum((unsigned char)
		    p[3 + sub + det]) || p[3 + sub + det] == '.')
			continue;
		n = 3 + sub + det;
		if (n + 1 > outlen)
			return;
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
}

/*
 * What a failed block's status means for the address: a 5.x.x is the
 * address's, but for the message's and the sender's own (5.6.x content,
 * 5.7.x policy and security, 5.3.4 too big), as in smtp_reply.c.
 */
static enum bounce_kind
bounce_failed_kind(const char *status)
{
	if (status[0] != '5')
		return BOUNCE_SOFT;
	if (strncmp(status, "5.6.", 4) == 0 || strncmp(status, "5.7.", 4) == 0
	    || strcmp(status, "5.3.4") == 0)
		return BOUNCE_SOFT;
	return BOUNCE_HARD;
}

struct bblock {
	char	action[16];
	char	status[16];
	char	diag[256];
	char	orig[BOUNCE_ADDR_MAX];
	char	final[BOUNCE_ADDR_MAX];
	int	orig_rfc822, final_rfc822, has_action;
};

static void
bounce_block_end(struct bounce_report *r, struct bblock *b)
{
	struct bounce_rcpt	*rc;
	char			 code[16];

	if (!b->has_action)
		goto out;
	if (r->nrcpt >= BOUNCE_RCPTS) {
		r->dropped++;
		goto out;
	}
	rc = &r->rcpt[r->nrcpt++];
	memset(rc, 0, sizeof(*rc));
	if (b->orig_rfc822 || (!b->final_rfc822 && b->orig[0] != '\0' &&
	    b->final[0] == '\0'))
		bounce_printable(rc->addr, sizeof(rc->addr), b->orig);
	else
		bounce_printable(rc->addr, sizeof(rc->addr), b->final);
	snprintf(rc->action, sizeof(rc->action), "%s", b->action);
	bounce_status_code(b->status, rc->status, sizeof(rc->status));
	if (rc->status[0] == '\0') {
		/* "smtp; 550 5.1.1 <a@b>: user unknown" */
		bounce_status_code(b->diag, code, sizeof(code));
		snprintf(rc->status, sizeof(rc->status), "%s", code);
	}
	bounce_printable(rc->diag, sizeof(rc->diag), b->diag);
	if (strncmp(rc->action, "fail", 4) == 0 ||
	    strncmp(rc->action, "error", 5) == 0)
		rc->kind = bounce_failed_kind(rc->status);
	else if (strncmp(rc->action, "delayed", 7) == 0)
		rc->kind = BOUNCE_DELAYED;
	else
		rc->kind = BOUNCE_OTHER;
	r->type = BOUNCE_DSN;
out:
	memset(b, 0, sizeof(*b));
}

/* A delivery-status body: blocks of fields between blank lines. */
static void
bounce_dsn(struct bounce_report *r, const char *p, const char *end)
{
	struct bblock	b;
	char		name[BH_NAME], value[BH_VALUE];
	size_t		i;
	int		rc;

	memset(&b, 0, sizeof(b));
	while (p < end) {
		rc = bounce_header(&p, end, name, sizeof(name), value,
		    sizeof(value));
		if (rc == 0) {		/* a blank line ends a block */
			bounce_block_end(r, &b);
			continue;
		}
		if (rc == -1) {		/* a stray line: skipped */
			p = bounce_skip_line(p, end);
			continue;
		}
		if (strcasecmp(name, "Action") == 0) {
			for (i = 0; i + 1 < sizeof(b.action) &&
			    isalpha((unsigned char)value[i]); i++)
				b.action[i] = (char)tolower((unsigned char)
				    value[i]);
			b.action[i] = '\0';
			b.has_action = 1;
		} else if (strcasecmp(name, "Status") == 0)
			snprintf(b.status, sizeof(b.status), "%.15s", value);
		else if (strcasecmp(name, "Diagnostic-Code") == 0)
			bounce_printable(b.diag, sizeof(b.diag), value);
		else if (strcasecmp(name, "Original-Recipient") == 0)
			b.orig_rfc822 = bounce_recipient(value, b.orig,
			    sizeof(b.orig));
		else if (strcasecmp(name, "Final-Recipient") == 0)
			b.final_rfc822 = bounce_recipient(value, b.final,
			    sizeof(b.final));
	}
	bounce_block_end(r, &b);
}

/* A feedback report's fields (RFC 5965 §3.1). */
static void
bounce_arf(struct bounce_report *r, const char *p, const char *end)
{
	char	name[BH_NAME], value[BH_VALUE], addr[BOUNCE_ADDR_MAX];
	size_t	i;
	int	rc;

	while (p < end) {
		if ((rc = bounce_header(&p, end, name, sizeof(name), value,
		    sizeof(value))) != 1) {
			if (rc == -1)
				p = bounce_skip_line(p, end);
			continue;
		}
		if (strcasecmp(name, "Feedback-Type") == 0) {
			for (i = 0; i + 1 < sizeof(r->feedback_type) &&
			    (isalnum((unsigned char)value[i]) ||
			    value[i] == '-'); i++)
				r->feedback_type[i] = (char)tolower(
				    (unsigned char)value[i]);
			r->feedback_type[i] = '\0';
		} else if (strcasecmp(name, "Original-Rcpt-To") == 0 &&
		    r->original_rcpt[0] == '\0') {
			bounce_recipient(value, addr, sizeof(addr));
			bounce_printable(r->original_rcpt,
			    sizeof(r->original_rcpt), addr);
		}
	}
	r->type = BOUNCE_ARF;
}

/* The returned message's header: Message-ID and List-Unsubscribe. */
static void
bounce_returned(struct bwalk *w, const char *p, const char *end)
{
	char	name[BH_NAME], value[BH_VALUE];

	/* the returned message follows its report (a report may itself
	 * come wrapped in a message/rfc822, whose header is not ours) */
	if (w->returned >= 1 + w->report)
		return;
	w->returned = 1 + w->report;
	w->r->message_id[0] = '\0';
	w->r->list_unsubscribe[0] = '\0';
	while (bounce_header(&p, end, name, sizeof(name), value,
	    sizeof(value)) == 1) {
		if (strcasecmp(name, "Message-ID") == 0 &&
		    w->r->message_id[0] == '\0')
			bounce_printable(w->r->message_id,
			    sizeof(w->r->message_id), value);
		else if (strcasecmp(name, "List-Unsubscribe") == 0 &&
		    w->r->list_unsubscribe[0] == '\0')
			bounce_printable(w->r->list_unsubscribe,
			    sizeof(w->r->list_unsubscribe), value);
	}
}

/* Is [line, e) "--boundary" (1) or "--boundary--" (2)?  0 if neither. */
static int
bounce_delimiter(const char *line, const char *e, const char *boundary,
    size_t blen)
{
	const char	*s;
	int		 last;

	if ((size_t)(e - line) < 2 + blen || line[0] != '-' ||
	    line[1] != '-' || memcmp(line + 2, boundary, blen) != 0)
		return 0;
	s = line + 2 + blen;
	last = e - s >= 2 && s[0] == '-' && s[1] == '-';
	if (last)
		s += 2;
	/* only white space may follow */
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s != e)
		return 0;
	return last ? 2 : 1;
}

/*
 * The parts of a multipart body between "--boundary" lines; each is an
 * entity of its own, ending before the line end that precedes the next
 * delimiter.  The preamble and the epilogue are skipped; a missing
 * closing delimiter ends the last part at the end.
 */
static void
bounce_multipart(struct bwalk *w, const char *p, const char *end,
    const char *boundary, int depth)
{
	size_t		 blen = strlen(boundary);
	const char	*line, *next, *e, *start = NULL, *last_end = NULL;
	int		 d;

	for (line = p; line < end; line = next) {
		e = bounce_eol(line, end, &next);
		if ((d = bounce_delimiter(line, e, boundary, blen)) == 0) {
			last_end = e;
			continue;
		}
		if (start != NULL)
			bounce_entity(w, start, last_end != NULL ? last_end :
			    start, depth + 1);
		if (d == 2)
			return;
		start = next;
		last_end = NULL;
	}
	if (start != NULL)
		bounce_entity(w, start, end, depth + 1);
}

static void
bounce_entity(struct bwalk *w, const char *p, const char *end, int depth)
{
	char		 name[BH_NAME], value[BH_VALUE];
	char		 type[80] = "text/plain", boundary[80] = "", cte[32] = "";
	char		*buf = NULL;
	size_t		 n;

	while (bounce_header(&p, end, name, sizeof(name), value,
	    sizeof(value)) == 1) {
		if (strcasecmp(name, "Content-Type") == 0)
			bounce_ctype(value, type, sizeof(type), boundary,
			    sizeof(boundary));
		else if (strcasecmp(name, "Content-Transfer-Encoding") == 0)
			bounce_printable(cte, sizeof(cte), value);
		else if (depth == 0 && (strcasecmp(name, "Auto-Submitted") ==
		    0 && strncasecmp(value, "no", 2) != 0)) {
			if (w->r->type == BOUNCE_NONE)
				w->r->type = BOUNCE_AUTOREPLY;
		} else if (depth == 0 && (strcasecmp(name, "X-Autoreply") == 0 ||
		    strcasecmp(name, "X-Autorespond") == 0)) {
			if (w->r->type == BOUNCE_NONE)
				w->r->type = BOUNCE_AUTOREPLY;
		}
	}
	if (strncmp(type, "multipart/", 10) == 0) {
		if (boundary[0] != '\0' && depth < BOUNCE_DEPTH)
			bounce_multipart(w, p, end, boundary, depth);
		return;
	}
	if (strcmp(type, "message/delivery-status") != 0 &&
	    strcmp(type, "message/global-delivery-status") != 0 &&
	    strcmp(type, "message/feedback-report") != 0 &&
	    strcmp(type, "message/rfc822") != 0 &&
	    strcmp(type, "message/global") != 0 &&
	    strcmp(type, "text/rfc822-headers") != 0 &&
	    strcmp(type, "message/global-headers") != 0)
		return;
	if (strncasecmp(cte, "base64", 6) == 0 ||
	    strncasecmp(cte, "quoted-printable", 16) == 0) {
		if ((buf = malloc((size_t)(end - p) + 1)) == NULL)
			return;
		n = cte[0] == 'b' || cte[0] == 'B' ?
		    bounce_unbase64(p, end, buf) : bounce_unqp(p, end, buf);
		p = buf;
		end = buf + n;
	}
	if (strcmp(type, "message/delivery-status") == 0 ||
	    strcmp(type, "message/global-delivery-status") == 0) {
		bounce_dsn(w->r, p, end);
		w->report = 1;
	} else if (strcmp(type, "message/feedback-report") == 0) {
		bounce_arf(w->r, p, end);
		w->report = 1;
	} else {
		bounce_returned(w, p, end);
		/* a whole message: it may hold the report (forwarded) */
		if (strncmp(type, "message/", 8) == 0 && depth < BOUNCE_DEPTH)
			bounce_entity(w, p, end, depth + 1);
	}
	free(buf);
}

int
bounce_parse(const char *msg, size_t len, struct bounce_report *r)
{
	struct bwalk	 w;
	const char	*start;

	memset(r, 0, sizeof(*r));
	if (len > BOUNCE_MAX)
		return -1;
	memset(&w, 0, sizeof(w));
	w.r = r;
	/* an mbox "From " line before the header, as in a saved message */
	if (len >= 5 && memcmp(msg, "From ", 5) == 0)
		start = bounce_skip_line(msg, msg + len);
	else
		start = msg;
	bounce_entity(&w, start, msg + len, 0);
	/* a report wins over the auto-reply mark (DSNs carry one too) */
	if (r->nrcpt > 0 || r->dropped > 0)
		r->type = BOUNCE_DSN;
	return 0;
}
