/*
 * mustache_test.c -- the official mustache spec suites (interpolation,
 * sections, inverted, comments, delimiters, partials; copied under
 * tests/mustache-spec/) plus our own cases: MUS_NOESCAPE, escaping of ',
 * compile errors with line numbers, the partial depth cap, nested partial
 * indentation, several context frames, and repeated and concurrent
 * renders of one compiled template.  Run from the repository root.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "mustache.h"
#include "unit.h"

#define SPECDIR	"tests/mustache-spec/"

/* Everything a converted JSON value owns, freed after each spec test. */
struct pool {
	void	**p;
	size_t	  n, cap;
};

static void	*pool_alloc(struct pool *, size_t);
static void	 pool_free(struct pool *);
static void	 json_to_val(struct pool *, json_t *, struct mus_val *);
static int	 spec_loader(void *, const char *, const char **, size_t *);
static void	 print_quoted(const char *, size_t);
static void	 spec_file(const char *);
static int	 table_loader(void *, const char *, const char **, size_t *);
static char	*render1(const char *, int, const char *const *,
		    const struct mus_val *const *, size_t, int *, char *,
		    size_t);
static void	 test_escaping(void);
static void	 test_frames(void);
static void	 test_sections(void);
static void	 test_partials(void);
static void	 test_errors(void);
static void	 test_depth(void);
static void	*render_thread(void *);
static void	 test_repeat(void);

static void *
pool_alloc(struct pool *pl, size_t size)
{
	void	*p;

	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 64;
		if ((pl->p = realloc(pl->p, pl->cap * sizeof(*pl->p))) == NULL)
			abort();
	}
	if ((p = calloc(1, size ? size : 1)) == NULL)
		abort();
	pl->p[pl->n++] = p;
	return p;
}

static void
pool_free(struct pool *pl)
{
	size_t	 i;

	for (i = 0; i < pl->n; i++)
		free(pl->p[i]);
	free(pl->p);
	memset(pl, 0, sizeof(*pl));
}

/* Numbers become strings as the spec expects them printed: integers
 * without decimals, reals in their shortest exact form (1.21). */
static void
json_to_val(struct pool *pl, json_t *j, struct mus_val *v)
{
	struct mus_val	*items;
	struct mus_pair	*pairs;
	const char	*key;
	json_t		*e;
	char		*s;
	size_t		 i;

	memset(v, 0, sizeof(*v));
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		pairs = pool_alloc(pl, json_object_size(j) * sizeof(*pairs));
		i = 0;
		json_object_foreach(j, key, e) {
			pairs[i].key = key;
			json_to_val(pl, e, &pairs[i].val);
			i++;
		}
		*v = mus_map(pairs, i);
		break;
	case JSON_ARRAY:
		items = pool_alloc(pl, json_array_size(j) * sizeof(*items));
		json_array_foreach(j, i, e)
			json_to_val(pl, e, &items[i]);
		*v = mus_list(items, json_array_size(j));
		break;
	case JSON_STRING:
		*v = mus_str(json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		s = pool_alloc(pl, 32);
		snprintf(s, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		*v = mus_str(s, strlen(s));
		break;
	case JSON_REAL:
		s = pool_alloc(pl, 32);
		snprintf(s, 32, "%.15g", json_real_value(j));
		if (strtod(s, NULL) != json_real_value(j))
			snprintf(s, 32, "%.17g", json_real_value(j));
		*v = mus_str(s, strlen(s));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		*v = mus_bool(json_is_true(j));
		break;
	case JSON_NULL:
		v->kind = MUS_NULL;
		break;
	}
}

static int
spec_loader(void *arg, const char *name, const char **src, size_t *len)
{
	json_t	*p;

	if (arg == NULL || (p = json_object_get(arg, name)) == NULL ||
	    !json_is_string(p))
		return -1;
	*src = json_string_value(p);
	*len = json_string_length(p);
	return 0;
}

static void
print_quoted(const char *s, size_t len)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < len; i++) {
		if (s[i] == '\n')
			fputs("\\n", stdout);
		else if (s[i] == '\r')
			fputs("\\r", stdout);
		else if (s[i] == '\t')
			fputs("\\t", stdout);
		else if (s[i] == '"' || s[i] == '\\')
			printf("\\%c", s[i]);
		else
			putchar(s[i]);
	}
	putchar('"');
}

