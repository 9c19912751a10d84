/*
 * slowsink -- an SMTP sink that answers the final "." after a delay.
 *
 * For benchmarks (scripts/bench-send, scripts/bench-scale): a real MTA
 * syncs its queue file before it answers the end of a message, a few
 * milliseconds on an SSD; loopback sinks answer at once and hide how a
 * client behaves with many messages in flight.  Postfix's smtp-sink
 * cannot delay by less than a second, hence this.
 *
 * It replaced a Python asyncio sink that spent 415 us of CPU a message
 * (scripts/bench-scale, 2026-12-07): on 2 cores the sink, not the
 * clients, was then the limit.  This one is epoll, a timerfd and
 * nothing else per message.
 *
 * Accepts every sender and recipient, discards the message, answers
 * "250" to "." --delay-ms (default 2) after it arrived.  Offers
 * PIPELINING (smtp-source uses it) and keeps replies in order: a reply
 * behind a delayed one waits with it.  --workers N forks N processes
 * on one SO_REUSEPORT port.
 *
 *   slowsink [--port P] [--delay-ms D] [--workers N] [--pidfile F]
 *            [--portfile F]
 *
 * Prints the port.  SIGTERM or SIGINT stops it; each worker then
 * prints "messages N" on stderr.
 */

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	4096
#define INBUF		16384

static const char EHLO_REPLY[] = "250-slowsink\r\n250-PIPELINING\r\n"
    "250-8BITMIME\r\n250-SIZE 52428800\r\n250 ENHANCEDSTATUSCODES\r\n";
static const char QUEUED[] = "250 2.0.0 Ok: queued\r\n";

struct buf {
	char	*s;
	size_t	 len, cap;
};

struct conn {
	int		 fd;		/* -1: free */
	unsigned	 gen;		/* bumped when the slot is reused */
	char		 in[INBUF];
	size_t		 inlen;
	int		 in_data;
	int		 holding;	/* replies wait for a release */
	int		 closing;	/* QUIT seen: close once all is out */
	int		 want_out;	/* EPOLLOUT asked for */
	struct buf	 out;		/* to write now */
	struct buf	 held;		/* behind a delayed 250 */
};

/* Releases due, in order: every delay is the same, so a FIFO. */
struct due {
	int		 fd;
	unsigned	 gen;
	uint64_t	 at;		/* CLOCK_MONOTONIC, ns */
};

static struct conn	*conns;
static struct due	*dues;
static size_t		 due_head, due_len, due_cap;
static uint64_t		 delay_ns;
static unsigned long	 messages;
static int		 ep, tfd;

