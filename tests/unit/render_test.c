/*
 * render_test.c -- the renderer end to end: golden MIME messages for a
 * fixture statement, the per-line cache against the direct path, header
 * injection through every recipient field, template overrides and name
 * checks, archive and feed pages, and concurrent use.
 *
 * Modes (environment):
 *	UPDATE_GOLDEN=1		rewrite the golden files in tests/golden
 *	FEED_OUT=PATH		write a feed of 3 items to PATH and exit
 *	BENCH_RENDER=N		render N personalised messages, print msgs/s
 *	BENCH_LANGS=K		... of a statement in K languages (1 to 10),
 *				each version rendered once, each recipient's
 *				picked as the engine does (lang_pick)
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "lang.h"
#include "mustache.h"
#include "render.h"
#include "rss.h"
#include "statement.h"
#include "token.h"
#include "unit.h"

#define GOLDEN		"tests/golden"

static const unsigned char key[32] = "render-test-key-0123456789abcdef";
static const time_t when = 1773316800;		/* 2026-03-12 12:00:00 UTC */

static struct render_site site = {
	"Lower Valley Letters",
	"Lower Valley Café",
	"letters@valley.example.org",
	NULL,
	"letters.valley.example.org",
	"https://valley.example.org",
	NULL,
	"templates",
	NULL,
	NULL,
	NULL,
};

static char *
slurp(const char *path, size_t *lenp)
{
	struct buf	 b = BUF_INIT;
	char		 chunk[8192];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	if (b.p == NULL)
		buf_addstr(&b, "");
	if (lenp != NULL)
		*lenp = b.len;
	return buf_detach(&b);
}

static int
spew(const char *path, const char *p, size_t len)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Compare with a golden file; on mismatch show diff -u and fail. */
static void
golden(const char *name, const struct buf *got)
{
	char	 path[256], tmp[256], cmd[600];
	char	*want;
	size_t	 wlen;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN, name);
	if (getenv("UPDATE_GOLDEN") != NULL) {
		CHECK(name, spew(path, got->p, got->len) == 0);
		printf("updated %s\n", path);
		return;
	}
	if ((want = slurp(path, &wlen)) == NULL) {
		CHECK(name, 0);
		printf("    missing %s (UPDATE_GOLDEN=1 to create)\n", path);
		return;
	}
	if (wlen == got->len && memcmp(want, got->p, wlen) == 0) {
		CHECK(name, 1);
		free(want);
		return;
	}
	CHECK(name, 0);
	snprintf(tmp, sizeof(tmp), "/tmp/render_test.%ld.%s", (long)getpid(),
	    name);
	if (spew(tmp, got->p, got->len) == 0) {
		snprintf(cmd, sizeof(cmd), "diff -u %s %s | head -60", path,
		    tmp);
		if (system(cmd) == -1)
			printf("    cannot run diff\n");
		unlink(tmp);
	}
	free(want);
}

static int
load_statement(const char *path, struct statement *st)
{
	char	*src, err[256];
	size_t	 len;
	int	 ret;

	if ((src = slurp(path, &len)) == NULL) {
		printf("cannot read %s\n", path);
		return -1;
	}
	ret = statement_parse(src, len, 0, st, err, sizeof(err));
	if (ret == -1)
		printf("%s: %s\n", path, err);
	free(src);
	return ret;
}

static struct render *
new_render(const struct statement *st, const struct render_site *s, int flags,
    const char *subject, char *err, size_t errlen)
{
	struct render_params	p;

	memset(&p, 0, sizeof(p));
	p.site = *s;
	p.st = st;
	p.broadcast_id = 7;
	p.subject = subject;
	p.key = key;
	p.keylen = sizeof(key);
	p.date = when;
	p.flags = flags;
	return render_new(&p, err, errlen);
}

/* Every line ends in CRLF and holds at most 998 octets. */
static int
wire_ok(const struct buf *b)
{
	size_t	i, col = 0;

	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '\n' && (i == 0 || b->p[i - 1] != '\r'))
			return 0;
		if (b->p[i] == '\r' && (i + 1 >= b->len || b->p[i + 1] != '\n'))
			return 0;
		if (b->p[i] == '\n')
			col = 0;
		else if (b->p[i] != '\r' && ++col > 998)
			return 0;
	}
	return b->len > 2 && b->p[b->len - 1] == '\n';
}

