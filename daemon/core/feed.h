/*
 * feed.h -- the published broadcasts, loaded for the feed and the
 * archive (core only).
 */
#ifndef FEED_H
#define FEED_H

#include <stddef.h>
#include <time.h>

#include "lang.h"
#include "render.h"
#include "statement.h"
#include "store.h"

struct broadcast;

struct feed_item {
	struct statement	 st;
	struct render_doc	 doc;
	char			 lang[LANG_MAX];	/* doc.lang's */
};

struct feed_list {
	const struct pub_snap	*snap;		/* what was read */
	const char		*lang;		/* NULL: default versions */
	struct feed_item	*items;
	size_t			 n;
	size_t			 cap;
	size_t			 max;		/* stop after this many */
	size_t			 translated;	/* items in lang's own version */
	time_t			 newest;	/* latest broadcast creation */
};

/* Parse one stored broadcast into a document; -1 if it cannot be shown. */
int	feed_item_load(const struct broadcast *, struct feed_item *);
/* Its version for a reader of lang (NULL: the default): theirs, else
 * their base language's, else the default; 1 when it is a translation
 * (doc.lang set), 0 the default, -1 if it cannot be shown. */
int	feed_item_load_lang(const struct pub_snap *, const struct broadcast *,
	    const char *, struct feed_item *);
/* Published broadcasts as feed_list_load, in fl->lang's versions. */
void	feed_list_load_lang(struct feed_list *, const struct pub_snap *,
	    const char *, size_t);
/* The published broadcasts of a snapshot, newest first, at most max. */
void	feed_list_load(struct feed_list *, const struct pub_snap *, size_t);
/* A snapshot as the store: its broadcasts, one's translations. */
int	pub_snap_list(const struct pub_snap *, store_bc_cb, void *);
int	pub_snap_translations(const struct pub_snap *, int64_t, store_tr_cb,
	    void *, char *, size_t);
void	feed_list_free(struct feed_list *);
struct render_doc *feed_docs(const struct feed_list *);

#endif
