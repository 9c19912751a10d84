/*
 * mustache.c -- mustache templates: compile once, render many; see
 * mustache.h for the contract.
 *
 * A template and every partial it can reach are compiled into one flat
 * array of nodes.  A section's body is the run of nodes after it, up to
 * its `end' index, so rendering is a loop over an index range with no
 * parsing and no allocation.  Static text, partial indents and the parts
 * of dotted names live in one arena; nodes hold offsets into it.
 *
 * Partial indentation is applied at render time: while compiling, every
 * source position that starts a line of output (after standalone lines
 * are removed) is recorded as an offset into the text node it falls in.
 * Rendering an indented partial inserts the indent at those offsets, so
 * one compiled partial serves every call site, recursive ones included.
 * Text that comes from data is never indented, as the spec requires.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mustache.h"

#define MUS_MAXNEST	128	/* sections open at once, per template */
#define MUS_MAXSRC	(1u << 30)

enum mus_ntype {
	MUS_N_TEXT,		/* off, len; ls, nls: line starts */
	MUS_N_VAR,		/* parts, nparts (0: implicit iterator) */
	MUS_N_RAW,		/* as VAR, not escaped */
	MUS_N_SECTION,		/* as VAR; body is [this + 1, end) */
	MUS_N_INVERTED,		/* as SECTION */
	MUS_N_PARTIAL,		/* partial; off, len: indent; standalone */
};

struct mus_node {
	enum mus_ntype	 type;
	uint32_t	 off;
	uint32_t	 len;
	uint32_t	 parts;		/* VAR, SECTION: index into tpl->parts */
	uint32_t	 nparts;
	uint32_t	 end;		/* SECTION, INVERTED */
	uint32_t	 ls;		/* TEXT: index into tpl->ls */
	uint32_t	 nls;
	uint32_t	 partial;	/* PARTIAL: index into tpl->partials */
	int		 standalone;	/* PARTIAL */
};

struct mus_partial {
	char		*name;
	size_t		 refline;	/* first reference, for errors */
	uint32_t	 first;		/* node range */
	uint32_t	 end;
};

struct mus_tpl {
	struct buf		 arena;
	struct mus_node		*nodes;
	size_t			 nnodes, nodescap;
	uint32_t		*ls;		/* line-start offsets */
	size_t			 nls, lscap;
	uint32_t		*parts;		/* name parts, NUL-terminated */
	size_t			 nparts, partscap;
	struct mus_partial	*partials;
	size_t			 npartials, partialscap;
	uint32_t		 first, end;	/* the template itself */
	int			 flags;
};

/* Compile state for one source (the template or one partial). */
struct mus_cstate {
	struct mus_tpl	*t;
	const char	*src;
	size_t		 len;
	const char	*otag, *ctag;
	size_t		 olen, clen;
	/* pending text run, at the end of the arena */
	uint32_t	 run_off, run_len;
	size_t		 run_ls;
	char		*err;
	size_t		 errlen;
};

struct mus_open {
	uint32_t	 node;
	const char	*name;
	size_t		 namelen;
	size_t		 pos;
};

/* Render state: the context stack is the caller's frames plus a chain of
 * section frames on the C stack, so rendering never allocates. */
struct mus_ctx {
	const struct mus_val	*v;
	const struct mus_ctx	*up;
};

struct mus_ind {
	const char		*s;
	size_t			 len;
	const struct mus_ind	*up;
};

struct mus_rstate {
	const struct mus_tpl		 *t;
	const struct mus_val *const	 *base;
	size_t				  nbase;
	struct buf			 *out;
	size_t				  outstart;
	size_t				  expansions;
	size_t				  steps;
};

