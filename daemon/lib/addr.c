/*
 * addr.c -- RFC 5321 mailbox validation and normalisation, UTF-8 and
 * header-safety predicates; see addr.h for the contract.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "addr.h"
#include "utf8.h"

#define ADDR_INPUT_MAX	1024	/* refuse to look further than this */

static int	 addr_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 addr_atext(unsigned char);
static int	 addr_dotstring(const char *, size_t, char *, size_t);
static int	 addr_local(const char *, size_t, size_t *, char *, size_t,
		    size_t *, char *, size_t);
static int	 addr_domain(const char *, size_t, char *, size_t, char *,
		    size_t);
static int	 addr_labels(const char *, char *, size_t);

static int
addr_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
addr_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Check a dot-string: atoms of atext separated by single dots.  Returns 0
 * when valid, else -1 with the reason in err (when err is not NULL).
 */
static int
addr_dotstring(const char *s, size_t len, char *err, size_t errlen)
{
	size_t		 i;
	unsigned char	 c;

	if (len == 0)
		return addr_fail(err, errlen, "empty local part");
	if (s[0] == '.')
		return addr_fail(err, errlen, "local part starts with a dot");
	if (s[len - 1] == '.')
		return addr_fail(err, errlen, "local part ends with a dot");
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return addr_fail(err, errlen,
				    "two dots in a row in local part");
			continue;
		}
		if (addr_atext(c))
			continue;
		if (c >= 0x80)
			return addr_fail(err, errlen,
			    "non-ASCII local part (SMTPUTF8 not supported)");
		if (c == ' ')
			return addr_fail(err, errlen, "space in local part");
		return addr_fail(err, errlen,
		    "invalid character '%c' in local part", c);
	}
	return 0;
}

/*
 * Parse the local part at the start of s[0..len) (a dot-string or a
 * quoted-string), write its canonical form to out and set *used to the
 * input octets it took (the '@' follows) and *outused to the output length.
 */
static int
addr_local(const char *s, size_t len, size_t *used, char *out, size_t outlen,
    size_t *outused, char *err, size_t errlen)
{
	char		 q[ADDR_INPUT_MAX + 1];
	const char	*at;
	size_t		 i, n, o, esc;
	unsigned char	 c;

	if (len > 0 && s[0] == '"') {
		/* Quoted-string: decode it into q first. */
		n = 0;
		for (i = 1; i < len; i++) {
			c = s[i];
			if (c == '"')
				break;
			if (c == '\\') {
				if (++i == len)
					break;
				c = s[i];
			}
			if (c >= 0x80)
				return addr_fail(err, errlen, "non-ASCII local "
				    "part (SMTPUTF8 not supported)");
			q[n++] = c;
		}
		if (i >= len)
			return addr_fail(err, errlen,
			    "unterminated quoted local part");
		if (i + 1 == len || s[i + 1] != '@')
			return addr_fail(err, errlen,
			    "text after quoted local part");
		*used = i + 1;
		if (n == 0)
			return addr_fail(err, errlen, "empty local part");
		/*
		 * "jane"@x and jane@x are the same mailbox: keep the
		 * quotes only when the content needs them.
		 */
		if (addr_dotstring(q, n, NULL, 0) == 0) {
			if (n > ADDR_LOCAL_MAX)
				goto toolong;
			if (n >= outlen)
				goto toolong;
			memcpy(out, q, n);
			*outused = n;
			return 0;
		}
		/* Room for the result and its closing quote, always. */
		o = 0;
		out[o++] = '"';
		for (i = 0; i < n; i++) {
			esc = q[i] == '"' || q[i] == '\\';
			if (o + esc + 2 > ADDR_LOCAL_MAX || o + esc + 2 >= outlen)
				goto toolong;
			if (esc)
				out[o++] = '\\';
			out[o++] = q[i];
		}
		out[o++] = '"';
		*outused = o;
		return 0;
	}

	if ((at = memchr(s, '@', len)) == NULL)
		return addr_fail(err, errlen, "missing @");
	n = at - s;
	if (n == 0)
		return addr_fail(err, errlen, "empty local part");
	if (addr_dotstring(s, n, err, errlen) == -1)
		return -1;
	if (n > ADDR_LOCAL_MAX || n >= outlen)
		goto toolong;
	memcpy(out, s, n);
	*used = n;
	*outused = n;
	return 0;

toolong:
	return addr_fail(err, errlen, "local part over %d octets",
	    ADDR_LOCAL_MAX);
}

/*
 * Check the labels of an ASCII, lowercase domain.
 */
