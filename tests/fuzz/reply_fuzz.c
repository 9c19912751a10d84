/*
 * reply_fuzz.c -- a server's reply text (smtp_reply.c) on anything: the
 * enhanced status code and the delay a reply names, as the sender thread
 * reads them from whatever a relay sends.
 *
 * smtp_enhanced reads nothing past the string and, when it finds a code,
 * writes one of the reply's class ("5.x.y" for a 5xx) that the reply
 * starts with after its code; smtp_reply_delay gives -1 or 1 s to a week.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s, out[16];
	long	 d, l;
	int	 code;

	s = fuzz_dup(data, len, 1);
	l = strtol(s, NULL, 10);
	code = l >= 0 && l < 1000 ? (int)l : 0;
	if (smtp_enhanced(s, code, out, sizeof(out)) == 0) {
		FUZZ_CHECK(out[0] == '0' + code / 100 && out[1] == '.');
		FUZZ_CHECK(strstr(s, out) != NULL);
	} else
		FUZZ_CHECK(out[0] == '\0');
	d = smtp_reply_delay(s);
	FUZZ_CHECK(d == -1 || (d >= 1 && d <= 7 * 86400));
	free(s);
	return 0;
}