static const char *city_names[] = { "city", "title", "note" };

struct rcase {
	const char	*label;
	const char	*name;
	const char	*email;
	const char	*vals[3];
	size_t		 nfields;
};

static const struct rcase rcases[] = {
	{ "ascii", "Ada Lovelace", "ada@example.org", { NULL }, 0 },
	{ "no name", NULL, "anon@example.org", { NULL }, 0 },
	{ "empty name", "", "empty@example.org", { NULL }, 0 },
	{ "latin", "José Núñez-Ørsted", "jose@example.org",
	    { "Zürich", "Evil title\tX", "café & crème" }, 3 },
	{ "html chars", "<b>Tom</b> & \"Jerry\" 'O'", "tj@example.org",
	    { "<script>", "", "a&b" }, 3 },
	{ "cjk", "山田 太郎", "yamada@example.jp", { "東京", "", "" }, 3 },
	{ "rtl", "مريم العربية", "maryam@example.org", { "", "", "" }, 3 },
	{ "emoji", "Zoë 🌊🌉 Rivers", "zoe@example.org", { "🏙", "x", "" }, 3 },
	{ "long", "Maximilian Alexander Bartholomew Fitzgerald-Montgomery "
	    "the Third of Lower Valley and Beyond, Esquire",
	    "max.long.name+tag@sub.example.org",
	    { "A very long city name that goes on and on so that the line "
	    "that shows it will have to be wrapped by format=flowed", "", "" },
	    3 },
	{ "equals and dots", "=?utf-8?q?fake?= .dot", "eq@example.org",
	    { ".", "=", "From the start" }, 3 },
};

static void
rcpt_of(const struct rcase *c, uint64_t id, struct render_rcpt *r)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->email = c->email;
	r->name = c->name;
	r->field_names = city_names;
	r->field_values = c->vals;
	r->nfields = c->nfields;
}

static void
test_messages(const struct statement *st)
{
	struct render		*fast, *slow;
	struct render_rcpt	 rc;
	struct buf		 a = BUF_INIT, b = BUF_INIT;
	char			 err[256], name[64], mid[256], mid2[256];
	size_t			 i;
	int			 pass;

	fast = new_render(st, &site, 0, NULL, err, sizeof(err));
	CHECK("render_new", fast != NULL);
	if (fast == NULL) {
		printf("    %s\n", err);
		return;
	}
	slow = new_render(st, &site, RENDER_NOCACHE, NULL, err, sizeof(err));
	CHECK("render_new nocache", slow != NULL);

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		rcpt_of(&rcases[i], 100 + i, &rc);
		buf_reset(&a);
		buf_reset(&b);
		/* twice through the cache: build, then hit */
		for (pass = 0; pass < 2; pass++) {
			buf_reset(&a);
			CHECK_INT(rcases[i].label, render_message(fast, &rc, &a,
			    err, sizeof(err)), 0);
		}
		CHECK_INT(rcases[i].label, render_message(slow, &rc, &b, err,
		    sizeof(err)), 0);
		if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
			CHECK("cache == direct", 0);
			printf("    case %s differs\n", rcases[i].label);
			spew("/tmp/render_fast.eml", a.p, a.len);
			spew("/tmp/render_slow.eml", b.p, b.len);
		} else
			CHECK("cache == direct", 1);
		CHECK("wire format", wire_ok(&a));
		snprintf(name, sizeof(name), "message-%zu.eml", i);
		if (i < 5 || i == 7)
			golden(name, &a);
	}

	/* stable Message-ID, different per recipient and per broadcast */
	CHECK_INT("mid", render_message_id(fast, 1, mid, sizeof(mid)), 0);
	CHECK_INT("mid again", render_message_id(fast, 1, mid2, sizeof(mid2)),
	    0);
	CHECK_STR("mid stable", mid, mid2);
	render_message_id(fast, 2, mid2, sizeof(mid2));
	CHECK("mid per recipient", strcmp(mid, mid2) != 0);
	CHECK("mid domain", strstr(mid, "@letters.valley.example.org") != NULL);

	/* the unsubscribe link carries a token that verifies */
	rcpt_of(&rcases[0], 4242, &rc);
	buf_reset(&a);
	render_part(fast, &rc, "text", &a, err, sizeof(err));
	{
		const char	*u = strstr(a.p, "unsubscribe?t=");
		char		 tok[TOKEN_SIZE];
		uint64_t	 id = 0;

		CHECK("unsubscribe url in text", u != NULL);
		if (u != NULL) {
			memcpy(tok, u + 14, TOKEN_LEN);
			tok[TOKEN_LEN] = '\0';
			CHECK_INT("token verifies", token_check(key,
			    sizeof(key), "unsubscribe", tok, &id), 0);
			CHECK("token id", id == 4242);
		}
	}
	buf_reset(&a);
	CHECK_INT("part html", render_part(fast, &rc, "html", &a, err,
	    sizeof(err)), 0);
	CHECK("html has title", strstr(a.p, "Rivers, bridges") != NULL);
	CHECK("html has dark mode", strstr(a.p, "color-scheme") != NULL);
	CHECK_INT("part bogus", render_part(fast, &rc, "pdf", &a, err,
	    sizeof(err)), -1);

	buf_free(&a);
	buf_free(&b);
	render_free(fast);
	render_free(slow);
}

