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
#include "lang.h"
#include "render.h"
#include "rss.h"
#include "statement.h"
#include "store.h"

#define FEED_SLACK		32	/* cancelled ones skipped in the feed */
#define FEED_LANGS_MAX		64	/* versions of a statement */

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

/* A broadcast's versions: its default's language, then its
 * translations' (their source kept for the one picked). */
struct feed_vers {
	char	 langs[FEED_LANGS_MAX][LANG_MAX];
	char	*source[FEED_LANGS_MAX];
	int	 markdown[FEED_LANGS_MAX];
	size_t	 n;
};

static int
feed_vers_cb(const struct bc_translation *t, void *arg)
{
	struct feed_vers	*v = arg;

	if (v->n == FEED_LANGS_MAX)
		return -1;
	snprintf(v->langs[v->n], LANG_MAX, "%s", t->lang);
	v->source[v->n] = xstrdup(t->source);
	v->markdown[v->n] = t->markdown;
	v->n++;
	return 0;
}

static void
feed_vers_free(struct feed_vers *v)
{
	size_t	i;

	for (i = 0; i < v->n; i++)
		free(v->source[i]);
	v->n = 0;
}

int
feed_item_load_lang(const struct broadcast *bc, const char *lang,
    struct feed_item *it)
{
	struct feed_vers	 v;
	struct broadcast	 tb;
	const char		*have[FEED_LANGS_MAX];
	char			 err[256];
	size_t			 i;
	int			 k, ret;

	if (lang == NULL)
		return feed_item_load(bc, it);
	memset(&v, 0, sizeof(v));
	snprintf(v.langs[0], LANG_MAX, "%s", bc->lang != NULL &&
	    *bc->lang != '\0' ? bc->lang : env->conf->site_language != NULL ?
	    env->conf->site_language : "en");
	v.n = 1;
	if (store_bc_translations(env->store, bc->id, feed_vers_cb, &v, err,
	    sizeof(err)) == -1) {
		log_warnx("broadcast %" PRId64 ": translations: %s", bc->id,
		    err);
		feed_vers_free(&v);
		return -1;
	}
	for (i = 0; i < v.n; i++)
		have[i] = v.langs[i];
	if ((k = lang_pick(lang, have, v.n)) <= 0) {
		feed_vers_free(&v);
		return feed_item_load(bc, it) == -1 ? -1 : 0;
	}
	tb = *bc;
	tb.source = v.source[k];
	tb.markdown = v.markdown[k];
	ret = feed_item_load(&tb, it);
	if (ret == 0) {
		snprintf(it->lang, sizeof(it->lang), "%s", v.langs[k]);
		it->doc.lang = it->lang;
		ret = 1;
	}
	feed_vers_free(&v);
	return ret;
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
	memset(&fl->items[fl->n], 0, sizeof(fl->items[0]));
	switch (feed_item_load_lang(bc, fl->lang, &fl->items[fl->n])) {
	case -1:
		return 0;
	case 1:
		fl->translated++;
		break;
	}
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
	return feed_list_load_lang(fl, NULL, max, limit, err, errlen);
}

int
feed_list_load_lang(struct feed_list *fl, const char *lang, size_t max,
    int limit, char *err, size_t errlen)
{
	memset(fl, 0, sizeof(*fl));
	fl->lang = lang;
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

int
feed_render_lang(const char *lang, struct buf *out, int *code, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	size_t			 max = (size_t)env->conf->feed_items;
	int			 ret = 0;

	*code = 404;
	if (feed_list_load_lang(&fl, lang, max, env->conf->feed_items +
	    FEED_SLACK, err, errlen) == -1)
		return -1;
	if (fl.translated > 0) {
		*code = 200;
		config_site(env->conf, &site);
		site.lang = lang;
		site.feed_lang = lang;
		docs = feed_docs(&fl);
		ret = render_feed(&site, docs, fl.n, max, fl.newest, out, err,
		    errlen);
		free(docs);
	}
	feed_list_free(&fl);
	return ret;
}

/* The languages of the published statements' translations. */
static int
feed_langs_cb(const struct bc_translation *t, void *arg)
{
	struct feed_vers	*v = arg;
	size_t			 i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->langs[i], t->lang) == 0)
			return 0;
	if (v->n < FEED_LANGS_MAX)
		snprintf(v->langs[v->n++], LANG_MAX, "%s", t->lang);
	return 0;
}

static int
feed_langs_bc_cb(const struct broadcast *bc, void *arg)
{
	char	err[256];

	if (bc->state == BC_CANCELLED || bc->resent_from != 0)
		return 0;
	if (store_bc_translations(env->store, bc->id, feed_langs_cb, arg, err,
	    sizeof(err)) == -1)
		log_warnx("broadcast %" PRId64 ": translations: %s", bc->id,
		    err);
	return 0;
}

/* feed.path with .LANG before its .xml (or at its end) */
static void
feed_lang_path(const char *path, const char *lang, char *out, size_t len)
{
	size_t	n = strlen(path);

	if (n > 4 && strcmp(path + n - 4, ".xml") == 0)
		n -= 4;
	snprintf(out, len, "%.*s.%s.xml", (int)n, path, lang);
}

/* Write feed.LANG.xml for each language of the recent translations. */
static int
feed_write_langs(char *err, size_t errlen)
{
	struct feed_vers	 v;
	struct buf		 b = BUF_INIT;
	char			 path[4096];
	size_t			 i;
	int			 code, ret = 0;

	memset(&v, 0, sizeof(v));
	if (store_bc_list(env->store, env->conf->feed_items + FEED_SLACK,
	    feed_langs_bc_cb, &v, err, errlen) == -1)
		return -1;
	for (i = 0; i < v.n; i++) {
		buf_reset(&b);
		feed_lang_path(env->conf->feed_path, v.langs[i], path,
		    sizeof(path));
		if (feed_render_lang(v.langs[i], &b, &code, err, errlen) == -1 ||
		    (code == 200 && rss_write_atomic(path, b.p, b.len, err,
		    errlen) == -1))
			ret = -1;
	}
	buf_free(&b);
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
	    env->conf->feed_path, b.p, b.len, err, errlen) == 0 &&
	    feed_write_langs(err, errlen) == 0)
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
