/*
 * archive.c -- the published statements as HTML pages (/, /archive/ and
 * /archive/ID), rendered with the same parser and templates as the mail.
 *
 * Nothing is cached here: the front keeps each page it serves with its
 * ETag (front/site.c) until the published set changes, so these run once
 * per page and change (before the site, this file kept the index and 64
 * statement pages itself, and both copies would have held the same
 * bytes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "core.h"
#include "feed.h"
#include "render.h"
#include "statement.h"
#include "store.h"

#define ARCHIVE_INDEX_MAX	10000	/* broadcasts listed on /archive/ */
#define ARCHIVE_HOME_MAX	10	/* the latest, listed on / */
#define ARCHIVE_HOME_SLACK	32	/* cancelled ones skipped there */

struct archive_one {
	int64_t			 id;
	int			 found;
	struct feed_item	 it;
};

static int
archive_one_cb(const struct broadcast *bc, void *arg)
{
	struct archive_one	*a = arg;

	if (bc->id != a->id || bc->state == BC_CANCELLED || a->found)
		return 0;
	if (feed_item_load(bc, &a->it) == 0)
		a->found = 1;
	return 0;
}

/* *code: 200 with the page in out, or 404 (no such published broadcast). */
int
archive_render(int64_t id, struct buf *out, int *code, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct archive_one	 a;
	int			 ret;

	memset(&a, 0, sizeof(a));
	a.id = id;
	*code = 404;
	if (id <= 0)
		return 0;
	if (store_bc_get(env->store, id, archive_one_cb, &a, err, errlen)
	    == -1)
		return -1;
	if (!a.found)
		return 0;
	config_site(env->conf, &site);
	ret = render_archive_page(&site, &a.it.doc, out, err, errlen);
	statement_free(&a.it.st);
	if (ret == 0)
		*code = 200;
	return ret;
}

int
archive_index(struct buf *out, char *err, size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	int			 ret;

	if (feed_list_load(&fl, ARCHIVE_INDEX_MAX, ARCHIVE_INDEX_MAX, err,
	    errlen) == -1)
		return -1;
	config_site(env->conf, &site);
	docs = feed_docs(&fl);
	ret = render_archive_index(&site, docs, fl.n, out, err, errlen);
	free(docs);
	feed_list_free(&fl);
	return ret;
}

/*
 * The site's front page: the latest ARCHIVE_HOME_MAX statements and the
 * subscribe form.
 */
int
archive_home(struct buf *out, char *err, size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	int			 ret;

	/* one more than shown, so the page knows there are more */
	if (feed_list_load(&fl, ARCHIVE_HOME_MAX + 1, ARCHIVE_HOME_MAX + 1 +
	    ARCHIVE_HOME_SLACK, err, errlen) == -1)
		return -1;
	config_site(env->conf, &site);
	docs = feed_docs(&fl);
	ret = render_home(&site, docs, fl.n, ARCHIVE_HOME_MAX, out, err,
	    errlen);
	free(docs);
	feed_list_free(&fl);
	return ret;
}
