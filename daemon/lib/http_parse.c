/*
 * http_parse.c -- strict decoding of public HTTP request-targets, form
 * bodies and conditional-request headers (see http_parse.h).  Kept apart
 * from http.c so that it can be unit-tested and fuzzed without libevent.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "http_parse.h"

int
http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict %XX decoding ('+' is a space when plus); -1 on bad escapes. */
int
http_decode(const char *s, size_t len, int plus, struct buf *out)
{
	size_t	i;
	int	h, l;

	buf_reset(out);
	buf_grow(out, len);
	out->p[0] = '\0';	/* a C string even when empty */
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len)
				return -1;
			if ((h = http_hexval((unsigned char)s[i + 1])) < 0 ||
			    (l = http_hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			if (h == 0 && l == 0)
				return -1;		/* NUL */
			buf_addc(out, (char)(h << 4 | l));
			i += 2;
		} else if (s[i] == '+' && plus)
			buf_addc(out, ' ');
		else if (s[i] == '\0')
			return -1;		/* a raw NUL in a body */
		else
			buf_addc(out, s[i]);
	}
	return 0;
}

/* The decoded path, or -1 for anything but a plain absolute path. */
int
http_path(const char *raw, struct buf *path)
{
	const char	*seg, *p;
	size_t		 n;

	if (raw == NULL || raw[0] != '/')
		return -1;
	if (http_decode(raw, strlen(raw), 0, path) == -1)
		return -1;
	for (p = path->p; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return -1;
	for (seg = path->p + 1;; seg += n + 1) {
		n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return -1;
		if (seg[n] == '\0')
			break;
	}
	return 0;
}

/* Every '%' of a raw query followed by two hex digits? */
int
http_query_check(const char *query)
{
	const char	*p;

	for (p = query; *p != '\0'; p++)
		if (*p == '%' && (http_hexval((unsigned char)p[1]) < 0 ||
		    http_hexval((unsigned char)p[2]) < 0))
			return -1;
	return 0;
}

/*
 * The first value of key in an application/x-www-form-urlencoded string
 * (a query or a body).  Returns 1 found, 0 absent, -1 bad encoding.
 */
int
http_form_get(const char *s, size_t len, const char *key, struct buf *val)
{
	struct buf	 k = BUF_INIT;
	const char	*end = s + len, *amp, *eq;
	int		 ret = 0;

	while (s < end && ret == 0) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		if (http_decode(s, (size_t)(eq - s), 1, &k) == -1 ||
		    (eq < amp && http_decode(eq + 1, (size_t)(amp - eq - 1), 1,
		    val) == -1)) {
			ret = -1;
			break;
		}
		if (strcmp(k.p, key) == 0) {
			if (eq == amp && http_decode("", 0, 1, val) == -1)
				ret = -1;
			else
				ret = 1;
		}
		s = amp + 1;
	}
	buf_free(&k);
	return ret;
}

/* Does an If-None-Match list name our ETag (weak comparison)? */
int
http_etag_match(const char *list, const char *etag)
{
	const char	*p = list, *e;
	size_t		 n, elen = strlen(etag);

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"' || (e = strchr(p + 1, '"')) == NULL)
			return 0;
		n = (size_t)(e - p) + 1;
		if (n == elen && memcmp(p, etag, n) == 0)
			return 1;
		p = e + 1;
	}
	return 0;
}

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 for anything else. */
int
http_date_parse(const char *s, time_t *t)
{
	static const char	*mons = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm		 tm;
	char			 wd[4], mon[4], gmt[4];
	const char		*m;
	int			 n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%3[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n", wd,
	    &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, gmt, &n) != 8 || s[n] != '\0' || strcmp(gmt, "GMT") != 0 ||
	    strlen(mon) != 3 || (m = strstr(mons, mon)) == NULL ||
	    (m - mons) % 3 != 0)
		return -1;
	tm.tm_mon = (int)(m - mons) / 3;
	tm.tm_year -= 1900;
	if ((*t = timegm(&tm)) == (time_t)-1)
		return -1;
	return 0;
}