static void
test_injection(const struct statement *st)
{
	static const char	*fn[] = { "city" }, *fnbad[] = { "ci\nty" };
	const char		*fv[1];
	struct render		*r;
	struct render_rcpt	 rc;
	struct statement	 st2;
	struct buf		 out = BUF_INIT;
	char			 err[256];
	size_t			 i;
	static const struct {
		const char	*label, *name, *email, *field;
		int		 badname;
	} bad[] = {
		{ "name CRLF", "Eve\r\nBcc: victim@example.org", "e@example.org",
		    "x", 0 },
		{ "name LF", "Eve\nX-Evil: 1", "e@example.org", "x", 0 },
		{ "name CR", "Eve\rX", "e@example.org", "x", 0 },
		{ "email CRLF", "Eve", "e@example.org\r\nBcc: v@example.org",
		    "x", 0 },
		{ "email space", "Eve", "e @example.org", "x", 0 },
		{ "field CRLF", "Eve", "e@example.org", "Paris\r\nBcc: v@x.org",
		    0 },
		{ "field LF", "Eve", "e@example.org", "a\nb", 0 },
		{ "field name LF", "Eve", "e@example.org", "x", 1 },
		{ "bad utf-8 name", "Ev\xc3\x28", "e@example.org", "x", 0 },
		{ "bad utf-8 field", "Eve", "e@example.org", "\xff", 0 },
	};

	r = new_render(st, &site, 0, NULL, err, sizeof(err));
	if (r == NULL) {
		CHECK("render_new", 0);
		return;
	}
	buf_addstr(&out, "keep");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&rc, 0, sizeof(rc));
		rc.id = 1;
		rc.name = bad[i].name;
		rc.email = bad[i].email;
		fv[0] = bad[i].field;
		rc.field_names = bad[i].badname ? fnbad : fn;
		rc.field_values = fv;
		rc.nfields = 1;
		err[0] = '\0';
		CHECK_INT(bad[i].label, render_message(r, &rc, &out, err,
		    sizeof(err)), -1);
		CHECK(bad[i].label, out.len == 4 && strcmp(out.p, "keep") == 0);
		CHECK(bad[i].label, err[0] != '\0' && strchr(err, '\n') ==
		    NULL && strchr(err, '\r') == NULL);
	}
	render_free(r);

	/* title and subject with CR or LF never reach the Subject */
	st2 = *st;
	st2.title = "Good title\r\nBcc: victim@example.org";
	r = new_render(&st2, &site, 0, NULL, err, sizeof(err));
	CHECK("title CRLF refused", r == NULL);
	render_free(r);
	st2.title = "Good title\rX";
	r = new_render(&st2, &site, 0, NULL, err, sizeof(err));
	CHECK("title CR refused", r == NULL);
	render_free(r);
	r = new_render(st, &site, 0, "Subject\nBcc: v@example.org", err,
	    sizeof(err));
	CHECK("subject LF refused", r == NULL);
	render_free(r);
	buf_free(&out);
}

#define FIELDS_TXT \
	"{{#name}}Dear {{name}},{{/name}}{{^name}}Dear reader,{{/name}}\n" \
	"{{title}} for {{email}} in {{city}}{{^city}}nowhere{{/city}}.\n" \
	"{{#fields}}[{{title}}|{{note}}]{{/fields}} {{fields.city}}\n" \
	"A long line that will need to wrap because it is long, {{name}} " \
	"and {{city}} and {{note}} and {{unsubscribe_url}} again.\n" \
	"{{#note}}note: {{.}}{{/note}}\n" \
	">{{name}}\n" \
	"{{name}}"
