/*
 * smtp_class_test.c -- whom an SMTP answer is about (smtp_classify), the
 * enhanced status code it carries (smtp_enhanced), and the token bucket
 * the sender threads share (rate.c).  Table-driven, as in Postfix's
 * argv_test.c.
 */
#include <stdio.h>
#include <string.h>

#include "rate.h"
#include "smtp_reply.h"
#include "unit.h"

static void
test_enhanced(void)
{
	static const struct {
		const char	*reply;
		int		 code;
		const char	*want;
	} t[] = {
		{ "550 5.7.1 Relaying denied", 550, "5.7.1" },
		{ "550 5.1.1 <a@b>: Recipient address rejected", 550, "5.1.1" },
		{ "451 4.3.0 try again later", 451, "4.3.0" },
		{ "552-5.2.2 mailbox full", 552, "5.2.2" },
		{ "550 5.7.515 Access denied", 550, "5.7.515" },
		{ "421 4.4.2 timeout", 421, "4.4.2" },
		{ "550 no such mailbox", 550, "" },
		{ "550 4.1.1 class does not match", 550, "" },
		{ "550 5.1 too short", 550, "" },
		{ "550 5..1 empty subject", 550, "" },
		{ "550 5.1234.1 subject too long", 550, "" },
		{ "550 5.1.1x trailing junk", 550, "" },
		{ "550 5.1.1", 550, "5.1.1" },
		{ "", 0, "" },
		{ "250 2.0.0 OK queued", 250, "2.0.0" },
	};
	char	out[12];
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rc = smtp_enhanced(t[i].reply, t[i].code, out, sizeof(out));
		CHECK_STR(t[i].reply, out, t[i].want);
		CHECK_INT(t[i].reply, rc, *t[i].want ? 0 : -1);
	}
	/* an output buffer too small is not overrun */
	CHECK_INT("small buffer", smtp_enhanced("550 5.7.515 x", 550, out, 6),
	    -1);
}