static void
spec_file(const char *file)
{
	char			 path[256], err[256];
	json_t			*root, *tests, *tc, *jtpl, *jwant;
	json_error_t		 jerr;
	struct pool		 pl;
	struct mus_val		 data;
	const struct mus_val	*stack[1];
	struct mus_tpl		*tpl;
	struct buf		 out = BUF_INIT;
	const char		*name, *want;
	size_t			 i, wantlen, ran = 0, failed = 0;
	int			 ok;

	snprintf(path, sizeof(path), SPECDIR "%s", file);
	if ((root = json_load_file(path, 0, &jerr)) == NULL) {
		printf("FAIL %s: %s line %d\n", path, jerr.text, jerr.line);
		unit_fail++;
		return;
	}
	tests = json_object_get(root, "tests");
	CHECK(file, json_is_array(tests) && json_array_size(tests) > 0);
	json_array_foreach(tests, i, tc) {
		name = json_string_value(json_object_get(tc, "name"));
		if (name == NULL || strstr(name, "ambda") != NULL)
			continue;
		jtpl = json_object_get(tc, "template");
		jwant = json_object_get(tc, "expected");
		want = json_string_value(jwant);
		wantlen = json_string_length(jwant);
		memset(&pl, 0, sizeof(pl));
		json_to_val(&pl, json_object_get(tc, "data"), &data);
		stack[0] = &data;
		ran++;
		ok = 0;
		tpl = mus_compile(json_string_value(jtpl),
		    json_string_length(jtpl), 0, spec_loader,
		    json_object_get(tc, "partials"), err, sizeof(err));
		if (tpl == NULL)
			printf("FAIL %s: %s: compile: %s\n", file, name, err);
		else {
			buf_reset(&out);
			if (mus_render(tpl, stack, 1, &out) == -1)
				printf("FAIL %s: %s: render returned -1\n",
				    file, name);
			else if (out.len != wantlen ||
			    memcmp(out.p, want, wantlen) != 0) {
				printf("FAIL %s: %s: got ", file, name);
				print_quoted(out.p, out.len);
				fputs(", want ", stdout);
				print_quoted(want, wantlen);
				putchar('\n');
			} else
				ok = 1;
			mus_free(tpl);
		}
		if (ok)
			unit_pass++;
		else {
			unit_fail++;
			failed++;
		}
		pool_free(&pl);
	}
	printf("spec %s: %zu tests, %zu failed\n", file, ran, failed);
	buf_free(&out);
	json_decref(root);
}

/* arg: NULL-terminated name, source, name, source, ... */
static int
table_loader(void *arg, const char *name, const char **src, size_t *len)
{
	const char *const	*p;

	for (p = arg; p != NULL && p[0] != NULL; p += 2) {
		if (strcmp(p[0], name) == 0) {
			*src = p[1];
			*len = strlen(p[1]);
			return 0;
		}
	}
	return -1;
}

/* Compile and render once; returns the output (caller frees) or NULL
 * with the compile error in err.  *rc gets mus_render's result. */
static char *
render1(const char *src, int flags, const char *const *partials,
    const struct mus_val *const *stack, size_t depth, int *rc, char *err,
    size_t errlen)
{
	struct mus_tpl	*tpl;
	struct buf	 out = BUF_INIT;

	*rc = 0;
	tpl = mus_compile(src, strlen(src), flags, table_loader,
	    (void *)partials, err, errlen);
	if (tpl == NULL)
		return NULL;
	*rc = mus_render(tpl, stack, depth, &out);
	mus_free(tpl);
	return buf_detach(&out);
}

