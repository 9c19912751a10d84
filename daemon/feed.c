/*
 * feed.c -- the published side of broadcasts: the RSS feed (written to
 * feed.path and served at /feed.xml) and the archive pages.
 *
 * Each broadcast keeps the statement source it was sent from; the feed
 * and the archive parse it again with the same parser and render it with
 * the same templates, so readers see what subscribers received.
 * Cancelled broadcasts are not published.  The feed's lastBuildDate is
 * the creation time of its newest broadcast, so the same broadcasts
 * always give the same bytes (and the same ETag).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broadside.h"
#include "buf.h"
#include "render.h"
#include "rss.h"
#include "statement.h"
#include "store.h"

#define FEED_SLACK		32	/* cancelled ones skipped in the feed */
#define ARCHIVE_INDEX_MAX	10000	/* broadcasts listed on /archive/ */

struct feed_item {
	struct statement	 st;
	struct render_doc	 doc;
};

struct feed_list {
	struct feed_item	*items;
	size_t			 n;
	size_t			 cap;
	size_t			 max;		/* stop after this many */
	time_t			 newest;	/* latest broadcast creation */
};

/* Parse one stored broadcast into a document; -1 if it cannot be shown. */
static int
feed_item_load(const struct broadcast *bc, struct feed_item *it)
{
	char	err[256];

	if (bc->source == NULL || statement_parse(bc->source,
	    strlen(bc->source), bc->markdown, &it->st, err, sizeof(err))
	    == -1) {
		log_warnx("broadcast %" PRId64 ": statement not publishable: %s",
		    bc->id, bc->source == NULL ? "no source" : err);
		return -1;
	}
	render_doc_from_statement(&it->doc, &it->st, (uint64_t)bc->id,
	    (time_t)bc->created);
	return 0;
}

static int
feed_collect_cb(const struct broadcast *bc, void *arg)
{
	struct feed_list	*fl = arg;

	if (bc->state == BC_CANCELLED)
		return 0;
	if (fl->n == fl->max)
		return -1;
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? fl->cap * 2 : 16;
		fl->items = xrealloc(fl->items, fl->cap * sizeof(*fl->items));
	}
	if (feed_item_load(bc, &fl->items[fl->n]) == -1)
		return 0;
	if ((time_t)bc->created > fl->newest)
		fl->newest = (time_t)bc->created;
	fl->n++;
	return 0;
}

static void
feed_list_free(struct feed_list *fl)
{
	size_t	i;

	for (i = 0; i < fl->n; i++)
		statement_free(&fl->items[i].st);
	free(fl->items);
	memset(fl, 0, sizeof(*fl));
}

/* The published broadcasts, newest first, at most max. */
static int
feed_list_load(struct feed_list *fl, size_t max, int limit, char *err,
    size_t errlen)
{
	memset(fl, 0, sizeof(*fl));
	fl->max = max;
	if (store_bc_list(env->store, limit, feed_collect_cb, fl, err, errlen)
	    == -1) {
		feed_list_free(fl);
		return -1;
	}
	return 0;
}

static struct render_doc *
feed_docs(const struct feed_list *fl)
{
	struct render_doc	*docs;
	size_t			 i;

	docs = xcalloc(fl->n ? fl->n : 1, sizeof(*docs));
	for (i = 0; i < fl->n; i++)
		docs[i] = fl->items[i].doc;
	return docs;
}

int
feed_render(struct buf *out, char *err, size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	size_t			 max = (size_t)env->conf->feed_items;
	int			 ret;

	if (feed_list_load(&fl, max, env->conf->feed_items + FEED_SLACK, err,
	    errlen) == -1)
		return -1;
	config_site(env->conf, &site);
	docs = feed_docs(&fl);
	/* an empty feed was last built when the daemon started */
	ret = render_feed(&site, docs, fl.n, max, fl.n ? fl.newest :
	    env->started ? (time_t)env->started : time(NULL), out, err,
	    errlen);
	free(docs);
	feed_list_free(&fl);
	return ret;
}

int
feed_update(char *err, size_t errlen)
{
	struct buf	b = BUF_INIT;
	int		ret = -1;

	if (feed_render(&b, err, errlen) == -1)
		goto end;
	if (rss_write_atomic(env->conf->feed_path, b.p, b.len, err, errlen)
	    == -1)
		goto end;
	http_feed_changed();
	ret = 0;
 end:
	buf_free(&b);
	return ret;
}

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
