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
 *
 * The loop reads no store: what a render needs is read on the reader
 * thread into a snapshot (struct pub_snap: the broadcasts with their
 * statements, and their translations), and rendered from it on the loop.
 * feed_update submits its read and renders in its done; the reader runs
 * reads in order, so a page read submitted after it sees what it saw.
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

static struct buf	feed_last = BUF_INIT;	/* the last feed rendered */
static int		feed_last_ok;		/* ... and it was */
static int		feed_out;		/* feed_update reads out */

/*
 * The snapshot: one broadcast (id) or the latest limit, copied on the
 * reader thread, and their translations if asked (not a cancelled one's,
 * nor, in a list, a resend's: they are not shown).
 */
struct pub_ent {
	struct broadcast	*bc;
	struct bc_translation	*trs;
	size_t			 ntrs, cap;
	char			*trerr;		/* reading them failed */
};

struct pub_snap {
	int64_t		 id;
	int		 limit;
	int		 want_trs;
	struct pub_ent	*v;
	size_t		 n, cap;
	char		 err[512];
};

struct pub_snap *
pub_snap_new(int64_t id, int limit, int trs)
{
	struct pub_snap	*ps;

	ps = xcalloc(1, sizeof(*ps));
	ps->id = id;
	ps->limit = limit;
	ps->want_trs = trs;
	return ps;
}

static int
pub_snap_bc_cb(const struct broadcast *bc, void *arg)
{
	struct pub_snap	*ps = arg;

	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 16;
		ps->v = xrealloc(ps->v, ps->cap * sizeof(*ps->v));
	}
	memset(&ps->v[ps->n], 0, sizeof(ps->v[0]));
	ps->v[ps->n++].bc = bc_dup(bc, 1);
	return 0;
}

static int
pub_snap_tr_cb(const struct bc_translation *t, void *arg)
{
	struct pub_ent		*e = arg;
	struct bc_translation	*c;

	if (e->ntrs == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4;
		e->trs = xrealloc(e->trs, e->cap * sizeof(*e->trs));
	}
	c = &e->trs[e->ntrs++];
	c->lang = xstrdup(t->lang != NULL ? t->lang : "");
	c->title = t->title != NULL ? xstrdup(t->title) : NULL;
	c->subject = t->subject != NULL ? xstrdup(t->subject) : NULL;
	c->source = t->source != NULL ? xstrdup(t->source) : NULL;
	c->filename = t->filename != NULL ? xstrdup(t->filename) : NULL;
	c->markdown = t->markdown;
	return 0;
}

/* On the reader thread (reader_submit's work). */
int
pub_snap_work(struct store *st, void *arg)
{
	struct pub_snap	*ps = arg;
	struct pub_ent	*e;
	char		 err[256];
	size_t		 i;

	if ((ps->id > 0 ? store_bc_get(st, ps->id, pub_snap_bc_cb, ps,
	    ps->err, sizeof(ps->err)) : store_bc_list(st, ps->limit,
	    pub_snap_bc_cb, ps, ps->err, sizeof(ps->err))) == -1)
		return -1;
	for (i = 0; ps->want_trs && i < ps->n; i++) {
		e = &ps->v[i];
		if (e->bc->state == BC_CANCELLED || (ps->id == 0 &&
		    e->bc->resent_from != 0))
			continue;
		if (store_bc_translations(st, e->bc->id, pub_snap_tr_cb, e,
		    err, sizeof(err)) == -1)
			e->trerr = xstrdup(err);
	}
	return 0;
}

const char *
pub_snap_err(const struct pub_snap *ps)
{
	return ps->err;
}

void
pub_snap_free(struct pub_snap *ps)
{
	struct pub_ent	*e;
	size_t		 i, k;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		e = &ps->v[i];
		bc_dup_free(e->bc);
		for (k = 0; k < e->ntrs; k++) {
			free((char *)e->trs[k].lang);
			free((char *)e->trs[k].title);
			free((char *)e->trs[k].subject);
			free((char *)e->trs[k].source);
			free((char *)e->trs[k].filename);
		}
		free(e->trs);
		free(e->trerr);
	}
	free(ps->v);
	free(ps);
}

/* As store_bc_list, store_bc_get: cb on each one read, until it says -1. */
int
pub_snap_list(const struct pub_snap *ps, store_bc_cb cb, void *arg)
{
	size_t	i;

	for (i = 0; i < ps->n; i++)
		if (cb(ps->v[i].bc, arg) == -1)
			break;
	return 0;
}

/* As store_bc_translations: -1 and err if they could not be read. */
int
pub_snap_translations(const struct pub_snap *ps, int64_t id, store_tr_cb cb,
    void *arg, char *err, size_t errlen)
{
	const struct pub_ent	*e;
	size_t			 i, k;

	for (i = 0; i < ps->n; i++) {
		e = &ps->v[i];
		if (e->bc->id != id)
			continue;
		if (e->trerr != NULL) {
			snprintf(err, errlen, "%s", e->trerr);
			return -1;
		}
		for (k = 0; k < e->ntrs; k++)
			if (cb(&e->trs[k], arg) == -1)
				break;
		return 0;
	}
	return 0;
}

