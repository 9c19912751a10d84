/*
 * lang.c -- language tags (lang.h): normalise, direction, from a file
 * name, fall back.
 */
#include <string.h>
#include <strings.h>

#include "lang.h"

static int
lang_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
lang_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char
lang_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int
lang_norm(const char *in, char *out, size_t outlen)
{
	char		 t[LANG_MAX];
	const char	*p = in, *e;
	size_t		 n, o = 0, i;
	int		 part = 0;	/* 0 language, 1 script, 2 region */

	if (outlen > 0)
		out[0] = '\0';
	if (in == NULL)
		return -1;
	while (*p != '\0') {
		for (e = p; *e != '\0' && *e != '-' && *e != '_'; e++)
			;
		n = (size_t)(e - p);
		if (o + n + 1 >= sizeof(t))
			return -1;
		if (part == 0) {
			if (n < 2 || n > 3)
				return -1;
			for (i = 0; i < n; i++) {
				if (!lang_alpha(p[i]))
					return -1;
				t[o++] = lang_lower(p[i]);
			}
			part = 1;
		} else {
			t[o++] = '-';
			if (part == 1 && n == 4 && lang_alpha(p[0]) &&
			    lang_alpha(p[1]) && lang_alpha(p[2]) &&
			    lang_alpha(p[3])) {
				t[o++] = lang_upper(p[0]);
				for (i = 1; i < 4; i++)
					t[o++] = lang_lower(p[i]);
				part = 2;
			} else if (part <= 2 && n == 2 && lang_alpha(p[0]) &&
			    lang_alpha(p[1])) {
				t[o++] = lang_upper(p[0]);
				t[o++] = lang_upper(p[1]);
				part = 3;
			} else if (part <= 2 && n == 3 && p[0] >= '0' &&
			    p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
			    p[2] >= '0' && p[2] <= '9') {
				memcpy(t + o, p, 3);
				o += 3;
				part = 3;
			} else
				return -1;
		}
		if (*e == '\0')
			break;
		p = e + 1;
		if (*p == '\0')
			return -1;	/* a trailing separator */
	}
	if (part == 0 || o + 1 > outlen)
		return -1;
	memcpy(out, t, o);
	out[o] = '\0';
	return 0;
}

const char *
lang_dir(const char *tag)
{
	static const char *const rtl[] = { "ar", "he", "iw", "fa", "ur",
	    "yi", "ps", "sd", "ug", "dv", "ckb", NULL };
	static const char *const scripts[] = { "Arab", "Hebr", "Syrc",
	    "Thaa", "Nkoo", NULL };
	char		 t[LANG_MAX], *dash;
	size_t		 i;

	if (lang_norm(tag, t, sizeof(t)) == -1)
		return "ltr";
	if ((dash = strchr(t, '-')) != NULL) {
		for (i = 0; scripts[i] != NULL; i++)
			if (strncmp(dash + 1, scripts[i], 4) == 0 &&
			    (dash[5] == '\0' || dash[5] == '-'))
				return "rtl";
		*dash = '\0';
	}
	for (i = 0; rtl[i] != NULL; i++)
		if (strcmp(t, rtl[i]) == 0)
			return "rtl";
	return "ltr";
}

int
lang_from_name(const char *path, char *out, size_t outlen)
{
	const char	*base, *last, *prev;
	char		 part[LANG_MAX];
	size_t		 n;

	if (outlen > 0)
		out[0] = '\0';
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	if ((last = strrchr(base, '.')) == NULL || last == base)
		return 0;
	for (prev = last - 1; prev > base && *prev != '.'; prev--)
		;
	if (*prev != '.' || prev == base)
		return 0;
	n = (size_t)(last - prev - 1);
	if (n == 0 || n >= sizeof(part))
		return 0;
	memcpy(part, prev + 1, n);
	part[n] = '\0';
	if (lang_norm(part, out, outlen) == -1)
		return 0;
	return 1;
}

int
lang_pick(const char *want, const char *const *have, size_t n)
{
	char	t[LANG_MAX], *dash;
	size_t	i;

	if (lang_norm(want, t, sizeof(t)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (have[i] != NULL && strcasecmp(have[i], t) == 0)
			return (int)i;
	if ((dash = strchr(t, '-')) == NULL)
		return -1;
	*dash = '\0';
	for (i = 0; i < n; i++)
		if (have[i] != NULL && strcasecmp(have[i], t) == 0)
			return (int)i;
	return -1;
}