#define FIELDS_HTML \
	"<p>{{name}} / {{{name}}} / {{&email}}</p>\n" \
	"<p>city={{city}} note={{note}} raw={{{note}}}</p>\n" \
	"{{#city}}<b>{{.}}</b>{{/city}}{{^city}}<i>no city</i>{{/city}}\n" \
	"<a href=\"{{unsubscribe_url}}\">{{fields.title}}</a> {{title}}"

static void
test_templates(const struct statement *st)
{
	struct render_site	 s = site;
	struct render		*r;
	struct render_rcpt	 rc;
	struct buf		 out = BUF_INIT;
	char			 dir[] = "/tmp/render_tplXXXXXX", path[256];
	char			 err[256];
	struct mus_pair		 vars[1];

	if (mkdtemp(dir) == NULL) {
		CHECK("mkdtemp", 0);
		return;
	}
	s.tpl_dir = dir;
	snprintf(path, sizeof(path), "%s/email.txt.mustache", dir);
	spew(path, "Hello {{name}}{{> sig}}\n", 24);
	snprintf(path, sizeof(path), "%s/sig.mustache", dir);
	spew(path, " -- {{list_name}}", 17);
	r = new_render(st, &s, 0, NULL, err, sizeof(err));
	CHECK("override render_new", r != NULL);
	if (r != NULL) {
		rcpt_of(&rcases[0], 1, &rc);
		render_part(r, &rc, "text", &out, err, sizeof(err));
		CHECK_STR("override text", out.p,
		    "Hello Ada Lovelace -- Lower Valley Letters\n");
		buf_reset(&out);
		render_part(r, &rc, "html", &out, err, sizeof(err));
		CHECK("html falls back to default", out.p != NULL &&
		    strstr(out.p, "<h1") != NULL);
		render_free(r);
	}

	/*
	 * Recipient values in sections, escaped and raw, dotted, shadowing
	 * a broadcast name inside a section, on long lines that wrap: the
	 * per-line cache must give exactly the direct rendering.
	 */
	snprintf(path, sizeof(path), "%s/email.txt.mustache", dir);
	spew(path, FIELDS_TXT, strlen(FIELDS_TXT));
	snprintf(path, sizeof(path), "%s/email.html.mustache", dir);
	spew(path, FIELDS_HTML, strlen(FIELDS_HTML));
	{
		struct render	*fast, *slow;
		struct buf	 a = BUF_INIT, b = BUF_INIT;
		size_t		 i;
		int		 same = 1;

		fast = new_render(st, &s, 0, NULL, err, sizeof(err));
		slow = new_render(st, &s, RENDER_NOCACHE, NULL, err,
		    sizeof(err));
		CHECK("fields templates", fast != NULL && slow != NULL);
		for (i = 0; fast && slow && i < sizeof(rcases) /
		    sizeof(rcases[0]); i++) {
			rcpt_of(&rcases[i], 100 + i, &rc);
			buf_reset(&a);
			buf_reset(&b);
			render_message(fast, &rc, &a, err, sizeof(err));
			render_message(fast, &rc, &a, err, sizeof(err));
			render_message(slow, &rc, &b, err, sizeof(err));
			render_message(slow, &rc, &b, err, sizeof(err));
			if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
				same = 0;
				printf("    fields case %s differs\n",
				    rcases[i].label);
			}
		}
		CHECK("fields: cache == direct", same);
		rcpt_of(&rcases[3], 1, &rc);
		buf_reset(&a);
		if (fast != NULL)
			render_part(fast, &rc, "html", &a, err, sizeof(err));
		CHECK("field escaped in html", a.p != NULL && strstr(a.p,
		    "city=Z\xc3\xbcrich note=caf\xc3\xa9 &amp; cr\xc3\xa8me "
		    "raw=caf\xc3\xa9 & cr\xc3\xa8me") != NULL);
		buf_free(&a);
		buf_free(&b);
		render_free(fast);
		render_free(slow);
		snprintf(path, sizeof(path), "%s/email.html.mustache", dir);
		unlink(path);
	}

	/* partial names cannot leave the folders */
	snprintf(path, sizeof(path), "%s/sig.mustache", dir);
	spew(path, "{{> ../etc/passwd}}", 19);
	snprintf(path, sizeof(path), "%s/email.txt.mustache", dir);
	spew(path, "x{{> ../sig}}", 13);
	r = new_render(st, &s, 0, NULL, err, sizeof(err));
	CHECK("partial ../ refused", r == NULL);
	CHECK("partial error names it", strstr(err, "bad template name") !=
	    NULL);
	render_free(r);
	spew(path, "x{{> /etc/passwd}}", 18);
	r = new_render(st, &s, 0, NULL, err, sizeof(err));
	CHECK("partial absolute refused", r == NULL);
	render_free(r);

	/* a template that emits the placeholder bytes is refused */
	spew(path, "x\001\002{{name}}\n", 12);
	r = new_render(st, &s, 0, NULL, err, sizeof(err));
	if (r != NULL) {
		rcpt_of(&rcases[0], 1, &rc);
		buf_reset(&out);
		CHECK_INT("marker bytes refused", render_message(r, &rc, &out,
		    err, sizeof(err)), -1);
		render_free(r);
	}

	/* a syntax error names the file and line */
	spew(path, "ok\n{{#open}}\n", 13);
	r = new_render(st, &s, 0, NULL, err, sizeof(err));
	CHECK("syntax error", r == NULL && strstr(err, "email.txt.mustache")
	    != NULL);
	render_free(r);

	/* pages */
	vars[0].key = "action_url";
	vars[0].val = mus_str("/unsubscribe?t=abc&x=\"1\"", 24);
	buf_reset(&out);
	CHECK_INT("unsubscribe page", render_page(&site, "unsubscribe.html",
	    vars, 1, &out, err, sizeof(err)), 0);
	CHECK("form posts", strstr(out.p, "<form method=\"post\" action=\""
	    "/unsubscribe?t=abc&amp;x=&quot;1&quot;\">") != NULL);
	CHECK_INT("page ../", render_page(&site, "../unsubscribe.html", vars,
	    1, &out, err, sizeof(err)), -1);
	CHECK_INT("page abs", render_page(&site, "/etc/passwd", vars, 1, &out,
	    err, sizeof(err)), -1);
	CHECK_INT("page missing", render_page(&site, "nope", vars, 1, &out,
	    err, sizeof(err)), -1);

	snprintf(path, sizeof(path), "%s/email.txt.mustache", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sig.mustache", dir);
	unlink(path);
	rmdir(dir);
	buf_free(&out);
}

