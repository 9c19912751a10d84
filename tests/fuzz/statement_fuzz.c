/*
 * statement_fuzz.c -- the statement parser (statement.c), plain and
 * Markdown, and its date parser.
 *
 * On success every string keeps the promises of statement.h (title
 * present, not empty, at most 998 octets; NUL-terminated UTF-8; no CR or
 * LF outside the bodies; counted lengths right) and a date read back
 * from date_text gives the same time.  On failure the message is one
 * line and the statement is left zeroed.
 */
#include <string.h>

#include "addr.h"
#include "statement.h"

#include "fuzz.h"

static void
st_check_line(const char *s)
{
	size_t	len;

	if (s == NULL)
		return;
	len = strlen(s);
	FUZZ_CHECK(utf8_valid(s, len));
	FUZZ_CHECK(text_header_safe(s, len));
}

static void
st_check_body(const char *s, size_t len)
{
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(strlen(s) == len);
	FUZZ_CHECK(utf8_valid(s, len));
	FUZZ_CHECK(memchr(s, '\r', len) == NULL);
}

static void
st_one(const char *src, size_t len, int markdown)
{
	struct statement	 st, zero;
	char			 err[256];
	time_t			 t;
	size_t			 i;

	memset(&st, 0xa5, sizeof(st));		/* must be overwritten */
	memset(&zero, 0, sizeof(zero));
	err[0] = '\0';
	if (statement_parse(src, len, markdown, &st, err, sizeof(err)) == -1) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(strchr(err, '\n') == NULL);
		FUZZ_CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
		statement_free(&st);
		return;
	}
	FUZZ_CHECK(st.title != NULL && st.title[0] != '\0');
	FUZZ_CHECK(strlen(st.title) <= STATEMENT_TITLE_MAX);
	st_check_line(st.title);
	st_check_line(st.byline);
	st_check_line(st.byline_line);
	st_check_line(st.date_text);
	FUZZ_CHECK((st.byline == NULL) == (st.byline_line == NULL));
	FUZZ_CHECK(st.markdown == (markdown != 0));
	for (i = 0; i < st.nparagraphs; i++) {
		FUZZ_CHECK(st.paragraphs[i] != NULL);
		st_check_line(st.paragraphs[i]);
	}
	st_check_body(st.html, st.htmllen);
	st_check_body(st.text, st.textlen);
	if (st.date_text != NULL) {
		FUZZ_CHECK(statement_parse_date(st.date_text,
		    strlen(st.date_text), &t) == 0);
		FUZZ_CHECK(t == st.date);
	} else
		FUZZ_CHECK(st.date == 0);
	statement_free(&st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*src;
	time_t	 t;

	src = fuzz_dup(data, len, 0);
	st_one(src, len, 0);
	st_one(src, len, 1);
	if (len < 200 && statement_parse_date(src, len, &t) == 0)
		FUZZ_CHECK(t % 86400 == 0);
	free(src);
	return 0;
}
