/*
 * bounce_test.c -- the returned-message parser (bounce.c) on messages
 * written here for each rule and quirk: a Postfix DSN, several recipient
 * blocks, "failed" with a 4.x.x status (expired), comments after the
 * code, a missing Status (the code taken from Diagnostic-Code), delayed,
 * 5.7.x (the sender's fault, not the address's), a base64 and a
 * quoted-printable delivery-status part, message/global-delivery-status,
 * an ARF complaint, an auto-reply, LF-only line ends, nesting past
 * BOUNCE_DEPTH, an unterminated multipart, and the size limit.
 *
 * With arguments, `bounce_test --print FILE...` prints what each file
 * says, one JSON object per line (tests/integration/bounce_corpus.sh
 * compares that with Mailman's flufl.bounce over its corpus).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "unit.h"

#define CRLF "\r\n"

static const char postfix_dsn[] =
    "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)" CRLF
    "To: b-abc@bounces.example.org" CRLF
    "Subject: Undelivered Mail Returned to Sender" CRLF
    "Auto-Submitted: auto-replied" CRLF
    "MIME-Version: 1.0" CRLF
    "Content-Type: multipart/report; report-type=delivery-status;" CRLF
    "\tboundary=\"B1/mx.example.net\"" CRLF
    CRLF
    "This is a MIME-encapsulated message." CRLF
    CRLF
    "--B1/mx.example.net" CRLF
    "Content-Description: Notification" CRLF
    "Content-Type: text/plain; charset=us-ascii" CRLF
    CRLF
    "I'm sorry to have to inform you that your message could not" CRLF
    "be delivered to one or more recipients." CRLF
    CRLF
    "--B1/mx.example.net" CRLF
    "Content-Description: Delivery report" CRLF
    "Content-Type: message/delivery-status" CRLF
    CRLF
    "Reporting-MTA: dns; mx.example.net" CRLF
    "X-Postfix-Queue-ID: 4F1A2B" CRLF
    "Arrival-Date: Fri,  4 Dec 2026 10:00:00 +0000 (UTC)" CRLF
    CRLF
    "Final-Recipient: rfc822; gone@example.com" CRLF
    "Original-Recipient: rfc822;gone@example.com" CRLF
    "Action: failed" CRLF
    "Status: 5.1.1" CRLF
    "Remote-MTA: dns; mx.example.com" CRLF
    "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient" CRLF
    "    address rejected: User unknown" CRLF
    CRLF
    "Final-Recipient: rfc822; full@example.com" CRLF
    "Action: failed" CRLF
    "Status: 4.4.7 (delivery time expired)" CRLF
    CRLF
    "Final-Recipient: rfc822; <slow@example.com>" CRLF
    "Action: delayed" CRLF
    "Status: 4.4.1" CRLF
    CRLF
    "Final-Recipient: rfc822; nostatus@example.com" CRLF
    "Action: failed" CRLF
    "Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled" CRLF
    CRLF
    "Final-Recipient: rfc822; spam@example.com" CRLF
    "Action: failed" CRLF
    "Status: 5.7.1" CRLF
    CRLF
    "Final-Recipient: rfc822; ok@example.com" CRLF
    "Action: relayed" CRLF
    "Status: 2.0.0" CRLF
    CRLF
    "--B1/mx.example.net" CRLF
    "Content-Description: Undelivered Message Headers" CRLF
    "Content-Type: text/rfc822-headers" CRLF
    CRLF
    "From: Example <news@example.org>" CRLF
    "Message-ID: <1.42.abcdef@example.org>" CRLF
    "List-Unsubscribe: <https://example.org/u/TOKEN>," CRLF
    " <mailto:unsub@example.org?subject=TOKEN>" CRLF
    "Subject: A statement" CRLF
    CRLF
    "--B1/mx.example.net--" CRLF;

static void
test_postfix(void)
{
	struct bounce_report	r;

	CHECK_INT("parse", bounce_parse(postfix_dsn, strlen(postfix_dsn), &r),
	    0);
	CHECK_STR("type", bounce_strtype(r.type), "dsn");
	CHECK_INT("blocks", r.nrcpt, 6);
	if (r.nrcpt != 6)
		return;
	CHECK_STR("0 addr", r.rcpt[0].addr, "gone@example.com");
	CHECK_STR("0 status", r.rcpt[0].status, "5.1.1");
	CHECK_STR("0 hard", bounce_strkind(r.rcpt[0].kind), "hard");
	CHECK("0 diag unfolded", strstr(r.rcpt[0].diag,
	    "Recipient    address rejected") != NULL);
	CHECK_STR("1 expired: soft", bounce_strkind(r.rcpt[1].kind), "soft");
	CHECK_STR("1 comment dropped", r.rcpt[1].status, "4.4.7");
	CHECK_STR("2 angle addr", r.rcpt[2].addr, "slow@example.com");
	CHECK_STR("2 delayed", bounce_strkind(r.rcpt[2].kind), "delayed");
	CHECK_STR("3 status from diag", r.rcpt[3].status, "5.2.1");
	CHECK_STR("3 hard", bounce_strkind(r.rcpt[3].kind), "hard");
	CHECK_STR("4 policy: soft", bounce_strkind(r.rcpt[4].kind), "soft");
	CHECK_STR("5 relayed: other", bounce_strkind(r.rcpt[5].kind),
	    "other");
	CHECK_STR("message-id", r.message_id, "<1.42.abcdef@example.org>");
	CHECK_STR("list-unsubscribe", r.list_unsubscribe,
	    "<https://example.org/u/TOKEN>, <mailto:unsub@example.org?"
	    "subject=TOKEN>");
}

/* The same report, LF only, its delivery-status part in base64. */
static void
test_encoded(void)
{
	static const char	b64[] =
	    "From: postmaster@example.net\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=zz\n"
	    "\n"
	    "--zz\n"
	    "Content-Type: message/delivery-status\n"
	    "Content-Transfer-Encoding: base64\n"
	    "\n"
	    /* "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.example\n
	     *  Action: failed\nStatus: 5.1.1\n" */
	    "UmVwb3J0aW5nLU1UQTogZG5zOyB4CgpGaW5hbC1SZWNpcGllbnQ6IHJmYzgyMjsg\n"
	    "YUBiLmV4YW1wbGUKQWN0aW9uOiBmYWlsZWQKU3RhdHVzOiA1LjEuMQo=\n"
	    "--zz--\n";
	static const char	qp[] =
	    "Content-Type: multipart/report; boundary=\"q q\"\r\n"
	    "\r\n"
	    "--q q\r\n"
	    "Content-Type: message/global-delivery-status\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Final-Recipient: rfc822; j=C3=BCrgen@b.example\r\n"
	    "Action: fail=\r\n"
	    "ed\r\n"
	    "Status: 5.1.10\r\n"
	    "\r\n"
	    "--q q--\r\n";
	struct bounce_report	r;

	CHECK_INT("b64 parse", bounce_parse(b64, strlen(b64), &r), 0);
	CHECK_INT("b64 blocks", r.nrcpt, 1);
	CHECK_STR("b64 addr", r.rcpt[0].addr, "a@b.example");
	CHECK_STR("b64 hard", bounce_strkind(r.rcpt[0].kind), "hard");
	CHECK_INT("qp parse", bounce_parse(qp, strlen(qp), &r), 0);
	CHECK_INT("qp blocks", r.nrcpt, 1);
	/* non-ASCII shown as '?': the address is never trusted anyway */
	CHECK_STR("qp addr", r.rcpt[0].addr, "j??rgen@b.example");
	CHECK_STR("qp soft line break", r.rcpt[0].action, "failed");
	CHECK_STR("qp 3-digit detail", r.rcpt[0].status, "5.1.10");
}

