/*
 * store.h -- the durable state of broadside behind one interface.
 *
 * Like OpenSMTPD's queue backends, every caller goes through struct store
 * and the backend's operation table; store_sqlite.c is the embedded
 * backend (WAL, prepared statements, schema migrations).  A PostgreSQL
 * backend shared by several daemons can implement the same table.
 *
 * All functions return 0 on success and -1 with err filled on failure,
 * unless said otherwise.  Only the daemon's main loop calls them.
 * No call waits more than STORE_BUSY_MS for another process's lock: it
 * fails instead (SQLITE_BUSY), and the caller retries later.
 */
#ifndef BROADSIDE_STORE_H
#define BROADSIDE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_BUSY_MS	20

enum sub_status {
	SUB_PENDING,		/* awaiting double opt-in */
	SUB_ACTIVE,
	SUB_UNSUBSCRIBED,
	SUB_BOUNCED,
};

enum dlv_state {
	DLV_PENDING,
	DLV_SENT,
	DLV_DEFERRED,
	DLV_FAILED,
};

enum bc_state {
	BC_QUEUED,
	BC_SENDING,
	BC_PAUSED,
	BC_DONE,
	BC_CANCELLED,
};

/* What an upsert did (import, subscribers add). */
enum store_upsert {
	UPSERT_ADDED,
	UPSERT_UPDATED,		/* existing subscriber, name/fields refreshed */
	UPSERT_SUPPRESSED,	/* unsubscribed/bounced: kept as is */
	UPSERT_DUPLICATE,	/* already seen in this same import */
};

struct subscriber {
	int64_t		 id;
	const char	*email;
	const char	*name;
	const char	*fields;	/* JSON object text */
	enum sub_status	 status;
	int64_t		 created;
};

struct broadcast {
	int64_t		 id;
	const char	*title;
	const char	*subject;
	const char	*source;	/* statement file text */
	const char	*filename;
	int		 markdown;
	enum bc_state	 state;
	int64_t		 created;	/* unix seconds */
	int64_t		 started;
	int64_t		 finished;
	int64_t		 total;
	int64_t		 sent;
	int64_t		 pending;
	int64_t		 deferred;
	int64_t		 failed;
	int		 snapping;	/* recipients still being taken */
	const char	*reason;	/* why paused (the server's reply), or NULL */
};

/* One recipient claimed for delivery. */
struct delivery {
	int64_t		 broadcast_id;
	int64_t		 subscriber_id;
	const char	*email;
	const char	*name;
	const char	*fields;
	int		 attempts;
	int		 active;	/* subscriber still active */
};

struct store;

typedef int	(*store_sub_cb)(const struct subscriber *, void *);
typedef int	(*store_bc_cb)(const struct broadcast *, void *);
typedef int	(*store_dlv_cb)(const struct delivery *, void *);

struct store_backend {
	const char	*name;
	struct store	*(*open)(const char *, char *, size_t);
	void		 (*close)(struct store *);
	int		 (*begin)(struct store *, char *, size_t);
	int		 (*commit)(struct store *, char *, size_t);
	int		 (*rollback)(struct store *);
	int		 (*writable)(struct store *, char *, size_t);

	int64_t		 (*import_id)(struct store *);
	int		 (*sub_upsert)(struct store *, int64_t, const char *,
			    const char *, const char *, const char *,
			    enum sub_status, enum store_upsert *, char *,
			    size_t);
	int		 (*sub_set_status)(struct store *, const char *,
			    enum sub_status, int, int *, char *, size_t);
	int		 (*sub_set_status_id)(struct store *, int64_t,
			    enum sub_status, int, int *, char *, size_t);
	int		 (*sub_get)(struct store *, int64_t, store_sub_cb,
			    void *, char *, size_t);
	int		 (*sub_find)(struct store *, const char *, store_sub_cb,
			    void *, char *, size_t);
	int		 (*sub_list)(struct store *, int64_t, int, store_sub_cb,
			    void *, char *, size_t);
	int		 (*sub_count)(struct store *, int64_t[4], char *,
			    size_t);
	int		 (*sub_bounce)(struct store *, int64_t, int64_t, int,
			    int *, char *, size_t);
	int		 (*sub_reactivate)(struct store *, const char *, int64_t,
			    int *, char *, size_t);

	int		 (*bc_create)(struct store *, const struct broadcast *,
			    int64_t *, char *, size_t);
	int		 (*bc_snapshot)(struct store *, int64_t, int, int *,
			    char *, size_t);
	int		 (*bc_get)(struct store *, int64_t, store_bc_cb, void *,
			    char *, size_t);
	int		 (*bc_list)(struct store *, int, store_bc_cb, void *,
			    char *, size_t);
	int		 (*bc_set_state)(struct store *, int64_t, enum bc_state,
			    const char *, char *, size_t);

