/*
 * bounces.h -- returned messages and complaints (issue 12): the VERP
 * envelope sender each broadcast message carries, and what the daemon
 * does with the verdicts `broadside bounce` hands over.
 *
 * The CLI parses the returned message (hostile MIME never reaches the
 * daemon) and sends a kind and the identifiers it found; the daemon
 * alone verifies them, against the secret file's key:
 *  - the envelope token (the VERP recipient, b-TOKEN@bounce.domain):
 *    broadcast and subscriber under a 64-bit HMAC (verp.h).  When one is
 *    given and does not verify, the message is ignored whatever it says;
 *  - else the returned Message-ID (b<bc>.r<sub>.<mac>@list.id, a 32-bit
 *    HMAC: render.c), which a complaint report keeps when the address is
 *    redacted;
 *  - else the List-Unsubscribe token (the subscriber only: broadcast 0).
 * What a verified verdict does is store_bounce_record's (store.h), run on
 * the writer thread: each (broadcast, subscriber, kind) once; hard:
 * bounced; soft: bounced after BOUNCES_SOFT_LIMIT broadcasts; a
 * complaint: unsubscribed.  A subscriber suppressed so is stopped at once
 * (queue_subscriber_stop), as an unsubscribe is.
 *
 * Threads: everything here runs on the loop; the store write runs on the
 * writer thread (writer.c), and the answer comes back on the loop.
 */
#ifndef BROADSIDE_BOUNCES_H
#define BROADSIDE_BOUNCES_H

#include <stdint.h>

#include "core.h"
#include "store.h"

#define BOUNCES_SOFT_LIMIT	3	/* broadcasts soft-bouncing someone */

struct bounce_verdict {
	enum store_bounce	 kind;
	const char		*verp;		/* envelope token, or NULL */
	const char		*message_id;	/* returned Message-ID, or NULL */
	const char		*unsub;		/* List-Unsubscribe token, or
						   NULL */
	const char		*status;	/* "5.1.1", for the log; or NULL */
};

struct bounce_outcome {
	const char		*result;	/* "recorded", "duplicate",
						   "ignored" */
	const char		*why;		/* what became of the subscriber,
						   or why it was ignored */
	const char		*via;		/* which identifier: "envelope",
						   "message-id",
						   "list-unsubscribe", or NULL */
	int64_t			 broadcast;	/* 0: not known */
	int64_t			 subscriber;
	enum store_bounce	 kind;
	enum sub_status		 status;	/* the subscriber's, after */
	int64_t			 soft;		/* broadcasts soft-bouncing them */
};

/* rc CORE_OK with out, or CORE_FAILED with err (the store refused) */
typedef void	(*bounces_cb)(enum core_rc, const struct bounce_outcome *,
		    const char *, void *);

int	bounces_init(char *, size_t);	/* the keys, from env->key */
void	bounces_free(void);
/* "b-TOKEN@bounce.domain" for (broadcast, subscriber), to free; NULL
 * without a bounce section (MAIL FROM stays list.from's address) */
char	*bounces_sender(int64_t, int64_t);
/* 0: decided now, out filled (ignored: no identifier verified; cb is
 * not called); 1: cb(arg) later, on the loop, once it is recorded */
int	bounces_report(const struct bounce_verdict *, struct bounce_outcome *,
	    bounces_cb, void *);

/* Since the start, for /metrics. */
struct bounces_stats {
	uint64_t	 hard, soft, complaint;	/* recorded */
	uint64_t	 duplicate, ignored;
};
void	bounces_stats(struct bounces_stats *);

#endif
