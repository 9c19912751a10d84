/*
 * lang_test.c -- language tags (lib/lang.c): normalised case, refused
 * shapes, direction, the tag in a file name, the fallback from a region
 * to its language.
 */
#include <stdio.h>
#include <string.h>

#include "lang.h"
#include "unit.h"

static void
test_norm(void)
{
	static const struct {
		const char	*in, *want;	/* want NULL: refused */
	} cases[] = {
		{ "en", "en" }, { "EN", "en" }, { "es", "es" },
		{ "pt-br", "pt-BR" }, { "pt_BR", "pt-BR" }, { "PT-br", "pt-BR" },
		{ "zh-hant", "zh-Hant" }, { "zh-HANT-tw", "zh-Hant-TW" },
		{ "es-419", "es-419" }, { "ckb", "ckb" }, { "sr-latn-rs", "sr-Latn-RS" },
		{ "", NULL }, { "e", NULL }, { "engl", NULL }, { "en-", NULL },
		{ "-en", NULL }, { "en--US", NULL }, { "en-US-x-private", NULL },
		{ "de-CH-1901", NULL }, { "en-u-ca-gregory", NULL },
		{ "e1", NULL }, { "en-U1", NULL }, { "en-1234", NULL },
		{ "en-US-GB", NULL }, { "en-Latn-Latn", NULL }, { "en/../x", NULL },
		{ "en.txt", NULL }, { "é", NULL }, { "en-US\n", NULL },
		{ "fr-Latn-FR-extra", NULL },
	};
	char	out[LANG_MAX];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = lang_norm(cases[i].in, out, sizeof(out));
		if (cases[i].want == NULL) {
			CHECK_INT(cases[i].in, rc, -1);
			CHECK_STR(cases[i].in, out, "");
		} else {
			CHECK_INT(cases[i].in, rc, 0);
			CHECK_STR(cases[i].in, out, cases[i].want);
		}
	}
	CHECK_INT("too small a buffer", lang_norm("pt-BR", out, 5), -1);
	CHECK_INT("just fits", lang_norm("pt-BR", out, 6), 0);
	CHECK_INT("NULL", lang_norm(NULL, out, sizeof(out)), -1);
}

static void
test_dir(void)
{
	static const struct {
		const char	*tag, *want;
	} cases[] = {
		{ "ar", "rtl" }, { "ar-EG", "rtl" }, { "he", "rtl" },
		{ "fa", "rtl" }, { "ur-PK", "rtl" }, { "yi", "rtl" },
		{ "ckb", "rtl" }, { "az-Arab", "rtl" }, { "pa-Arab-PK", "rtl" },
		{ "en", "ltr" }, { "es", "ltr" }, { "fr", "ltr" }, { "pt-BR", "ltr" },
		{ "arn", "ltr" }, { "az-Latn", "ltr" }, { "bad tag", "ltr" },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(cases[i].tag, lang_dir(cases[i].tag), cases[i].want);
}

static void
test_from_name(void)
{
	static const struct {
		const char	*path, *want;	/* want NULL: no tag */
	} cases[] = {
		{ "statement.es.txt", "es" }, { "dir/statement.pt-BR.md", "pt-BR" },
		{ "/a.b/s.AR.txt", "ar" }, { "s.zh-hant-tw.md", "zh-Hant-TW" },
		{ "statement.txt", NULL }, { "statement", NULL },
		{ ".es.txt", NULL }, { "v1.2.txt", NULL }, { "a..txt", NULL },
		{ "notes.draft.txt", NULL }, { "s.es-US-x.txt", NULL },
		{ "dir.es/statement.txt", NULL }, { "s.es.", "es" },
	};
	char	out[LANG_MAX];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = lang_from_name(cases[i].path, out, sizeof(out));
		CHECK_INT(cases[i].path, rc, cases[i].want != NULL);
		CHECK_STR(cases[i].path, out, cases[i].want ? cases[i].want : "");
	}
}

static void
test_pick(void)
{
	static const char *const have[] = { "en", "es", "pt", "fr-CA", "ar" };
	static const struct {
		const char	*want;
		int		 idx;
	} cases[] = {
		{ "en", 0 }, { "ES", 1 }, { "pt-BR", 2 }, { "pt", 2 },
		{ "fr-CA", 3 }, { "fr", -1 }, { "fr-FR", -1 }, { "ar-EG", 4 },
		{ "de", -1 }, { "bad tag", -1 }, { "es-419", 1 },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(cases[i].want, lang_pick(cases[i].want, have, 5),
		    cases[i].idx);
	CHECK_INT("nothing to pick from", lang_pick("en", have, 0), -1);
}

int
main(void)
{
	test_norm();
	test_dir();
	test_from_name();
	test_pick();
	return unit_done("lang");
}
