/*
 * feed.c -- the published side of broadcasts: the RSS feed (written to
 * feed.path and served at /feed.xml), and the list of published
 * statements the archive (archive.c) renders from too.
 *
 * Each broadcast keeps the statement source it was sent from; the feed
 * and the archive parse it again with the same parser and render it with
 * the same templates, so readers see what subscribers received.
 * Cancelled broadcasts are not published, nor resends (their statement
 * is their original's; only their own archive page, which their mails
 * link to, is served).  The feed's lastBuildDate is
 * the creation time of its newest broadcast, so the same broadcasts
 * always give the same bytes (and the same ETag).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "feed.h"
#include "buf.h"
#include "render.h"
#include "rss.h"
#include "statement.h"
#include "store.h"

#define FEED_SLACK		32	/* cancelled ones skipped in the feed */

static struct {
	void	(*cb)(void *);
	void	 *arg;
} feed_changed;

/* Parse one stored broadcast into a document; -1 if it cannot be shown. */
int
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

	/* a resend (resend.c) is the same statement again: listed once */
	if (bc->state == BC_CANCELLED || bc->resent_from != 0)
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

void
feed_list_free(struct feed_list *fl)
{
	size_t	i;

	for (i = 0; i < fl->n; i++)
		statement_free(&fl->items[i].st);
	free(fl->items);
	memset(fl, 0, sizeof(*fl));
}

/* The published broadcasts, newest first, at most max. */
int
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

struct render_doc *
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
 * Called for every new and every cancelled broadcast: the feed is
 * rendered again, written to feed.path and handed to the public listener
 * (which drops the site's pages too, so it is told even when the feed
 * cannot be rendered).  The served feed follows the store even when
 * feed.path cannot be written (a cancelled statement must leave it).
 */
int
feed_update(char *err, size_t errlen)
{
	struct buf	b = BUF_INIT;
	int		ret = -1;

	if (feed_render(&b, err, errlen) == 0 && rss_write_atomic(
	    env->conf->feed_path, b.p, b.len, err, errlen) == 0)
		ret = 0;
	if (feed_changed.cb != NULL)
		feed_changed.cb(feed_changed.arg);
	buf_free(&b);
	return ret;
}

void
feed_on_change(void (*cb)(void *), void *arg)
{
	feed_changed.cb = cb;
	feed_changed.arg = arg;
}