static void
test_escaping(void)
{
	static const char	 nasty[] = "<a href=\"x\">Tom & 'Jerry'</a>";
	static const struct {
		const char	*name, *tpl;
		int		 flags;
		const char	*want;
	} cases[] = {
		{ "escaped", "{{v}}", 0,
		    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;"
		    "&lt;/a&gt;" },
		{ "triple raw", "{{{v}}}", 0, nasty },
		{ "ampersand raw", "{{& v }}", 0, nasty },
		{ "noescape var", "{{v}}", MUS_NOESCAPE, nasty },
		{ "noescape triple", "{{{v}}}", MUS_NOESCAPE, nasty },
		{ "noescape partial", "[{{>p}}]", MUS_NOESCAPE,
		    "[<a href=\"x\">Tom & 'Jerry'</a>]" },
		{ "escape partial", "[{{>p}}]", 0,
		    "[&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;"
		    "&lt;/a&gt;]" },
		{ "utf-8 untouched", "“{{t}}” – {{n}}…", 0,
		    "“Grève à l’aube” – Zoë Ñúñez…" },
		{ "utf-8 escaped mix", "{{m}}", 0, "café &amp; crème" },
		{ "bool", "{{yes}}/{{no}}", 0, "true/false" },
		{ "list and map print nothing", "[{{l}}{{m2}}]", 0, "[]" },
		{ "missing", "[{{nothing}}{{{nothing}}}]", 0, "[]" },
	};
	static const char *const partials[] = { "p", "{{v}}", NULL };
	struct mus_val		 items[1];
	struct mus_pair		 pairs[8];
	struct mus_val		 data;
	const struct mus_val	*stack[1];
	char			 err[128], *got;
	size_t			 i;
	int			 rc;

	items[0] = mus_str("x", 1);
	pairs[0].key = "v";
	pairs[0].val = mus_str(nasty, strlen(nasty));
	pairs[1].key = "t";
	pairs[1].val = mus_str("Grève à l’aube", strlen("Grève à l’aube"));
	pairs[2].key = "n";
	pairs[2].val = mus_str("Zoë Ñúñez", strlen("Zoë Ñúñez"));
	pairs[3].key = "m";
	pairs[3].val = mus_str("café & crème", strlen("café & crème"));
	pairs[4].key = "yes";
	pairs[4].val = mus_bool(1);
	pairs[5].key = "no";
	pairs[5].val = mus_bool(0);
	pairs[6].key = "l";
	pairs[6].val = mus_list(items, 1);
	pairs[7].key = "m2";
	pairs[7].val = mus_map(pairs, 2);
	data = mus_map(pairs, 8);
	stack[0] = &data;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = render1(cases[i].tpl, cases[i].flags, partials, stack, 1,
		    &rc, err, sizeof(err));
		CHECK_STR(cases[i].name, got ? got : err, cases[i].want);
		CHECK_INT(cases[i].name, rc, 0);
		free(got);
	}
}

/* A shared broadcast frame below a per-recipient frame. */
static void
test_frames(void)
{
	struct mus_pair		 bpairs[3], rpairs[2], inner[1];
	struct mus_val		 bframe, rframe;
	const struct mus_val	*stack[2];
	char			 err[128], *got;
	int			 rc;

	bpairs[0].key = "title";
	bpairs[0].val = mus_str("Appel – 1er mai", strlen("Appel – 1er mai"));
	bpairs[1].key = "name";
	bpairs[1].val = mus_str("ami", 3);
	inner[0].key = "title";
	inner[0].val = mus_str("inner", 5);
	bpairs[2].key = "box";
	bpairs[2].val = mus_map(inner, 1);
	bframe = mus_map(bpairs, 3);
	rpairs[0].key = "name";
	rpairs[0].val = mus_str("Zoë", strlen("Zoë"));
	rpairs[1].key = "email";
	rpairs[1].val = mus_str("zoe@example.org", 15);
	rframe = mus_map(rpairs, 2);
	stack[0] = &bframe;
	stack[1] = &rframe;

	got = render1("{{title}}: {{name}} <{{email}}>", 0, NULL, stack, 2,
	    &rc, err, sizeof(err));
	CHECK_STR("top frame shadows", got ? got : err,
	    "Appel – 1er mai: Zoë <zoe@example.org>");
	free(got);
	got = render1("{{#box}}{{title}}/{{name}}{{/box}}", 0, NULL, stack, 2,
	    &rc, err, sizeof(err));
	CHECK_STR("section frame over both", got ? got : err, "inner/Zoë");
	free(got);
	got = render1("{{name}}", 0, NULL, stack, 1, &rc, err, sizeof(err));
	CHECK_STR("depth 1 ignores frame 2", got ? got : err, "ami");
	free(got);
	got = render1("[{{name}}{{.}}]", 0, NULL, stack, 0, &rc, err,
	    sizeof(err));
	CHECK_STR("empty stack", got ? got : err, "[]");
	free(got);
}

