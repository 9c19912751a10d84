/*
 * verp_fuzz.c -- the envelope sender's token (verp.c) on anything.
 *
 * The input as a string: verp_check reads nothing past it, and accepts
 * only what verp_make writes (in either case) for the ids it returns.
 * Then a token made for ids taken from the input's first 16 octets,
 * changed by the rest (pairs of position and character): it verifies,
 * with the same ids, exactly when the change is none or one of case;
 * any other change (a pad bit, a character, a cut) is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verp.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct verp_key	*vk;
	uint64_t		 bc, sub, bc2, sub2;
	char			 err[64], t[VERP_SIZE], t2[VERP_SIZE], *s;
	size_t			 i;

	if (vk == NULL && (vk = verp_key_new((const unsigned char *)
	    "a fuzzing key", 13, err, sizeof(err))) == NULL)
		abort();

	s = fuzz_dup(data, len, 1);
	if (verp_check(vk, s, &bc, &sub) == 0) {
		FUZZ_CHECK(verp_make(vk, bc, sub, t, sizeof(t)) == 0);
		FUZZ_CHECK(strlen(s) == VERP_LEN && strcasecmp(s, t) == 0);
	}
	free(s);

	if (len < 16)
		return 0;
	for (i = 0, bc = 0, sub = 0; i < 8; i++) {
		bc = bc << 8 | data[i];
		sub = sub << 8 | data[8 + i];
	}
	FUZZ_CHECK(verp_make(vk, bc, sub, t, sizeof(t)) == 0);
	FUZZ_CHECK(strlen(t) == VERP_LEN);
	FUZZ_CHECK(verp_check(vk, t, &bc2, &sub2) == 0 && bc2 == bc &&
	    sub2 == sub);
	memcpy(t2, t, sizeof(t));
	for (i = 16; i + 1 < len; i += 2)
		t2[data[i] % VERP_LEN] = (char)data[i + 1];
	if (strlen(t2) == VERP_LEN && strcasecmp(t, t2) == 0)
		FUZZ_CHECK(verp_check(vk, t2, &bc2, &sub2) == 0 && bc2 == bc &&
		    sub2 == sub);
	else
		FUZZ_CHECK(verp_check(vk, t2, &bc2, &sub2) == -1);
	return 0;
}
