/*
 * store.c -- dispatch of the store interface to its backend, and the
 * names of states.  The backend is chosen by the storage path: a
 * "postgresql://" URL selects the shared backend, anything else SQLite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	return store_open_opts(path, NULL, err, errlen);
}

struct store *
store_open_opts(const char *path, const struct store_opts *o, char *err,
    size_t errlen)
{
	if (strncmp(path, "postgresql://", 13) == 0 ||
	    strncmp(path, "postgres://", 11) == 0)
		return store_pg_open(path, o, err, errlen);
	return store_sqlite_backend.open(path, err, errlen);
}

struct store *
store_open_more(struct store *st, char *err, size_t errlen)
{
	return st->be->open_more(st, err, errlen);
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->be->close(st);
}

int store_begin(struct store *st, char *e, size_t el)
{ return st->be->begin(st, e, el); }
int store_commit(struct store *st, char *e, size_t el)
{ return st->be->commit(st, e, el); }
int store_rollback(struct store *st)
{ return st->be->rollback(st); }
int store_writable(struct store *st, char *e, size_t el)
{ return st->be->writable(st, e, el); }
int store_read_only(struct store *st, char *e, size_t el)
{ return st->be->read_only(st, e, el); }
int64_t store_import_id(struct store *st)
{ return st->be->import_id(st); }

int
store_sub_upsert(struct store *st, int64_t import, const char *email,
    const char *key, const char *name, const char *fields,
    enum sub_status status, enum store_upsert *what, char *e, size_t el)
{
	return st->be->sub_upsert(st, import, email, key, name, fields, status,
	    what, e, el);
}

/* By place in the chunk: the import's order. */
static int
store_row_addr_cmp(const void *a, const void *b)
{
	const struct store_sub_row	*x = *(struct store_sub_row *const *)a;
	const struct store_sub_row	*y = *(struct store_sub_row *const *)b;

	return x < y ? -1 : x > y;
}

/* By key, and a key's first row in the import first. */
static int
store_row_cmp(const void *a, const void *b)
{
	int	c = strcmp((*(struct store_sub_row *const *)a)->key,
		    (*(struct store_sub_row *const *)b)->key);

	return c != 0 ? c : store_row_addr_cmp(a, b);
}

