/*
 * archive.c -- the published statements as HTML pages (/archive/ and
 * /archive/ID), rendered with the same parser and templates as the mail.
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

#include "buf.h"
#include "core.h"
#include "feed.h"
#include "render.h"
#include "statement.h"
#include "store.h"

#define ARCHIVE_INDEX_MAX	10000	/* broadcasts listed on /archive/ */
#define ARCHIVE_HOME_MAX	10	/* the latest, listed on / */
#define ARCHIVE_HOME_SLACK	32	/* cancelled ones skipped there */
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

/*
 * The archive cache.
 */

void
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

/*
 * The site's front page: the latest ARCHIVE_HOME_MAX statements and the
 * subscribe form.  Not cached here: the front keeps it with its ETag
 * (front/site.c) and drops it when the published set changes.
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