static void
test_arf(void)
{
	static const char	arf[] =
	    "From: <feedback@provider.example>\r\n"
	    "Subject: complaint\r\n"
	    "Content-Type: multipart/report; report-type=feedback-report;\r\n"
	    "  boundary=\"part1\"\r\n"
	    "\r\n"
	    "--part1\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "This is an email abuse report.\r\n"
	    "--part1\r\n"
	    "Content-Type: message/feedback-report\r\n"
	    "\r\n"
	    "Feedback-Type: abuse\r\n"
	    "User-Agent: SomeGenerator/1.0\r\n"
	    "Version: 1\r\n"
	    "Original-Rcpt-To: <reader@example.com>\r\n"
	    "\r\n"
	    "--part1\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "Content-Disposition: inline\r\n"
	    "\r\n"
	    "From: <news@example.org>\r\n"
	    "Message-ID: <7.9.x@example.org>\r\n"
	    "Subject: hello\r\n"
	    "\r\n"
	    "Body text\r\n"
	    "--part1--\r\n";
	static const char	vacation[] =
	    "From: reader@example.com\r\n"
	    "Auto-Submitted: auto-replied (vacation)\r\n"
	    "Subject: Out of office\r\n"
	    "\r\n"
	    "I am away.\r\n";
	static const char	plain[] =
	    "From: reader@example.com\r\n"
	    "Auto-Submitted: no\r\n"
	    "Subject: hello\r\n"
	    "\r\n"
	    "Action: failed\r\n";
	struct bounce_report	r;

	CHECK_INT("arf parse", bounce_parse(arf, strlen(arf), &r), 0);
	CHECK_STR("arf type", bounce_strtype(r.type), "arf");
	CHECK_STR("arf feedback type", r.feedback_type, "abuse");
	CHECK_STR("arf rcpt", r.original_rcpt, "reader@example.com");
	CHECK_STR("arf message-id", r.message_id, "<7.9.x@example.org>");
	CHECK_INT("arf no blocks", r.nrcpt, 0);
	CHECK_INT("vacation parse", bounce_parse(vacation, strlen(vacation),
	    &r), 0);
	CHECK_STR("vacation", bounce_strtype(r.type), "autoreply");
	CHECK_INT("plain parse", bounce_parse(plain, strlen(plain), &r), 0);
	CHECK_STR("plain text is nothing", bounce_strtype(r.type), "none");
	CHECK_INT("plain no blocks", r.nrcpt, 0);
}

