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
 *
 * The archive is served from memory: the index and the statement pages
 * last asked for (ARCHIVE_CACHE_PAGES, at most ARCHIVE_CACHE_BYTES) stay
 * rendered until the published set changes -- feed_update(), called for
 * every new broadcast and every cancelled one, drops them all -- or the
 * config is reloaded (env->conf is another object then).  A request for
 * a cached page costs a lookup, not a store scan and a statement parse
 * (before: up to 10,000 statements parsed for one /archive/).
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
#define ARCHIVE_CACHE_PAGES	64	/* statement pages kept rendered */
#define ARCHIVE_CACHE_BYTES	(16 * 1024 * 1024)

struct archive_page {
	int64_t		id;		/* 0: slot free */
	uint64_t	used;		/* archive_cache.tick when last served */
	struct buf	html;
};

static struct {
	const struct config	*conf;	/* what the pages were rendered with */
	int			 have_index;
	struct buf		 index;
	struct archive_page	 pages[ARCHIVE_CACHE_PAGES];
	size_t			 bytes;	/* in pages[] */
	uint64_t		 tick;
} archive_cache = { .index = BUF_INIT };

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

/*
 * The archive cache.
 */

static void
archive_cache_clear(void)
{
	size_t	i;

	buf_free(&archive_cache.index);
	archive_cache.have_index = 0;
	for (i = 0; i < ARCHIVE_CACHE_PAGES; i++) {
		buf_free(&archive_cache.pages[i].html);
		archive_cache.pages[i].id = 0;
	}
	archive_cache.bytes = 0;
	archive_cache.conf = NULL;
}

/* Drop what was rendered under another config (a reload). */
static void
archive_cache_check(void)
{
	if (archive_cache.conf != env->conf) {
		archive_cache_clear();
		archive_cache.conf = env->conf;
	}
}

static struct archive_page *
archive_cache_find(int64_t id)
{
	size_t	i;

	for (i = 0; i < ARCHIVE_CACHE_PAGES; i++)
		if (archive_cache.pages[i].id == id)
			return &archive_cache.pages[i];
	return NULL;
}

/* Keep a rendered page, giving up the least recently served ones. */
static void
archive_cache_put(int64_t id, const char *html, size_t len)
{
	struct archive_page	*pg, *old;
	size_t			 i;

	if (len > ARCHIVE_CACHE_BYTES / 4)
		return;
	for (;;) {
		pg = old = NULL;
		for (i = 0; i < ARCHIVE_CACHE_PAGES; i++) {
			struct archive_page *p = &archive_cache.pages[i];

			if (p->id == 0) {
				if (pg == NULL)
					pg = p;
			} else if (old == NULL || p->used < old->used)
				old = p;
		}
		if (pg != NULL && archive_cache.bytes + len <=
		    ARCHIVE_CACHE_BYTES)
			break;
		archive_cache.bytes -= old->html.len;
		buf_free(&old->html);
		old->id = 0;
	}
	pg->id = id;
	pg->used = ++archive_cache.tick;
	buf_add(&pg->html, html, len);
	archive_cache.bytes += len;
}

/*
 * Called for every new and every cancelled broadcast: the archive cache
 * goes, and the feed is rendered again, written to feed.path and handed
 * to the public listener.  The served feed follows the store even when
 * feed.path cannot be written (a cancelled statement must leave it).
 */
int
feed_update(char *err, size_t errlen)
{
	struct buf	b = BUF_INIT;
	int		ret = -1;

	archive_cache_clear();
	if (feed_render(&b, err, errlen) == -1)
		goto end;
	if (rss_write_atomic(env->conf->feed_path, b.p, b.len, err, errlen)
	    == 0)
		ret = 0;
	http_feed_changed();
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
	struct archive_page	*pg;
	size_t			 start = out->len;
	int			 ret;

	memset(&a, 0, sizeof(a));
	a.id = id;
	*code = 404;
	if (id <= 0)
		return 0;
	archive_cache_check();
	if ((pg = archive_cache_find(id)) != NULL) {
		pg->used = ++archive_cache.tick;
		buf_add(out, pg->html.p, pg->html.len);
		*code = 200;
		return 0;
	}
	if (store_bc_get(env->store, id, archive_one_cb, &a, err, errlen)
	    == -1)
		return -1;
	if (!a.found)
		return 0;
	config_site(env->conf, &site);
	ret = render_archive_page(&site, &a.it.doc, out, err, errlen);
	statement_free(&a.it.st);
	if (ret == 0) {
		*code = 200;
		archive_cache_put(id, out->p + start, out->len - start);
	}
	return ret;
}

int
archive_index(struct buf *out, char *err, size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	size_t			 start = out->len;
	int			 ret;

	archive_cache_check();
	if (archive_cache.have_index) {
		buf_add(out, archive_cache.index.p, archive_cache.index.len);
		return 0;
	}
	if (feed_list_load(&fl, ARCHIVE_INDEX_MAX, ARCHIVE_INDEX_MAX, err,
	    errlen) == -1)
		return -1;
	config_site(env->conf, &site);
	docs = feed_docs(&fl);
	ret = render_archive_index(&site, docs, fl.n, out, err, errlen);
	free(docs);
	feed_list_free(&fl);
	if (ret == 0) {
		buf_add(&archive_cache.index, out->p + start, out->len -
		    start);
		archive_cache.have_index = 1;
	}
	return ret;
}