static void
test_sections(void)
{
	static const struct {
		const char	*name, *tpl, *want;
	} cases[] = {
		{ "non-empty string is truthy", "{{#s}}[{{.}}]{{/s}}", "[abc]" },
		{ "empty string is falsey", "{{#e}}x{{/e}}{{^e}}y{{/e}}", "y" },
		{ "string inverted", "{{^s}}x{{/s}}", "" },
		{ "list of maps", "{{#l}}{{k}},{{/l}}", "1,2," },
		{ "null in map stops lookup", "{{#m}}[{{s}}]{{/m}}", "[]" },
		{ "set delimiters", "{{=<% %>=}}{{s}}<%s%><%={{ }}=%>{{s}}",
		    "{{s}}abcabc" },
		{ "comment multiline", "a{{! one\ntwo }}b", "ab" },
	};
	struct mus_pair		 kv[2], mp[1], pairs[4];
	struct mus_val		 items[2], data;
	const struct mus_val	*stack[1];
	char			 err[128], *got;
	size_t			 i;
	int			 rc;

	kv[0].key = "k";
	kv[0].val = mus_str("1", 1);
	kv[1].key = "k";
	kv[1].val = mus_str("2", 1);
	items[0] = mus_map(&kv[0], 1);
	items[1] = mus_map(&kv[1], 1);
	mp[0].key = "s";
	memset(&mp[0].val, 0, sizeof(mp[0].val));	/* MUS_NULL */
	pairs[0].key = "s";
	pairs[0].val = mus_str("abc", 3);
	pairs[1].key = "e";
	pairs[1].val = mus_str("", 0);
	pairs[2].key = "l";
	pairs[2].val = mus_list(items, 2);
	pairs[3].key = "m";
	pairs[3].val = mus_map(mp, 1);
	data = mus_map(pairs, 4);
	stack[0] = &data;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = render1(cases[i].tpl, 0, NULL, stack, 1, &rc, err,
		    sizeof(err));
		CHECK_STR(cases[i].name, got ? got : err, cases[i].want);
		free(got);
	}
}

static void
test_partials(void)
{
	static const struct {
		const char	*name, *tpl, *want;
	} cases[] = {
		{ "indent accumulates", "  {{>a}}\n",
		    "  x\n   1\n   2\n  y\n" },
		{ "inline partial not indented", "  {{>a}}!\n",
		    "  x\n 1\n 2\ny\n!\n" },
		{ "inline inside standalone", "\t{{>c}}\n", "\ta i\nj\n" },
		{ "sections in indented partial", "  {{>s}}\n",
		    "  - a\n  - b\n" },
		{ "text before tag: not standalone", "> {{>s}}\n",
		    "> - a\n- b\n\n" },
		{ "missing partial is empty", "[{{>nope}}]", "[]" },
	};
	static const char *const withc[] = {
		"a", "x\n {{>b}}\ny\n",
		"b", "1\n2\n",
		"c", "a {{>inline}}\n",
		"inline", "i\nj",
		"s", "{{#l}}\n- {{.}}\n{{/l}}\n",
		NULL,
	};
	struct mus_val		 items[2], data;
	struct mus_pair		 pairs[1];
	const struct mus_val	*stack[1];
	char			 err[128], *got;
	size_t			 i;
	int			 rc;

	items[0] = mus_str("a", 1);
	items[1] = mus_str("b", 1);
	pairs[0].key = "l";
	pairs[0].val = mus_list(items, 2);
	data = mus_map(pairs, 1);
	stack[0] = &data;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = render1(cases[i].tpl, 0, withc, stack, 1, &rc, err,
		    sizeof(err));
		CHECK_STR(cases[i].name, got ? got : err, cases[i].want);
		CHECK_INT(cases[i].name, rc, 0);
		free(got);
	}
}

