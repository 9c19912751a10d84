/*
 * statement_test.c -- statement parser: fixtures in tests/fixtures (plain,
 * header block, Markdown, BOM, bad files), inline edge cases, dates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statement.h"
#include "unit.h"

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*p;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		printf("FAIL cannot open %s\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc(n + 1);
	if (p == NULL || fread(p, 1, n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return NULL;
	}
	p[n] = '\0';
	fclose(f);
	*len = n;
	return p;
}

static int
parse_file(const char *path, int md, struct statement *st, char *err,
    size_t errlen)
{
	char	*src;
	size_t	 len;
	int	 r;

	if ((src = read_file(path, &len)) == NULL) {
		snprintf(err, errlen, "cannot read");
		return -2;
	}
	r = statement_parse(src, len, md, st, err, errlen);
	free(src);
	return r;
}

static void
test_plain(void)
{
	struct statement	 st;
	char			 err[256] = "";

	CHECK_INT("plain parses", parse_file(
	    "tests/fixtures/statement-plain.txt", 0, &st, err, sizeof(err)), 0);
	if (st.title == NULL) {
		printf("  error: %s\n", err);
		return;
	}
	CHECK_STR("plain title", st.title,
	    "Lagos, Lima, Lisbon\xe2\x80\xa6we keep the lights on for each other");
	CHECK_STR("plain byline", st.byline, "the Neighbourhood Care "
	    "Collective, Caf\xc3\xa9 Solidarit\xc3\xa9 and the Tenants\xe2\x80\x99 Forum");
	CHECK_STR("plain byline_line", st.byline_line, "By the Neighbourhood "
	    "Care Collective, Caf\xc3\xa9 Solidarit\xc3\xa9 and the Tenants\xe2\x80\x99 Forum");
	CHECK_STR("plain date_text", st.date_text, "12 January 2026");
	CHECK_INT("plain date", st.date, 1768176000);
	CHECK_INT("plain paragraphs", st.nparagraphs, 6);
	if (st.nparagraphs == 6) {
		CHECK_STR("plain paragraph 2", st.paragraphs[1], "We say it "
		    "plainly: \xe2\x80\x9c" "care is work, and work deserves a wage."
		    "\xe2\x80\x9d The women who cooked for two hundred people in "
		    "the community hall \xe2\x80\x93 most of them unpaid, all of "
		    "them exhausted \xe2\x80\x93 kept the whole street alive.");
		CHECK_STR("plain paragraph 6", st.paragraphs[5], "Bring your "
		    "neighbours, your questions & your anger; leave with a "
		    "plan. <Everyone> is welcome.");
	}
	CHECK("plain html escapes", strstr(st.html, "<p>Bring your neighbours, "
	    "your questions &amp; your anger; leave with a plan. "
	    "&lt;Everyone&gt; is welcome.</p>\n") != NULL);
	CHECK("plain html starts", strncmp(st.html, "<p>When the power",
	    17) == 0);
	CHECK("plain html has no title", strstr(st.html, "Lagos") == NULL);
	CHECK("plain html has no date", strstr(st.html, "12 January") == NULL);
	CHECK("plain text paragraphs", strstr(st.text, "stairs.\n\nWe say") !=
	    NULL);
	CHECK_INT("plain text ends", st.text[st.textlen - 1] == '\n' &&
	    st.text[st.textlen - 2] != '\n', 1);
	CHECK_INT("plain htmllen", st.htmllen, strlen(st.html));
	statement_free(&st);
	CHECK("freed", st.title == NULL && st.paragraphs == NULL);
}

static void
test_header(void)
{
	struct statement	 st;
	char			 err[256] = "";

	CHECK_INT("header parses", parse_file(
	    "tests/fixtures/statement-header.txt", 0, &st, err, sizeof(err)),
	    0);
	if (st.title == NULL) {
		printf("  error: %s\n", err);
		return;
	}
	CHECK_STR("header title", st.title,
	    "A \xe2\x80\x9cheader\xe2\x80\x9d block statement\xe2\x80\xa6");
	CHECK_STR("header byline", st.byline,
	    "Ren\xc3\xa9" "e \xc3\x98stergaard \xe2\x80\x93 for the Collective");
	CHECK_STR("header byline_line", st.byline_line,
	    "By Ren\xc3\xa9" "e \xc3\x98stergaard \xe2\x80\x93 for the Collective");
	CHECK_STR("header date_text", st.date_text, "January 12, 2026");
	CHECK_INT("header date", st.date, 1768176000);
	CHECK_INT("header paragraphs", st.nparagraphs, 2);
	CHECK_STR("header text (CRLF in, LF out)", st.text, "First paragraph "
	    "with an en dash \xe2\x80\x93 and \xe2\x80\x9cquotes\xe2\x80\x9d.\n\n"
	    "Second paragraph, caf\xc3\xa9 au lait.\n");
	CHECK_STR("header html", st.html, "<p>First paragraph with an en dash "
	    "\xe2\x80\x93 and \xe2\x80\x9cquotes\xe2\x80\x9d.</p>\n<p>Second "
	    "paragraph, caf\xc3\xa9 au lait.</p>\n");
	statement_free(&st);
}

static void
test_markdown(void)
{
	struct statement	 st;
	char			 err[256] = "";

	CHECK_INT("md parses", parse_file(
	    "tests/fixtures/statement-markdown.md", 1, &st, err, sizeof(err)),
	    0);
	if (st.title == NULL) {
		printf("  error: %s\n", err);
		return;
	}
	CHECK_STR("md title", st.title,
	    "Lisbon, Lagos\xe2\x80\xa6the same fight");
	CHECK_STR("md byline", st.byline, "the Neighbourhood Care Collective");
	CHECK_STR("md date_text", st.date_text, "2026-01-12");
	CHECK_INT("md date", st.date, 1768176000);
	CHECK_INT("md paragraphs", st.nparagraphs, 3);
	if (st.nparagraphs == 3) {
		CHECK_STR("md paragraph 1", st.paragraphs[0], "First paragraph "
		    "with bold text \xe2\x80\x93 and \xe2\x80\x9c" "curly quotes"
		    "\xe2\x80\x9d.");
		CHECK_STR("md list", st.paragraphs[2],
		    "caf\xc3\xa9 cr\xc3\xa8" "che");
	}
	CHECK("md html bold", strstr(st.html, "<strong>bold</strong>") != NULL);
	CHECK("md html link", strstr(st.html,
	    "<a href=\"https://example.org/a?b=1&amp;c=2\">link</a>") != NULL);
	CHECK("md html no raw script", strstr(st.html, "<script>") == NULL);
	CHECK("md html no title", strstr(st.html, "<h1>") == NULL);
	CHECK("md html no date", strstr(st.html, "2026-01-12") == NULL);
	CHECK("md text is source", strncmp(st.text, "First paragraph with "
	    "**bold**", 29) == 0);
	CHECK("md text ends at list", st.textlen > 8 && strcmp(st.text +
	    st.textlen - 8, "crèche\n") == 0);
	statement_free(&st);
}

static void
test_bom(void)
{
	struct statement	 st;
	char			 err[256] = "";

	CHECK_INT("bom parses", parse_file("tests/fixtures/statement-bom.txt",
	    0, &st, err, sizeof(err)), 0);
	CHECK_STR("bom title", st.title, "A title with a BOM");
	CHECK_INT("bom paragraphs", st.nparagraphs, 1);
	statement_free(&st);
}

static void
test_bad_files(void)
{
	static const struct {
		const char	*path, *want;
	} t[] = {
		{ "tests/fixtures/bad-utf8.txt", "line 3: invalid UTF-8" },
		{ "tests/fixtures/bad-nul.txt", "line 2: NUL byte" },
		{ "tests/fixtures/bad-empty.txt", "empty statement" },
		{ "tests/fixtures/bad-overlong.txt", "line 2: invalid UTF-8" },
		{ "tests/fixtures/bad-surrogate.txt", "line 2: invalid UTF-8" },
		{ "tests/fixtures/bad-longtitle.txt",
		  "line 1: title longer than 998 octets" },
	};
	struct statement	 st;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		CHECK_INT(t[i].path, parse_file(t[i].path, 0, &st, err,
		    sizeof(err)), -1);
		CHECK_STR(t[i].path, err, t[i].want);
		CHECK(t[i].path, st.title == NULL && st.html == NULL);
	}
}

static void
test_inline(void)
{
	static const struct {
		const char	*name, *in;
		size_t		 len;	/* 0: strlen */
		int		 md;
		const char	*title, *byline, *date, *text, *err;
	} t[] = {
		{ "bom", "\xef\xbb\xbfT\nBody.\n", 0, 0, "T", NULL, NULL,
		  "Body.\n", NULL },
		{ "bom only", "\xef\xbb\xbf", 0, 0, NULL, NULL, NULL, NULL,
		  "empty statement" },
		{ "empty", "", 0, 0, NULL, NULL, NULL, NULL, "empty statement" },
		{ "title only", "Just a title", 0, 0, "Just a title", NULL, NULL,
		  "", NULL },
		{ "leading blank lines", "\n\n  Title  \nBy Me\nText.\n", 0, 0,
		  "Title", "Me", NULL, "Text.\n", NULL },
		{ "no byline", "T\nBy-pass road\nLast.\n", 0, 0, "T", NULL, NULL,
		  "By-pass road\n\nLast.\n", NULL },
		{ "last line not a date", "T\nOne.\nJanuary 2026\n", 0, 0, "T",
		  NULL, NULL, "One.\n\nJanuary 2026\n", NULL },
		{ "date only body", "T\n6 January 2026\n", 0, 0, "T", NULL,
		  "6 January 2026", "", NULL },
		{ "crlf", "T\r\nBy X\r\nA.\r\n\r\nB.\r\n2026-01-06\r\n", 0, 0, "T",
		  "X", "2026-01-06", "A.\n\nB.\n", NULL },
		{ "nul", "T\nA\0B\n", 6, 0, NULL, NULL, NULL, NULL,
		  "line 2: NUL byte" },
		{ "bare cr", "T\rx\n", 0, 0, NULL, NULL, NULL, NULL,
		  "line 1: CR without LF" },
		{ "escape char", "T\nA\x1b[31m\n", 0, 0, NULL, NULL, NULL, NULL,
		  "line 2: control character 0x1b" },
		{ "truncated utf8", "T\n\xe2\x80", 0, 0, NULL, NULL, NULL, NULL,
		  "line 2: invalid UTF-8" },
		{ "above U+10FFFF", "\xf4\x90\x80\x80\n", 0, 0, NULL, NULL, NULL,
		  NULL, "line 1: invalid UTF-8" },
		{ "header no title", "Author: X\n\nBody.\n", 0, 0, NULL, NULL,
		  NULL, NULL,
		  "no title: the header block has no \"Title:\" line" },
		{ "header bad date", "Title: T\nDate: someday\n\nBody.\n", 0, 0,
		  NULL, NULL, NULL, NULL,
		  "line 2: cannot parse date \"someday\"" },
		{ "header unknown key", "Title: T\nColour: red\n\nBody.\n", 0, 0,
		  NULL, NULL, NULL, NULL, "line 2: expected \"Title:\", "
		  "\"Author:\", \"Date:\" or \"Language:\" in the header block, "
		  "or a blank line" },
		{ "header repeated", "Title: T\ntitle: U\n\nB\n", 0, 0, NULL,
		  NULL, NULL, NULL, "line 2: repeated header" },
		{ "header keeps By", "Title: T\nAuthor: By Y\n\nB\n", 0, 0, "T",
		  "Y", NULL, "B\n", NULL },
		{ "header date last line stays", "TITLE: T\n\nB\n6 January 2026\n",
		  0, 0, "T", NULL, NULL, "B\n\n6 January 2026\n", NULL },
		{ "md setext", "Big news\n========\n\nBy *Someone*\n\nHi.\n", 0,
		  1, "Big news", "Someone", NULL, "Hi.\n", NULL },
		{ "md atx closing", "## Title ##\nText\n", 0, 1, "Title", NULL,
		  NULL, "Text\n", NULL },
	};
	struct statement	 st;
	char			 err[256];
	size_t			 i, len;
	int			 r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		len = t[i].len ? t[i].len : strlen(t[i].in);
		r = statement_parse(t[i].in, len, t[i].md, &st, err,
		    sizeof(err));
		if (t[i].err != NULL) {
			CHECK_INT(t[i].name, r, -1);
			CHECK_STR(t[i].name, err, t[i].err);
			continue;
		}
		CHECK_INT(t[i].name, r, 0);
		if (r != 0) {
			printf("  error: %s\n", err);
			continue;
		}
		CHECK_STR(t[i].name, st.title, t[i].title);
		if (t[i].byline)
			CHECK_STR(t[i].name, st.byline, t[i].byline);
		else
			CHECK(t[i].name, st.byline == NULL);
		if (t[i].date)
			CHECK_STR(t[i].name, st.date_text, t[i].date);
		else
			CHECK(t[i].name, st.date_text == NULL && st.date == 0);
		CHECK_STR(t[i].name, st.text, t[i].text);
		statement_free(&st);
	}
}