struct store_sub_row *
store_sub_row_find(struct store_sub_row **rows, size_t n, const char *key)
{
	size_t	lo = 0, hi = n, mid;
	int	c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, rows[mid]->key)) == 0)
			return rows[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * The rows of a chunk go to the backend's one statement, first
 * occurrences only (a key twice in one statement is an error in
 * PostgreSQL), in the import's order and, to find them by key, sorted;
 * what it did not settle (a pending or suppressed subscriber, a key seen
 * earlier in this import) then goes row by row, in the import's order,
 * so the outcome is the one of a row at a time.
 */
int
store_sub_upsert_rows(struct store *st, int64_t import,
    struct store_sub_row *rows, size_t n, char *err, size_t errlen)
{
	struct store_sub_row	*sorted[STORE_UPSERT_CHUNK];
	struct store_sub_row	*inorder[STORE_UPSERT_CHUNK];
	size_t			 i, k, m, off, len;

	for (i = 0; i < n; i++)
		rows[i].done = 0;
	for (off = 0; import > 0 && st->be->sub_upsert_rows != NULL &&
	    off < n; off += len) {
		len = n - off < STORE_UPSERT_CHUNK ? n - off :
		    STORE_UPSERT_CHUNK;
		for (i = 0; i < len; i++)
			sorted[i] = &rows[off + i];
		qsort(sorted, len, sizeof(sorted[0]), store_row_cmp);
		for (i = m = 0; i < len; i = k) {
			sorted[m++] = sorted[i];
			for (k = i + 1; k < len &&
			    strcmp(sorted[k]->key, sorted[i]->key) == 0; k++)
				;
		}
		/* new subscribers take their ids in the file's order */
		memcpy(inorder, sorted, m * sizeof(sorted[0]));
		qsort(inorder, m, sizeof(inorder[0]), store_row_addr_cmp);
		if (st->be->sub_upsert_rows(st, import, inorder, sorted, m,
		    err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		if (rows[i].done)
			continue;
		if (st->be->sub_upsert(st, import, rows[i].email, rows[i].key,
		    rows[i].name, rows[i].fields, rows[i].status,
		    &rows[i].what, err, errlen) == -1)
			return -1;
		/* the language of a row the import took */
		if (rows[i].lang != NULL && rows[i].lang[0] != '\0' &&
		    (rows[i].what == UPSERT_ADDED ||
		    rows[i].what == UPSERT_UPDATED) &&
		    st->be->sub_set_lang(st, rows[i].key, rows[i].lang, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

int
store_sub_set_status(struct store *st, const char *key, enum sub_status s,
    int force, int *changed, char *e, size_t el)
{
	return st->be->sub_set_status(st, key, s, force, changed, e, el);
}

int
store_sub_set_status_id(struct store *st, int64_t id, enum sub_status s,
    int force, int *changed, char *e, size_t el)
{
	return st->be->sub_set_status_id(st, id, s, force, changed, e, el);
}

int
store_sub_get(struct store *st, int64_t id, store_sub_cb cb, void *arg,
    char *e, size_t el)
{
	return st->be->sub_get(st, id, cb, arg, e, el);
}

int
store_sub_find(struct store *st, const char *key, store_sub_cb cb, void *arg,
    char *e, size_t el)
{
	return st->be->sub_find(st, key, cb, arg, e, el);
}

int
store_sub_list(struct store *st, int64_t after, int limit, store_sub_cb cb,
    void *arg, char *e, size_t el)
{
	return st->be->sub_list(st, after, limit, cb, arg, e, el);
}

int
store_sub_count(struct store *st, int64_t counts[4], char *e, size_t el)
{
	return st->be->sub_count(st, counts, e, el);
}

int
store_sub_bounce(struct store *st, int64_t id, int64_t bc, int undo,
    int *changed, char *e, size_t el)
{
	return st->be->sub_bounce(st, id, bc, undo, changed, e, el);
}

int
store_sub_reactivate(struct store *st, const char *key, int64_t bc,
    int *changed, char *e, size_t el)
{
	return st->be->sub_reactivate(st, key, bc, changed, e, el);
}

int
store_bc_create(struct store *st, const struct broadcast *bc, int64_t *id,
    char *e, size_t el)
{
	return st->be->bc_create(st, bc, id, e, el);
}

int
store_bc_snapshot(struct store *st, int64_t id, int limit, int *more,
    char *e, size_t el)
{
	return st->be->bc_snapshot(st, id, limit, more, e, el);
}

int
store_bc_resend_count(struct store *st, int64_t from, unsigned states,
    int64_t *n, char *e, size_t el)
{
	*n = 0;
	if (st->be->bc_resend_count == NULL) {
		/* its bc_snapshot would take every active subscriber */
		snprintf(e, el, "resend is not supported by the %s store yet",
		    st->be->name);
		return -1;
	}
	return st->be->bc_resend_count(st, from, states, n, e, el);
}

int
store_bc_get(struct store *st, int64_t id, store_bc_cb cb, void *arg,
    char *e, size_t el)
{
	return st->be->bc_get(st, id, cb, arg, e, el);
}

int
store_sub_set_lang(struct store *st, const char *key, const char *lang,
    char *e, size_t el)
{
	return st->be->sub_set_lang(st, key, lang, e, el);
}

int
store_bc_translations(struct store *st, int64_t id, store_tr_cb cb,
    void *arg, char *e, size_t el)
{
	return st->be->bc_translations(st, id, cb, arg, e, el);
}

int
store_bc_lang_counts(struct store *st, int64_t id, store_lang_cb cb,
    void *arg, char *e, size_t el)
{
	return st->be->bc_lang_counts(st, id, cb, arg, e, el);
}

int
store_bc_list(struct store *st, int limit, store_bc_cb cb, void *arg,
    char *e, size_t el)
{
	return st->be->bc_list(st, limit, cb, arg, e, el);
}

int
store_bc_set_state(struct store *st, int64_t id, enum bc_state s,
    const char *reason, char *e, size_t el)
{
	return st->be->bc_set_state(st, id, s, reason, e, el);
}

int
store_dlv_next_due(struct store *st, int64_t bc, int64_t *when, char *e,
    size_t el)
{
	return st->be->dlv_next_due(st, bc, when, e, el);
}

int
store_dlv_counts(struct store *st, int64_t bc, int64_t counts[4], char *e,
    size_t el)
{
	return st->be->dlv_counts(st, bc, counts, e, el);
}

int64_t
store_now_ms(struct store *st)
{
	return st->be->now_ms(st);
}

int
store_dlv_claim_rows(struct store *st, int64_t bc, const char *owner,
    int64_t now, int64_t lease_ms, int limit, store_dlv_cb cb, void *arg,
    char *e, size_t el)
{
	return st->be->dlv_claim_rows(st, bc, owner, now, lease_ms, limit, cb,
	    arg, e, el);
}

int
store_dlv_record(struct store *st, const char *owner,
    const struct dlv_result *res, size_t n, struct dlv_tally *tally, char *e,
    size_t el)
{
	return st->be->dlv_record(st, owner, res, n, tally, e, el);
}

int
store_dlv_release(struct store *st, const char *owner, int64_t bc,
    const int64_t *subs, size_t n, int64_t *released, char *e, size_t el)
{
	if (subs != NULL && bc == 0) {
		snprintf(e, el, "release: subscribers given without their "
		    "broadcast");
		return -1;
	}
	return st->be->dlv_release(st, owner, bc, subs, n, released, e, el);
}

int
store_dlv_postpone(struct store *st, const char *owner, int64_t bc,
    int64_t sub, int64_t next_at, int *changed, char *e, size_t el)
{
	return st->be->dlv_postpone(st, owner, bc, sub, next_at, changed, e,
	    el);
}

/* A release of all of owner's claims: the leases do not matter. */
int
store_dlv_release_stale(struct store *st, const char *owner,
    int64_t *released, char *e, size_t el)
{
	return st->be->dlv_release(st, owner, 0, NULL, 0, released, e, el);
}

int
store_node_beats(struct store *st)
{
	return st->be->node_beat != NULL;
}

int
store_bc_watch(struct store *st, int64_t bc, int *state, int64_t *live,
    char *e, size_t el)
{
	*state = -1;
	*live = 0;
	if (st->be->bc_watch == NULL)
		return 1;
	return st->be->bc_watch(st, bc, state, live, e, el);
}

int
store_bc_nodes(struct store *st, int64_t bc,
    int (*cb)(const struct store_node_share *, void *), void *arg, char *e,
    size_t el)
{
	if (st->be->bc_nodes == NULL)
		return 1;
	return st->be->bc_nodes(st, bc, cb, arg, e, el);
}

int
store_rate_reserve(struct store *st, int64_t bc, double per_second, int n,
    int64_t *wait_us, char *e, size_t el)
{
	*wait_us = 0;
	if (st->be->rate_reserve == NULL)
		return 1;
	return st->be->rate_reserve(st, bc, per_second, n, wait_us, e, el);
}

int
store_dlv_gone(struct store *st, int64_t bc, const char *owner,
    int64_t *ids, int max, int *n, char *e, size_t el)
{
	*n = 0;
	if (st->be->dlv_gone == NULL)
		return 1;
	return st->be->dlv_gone(st, bc, owner, ids, max, n, e, el);
}

int
store_node_beat(struct store *st, int *lapsed, char *e, size_t el)
{
	*lapsed = 0;
	if (st->be->node_beat == NULL)
		return 1;
	return st->be->node_beat(st, lapsed, e, el);
}

int
store_dlv_restore(struct store *st, int64_t bc, int64_t sub,
    enum dlv_state to, enum dlv_state from, int attempts, int *changed,
    char *e, size_t el)
{
	if ((from != DLV_PENDING && from != DLV_DEFERRED) ||
	    (to != DLV_SENT && to != DLV_DEFERRED && to != DLV_FAILED)) {
		snprintf(e, el, "restore: from %s to %s is no undo",
		    store_dlv_strstate(to), store_dlv_strstate(from));
		return -1;
	}
	return st->be->dlv_restore(st, bc, sub, to, from, attempts, changed,
	    e, el);
}

int
store_bc_settled(struct store *st, int64_t bc, int *settled, char *e,
    size_t el)
{
	return st->be->bc_settled(st, bc, settled, e, el);
}

int
store_bounce_record(struct store *st, int64_t bc, int64_t sub,
    enum store_bounce kind, int soft_limit, struct store_bounce_result *r,
    char *e, size_t el)
{
	memset(r, 0, sizeof(*r));
	if (kind < STORE_BOUNCE_SOFT || kind > STORE_COMPLAINT || bc < 0 ||
	    sub <= 0 || soft_limit < 1) {
		snprintf(e, el, "bounce: bad arguments");
		return -1;
	}
	if (st->be->bounce_record == NULL) {
		snprintf(e, el, "bounce: not in the %s backend", st->be->name);
		return -1;
	}
	return st->be->bounce_record(st, bc, sub, kind, soft_limit, r, e, el);
}

const char *
store_bounce_strkind(enum store_bounce k)
{
	switch (k) {
	case STORE_BOUNCE_SOFT:
		return "soft";
	case STORE_BOUNCE_HARD:
		return "hard";
	case STORE_COMPLAINT:
		return "complaint";
	}
	return "?";
}

static const char *sub_names[] = { "pending", "active", "unsubscribed",
    "bounced" };
static const char *bc_names[] = { "queued", "sending", "paused", "done",
    "cancelled" };
static const char *dlv_names[] = { "pending", "sent", "deferred", "failed",
    "claimed", "dropped" };

const char *
store_sub_strstatus(enum sub_status s)
{
	return (unsigned)s < 4 ? sub_names[s] : "?";
}

int
store_sub_parsestatus(const char *s)
{
	int	i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, sub_names[i]) == 0)
			return i;
	return -1;
}

const char *
store_bc_strstate(enum bc_state s)
{
	return (unsigned)s < 5 ? bc_names[s] : "?";
}

const char *
store_dlv_strstate(enum dlv_state s)
{
	return (unsigned)s < 6 ? dlv_names[s] : "?";
}