static void	*mus_push(void *, size_t *, size_t *, size_t);
static const char *mus_find(const char *, size_t, const char *, size_t);
static size_t	 mus_lineno(const char *, size_t);
static void	 mus_error(struct mus_cstate *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 mus_run_add(struct mus_cstate *, size_t, size_t);
static void	 mus_run_flush(struct mus_cstate *);
static struct mus_node *mus_node_new(struct mus_tpl *, enum mus_ntype);
static int	 mus_name(struct mus_cstate *, struct mus_node *, const char *,
		    size_t, size_t);
static int	 mus_setdelim(struct mus_cstate *, const char *, size_t,
		    size_t);
static uint32_t	 mus_partial_ref(struct mus_cstate *, const char *, size_t,
		    size_t);
static int	 mus_compile_one(struct mus_cstate *, uint32_t *, uint32_t *);
static const struct mus_val *mus_get(const struct mus_val *, const char *);
static const struct mus_val *mus_lookup(struct mus_rstate *,
		    const struct mus_ctx *, const struct mus_node *);
static int	 mus_truthy(const struct mus_val *);
static void	 mus_put(struct buf *, const struct mus_val *, int);
static void	 mus_indent(struct buf *, const struct mus_ind *);
static int	 mus_render_nodes(struct mus_rstate *, uint32_t, uint32_t,
		    const struct mus_ctx *, const struct mus_ind *, int);

static void *
mus_push(void *arrp, size_t *n, size_t *cap, size_t size)
{
	void	**pp = arrp;
	void	 *p;
	size_t	  ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if (ncap > SIZE_MAX / size ||
		    (p = realloc(*pp, ncap * size)) == NULL)
			abort();	/* as buf.c: no memory, no renderer */
		*pp = p;
		*cap = ncap;
	}
	p = (char *)*pp + (*n)++ * size;
	memset(p, 0, size);
	return p;
}

/* memmem(), which plain C11 lacks; delimiters are short. */
static const char *
mus_find(const char *s, size_t len, const char *pat, size_t plen)
{
	const char	*p, *e;

	if (plen == 0 || len < plen)
		return NULL;
	e = s + len - plen + 1;
	for (p = s; (p = memchr(p, pat[0], e - p)) != NULL; p++)
		if (memcmp(p, pat, plen) == 0)
			return p;
	return NULL;
}

static size_t
mus_lineno(const char *src, size_t pos)
{
	size_t	 i, line = 1;

	for (i = 0; i < pos; i++)
		if (src[i] == '\n')
			line++;
	return line;
}

static void
mus_error(struct mus_cstate *cs, size_t pos, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	if (cs->errlen == 0)
		return;
	n = snprintf(cs->err, cs->errlen, "line %zu: ",
	    mus_lineno(cs->src, pos));
	if (n < 0 || (size_t)n >= cs->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(cs->err + n, cs->errlen - n, fmt, ap);
	va_end(ap);
	/* one line: a quoted name may hold line breaks or controls */
	for (p = cs->err + n; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/*
 * Append src[from, to) to the pending text run, recording every line
 * start in [from, to]: a position at the start of the source or just
 * after a newline, other than the end of the source.
 */
static void
mus_run_add(struct mus_cstate *cs, size_t from, size_t to)
{
	struct mus_tpl	*t = cs->t;
	uint32_t	*ls;
	size_t		 q;

	for (q = from; q <= to && q < cs->len; q++) {
		if (q != 0 && cs->src[q - 1] != '\n')
			continue;
		ls = mus_push(&t->ls, &t->nls, &t->lscap, sizeof(*ls));
		*ls = cs->run_len + (q - from);
	}
	buf_add(&t->arena, cs->src + from, to - from);
	cs->run_len += to - from;
}

/* Close the pending text run into a node (if it has text or line starts). */
static void
mus_run_flush(struct mus_cstate *cs)
{
	struct mus_tpl	*t = cs->t;
	struct mus_node	*n;

	if (cs->run_len > 0 || t->nls > cs->run_ls) {
		n = mus_node_new(t, MUS_N_TEXT);
		n->off = cs->run_off;
		n->len = cs->run_len;
		n->ls = cs->run_ls;
		n->nls = t->nls - cs->run_ls;
	}
	cs->run_off = t->arena.len;
	cs->run_len = 0;
	cs->run_ls = t->nls;
}

static struct mus_node *
mus_node_new(struct mus_tpl *t, enum mus_ntype type)
{
	struct mus_node	*n;

	n = mus_push(&t->nodes, &t->nnodes, &t->nodescap, sizeof(*n));
	n->type = type;
	return n;
}

/* Split a dotted name into NUL-terminated parts in the arena. */
static int
mus_name(struct mus_cstate *cs, struct mus_node *n, const char *s,
    size_t len, size_t pos)
{
	struct mus_tpl	*t = cs->t;
	uint32_t	*part;
	size_t		 i, start;

	n->parts = t->nparts;
	n->nparts = 0;
	if (len == 1 && s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n' || s[i] == '\0') {
			mus_error(cs, pos, "bad name \"%.*s\"", (int)len, s);
			return -1;
		}
	}
	for (start = 0; start <= len; start = i + 1) {
		for (i = start; i < len && s[i] != '.'; i++)
			;
		if (i == start) {
			mus_error(cs, pos, "bad name \"%.*s\"", (int)len, s);
			return -1;
		}
		part = mus_push(&t->parts, &t->nparts, &t->partscap,
		    sizeof(*part));
		*part = t->arena.len;
		buf_add(&t->arena, s + start, i - start);
		buf_addc(&t->arena, '\0');
		n->nparts++;
	}
	return 0;
}

/* Parse "=<open> <close>=" (already stripped of the = signs). */
static int
mus_setdelim(struct mus_cstate *cs, const char *s, size_t len, size_t pos)
{
	const char	*o, *c;
	size_t		 i, olen, clen;

	i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	o = s + i;
	while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '=')
		i++;
	olen = s + i - o;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	c = s + i;
	while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '=')
		i++;
	clen = s + i - c;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (olen == 0 || clen == 0 || i != len) {
		mus_error(cs, pos, "bad delimiter \"%.*s\"", (int)len, s);
		return -1;
	}
	cs->otag = o;
	cs->olen = olen;
	cs->ctag = c;
	cs->clen = clen;
	return 0;
}

