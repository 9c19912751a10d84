/*
 * store.h -- the durable state of broadside behind one interface.
 *
 * Like OpenSMTPD's queue backends, every caller goes through struct store
 * and the backend's operation table; store_sqlite.c is the embedded
 * backend (WAL, prepared statements, schema migrations).  A PostgreSQL
 * backend shared by several daemons can implement the same table.
 *
 * All functions return 0 on success and -1 with err filled on failure,
 * unless said otherwise.  A handle is used by one thread at a time: the
 * first (store_open), which the daemon uses only while it starts, and
 * the writer's and reader's threads' (store_open_more).  On SQLite no
 * call on the first handle waits more than STORE_BUSY_MS for a lock
 * held by another handle or process: it fails instead (SQLITE_BUSY),
 * and the caller retries later.  A handle for another thread waits up
 * to STORE_THREAD_BUSY_MS, since waiting there holds no loop: the
 * daemon's writes (all on its writer thread) wait out another process's
 * lock of a few seconds (a backup, the sqlite3 shell) rather than fail.
 * On PostgreSQL every handle waits STORE_THREAD_BUSY_MS (store_pg.c).
 */
#ifndef BROADSIDE_STORE_H
#define BROADSIDE_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_BUSY_MS	20
#define STORE_THREAD_BUSY_MS	5000

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
	DLV_CLAIMED,		/* taken by an owner under a lease */
	DLV_DROPPED,		/* a result only: the row is deleted */
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

/*
 * One row of a chunked upsert (store_sub_upsert_rows).  The backend's
 * statement sets what and done for the rows it inserted or updated;
 * the others (pending, suppressed, seen in this import) take the one
 * row path.
 */
struct store_sub_row {
	const char	*email;
	const char	*key;
	const char	*name;
	const char	*fields;
	const char	*lang;		/* "": a new one has none, an
					   existing one keeps theirs */
	enum sub_status	 status;
	enum store_upsert what;		/* out */
	int		 done;		/* out: what is set */
};

struct subscriber {
	int64_t		 id;
	const char	*email;
	const char	*name;
	const char	*fields;	/* JSON object text */
	enum sub_status	 status;
	int64_t		 created;
	const char	*lang;		/* BCP 47 tag, "" for none (the
					   broadcast's default language) */
};

/* A statement's version in another language (issue 14 part 2). */
struct bc_translation {
	const char	*lang;		/* normalised BCP 47 tag */
	const char	*title;
	const char	*subject;
	const char	*source;
	const char	*filename;
	int		 markdown;
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
	int64_t		 bounced;	/* recipients with a bounce (hard or
					   soft) returned after the relay
					   took the message */
	int64_t		 complained;	/* complaints (ARF) */
	int64_t		 resent_from;	/* a resend of this broadcast, or 0 */
	unsigned	 resend_states;	/* a resend's: 1 << DLV_FAILED and/or
					   1 << DLV_DEFERRED, the original's
					   deliveries it takes */
	int64_t		 resent_as;	/* read only: its newest resend, or 0 */
	const char	*lang;		/* the default language's tag, or ""
					   (stored before translations) */
	/* bc_create only: its versions in other languages, stored with it
	 * (read them back with store_bc_translations) */
	const struct bc_translation *translations;
	size_t		 ntranslations;
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
	const char	*lang;		/* the subscriber's language, or "" */
};

/* One outcome for store_dlv_record. */
struct dlv_result {
	int64_t		 broadcast_id;
	int64_t		 subscriber_id;
	enum dlv_state	 state;		/* SENT, DEFERRED, FAILED or DROPPED */
	int		 attempts;	/* the new count (spent ones included) */
	int64_t		 next_at;	/* DEFERRED: due, unix ms */
	int		 code;		/* SMTP reply code, 0 if none */
	const char	*msg;		/* the reply, or NULL */
};

/* What a returned message says of one delivery (store_bounce_record). */
enum store_bounce {
	STORE_BOUNCE_SOFT = 1,	/* failed for now: counted */
	STORE_BOUNCE_HARD,	/* the address is dead: bounced */
	STORE_COMPLAINT,	/* marked as spam: unsubscribed */
};

struct store_bounce_result {
	int		 known;		/* the subscriber exists, and was a
					   recipient of the broadcast */
	int		 recorded;	/* new; 0: this (broadcast, subscriber,
					   kind) was recorded before */
	int		 suppressed;	/* the subscriber was active and is
					   bounced or unsubscribed now */
	int64_t		 soft;		/* broadcasts that soft-bounced them */
	enum sub_status	 status;	/* the subscriber's, after */
};

