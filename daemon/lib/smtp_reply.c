/*
 * smtp_reply.c -- reply codes, enhanced status codes (RFC 3463) and the
 * command they answered, into whom the outcome is about.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_reply.h"

const char *
smtp_strresult(enum smtp_result r)
{
	switch (r) {
	case SMTP_OK:
		return "ok";
	case SMTP_RCPT_TEMP:
		return "rcpt-tempfail";
	case SMTP_RCPT_PERM:
		return "rcpt-permfail";
	case SMTP_MSG_PERM:
		return "message-permfail";
	case SMTP_RELAY_TEMP:
		return "relay-tempfail";
	case SMTP_RELAY_PERM:
		return "relay-permfail";
	case SMTP_RENDER_FAIL:
		return "render-fail";
	case SMTP_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

int
smtp_enhanced(const char *reply, int code, char *out, size_t outlen)
{
	const char	*p = reply;
	size_t		 n, i;
	int		 dots = 0, digits = 0;

	if (outlen > 0)
		out[0] = '\0';
	/* skip the reply code and its separator */
	if (strlen(p) >= 4 && p[0] >= '2' && p[0] <= '5' &&
	    (p[3] == ' ' || p[3] == '-'))
		p += 4;
	while (*p == ' ')
		p++;
	if (code < 200 || p[0] != '0' + code / 100 || p[1] != '.')
		return -1;
	/* class "." subject (1-3 digits) "." detail (1-3 digits) */
	for (n = 1; p[n] != '\0' && p[n] != ' '; n++) {
		if (p[n] == '.') {
			if (digits == 0 && dots > 0)
				return -1;
			dots++;
			digits = 0;
		} else if (p[n] >= '0' && p[n] <= '9') {
			if (++digits > 3)
				return -1;
		} else
			return -1;
	}
	if (dots != 2 || digits == 0 || n + 1 > outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = p[i];
	out[n] = '\0';
	return 0;
}

enum smtp_result
smtp_classify(enum smtp_phase phase, int code, const char *enh)
{
	int	subject = -1, detail = -1;

	if (code == 250 || (code >= 200 && code < 300))
		return SMTP_OK;
	if (enh != NULL && enh[0] != '\0')
		sscanf(enh + 2, "%d.%d", &subject, &detail);
	/* 421: the server is closing the session, whatever it answered */
	if (code == 421)
		return SMTP_RELAY_TEMP;
	if (code >= 500 && subject == 7)
		return SMTP_RELAY_PERM;
	switch (phase) {
	case SMTP_PHASE_CONNECT:
	case SMTP_PHASE_EHLO:
	case SMTP_PHASE_STARTTLS:
	case SMTP_PHASE_AUTH:
	case SMTP_PHASE_MAIL:
	case SMTP_PHASE_NONE:
		return code >= 500 ? SMTP_RELAY_PERM : SMTP_RELAY_TEMP;
	case SMTP_PHASE_RCPT:
		if (code == 0)
			return SMTP_RELAY_TEMP;	/* session lost: not them */
		if (code < 500)
			return SMTP_RCPT_TEMP;
		if (subject == 1 || (subject == 2 && (detail == 1 ||
		    detail == 2)))
			return SMTP_RCPT_PERM;
		if (subject == 6 || (subject == 3 && detail == 4) ||
		    (subject == 2 && detail == 3))
			return SMTP_MSG_PERM;
		if ((subject == -1 || (subject == 0 && detail == 0)) &&
		    (code == 550 || code == 551 || code == 553))
			return SMTP_RCPT_PERM;
		return SMTP_RCPT_TEMP;
	case SMTP_PHASE_DATA:
	case SMTP_PHASE_DOT:
		if (code >= 500)
			return SMTP_MSG_PERM;
		return SMTP_RCPT_TEMP;
	}
	return SMTP_RCPT_TEMP;
}

const char *
smtp_strphase(enum smtp_phase p)
{
	switch (p) {
	case SMTP_PHASE_CONNECT:
		return "connect";
	case SMTP_PHASE_EHLO:
		return "ehlo";
	case SMTP_PHASE_STARTTLS:
		return "starttls";
	case SMTP_PHASE_AUTH:
		return "auth";
	case SMTP_PHASE_MAIL:
		return "mail";
	case SMTP_PHASE_RCPT:
		return "rcpt";
	case SMTP_PHASE_DATA:
		return "data";
	case SMTP_PHASE_DOT:
		return "dot";
	case SMTP_PHASE_NONE:
		return "none";
	}
	return "unknown";
}

/*
 * The delay a reply asks for, in seconds: "try again in 120 seconds",
 * "retry in 5 minutes", "please try again after 2 hours", "in 30s".  Only
 * a number after "in" or "after" and followed by a unit counts (a number
 * alone may be anything: a queue id, a limit).  -1 if none.
 */
long
smtp_reply_delay(const char *reply)
{
	static const struct {
		const char	*unit;
		long		 secs;
	} units[] = {
		{ "seconds", 1 }, { "second", 1 }, { "secs", 1 }, { "sec", 1 },
		{ "s", 1 }, { "minutes", 60 }, { "minute", 60 },
		{ "mins", 60 }, { "min", 60 }, { "m", 60 }, { "hours", 3600 },
		{ "hour", 3600 }, { "hrs", 3600 }, { "hr", 3600 },
		{ "h", 3600 },
	};
	const char	*p, *w;
	char		*end;
	long		 n;
	size_t		 i, len, wl;

	for (p = reply; p != NULL && *p != '\0'; p++) {
		if (p != reply && isalnum((unsigned char)p[-1]))
			continue;	/* the start of a word only */
		if (strncasecmp(p, "in ", 3) == 0)
			w = p + 3;
		else if (strncasecmp(p, "after ", 6) == 0)
			w = p + 6;
		else
			continue;
		if (!isdigit((unsigned char)*w))
			continue;
		errno = 0;
		n = strtol(w, &end, 10);
		if (errno != 0 || n <= 0 || n > 86400 * 7)
			continue;
		while (*end == ' ')
			end++;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			wl = strlen(units[i].unit);
			if (strncasecmp(end, units[i].unit, wl) != 0 ||
			    isalpha((unsigned char)end[wl]))
				continue;
			len = (size_t)n * (size_t)units[i].secs;
			return len > 86400 * 7 ? 86400 * 7 : (long)len;
		}
	}
	return -1;
}
