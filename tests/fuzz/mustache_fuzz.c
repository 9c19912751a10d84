/*
 * mustache_fuzz.c -- the mustache engine (mustache.c): template and data.
 *
 * Input layout: TEMPLATE [ "\0" DATA ].  DATA is read as a little program
 * that builds a data tree (null, bools, strings, lists, maps with names
 * from a small pool, so that lookups hit), two frames deep.  The template
 * is compiled plain and with MUS_NOESCAPE, with partials "a" (the
 * template itself: recursion), "b" (a fixed template using sections) and
 * "c" (the data bytes as a template); each compiled template is rendered
 * twice (the output must be the same: rendering reads the template only).
 * Then every string of the tree goes through "{{s}}": the escaped output
 * holds no & < > " ' of its own and unescapes to the string, and
 * "{{{s}}}" gives it back unchanged.
 */
#include <string.h>

#include "buf.h"
#include "mustache.h"

#include "fuzz.h"

#define MF_DEPTH	5
#define MF_NODES	256

static const char *mf_names[] = { "a", "b", "c", "x", "name", "list", "s",
	".", "a.b", "", "items" };
#define MF_NNAMES	(sizeof(mf_names) / sizeof(mf_names[0]))

struct mf_arena {
	struct mus_val	 vals[MF_NODES];
	struct mus_pair	 pairs[MF_NODES];
	size_t		 nvals, npairs;
	const uint8_t	*p, *end;
	const char	*strs[MF_NODES];	/* strings seen, for checks */
	size_t		 strlens[MF_NODES];
	size_t		 nstrs;
};

static unsigned
mf_byte(struct mf_arena *a)
{
	return a->p < a->end ? *a->p++ : 0;
}

static struct mus_val mf_val(struct mf_arena *, int);

/* n consecutive values (their children come after them). */
static struct mus_val *
mf_vals(struct mf_arena *a, size_t n, int depth)
{
	struct mus_val	*v;
	size_t		 i;

	if (a->nvals + n > MF_NODES)
		return NULL;
	v = &a->vals[a->nvals];
	a->nvals += n;
	for (i = 0; i < n; i++)
		v[i] = mf_val(a, depth + 1);
	return v;
}

static struct mus_pair *
mf_pairs(struct mf_arena *a, size_t n, int depth)
{
	struct mus_pair	*p;
	size_t		 i;

	if (a->npairs + n > MF_NODES)
		return NULL;
	p = &a->pairs[a->npairs];
	a->npairs += n;
	for (i = 0; i < n; i++) {
		p[i].key = mf_names[mf_byte(a) % MF_NNAMES];
		p[i].val = mf_val(a, depth + 1);
	}
	return p;
}

static struct mus_val
mf_val(struct mf_arena *a, int depth)
{
	struct mus_val	 v = { MUS_NULL, 0, NULL, 0, NULL, NULL, 0 };
	const struct mus_val	*items;
	const struct mus_pair	*pairs;
	const char		*s;
	size_t			 n;
	unsigned		 op = mf_byte(a);

	if (depth >= MF_DEPTH)
		op %= 3;
	switch (op % 5) {
	case 0:
		return v;
	case 1:
		return mus_bool(op & 0x80);
	case 2:
		n = mf_byte(a) % 24;
		if (n > (size_t)(a->end - a->p))
			n = (size_t)(a->end - a->p);
		s = (const char *)a->p;
		a->p += n;
		if (a->nstrs < MF_NODES) {
			a->strs[a->nstrs] = s;
			a->strlens[a->nstrs++] = n;
		}
		return mus_str(s, n);
	case 3:
		n = mf_byte(a) % 4;
		items = mf_vals(a, n, depth);
		return mus_list(items, items == NULL ? 0 : n);
	default:
		n = mf_byte(a) % 5;
		pairs = mf_pairs(a, n, depth);
		return mus_map(pairs, pairs == NULL ? 0 : n);
	}
}

struct mf_loader {
	const char	*tpl, *data;
	size_t		 tpllen, datalen;
};

static int
mf_load(void *arg, const char *name, const char **src, size_t *len)
{
	struct mf_loader	*l = arg;
	static const char	 b[] = "{{#list}}[{{.}}|{{name}}]{{/list}}"
				    "{{^list}}none{{/list}}{{! c }}\n"
				    "  {{>c}}\n{{=<% %>=}}<%x%>";

	if (strcmp(name, "a") == 0) {
		*src = l->tpl;
		*len = l->tpllen;
	} else if (strcmp(name, "b") == 0) {
		*src = b;
		*len = sizeof(b) - 1;
	} else if (strcmp(name, "c") == 0) {
		*src = l->data;
		*len = l->datalen;
	} else
		return -1;
	return 0;
}