/* Rows the feed reads (cancelled ones are skipped in it). */
int
feed_read_limit(void)
{
	return env->conf->feed_items + FEED_SLACK;
}

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
feed_item_load_lang(const struct pub_snap *ps, const struct broadcast *bc,
    const char *lang, struct feed_item *it)
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
	if (pub_snap_translations(ps, bc->id, feed_vers_cb, &v, err,
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
	switch (feed_item_load_lang(fl->snap, bc, fl->lang,
	    &fl->items[fl->n])) {
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
void
feed_list_load(struct feed_list *fl, const struct pub_snap *ps, size_t max)
{
	feed_list_load_lang(fl, ps, NULL, max);
}

void
feed_list_load_lang(struct feed_list *fl, const struct pub_snap *ps,
    const char *lang, size_t max)
{
	memset(fl, 0, sizeof(*fl));
	fl->snap = ps;
	fl->lang = lang;
	fl->max = max;
	pub_snap_list(ps, feed_collect_cb, fl);
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
feed_render(const struct pub_snap *ps, struct buf *out, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	size_t			 max = (size_t)env->conf->feed_items;
	int			 ret;

	feed_list_load(&fl, ps, max);
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
feed_render_lang(const struct pub_snap *ps, const char *lang,
    struct buf *out, int *code, char *err, size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	size_t			 max = (size_t)env->conf->feed_items;
	int			 ret = 0;

	*code = 404;
	feed_list_load_lang(&fl, ps, lang, max);
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

struct feed_langs {
	const struct pub_snap	*ps;
	struct feed_vers	 v;
};

static int
feed_langs_bc_cb(const struct broadcast *bc, void *arg)
{
	struct feed_langs	*fl = arg;
	char			 err[256];

	if (bc->state == BC_CANCELLED || bc->resent_from != 0)
		return 0;
	if (pub_snap_translations(fl->ps, bc->id, feed_langs_cb, &fl->v, err,
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
feed_write_langs(const struct pub_snap *ps, char *err, size_t errlen)
{
	struct feed_langs	 fls;
	struct feed_vers	*v = &fls.v;
	struct buf		 b = BUF_INIT;
	char			 path[4096];
	size_t			 i;
	int			 code, ret = 0;

	memset(&fls, 0, sizeof(fls));
	fls.ps = ps;
	pub_snap_list(ps, feed_langs_bc_cb, &fls);
	for (i = 0; i < v->n; i++) {
		buf_reset(&b);
		feed_lang_path(env->conf->feed_path, v->langs[i], path,
		    sizeof(path));
		if (feed_render_lang(ps, v->langs[i], &b, &code, err,
		    errlen) == -1 ||
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
 * The store is read on the reader thread; the rest happens in its done,
 * where errors are logged ("feed: ..."): this returns 0.
 */
static void
feed_update_done(void *arg, int rc)
{
	struct pub_snap	*ps = arg;
	struct buf	 b = BUF_INIT;
	char		 err[512];

	feed_out--;
	if (rc == -1) {
		log_warnx("feed: %s", ps->err);
		feed_last_ok = 0;
	} else if (feed_render(ps, &b, err, sizeof(err)) == -1) {
		log_warnx("feed: %s", err);
		feed_last_ok = 0;
	} else {
		buf_free(&feed_last);
		feed_last = b;
		b = (struct buf)BUF_INIT;
		feed_last_ok = 1;
		if (rss_write_atomic(env->conf->feed_path, feed_last.p,
		    feed_last.len, err, sizeof(err)) == -1 ||
		    feed_write_langs(ps, err, sizeof(err)) == -1)
			log_warnx("feed: %s", err);
	}
	buf_free(&b);
	pub_snap_free(ps);
	if (feed_changed.cb != NULL)
		feed_changed.cb(feed_changed.arg);
}

int
feed_update(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	feed_out++;
	reader_submit(pub_snap_work, feed_update_done,
	    pub_snap_new(0, feed_read_limit(), 1));
	return 0;
}

/* The feed the last update rendered, or NULL if it could not. */
const struct buf *
feed_current(void)
{
	return feed_last_ok ? &feed_last : NULL;
}

/* Feed updates submitted, not yet done: a feed asked for now waits. */
int
feed_pending(void)
{
	return feed_out;
}

void
feed_free(void)
{
	buf_free(&feed_last);
	feed_last_ok = 0;
}

void
feed_on_change(void (*cb)(void *), void *arg)
{
	feed_changed.cb = cb;
	feed_changed.arg = arg;
}
