/*
 * notify.c -- tell the service manager how the daemon is doing.
 *
 * The systemd notification protocol without libsystemd: each state change
 * is one datagram of "KEY=value" lines sent to the AF_UNIX socket named in
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).  When
 * $WATCHDOG_USEC is set (and $WATCHDOG_PID is unset or ours) a loop timer
 * sends WATCHDOG=1 every half period from READY=1 on (when systemd arms
 * the watchdog), so a wedged event loop gets the daemon restarted.
 * Without $NOTIFY_SOCKET every call is a no-op.
 *
 * Sends never block the loop (MSG_DONTWAIT); a lost datagram is logged
 * once and otherwise ignored, as sd_notify() callers do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core.h"
#include "store.h"

#define NOTIFY_MAX	1024		/* one datagram */

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_sunlen;
static struct event		*notify_ev_watchdog;
static int			 notify_failed;	/* send error logged */
static int			 notify_isready;	/* READY=1 sent once */
static char			 notify_laststatus[NOTIFY_MAX - 16];

static void
notify_send(const char *msg)
{
	ssize_t	n;

	if (notify_fd == -1)
		return;
	do {
		n = sendto(notify_fd, msg, strlen(msg), MSG_DONTWAIT |
		    MSG_NOSIGNAL, (struct sockaddr *)&notify_sun,
		    notify_sunlen);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (!notify_failed)
			log_warn("notify: send to %s", getenv("NOTIFY_SOCKET")
			    ? getenv("NOTIFY_SOCKET") : "NOTIFY_SOCKET");
		notify_failed = 1;
		return;
	}
	notify_failed = 0;
}

static void
notify_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* systemd arms the watchdog once start-up is complete (READY=1) */
	if (notify_isready)
		notify_send("WATCHDOG=1");
}

/* The half period of $WATCHDOG_USEC in microseconds, or 0 for none. */
static uint64_t
notify_watchdog_usec(void)
{
	const char		*s, *p;
	char			*end;
	unsigned long long	 usec;
	long long		 pid;

	if ((s = getenv("WATCHDOG_USEC")) == NULL || *s == '\0')
		return 0;
	errno = 0;
	usec = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || usec == 0 || *s == '-') {
		log_warnx("notify: WATCHDOG_USEC=%s: not a positive number; "
		    "no watchdog", s);
		return 0;
	}
	if ((p = getenv("WATCHDOG_PID")) != NULL && *p != '\0') {
		errno = 0;
		pid = strtoll(p, &end, 10);
		if (errno != 0 || *end != '\0' || pid != (long long)getpid())
			return 0;	/* meant for another process */
	}
	return usec / 2 > 0 ? usec / 2 : 1;
}

void
notify_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	struct timeval	 tv;
	uint64_t	 half;
	size_t		 len;

	if (path == NULL || *path == '\0')
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(notify_sun.sun_path)) {
		log_warnx("notify: NOTIFY_SOCKET=%s: not a socket path; "
		    "not notifying", path);
		return;
	}
	memset(&notify_sun, 0, sizeof(notify_sun));
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, path, len);
	if (path[0] == '@')
		notify_sun.sun_path[0] = '\0';	/* abstract namespace */
	notify_sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + (path[0] == '/'));
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0))
	    == -1) {
		log_warn("notify: socket");
		return;
	}

	if ((half = notify_watchdog_usec()) == 0)
		return;
	tv.tv_sec = (time_t)(half / 1000000);
	tv.tv_usec = (suseconds_t)(half % 1000000);
	notify_ev_watchdog = event_new(env->base, -1, EV_PERSIST,
	    notify_watchdog_cb, NULL);
	if (notify_ev_watchdog == NULL ||
	    event_add(notify_ev_watchdog, &tv) == -1)
		fatalx("notify: watchdog timer");
	log_info("notify: watchdog ping every %" PRIu64 " ms", half / 1000);
}

/*
 * READY=1 with the active subscribers, counted on the reader thread: at
 * start READY waits for the count; after a reload it goes at once with
 * the count known (the last one), and the count is taken again for the
 * next READY.  A READY that waited for its count after a reload came
 * after the reload's answer, and after a broadcast's STATUS sent
 * meanwhile, saying "idle" (notify.sh failed on it once).
 */
static int64_t			 notify_active = -1;	/* last count */

struct notify_count {
	int64_t	 counts[4];
	int	 send;		/* READY waits for it */
	char	 err[256];
};

static int
notify_count_work(struct store *st, void *arg)
{
	struct notify_count	*c = arg;

	return store_sub_count(st, c->counts, c->err, sizeof(c->err));
}

static void
notify_ready_send(const struct notify_count *c)
{
	char	 msg[NOTIFY_MAX];

	if (notify_laststatus[0] != '\0')
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s",
		    notify_laststatus);
	else if (c != NULL || notify_active >= 0)
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=idle; %" PRId64
		    " active subscribers", c != NULL ? c->counts[SUB_ACTIVE] :
		    notify_active);
	else
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=idle");
	notify_send(msg);
}

static void
notify_count_done(void *arg, int rc)
{
	struct notify_count	*c = arg;

	if (rc == 0)
		notify_active = c->counts[SUB_ACTIVE];
	/* not after STOPPING=1 (notify_stopping came meanwhile) */
	if (c->send && notify_fd != -1 && !env->stopping)
		notify_ready_send(rc == 0 ? c : NULL);
	free(c);
}

void
notify_ready(void)
{
	struct notify_count	*c;

	if (notify_fd == -1)
		return;
	notify_isready = 1;
	if (env->reader == NULL) {
		notify_ready_send(NULL);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	if (notify_laststatus[0] != '\0' || notify_active >= 0)
		notify_ready_send(NULL);
	else
		c->send = 1;
	reader_submit(notify_count_work, notify_count_done, c);
}

void
notify_reloading(void)
{
	struct timespec	 ts;
	char		 msg[128];

	if (notify_fd == -1)
		return;
	/* systemd >= 253 wants the time the reload began, to order it */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=reloading "
	    "configuration\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *fmt, ...)
{
	char	 text[sizeof(notify_laststatus)], msg[NOTIFY_MAX];
	size_t	 i;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* one line: a newline would start a new assignment */
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';
	if (strcmp(text, notify_laststatus) == 0)
		return;
	memcpy(notify_laststatus, text, i + 1);
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	notify_send(msg);
}

void
notify_shutdown(void)
{
	if (notify_ev_watchdog != NULL) {
		event_free(notify_ev_watchdog);
		notify_ev_watchdog = NULL;
	}
	if (notify_fd != -1) {
		close(notify_fd);
		notify_fd = -1;
	}
	notify_laststatus[0] = '\0';
}
