/*
 * http_parse.h -- decoding of what a public HTTP client sends: the
 * request-target's path and query, form bodies, If-None-Match and
 * If-Modified-Since (leaf module: libc + buf).
 *
 * SYNOPSIS
 *	struct buf path = BUF_INIT, val = BUF_INIT;
 *
 *	if (http_path(evhttp_uri_get_path(uri), &path) == -1)
 *		... 400 ...
 *	if (query != NULL && http_query_check(query) == -1)
 *		... 400 ...
 *	switch (http_form_get(body, len, "email", &val)) ...
 *
 * BEHAVIOUR
 *	http_decode() decodes s[0..len) into out (reset first): %XX with
 *	hex digits of either case, '+' as a space when plus is set.  A '%'
 *	without two hex digits after it, %00 or a raw NUL byte is an error.  out is a C
 *	string (even when empty) on success.
 *
 *	http_path() accepts an absolute path only: it must start with '/',
 *	decode strictly (as above, '+' kept), and hold no control character,
 *	DEL or backslash and no "." or ".." segment once decoded.  The
 *	decoded path goes to path.
 *
 *	http_query_check() tells whether every '%' of a raw query string is
 *	followed by two hex digits.
 *
 *	http_form_get() finds the first pair whose decoded name is key in an
 *	application/x-www-form-urlencoded string s[0..len) (a query or a
 *	body; it need not be NUL-terminated) and decodes its value into val
 *	("" for "key" without "=").  Pairs before it must decode too.
 *
 *	http_etag_match() tells whether an If-None-Match list names etag
 *	(a quoted entity tag), with the weak comparison: "W/" is ignored and
 *	"*" matches anything.  A malformed list matches nothing it has not
 *	already matched.
 *
 *	http_date_parse() reads an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
 *	GMT") into *t; anything else (other formats, trailing text) is -1.
 *
 * DIAGNOSTICS
 *	http_decode(), http_path(), http_query_check() and
 *	http_date_parse() return 0 or -1; http_form_get() returns 1 found,
 *	0 absent, -1 bad encoding; http_etag_match() returns 1 or 0;
 *	http_hexval() returns 0..15, or -1 for a non-hex character.
 *	Allocation failure aborts (buf.c).
 */
#ifndef BROADSIDE_HTTP_PARSE_H
#define BROADSIDE_HTTP_PARSE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

int	http_hexval(int);
int	http_decode(const char *, size_t, int plus, struct buf *);
int	http_path(const char *, struct buf *);
int	http_query_check(const char *);
int	http_form_get(const char *, size_t, const char *key, struct buf *);
int	http_etag_match(const char *list, const char *etag);
int	http_date_parse(const char *, time_t *);

#endif