static void
test_errors(void)
{
	static const char *const partials[] = {
		"bad", "ok\n{{#x}}\n",
		"good", "{{>bad}}",
		NULL,
	};
	static const struct {
		const char	*name, *tpl, *want;
	} cases[] = {
		{ "unclosed tag", "ab {{x", "line 1: unclosed tag" },
		{ "unclosed triple", "\n{{{x}}", "line 2: unclosed tag" },
		{ "unclosed section", "a\nb {{#s}}\nc",
		    "line 2: unclosed section \"s\"" },
		{ "innermost unclosed", "{{#a}}\n{{^b}}\n{{/a}}",
		    "line 3: {{/a}} closes section \"b\" of line 2" },
		{ "mismatched close", "{{#a}}\n\n{{/b}}",
		    "line 3: {{/b}} closes section \"a\" of line 1" },
		{ "unexpected close", "x\n\n{{/a}}", "line 3: unexpected {{/a}}" },
		{ "unclosed set delimiter", "{{=<% %>", "line 1: unclosed tag" },
		{ "three delimiters", "x\n{{= a b c =}}",
		    "line 2: bad delimiter \" a b c \"" },
		{ "one delimiter", "{{=<%%>=}}", "line 1: bad delimiter \"<%%>\"" },
		{ "no closing =", "{{=<% %>}}", "line 1: bad delimiter tag" },
		{ "empty tag", "\n\n{{ }}", "line 3: empty tag" },
		{ "empty section", "{{#}}{{/}}", "line 1: empty tag" },
		{ "double dot", "{{a..b}}", "line 1: bad name \"a..b\"" },
		{ "trailing dot", "{{#a.}}{{/a.}}", "line 1: bad name \"a.\"" },
		{ "space in name", "{{a b}}", "line 1: bad name \"a b\"" },
		{ "error in partial", "x\n{{>bad}}",
		    "line 2: partial \"bad\": line 2: unclosed section \"x\"" },
		{ "error in nested partial", "{{>good}}",
		    "line 1: partial \"bad\": line 2: unclosed section \"x\"" },
		{ "new delimiters in effect", "{{=| |=}}|#a|{{/a}}",
		    "line 1: unclosed section \"a\"" },
	};
	struct mus_tpl	*tpl;
	struct buf	 deep = BUF_INIT;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		tpl = mus_compile(cases[i].tpl, strlen(cases[i].tpl), 0,
		    table_loader, (void *)partials, err, sizeof(err));
		CHECK(cases[i].name, tpl == NULL);
		CHECK_STR(cases[i].name, err, cases[i].want);
		mus_free(tpl);
	}

	/* Nesting: 128 sections compile, 129 do not. */
	for (i = 0; i < 128; i++)
		buf_addstr(&deep, "{{#a}}");
	for (i = 0; i < 128; i++)
		buf_addstr(&deep, "{{/a}}");
	tpl = mus_compile(deep.p, deep.len, 0, NULL, NULL, err, sizeof(err));
	CHECK("128 nested sections", tpl != NULL);
	mus_free(tpl);
	buf_reset(&deep);
	for (i = 0; i < 129; i++)
		buf_addstr(&deep, "{{#a}}\n");
	tpl = mus_compile(deep.p, deep.len, 0, NULL, NULL, err, sizeof(err));
	CHECK("129 nested sections", tpl == NULL);
	CHECK_STR("129 nested sections", err,
	    "line 129: sections nested too deep");
	buf_free(&deep);

	/* A tiny error buffer is never overrun and stays a string. */
	tpl = mus_compile("{{#a}}", 6, 0, NULL, NULL, err, 8);
	CHECK("short err buffer", tpl == NULL && strlen(err) == 7);
	CHECK("zero err buffer", mus_compile("{{", 2, 0, NULL, NULL, NULL,
	    0) == NULL);
}

