/*
 * dest_test.c -- destination groups: the static table of providers
 * (dest_provider, dest_key) and an MX host's parent domain (dest_parent).
 */
#include <stdio.h>
#include <string.h>

#include "dest.h"
#include "unit.h"

static void
test_provider(void)
{
	static const struct {
		const char	*d, *want;
	} t[] = {
		{ "gmail.com", "gmail.com" },
		{ "googlemail.com", "gmail.com" },
		{ "GoogleMail.COM", "gmail.com" },
		{ "aspmx.l.google.com", "gmail.com" },	/* an MX host */
		{ "alt1.aspmx.l.google.com.", "gmail.com" },
		{ "hotmail.com", "outlook.com" },
		{ "live.com", "outlook.com" },
		{ "msn.com", "outlook.com" },
		{ "example-com.mail.protection.outlook.com", "outlook.com" },
		{ "aol.com", "yahoo.com" },
		{ "ymail.com", "yahoo.com" },
		{ "mta5.am0.yahoodns.net", "yahoo.com" },
		{ "me.com", "icloud.com" },
		{ "gmx.de", "gmx.net" },
		{ "web.de", "web.de" },
		{ "bk.ru", "mail.ru" },
		{ "ya.ru", "yandex.ru" },
		{ "notgmail.com", NULL },		/* a suffix, not a label */
		{ "gmail.com.example.org", NULL },
		{ "example.org", NULL },
		{ "", NULL },
	};
	size_t		 i;
	const char	*got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = dest_provider(t[i].d);
		CHECK_STR(t[i].d, got ? got : "(none)", t[i].want ? t[i].want :
		    "(none)");
	}
}

static void
test_parent(void)
{
	static const struct {
		const char	*h, *want;
		int		 rc;
	} t[] = {
		{ "aspmx.l.google.com", "google.com", 0 },
		{ "mx1.Example.ORG.", "example.org", 0 },
		{ "example.org", "example.org", 0 },
		{ "mx.mail.example.co.uk", "example.co.uk", 0 },
		{ "mail.example.com.au", "example.com.au", 0 },
		{ "localhost", "localhost", 0 },
		{ "bad host.example", "", -1 },
		{ "", "", -1 },
	};
	char	out[256];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		out[0] = '\0';
		rc = dest_parent(t[i].h, out, sizeof(out));
		CHECK_INT(t[i].h, rc, t[i].rc);
		if (rc == 0)
			CHECK_STR(t[i].h, out, t[i].want);
	}
	CHECK_INT("too small", dest_parent("mx.example.org", out, 5), -1);
}

static void
test_key(void)
{
	char	out[256];

	dest_key("GoogleMail.com", out, sizeof(out));
	CHECK_STR("provider", out, "gmail.com");
	dest_key("Example.ORG.", out, sizeof(out));
	CHECK_STR("own domain, lowercase", out, "example.org");
}

/* x: a DNS answer in hex (dnslib's packing of two MX records, the
 * second name compressed against the first) */
static size_t
unhex(const char *x, unsigned char *out)
{
	size_t	n = 0;
	unsigned v;

	for (; x[0] != '\0' && x[1] != '\0'; x += 2) {
		sscanf(x, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

static void
test_mx(void)
{
	/* corp.test MX 20 alt1.aspmx.l.google.com (TTL 300), 10
	 * aspmx.l.google.com (TTL 120) */
	static const char two[] = "8fbc8580000100020000000004636f7270047465"
	    "737400000f0001c00c000f00010000012c001b001404616c7431056173706d"
	    "78016c06676f6f676c6503636f6d00c00c000f0001000000780004000ac02e";
	unsigned char	 ans[512];
	char		 host[256];
	unsigned	 ttl;
	size_t		 n = unhex(two, ans), k;

	CHECK_INT("two MX", dest_mx(ans, n, host, sizeof(host), &ttl), 1);
	CHECK_STR("the lowest preference", host, "aspmx.l.google.com");
	CHECK_INT("the least TTL", (int)ttl, 120);
	CHECK_INT("too small for the name", dest_mx(ans, n, host, 10, &ttl),
	    0);
	/* every cut is malformed or holds fewer records, never read past */
	for (k = 0; k < n; k++)
		CHECK("cut", dest_mx(ans, k, host, sizeof(host), &ttl) <= 1);
	CHECK_INT("cut in the header", dest_mx(ans, 11, host, sizeof(host),
	    &ttl), -1);
	CHECK_INT("cut in an answer", dest_mx(ans, n - 3, host, sizeof(host),
	    &ttl), -1);
	/* no answers */
	ans[7] = 0;
	CHECK_INT("no MX", dest_mx(ans, n, host, sizeof(host), &ttl), 0);
	CHECK_STR("no host", host, "");
}

int
main(void)
{
	test_provider();
	test_parent();
	test_key();
	test_mx();
	return unit_done("dest");
}
