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
#include "lang.h"
#include "render.h"
#include "statement.h"
#include "store.h"

#define ARCHIVE_INDEX_MAX	ARCHIVE_INDEX_READ /* listed on /archive/ */
#define ARCHIVE_HOME_MAX	10	/* the latest, listed on / (core.h's
					   ARCHIVE_HOME_READ: one more, and
					   32 cancelled ones skipped) */

#define ARCHIVE_LANGS_MAX	64	/* versions of a statement */

struct archive_one {
	const struct pub_snap	*ps;
	int64_t			 id;
	const char		*lang;		/* NULL: the default version */
	int			 found;
	struct feed_item	 it;
	/* its versions, for hreflang: the default's first */
	char			 langs[ARCHIVE_LANGS_MAX][LANG_MAX];
	struct render_alt	 alts[ARCHIVE_LANGS_MAX];
	size_t			 nalts;
};

static int
archive_alt_cb(const struct bc_translation *t, void *arg)
{
	struct archive_one	*a = arg;

	if (a->nalts == ARCHIVE_LANGS_MAX)
		return -1;
	snprintf(a->langs[a->nalts], LANG_MAX, "%s", t->lang);
	a->nalts++;
	return 0;
}

static int
archive_one_cb(const struct broadcast *bc, void *arg)
{
	struct archive_one	*a = arg;
	char			 err[256];
	size_t			 i;

	if (bc->id != a->id || bc->state == BC_CANCELLED || a->found)
		return 0;
	snprintf(a->langs[0], LANG_MAX, "%s", bc->lang != NULL &&
	    *bc->lang != '\0' ? bc->lang : env->conf->site_language != NULL ?
	    env->conf->site_language : "en");
	a->nalts = 1;
	if (pub_snap_translations(a->ps, bc->id, archive_alt_cb, a, err,
	    sizeof(err)) == -1) {
		log_warnx("broadcast %" PRId64 ": translations: %s", bc->id,
		    err);
		a->nalts = 1;
	}
	if (a->lang != NULL) {
		/* its own page: a version in exactly that language */
		for (i = 1; i < a->nalts; i++)
			if (strcmp(a->langs[i], a->lang) == 0)
				break;
		if (i == a->nalts)
			return 0;
		if (feed_item_load_lang(a->ps, bc, a->lang, &a->it) == 1)
			a->found = 1;
		else if (a->it.st.title != NULL)
			statement_free(&a->it.st);
		return 0;
	}
	if (feed_item_load(bc, &a->it) == 0)
		a->found = 1;
	return 0;
}

static int
archive_render_one(const struct pub_snap *ps, int64_t id, const char *lang,
    struct buf *out, int *code, char *err, size_t errlen)
{
	struct render_site	 site;
	struct archive_one	*a;
	size_t			 i;
	int			 ret = 0;

	*code = 404;
	if (id <= 0)
		return 0;
	a = xcalloc(1, sizeof(*a));
	a->ps = ps;
	a->id = id;
	a->lang = lang;
	pub_snap_list(ps, archive_one_cb, a);
	if (!a->found) {
		free(a);
		return 0;
	}
	for (i = 0; i < a->nalts; i++) {
		a->alts[i].lang = a->langs[i];
		a->alts[i].is_default = i == 0;
	}
	a->it.doc.alts = a->alts;
	a->it.doc.nalts = a->nalts;
	config_site(env->conf, &site);
	/* the page speaks its version's language, and links its feed */
	site.lang = lang != NULL ? lang : a->langs[0];
	site.feed_lang = lang;
	ret = render_archive_page(&site, &a->it.doc, out, err, errlen);
	statement_free(&a->it.st);
	if (ret == 0)
		*code = 200;
	free(a);
	return ret;
}

/* *code: 200 with the page in out, or 404 (no such published broadcast). */
int
archive_render(const struct pub_snap *ps, int64_t id, struct buf *out,
    int *code, char *err, size_t errlen)
{
	return archive_render_one(ps, id, NULL, out, code, err, errlen);
}

int
archive_render_lang(const struct pub_snap *ps, int64_t id, const char *lang,
    struct buf *out, int *code, char *err, size_t errlen)
{
	return archive_render_one(ps, id, lang, out, code, err, errlen);
}

int
archive_index(const struct pub_snap *ps, struct buf *out, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	int			 ret;

	feed_list_load(&fl, ps, ARCHIVE_INDEX_MAX);
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
archive_home(const struct pub_snap *ps, struct buf *out, char *err,
    size_t errlen)
{
	struct render_site	 site;
	struct render_doc	*docs;
	struct feed_list	 fl;
	int			 ret;

	/* one more than shown, so the page knows there are more */
	feed_list_load(&fl, ps, ARCHIVE_HOME_MAX + 1);
	config_site(env->conf, &site);
	docs = feed_docs(&fl);
	ret = render_home(&site, docs, fl.n, ARCHIVE_HOME_MAX, out, err,
	    errlen);
	free(docs);
	feed_list_free(&fl);
	return ret;
}
