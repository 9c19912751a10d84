/*
 * dest.c -- the static table of mailbox providers, and MX parents (see
 * dest.h).
 */
#include <arpa/nameser.h>
#include <resolv.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dest.h"

/*
 * Each row is one provider: the domains its users' addresses use, then
 * the domains its mail exchangers are in.  The first names the group.
 */
static const char *const dest_table[][12] = {
	{ "gmail.com", "googlemail.com", "google.com", NULL },
	{ "outlook.com", "hotmail.com", "live.com", "msn.com",
	  "hotmail.co.uk", "hotmail.fr", "live.co.uk", "outlook.fr",
	  "windowslive.com", "passport.com", NULL },
	{ "yahoo.com", "aol.com", "ymail.com", "rocketmail.com",
	  "yahoo.co.uk", "yahoo.fr", "aim.com", "yahoodns.net", NULL },
	{ "icloud.com", "me.com", "mac.com", NULL },
	{ "gmx.net", "gmx.de", "gmx.com", "gmx.at", "gmx.ch", NULL },
	{ "web.de", NULL },
	{ "mail.ru", "bk.ru", "inbox.ru", "list.ru", "internet.ru", NULL },
	{ "yandex.ru", "yandex.com", "ya.ru", "yandex.net", NULL },
	{ "zoho.com", "zohomail.com", NULL },
	{ "protonmail.com", "proton.me", "protonmail.ch", "pm.me", NULL },
};
#define DEST_NPROVIDERS	(sizeof(dest_table) / sizeof(dest_table[0]))

/* Two-level public suffixes under which a parent has three labels. */
static const char *const dest_suffix2[] = {
	"co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "co.jp", "ne.jp",
	"or.jp", "com.au", "net.au", "org.au", "co.nz", "com.br", "com.cn",
	"com.mx", "com.ar", "com.tr", "co.za", "co.in", "co.kr", "com.tw",
	"com.sg", "com.hk",
	NULL,
};

/* d is s, or ends with "." s (case-insensitive). */
static int
dest_in(const char *d, const char *s)
{
	size_t	dl = strlen(d), sl = strlen(s);

	if (dl == sl)
		return strcasecmp(d, s) == 0;
	return dl > sl && d[dl - sl - 1] == '.' &&
	    strcasecmp(d + dl - sl, s) == 0;
}

const char *
dest_provider(const char *d)
{
	size_t	i, k;
	size_t	dl = strlen(d);

	/* an absolute name's final dot */
	if (dl > 0 && d[dl - 1] == '.') {
		char	tmp[256];

		if (dl >= sizeof(tmp))
			return NULL;
		memcpy(tmp, d, dl - 1);
		tmp[dl - 1] = '\0';
		return dest_provider(tmp);
	}
	for (i = 0; i < DEST_NPROVIDERS; i++)
		for (k = 0; dest_table[i][k] != NULL; k++)
			if (dest_in(d, dest_table[i][k]))
				return dest_table[i][0];
	return NULL;
}

int
dest_parent(const char *h, char *out, size_t outlen)
{
	const char	*p, *start;
	size_t		 len = strlen(h), i;
	int		 labels = 2, dots = 0;

	while (len > 0 && h[len - 1] == '.')
		len--;
	if (len == 0 || len >= 254)
		return -1;
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)h[i]) || h[i] == '-' ||
		    h[i] == '.' || h[i] == '_'))
			return -1;
	for (i = 0; dest_suffix2[i] != NULL; i++) {
		size_t	sl = strlen(dest_suffix2[i]);

		if (len > sl && h[len - sl - 1] == '.' &&
		    strncasecmp(h + len - sl, dest_suffix2[i], sl) == 0) {
			labels = 3;
			break;
		}
	}
	/* back to the start of the last `labels` labels */
	start = h;
	for (p = h + len; p > h; p--)
		if (p[-1] == '.' && ++dots == labels) {
			start = p;
			break;
		}
	if ((size_t)(h + len - start) + 1 > outlen)
		return -1;
	for (i = 0; start + i < h + len; i++)
		out[i] = (char)tolower((unsigned char)start[i]);
	out[i] = '\0';
	return 0;
}

void
dest_key(const char *d, char *out, size_t outlen)
{
	const char	*p = dest_provider(d);
	size_t		 i;

	if (p != NULL) {
		snprintf(out, outlen, "%s", p);
		return;
	}
	for (i = 0; d[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)d[i]);
	if (outlen > 0)
		out[i] = '\0';
	while (i > 0 && out[i - 1] == '.')
		out[--i] = '\0';
}

int
dest_mx(const unsigned char *ans, size_t n, char *host, size_t hostlen,
    unsigned *ttl)
{
	const unsigned char	*p, *end;
	char			 name[NS_MAXDNAME];
	int			 i, k, qd, an, type, rdlen, pref, best = 65536;
	unsigned		 t, least = 0xffffffffu;

	if (hostlen > 0)
		host[0] = '\0';
	*ttl = 0;
	if (n < 12 || n > 65535)
		return -1;
	end = ans + n;
	qd = ans[4] << 8 | ans[5];
	an = ans[6] << 8 | ans[7];
	p = ans + 12;
	for (i = 0; i < qd; i++) {
		if ((k = dn_skipname(p, end)) < 0 || k > end - p - 4)
			goto bad;
		p += k + 4;
	}
	for (i = 0; i < an; i++) {
		if ((k = dn_skipname(p, end)) < 0 || k > end - p - 10)
			goto bad;
		p += k;
		type = p[0] << 8 | p[1];
		t = (unsigned)p[4] << 24 | (unsigned)p[5] << 16 |
		    (unsigned)p[6] << 8 | p[7];
		rdlen = p[8] << 8 | p[9];
		p += 10;
		if (rdlen > end - p)
			goto bad;
		if (type == ns_t_mx && rdlen > 2) {
			pref = p[0] << 8 | p[1];
			if (dn_expand(ans, end, p + 2, name, sizeof(name)) > 0 &&
			    name[0] != '\0' && pref < best &&
			    strlen(name) < hostlen) {
				best = pref;
				memcpy(host, name, strlen(name) + 1);
			}
			if (t < least)
				least = t;
		}
		p += rdlen;
	}
	if (best == 65536)
		return 0;
	*ttl = least;
	return 1;
bad:
	/* nothing from an answer cut or garbled after its first records */
	if (hostlen > 0)
		host[0] = '\0';
	return -1;
}
