/*
 * writer.c -- store writes on a thread of their own.
 *
 * The engine's results are committed here, not on the loop: SQLite's
 * commit waits for fsync (synchronous=FULL), and at one connection that
 * was a commit per message on the loop.  One job at a time: while a
 * group of results is being committed, the next results gather on the
 * loop and go as the next group (group commit), so commits follow the
 * disk, not the message rate.
 *
 * The thread has its own handle on the store (store_open_more); the
 * loop keeps its own for everything else.  work(st, arg) runs on the
 * thread; done(arg, rc) runs on the loop afterwards, woken through an
 * eventfd as the sender pool's results are.  Between submit and done the
 * job's arg belongs to the thread.
 */
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

struct writer {
	struct store	*st;		/* the thread's handle */
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	int		 efd;
	struct event	*ev;

	/* the job: set by submit, run by the thread, ended by done */
	int		 (*work)(struct store *, void *);
	void		 (*done)(void *, int);
	void		*arg;
	int		 busy;		/* submitted, done() not yet run */
	int		 ran;		/* work() returned rc */
	int		 rc;
	int		 stop;
};

static void *
writer_main(void *p)
{
	struct writer	*w = p;
	uint64_t	 one = 1;
	int		 rc;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (!w->stop && (!w->busy || w->ran))
			pthread_cond_wait(&w->cond, &w->mtx);
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mtx);
		rc = w->work(w->st, w->arg);
		pthread_mutex_lock(&w->mtx);
		w->rc = rc;
		w->ran = 1;
		pthread_cond_broadcast(&w->cond);
		if (write(w->efd, &one, sizeof(one)) != sizeof(one))
			fatal("writer: eventfd write");
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* On the loop: the job ran; hand it back. */
static void
writer_end(struct writer *w)
{
	void	(*done)(void *, int);
	void	*arg;
	int	 rc;

	pthread_mutex_lock(&w->mtx);
	if (!w->busy || !w->ran) {
		pthread_mutex_unlock(&w->mtx);
		return;
	}
	done = w->done;
	arg = w->arg;
	rc = w->rc;
	w->busy = w->ran = 0;
	pthread_mutex_unlock(&w->mtx);
	done(arg, rc);
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

/* Run work on the thread, then done on the loop; -1 while one is out. */
int
writer_submit(struct writer *w, int (*work)(struct store *, void *),
    void (*done)(void *, int), void *arg)
{
	pthread_mutex_lock(&w->mtx);
	if (w->busy) {
		pthread_mutex_unlock(&w->mtx);
		return -1;
	}
	w->work = work;
	w->done = done;
	w->arg = arg;
	w->busy = 1;
	w->ran = 0;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	return 0;
}

int
writer_busy(struct writer *w)
{
	int	busy;

	pthread_mutex_lock(&w->mtx);
	busy = w->busy;
	pthread_mutex_unlock(&w->mtx);
	return busy;
}

/*
 * Shutdown only (it waits): let the job out finish and run its done()
 * here, so everything submitted is in the store or handed back.
 */
void
writer_finish(struct writer *w)
{
	pthread_mutex_lock(&w->mtx);
	while (w->busy && !w->ran)
		pthread_cond_wait(&w->cond, &w->mtx);
	pthread_mutex_unlock(&w->mtx);
	writer_end(w);
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
