/*
 * statement.h -- parse a statement file into title, byline, date and body
 * (leaf module: libc and cmark only).
 *
 * SYNOPSIS
 *	struct statement st;
 *	if (statement_parse(buf, len, markdown, &st, err, sizeof(err)) == -1)
 *		... exit 65 with err ...
 *	... use st.title, st.html, st.text ...
 *	statement_free(&st);
 *
 * INPUT
 *	UTF-8 text, LF or CRLF line ends, an optional UTF-8 BOM (dropped).
 *	Every line is checked: invalid UTF-8 (including overlong forms,
 *	surrogates and code points above U+10FFFF), a NUL byte, a bare CR or
 *	another C0 control character other than TAB (they are not allowed in
 *	XML, so an RSS item could not carry them) are errors naming the line.
 *
 * METADATA
 *	Header block: when the first line is "Title:", "Author:", "Date:"
 *	or "Language:" (keys case-insensitive), lines of that form up to the
 *	first blank line set the metadata (Language: a BCP 47 tag, see
 *	lang.h, stored normalised; a block of a Language: line alone is
 *	followed by a statement read by the heuristics below); an unknown key, a repeated key or an unparsable
 *	Date: in the block is an error.  Title: is required in a header block.
 *	Otherwise the heuristics: the first non-empty line is the title (for
 *	Markdown a leading "# " / trailing " #" ATX marker is removed, and a
 *	setext "===" underline on line 2 is skipped); the next line, when it
 *	begins with "By " (also inside *...* or _..._ in Markdown), is the
 *	byline; the last non-empty line, when the whole line parses as a date,
 *	is the date.  Those lines are not part of the body.
 *
 *	Dates understood: "6 January 2026", "6th January 2026", "6 Jan 2026",
 *	"January 6, 2026", "Jan 6 2026", "2026-01-06", each optionally
 *	preceded by a weekday ("Tuesday, 6 January 2026").  st.date is
 *	midnight UTC of that day.
 *
 * BODY
 *	Plain text: every non-empty line (trimmed of surrounding white space)
 *	is one paragraph.  html is "<p>P1</p>\n<p>P2</p>\n" with &, <, >, "
 *	escaped; text is "P1\n\nP2\n".
 *	Markdown: html is cmark's rendering with CMARK_OPT_SAFE (raw HTML and
 *	javascript: links removed); text is the Markdown source of the body
 *	(blank-line separated blocks, LF line ends, surrounding blank lines
 *	removed, ending in one "\n"); paragraphs holds the plain text of each
 *	top-level block (inline markup dropped, soft breaks as spaces).
 *
 * DIAGNOSTICS
 *	statement_parse returns 0, or -1 with a one-line message in err of
 *	the form "line N: invalid UTF-8" / "line N: NUL byte" / "empty
 *	statement" / "line N: title longer than 998 octets" / "no title" /
 *	"line N: ...".  On error st is left zeroed (nothing to free).
 *	Every string in struct statement is NUL-terminated UTF-8 without
 *	CR, LF (except in html/text bodies) or NUL.
 */
#ifndef BROADSIDE_STATEMENT_H
#define BROADSIDE_STATEMENT_H

#include <stddef.h>
#include <time.h>

#define STATEMENT_TITLE_MAX	998	/* octets, a header line's hard limit */

struct statement {
	char	 *title;		/* never NULL after success, never "" */
	char	 *byline;		/* "the Global ..." (after "By "/Author:), or NULL */
	char	 *byline_line;		/* as shown: "By the Global ...", or NULL */
	char	 *date_text;		/* "6 January 2026" as written, or NULL */
	time_t	  date;			/* midnight UTC of date_text, 0 if none */
	char	**paragraphs;		/* plain text, one per paragraph */
	size_t	  nparagraphs;
	char	 *html;			/* body HTML fragment (no title/byline/date) */
	size_t	  htmllen;
	char	 *text;			/* body plain text, LF line ends */
	size_t	  textlen;
	int	  markdown;		/* parsed as Markdown */
	char	 *lang;			/* "Language:" (normalised), or NULL */
};

int	statement_parse(const char *, size_t, int, struct statement *, char *,
	    size_t);
void	statement_free(struct statement *);

/* Parse one date as above; returns 0 and sets *t, or -1. */
int	statement_parse_date(const char *, size_t, time_t *);

#endif
