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

int
main(void)
{
	test_provider();
	test_parent();
	test_key();
	return unit_done("dest");
}