static void
mf_render(const struct mus_tpl *t, const struct mus_val *const *stack,
    size_t depth)
{
	struct buf	 o1 = BUF_INIT, o2 = BUF_INIT;
	int		 r1, r2;

	r1 = mus_render(t, stack, depth, &o1);
	r2 = mus_render(t, stack, depth, &o2);
	FUZZ_CHECK(r1 == r2);
	FUZZ_CHECK(r1 == 0 || r1 == -1);
	FUZZ_CHECK(o1.len == o2.len && (o1.len == 0 ||
	    memcmp(o1.p, o2.p, o1.len) == 0));
	buf_free(&o1);
	buf_free(&o2);
}

/* "{{s}}" escapes, "{{{s}}}" does not. */
static void
mf_escape(const char *s, size_t len)
{
	static const char	*ent[] = { "&amp;", "&lt;", "&gt;", "&quot;",
				    "&#39;" };
	struct mus_tpl		*t;
	struct mus_pair		 p;
	struct mus_val		 top;
	const struct mus_val	*stack[1];
	struct buf		 o = BUF_INIT;
	char			 err[256];
	size_t			 i, j, k;

	p.key = "s";
	p.val = mus_str(s, len);
	top = mus_map(&p, 1);
	stack[0] = &top;
	FUZZ_CHECK((t = mus_compile("{{s}}", 5, 0, NULL, NULL, err,
	    sizeof(err))) != NULL);
	FUZZ_CHECK(mus_render(t, stack, 1, &o) == 0);
	mus_free(t);
	for (i = 0, j = 0; i < o.len; j++) {
		FUZZ_CHECK(o.p[i] != '<' && o.p[i] != '>' && o.p[i] != '"' &&
		    o.p[i] != '\'');
		FUZZ_CHECK(j < len);
		if (o.p[i] == '&') {
			for (k = 0; k < 5; k++)
				if (strncmp(o.p + i, ent[k], strlen(ent[k]))
				    == 0)
					break;
			FUZZ_CHECK(k < 5);
			FUZZ_CHECK(s[j] == "&<>\"'"[k]);
			i += strlen(ent[k]);
		} else {
			FUZZ_CHECK(o.p[i] == s[j]);
			i++;
		}
	}
	FUZZ_CHECK(j == len);
	buf_reset(&o);
	FUZZ_CHECK((t = mus_compile("{{{s}}}", 7, 0, NULL, NULL, err,
	    sizeof(err))) != NULL);
	FUZZ_CHECK(mus_render(t, stack, 1, &o) == 0);
	mus_free(t);
	FUZZ_CHECK(o.len == len && (len == 0 || memcmp(o.p, s, len) == 0));
	buf_free(&o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct mf_arena	 a;
	struct mf_loader	 l;
	struct mus_tpl		*t;
	struct mus_val		 bottom, top;
	const struct mus_val	*stack[2];
	const uint8_t		*nul;
	char			*tpl, err[256];
	size_t			 tlen, i;
	int			 flags;

	if ((nul = memchr(data, '\0', len)) == NULL)
		nul = data + len;
	tlen = (size_t)(nul - data);
	tpl = fuzz_dup(data, tlen, 0);

	memset(&a, 0, sizeof(a));
	a.p = nul < data + len ? nul + 1 : nul;
	a.end = data + len;
	l.tpl = tpl;
	l.tpllen = tlen;
	l.data = (const char *)a.p;
	l.datalen = (size_t)(a.end - a.p);
	/* the bottom frame is always a map, the top one anything */
	i = mf_byte(&a) % 6;
	bottom = mus_map(mf_pairs(&a, i, 1), i);
	if (bottom.pairs == NULL)
		bottom.n = 0;
	top = mf_val(&a, 1);
	stack[0] = &bottom;
	stack[1] = &top;

	for (flags = 0; flags <= MUS_NOESCAPE; flags += MUS_NOESCAPE) {
		err[0] = '\0';
		t = mus_compile(tpl, tlen, flags, mf_load, &l, err,
		    sizeof(err));
		if (t == NULL) {
			FUZZ_CHECK(err[0] != '\0');
			FUZZ_CHECK(strchr(err, '\n') == NULL);
			continue;
		}
		mf_render(t, stack, 1);
		mf_render(t, stack, 2);
		mus_free(t);
	}
	for (i = 0; i < a.nstrs; i++)
		mf_escape(a.strs[i], a.strlens[i]);
	free(tpl);
	return 0;
}
