/*
 * site.h -- the public site's pages as the listener serves them (front
 * only): "/", "/archive/", "/archive/ID" and "/subscribe", each rendered
 * once and kept in memory with its ETag, Last-Modified and
 * Content-Security-Policy until the published set or the config changes.
 *
 * SYNOPSIS
 *	ps = site_page_read("/archive/7");	NULL, or read it off the loop
 *	rc = site_page_get("/archive/7", ps, &pg, &code, err, errlen);
 *	site_changed();		the published set changed (feed_on_change)
 *	site_csp(html, len, base_url, &csp);	for a page built elsewhere
 *	site_shutdown();
 *
 * site_page_get returns 0 with *code 200 and *pg (valid until the next
 * call into this module), 0 with *code 404 for a path that names no
 * page, or -1 with one line in err (the store or a template failed).
 */
#ifndef SITE_H
#define SITE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct site_page {
	char		*path;		/* NULL: slot free */
	int		 fresh;		/* body is current */
	struct buf	 body;
	struct buf	 csp;		/* the Content-Security-Policy value */
	char		 etag[40];	/* quoted */
	time_t		 mtime;		/* when this ETag was first made */
	uint64_t	 used;
};

struct pub_snap;
struct pub_snap *site_page_read(const char *);
int	site_page_get(const char *, const struct pub_snap *,
	    const struct site_page **, int *, char *, size_t);
void	site_changed(void);
void	site_shutdown(void);
void	site_csp(const char *, size_t, const char *, struct buf *);

#endif
