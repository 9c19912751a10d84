/*
 * mime.h -- RFC 5322 / MIME message assembly and encoders (leaf module,
 * libc only).
 *
 * SYNOPSIS
 *	One-shot:
 *		struct mime_msg m = { ... };
 *		if (mime_message(&out, &m, err, sizeof(err)) == -1) ...
 *
 *	Per broadcast (encode what every recipient shares once):
 *		c = mime_common_new(&m, err, errlen);	From, Reply-To,
 *							Subject, List-Id
 *		for each recipient:
 *			set m.to_*, m.date, m.message_id, m.list_unsubscribe_*,
 *			m.text/html (or pre-encoded bodies, see MIME_*_ENCODED)
 *			mime_message_common(&out, c, &m, err, errlen);
 *		mime_common_free(c);
 *
 * MESSAGE
 *	Headers in this order: From, To, Subject, Date, Message-ID,
 *	MIME-Version, Reply-To (when set), List-Id, List-Unsubscribe,
 *	List-Unsubscribe-Post, Content-Type: multipart/alternative with the
 *	caller's boundary; then a text/plain; charset=utf-8; format=flowed
 *	part and a text/html; charset=utf-8 part, both quoted-printable.
 *	CRLF everywhere, no line over 998 octets (headers folded at 78 where
 *	possible), the message ends with CRLF.  Output is a pure function of
 *	the input (golden-testable): Date comes from m->date, not the clock.
 *	mime_message appends to out (it does not reset it); on error out is
 *	restored to its length on entry.
 *
 * HEADER SAFETY
 *	Every header value goes through mime_check_header: CR, LF or NUL
 *	anywhere is an error (header injection), as is invalid UTF-8.
 *	Addresses must be ASCII (IDNA-encode the domain first), without
 *	white space, control characters, '<' or '>'.  Display names and the
 *	subject are emitted as atoms, quoted-strings (with \" and \\) or
 *	RFC 2047 encoded-words ("=?UTF-8?Q?...?=" or "=?UTF-8?B?...?=",
 *	Q unless it is over 5/4 the length of B), each encoded-word at most
 *	75 characters and never splitting a UTF-8 sequence.  A value is encoded only when
 *	needed: non-ASCII, control characters, something that looks like an
 *	encoded-word, or a word too long to fold under 998 octets.
 *
 * BODIES
 *	Text: trailing white space of each line is removed (it would read as
 *	a flowed soft break), lines are wrapped at 72 characters on spaces
 *	(RFC 3676 format=flowed, DelSp=no: a soft break is a line ending in a
 *	space; words longer than the line stay whole), lines starting with
 *	' ', '>' or "From " are space-stuffed, then quoted-printable.
 *	HTML: quoted-printable only.
 *	Quoted-printable (RFC 2045): output lines at most 76 characters,
 *	soft breaks "=" CRLF never split an =XX, input LF or CRLF becomes a
 *	hard CRLF, a bare CR is =0D, '=' and bytes outside 33..126 are
 *	escaped, white space is escaped only before a line end.
 *
 *	Both encodings are line-local: the encoding of a line depends only on
 *	that line.  So for A ending in "\n", enc(A B) == enc(A) enc(B), and a
 *	caller may encode the recipient-independent runs of lines of a
 *	rendered template once per broadcast, encode only the per-recipient
 *	lines per message, concatenate, and pass the result with
 *	MIME_TEXT_ENCODED / MIME_HTML_ENCODED (mime_message then only checks
 *	that the boundary does not occur).  A part's content ends where its
 *	body ends: the CRLF before each delimiter belongs to the delimiter, so
 *	a body ending in a line break decodes with that line break.
 *
 * DIAGNOSTICS
 *	Functions returning int return 0 or -1 with a one-line message in
 *	err naming the field ("to_name: CR or LF in header value").
 *	The encoders without err cannot fail (allocation failure aborts).
 */