static void
die(const char *what)
{
	fprintf(stderr, "slowsink: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t	cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		if ((b->s = realloc(b->s, cap)) == NULL)
			die("realloc");
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
}

static void
conn_close(struct conn *c)
{
	close(c->fd);	/* leaves the epoll set with it */
	c->fd = -1;
	c->gen++;
	c->out.len = c->held.len = 0;
}

/* Write what is queued; 0 if all of it went, -1 if the peer is gone. */
static int
conn_flush(struct conn *c)
{
	struct epoll_event	ev;
	ssize_t			n;
	size_t			off = 0;

	while (off < c->out.len) {
		n = write(c->fd, c->out.s + off, c->out.len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return -1;
	}
	memmove(c->out.s, c->out.s + off, c->out.len - off);
	c->out.len -= off;
	if (c->want_out != (c->out.len > 0)) {
		c->want_out = c->out.len > 0;
		ev.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
		ev.data.fd = c->fd;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	if (c->out.len == 0 && c->closing && !c->holding)
		return -1;
	return 0;
}

static void
reply(struct conn *c, const char *s, size_t n)
{
	buf_add(c->holding ? &c->held : &c->out, s, n);
}

static void
arm(void)
{
	struct itimerspec	it;
	uint64_t		at;

	memset(&it, 0, sizeof(it));
	if (due_len > 0) {
		at = dues[due_head].at;
		it.it_value.tv_sec = (time_t)(at / 1000000000u);
		it.it_value.tv_nsec = (long)(at % 1000000000u);
	}
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL) == -1)
		die("timerfd_settime");
}

static void
hold(struct conn *c)
{
	size_t	i;

	messages++;
	if (delay_ns == 0 || c->holding) {
		/* at once, or behind the 250 already held */
		reply(c, QUEUED, sizeof(QUEUED) - 1);
		return;
	}
	c->holding = 1;
	reply(c, QUEUED, sizeof(QUEUED) - 1);
	if (due_len == due_cap) {
		size_t		 cap = due_cap ? due_cap * 2 : 256;
		struct due	*d = malloc(cap * sizeof(*d));

		if (d == NULL)
			die("malloc");
		for (i = 0; i < due_len; i++)
			d[i] = dues[(due_head + i) % due_cap];
		free(dues);
		dues = d;
		due_cap = cap;
		due_head = 0;
	}
	dues[(due_head + due_len) % due_cap] =
	    (struct due){ c->fd, c->gen, now_ns() + delay_ns };
	if (due_len++ == 0)
		arm();
}

static void
release_due(void)
{
	uint64_t	 expirations, t = now_ns();
	struct conn	*c;
	struct due	*d;

	if (read(tfd, &expirations, sizeof(expirations)) == -1 &&
	    errno != EAGAIN)
		die("timerfd read");
	while (due_len > 0 && dues[due_head].at <= t) {
		d = &dues[due_head];
		due_head = (due_head + 1) % due_cap;
		due_len--;
		c = &conns[d->fd];
		if (c->fd != d->fd || c->gen != d->gen)
			continue;	/* closed meanwhile */
		c->holding = 0;
		buf_add(&c->out, c->held.s, c->held.len);
		c->held.len = 0;
		if (conn_flush(c) == -1)
			conn_close(c);
	}
	arm();
}

/* Handle what has arrived; -1 to close. */
static int
conn_input(struct conn *c)
{
	char	*p = c->in, *end = c->in + c->inlen, *nl, *e;

	while (p < end) {
		if (c->in_data) {
			e = memmem(p, (size_t)(end - p), "\r\n.\r\n", 5);
			if (e == NULL) {
				/* keep what could start the end mark */
				if (end - p > 4)
					p = end - 4;
				break;
			}
			p = e + 5;
			c->in_data = 0;
			hold(c);
			continue;
		}
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (nl - p >= 4 && (strncasecmp(p, "MAIL", 4) == 0 ||
		    strncasecmp(p, "RCPT", 4) == 0 ||
		    strncasecmp(p, "RSET", 4) == 0 ||
		    strncasecmp(p, "NOOP", 4) == 0))
			reply(c, "250 2.0.0 Ok\r\n", 14);
		else if (nl - p >= 4 && strncasecmp(p, "DATA", 4) == 0) {
			reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n", 37);
			c->in_data = 1;
			/* the end mark's CRLF is the DATA line's: an
			 * empty message is "." alone */
			nl -= 1;
			nl[0] = '\r';
			nl[1] = '\n';
			p = nl;
			continue;
		} else if (nl - p >= 4 && strncasecmp(p, "EHLO", 4) == 0)
			reply(c, EHLO_REPLY, sizeof(EHLO_REPLY) - 1);
		else if (nl - p >= 4 && strncasecmp(p, "HELO", 4) == 0)
			reply(c, "250 slowsink\r\n", 14);
		else if (nl - p >= 4 && strncasecmp(p, "QUIT", 4) == 0) {
			reply(c, "221 2.0.0 Bye\r\n", 15);
			c->closing = 1;
			p = end;
			break;
		} else
			reply(c, "502 5.5.2 Error: command not recognized\r\n",
			    41);
		p = nl + 1;
	}
	c->inlen = (size_t)(end - p);
	memmove(c->in, p, c->inlen);
	if (c->inlen == sizeof(c->in))
		return -1;	/* a line longer than the buffer */
	return conn_flush(c);
}

static void
conn_read(struct conn *c)
{
	ssize_t	n;

	for (;;) {
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->inlen += (size_t)n;
		if (conn_input(c) == -1) {
			conn_close(c);
			return;
		}
	}
}

static void
accept_all(int ls)
{
	struct epoll_event	 ev;
	struct conn		*c;
	int			 fd, one = 1;

	for (;;) {
		fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		if (fd >= MAX_CONNS) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = &conns[fd];
		c->fd = fd;
		c->inlen = 0;
		c->in_data = c->holding = c->closing = c->want_out = 0;
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			conn_close(c);
			continue;
		}
		reply(c, "220 slowsink ESMTP\r\n", 20);
		if (conn_flush(c) == -1)
			conn_close(c);
	}
}