static void
test_title_limit(void)
{
	struct statement	 st;
	char			 err[256], src[1100];

	memset(src, 'x', 998);
	strcpy(src + 998, "\nBody\n");
	CHECK_INT("998-octet title", statement_parse(src, strlen(src), 0, &st,
	    err, sizeof(err)), 0);
	CHECK_INT("998-octet title", st.title ? strlen(st.title) : 0, 998);
	statement_free(&st);
	memcpy(src, "Title: ", 7);
	memset(src + 7, 'y', 999);
	strcpy(src + 1006, "\n\nBody\n");
	CHECK_INT("header title 999", statement_parse(src, strlen(src), 0, &st,
	    err, sizeof(err)), -1);
	CHECK_STR("header title 999", err,
	    "line 1: title longer than 998 octets");
}

static void
test_dates(void)
{
	static const struct {
		const char	*in;
		long long	 want;	/* -1: not a date */
	} t[] = {
		{ "6 January 2026", 1767657600 },
		{ "06 January 2026", 1767657600 },
		{ "6th January 2026", 1767657600 },
		{ "6 Jan 2026", 1767657600 },
		{ "January 6, 2026", 1767657600 },
		{ "Jan 6 2026", 1767657600 },
		{ "2026-01-06", 1767657600 },
		{ "Tuesday, 6 January 2026", 1767657600 },
		{ "Tue 6 January 2026", 1767657600 },
		{ "6 JANUARY 2026", 1767657600 },
		{ "29 February 2024", 1709164800 },
		{ "Sept 1, 2025", 1756684800 },
		{ "29 February 2026", -1 },
		{ "31 April 2026", -1 },
		{ "2026-13-01", -1 },
		{ "2026-1-6", -1 },
		{ "6 January", -1 },
		{ "January 2026", -1 },
		{ "6 Janvier 2026", -1 },
		{ "6th of January 2026", -1 },
		{ "hello world 2026", -1 },
		{ "0 January 2026", -1 },
		{ "", -1 },
	};
	time_t	 tt;
	size_t	 i;
	int	 r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		tt = 0;
		r = statement_parse_date(t[i].in, strlen(t[i].in), &tt);
		CHECK_INT(t[i].in, r == 0 ? (long long)tt : -1, t[i].want);
	}
}

