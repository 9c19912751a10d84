/*
 * addr_test.c -- table-driven tests for addr_normalize(), addr_key(),
 * utf8_valid() and text_header_safe().
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

struct good_case {
	const char	*name;
	const char	*in;
	const char	*want;
	const char	*key;
};

static const struct good_case good[] = {
	{ "plain", "jane@example.org", "jane@example.org", "jane@example.org" },
	{ "trimmed", " \tjane@example.org  ", "jane@example.org",
	    "jane@example.org" },
	{ "subaddress", "jane+news@example.com", "jane+news@example.com",
	    "jane+news@example.com" },
	{ "dots and atext", "o'brien.j_x!#$%&*/=?^`{|}~-@mail.example.net",
	    "o'brien.j_x!#$%&*/=?^`{|}~-@mail.example.net",
	    "o'brien.j_x!#$%&*/=?^`{|}~-@mail.example.net" },
	{ "uppercase domain lowered, local kept", "Jane.Doe@EXAMPLE.ORG",
	    "Jane.Doe@example.org", "jane.doe@example.org" },
	{ "quoted local part kept", "\"jane doe\"@example.org",
	    "\"jane doe\"@example.org", "\"jane doe\"@example.org" },
	{ "quoted plain local part unquoted", "\"jane\"@example.org",
	    "jane@example.org", "jane@example.org" },
	{ "quoted with needless escape", "\"a\\ b\"@example.org",
	    "\"a b\"@example.org", "\"a b\"@example.org" },
	{ "quoted with quote and at", "\"a\\\"b@c\"@example.org",
	    "\"a\\\"b@c\"@example.org", "\"a\\\"b@c\"@example.org" },
	{ "IDN domain", "juergen@bücher.example",
	    "juergen@xn--bcher-kva.example", "juergen@xn--bcher-kva.example" },
	{ "IDN domain uppercase", "juergen@BÜCHER.Example",
	    "juergen@xn--bcher-kva.example", "juergen@xn--bcher-kva.example" },
	{ "CJK domain", "taro@日本.example", "taro@xn--wgv71a.example",
	    "taro@xn--wgv71a.example" },
	{ "existing A-label", "a@XN--BCHER-KVA.example",
	    "a@xn--bcher-kva.example", "a@xn--bcher-kva.example" },
	{ "hyphen and digits", "a@mx-1.3com.example", "a@mx-1.3com.example",
	    "a@mx-1.3com.example" },
	{ "64-octet local part",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org" },
	{ "254-octet address",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	    "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD.example",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	    "ddddddddddddddddddddddddddddddddddddddddddddddddddddd.example",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	    "ddddddddddddddddddddddddddddddddddddddddddddddddddddd.example" },
};

struct bad_case {
	const char	*name;
	const char	*in;
	const char	*want;	/* error message */
};

