/*
 * render.h -- statement + templates + recipient -> what subscribers and
 * feed readers receive: the personalised MIME message, the archive pages,
 * the RSS feed and the small subscription pages.
 *
 * SYNOPSIS
 *	r = render_new(&params, err, errlen);		once per broadcast
 *	render_message(r, &rcpt, &out, err, errlen);	per recipient, from
 *							any number of threads
 *	render_free(r);
 *
 *	render_archive_page(&site, &doc, &out, err, errlen);
 *	render_archive_index(&site, docs, n, &out, err, errlen);
 *	render_home(&site, docs, n, max, &out, err, errlen);
 *	render_feed(&site, docs, n, max, now, &out, err, errlen);
 *	render_page(&site, "unsubscribe.html", vars, nvars, &out, err, errlen);
 *
 * TEMPLATES
 *	Template NAME is the file NAME.mustache, looked up in site.tpl_dir
 *	first, then in site.tpl_default_dir (RENDER_TEMPLATE_DIR when NULL):
 *	a configured folder overrides the defaults file by file, partials
 *	included.  Names (and partial names) made of anything but letters,
 *	digits, '.', '_' and '-', or starting with '.', are refused, and so
 *	is a file whose real path (symlinks resolved) is not inside its
 *	folder, so no template reaches outside its folders.  Templates
 *	whose name ends in ".txt" are compiled with MUS_NOESCAPE, the others
 *	HTML-escape {{x}}.
 *	The partial {{> t.KEY}} is the string KEY of the fixed words: the
 *	line "KEY = text" of LANG.strings (site.lang), else of its base
 *	language's file ("pt" for "pt-BR"), else of en.strings, found in the
 *	same folders; the text is a mustache fragment rendered in place.
 *	The message uses email.txt and email.html.
 *
 * VARIABLES
 *	Per broadcast: title, byline ("By ..."), author, date (as written),
 *	date_iso, body_html, body_text, paragraphs (list of strings),
 *	archive_url, base_url, feed_url, list_name, subject, broadcast_id,
 *	lang and dir (params.lang, else site.lang, and its direction).
 *	Per recipient: name, email, unsubscribe_url, fields (map), and every
 *	CSV field by its column name (a column cannot shadow the names
 *	above).
 *	Site pages (archive, index, render_page): list_name,
 *	list_description, base_url, feed_url, home_url, subscribe_url,
 *	archive_index_url, page_title, lang and dir (site.language and its
 *	direction, "ltr" or "rtl"); list pages add items, has_items,
 *	has_more, canonical_url and description (list.description); the
 *	statement page adds canonical_url and description (its first
 *	paragraph, cut to RENDER_DESC_MAX octets) for the sharing card, and
 *	alternates ({hreflang, href}: each of doc.alts, for
 *	<link rel="alternate" hreflang>).  A doc with lang is linked at
 *	/archive/ID/LANG (pages and feed items); site.feed_lang makes
 *	feed_url /feed.LANG.xml.
 *
 * MESSAGE
 *	Unsubscribe URL base_url/unsubscribe?t=TOKEN (token_key_make with
 *	purpose "unsubscribe" and the recipient id), archive URL
 *	base_url/archive/BROADCAST_ID, Message-ID
 *	<bBID.rRID.HEX8@LIST_ID> with HEX8 from an HMAC over both ids (stable
 *	across retries, not guessable), boundary "=_bs.BID.HEX16" (QP output
 *	cannot contain "=_"), Date from params.date.
 *	render_new renders each template once with placeholders for the
 *	recipient variables and pre-encodes (format=flowed + QP, QP) every
 *	line that holds none; per recipient only the lines that do are
 *	substituted and encoded.  The placeholder layout depends on which
 *	recipient variables are empty (sections), so one such layout is kept
 *	per pattern of empty values, built on first use under a mutex (at
 *	most RENDER_VARIANTS, then the direct path).  The output is
 *	byte-identical to rendering and encoding the whole message
 *	(RENDER_NOCACHE forces that direct path; the tests compare both).
 *
 * SAFETY
 *	A recipient whose name, email, field names or values hold CR, LF or
 *	invalid UTF-8 is refused (-1, err names the field); nothing from a
 *	template, title or field reaches a header except through the
 *	mime_header_* encoders, which refuse CR and LF again.
 *
 * DIAGNOSTICS
 *	Functions return 0, or -1 with one line in err (template errors as
 *	"FILE: line N: message").  render_message leaves out as it was.
 */
#ifndef BROADSIDE_RENDER_H
#define BROADSIDE_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "mustache.h"

#ifndef RENDER_TEMPLATE_DIR
#define RENDER_TEMPLATE_DIR	"/usr/local/share/broadside/templates"
#endif
#define RENDER_VARIANTS		32
#define RENDER_NOCACHE		0x01	/* render_params.flags */