static uint32_t
mus_partial_ref(struct mus_cstate *cs, const char *name, size_t len,
    size_t pos)
{
	struct mus_tpl		*t = cs->t;
	struct mus_partial	*p;
	size_t			 i;

	for (i = 0; i < t->npartials; i++) {
		p = &t->partials[i];
		/* name may hold a NUL: compare lengths, not C strings */
		if (strlen(p->name) == len && memcmp(p->name, name, len) == 0)
			return i;
	}
	p = mus_push(&t->partials, &t->npartials, &t->partialscap,
	    sizeof(*p));
	if ((p->name = malloc(len + 1)) == NULL)
		abort();
	memcpy(p->name, name, len);
	p->name[len] = '\0';
	p->refline = mus_lineno(cs->src, pos);
	return t->npartials - 1;
}

static int
mus_compile_one(struct mus_cstate *cs, uint32_t *first, uint32_t *end)
{
	struct mus_tpl	*t = cs->t;
	struct mus_open	 open[MUS_MAXNEST];
	struct mus_node	*n;
	const char	*src = cs->src, *p, *name;
	size_t		 len = cs->len, pos, tag, body, close, after, ws, i;
	size_t		 namelen, nopen = 0;
	char		 sigil;

	cs->otag = "{{";
	cs->olen = 2;
	cs->ctag = "}}";
	cs->clen = 2;
	cs->run_off = t->arena.len;
	cs->run_len = 0;
	cs->run_ls = t->nls;
	*first = t->nnodes;

	pos = 0;
	for (;;) {
		p = mus_find(src + pos, len - pos, cs->otag, cs->olen);
		tag = p ? (size_t)(p - src) : len;
		mus_run_add(cs, pos, tag);
		if (p == NULL)
			break;

		/* Find the end of the tag. */
		body = tag + cs->olen;
		sigil = body < len ? src[body] : '\0';
		if (sigil == '{') {
			p = NULL;
			for (i = body + 1; i + cs->clen < len; i++) {
				if (src[i] == '}' && memcmp(src + i + 1,
				    cs->ctag, cs->clen) == 0) {
					p = src + i;
					break;
				}
			}
		} else {
			/* The sigil is not part of the closing delimiter
			 * (with "{{=<% >=}}", "<%>" is not an empty tag). */
			i = body + (sigil != '\0' &&
			    strchr("#^/!>&=", sigil) != NULL);
			p = mus_find(src + i, len - i, cs->ctag, cs->clen);
		}
		if (p == NULL) {
			mus_error(cs, tag, "unclosed tag");
			return -1;
		}
		close = p - src;
		after = close + cs->clen + (sigil == '{');
		if (strchr("#^/!>&{=", sigil) != NULL && sigil != '\0')
			body++;

		/* Standalone: only whitespace around it on its line. */
		if (sigil != '\0' && strchr("#^/!>=", sigil) != NULL) {
			for (ws = tag; ws > 0 && (src[ws - 1] == ' ' ||
			    src[ws - 1] == '\t'); ws--)
				;
			if (ws == 0 || src[ws - 1] == '\n') {
				for (i = after; i < len && (src[i] == ' ' ||
				    src[i] == '\t'); i++)
					;
				if (i + 1 < len && src[i] == '\r' &&
				    src[i + 1] == '\n')
					i += 2;
				else if (i < len && src[i] == '\n')
					i++;
				else if (i != len)
					ws = SIZE_MAX;
				if (ws != SIZE_MAX) {
					/* Drop the line's indent and its
					 * line start from the run. */
					cs->run_len -= tag - ws;
					t->arena.len -= tag - ws;
					if (t->nls > cs->run_ls &&
					    t->ls[t->nls - 1] == cs->run_len)
						t->nls--;
					after = i;
				}
			} else
				ws = SIZE_MAX;
		} else
			ws = SIZE_MAX;

		/* The tag's content, trimmed. */
		name = src + body;
		namelen = close - body;
		if (sigil == '=') {
			if (namelen == 0 || name[namelen - 1] != '=') {
				mus_error(cs, tag, "bad delimiter tag");
				return -1;
			}
			if (mus_setdelim(cs, name, namelen - 1, tag) == -1)
				return -1;
			pos = after;
			continue;
		}
		if (sigil == '!') {
			pos = after;
			continue;
		}
		while (namelen > 0 && (name[0] == ' ' || name[0] == '\t' ||
		    name[0] == '\r' || name[0] == '\n')) {
			name++;
			namelen--;
		}
		while (namelen > 0 && (name[namelen - 1] == ' ' ||
		    name[namelen - 1] == '\t' || name[namelen - 1] == '\r' ||
		    name[namelen - 1] == '\n'))
			namelen--;
		if (namelen == 0) {
			mus_error(cs, tag, "empty tag");
			return -1;
		}

		mus_run_flush(cs);
		switch (sigil) {
		case '#':
		case '^':
			if (nopen == MUS_MAXNEST) {
				mus_error(cs, tag, "sections nested too deep");
				return -1;
			}
			n = mus_node_new(t, sigil == '#' ? MUS_N_SECTION :
			    MUS_N_INVERTED);
			open[nopen].node = t->nnodes - 1;
			open[nopen].name = name;
			open[nopen].namelen = namelen;
			open[nopen].pos = tag;
			nopen++;
			if (mus_name(cs, n, name, namelen, tag) == -1)
				return -1;
			break;
		case '/':
			if (nopen == 0) {
				mus_error(cs, tag, "unexpected {{/%.*s}}",
				    (int)namelen, name);
				return -1;
			}
			nopen--;
			if (open[nopen].namelen != namelen ||
			    memcmp(open[nopen].name, name, namelen) != 0) {
				mus_error(cs, tag, "{{/%.*s}} closes section "
				    "\"%.*s\" of line %zu", (int)namelen, name,
				    (int)open[nopen].namelen, open[nopen].name,
				    mus_lineno(src, open[nopen].pos));
				return -1;
			}
			t->nodes[open[nopen].node].end = t->nnodes;
			break;
		case '>':
			/* the loader gets a C string: no NUL in the name */
			if (memchr(name, '\0', namelen) != NULL) {
				mus_error(cs, tag, "bad partial name");
				return -1;
			}
			n = mus_node_new(t, MUS_N_PARTIAL);
			n->partial = mus_partial_ref(cs, name, namelen, tag);
			if (ws != SIZE_MAX) {
				n->standalone = 1;
				n->off = t->arena.len;
				n->len = tag - ws;
				buf_add(&t->arena, src + ws, tag - ws);
			}
			break;
		default:
			n = mus_node_new(t, (sigil == '&' || sigil == '{' ||
			    (t->flags & MUS_NOESCAPE)) ? MUS_N_RAW : MUS_N_VAR);
			if (mus_name(cs, n, name, namelen, tag) == -1)
				return -1;
			break;
		}
		cs->run_off = t->arena.len;
		pos = after;
	}
	if (nopen > 0) {
		mus_error(cs, open[nopen - 1].pos, "unclosed section \"%.*s\"",
		    (int)open[nopen - 1].namelen, open[nopen - 1].name);
		return -1;
	}
	mus_run_flush(cs);
	*end = t->nnodes;
	return 0;
}

