/*
 * bounce.h -- what a returned message says: a delivery status
 * notification (RFC 3464), a complaint (an ARF feedback report, RFC
 * 5965), an auto-reply, or nothing we act on.
 *
 * bounce_parse() walks the MIME tree of one message (at most BOUNCE_MAX
 * octets, BOUNCE_DEPTH levels of multipart; base64 and quoted-printable
 * parts decoded) and fills a struct bounce_report:
 *  - every recipient block of each message/delivery-status and
 *    message/global-delivery-status part that has an Action (the
 *    per-message block has none): its address (Original-Recipient when it
 *    is of type rfc822, else Final-Recipient, as Mailman's flufl.bounce
 *    takes it), Action, Status (the first RFC 3463 code, comments after
 *    it ignored, else the one in Diagnostic-Code) and what it means:
 *     BOUNCE_HARD     failed, and the status says the address is dead
 *                     (5.x.x except 5.6.x, 5.7.x and 5.3.4, which are
 *                     about the message, the sender or a policy);
 *     BOUNCE_SOFT     failed otherwise: a 4.x.x status (the message
 *                     expired in a queue), one of those 5.x.x, or no
 *                     status at all.  Counted, never suppresses at once;
 *     BOUNCE_DELAYED  delayed: nothing to do yet;
 *     BOUNCE_OTHER    delivered, relayed, expanded: nothing to do.
 *    "error" (OpenSMTPD) counts as failed.
 *  - a message/feedback-report part: its Feedback-Type and
 *    Original-Rcpt-To (often redacted);
 *  - the returned message (message/rfc822, message/global,
 *    text/rfc822-headers, message/global-headers): its Message-ID and
 *    List-Unsubscribe, by which the daemon may know the recipient when
 *    the envelope's token is gone.
 * Nothing here identifies a subscriber: Final-Recipient may be a
 * forwarded address, and anyone can send anything.  The caller decides,
 * by a token it can verify.
 */
#ifndef BOUNCE_H
#define BOUNCE_H

#include <stddef.h>

#define BOUNCE_MAX	(1024 * 1024)	/* octets of a message looked at */
#define BOUNCE_DEPTH	8		/* nested multiparts followed */
#define BOUNCE_RCPTS	64		/* recipient blocks kept */
#define BOUNCE_ADDR_MAX	320

enum bounce_type {
	BOUNCE_NONE,		/* nothing we know: ignore */
	BOUNCE_DSN,		/* a delivery status notification */
	BOUNCE_ARF,		/* a feedback report (complaint) */
	BOUNCE_AUTOREPLY,	/* Auto-Submitted, vacation and the like */
};

enum bounce_kind {
	BOUNCE_OTHER,
	BOUNCE_DELAYED,
	BOUNCE_SOFT,
	BOUNCE_HARD,
};

struct bounce_rcpt {
	char		 addr[BOUNCE_ADDR_MAX];
	char		 action[16];	/* lowercased, first word */
	char		 status[16];	/* "5.1.1", or "" */
	char		 diag[256];	/* Diagnostic-Code, printable ASCII */
	enum bounce_kind kind;
};

struct bounce_report {
	enum bounce_type	 type;
	struct bounce_rcpt	 rcpt[BOUNCE_RCPTS];
	size_t			 nrcpt;
	size_t			 dropped;	/* blocks beyond BOUNCE_RCPTS */
	char			 feedback_type[32];	/* ARF, lowercased */
	char			 original_rcpt[BOUNCE_ADDR_MAX];	/* ARF */
	char			 message_id[256];	/* returned message's */
	char			 list_unsubscribe[1024];	/* its header */
};

/* 0 (r filled; r->type may be BOUNCE_NONE), -1 if len > BOUNCE_MAX. */
int		 bounce_parse(const char *msg, size_t len, struct bounce_report *);
const char	*bounce_strkind(enum bounce_kind);
const char	*bounce_strtype(enum bounce_type);

#endif