#ifndef BROADSIDE_MIME_H
#define BROADSIDE_MIME_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define MIME_LINE_SOFT		78	/* RFC 5322 recommended */
#define MIME_LINE_MAX		998	/* RFC 5322 hard limit, without CRLF */
#define MIME_QP_LINE		76	/* RFC 2045 */
#define MIME_FLOWED_WIDTH	72	/* RFC 3676 recommended */
#define MIME_WORD_MAX		75	/* RFC 2047 encoded-word */
#define MIME_BOUNDARY_MAX	70	/* RFC 2046 */

/* mime_msg.flags */
#define MIME_TEXT_ENCODED	0x01	/* text is mime_text_encode() output */
#define MIME_HTML_ENCODED	0x02	/* html is mime_qp() output */

struct mime_msg {
	/* Broadcast-wide (used by mime_common_new). */
	const char	*from_name;		/* NULL or "" for none */
	const char	*from_addr;
	const char	*reply_to;		/* NULL, "addr" or "Name <addr>" */
	const char	*subject;
	const char	*list_id;		/* "Name <id>" or "id" (RFC 2919) */
	const char	*content_language;	/* NULL or a tag (RFC 3282) */
	const char	*boundary;		/* 1..70 RFC 2046 bchars; include
						 * "=_" so QP can never produce it */

	/* Per recipient. */
	const char	*to_name;		/* NULL or "" for none */
	const char	*to_addr;
	time_t		 date;
	const char	*message_id;		/* "local@domain", without <> */
	const char	*list_unsubscribe_url;	/* "https://..." */
	const char	*list_unsubscribe_mailto; /* NULL, "mailto:..." or addr */
	const char	*text;			/* UTF-8, LF or CRLF */
	size_t		 textlen;
	const char	*html;			/* UTF-8 */
	size_t		 htmllen;
	int		 flags;			/* MIME_*_ENCODED */
};

struct mime_common;

/* Whole message. */
int	mime_message(struct buf *, const struct mime_msg *, char *, size_t);

/* The same, split into a per-broadcast and a per-recipient step. */
struct mime_common *mime_common_new(const struct mime_msg *, char *, size_t);
int	mime_message_common(struct buf *, const struct mime_common *,
	    const struct mime_msg *, char *, size_t);
void	mime_common_free(struct mime_common *);

/* Header safety: -1 if s[0..len) holds CR, LF or NUL, or invalid UTF-8.
 * name is the field named in the message. */
int	mime_check_header(const char *name, const char *s, size_t len, char *,
	    size_t);
/* An address: ASCII, no white space, controls, '<' or '>'. */
int	mime_check_addr(const char *name, const char *addr, char *, size_t);

/*
 * Header values.  Each appends to out a value that starts at column col
 * (the length of "Subject: " for instance) and folds with CRLF SP so
 * lines stay within 78 characters where possible; they return -1 on an
 * unsafe value.
 *
 * mime_header_text: unstructured text (Subject), encoded-words if needed.
 * mime_header_phrase: a display name: atoms, one quoted-string or
 *	encoded-words.
 * mime_header_mailbox: "phrase <addr>", or "addr" when name is NULL/"".
 */
int	mime_header_text(struct buf *, size_t col, const char *, char *,
	    size_t);
int	mime_header_phrase(struct buf *, size_t col, const char *, char *,
	    size_t);
int	mime_header_mailbox(struct buf *, size_t col, const char *name,
	    const char *addr, char *, size_t);

/*
 * Encode s[0..len) as one RFC 2047 encoded-word of at most max (<= 75)
 * characters: as many whole UTF-8 characters as fit.  'B' or 'Q' (the
 * Q form uses only the characters allowed in a phrase).  Returns the
 * number of input bytes consumed (> 0 unless len == 0; a single character
 * always fits when max >= 24).
 */
size_t	mime_encode_word(struct buf *, const char *, size_t, int enc,
	    size_t max);

/* Date header value: "Tue, 06 Jan 2026 00:00:00 +0000". */
void	mime_date(struct buf *, time_t);

/* Body encoders (cannot fail; input need not be valid UTF-8 for mime_qp). */
void	mime_qp(struct buf *, const char *, size_t);
void	mime_flowed(struct buf *, const char *, size_t);	/* CRLF out */
void	mime_text_encode(struct buf *, const char *, size_t); /* flowed+QP */

#endif
