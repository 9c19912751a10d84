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
 * from the main loop (one transaction per slice, then a zero timeout so
 * the loop polls before the next), so a file of a million rows never
 * holds up HTTP, the control socket or the engine.  The daemon says
 * READY, and `broadside reload` returns, once the rows are in; a new
 * broadcast waits for them too (sync_wait), so nobody in the
 * file is left out of it.  A reload during a sync starts it again from
 * the top (the file may have changed since); every waiter is told when
 * it ends.
 */
#define SYNC_SLICE	(64 * 1024)	/* bytes a slice, at most (slice_adapt:
					   about SLICE_TARGET of loop time) */
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
} sync_run = { .fd = -1, .slice = SYNC_SLICE / 4 };

static char	sync_chunk[SYNC_SLICE];

static void
sync_close(void)
{
	if (sync_run.fd != -1)
		close(sync_run.fd);
	sync_run.fd = -1;
	if (sync_run.is != NULL)
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

/* Import the next slice: 1 if more is left, 0 at the end, -1 on error. */
static int
sync_slice(char *err, size_t errlen)
{
	struct intake	*is = sync_run.is;
	ssize_t			 n;

	while ((n = read(sync_run.fd, sync_chunk, sync_run.slice)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		snprintf(err, errlen, "%s: read: %s", sync_run.path,
		    strerror(errno));
		return -1;
	}
	if (intake_feed(is, sync_chunk, (size_t)n, err, errlen) == -1)
		return -1;
	if (n > 0)
		return 1;
	log_info("subscribers.file %s: added=%" PRId64 " updated=%" PRId64
	    " suppressed=%" PRId64 " duplicates=%" PRId64 " bad=%lu",
	    sync_run.path, is->added, is->updated, is->suppressed,
	    is->duplicate, import_rows_bad(is->imp));
	return 0;
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
sync_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 now = { 0, 0 };
	char		 err[512];
	double		 t0 = now_mono();
	int		 rc;

	(void)fd;
	(void)what;
	(void)arg;
	rc = sync_slice(err, sizeof(err));
	sync_run.slice = slice_adapt(sync_run.slice, now_mono() - t0,
	    SLICE_TARGET, SYNC_SLICE_MIN, SYNC_SLICE);
	if (rc == 1)
		evtimer_add(sync_run.ev, &now);
	else
		sync_end(rc, rc == -1 ? err : NULL);
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