/*
 * Recursion: "n" renders a value and recurses into "c".  With data
 * nested N deep, the partial is entered N times: 64 is allowed, 65 and
 * a partial that includes itself unconditionally are not.
 */
static void
test_depth(void)
{
	static const char *const partials[] = {
		"n", "{{v}}{{#c}}{{>n}}{{/c}}",
		"loop", "x{{>loop}}",
		"twice", "{{#c}}{{>twice}}{{>twice}}{{/c}}",
		"wide", "{{#l}}{{>leaf}}{{/l}}",
		"leaf", "{{.}}",
		NULL,
	};
	struct mus_pair		 pairs[66][2];
	struct mus_val		 data[66];
	const struct mus_val	*stack[1];
	struct buf		 want = BUF_INIT;
	char			 err[128], *got;
	int			 i, rc;

	for (i = 65; i >= 0; i--) {
		pairs[i][0].key = "v";
		pairs[i][0].val = mus_str(&"ab"[i % 2], 1);
		pairs[i][1].key = "c";
		if (i == 65)
			memset(&pairs[i][1].val, 0, sizeof(pairs[i][1].val));
		else
			pairs[i][1].val = mus_map(pairs[i + 1], 2);
		data[i] = mus_map(pairs[i], 2);
	}
	/* From data[k] the partial is entered 66 - k times. */
	stack[0] = &data[2];
	got = render1("{{>n}}", 0, partials, stack, 1, &rc, err, sizeof(err));
	for (i = 2; i <= 65; i++)
		buf_addc(&want, "ab"[i % 2]);
	CHECK_INT("64 partial levels render", rc, 0);
	CHECK_STR("64 partial levels output", got ? got : err, want.p);
	free(got);

	stack[0] = &data[1];
	got = render1("{{>n}}", 0, partials, stack, 1, &rc, err, sizeof(err));
	CHECK_INT("65 partial levels fail", rc, -1);
	free(got);

	got = render1("{{>loop}}", 0, partials, stack, 1, &rc, err,
	    sizeof(err));
	CHECK_INT("endless recursion fails", rc, -1);
	CHECK("endless recursion compiled", got != NULL);
	free(got);

	/* Doubling per level, 36 levels: within the depth cap but 2^36
	 * steps unless the total is bounded. */
	stack[0] = &data[30];
	got = render1("{{>twice}}", 0, partials, stack, 1, &rc, err,
	    sizeof(err));
	CHECK_INT("exponential partials fail", rc, -1);
	free(got);

	/* Many shallow partials are fine: one per list item. */
	{
		static struct mus_val	 many[100000];
		struct mus_pair		 lp[1];
		struct mus_val		 ldata;
		size_t			 k;

		for (k = 0; k < 100000; k++)
			many[k] = mus_str("z", 1);
		lp[0].key = "l";
		lp[0].val = mus_list(many, 100000);
		ldata = mus_map(lp, 1);
		stack[0] = &ldata;
		got = render1("{{>wide}}", 0, partials, stack, 1, &rc, err,
		    sizeof(err));
		CHECK_INT("100000 partials render", rc, 0);
		CHECK_INT("100000 partials output", got ? strlen(got) : 0,
		    100000);
		free(got);
	}
	buf_free(&want);
}

struct thread_arg {
	const struct mus_tpl	*tpl;
	const struct mus_val	*base;
	const char		*want;
	int			 bad;
};

