/*
 * lang.h -- language tags of statements, subscribers and the site (leaf
 * module, libc only).
 *
 * SYNOPSIS
 *	lang_norm("pt-br", tag, sizeof(tag));		-> "pt-BR"
 *	lang_dir("ar")					-> "rtl"
 *	lang_from_name("statement.es.txt", tag, sizeof(tag));	-> 1, "es"
 *	lang_pick("pt-BR", have, n)			-> index of "pt-BR",
 *							   else of "pt", or -1
 *
 * TAGS
 *	The subset of BCP 47 (RFC 5646) a list needs: a language of 2 or 3
 *	letters, then optionally a script of 4 letters, then optionally a
 *	region of 2 letters or 3 digits, joined by '-' ('_' is read as '-').
 *	lang_norm writes it in the registry's case (language lower, Script
 *	title, REGION upper), at most LANG_MAX - 1 octets; extensions,
 *	variants and private use are refused, so a tag is a safe file name
 *	part, URL segment and header value.
 *
 * DIRECTION
 *	lang_dir is "rtl" for the languages written right to left (Arabic,
 *	Hebrew, Persian, Urdu, Yiddish, Pashto, Sindhi, Uyghur, Dhivehi,
 *	Central Kurdish, and any tag with the script Arab, Hebr, Syrc, Thaa
 *	or Nkoo), else "ltr".
 *
 * FILE NAMES
 *	lang_from_name takes the part between the last two dots of the
 *	file's base name ("x.pt-BR.md" -> "pt-BR"): 1 and the tag when it
 *	is one, 0 when there is no such part or it is no tag (a dotted name
 *	such as "v1.2.txt" is just a name).
 *
 * DIAGNOSTICS
 *	lang_norm returns 0, or -1 when the tag is not one (out is then "").
 */
#ifndef BROADSIDE_LANG_H
#define BROADSIDE_LANG_H

#include <stddef.h>

#define LANG_MAX	16	/* "zzz-Zzzz-999" and its NUL fit */

int		 lang_norm(const char *, char *, size_t);
const char	*lang_dir(const char *);
int		 lang_from_name(const char *, char *, size_t);
/* The best of have[0..n-1] (normalised tags) for want: itself, else its
 * language alone ("pt" for "pt-BR"), else -1. */
int		 lang_pick(const char *, const char *const *, size_t);

#endif
