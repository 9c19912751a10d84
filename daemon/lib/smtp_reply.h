/*
 * smtp_reply.h -- what an SMTP outcome is about: the recipient, the
 * message, or the relay/session.
 *
 * smtp_classify() (the sender pool's job->result) decides from the reply
 * code, the RFC 3463 enhanced code and the command it answered.
 *  SMTP_OK             the server answered 250 to the final ".".
 *  SMTP_RCPT_TEMP      a 4xx to RCPT, DATA or the final "."; a 5xx to RCPT
 *                      that is neither about the address nor the relay
 *                      (5.3.x, 5.4.x, 5.5.x: unsure, so retry, never
 *                      bounce); the session lost during DATA or a timeout
 *                      after the final "." (ambiguous).  Defer this
 *                      recipient.
 *  SMTP_RCPT_PERM      a 5xx to RCPT about the address: 5.1.x, 5.2.1,
 *                      5.2.2, or a plain 550/551/553 without an enhanced
 *                      code.  The address bounced (but see the run rule
 *                      in queue.c: many in a row are the relay's).
 *  SMTP_MSG_PERM       a 5xx about this message: 5.6.x, 552 or 5.3.4 (size),
 *                      any other 5xx to DATA or the final "." but 5.7.x.
 *                      Fail this message, do not bounce the address.
 *  SMTP_RELAY_TEMP     the relay or the session, for now: no connection,
 *                      TLS failure, 421 anywhere, a 4xx (or no reply) to
 *                      the greeting, EHLO, STARTTLS, AUTH or MAIL FROM.
 *                      No recipient attempt is spent: wait and retry.
 *  SMTP_RELAY_PERM     the relay refuses everyone: a 5xx to the greeting,
 *                      EHLO, STARTTLS, AUTH or MAIL FROM, or a 5.7.x
 *                      anywhere (relaying denied, authentication required,
 *                      policy).  Pause until a person fixes it.
 *  SMTP_RENDER_FAIL    render() returned -1; nothing was sent.
 *  SMTP_CANCELLED      never attempted (pool shut down while the job was
 *                      queued, or its broadcast halted): not an attempt,
 *                      put it back to pending.
 * job->code is the server's reply code (0 when none, e.g. connection
 * failure), job->enh its enhanced status code ("" when none), job->phase
 * the command it answered, job->msg the reply text or the libcurl /
 * render error, printable ASCII only, truncated.
 *
 */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include <stddef.h>

enum smtp_result {
	SMTP_OK,
	SMTP_RCPT_TEMP,
	SMTP_RCPT_PERM,
	SMTP_MSG_PERM,
	SMTP_RELAY_TEMP,
	SMTP_RELAY_PERM,
	SMTP_RENDER_FAIL,
	SMTP_CANCELLED,
};

enum smtp_phase {
	SMTP_PHASE_CONNECT,	/* TCP, TLS, greeting */
	SMTP_PHASE_EHLO,
	SMTP_PHASE_STARTTLS,
	SMTP_PHASE_AUTH,
	SMTP_PHASE_MAIL,
	SMTP_PHASE_RCPT,
	SMTP_PHASE_DATA,	/* DATA command, until 354 */
	SMTP_PHASE_DOT,		/* message body and the final "." */
	SMTP_PHASE_NONE,	/* not attempted (render failure, cancelled) */
};

/*
 * The enhanced status code at the start of reply text "550 5.7.1 ...",
 * if its class matches the reply code's first digit: "5.7.1" in out.
 * 0 if found, -1 (out "") if not.
 */
int	smtp_enhanced(const char *reply, int code, char *out, size_t outlen);
/* Whom an answer is about (see above); code 0: no reply at all. */
enum smtp_result smtp_classify(enum smtp_phase, int code, const char *enh);

/* The delay a reply names ("try again in 120 seconds"), in seconds
 * (at most a week), or -1. */
long	smtp_reply_delay(const char *reply);

const char	*smtp_strresult(enum smtp_result);
const char	*smtp_strphase(enum smtp_phase);

#endif