/* Per-recipient frame on this thread's stack, shared compiled template. */
static void *
render_thread(void *arg)
{
	struct thread_arg	*ta = arg;
	struct mus_pair		 rp[1];
	struct mus_val		 rframe;
	const struct mus_val	*stack[2];
	struct buf		 out = BUF_INIT;
	int			 i;

	rp[0].key = "name";
	rp[0].val = mus_str("Zoë", strlen("Zoë"));
	rframe = mus_map(rp, 1);
	stack[0] = ta->base;
	stack[1] = &rframe;
	for (i = 0; i < 2000; i++) {
		buf_reset(&out);
		if (mus_render(ta->tpl, stack, 2, &out) == -1 ||
		    strcmp(out.p, ta->want) != 0)
			ta->bad++;
	}
	buf_free(&out);
	return NULL;
}

static void
test_repeat(void)
{
	static const char	 src[] =
	    "Bonjour {{name}},\n"
	    "{{#items}}\n"
	    "  * {{title}} – {{>by}}\n"
	    "{{/items}}\n"
	    "{{^items}}nothing{{/items}}\n";
	static const char *const partials[] = { "by", "par {{who}}", NULL };
	static const char	 want1[] =
	    "Bonjour Zoë,\n"
	    "  * “Un” – par A&amp;B\n"
	    "  * Deux… – par C\n"
	    "\n";
	struct mus_pair		 ip[2][2], bp[2], rp[1];
	struct mus_val		 items[2], base, rframe;
	const struct mus_val	*stack[2];
	struct mus_tpl		*tpl;
	struct buf		 a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	struct thread_arg	 ta[4];
	pthread_t		 th[4];
	char			 err[128];
	int			 i;

	ip[0][0].key = "title";
	ip[0][0].val = mus_str("“Un”", strlen("“Un”"));
	ip[0][1].key = "who";
	ip[0][1].val = mus_str("A&B", 3);
	ip[1][0].key = "title";
	ip[1][0].val = mus_str("Deux…", strlen("Deux…"));
	ip[1][1].key = "who";
	ip[1][1].val = mus_str("C", 1);
	items[0] = mus_map(ip[0], 2);
	items[1] = mus_map(ip[1], 2);
	bp[0].key = "items";
	bp[0].val = mus_list(items, 2);
	bp[1].key = "name";
	bp[1].val = mus_str("ami", 3);
	base = mus_map(bp, 2);
	rp[0].key = "name";
	rp[0].val = mus_str("Zoë", strlen("Zoë"));
	rframe = mus_map(rp, 1);
	stack[0] = &base;
	stack[1] = &rframe;

	tpl = mus_compile(src, strlen(src), 0, table_loader,
	    (void *)partials, err, sizeof(err));
	CHECK_STR("repeat compile", tpl ? "" : err, "");
	if (tpl == NULL)
		return;
	CHECK_INT("render 1", mus_render(tpl, stack, 2, &a), 0);
	CHECK_INT("render 2", mus_render(tpl, stack, 2, &b), 0);
	CHECK_STR("first render", a.p, want1);
	CHECK_STR("second render identical", b.p, a.p);
	/* Appends to what is already in the buffer. */
	CHECK_INT("render 3", mus_render(tpl, stack, 2, &b), 0);
	CHECK_INT("appends", b.len, 2 * a.len);
	/* Another recipient, same template. */
	stack[1] = &base;
	CHECK_INT("render 4", mus_render(tpl, stack, 1, &c), 0);
	CHECK_STR("other recipient", c.p,
	    "Bonjour ami,\n"
	    "  * “Un” – par A&amp;B\n"
	    "  * Deux… – par C\n"
	    "\n");

	for (i = 0; i < 4; i++) {
		ta[i].tpl = tpl;
		ta[i].base = &base;
		ta[i].want = want1;
		ta[i].bad = 0;
		if (pthread_create(&th[i], NULL, render_thread, &ta[i]) != 0)
			abort();
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT("concurrent renders", ta[i].bad, 0);
	}
	mus_free(tpl);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

int
main(void)
{
	static const char *const files[] = {
		"interpolation.json", "sections.json", "inverted.json",
		"comments.json", "delimiters.json", "partials.json",
	};
	size_t	 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		spec_file(files[i]);
	test_escaping();
	test_frames();
	test_sections();
	test_partials();
	test_errors();
	test_depth();
	test_repeat();
	return unit_done("mustache");
}