static const char *feed_titles[] = {
	"Older news: the ferry timetable",
	"Bridges & ]]> brackets <b>not bold</b>",
	"Ça ira – “Zoë’s” café…",
};

static void
feed_docs(struct render_doc *d)
{
	static const char *html[] = {
		"<p>The ferry runs until November.</p>\n",
		"<p>Code: <code>a[b[c]]></code> and ]]> again]]]></p>\n",
		"<p>“Quoted” text – with dashes… and ünïcödé.</p>\n",
	};
	size_t	i;

	for (i = 0; i < 3; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].id = i + 1;
		d[i].title = feed_titles[i];
		d[i].html = html[i];
		d[i].date_text = "some day";
		d[i].author = "the Committee";
	}
	/* not in date order, to check the sort */
	d[0].date = 1767225600;		/* 2026-01-01 */
	d[1].date = 1772323200;		/* 2026-03-01 */
	d[2].date = 1769904000;		/* 2026-02-01 */
}

static void
test_pages(const struct statement *st)
{
	struct render_doc	 d[3], one;
	struct buf		 out = BUF_INIT;
	char			 err[256];
	const char		*a, *b, *c;

	render_doc_from_statement(&one, st, 7, when);
	CHECK_INT("archive page", render_archive_page(&site, &one, &out, err,
	    sizeof(err)), 0);
	golden("archive-7.html", &out);

	feed_docs(d);
	buf_reset(&out);
	CHECK_INT("feed", render_feed(&site, d, 3, 0, when, &out, err,
	    sizeof(err)), 0);
	golden("feed.rss", &out);
	a = strstr(out.p, "/archive/2</link>");
	b = strstr(out.p, "/archive/3</link>");
	c = strstr(out.p, "/archive/1</link>");
	CHECK("feed newest first", a && b && c && a < b && b < c);
	CHECK("cdata split", strstr(out.p, "]]]]><![CDATA[>") != NULL);
	buf_reset(&out);
	render_feed(&site, d, 3, 2, when, &out, err, sizeof(err));
	CHECK("feed max items", strstr(out.p, "/archive/1</link>") == NULL &&
	    strstr(out.p, "/archive/3</link>") != NULL);

	buf_reset(&out);
	CHECK_INT("index", render_archive_index(&site, d, 3, &out, err,
	    sizeof(err)), 0);
	CHECK("index escapes title", strstr(out.p, "Bridges &amp; ]]&gt; "
	    "brackets &lt;b&gt;") != NULL);
	buf_reset(&out);
	render_archive_index(&site, d, 0, &out, err, sizeof(err));
	CHECK("empty index", strstr(out.p, "Nothing published yet") != NULL &&
	    strstr(out.p, "<ul>") == NULL);
	buf_free(&out);
}