static int
addr_labels(const char *d, char *err, size_t errlen)
{
	const char	*l, *e;
	size_t		 n, nlabels = 0, i;
	int		 numeric = 0;

	for (l = d; ; l = e + 1) {
		if ((e = strchr(l, '.')) == NULL)
			e = l + strlen(l);
		n = e - l;
		if (n == 0)
			return addr_fail(err, errlen, *e == '\0' ?
			    "domain ends with a dot" : "empty label in domain");
		if (n > 63)
			return addr_fail(err, errlen,
			    "domain label over 63 octets");
		numeric = 1;
		for (i = 0; i < n; i++) {
			if (l[i] >= '0' && l[i] <= '9')
				continue;
			numeric = 0;
			if ((l[i] >= 'a' && l[i] <= 'z') || l[i] == '-')
				continue;
			return addr_fail(err, errlen,
			    "invalid domain label '%.*s'", (int)n, l);
		}
		if (l[0] == '-' || l[n - 1] == '-')
			return addr_fail(err, errlen,
			    "invalid domain label '%.*s'", (int)n, l);
		nlabels++;
		if (*e == '\0')
			break;
	}
	if (nlabels < 2)
		return addr_fail(err, errlen, "domain without a dot");
	if (numeric)
		return addr_fail(err, errlen, "numeric top-level domain");
	return 0;
}

/*
 * Validate the domain s[0..len) and write its lowercase A-label form to
 * out (NUL-terminated).
 */
static int
addr_domain(const char *s, size_t len, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char		 d[ADDR_INPUT_MAX + 1], *ace = NULL;
	size_t		 i;
	int		 idn = 0, rc;
	unsigned char	 c;

	if (len == 0)
		return addr_fail(err, errlen, "empty domain");
	if (s[0] == '[')
		return addr_fail(err, errlen, "address literals not accepted");
	if (memchr(s, '@', len) != NULL)
		return addr_fail(err, errlen, "more than one @");
	if (len > ADDR_INPUT_MAX)
		return addr_fail(err, errlen, "domain over %d octets",
		    ADDR_DOMAIN_MAX);
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= 0x80)
			idn = 1;
		else if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		d[i] = c;
	}
	d[len] = '\0';
	if (d[0] == '.')
		return addr_fail(err, errlen, "domain starts with a dot");
	if (d[len - 1] == '.')
		return addr_fail(err, errlen, "domain ends with a dot");
	if (strstr(d, "..") != NULL)
		return addr_fail(err, errlen, "empty label in domain");
	/* libidn2 also checks existing A-labels: "xn--n3h" is refused. */
	if (!idn && (strncmp(d, "xn--", 4) == 0 || strstr(d, ".xn--") != NULL))
		idn = 1;
	if (idn) {
		if (!utf8_valid(d, len))
			return addr_fail(err, errlen, "invalid UTF-8 in domain");
		rc = idn2_to_ascii_8z(d, &ace,
		    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK)
			return addr_fail(err, errlen,
			    "invalid internationalised domain: %s",
			    idn2_strerror(rc));
		len = strlen(ace);
		if (len > ADDR_DOMAIN_MAX) {
			idn2_free(ace);
			return addr_fail(err, errlen, "domain over %d octets",
			    ADDR_DOMAIN_MAX);
		}
		for (i = 0; i < len; i++) {
			c = ace[i];
			d[i] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
		}
		d[len] = '\0';
		idn2_free(ace);
	}
	if (len > ADDR_DOMAIN_MAX)
		return addr_fail(err, errlen, "domain over %d octets",
		    ADDR_DOMAIN_MAX);
	if (addr_labels(d, err, errlen) == -1)
		return -1;
	if (len >= outlen)
		return addr_fail(err, errlen, "address over %d octets",
		    ADDR_MAX);
	memcpy(out, d, len + 1);
	return 0;
}

int
addr_normalize(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char		 local[ADDR_LOCAL_MAX + 1];
	char		 domain[ADDR_INPUT_MAX + 1];
	const char	*s, *e;
	size_t		 len, i, used = 0, llen = 0, dlen;
	unsigned char	 c;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	s = in;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	len = e - s;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c < 0x20 || c == 0x7f)
			return addr_fail(err, errlen,
			    "control character in address");
	}
	if (len == 0)
		return addr_fail(err, errlen, "empty address");
	if (len > ADDR_INPUT_MAX)
		return addr_fail(err, errlen, "address over %d octets",
		    ADDR_MAX);
	/* "Name <addr>" pasted from a mail client: no mailbox ends in '>' */
	if (s[len - 1] == '>')
		return addr_fail(err, errlen, "'Name <address>' form: give "
		    "the bare address (the name has its own field)");

	if (addr_local(s, len, &used, local, sizeof(local), &llen, err,
	    errlen) == -1)
		return -1;
	/* s[used] is the '@'. */
	if (addr_domain(s + used + 1, len - used - 1, domain, sizeof(domain),
	    err, errlen) == -1)
		return -1;
	dlen = strlen(domain);
	if (llen + 1 + dlen > ADDR_MAX)
		return addr_fail(err, errlen, "address over %d octets",
		    ADDR_MAX);
	if (llen + 1 + dlen >= outlen)
		return addr_fail(err, errlen, "output buffer too small");
	memcpy(out, local, llen);
	out[llen] = '@';
	memcpy(out + llen + 1, domain, dlen + 1);
	return 0;
}

void
addr_key(const char *addr, char *key, size_t keylen)
{
	size_t		 i;
	unsigned char	 c;

	if (keylen == 0)
		return;
	for (i = 0; i + 1 < keylen && addr[i] != '\0'; i++) {
		c = addr[i];
		key[i] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	key[i] = '\0';
}

int
utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

int
text_header_safe(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return 0;
	return 1;
}