struct mus_tpl *
mus_compile(const char *src, size_t len, int flags, mus_loader loader,
    void *arg, char *err, size_t errlen)
{
	struct mus_tpl		*t;
	struct mus_cstate	 cs;
	struct mus_partial	*p;
	const char		*psrc;
	size_t			 i, plen;
	uint32_t		 first, end;

	if (errlen > 0)
		err[0] = '\0';
	if (len >= MUS_MAXSRC) {
		snprintf(err, errlen, "line 1: template too large");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	t->flags = flags;
	/* The arena must exist even when every template is empty. */
	buf_add(&t->arena, "", 0);

	memset(&cs, 0, sizeof(cs));
	cs.t = t;
	cs.err = err;
	cs.errlen = errlen;
	cs.src = src;
	cs.len = len;
	if (mus_compile_one(&cs, &t->first, &t->end) == -1)
		goto fail;

	/* Partials, breadth first; a partial can add more. */
	for (i = 0; i < t->npartials; i++) {
		psrc = "";
		plen = 0;
		if (loader == NULL ||
		    loader(arg, t->partials[i].name, &psrc, &plen) == -1 ||
		    psrc == NULL) {
			psrc = "";
			plen = 0;
		}
		if (plen >= MUS_MAXSRC) {
			snprintf(err, errlen, "line %zu: partial \"%s\" too "
			    "large", t->partials[i].refline,
			    t->partials[i].name);
			goto fail;
		}
		cs.src = psrc;
		cs.len = plen;
		if (mus_compile_one(&cs, &first, &end) == -1) {
			p = &t->partials[i];
			if (errlen > 0) {
				char	 sub[256];

				snprintf(sub, sizeof(sub), "%s", err);
				snprintf(err, errlen, "line %zu: partial "
				    "\"%s\": %s", p->refline, p->name, sub);
			}
			goto fail;
		}
		t->partials[i].first = first;
		t->partials[i].end = end;
	}
	return t;
fail:
	mus_free(t);
	return NULL;
}

void
mus_free(struct mus_tpl *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->npartials; i++)
		free(t->partials[i].name);
	free(t->partials);
	free(t->nodes);
	free(t->ls);
	free(t->parts);
	buf_free(&t->arena);
	free(t);
}