static void
test_rss(void)
{
	struct buf	 b = BUF_INIT;
	char		 d[RSS_DATE_SIZE], err[256], dir[] = "/tmp/rss_XXXXXX";
	char		 path[300];
	char		*got;

	CHECK_INT("rss_date", rss_date(1767657600, d, sizeof(d)), 0);
	CHECK_STR("rss_date", d, "Tue, 06 Jan 2026 00:00:00 +0000");
	CHECK_INT("rss_date small", rss_date(0, d, 10), -1);
	rss_cdata(&b, "]]>a]]]>]]", 10);
	CHECK_STR("cdata", b.p, "<![CDATA[]]]]><![CDATA[>a]]]]]><![CDATA[>]]"
	    "]]>");
	buf_reset(&b);
	rss_escape(&b, "<a href=\"x\">&'\001</a>", 19);
	CHECK_STR("escape", b.p,
	    "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	buf_free(&b);

	if (mkdtemp(dir) == NULL) {
		CHECK("mkdtemp", 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/feed.xml", dir);
	CHECK_INT("write", rss_write_atomic(path, "one", 3, err, sizeof(err)),
	    0);
	CHECK_INT("rewrite", rss_write_atomic(path, "two!", 4, err,
	    sizeof(err)), 0);
	got = slurp(path, NULL);
	CHECK_STR("atomic content", got, "two!");
	free(got);
	unlink(path);
	CHECK_INT("only the file", rmdir(dir), 0);
	CHECK_INT("missing dir", rss_write_atomic("/nonexistent/x/feed.xml",
	    "x", 1, err, sizeof(err)), -1);
	CHECK("error names path", strstr(err, "/nonexistent/x/feed.xml") !=
	    NULL);
}

struct thr {
	const struct render	*r;
	int			 ok;
};

static void *
thr_main(void *arg)
{
	struct thr		*t = arg;
	struct render_rcpt	 rc;
	struct buf		 a = BUF_INIT;
	char			 err[256];
	size_t			 i, k;
	struct render		*ref;

	(void)ref;
	t->ok = 1;
	for (k = 0; k < 200; k++) {
		i = k % (sizeof(rcases) / sizeof(rcases[0]));
		rcpt_of(&rcases[i], 100 + i, &rc);
		buf_reset(&a);
		if (render_message(t->r, &rc, &a, err, sizeof(err)) == -1)
			t->ok = 0;
	}
	buf_free(&a);
	return NULL;
}

static void
test_threads(const struct statement *st)
{
	struct render	*r, *slow;
	struct thr	 t[4];
	pthread_t	 tid[4];
	size_t		 i;
	char		 err[256];

	r = new_render(st, &site, 0, NULL, err, sizeof(err));
	slow = new_render(st, &site, RENDER_NOCACHE, NULL, err, sizeof(err));
	if (r == NULL || slow == NULL) {
		CHECK("render_new", 0);
		return;
	}
	for (i = 0; i < 4; i++) {
		t[i].r = r;
		pthread_create(&tid[i], NULL, thr_main, &t[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		CHECK("thread renders", t[i].ok);
	}
	/* after the race for the cache, output still matches */
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		struct render_rcpt	rc;
		struct buf		a = BUF_INIT, b = BUF_INIT;

		rcpt_of(&rcases[i], 100 + i, &rc);
		render_message(r, &rc, &a, err, sizeof(err));
		render_message(slow, &rc, &b, err, sizeof(err));
		CHECK("threads: cache == direct", a.len == b.len &&
		    memcmp(a.p, b.p, a.len) == 0);
		buf_free(&a);
		buf_free(&b);
	}
	render_free(r);
	render_free(slow);
}

static int
feed_out(const char *path)
{
	struct render_doc	d[3];
	struct buf		out = BUF_INIT;
	char			err[256];

	feed_docs(d);
	if (render_feed(&site, d, 3, 0, when, &out, err, sizeof(err)) == -1 ||
	    rss_write_atomic(path, out.p, out.len, err, sizeof(err)) == -1) {
		fprintf(stderr, "feed: %s\n", err);
		return 1;
	}
	buf_free(&out);
	return 0;
}

static double
mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
bench(const struct statement *st, long n)
{
	static const char	*fn[] = { "city", "plan" };
	static const char	*cities[] = { "Zürich", "Łódź", "Lyon", "" };
	static const char	*names[] = { "Ada Lovelace", "José Núñez",
				    "山田 太郎", "" };
	static const char	*langs[] = { "en", "es", "fr", "pt", "ar",
				    "de", "it", "nl", "ru", "he" };
	/* the subscribers' languages: their own, a region, none, unknown */
	static const char	*readers[] = { "es", "pt-BR", "", "ar", "zz",
				    "fr-CA", "he", "de", "en", "nl" };
	struct render_params	 p;
	struct render		*rs[10], *r;
	struct render_rcpt	 rc;
	struct buf		 out = BUF_INIT;
	const char		*fv[2], *e;
	char			 err[256], email[64];
	double			 t0, t1, bytes = 0;
	long			 i;
	int			 k, nl = (e = getenv("BENCH_LANGS")) != NULL ?
				    atoi(e) : 1;

	if (nl < 1 || nl > 10)
		nl = 1;
	for (k = 0; k < nl; k++) {
		memset(&p, 0, sizeof(p));
		p.site = site;
		p.st = st;
		p.broadcast_id = 7;
		p.key = key;
		p.keylen = sizeof(key);
		p.date = when;
		p.lang = langs[k];
		p.url_lang = k > 0 ? langs[k] : NULL;
		if ((rs[k] = render_new(&p, err, sizeof(err))) == NULL) {
			fprintf(stderr, "render_new: %s\n", err);
			return 1;
		}
	}
	t0 = mono();
	for (i = 0; i < n; i++) {
		snprintf(email, sizeof(email), "reader%ld@example.org", i);
		fv[0] = cities[i & 3];
		fv[1] = "monthly";
		memset(&rc, 0, sizeof(rc));
		rc.id = (uint64_t)i + 1;
		rc.email = email;
		rc.name = names[(i >> 2) & 3];
		rc.field_names = fn;
		rc.field_values = fv;
		rc.nfields = 2;
		buf_reset(&out);
		k = nl > 1 ? lang_pick(readers[i % 10], langs, (size_t)nl) : 0;
		r = rs[k > 0 ? k : 0];
		if (render_message(r, &rc, &out, err, sizeof(err)) == -1) {
			fprintf(stderr, "render_message: %s\n", err);
			return 1;
		}
		bytes += (double)out.len;
	}
	t1 = mono();
	printf("%ld messages in %d language(s) in %.3f s: %.0f messages/s, "
	    "%.0f MB/s, %.0f bytes/message\n", n, nl, t1 - t0,
	    n / (t1 - t0), bytes / (t1 - t0) / 1e6, bytes / n);
	buf_free(&out);
	for (k = 0; k < nl; k++)
		render_free(rs[k]);
	return 0;
}

int
main(void)
{
	struct statement	 st;
	const char		*fo, *bn;
	int			 ret;

	if ((bn = getenv("BENCH_RENDER")) != NULL) {
		if ((fo = getenv("BENCH_STATEMENT")) == NULL)
			fo = GOLDEN "/statement.txt";
		if (load_statement(fo, &st) == -1)
			return 1;
		ret = bench(&st, atol(bn));
		statement_free(&st);
		return ret;
	}
	if ((fo = getenv("FEED_OUT")) != NULL)
		return feed_out(fo);
	if (load_statement(GOLDEN "/statement.txt", &st) == -1)
		return 1;
	test_messages(&st);
	test_injection(&st);
	test_templates(&st);
	test_pages(&st);
	test_threads(&st);
	test_rss();
	statement_free(&st);
	return unit_done("render");
}