/* What one store_dlv_record did, summed over its results. */
struct dlv_tally {
	size_t		 applied;
	size_t		 skipped;	/* no longer this owner's claim */
	int64_t		 sent;
	int64_t		 deferred;
	int64_t		 failed;
	int64_t		 dropped;
};

struct store;

/* One node's share of a broadcast (store_bc_nodes). */
struct store_node_share {
	const char	*node;
	int64_t		 sent;		/* its recorded messages */
	int64_t		 in_flight;	/* claimed by it, not yet recorded */
	int64_t		 last_seen;	/* its last heartbeat, unix seconds
					   on the store's clock; 0: none */
};

typedef int	(*store_sub_cb)(const struct subscriber *, void *);
typedef int	(*store_bc_cb)(const struct broadcast *, void *);
typedef int	(*store_dlv_cb)(const struct delivery *, void *);
typedef int	(*store_tr_cb)(const struct bc_translation *, void *);
typedef int	(*store_lang_cb)(const char *, int64_t, void *);

struct store_backend {
	const char	*name;
	struct store	*(*open)(const char *, char *, size_t);
	struct store	*(*open_more)(struct store *, char *, size_t);
	void		 (*close)(struct store *);
	int		 (*begin)(struct store *, char *, size_t);
	int		 (*commit)(struct store *, char *, size_t);
	int		 (*rollback)(struct store *);
	int		 (*writable)(struct store *, char *, size_t);
	int		 (*read_only)(struct store *, char *, size_t);

	int64_t		 (*import_id)(struct store *);
	int		 (*sub_upsert)(struct store *, int64_t, const char *,
			    const char *, const char *, const char *,
			    enum sub_status, enum store_upsert *, char *,
			    size_t);
	/* optional: the common case of n rows (distinct keys, in the
	 * import's order, and the same sorted by key for
	 * store_sub_row_find) in one statement */
	int		 (*sub_upsert_rows)(struct store *, int64_t,
			    struct store_sub_row **, struct store_sub_row **,
			    size_t, char *, size_t);
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
	int		 (*bc_resend_count)(struct store *, int64_t, unsigned,
			    int64_t *, char *, size_t);
	int		 (*bc_get)(struct store *, int64_t, store_bc_cb, void *,
			    char *, size_t);
	int		 (*bc_list)(struct store *, int, store_bc_cb, void *,
			    char *, size_t);
	int		 (*bc_set_state)(struct store *, int64_t, enum bc_state,
			    const char *, char *, size_t);

	int		 (*dlv_next_due)(struct store *, int64_t, int64_t *,
			    char *, size_t);
	int		 (*dlv_counts)(struct store *, int64_t, int64_t[4],
			    char *, size_t);

	int64_t		 (*now_ms)(struct store *);
	int		 (*dlv_claim_rows)(struct store *, int64_t,
			    const char *, int64_t, int64_t, int, store_dlv_cb,
			    void *, char *, size_t);
	int		 (*dlv_record)(struct store *, const char *,
			    const struct dlv_result *, size_t,
			    struct dlv_tally *, char *, size_t);
	int		 (*dlv_release)(struct store *, const char *, int64_t,
			    const int64_t *, size_t, int64_t *, char *,
			    size_t);
	int		 (*dlv_postpone)(struct store *, const char *, int64_t,
			    int64_t, int64_t, int *, char *, size_t);
	int		 (*bc_settled)(struct store *, int64_t, int *, char *,
			    size_t);
	int		 (*dlv_restore)(struct store *, int64_t, int64_t,
			    enum dlv_state, enum dlv_state, int, int *, char *,
			    size_t);
	int		 (*bounce_record)(struct store *, int64_t, int64_t,
			    enum store_bounce, int,
			    struct store_bounce_result *, char *, size_t);
	/* a shared store's heartbeat (NULL: one daemon, none) */
	int		 (*node_beat)(struct store *, int *, char *, size_t);
	int		 (*bc_watch)(struct store *, int64_t, int *, int64_t *,
			    char *, size_t);
	int		 (*bc_nodes)(struct store *, int64_t,
			    int (*)(const struct store_node_share *, void *),
			    void *, char *, size_t);
	int		 (*rate_reserve)(struct store *, int64_t, double, int,
			    int64_t *, char *, size_t);
	int		 (*dlv_gone)(struct store *, int64_t, const char *,
			    int64_t *, int, int *, char *, size_t);
	int		 (*sub_set_lang)(struct store *, const char *,
			    const char *, char *, size_t);
	int		 (*bc_translations)(struct store *, int64_t,
			    store_tr_cb, void *, char *, size_t);
	int		 (*bc_lang_counts)(struct store *, int64_t,
			    store_lang_cb, void *, char *, size_t);
};