struct statement;

/* List configuration and template folders. */
struct render_site {
	const char	*list_name;
	const char	*from_name;		/* NULL or "" for none */
	const char	*from_addr;
	const char	*reply_to;		/* NULL, "addr" or "Name <addr>" */
	const char	*list_id;		/* "statements.example.org" */
	const char	*base_url;		/* "https://...", no trailing / */
	const char	*tpl_dir;		/* templates.dir, or NULL */
	const char	*tpl_default_dir;	/* NULL: RENDER_TEMPLATE_DIR */
	const char	*description;		/* list.description, or NULL */
	const char	*lang;			/* site.language; NULL: "en" */
	const char	*feed_lang;		/* feed_url: /feed.LANG.xml; NULL:
						   /feed.xml */
};

/* A statement page's version in a language (hreflang links). */
struct render_alt {
	const char	*lang;			/* its tag */
	int		 is_default;		/* at /archive/ID, else
						   /archive/ID/LANG */
};

struct render_params {
	struct render_site	 site;
	const struct statement	*st;
	uint64_t		 broadcast_id;
	const char		*subject;	/* NULL: the title */
	const unsigned char	*key;		/* HMAC key (secret_file) */
	size_t			 keylen;
	time_t			 date;		/* Date header; 0: now */
	int			 flags;		/* RENDER_NOCACHE */
	/* The statement's language (a normalised tag): the fixed words'
	 * strings, lang and dir, and Content-Language; NULL: site.lang,
	 * and no Content-Language */
	const char		*lang;
	/* Not NULL: a version in another language than the default, whose
	 * archive_url and feed_url are /archive/ID/LANG, /feed.LANG.xml */
	const char		*url_lang;
};

struct render_rcpt {
	uint64_t		 id;		/* subscriber id */
	const char		*email;		/* ASCII (IDNA) address */
	const char		*name;		/* NULL or "" for none */
	const char *const	*field_names;
	const char *const	*field_values;
	size_t			 nfields;
};

/* One published statement, for the archive and the feed. */
struct render_doc {
	uint64_t	 id;			/* broadcast id */
	const char	*title;
	const char	*byline;		/* "By ...", or NULL */
	const char	*author;		/* or NULL */
	const char	*date_text;		/* as written, or NULL */
	time_t		 date;			/* pubDate; 0: none */
	const char	*html;			/* body HTML fragment */
	const char	*summary;		/* plain text, or NULL */
	const char	*lang;			/* a translation's tag: its URL is
						   /archive/ID/LANG; NULL: the
						   default version's /archive/ID */
	const struct render_alt *alts;		/* the statement's versions */
	size_t		 nalts;
};

struct render;

struct render	*render_new(const struct render_params *, char *, size_t);
void		 render_free(struct render *);
int		 render_message(const struct render *,
		    const struct render_rcpt *, struct buf *, char *, size_t);
/* part: "text" or "html" (rendered, not encoded) or "mime" */
int		 render_part(const struct render *, const struct render_rcpt *,
		    const char *, struct buf *, char *, size_t);
int		 render_message_id(const struct render *, uint64_t, char *,
		    size_t);

void		 render_doc_from_statement(struct render_doc *,
		    const struct statement *, uint64_t, time_t);
int		 render_archive_page(const struct render_site *,
		    const struct render_doc *, struct buf *, char *, size_t);
int		 render_archive_index(const struct render_site *,
		    const struct render_doc *, size_t, struct buf *, char *,
		    size_t);
/* The site's front page (index.html): the newest max, has_more if cut. */
int		 render_home(const struct render_site *,
		    const struct render_doc *, size_t, size_t, struct buf *,
		    char *, size_t);
/* Items are sorted newest first (date, then id) and cut to max (0: all). */
int		 render_feed(const struct render_site *,
		    const struct render_doc *, size_t, size_t, time_t,
		    struct buf *, char *, size_t);
/*
 * One string of site.language's strings file (else its base language's,
 * else en.strings) rendered as plain text with the site's variables and
 * vars: a page title or a notice made in C.
 */
int		 render_string(const struct render_site *, const char *,
		    const struct mus_pair *, size_t, struct buf *, char *,
		    size_t);
/*
 * The language of the fixed words for a reader of want: want itself, else
 * its base language, among those with a LANG.strings (or site.lang):
 * 0 and the tag in out, or -1 (none: keep site.lang).
 */
int		 render_lang_best(const struct render_site *, const char *,
		    char *, size_t);
/* Any template with string variables (site variables are added below). */
int		 render_page(const struct render_site *, const char *,
		    const struct mus_pair *, size_t, struct buf *, char *,
		    size_t);

#endif