static void
serve(int ls)
{
	struct epoll_event	 ev, evs[256];
	sigset_t		 mask;
	int			 sfd, i, n, fd;

	if ((conns = calloc(MAX_CONNS, sizeof(*conns))) == NULL)
		die("calloc");
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		die("signalfd");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	if ((tfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
		die("timerfd_create");
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == sfd) {
				fprintf(stderr, "messages %lu\n", messages);
				return;
			} else if (fd == ls)
				accept_all(ls);
			else if (fd == tfd)
				release_due();
			else if (conns[fd].fd == fd) {
				if (evs[i].events & EPOLLOUT &&
				    conn_flush(&conns[fd]) == -1) {
					conn_close(&conns[fd]);
					continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP |
				    EPOLLERR))
					conn_read(&conns[fd]);
			}
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: slowsink [--port P] [--delay-ms D] "
	    "[--workers N] [--pidfile F] [--portfile F]\n");
	exit(64);
}

static void
write_file(const char *path, unsigned long v)
{
	char	 tmp[4096];
	FILE	*f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		usage();
	if ((f = fopen(tmp, "w")) == NULL)
		die(tmp);
	fprintf(f, "%lu\n", v);
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		die(path);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	sigset_t		 mask;
	const char		*pidfile = NULL, *portfile = NULL;
	double			 delay_ms = 2.0;
	long			 port = 0, workers = 1;
	pid_t			*kids;
	int			*ls, i, one = 1;
	char			*end;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--port") == 0)
			port = strtol(argv[++i], &end, 10);
		else if (strcmp(argv[i], "--delay-ms") == 0)
			delay_ms = strtod(argv[++i], &end);
		else if (strcmp(argv[i], "--workers") == 0)
			workers = strtol(argv[++i], &end, 10);
		else if (strcmp(argv[i], "--pidfile") == 0) {
			pidfile = argv[++i];
			continue;
		} else if (strcmp(argv[i], "--portfile") == 0) {
			portfile = argv[++i];
			continue;
		} else
			usage();
		if (*end != '\0')
			usage();
	}
	if (port < 0 || port > 65535 || delay_ms < 0 || delay_ms > 60000 ||
	    workers < 1 || workers > 64)
		usage();
	delay_ns = (uint64_t)(delay_ms * 1e6);

	/* the signals arrive through each worker's signalfd */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((ls = calloc((size_t)workers, sizeof(*ls))) == NULL ||
	    (kids = calloc((size_t)workers, sizeof(*kids))) == NULL)
		die("calloc");
	for (i = 0; i < workers; i++) {
		if ((ls[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0)) == -1)
			die("socket");
		setsockopt(ls[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(ls[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		if (bind(ls[i], (struct sockaddr *)&sin, sizeof(sin)) == -1)
			die("bind");
		if (getsockname(ls[i], (struct sockaddr *)&sin, &sl) == -1)
			die("getsockname");
		port = ntohs(sin.sin_port);
		if (listen(ls[i], 512) == -1)
			die("listen");
	}
	if (pidfile != NULL)
		write_file(pidfile, (unsigned long)getpid());
	if (portfile != NULL)
		write_file(portfile, (unsigned long)port);
	printf("%ld\n", port);
	fflush(stdout);

	for (i = 1; i < workers; i++) {
		if ((kids[i] = fork()) == -1)
			die("fork");
		if (kids[i] == 0) {
			serve(ls[i]);
			_exit(0);
		}
	}
	serve(ls[0]);
	for (i = 1; i < workers; i++) {
		kill(kids[i], SIGTERM);
		waitpid(kids[i], NULL, 0);
	}
	free(kids);
	free(ls);
	return 0;
}