static const struct bad_case bad[] = {
	{ "empty", "", "empty address" },
	{ "blank", "   ", "empty address" },
	{ "no @", "jane.example.org", "missing @" },
	{ "two @", "jane@doe@example.org", "more than one @" },
	{ "empty local", "@example.org", "empty local part" },
	{ "empty quoted local", "\"\"@example.org", "empty local part" },
	{ "65-octet local",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org", "local part over 64 octets" },
	{ "bad label underscore", "a@my_host.example.org",
	    "invalid domain label 'my_host'" },
	{ "bad label hyphen", "a@-host.example.org",
	    "invalid domain label '-host'" },
	{ "label over 63",
	    "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example", "domain label over 63 octets" },
	{ "trailing dot", "a@example.org.", "domain ends with a dot" },
	{ "empty label", "a@example..org", "empty label in domain" },
	{ "no dot", "a@localhost", "domain without a dot" },
	{ "numeric TLD", "a@192.0.2.1", "numeric top-level domain" },
	{ "address literal", "a@[192.0.2.1]", "address literals not accepted" },
	{ "empty domain", "jane@", "empty domain" },
	{ "space in local", "jane doe@example.org", "space in local part" },
	{ "name-addr", "Jane Doe <jane@example.org>", "'Name <address>' "
	    "form: give the bare address (the name has its own field)" },
	{ "angle-addr", "<jane@example.org>", "'Name <address>' form: give "
	    "the bare address (the name has its own field)" },
	{ "non-ASCII name-addr", "Zoë Ä <zoe@example.org>", "'Name "
	    "<address>' form: give the bare address (the name has its own "
	    "field)" },
	{ "space in domain", "jane@exa mple.org",
	    "invalid domain label 'exa mple'" },
	{ "CR injection", "jane@example.org\r\nBcc: x@example.net",
	    "control character in address" },
	{ "LF injection", "jane@example.org\nx", "control character in address" },
	{ "tab inside", "ja\tne@example.org", "control character in address" },
	{ "non-ASCII local", "jürgen@bücher.example",
	    "non-ASCII local part (SMTPUTF8 not supported)" },
	{ "non-ASCII quoted local", "\"jürgen\"@example.org",
	    "non-ASCII local part (SMTPUTF8 not supported)" },
	{ "leading dot", ".jane@example.org", "local part starts with a dot" },
	{ "trailing dot local", "jane.@example.org",
	    "local part ends with a dot" },
	{ "double dot", "ja..ne@example.org", "two dots in a row in local part" },
	{ "bad char", "ja(ne@example.org", "invalid character '(' in local part" },
	{ "unterminated quote", "\"jane@example.org",
	    "unterminated quoted local part" },
	{ "text after quote", "\"jane\"x@example.org",
	    "text after quoted local part" },
	{ "invalid IDN", "a@☃.example",
	    "invalid internationalised domain: string contains a disallowed "
	    "character" },
	{ "forged A-label", "a@xn--n3h.example",
	    "invalid internationalised domain: string contains a disallowed "
	    "character" },
	{ "invalid UTF-8 domain", "a@b\xc3\x28.example",
	    "invalid UTF-8 in domain" },
	/* 64 + 1 + 190 = 255 octets */
	{ "255-octet address",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@"
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	    "dddddddddddddddddddddddddddddddddddddddddddddddddddddd.example",
	    "address over 254 octets" },
};

struct utf8_case {
	const char	*name;
	const char	*s;
	size_t		 len;
	int		 want;
};

#define U(name, s, want) { name, s, sizeof(s) - 1, want }

static const struct utf8_case utf8[] = {
	U("empty", "", 1),
	U("ascii", "hello, world", 1),
	U("latin", "Zoë Ångström", 1),
	U("cjk", "日本語", 1),
	U("arabic", "مرحبا", 1),
	U("emoji 4-byte", "\xf0\x9f\x93\xae", 1),
	U("max U+10FFFF", "\xf4\x8f\xbf\xbf", 1),
	U("U+FFFF", "\xef\xbf\xbf", 1),
	U("nul is utf-8", "a\0b", 1),
	U("lone continuation", "\x80", 0),
	U("overlong slash", "\xc0\xaf", 0),
	U("overlong 3-byte", "\xe0\x80\xaf", 0),
	U("overlong 4-byte", "\xf0\x80\x80\xaf", 0),
	U("surrogate D800", "\xed\xa0\x80", 0),
	U("surrogate DFFF", "\xed\xbf\xbf", 0),
	U("above U+10FFFF", "\xf4\x90\x80\x80", 0),
	U("f5 lead", "\xf5\x80\x80\x80", 0),
	U("truncated 2-byte", "ab\xc3", 0),
	U("truncated 4-byte", "\xf0\x9f\x93", 0),
	U("bad continuation", "\xc3\x28", 0),
	U("latin-1 text", "Z\xf6" "e", 0),
};

static const struct utf8_case safe[] = {
	U("plain", "Jane Doe", 1),
	U("utf-8", "Zoë", 1),
	U("CR", "a\rb", 0),
	U("LF", "a\nb", 0),
	U("NUL", "a\0b", 0),
	U("tab ok", "a\tb", 1),
};

int
main(void)
{
	char	 out[ADDR_BUFSZ], key[ADDR_BUFSZ], err[128], name[160];
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		rc = addr_normalize(good[i].in, out, sizeof(out), err,
		    sizeof(err));
		snprintf(name, sizeof(name), "good %s: rc (err %s)",
		    good[i].name, err);
		CHECK_INT(name, rc, 0);
		snprintf(name, sizeof(name), "good %s", good[i].name);
		CHECK_STR(name, out, good[i].want);
		addr_key(out, key, sizeof(key));
		snprintf(name, sizeof(name), "good %s: key", good[i].name);
		CHECK_STR(name, key, good[i].key);
	}

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		rc = addr_normalize(bad[i].in, out, sizeof(out), err,
		    sizeof(err));
		snprintf(name, sizeof(name), "bad %s: rc", bad[i].name);
		CHECK_INT(name, rc, -1);
		snprintf(name, sizeof(name), "bad %s: err", bad[i].name);
		CHECK_STR(name, err, bad[i].want);
		snprintf(name, sizeof(name), "bad %s: out empty", bad[i].name);
		CHECK_STR(name, out, "");
	}

	/* The error buffer is truncated, never overrun. */
	err[5] = 'X';
	rc = addr_normalize("nope", out, sizeof(out), err, 5);
	CHECK_INT("small err: rc", rc, -1);
	CHECK_STR("small err: truncated", err, "miss");
	CHECK("small err: no overrun", err[5] == 'X');

	/* A small output buffer is an error, not an overflow. */
	rc = addr_normalize("jane@example.org", out, 8, err, sizeof(err));
	CHECK_INT("small out: rc", rc, -1);

	/* addr_key truncates to its buffer. */
	addr_key("Jane@Example.ORG", key, 5);
	CHECK_STR("key truncated", key, "jane");

	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
		snprintf(name, sizeof(name), "utf8_valid %s", utf8[i].name);
		CHECK_INT(name, utf8_valid(utf8[i].s, utf8[i].len),
		    utf8[i].want);
	}
	for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
		snprintf(name, sizeof(name), "text_header_safe %s",
		    safe[i].name);
		CHECK_INT(name, text_header_safe(safe[i].s, safe[i].len),
		    safe[i].want);
	}

	return unit_done("addr");
}