/* Language: a header line, alone or in a block (issue 14 part 2). */
static void
test_language(void)
{
	static const struct {
		const char	*name, *in, *lang, *title, *text, *err;
	} t[] = {
		{ "language alone, then heuristics",
		  "Language: pt-br\n\nAs luzes\nBy Nós\nTexto.\n", "pt-BR",
		  "As luzes", "Texto.\n", NULL },
		{ "language in a block", "Title: T\nlanguage: AR\n\nB\n",
		  "ar", "T", "B\n", NULL },
		{ "no language", "T\nB\n", NULL, "T", "B\n", NULL },
		{ "not a tag", "Language: english please\n\nT\n", NULL, NULL,
		  NULL, "line 1: \"english please\" is not a language tag "
		  "(es, pt-BR, ar...)" },
		{ "language and nothing else", "Language: es\n\n", NULL,
		  NULL, NULL, "no title" },
		{ "language and author need a title",
		  "Language: es\nAuthor: X\n\nT\n", NULL, NULL, NULL,
		  "no title: the header block has no \"Title:\" line" },
	};
	struct statement	 st;
	char			 err[256];
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		r = statement_parse(t[i].in, strlen(t[i].in), 0, &st, err,
		    sizeof(err));
		if (t[i].err != NULL) {
			CHECK_INT(t[i].name, r, -1);
			CHECK_STR(t[i].name, err, t[i].err);
			continue;
		}
		CHECK_INT(t[i].name, r, 0);
		if (r != 0)
			continue;
		if (t[i].lang != NULL)
			CHECK_STR(t[i].name, st.lang, t[i].lang);
		else
			CHECK(t[i].name, st.lang == NULL);
		CHECK_STR(t[i].name, st.title, t[i].title);
		CHECK_STR(t[i].name, st.text, t[i].text);
		statement_free(&st);
	}
}

int
main(void)
{
	test_language();
	test_plain();
	test_header();
	test_markdown();
	test_bom();
	test_bad_files();
	test_inline();
	test_title_limit();
	test_dates();
	return unit_done("statement");
}
