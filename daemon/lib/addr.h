/*
 * addr.h -- mailbox syntax checks and text safety predicates
 * (leaf module: libc + libidn2).
 *
 * SYNOPSIS
 *	char addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[128];
 *
 *	if (addr_normalize(" Jane.Doe@Bücher.Example ", addr, sizeof(addr),
 *	    err, sizeof(err)) == -1)
 *		... err says why, e.g. "missing @" ...
 *	addr_key(addr, key, sizeof(key));
 *
 * BEHAVIOUR
 *	addr_normalize() accepts one RFC 5321 Mailbox, Local-part "@" Domain,
 *	and writes its canonical form to out:
 *	- leading and trailing spaces and tabs are trimmed; CR, LF or any
 *	  other control character anywhere is an error;
 *	- the local part is a dot-string or a quoted-string, ASCII only (no
 *	  SMTPUTF8).  A quoted-string whose content is a valid dot-string is
 *	  unquoted ("jane"@x -> jane@x); otherwise it is kept quoted with only
 *	  the necessary backslashes ("\a b"@x -> "a b"@x).  Its case is kept.
 *	  At most ADDR_LOCAL_MAX octets (after normalisation, quotes included);
 *	- the domain is a hostname with at least two labels: labels of 1-63
 *	  octets of letters, digits and hyphens, no hyphen at either end, no
 *	  empty label (so no trailing dot), an all-numeric last label
 *	  rejected, at most 253 octets.  A domain with non-ASCII characters is
 *	  converted to A-labels with libidn2 (IDNA2008, UTS #46
 *	  non-transitional, NFC input); ASCII "xn--" labels are checked the
 *	  same way.  The domain is lowercased.  Address literals
 *	  ("user@[192.0.2.1]") are rejected: a mailing list has no business
 *	  mailing bare IP addresses;
 *	- the whole result is at most ADDR_MAX octets.
 *	out must hold at least ADDR_BUFSZ bytes for any valid address.
 *
 *	addr_key() writes the case-insensitive uniqueness key of an address
 *	returned by addr_normalize(): the whole address in ASCII lowercase.
 *	The result is truncated (and NUL-terminated) to keylen.
 *
 *	utf8_valid() tells whether s[0..len) is well-formed UTF-8: no
 *	overlong forms, no surrogates, nothing above U+10FFFF.  NUL bytes are
 *	valid UTF-8 here; use text_header_safe() to refuse them.
 *
 *	text_header_safe() tells whether s[0..len) contains no CR, LF or NUL,
 *	i.e. can be put on one header line or one log line.
 *
 * DIAGNOSTICS
 *	addr_normalize() returns 0 on success, -1 on a bad address with a
 *	short, specific, one-line reason in err (never containing the raw
 *	input's control characters), e.g. "missing @", "more than one @",
 *	"empty local part", "local part over 64 octets", "invalid domain
 *	label 'x'", "control character in address", "non-ASCII local part
 *	(SMTPUTF8 not supported)", "address over 254 octets".
 *	utf8_valid() and text_header_safe() return 1 (yes) or 0 (no).
 */
#ifndef BROADSIDE_ADDR_H
#define BROADSIDE_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	253	/* RFC 1035 name, no trailing dot */
#define ADDR_MAX	254	/* RFC 5321 path (256) minus "<" and ">" */
#define ADDR_BUFSZ	(ADDR_MAX + 1)

int	 addr_normalize(const char *in, char *out, size_t outlen, char *err,
	    size_t errlen);
void	 addr_key(const char *addr, char *key, size_t keylen);

int	 utf8_valid(const char *s, size_t len);
int	 text_header_safe(const char *s, size_t len);

#endif