static void
test_classify(void)
{
	static const struct {
		const char	*name;
		enum smtp_phase	 phase;
		int		 code;
		const char	*enh;
		enum smtp_result want;
	} t[] = {
		/* the recipient: bounce */
		{ "user unknown", SMTP_PHASE_RCPT, 550, "5.1.1", SMTP_RCPT_PERM },
		{ "bad destination", SMTP_PHASE_RCPT, 550, "5.1.2", SMTP_RCPT_PERM },
		{ "mailbox disabled", SMTP_PHASE_RCPT, 550, "5.2.1", SMTP_RCPT_PERM },
		{ "mailbox full", SMTP_PHASE_RCPT, 552, "5.2.2", SMTP_RCPT_PERM },
		{ "plain 550", SMTP_PHASE_RCPT, 550, "", SMTP_RCPT_PERM },
		{ "plain 551", SMTP_PHASE_RCPT, 551, "", SMTP_RCPT_PERM },
		{ "plain 553", SMTP_PHASE_RCPT, 553, "", SMTP_RCPT_PERM },
		{ "550 5.0.0", SMTP_PHASE_RCPT, 550, "5.0.0", SMTP_RCPT_PERM },
		/* the recipient, for now or unsure: defer, never bounce */
		{ "greylisted", SMTP_PHASE_RCPT, 451, "4.7.1", SMTP_RCPT_TEMP },
		{ "rcpt 450", SMTP_PHASE_RCPT, 450, "", SMTP_RCPT_TEMP },
		{ "rcpt 554 no code", SMTP_PHASE_RCPT, 554, "", SMTP_RCPT_TEMP },
		{ "rcpt 5.4.4 routing", SMTP_PHASE_RCPT, 550, "5.4.4",
		    SMTP_RCPT_TEMP },
		{ "rcpt 5.5.1 protocol", SMTP_PHASE_RCPT, 501, "5.5.1",
		    SMTP_RCPT_TEMP },
		{ "data 451", SMTP_PHASE_DOT, 451, "4.3.0", SMTP_RCPT_TEMP },
		{ "data command 452", SMTP_PHASE_DATA, 452, "", SMTP_RCPT_TEMP },
		{ "lost after dot", SMTP_PHASE_DOT, 0, "", SMTP_RCPT_TEMP },
		/* the message */
		{ "too big", SMTP_PHASE_DOT, 552, "5.3.4", SMTP_MSG_PERM },
		{ "content", SMTP_PHASE_DOT, 554, "5.6.0", SMTP_MSG_PERM },
		{ "plain 554 at dot", SMTP_PHASE_DOT, 554, "", SMTP_MSG_PERM },
		{ "rcpt 5.6.x", SMTP_PHASE_RCPT, 550, "5.6.1", SMTP_MSG_PERM },
		{ "rcpt 5.3.4", SMTP_PHASE_RCPT, 552, "5.3.4", SMTP_MSG_PERM },
		{ "data command 554", SMTP_PHASE_DATA, 554, "", SMTP_MSG_PERM },
		/* the relay, for now: wait */
		{ "refused", SMTP_PHASE_CONNECT, 0, "", SMTP_RELAY_TEMP },
		{ "421 greeting", SMTP_PHASE_CONNECT, 421, "", SMTP_RELAY_TEMP },
		{ "421 at rcpt", SMTP_PHASE_RCPT, 421, "4.4.2", SMTP_RELAY_TEMP },
		{ "421 at dot", SMTP_PHASE_DOT, 421, "", SMTP_RELAY_TEMP },
		{ "ehlo 451", SMTP_PHASE_EHLO, 451, "", SMTP_RELAY_TEMP },
		{ "tls", SMTP_PHASE_STARTTLS, 0, "", SMTP_RELAY_TEMP },
		{ "auth 454", SMTP_PHASE_AUTH, 454, "4.7.0", SMTP_RELAY_TEMP },
		{ "mail 451", SMTP_PHASE_MAIL, 451, "4.3.0", SMTP_RELAY_TEMP },
		{ "lost at rcpt", SMTP_PHASE_RCPT, 0, "", SMTP_RELAY_TEMP },
		{ "lost at mail", SMTP_PHASE_MAIL, 0, "", SMTP_RELAY_TEMP },
		/* the relay, for good: pause */
		{ "relaying denied", SMTP_PHASE_RCPT, 550, "5.7.1",
		    SMTP_RELAY_PERM },
		{ "auth required", SMTP_PHASE_MAIL, 530, "5.7.0",
		    SMTP_RELAY_PERM },
		{ "auth failed", SMTP_PHASE_AUTH, 535, "5.7.8", SMTP_RELAY_PERM },
		{ "greeting 554", SMTP_PHASE_CONNECT, 554, "", SMTP_RELAY_PERM },
		{ "ehlo 502", SMTP_PHASE_EHLO, 502, "", SMTP_RELAY_PERM },
		{ "mail 550", SMTP_PHASE_MAIL, 550, "", SMTP_RELAY_PERM },
		{ "unauthenticated bulk", SMTP_PHASE_DOT, 550, "5.7.515",
		    SMTP_RELAY_PERM },
		{ "ok", SMTP_PHASE_DOT, 250, "2.0.0", SMTP_OK },
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_STR(t[i].name, smtp_strresult(smtp_classify(t[i].phase,
		    t[i].code, t[i].enh)), smtp_strresult(t[i].want));
}

static void
test_rate(void)
{
	struct rate	r;
	double		now = 1000.0;
	int		n, i;

	/* 2 a second, burst 1: one now, then one every 0.5 s */
	rate_init(&r, 2.0, 1);
	CHECK("first token", rate_take(&r, now) == 0);
	CHECK("none left", rate_take(&r, now) > 0.49);
	CHECK("none 0.25 s on", rate_take(&r, now + 0.25) > 0.24);
	CHECK("one at 0.5 s", rate_take(&r, now + 0.5) == 0);
	/* a long pause saves at most burst tokens */
	for (n = 0, i = 0; i < 10; i++)
		n += rate_take(&r, now + 100) == 0;
	CHECK_INT("after a pause: burst only", n, 1);
	/* any one second holds at most rate + burst */
	for (n = 0, i = 0; i <= 1000; i++)
		n += rate_take(&r, now + 200 + i / 1000.0) == 0;
	CHECK_INT("one second: rate + burst", n, 3);
	/* a token given back is there again, never beyond burst */
	rate_refund(&r);
	CHECK("refunded", rate_take(&r, now + 201) == 0);
	rate_refund(&r);
	rate_refund(&r);
	for (n = 0, i = 0; i < 5; i++)
		n += rate_take(&r, now + 201) == 0;
	CHECK_INT("refunds capped at burst", n, 1);
	/* a reload: the new rate at once */
	rate_set(&r, 0, 1);
	for (n = 0, i = 0; i < 100; i++)
		n += rate_take(&r, now + 202) == 0;
	CHECK_INT("unlimited", n, 100);
	rate_destroy(&r);
}

static void
test_delay(void)
{
	static const struct {
		const char	*reply;
		long		 want;
	} t[] = {
		{ "451 4.7.1 Please try again in 120 seconds", 120 },
		{ "421 4.7.0 Try again in 5 minutes", 300 },
		{ "450 4.2.1 mailbox busy, retry after 2 hours", 7200 },
		{ "451 4.7.1 greylisted, come back in 30s", 30 },
		{ "451 4.7.1 greylisted, IN 90 SECS", 90 },
		{ "452 4.5.3 Too many recipients in 1 message", -1 },
		{ "451 4.3.0 queue id 12345 in 3 hosts", -1 },
		{ "451 4.7.1 try again later", -1 },
		{ "451 4.7.1 within 10 seconds", -1 },	/* "in" inside a word */
		{ "451 4.7.1 in 0 seconds", -1 },
		{ "451 4.7.1 in 99999999 hours", -1 },	/* beyond a week */
		{ "451 4.7.1 in 10 days", -1 },
		{ "451 in 9 minutes or in 2 seconds", 540 },	/* the first */
		{ "", -1 },
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_INT(t[i].reply, smtp_reply_delay(t[i].reply), t[i].want);
}

int
main(void)
{
	test_enhanced();
	test_delay();
	test_classify();
	test_rate();
	return unit_done("smtp_class");
}