static const struct mus_val *
mus_get(const struct mus_val *v, const char *key)
{
	const struct mus_pair	*p, *e;

	if (v == NULL || v->kind != MUS_MAP || v->n == 0)
		return NULL;		/* an empty map may have pairs NULL */
	for (p = v->pairs, e = p + v->n; p < e; p++)
		if (p->key[0] == key[0] && strcmp(p->key, key) == 0)
			return &p->val;
	return NULL;
}

/*
 * The first part of a name is looked up from the innermost context out;
 * the first map holding that key wins, and the remaining parts resolve
 * against it alone.
 */
static const struct mus_val *
mus_lookup(struct mus_rstate *rs, const struct mus_ctx *ctx,
    const struct mus_node *n)
{
	const struct mus_tpl	*t = rs->t;
	const struct mus_val	*v = NULL;
	const char		*key;
	size_t			 i;

	if (n->nparts == 0) {
		if (ctx != NULL)
			return ctx->v;
		return rs->nbase > 0 ? rs->base[rs->nbase - 1] : NULL;
	}
	key = t->arena.p + t->parts[n->parts];
	/* each context looked in is a step: sections nested 128 deep made
	 * a lookup 128 times a tag's cost (a fuzz input took 12 s) */
	for (; ctx != NULL; ctx = ctx->up, rs->steps++)
		if ((v = mus_get(ctx->v, key)) != NULL)
			goto found;
	for (i = rs->nbase; i-- > 0; )
		if ((v = mus_get(rs->base[i], key)) != NULL)
			goto found;
	return NULL;
found:
	for (i = 1; i < n->nparts && v != NULL; i++)
		v = mus_get(v, t->arena.p + t->parts[n->parts + i]);
	return v;
}

static int
mus_truthy(const struct mus_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->kind) {
	case MUS_BOOL:
		return v->b;
	case MUS_STR:
		return v->slen > 0;
	case MUS_LIST:
		return v->n > 0;
	case MUS_MAP:
		return 1;
	default:
		return 0;
	}
}

