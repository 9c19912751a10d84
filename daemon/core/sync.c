/*
 * sync.c -- subscribers.file into the store, at start and on reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core.h"
#include "import.h"

/*
 * subscribers.file, at start and on reload, is read a slice at a time
 * and each slice parsed and stored on the writer thread (intake.c, one
 * transaction each, one slice out at a time so the engine's results go
 * between them), so a file of a million rows never holds up HTTP, the
 * control socket or the engine.  The daemon says
 * READY, and `broadside reload` returns, once the rows are in; a new
 * broadcast waits for them too (sync_wait), so nobody in the
 * file is left out of it.  A reload during a sync starts it again from
 * the top (the file may have changed since); every waiter is told when
 * it ends.
 */
#define SYNC_SLICE	(64 * 1024)	/* bytes a slice, at most (slice_adapt:
					   about SLICE_TARGET of the writer's
					   time) */
#define SYNC_SLICE_MIN	(4 * 1024)

struct sync_waiter {
	sync_done_cb	 cb;
	void		*arg;
};

static struct {
	char			*path;
	int			 fd;
	struct intake	*is;
	struct event		*ev;
	struct sync_waiter	*waiters;
	size_t			 nwaiters;
	size_t			 slice;		/* bytes a slice now */
	int			 out;		/* a slice is out */
	double			 out_at;	/* now_mono() it went */
} sync_run = { .fd = -1, .slice = SYNC_SLICE / 4 };

static char	sync_chunk[SYNC_SLICE];

static void
sync_close(void)
{
	if (sync_run.fd != -1)
		close(sync_run.fd);
	sync_run.fd = -1;
	/* one whose slice is out is the writer's: its done() frees it */
	if (sync_run.is != NULL && !sync_run.out)
		intake_free(sync_run.is);
	sync_run.is = NULL;
	free(sync_run.path);
	sync_run.path = NULL;
}

/* Open the configured file and start a session; 0 if none is set. */
static int
sync_open(char *err, size_t errlen)
{
	const char	*path = env->conf->subscribers_file;

	sync_close();
	if (path == NULL)
		return 0;
	if ((sync_run.fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "subscribers.file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	sync_run.path = xstrdup(path);
	sync_run.is = intake_new(sync_run.path);
	return 1;
}

/* The sync ended (rc 0) or failed (-1, err): close, tell the waiters. */
static void
sync_end(int rc, const char *err)
{
	struct sync_waiter	*w = sync_run.waiters;
	size_t			 i, n = sync_run.nwaiters;

	sync_close();
	sync_run.waiters = NULL;
	sync_run.nwaiters = 0;
	for (i = 0; i < n; i++)
		w[i].cb(rc, err, w[i].arg);
	free(w);
}

static void
sync_step_again(void)
{
	struct timeval	 now = { 0, 0 };

	if (sync_run.ev != NULL && sync_run.is != NULL)
		evtimer_add(sync_run.ev, &now);
}

/* A slice is stored (or not); arg: the intake it went to. */
static void
sync_fed(const struct core_result *r, void *arg)
{
	struct intake	*is = arg;

	sync_run.out = 0;
	if (is != sync_run.is) {
		/* stopped or started again meanwhile */
		intake_free(is);
		sync_step_again();
		return;
	}
	sync_run.slice = slice_adapt(sync_run.slice, now_mono() -
	    sync_run.out_at, SLICE_TARGET, SYNC_SLICE_MIN, SYNC_SLICE);
	if (r->rc != CORE_OK) {
		sync_end(-1, r->err);
		return;
	}
	if (sync_run.fd != -1) {
		sync_step_again();
		return;
	}
	log_info("subscribers.file %s: added=%" PRId64 " updated=%" PRId64
	    " suppressed=%" PRId64 " duplicates=%" PRId64 " bad=%lu",
	    sync_run.path, is->added, is->updated, is->suppressed,
	    is->duplicate, import_rows_bad(is->imp));
	sync_end(0, NULL);
}

/* Read the next slice and hand it to the writer (n == 0: the end). */
static void
sync_step_cb(evutil_socket_t fd, short what, void *arg)
{
	char		 err[512];
	ssize_t		 n;

	(void)fd;
	(void)what;
	(void)arg;
	if (sync_run.out || sync_run.is == NULL)
		return;			/* sync_fed() steps again */
	while ((n = read(sync_run.fd, sync_chunk, sync_run.slice)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		snprintf(err, sizeof(err), "%s: read: %s", sync_run.path,
		    strerror(errno));
		sync_end(-1, err);
		return;
	}
	if (n == 0) {
		close(sync_run.fd);	/* read to its end */
		sync_run.fd = -1;
	}
	sync_run.out = 1;
	sync_run.out_at = now_mono();
	intake_feed(sync_run.is, sync_chunk, (size_t)n, sync_fed,
	    sync_run.is);
}

static void
sync_wait_add(sync_done_cb cb, void *arg)
{
	sync_run.waiters = xrealloc(sync_run.waiters,
	    (sync_run.nwaiters + 1) * sizeof(*sync_run.waiters));
	sync_run.waiters[sync_run.nwaiters].cb = cb;
	sync_run.waiters[sync_run.nwaiters++].arg = arg;
}

/* Start (or start again) a sync; cb(rc, err, arg) once it has ended. */
void
sync_start(sync_done_cb cb, void *arg)
{
	struct timeval	 now = { 0, 0 };
	char		 err[512];
	int		 rc;

	sync_wait_add(cb, arg);
	if (sync_run.is != NULL)
		log_info("subscribers.file: reloaded during a sync; starting "
		    "it again from the top");
	if ((rc = sync_open(err, sizeof(err))) <= 0) {
		sync_end(rc, rc == -1 ? err : NULL);
		return;
	}
	if (sync_run.ev == NULL &&
	    (sync_run.ev = evtimer_new(env->base, sync_step_cb, NULL)) == NULL)
		fatalx("subscribers.file: timer");
	evtimer_add(sync_run.ev, &now);
}

/* 0 if no sync runs; else 1, and cb(rc, err, arg) once it has ended. */
int
sync_wait(sync_done_cb cb, void *arg)
{
	if (sync_run.is == NULL)
		return 0;
	sync_wait_add(cb, arg);
	return 1;
}

/* Shutdown: stop a sync between slices (what is committed stays). */
void
sync_cancel(void)
{
	if (sync_run.ev != NULL)
		evtimer_del(sync_run.ev);
	if (sync_run.is != NULL) {
		log_info("subscribers.file: sync stopped by shutdown; the "
		    "next start syncs it again");
		sync_end(-1, "stopped by shutdown");
	}
}

void
sync_shutdown(void)
{
	sync_cancel();
	if (sync_run.ev != NULL)
		event_free(sync_run.ev);
	sync_run.ev = NULL;
}
