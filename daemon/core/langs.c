/*
 * langs.c -- a broadcast's recipients per language of the version they
 * get (status --json "languages"), counted once, off the loop.
 *
 * Counting reads every delivery of the broadcast with its subscriber's
 * language (about a second at a million), too long for the loop: the
 * first status that asks hands it to the writer thread, which maps each
 * subscriber language to the version it gets (lang_pick over the
 * broadcast's default language and its translations, as the engine
 * does) and adds them up; back on the loop the counts are kept, since a
 * broadcast whose recipients are all taken (not snapping) has them for
 * good (a subscriber who leaves keeps the version they were counted
 * in).  Until then status shows no "languages"; the next one does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "lang.h"
#include "store.h"

#define LANGS_CACHE	256		/* broadcasts whose counts are kept */
#define LANGS_MAX	64		/* versions of one broadcast */

struct langs_entry {
	int64_t		 id;		/* 0: free */
	int		 busy;		/* being counted */
	uint64_t	 used;
	size_t		 n;
	char		 lang[LANGS_MAX][LANG_MAX];
	int64_t		 count[LANGS_MAX];
};

static struct langs_entry	 langs_cache[LANGS_CACHE];
static uint64_t			 langs_tick;

struct langs_job {
	struct langs_entry	 e;	/* the thread's result */
	int			 ok;
};

static int
langs_tr_cb(const struct bc_translation *t, void *arg)
{
	struct langs_entry	*e = arg;

	if (e->n == LANGS_MAX)
		return -1;
	snprintf(e->lang[e->n++], LANG_MAX, "%s", t->lang);
	return 0;
}

static int
langs_count_cb(const char *lang, int64_t n, void *arg)
{
	struct langs_entry	*e = arg;
	const char		*have[LANGS_MAX];
	size_t			 i;
	int			 k = 0;

	for (i = 0; i < e->n; i++)
		have[i] = e->lang[i];
	if (lang != NULL && *lang != '\0' &&
	    (k = lang_pick(lang, have, e->n)) < 0)
		k = 0;
	e->count[k] += n;
	return 0;
}

/* The writer's thread: the versions, then the deliveries by language. */
static int
langs_work(struct store *st, void *arg)
{
	struct langs_job	*j = arg;
	char			 err[512];

	if (store_bc_translations(st, j->e.id, langs_tr_cb, &j->e, err,
	    sizeof(err)) == -1 || store_bc_lang_counts(st, j->e.id,
	    langs_count_cb, &j->e, err, sizeof(err)) == -1) {
		log_warnx("broadcast %" PRId64 ": counting languages: %s",
		    j->e.id, err);
		return -1;
	}
	j->ok = 1;
	return 0;
}

static void
langs_done(void *arg, int rc)
{
	struct langs_job	*j = arg;
	size_t			 i;

	(void)rc;
	for (i = 0; i < LANGS_CACHE; i++)
		if (langs_cache[i].id == j->e.id && langs_cache[i].busy)
			break;
	if (i < LANGS_CACHE) {
		if (j->ok) {
			langs_cache[i] = j->e;
			langs_cache[i].used = ++langs_tick;
		} else
			memset(&langs_cache[i], 0, sizeof(langs_cache[i]));
	}
	free(j);
}

/*
 * Broadcast id's recipients by version: 1 with *e (valid until the next
 * call), 0 when not known yet (the count is started if it can be: its
 * recipients are all taken).  lang: its default language's tag.
 */
int
langs_get(int64_t id, const char *lang, int snapping,
    const struct langs_entry **ep)
{
	struct langs_entry	*e, *old = NULL;
	struct langs_job	*j;
	size_t			 i;

	for (i = 0; i < LANGS_CACHE; i++) {
		e = &langs_cache[i];
		if (e->id != id)
			continue;
		if (e->busy)
			return 0;
		e->used = ++langs_tick;
		*ep = e;
		return 1;
	}
	if (snapping || env->writer == NULL || env->stopping)
		return 0;
	/* a free slot, else the least recently used not being counted */
	for (i = 0; i < LANGS_CACHE; i++) {
		e = &langs_cache[i];
		if (e->id == 0) {
			old = e;
			break;
		}
		if (!e->busy && (old == NULL || e->used < old->used))
			old = e;
	}
	if (old == NULL)
		return 0;
	memset(old, 0, sizeof(*old));
	old->id = id;
	old->busy = 1;
	j = xcalloc(1, sizeof(*j));
	j->e.id = id;
	j->e.n = 1;
	snprintf(j->e.lang[0], LANG_MAX, "%s", lang != NULL && *lang != '\0' ?
	    lang : env->conf->site_language != NULL ?
	    env->conf->site_language : "en");
	writer_submit(env->writer, langs_work, langs_done, j);
	return 0;
}

/* The n-th version's language and recipients; -1 past the last. */
int
langs_entry_get(const struct langs_entry *e, size_t i, const char **lang,
    int64_t *n)
{
	if (i >= e->n)
		return -1;
	*lang = e->lang[i];
	*n = e->count[i];
	return 0;
}
