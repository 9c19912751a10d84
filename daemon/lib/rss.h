/*
 * rss.h -- helpers to write an RSS 2.0 feed (leaf module, libc only).
 *
 * SYNOPSIS
 *	char d[RSS_DATE_SIZE];
 *	rss_date(t, d, sizeof(d));		"Tue, 06 Jan 2026 00:00:00 +0000"
 *	rss_escape(&b, s, len);			XML character data / attribute
 *	rss_cdata(&b, html, len);		<![CDATA[...]]>, "]]>" split
 *	rss_write_atomic(path, data, len, err, errlen);
 *
 * BEHAVIOUR
 *	rss_date formats t as RFC 822 (RFC 1123 four-digit year) in UTC with
 *	English day and month names whatever the locale.
 *	rss_escape replaces & < > " ' by entities.  rss_escape and rss_cdata
 *	drop the C0 control characters XML 1.0 forbids (all but TAB, LF, CR),
 *	so the output is well-formed whatever the input; they do not check
 *	UTF-8 (statements are validated when parsed).  rss_cdata closes and
 *	reopens the section around every "]]>" ("]]]]><![CDATA[>"), so the
 *	content reads back unchanged.
 *	rss_write_atomic writes data to a temporary file in the folder of
 *	path, fsyncs it, makes it mode 0644, renames it over path and fsyncs
 *	the folder: a reader sees the old file or the new one, never a part.
 *
 * DIAGNOSTICS
 *	rss_date returns -1 when out is too small or t is out of range.
 *	rss_write_atomic returns -1 with "path: reason" in err and leaves no
 *	temporary file behind.
 */
#ifndef BROADSIDE_RSS_H
#define BROADSIDE_RSS_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define RSS_DATE_SIZE	32

int	 rss_date(time_t, char *, size_t);
void	 rss_escape(struct buf *, const char *, size_t);
void	 rss_cdata(struct buf *, const char *, size_t);
int	 rss_write_atomic(const char *, const char *, size_t, char *, size_t);

#endif
