/*
 * mustache.h -- mustache templates: compile once, render many (leaf module,
 * libc only).
 *
 * SYNOPSIS
 *	tpl = mus_compile(src, len, flags, loader, loader_arg, err, errlen);
 *	mus_render(tpl, stack, depth, &out);	(thread-safe, tpl read-only)
 *	mus_free(tpl);
 *
 * Supports the official spec's interpolation, sections, inverted, comments,
 * delimiters and partials (no lambdas): {{x}} HTML-escaped unless the
 * template was compiled with MUS_NOESCAPE, {{{x}}} and {{&x}} raw, dotted
 * names, implicit iterator {{.}}, set-delimiter, standalone-line rules,
 * partial indentation.  Partials are resolved at compile time through the
 * loader (so the caller decides which files a template may read);
 * recursive partials are expanded lazily at render time with a depth cap.
 *
 * DATA
 *	The render context is a stack of struct mus_val frames, bottom first.
 *	Names are looked up from the top frame down, as the spec requires.
 *	A caller typically pushes one frame shared by a whole broadcast and
 *	one small frame per recipient, both built without allocation.
 *
 * Truthiness: null, false, "" and the empty list are falsey; a list
 * section repeats per item; any other value is pushed as the context.
 * A bool interpolates as "true"/"false", a list or map as "".  Escaping
 * turns & < > " ' into &amp; &lt; &gt; &quot; &#39;.  Lookup: the first
 * frame (innermost section first, then the caller's frames top down)
 * that is a map holding the name's first part wins, even if the value
 * there is null; the other parts resolve against that value only.
 *
 * DIAGNOSTICS
 *	mus_compile returns NULL and writes "line N: message" into err
 *	(unclosed tag or section, mismatched or unexpected close, bad
 *	delimiter, empty or malformed name, sections nested over 128 deep);
 *	an error in a partial reads "line N: partial "p": line M: message".
 *	mus_render returns -1 only when partials nest deeper than
 *	MUS_MAXDEPTH or more than MUS_MAXEXPAND partials are rendered in
 *	one call (a partial that includes itself twice would otherwise
 *	take 2^64 steps), or when one call renders more than MUS_MAXSTEPS
 *	tags and text runs or adds more than MUS_MAXOUT octets (sections
 *	over lists nested n deep take items^n steps); out then holds a
 *	truncated rendering to discard.
 *	Both abort on allocation failure, as buf.c does.
 */
#ifndef BROADSIDE_MUSTACHE_H
#define BROADSIDE_MUSTACHE_H

#include <stddef.h>

#include "buf.h"

enum mus_kind {
	MUS_NULL,		/* missing / null: falsey, renders as "" */
	MUS_BOOL,		/* b */
	MUS_STR,		/* s, slen (numbers are passed as strings) */
	MUS_LIST,		/* items, n */
	MUS_MAP,		/* pairs, n */
};

struct mus_pair;

struct mus_val {
	enum mus_kind		 kind;
	int			 b;
	const char		*s;
	size_t			 slen;
	const struct mus_val	*items;
	const struct mus_pair	*pairs;
	size_t			 n;
};

struct mus_pair {
	const char	*key;
	struct mus_val	 val;
};

#define MUS_NOESCAPE	0x01	/* {{x}} is raw too (plain-text templates) */

#define MUS_MAXDEPTH	64	/* partials rendered inside one another */
#define MUS_MAXEXPAND	(1 << 20) /* partials rendered by one mus_render */
#define MUS_MAXSTEPS	(1 << 22) /* tags and text runs rendered by one */
#define MUS_MAXOUT	(64 * 1024 * 1024) /* octets added by one */

/* Return the partial's source in *src and *len (owned by the loader's caller
 * until mus_compile returns), or -1 when it does not exist ("" is used, as
 * the spec requires). */
typedef int (*mus_loader)(void *arg, const char *name, const char **src,
    size_t *len);

struct mus_tpl;

struct mus_tpl	*mus_compile(const char *, size_t, int, mus_loader, void *,
		    char *, size_t);
int		 mus_render(const struct mus_tpl *, const struct mus_val *const *,
		    size_t, struct buf *);
void		 mus_free(struct mus_tpl *);

/* Helpers to build values without allocation. */
static inline struct mus_val
mus_str(const char *s, size_t len)
{
	struct mus_val v = { MUS_STR, 0, s, len, NULL, NULL, 0 };
	return v;
}

static inline struct mus_val
mus_map(const struct mus_pair *pairs, size_t n)
{
	struct mus_val v = { MUS_MAP, 0, NULL, 0, NULL, pairs, n };
	return v;
}

static inline struct mus_val
mus_list(const struct mus_val *items, size_t n)
{
	struct mus_val v = { MUS_LIST, 0, NULL, 0, items, NULL, n };
	return v;
}

static inline struct mus_val
mus_bool(int b)
{
	struct mus_val v = { MUS_BOOL, b != 0, NULL, 0, NULL, NULL, 0 };
	return v;
}

#endif
