/*
 * log.c -- one line per event, with a level, to stderr.
 *
 * Under journald (JOURNAL_STREAM set) each line carries an sd-daemon
 * "<N>" priority prefix and no timestamp, since the journal adds its own;
 * otherwise lines read "2026-01-06T12:00:00Z warn: ...".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broadside.h"

static int	log_min = LOG_LVL_INFO;
static int	log_journal;

static const struct {
	const char	*name;
	int		 prio;		/* syslog priority for sd-daemon */
} log_levels[] = {
	[LOG_LVL_DEBUG] = { "debug", 7 },
	[LOG_LVL_INFO] = { "info", 6 },
	[LOG_LVL_NOTICE] = { "notice", 5 },
	[LOG_LVL_WARN] = { "warn", 4 },
	[LOG_LVL_ERR] = { "error", 3 },
};

void
log_init(int verbose)
{
	const char	*js;

	log_min = verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	js = getenv("JOURNAL_STREAM");
	log_journal = js != NULL && *js != '\0';
}

/* Whether -v asked for debug lines (the SMTP dialogue, for one). */
int
log_verbose(void)
{
	return log_min == LOG_LVL_DEBUG;
}

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char		 msg[2048], ts[32];
	struct tm	 tm;
	time_t		 t;
	size_t		 i;

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one event, one line: never let a value from outside break it */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	if (log_journal) {
		fprintf(stderr, "<%d>%s%s%s\n", log_levels[level].prio, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
		return;
	}
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s: %s%s%s\n", ts, log_levels[level].name, msg,
	    suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_FN(fn, level)						\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list	ap;							\
	va_start(ap, fmt);						\
	log_vwrite(level, fmt, ap, NULL);				\
	va_end(ap);							\
}

LOG_FN(log_debug, LOG_LVL_DEBUG)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_notice, LOG_LVL_NOTICE)
LOG_FN(log_warnx, LOG_LVL_WARN)

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, fmt, ap, strerror(saved));
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(EXIT_SOFTWARE);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(EXIT_SOFTWARE);
}
