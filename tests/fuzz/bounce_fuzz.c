/*
 * bounce_fuzz.c -- the returned-message parser (bounce.c) on anything.
 *
 * Whatever the input: no read outside it (fuzz_dup gives ASan an exact
 * block), the report keeps bounce.h's promises (at most BOUNCE_RCPTS
 * blocks, every string NUL-terminated within its field and printable
 * ASCII, a status empty or an RFC 3463 code, a kind that follows from
 * the action and the status), and the same input gives the same report.
 */
#include <ctype.h>
#include <string.h>

#include "bounce.h"

#include "fuzz.h"

static void
bf_printable(const char *s, size_t size)
{
	size_t	i;

	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
	for (i = 0; s[i] != '\0'; i++)
		FUZZ_CHECK(s[i] >= ' ' && s[i] <= '~');
}

static void
bf_status(const char *s)
{
	size_t	i, dots = 0;

	if (s[0] == '\0')
		return;
	FUZZ_CHECK(s[0] == '2' || s[0] == '4' || s[0] == '5');
	FUZZ_CHECK(s[1] == '.');
	for (i = 2; s[i] != '\0'; i++) {
		if (s[i] == '.')
			dots++;
		else
			FUZZ_CHECK(isdigit((unsigned char)s[i]));
	}
	FUZZ_CHECK(dots == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct bounce_report	r, again;
	char				*m = fuzz_dup(data, len, 0);
	const struct bounce_rcpt	*rc;
	size_t				 i;

	if (bounce_parse(m, len, &r) == -1) {
		FUZZ_CHECK(len > BOUNCE_MAX);
		free(m);
		return 0;
	}
	FUZZ_CHECK(r.nrcpt <= BOUNCE_RCPTS);
	FUZZ_CHECK(r.type <= BOUNCE_AUTOREPLY);
	FUZZ_CHECK((r.nrcpt > 0 || r.dropped > 0) == (r.type == BOUNCE_DSN));
	for (i = 0; i < r.nrcpt; i++) {
		rc = &r.rcpt[i];
		bf_printable(rc->addr, sizeof(rc->addr));
		bf_printable(rc->action, sizeof(rc->action));
		bf_printable(rc->diag, sizeof(rc->diag));
		FUZZ_CHECK(memchr(rc->status, '\0', sizeof(rc->status)) !=
		    NULL);
		bf_status(rc->status);
		if (strncmp(rc->action, "delayed", 7) == 0)
			FUZZ_CHECK(rc->kind == BOUNCE_DELAYED);
		else if (strncmp(rc->action, "fail", 4) == 0 ||
		    strncmp(rc->action, "error", 5) == 0) {
			FUZZ_CHECK(rc->kind == BOUNCE_SOFT ||
			    rc->kind == BOUNCE_HARD);
			if (rc->kind == BOUNCE_HARD)
				FUZZ_CHECK(rc->status[0] == '5');
		} else
			FUZZ_CHECK(rc->kind == BOUNCE_OTHER);
	}
	bf_printable(r.feedback_type, sizeof(r.feedback_type));
	bf_printable(r.original_rcpt, sizeof(r.original_rcpt));
	bf_printable(r.message_id, sizeof(r.message_id));
	bf_printable(r.list_unsubscribe, sizeof(r.list_unsubscribe));
	FUZZ_CHECK(bounce_parse(m, len, &again) == 0);
	FUZZ_CHECK(memcmp(&r, &again, sizeof(r)) == 0);
	free(m);
	return 0;
}