	int		 (*dlv_claim)(struct store *, int64_t, int64_t, int64_t,
			    int, store_dlv_cb, void *, char *, size_t);
	int		 (*dlv_update)(struct store *, int64_t, int64_t,
			    enum dlv_state, int, int64_t, int, const char *,
			    char *, size_t);
	int		 (*dlv_next_due)(struct store *, int64_t, int64_t *,
			    char *, size_t);
	int		 (*dlv_counts)(struct store *, int64_t, int64_t[4],
			    char *, size_t);
	int		 (*bc_set_counts)(struct store *, int64_t,
			    const int64_t[4], char *, size_t);
	int		 (*dlv_drop)(struct store *, int64_t, int64_t, char *,
			    size_t);
};

struct store {
	const struct store_backend	*be;
};

extern const struct store_backend store_sqlite_backend;

/* store.c: dispatch */
struct store	*store_open(const char *, char *, size_t);
void		 store_close(struct store *);
int		 store_begin(struct store *, char *, size_t);
int		 store_commit(struct store *, char *, size_t);
int		 store_rollback(struct store *);
int		 store_writable(struct store *, char *, size_t);

int64_t		 store_import_id(struct store *);
int		 store_sub_upsert(struct store *, int64_t import, const char *email,
		    const char *key, const char *name, const char *fields,
		    enum sub_status, enum store_upsert *, char *, size_t);
int		 store_sub_set_status(struct store *, const char *key,
		    enum sub_status, int force, int *changed, char *, size_t);
int		 store_sub_set_status_id(struct store *, int64_t,
		    enum sub_status, int force, int *changed, char *, size_t);
int		 store_sub_get(struct store *, int64_t, store_sub_cb, void *,
		    char *, size_t);
int		 store_sub_find(struct store *, const char *key, store_sub_cb,
		    void *, char *, size_t);
int		 store_sub_list(struct store *, int64_t after, int limit,
		    store_sub_cb, void *, char *, size_t);
/* Counts by status, kept as rows change: no scan of the table. */
int		 store_sub_count(struct store *, int64_t counts[4], char *,
		    size_t);
/*
 * A recipient fault from broadcast bc bounces an active subscriber
 * (undo = 0); undo = 1 makes them active again if bc was what bounced
 * them (a run of refusals that turned out to be the relay's).
 */
int		 store_sub_bounce(struct store *, int64_t sub, int64_t bc,
		    int undo, int *changed, char *, size_t);
/*
 * Undo bounces: the subscriber with this key, or (key NULL) every one
 * broadcast bc bounced, back to active.  Only bounced ones: unsubscribed
 * and pending subscribers are never touched.  *changed: how many.
 */
int		 store_sub_reactivate(struct store *, const char *key,
		    int64_t bc, int *changed, char *, size_t);

/*
 * A new broadcast has no recipients yet: store_bc_snapshot takes the next
 * `limit` active subscribers (in id order) as its pending deliveries, one
 * transaction a call, and sets *more while some may be left.  After a
 * crash it carries on where the last committed call stopped.
 */
int		 store_bc_create(struct store *, const struct broadcast *,
		    int64_t *, char *, size_t);
int		 store_bc_snapshot(struct store *, int64_t bc, int limit,
		    int *more, char *, size_t);
int		 store_bc_get(struct store *, int64_t, store_bc_cb, void *,
		    char *, size_t);
int		 store_bc_list(struct store *, int limit, store_bc_cb, void *,
		    char *, size_t);
/* reason: why (paused by whom, the relay's reply); NULL clears it */
int		 store_bc_set_state(struct store *, int64_t, enum bc_state,
		    const char *reason, char *, size_t);

int		 store_dlv_claim(struct store *, int64_t bc, int64_t after,
		    int64_t now, int limit, store_dlv_cb, void *, char *,
		    size_t);
int		 store_dlv_update(struct store *, int64_t bc, int64_t sub,
		    enum dlv_state, int attempts, int64_t next_at, int code,
		    const char *msg, char *, size_t);
int		 store_dlv_next_due(struct store *, int64_t bc, int64_t *,
		    char *, size_t);

int		 store_dlv_counts(struct store *, int64_t bc, int64_t counts[4],
		    char *, size_t);
int		 store_bc_set_counts(struct store *, int64_t bc,
		    const int64_t counts[4], char *, size_t);
/* A subscriber who left during the broadcast is no longer a recipient. */
int		 store_dlv_drop(struct store *, int64_t bc, int64_t sub, char *,
		    size_t);

const char	*store_sub_strstatus(enum sub_status);
int		 store_sub_parsestatus(const char *);
const char	*store_bc_strstate(enum bc_state);
const char	*store_dlv_strstate(enum dlv_state);

#endif
