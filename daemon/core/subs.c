/*
 * subs.c -- changes to one subscriber (or to a broadcast's bounced
 * ones), written by the writer thread (writer.c) after what is already
 * out, so the loop never waits on the store's lock or its fsync.  The
 * caller gets a core_result on the loop; what must follow a change in
 * the engine (an unsubscribed address's claimed mail dropped) is done
 * here before it is told.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "core.h"
#include "lang.h"
#include "store.h"

struct subs_job {
	struct subs_req	 req;		/* its strings copied below */
	char		 addr[ADDR_BUFSZ], key[ADDR_BUFSZ];
	char		*name;
	char		 lang[LANG_MAX];	/* "": leave it */
	core_done_cb	 cb;
	void		*arg;

	/* the thread's answer */
	enum core_rc	 rc;
	char		 err[512];
	int		 changed;
	enum store_upsert what;
	int		 found;
	int64_t		 sid;
	enum sub_status	 status;	/* before the change */
	char		 email[ADDR_BUFSZ];	/* as stored */
};

static int
subs_found_cb(const struct subscriber *s, void *arg)
{
	struct subs_job	*j = arg;

	j->found = 1;
	j->sid = s->id;
	j->status = s->status;
	snprintf(j->email, sizeof(j->email), "%s", s->email);
	return -1;
}

static int
subs_find(struct store *st, struct subs_job *j)
{
	j->found = 0;
	return store_sub_find(st, j->key, subs_found_cb, j, j->err,
	    sizeof(j->err));
}

/* A new address from the public form: stored pending only if new. */
static int
subs_pending(struct store *st, struct subs_job *j)
{
	if (store_begin(st, j->err, sizeof(j->err)) == -1)
		return -1;
	/* the upsert would refresh a known subscriber's name and fields:
	 * anything but an insert is rolled back */
	if (store_sub_upsert(st, 0, j->addr, j->key, j->name, "{}",
	    SUB_PENDING, &j->what, j->err, sizeof(j->err)) == -1 ||
	    subs_find(st, j) == -1)
		goto fail;
	if (j->what != UPSERT_ADDED) {
		store_rollback(st);
		return subs_find(st, j);	/* as it was */
	}
	if (*j->lang != '\0' && store_sub_set_lang(st, j->key, j->lang,
	    j->err, sizeof(j->err)) == -1)
		goto fail;
	if (!j->found) {
		snprintf(j->err, sizeof(j->err), "new subscriber not found");
		goto fail;
	}
	if (store_commit(st, j->err, sizeof(j->err)) == -1)
		goto fail;
	return 0;
 fail:
	store_rollback(st);
	return -1;
}

static int
subs_work(struct store *st, void *arg)
{
	struct subs_job	*j = arg;

	j->rc = CORE_FAILED;
	switch (j->req.op) {
	case SUBS_ADD:
		if (store_sub_upsert(st, 0, j->addr, j->key, j->name, "{}",
		    SUB_ACTIVE, &j->what, j->err, sizeof(j->err)) == -1)
			return -1;
		/* a suppressed address is kept as it is */
		if (*j->lang != '\0' && j->what != UPSERT_SUPPRESSED &&
		    store_sub_set_lang(st, j->key, j->lang, j->err,
		    sizeof(j->err)) == -1)
			return -1;
		break;
	case SUBS_PENDING:
		if (subs_pending(st, j) == -1)
			return -1;
		break;
	case SUBS_REMOVE:
		if (store_sub_set_status(st, j->key, SUB_UNSUBSCRIBED, 1,
		    &j->changed, j->err, sizeof(j->err)) == -1 ||
		    subs_find(st, j) == -1)
			return -1;
		if (!j->changed) {
			j->rc = CORE_NOTFOUND;
			snprintf(j->err, sizeof(j->err), "%s: not subscribed",
			    j->addr);
			return -1;
		}
		break;
	case SUBS_UNSUBSCRIBE_ID:
	case SUBS_CONFIRM_ID:
		/* a confirm never overrides an unsubscribe that raced it */
		if (store_sub_set_status_id(st, j->req.id, j->req.op ==
		    SUBS_CONFIRM_ID ? SUB_ACTIVE : SUB_UNSUBSCRIBED,
		    j->req.op == SUBS_UNSUBSCRIBE_ID, &j->changed, j->err,
		    sizeof(j->err)) == -1)
			return -1;
		j->sid = j->req.id;
		break;
	case SUBS_REACTIVATE:
		if (subs_find(st, j) == -1)
			return -1;
		if (!j->found) {
			j->rc = CORE_NOTFOUND;
			snprintf(j->err, sizeof(j->err), "%s: no such "
			    "subscriber", j->addr);
			return -1;
		}
		if (j->status == SUB_UNSUBSCRIBED) {
			j->rc = CORE_CONFLICT;
			snprintf(j->err, sizeof(j->err), "%s: unsubscribed, "
			    "not bounced; only the reader can subscribe again",
			    j->email);
			return -1;
		}
		if (store_sub_reactivate(st, j->key, 0, &j->changed, j->err,
		    sizeof(j->err)) == -1)
			return -1;
		break;
	case SUBS_REACTIVATE_BOUNCED_BY:
		if (store_sub_reactivate(st, NULL, j->req.id, &j->changed,
		    j->err, sizeof(j->err)) == -1)
			return -1;
		break;
	}
	j->rc = CORE_OK;
	return 0;
}

static void
subs_done(void *arg, int rc)
{
	struct subs_job		*j = arg;
	struct core_result	 r;

	(void)rc;
	/* no further message to a removed address, including one of a
	 * broadcast in progress */
	if (j->rc == CORE_OK && j->changed && j->sid > 0 &&
	    (j->req.op == SUBS_REMOVE || j->req.op == SUBS_UNSUBSCRIBE_ID))
		queue_subscriber_stop(j->sid);
	memset(&r, 0, sizeof(r));
	r.rc = j->rc;
	r.err = j->err;
	r.id = j->sid;
	r.changed = j->changed;
	r.what = (int)j->what;
	r.status = (int)j->status;
	r.found = j->found;
	r.email = j->email;
	j->cb(&r, j->arg);
	free(j->name);
	free(j);
}

void
subs_write(const struct subs_req *req, core_done_cb cb, void *arg)
{
	struct subs_job	*j;

	j = xcalloc(1, sizeof(*j));
	j->req = *req;
	if (req->addr != NULL) {
		snprintf(j->addr, sizeof(j->addr), "%s", req->addr);
		addr_key(j->addr, j->key, sizeof(j->key));
		/* until the store says how it has it */
		snprintf(j->email, sizeof(j->email), "%s", j->addr);
	}
	j->name = xstrdup(req->name != NULL ? req->name : "");
	if (req->lang != NULL)
		snprintf(j->lang, sizeof(j->lang), "%s", req->lang);
	j->req.addr = j->req.name = j->req.lang = NULL;
	j->cb = cb;
	j->arg = arg;
	writer_submit(env->writer, subs_work, subs_done, j);
}
