/*
 * reader.c -- the loop's store reads, on a thread of their own.
 *
 * On PostgreSQL every store call is a network round trip, and one that
 * meets a lock waits for it: on the loop that held every client.  So the
 * loop makes no store call at all after start: a read is submitted to
 * env->reader, a second instance of writer.c's thread with its own
 * read-only handle (store_open_more), whose work(store, arg) runs the
 * call and copies out what the loop needs (bc_dup), and whose done(arg,
 * rc) on the loop answers the request late (front/late.c) or applies the
 * result.  Reads run in submission order among themselves, beside the
 * writer's jobs, never behind them.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "store.h"

struct writer *
reader_new(struct event_base *base, struct store *main, char *err,
    size_t errlen)
{
	struct writer	*r;

	if ((r = writer_new(base, main, err, errlen)) == NULL)
		return NULL;
	if (writer_read_only(r, err, errlen) == -1) {
		writer_free(r);
		return NULL;
	}
	return r;
}

void
reader_submit(int (*work)(struct store *, void *), void (*done)(void *, int),
    void *arg)
{
	writer_submit(env->reader, work, done, arg);
}

static const char *
bc_dup_str(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A broadcast copied out of a store callback (any thread), its text
 * with it; the statement's source only if asked (it may be large). */
struct broadcast *
bc_dup(const struct broadcast *bc, int source)
{
	struct broadcast	*c;

	c = xcalloc(1, sizeof(*c));
	*c = *bc;
	c->title = bc_dup_str(bc->title);
	c->subject = bc_dup_str(bc->subject);
	c->source = source ? bc_dup_str(bc->source) : NULL;
	c->filename = bc_dup_str(bc->filename);
	c->reason = bc_dup_str(bc->reason);
	c->lang = bc_dup_str(bc->lang);
	c->translations = NULL;
	c->ntranslations = 0;
	return c;
}

void
bc_dup_free(struct broadcast *c)
{
	if (c == NULL)
		return;
	free((char *)c->title);
	free((char *)c->subject);
	free((char *)c->source);
	free((char *)c->filename);
	free((char *)c->reason);
	free((char *)c->lang);
	free(c);
}

/* store_bc_cb appending copies to a bc_vec */
int
bc_vec_add(const struct broadcast *bc, void *arg)
{
	struct bc_vec	*v = arg;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = bc_dup(bc, v->source);
	return 0;
}

void
bc_vec_free(struct bc_vec *v)
{
	size_t	i;

	for (i = 0; i < v->n; i++)
		bc_dup_free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}
