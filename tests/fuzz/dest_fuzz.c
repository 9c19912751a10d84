/*
 * dest_fuzz.c -- destinations (dest.c) on anything: a DNS answer as the
 * resolver thread gets it from the network (dest_mx), and the input as
 * a domain or MX host name (dest_provider, dest_parent, dest_key).
 *
 * dest_mx reads nothing past the answer and gives a non-empty host name
 * that fits only when it says it found one; dest_parent gives a suffix
 * of the name, lowercase, on a label boundary; dest_provider a provider
 * that is its own group.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dest.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char		 host[256], out[256], key[256], *s, *raw;
	const char	*prov;
	unsigned	 ttl;
	size_t		 n, o, i;
	int		 rc;

	raw = fuzz_dup(data, len, 0);
	rc = dest_mx((const unsigned char *)raw, len, host, sizeof(host),
	    &ttl);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	FUZZ_CHECK(strlen(host) < sizeof(host));
	FUZZ_CHECK(rc == 1 ? host[0] != '\0' : host[0] == '\0');
	free(raw);

	s = fuzz_dup(data, len, 1);
	if ((prov = dest_provider(s)) != NULL) {
		dest_key(prov, key, sizeof(key));
		FUZZ_CHECK(strcmp(key, prov) == 0);
	}
	if (dest_parent(s, out, sizeof(out)) == 0) {
		n = strlen(s);
		while (n > 0 && s[n - 1] == '.')
			n--;
		o = strlen(out);
		FUZZ_CHECK(o > 0 && o <= n);
		FUZZ_CHECK(strncasecmp(s + n - o, out, o) == 0);
		FUZZ_CHECK(o == n || s[n - o - 1] == '.');
		for (i = 0; i < o; i++)
			FUZZ_CHECK(!isupper((unsigned char)out[i]));
	}
	dest_key(s, key, sizeof(key));
	FUZZ_CHECK(strlen(key) < sizeof(key));
	free(s);
	return 0;
}