static void
mus_put(struct buf *out, const struct mus_val *v, int raw)
{
	static const char *const esc[256] = {
		['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
		['"'] = "&quot;", ['\''] = "&#39;",
	};
	const unsigned char	*s;
	size_t			 i, start, len;

	if (v == NULL)
		return;
	if (v->kind == MUS_BOOL) {
		buf_addstr(out, v->b ? "true" : "false");
		return;
	}
	if (v->kind != MUS_STR || v->slen == 0)
		return;
	s = (const unsigned char *)v->s;
	len = v->slen;
	if (raw) {
		buf_add_fast(out, s, len);
		return;
	}
	buf_grow(out, len);
	for (i = start = 0; i < len; i++) {
		if (esc[s[i]] == NULL)
			continue;
		buf_add_fast(out, s + start, i - start);
		buf_addstr(out, esc[s[i]]);
		start = i + 1;
	}
	buf_add_fast(out, s + start, len - start);
}

static void
mus_indent(struct buf *out, const struct mus_ind *ind)
{
	if (ind == NULL)
		return;
	mus_indent(out, ind->up);
	buf_add_fast(out, ind->s, ind->len);
}

static int
mus_render_nodes(struct mus_rstate *rs, uint32_t i, uint32_t end,
    const struct mus_ctx *ctx, const struct mus_ind *ind, int depth)
{
	const struct mus_tpl	*t = rs->t;
	const struct mus_node	*n;
	const struct mus_val	*v;
	const struct mus_partial *p;
	const uint32_t		*ls;
	const char		*s;
	struct mus_ctx		 c;
	struct mus_ind		 in;
	size_t			 k, prev;

	while (i < end) {
		/* Nested sections over lists multiply the work without
		 * any partial: bound the steps and the output too. */
		if (++rs->steps > MUS_MAXSTEPS ||
		    rs->out->len - rs->outstart > MUS_MAXOUT)
			return -1;
		n = &t->nodes[i];
		switch (n->type) {
		case MUS_N_TEXT:
			s = t->arena.p + n->off;
			if (ind == NULL || n->nls == 0) {
				buf_add_fast(rs->out, s, n->len);
				i++;
				break;
			}
			ls = t->ls + n->ls;
			for (k = prev = 0; k < n->nls; k++) {
				buf_add_fast(rs->out, s + prev, ls[k] - prev);
				mus_indent(rs->out, ind);
				prev = ls[k];
			}
			buf_add_fast(rs->out, s + prev, n->len - prev);
			i++;
			break;
		case MUS_N_VAR:
		case MUS_N_RAW:
			mus_put(rs->out, mus_lookup(rs, ctx, n),
			    n->type == MUS_N_RAW);
			i++;
			break;
		case MUS_N_SECTION:
			v = mus_lookup(rs, ctx, n);
			if (mus_truthy(v)) {
				c.up = ctx;
				if (v->kind == MUS_LIST) {
					for (k = 0; k < v->n; k++) {
						c.v = &v->items[k];
						if (mus_render_nodes(rs, i + 1,
						    n->end, &c, ind, depth) == -1)
							return -1;
					}
				} else {
					c.v = v;
					if (mus_render_nodes(rs, i + 1, n->end,
					    &c, ind, depth) == -1)
						return -1;
				}
			}
			i = n->end;
			break;
		case MUS_N_INVERTED:
			if (!mus_truthy(mus_lookup(rs, ctx, n)) &&
			    mus_render_nodes(rs, i + 1, n->end, ctx, ind,
			    depth) == -1)
				return -1;
			i = n->end;
			break;
		case MUS_N_PARTIAL:
			/* A partial naming itself twice doubles the work
			 * per level: bound the total, not just the depth. */
			if (depth >= MUS_MAXDEPTH ||
			    ++rs->expansions > MUS_MAXEXPAND)
				return -1;
			p = &t->partials[n->partial];
			if (!n->standalone) {
				/* Inline: the partial's lines start wherever
				 * the tag is, so they are not indented. */
				if (mus_render_nodes(rs, p->first, p->end,
				    ctx, NULL, depth + 1) == -1)
					return -1;
			} else if (n->len == 0) {
				if (mus_render_nodes(rs, p->first, p->end,
				    ctx, ind, depth + 1) == -1)
					return -1;
			} else {
				in.s = t->arena.p + n->off;
				in.len = n->len;
				in.up = ind;
				if (mus_render_nodes(rs, p->first, p->end,
				    ctx, &in, depth + 1) == -1)
					return -1;
			}
			i++;
			break;
		}
	}
	return 0;
}

int
mus_render(const struct mus_tpl *t, const struct mus_val *const *stack,
    size_t depth, struct buf *out)
{
	struct mus_rstate	 rs;

	rs.t = t;
	rs.base = stack;
	rs.nbase = depth;
	rs.out = out;
	rs.expansions = 0;
	rs.steps = 0;
	/* Leave out NUL-terminated even when nothing is rendered. */
	buf_add(out, "", 0);
	rs.outstart = out->len;
	return mus_render_nodes(&rs, t->first, t->end, NULL, NULL, 0);
}