struct store {
	const struct store_backend	*be;
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

/*
 * What a shared backend (PostgreSQL) needs beyond its URL: this node's
 * name (NULL: the host name) and the password (NULL: libpq's passfile),
 * never taken from the URL; a fingerprint of the HMAC secret (not the
 * secret; NULL: not checked): the store keeps the first it sees and
 * refuses a node with another, whose tokens and Message-IDs the other
 * nodes would not recognise.  SQLite needs none of them.
 */
struct store_opts {
	const char	*node;
	const char	*password;
	const char	*secret_fp;
};

/* store.c: dispatch */
struct store	*store_open(const char *, char *, size_t);
/* store_open with options: a "postgresql://" or "postgres://" URL opens
 * the PostgreSQL backend (store_pg.c), anything else SQLite */
struct store	*store_open_opts(const char *, const struct store_opts *,
		    char *, size_t);
struct store	*store_pg_open(const char *, const struct store_opts *,
		    char *, size_t);
/*
 * Another handle on an open store, for another thread (each handle is
 * used by one thread at a time): the first one holds the lock against a
 * second daemon and did the migrations.
 */
struct store	*store_open_more(struct store *, char *, size_t);
void		 store_close(struct store *);
int		 store_begin(struct store *, char *, size_t);
int		 store_commit(struct store *, char *, size_t);
int		 store_rollback(struct store *);
/* 0: a write went in; -1: it cannot (err says why); 1: the lock is
 * held elsewhere, so it could not tell */
int		 store_writable(struct store *, char *, size_t);
/* From now on this handle only reads (a write fails): the daemon's loop
 * hands every write to its writer thread's handle. */
int		 store_read_only(struct store *, char *, size_t);

int64_t		 store_import_id(struct store *);
int		 store_sub_upsert(struct store *, int64_t import, const char *email,
		    const char *key, const char *name, const char *fields,
		    enum sub_status, enum store_upsert *, char *, size_t);
/* Rows of one import (import > 0): as store_sub_upsert on each in
 * order, STORE_UPSERT_CHUNK rows per statement where the backend can. */
#define STORE_UPSERT_CHUNK	500
int		 store_sub_upsert_rows(struct store *, int64_t import,
		    struct store_sub_row *, size_t, char *, size_t);
/* For backends: the row of key in n rows sorted by key, or NULL. */
struct store_sub_row *store_sub_row_find(struct store_sub_row **, size_t,
		    const char *key);
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
/*
 * A resend (bc->resent_from set) takes its recipients from the original
 * instead: those of its deliveries in one of the states of
 * bc->resend_states (failed, deferred) whose subscriber is still active,
 * in the same slices.  store_bc_resend_count says how many there are
 * now (the caller checks the original is done or cancelled: its
 * deliveries no longer move).
 */
int		 store_bc_resend_count(struct store *, int64_t from,
		    unsigned states, int64_t *n, char *, size_t);
int		 store_bc_get(struct store *, int64_t, store_bc_cb, void *,
		    char *, size_t);
/* The subscriber with key speaks lang (a normalised tag, "" for none). */
int		 store_sub_set_lang(struct store *, const char *key,
		    const char *lang, char *, size_t);
/* A broadcast's versions in other languages, by tag. */
int		 store_bc_translations(struct store *, int64_t,
		    store_tr_cb, void *, char *, size_t);
/* A broadcast's recipients by their subscriber's language ("" for
 * none): one pass over its deliveries. */
int		 store_bc_lang_counts(struct store *, int64_t,
		    store_lang_cb, void *, char *, size_t);
int		 store_bc_list(struct store *, int limit, store_bc_cb, void *,
		    char *, size_t);
/* reason: why (paused by whom, the relay's reply); NULL clears it */
int		 store_bc_set_state(struct store *, int64_t, enum bc_state,
		    const char *reason, char *, size_t);

int		 store_dlv_next_due(struct store *, int64_t bc, int64_t *,
		    char *, size_t);

int		 store_dlv_counts(struct store *, int64_t bc, int64_t counts[4],
		    char *, size_t);

/*
 * The claim model (issue 11).  Senders take deliveries by marking them,
 * not by a cursor in memory, so that several of them (in one daemon, or
 * daemons on several nodes sharing one store) never send the same row.
 *
 * Owner: who claims, a text (the node's name).  A claimed row carries its
 * owner, a lease (unix ms when the claim lapses) and the state it had
 * (pending or deferred).  A claim takes rows that are pending, deferred
 * and due, or claimed by anyone under a lapsed lease: claimed rows under
 * a live lease are not eligible, so no cursor is needed.
 *
 * Group: store_dlv_record applies many results in one transaction, each
 * only if the row is still this owner's claim (else skipped and counted:
 * the lease lapsed and another owner took the row).  The broadcast's
 * counts are added to in the same transaction, never overwritten.
 *
 * Release puts a claimed row back as it was (no attempt spent, the same
 * due time): work taken but not started.  Postpone puts it back as it
 * was with a new due time, still no attempt spent: a relay or session
 * fault, not the recipient's.  A recipient's temporary failure is
 * recorded, as DEFERRED with its attempt counted.
 *
 * Counts: a claimed row counts as pending (store_bc_get, store_dlv_counts,
 * status), whatever it was before; deferred only counts rows waiting for
 * their due time.
 *
 * Crash promise: at start a daemon calls store_dlv_release_stale with its
 * own name, so what it held when it died is claimable at once; another
 * node's rows come back when their lease lapses.  Nobody is skipped; the
 * duplicates are at most the rows in flight (claimed and handed to SMTP)
 * whose results were not committed.
 *
 * Times: next_at and lease are unix ms on the store's clock, read with
 * store_now_ms and passed in as now.  The SQLite backend is one host, so
 * its clock is the C library's; a PostgreSQL backend answers with the
 * database server's clock, so that nodes with skewed clocks agree on
 * leases.  Schema 4 turned the unix seconds of earlier due times into
 * ms.
 *
 * Each call is one transaction, or part of the caller's if one is open
 * (store_begin): then it is a savepoint, undone alone on failure.
 * Callbacks run inside it and must not call the store.
 */
int64_t		 store_now_ms(struct store *);
/*
 * Claim up to limit eligible rows of broadcast bc, with a lease until
 * now + lease_ms, and pass each to cb in subscriber id order (attempts:
 * those spent so far).  Which rows: the first pending ones by subscriber
 * id, due deferred ones longest due first, lapsed claims oldest first;
 * of those the lowest ids.  So the cost stays about `limit` rows however
 * big the broadcast and however many are due.  A cb returning -1 keeps
 * that row and stops.  Returns the number claimed, or -1: then nothing
 * was claimed, whatever cb saw.
 */
int		 store_dlv_claim_rows(struct store *, int64_t bc,
		    const char *owner, int64_t now, int64_t lease_ms, int limit,
		    store_dlv_cb, void *, char *, size_t);
/*
 * Apply n results of owner's claims, all or none.  tally (may be NULL)
 * says how many applied, how many were skipped, and how each moved.
 */
int		 store_dlv_record(struct store *, const char *owner,
		    const struct dlv_result *, size_t n, struct dlv_tally *,
		    char *, size_t);
/*
 * Put owner's claims back as they were: of broadcast bc (0: all), only
 * the n subscribers in subs (NULL: all; needs bc).  *released (may be
 * NULL): how many.
 */
int		 store_dlv_release(struct store *, const char *owner,
		    int64_t bc, const int64_t *subs, size_t n,
		    int64_t *released, char *, size_t);
/* One claim back as it was, due at next_at; *changed 0 if not owner's. */
int		 store_dlv_postpone(struct store *, const char *owner,
		    int64_t bc, int64_t sub, int64_t next_at, int *changed,
		    char *, size_t);
/* At start: every claim of owner released, whatever its lease. */
int		 store_dlv_release_stale(struct store *, const char *owner,
		    int64_t *released, char *, size_t);
/*
 * Liveness on a shared store (PostgreSQL; SQLite is one daemon and has
 * none).  A node beats every STORE_BEAT_MS from its writer thread: the
 * store notes the time on its own clock.  A node whose last beat is
 * older than STORE_BEAT_EXPIRY_MS is dead to the others, as one whose
 * session ended is: their next claim puts its claims back as it would
 * have released them (no attempt spent), whatever the rows' own leases.
 * So a claim's lease is its owner's heartbeat, renewed by one row a
 * beat, not by rewriting every claimed row.  A node must not send what
 * it claimed before a lapse (the others may have it now): *lapsed is 1
 * when the beat before this one had already expired.  Returns 1 for a
 * backend without heartbeats (store_node_beats says which).
 */
#define STORE_BEAT_MS		1000
#define STORE_BEAT_EXPIRY_MS	8000
/* a statement runs at most this long on a shared store: well below the
 * expiry, so a stuck query cannot stop the beats behind it */
#define STORE_STATEMENT_MS	5000
int		 store_node_beats(struct store *);
int		 store_node_beat(struct store *, int *lapsed, char *, size_t);
/*
 * What other nodes may have changed, in one cheap read (polled by each
 * node of a shared store): *state, broadcast bc's state (-1: none), and
 * *live, the oldest broadcast queued or sending (0: none).  1: the
 * backend has one daemon only, and does not say.
 */
int		 store_bc_watch(struct store *, int64_t bc, int *state,
		    int64_t *live, char *, size_t);
/*
 * Each node's share of broadcast bc, by node name: every node that
 * recorded or holds a delivery of it.  1: the backend has one daemon
 * only (no shares to tell).
 */
int		 store_bc_nodes(struct store *, int64_t bc,
		    int (*)(const struct store_node_share *, void *), void *,
		    char *, size_t);
/*
 * One rate across the nodes of a shared store: reserve n send slots of
 * broadcast bc at per_second, from its GCRA row on the store's clock.
 * The slots follow the last ones any node reserved (or start now if
 * those are past), one 1/per_second apart; *wait_us: how long after the
 * store's now the first one is.  1: the backend has one daemon only
 * (its own bucket is the rate).
 */
int		 store_rate_reserve(struct store *, int64_t bc,
		    double per_second, int n, int64_t *wait_us, char *, size_t);
/*
 * Owner's claims of broadcast bc whose subscriber is no longer active
 * (unsubscribed or bounced through another node since the claim): up
 * to max of their ids in ids, how many in *n.  1: the backend has one
 * daemon only (it stops them itself).
 */
int		 store_dlv_gone(struct store *, int64_t bc, const char *owner,
		    int64_t *ids, int max, int *n, char *, size_t);
/*
 * Undo a recorded result: the row of (bc, sub), if it is in state `to`,
 * back to `from` (pending or deferred, due now) with `attempts`, and the
 * counts moved back.  For results that turned out not to be about the
 * recipient (a run of refusals that was the relay's).  *changed (may be
 * NULL): 0 if the row was not in state `to`.
 */
int		 store_dlv_restore(struct store *, int64_t bc, int64_t sub,
		    enum dlv_state to, enum dlv_state from, int attempts,
		    int *changed, char *, size_t);
/*
 * *settled = 1 when broadcast bc has all its recipients and none of them
 * is pending, deferred or claimed: it may finish.
 */
int		 store_bc_settled(struct store *, int64_t bc, int *settled,
		    char *, size_t);

/*
 * A returned message about the delivery of broadcast bc to subscriber
 * sub (bc 0: a broadcast not known, the subscriber only), in one
 * transaction.  Each (bc, sub, kind) counts once: a second report of it
 * changes nothing (recorded 0).  Nothing at all for a subscriber who does
 * not exist or who was not a recipient of bc (known 0).  A hard bounce
 * bounces an active subscriber (bounced by bc); a soft one does once soft
 * bounces came from soft_limit different broadcasts; a complaint
 * unsubscribes an active one.  The broadcast's bounced count goes up
 * the first time one of its recipients bounces (hard or soft), its
 * complained count with each new complaint.
 */
int		 store_bounce_record(struct store *, int64_t bc, int64_t sub,
		    enum store_bounce, int soft_limit,
		    struct store_bounce_result *, char *, size_t);
const char	*store_bounce_strkind(enum store_bounce);

const char	*store_sub_strstatus(enum sub_status);
int		 store_sub_parsestatus(const char *);
const char	*store_bc_strstate(enum bc_state);
const char	*store_dlv_strstate(enum dlv_state);

#endif
