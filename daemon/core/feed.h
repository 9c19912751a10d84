/*
 * feed.h -- the published broadcasts, loaded for the feed and the
 * archive (core only).
 */
#ifndef FEED_H
#define FEED_H

#include <stddef.h>
#include <time.h>

#include "render.h"
#include "statement.h"

struct broadcast;

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
int	feed_item_load(const struct broadcast *, struct feed_item *);
/* The published broadcasts, newest first, at most max (limit: rows read). */
int	feed_list_load(struct feed_list *, size_t, int, char *, size_t);
void	feed_list_free(struct feed_list *);
struct render_doc *feed_docs(const struct feed_list *);

#endif
