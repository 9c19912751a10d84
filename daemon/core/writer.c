/*
 * writer.c -- store calls on a thread of their own.
 *
 * SQLite's commit waits for fsync (synchronous=FULL); on the loop that
 * was a commit per message at one connection, and every claim held the
 * loop as long as its fsync.  Here the engine's writes run on one thread
 * with its own handle on the store (store_open_more), in the order they
 * were submitted: the groups of results (group commit: while one is
 * committed the next gathers on the loop), the claims, the /healthz
 * write check and every other write (snapshot slices, state changes,
 * imports, the API's).  One thread, so they never contend with each
 * other for SQLite's write lock.  A second thread of this kind, the
 * reader (core/reader.c), makes the loop's reads; the loop itself makes
 * no store call once it runs.
 *
 * work(st, arg) runs on the thread; done(arg, rc) runs on the loop
 * afterwards, in submission order, woken through an eventfd as the
 * sender pool's results are.  Between submit and done the job's arg
 * belongs to the thread.
 */
#include <sys/queue.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core.h"
#include "store.h"

struct wjob {
	int		 (*work)(struct store *, void *);
	void		 (*done)(void *, int);
	void		*arg;
	int		 rc;
	TAILQ_ENTRY(wjob) entry;
};
TAILQ_HEAD(wjob_list, wjob);

struct writer {
	struct store	*st;		/* the thread's handle */
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 efd;
	struct event	*ev;

	struct wjob_list todo;		/* submitted, not yet run */
	struct wjob_list ran;		/* run, done() not yet called */
	int		 out;		/* submitted, done() not yet run */
	int		 stop;
};

static void *
writer_main(void *p)
{
	struct writer	*w = p;
	struct wjob	*j;
	uint64_t	 one = 1;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (!w->stop && TAILQ_EMPTY(&w->todo))
			pthread_cond_wait(&w->cond, &w->mtx);
		if (w->stop)
			break;
		j = TAILQ_FIRST(&w->todo);
		TAILQ_REMOVE(&w->todo, j, entry);
		pthread_mutex_unlock(&w->mtx);
		j->rc = j->work(w->st, j->arg);
		pthread_mutex_lock(&w->mtx);
		TAILQ_INSERT_TAIL(&w->ran, j, entry);
		pthread_cond_broadcast(&w->cond);
		if (write(w->efd, &one, sizeof(one)) != sizeof(one))
			fatal("writer: eventfd write");
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* On the loop: hand back the jobs that ran, in order. */
static void
writer_end(struct writer *w)
{
	struct wjob	*j;

	for (;;) {
		pthread_mutex_lock(&w->mtx);
		if ((j = TAILQ_FIRST(&w->ran)) != NULL)
			TAILQ_REMOVE(&w->ran, j, entry);
		pthread_mutex_unlock(&w->mtx);
		if (j == NULL)
			return;
		w->out--;
		j->done(j->arg, j->rc);
		free(j);
	}
}

static void
writer_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		fatal("writer: eventfd read");
	writer_end(arg);
}

struct writer *
writer_new(struct event_base *base, struct store *main, char *err,
    size_t errlen)
{
	struct writer	*w;

	w = xcalloc(1, sizeof(*w));
	w->efd = -1;
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->ran);
	if ((w->st = store_open_more(main, err, errlen)) == NULL)
		goto fail;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST,
	    writer_wake_cb, w)) == NULL || event_add(w->ev, NULL) == -1)
		fatalx("writer: event");
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((errno = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		snprintf(err, errlen, "writer thread: %s", strerror(errno));
		pthread_mutex_destroy(&w->mtx);
		pthread_cond_destroy(&w->cond);
		goto fail;
	}
	return w;
fail:
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->efd != -1)
		close(w->efd);
	store_close(w->st);
	free(w);
	return NULL;
}

/* On the loop: run work on the thread after what is already out, then
 * done on the loop. */
void
writer_submit(struct writer *w, int (*work)(struct store *, void *),
    void (*done)(void *, int), void *arg)
{
	struct wjob	*j;

	j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	w->out++;
	pthread_mutex_lock(&w->mtx);
	TAILQ_INSERT_TAIL(&w->todo, j, entry);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

/*
 * Shutdown only (it waits): let every job out finish and run its done()
 * here, and those its done()s submit, so everything submitted is in the
 * store or handed back.
 */
void
writer_finish(struct writer *w)
{
	while (w->out > 0) {
		pthread_mutex_lock(&w->mtx);
		while (TAILQ_EMPTY(&w->ran))
			pthread_cond_wait(&w->cond, &w->mtx);
		pthread_mutex_unlock(&w->mtx);
		writer_end(w);
	}
}

/* Right after writer_new, before any submit: the thread's handle takes
 * no writes (a reader). */
int
writer_read_only(struct writer *w, char *err, size_t errlen)
{
	return store_read_only(w->st, err, errlen);
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_finish(w);
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	event_free(w->ev);
	close(w->efd);
	store_close(w->st);
	free(w);
}