/* Hostile shapes: deep nesting, no closing boundary, too big, junk. */
static void
test_hostile(void)
{
	struct bounce_report	 r;
	char			*m;
	size_t			 n, i, cap = 64 * 1024;
	int			 d;

	m = malloc(cap);
	if (m == NULL)
		return;
	/* BOUNCE_DEPTH + 4 nested multiparts around a report: not reached */
	n = 0;
	for (d = 0; d < BOUNCE_DEPTH + 4; d++)
		n += (size_t)snprintf(m + n, cap - n, "Content-Type: "
		    "multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", d, d);
	n += (size_t)snprintf(m + n, cap - n, "Content-Type: message/"
	    "delivery-status\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\n"
	    "Action: failed\r\nStatus: 5.1.1\r\n");
	CHECK_INT("deep parse", bounce_parse(m, n, &r), 0);
	CHECK_INT("deep: not followed", r.nrcpt, 0);
	/* the same at depth 2, no closing delimiters: found */
	n = 0;
	for (d = 0; d < 2; d++)
		n += (size_t)snprintf(m + n, cap - n, "Content-Type: "
		    "multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", d, d);
	n += (size_t)snprintf(m + n, cap - n, "Content-Type: message/"
	    "delivery-status\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\n"
	    "Action: failed\r\nStatus: 5.1.1");
	CHECK_INT("open parse", bounce_parse(m, n, &r), 0);
	CHECK_INT("open: found", r.nrcpt, 1);
	CHECK_STR("open: last line without end", r.rcpt[0].status, "5.1.1");
	/* more blocks than kept: counted */
	n = (size_t)snprintf(m, cap, "Content-Type: message/delivery-status"
	    "\r\n\r\n");
	for (i = 0; i < BOUNCE_RCPTS + 5; i++)
		n += (size_t)snprintf(m + n, cap - n, "Final-Recipient: "
		    "rfc822; r%zu@x.example\r\nAction: failed\r\n\r\n", i);
	CHECK_INT("many parse", bounce_parse(m, n, &r), 0);
	CHECK_INT("many kept", r.nrcpt, BOUNCE_RCPTS);
	CHECK_INT("many dropped", r.dropped, 5);
	CHECK_STR("many: no status, soft", bounce_strkind(r.rcpt[0].kind),
	    "soft");
	/* junk: NULs, a header longer than kept, no line ends */
	memset(m, 'A', cap);
	memcpy(m, "Content-Type: message/delivery-status\r\n\r\nAction:", 49);
	m[100] = '\0';
	CHECK_INT("junk parse", bounce_parse(m, cap, &r), 0);
	CHECK_INT("junk: one block", r.nrcpt, 1);
	free(m);
	CHECK_INT("too big", bounce_parse("", (size_t)BOUNCE_MAX + 1, &r), -1);
	CHECK_INT("empty", bounce_parse("", 0, &r), 0);
	CHECK_STR("empty: none", bounce_strtype(r.type), "none");
}

/* One JSON string, escaped. */
static void
print_json(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < ' ')
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int
print_files(int argc, char **argv)
{
	struct bounce_report	 r;
	FILE			*f;
	char			*buf;
	size_t			 n, i;
	int			 k;

	if ((buf = malloc(BOUNCE_MAX + 1)) == NULL)
		return 1;
	for (k = 0; k < argc; k++) {
		if ((f = fopen(argv[k], "rb")) == NULL) {
			perror(argv[k]);
			free(buf);
			return 1;
		}
		n = fread(buf, 1, BOUNCE_MAX + 1, f);
		fclose(f);
		printf("{\"file\": ");
		print_json(argv[k]);
		if (bounce_parse(buf, n, &r) == -1) {
			printf(", \"error\": \"too big\"}\n");
			continue;
		}
		printf(", \"type\": \"%s\", \"rcpts\": [", bounce_strtype(r.type));
		for (i = 0; i < r.nrcpt; i++) {
			printf("%s{\"addr\": ", i ? ", " : "");
			print_json(r.rcpt[i].addr);
			printf(", \"action\": ");
			print_json(r.rcpt[i].action);
			printf(", \"status\": ");
			print_json(r.rcpt[i].status);
			printf(", \"kind\": \"%s\"}",
			    bounce_strkind(r.rcpt[i].kind));
		}
		printf("], \"feedback_type\": ");
		print_json(r.feedback_type);
		printf(", \"message_id\": ");
		print_json(r.message_id);
		printf("}\n");
	}
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--print") == 0)
		return print_files(argc - 2, argv + 2);
	test_postfix();
	test_encoded();
	test_arf();
	test_hostile();
	return unit_done("bounce");
}
