/*
 * core.h -- the daemon's core: the delivery engine, broadcasts, the
 * subscriber file sync and imports, the feed and archive, reload and
 * systemd notification.
 *
 * The core works on the store and the sender pool and knows nothing of
 * HTTP or JSON: the front (front/) turns requests into these calls and
 * their results into answers.  Nothing here calls the front; where the
 * core has news for it (the feed changed, the engine drained after
 * SIGTERM), it calls back what was registered at init.
 */
#ifndef CORE_H
#define CORE_H

#include <stddef.h>
#include <stdint.h>

#include "broadside.h"
#include "store.h"

struct buf;
struct event_base;
struct writer;

/* The daemon's state, owned by the main loop (broadsided.c). */
struct daemon_env {
	struct event_base	*base;
	struct config		*conf;
	const char		*config_path;
	struct store		*store;		/* the loop's handle: start-up
						   only, NULL once the loop
						   runs (reads: reader.c) */
	int			 shared;	/* store_node_beats: a shared
						   store (PostgreSQL) */
	struct writer		*writer;	/* store writes, off the loop
						   (writer.c), from queue_init
						   to queue_free */
	struct writer		*reader;	/* the loop's store reads, off
						   the loop (reader.c), from
						   start to stop */
	const char		*node;		/* owner of this daemon's claims
						   in the store: the host name */
	unsigned char		 key[64];	/* HMAC key from secret_file */
	int			 keylen;
	int			 stopping;
	int64_t			 started;
};
extern struct daemon_env	*env;

/* What a core call came to; the front turns it into a status code. */
enum core_rc {
	CORE_OK = 0,
	CORE_INVALID,		/* the request's input is wrong */
	CORE_NOTFOUND,
	CORE_CONFLICT,		/* not in a state that allows it */
	CORE_FAILED,		/* the store or the renderer failed */
	CORE_UNAVAILABLE,	/* shutting down */
};

/*
 * What an asynchronous core call came to, given to its callback on the
 * loop once the writer thread has stored it (or the store refused).
 * Pointers are good during the callback only.
 */
struct core_result {
	enum core_rc	 rc;
	const char	*err;		/* rc != CORE_OK */
	int64_t		 id;		/* the broadcast or subscriber */
	const char	*state;		/* a broadcast's state now */
	int64_t		 changed;	/* subscribers changed */
	int		 found;		/* the subscriber exists */
	int		 status;	/* its status before (sub_status) */
	int		 what;		/* an upsert's (enum store_upsert) */
	const char	*email;		/* the subscriber's, as stored */
};
typedef void	(*core_done_cb)(const struct core_result *, void *);

/* subs.c: one subscriber's change, stored off the loop; cb on the loop
 * (r->id: the subscriber's id, r->changed: 0 if it was so already) */
enum subs_op {
	SUBS_ADD,		/* addr, name: active (an upsert) */
	SUBS_PENDING,		/* addr, name: pending, only if new */
	SUBS_REMOVE,		/* addr: unsubscribed (404 if it was) */
	SUBS_UNSUBSCRIBE_ID,	/* id: unsubscribed */
	SUBS_CONFIRM_ID,	/* id: pending to active */
	SUBS_REACTIVATE,	/* addr: bounced to active (409 if unsub.) */
	SUBS_REACTIVATE_BOUNCED_BY,	/* id: a broadcast's bounces */
};
struct subs_req {
	enum subs_op	 op;
	const char	*addr;		/* normalised */
	const char	*name;
	const char	*lang;		/* ADD, PENDING: a normalised tag, or
					   NULL (unchanged) */
	int64_t		 id;
};
void	subs_write(const struct subs_req *, core_done_cb, void *);

/* queue.c: the delivery engine (main loop side) */
/* drained(arg): after queue_shutdown(), the last in-flight message is
 * recorded (main ends the loop then; the engine never does) */
int	queue_init(void (*)(void *), void *, char *, size_t);
void	queue_shutdown(void);		/* SIGTERM: stop taking work */
int	queue_busy(void);		/* jobs still in flight */
/* the store took a write at its last check (else why, in err) */
int	queue_store_ok(char *, size_t);
void	queue_free(void);
void	queue_reload(void);		/* new rate/smtp/retry settings */
void	queue_kick(void);		/* look for work now */
void	queue_news(void);		/* a broadcast stored or ready */
double	queue_rate(int64_t);		/* msgs/s now, for status */
/* Why broadcast ID is held back now ("waiting for relay: <reply>",
 * "waiting for store: ..."), or NULL. */
const char *queue_waiting(int64_t);
int	    queue_run_known(int64_t, struct broadcast *);
/* Suppress a subscriber at once (unsubscribe, bounce): no further
 * message to them leaves, including from a broadcast in progress. */
void	queue_subscriber_stop(int64_t);
/* Send the double opt-in confirmation mail for a pending subscriber, in
 * a language (NULL: site.language). */
int	queue_send_confirm(int64_t, const char *, const char *, const char *,
	    char *, size_t);
/* What the engine has done and is doing, for /metrics. */
struct queue_run_stats {
	int64_t		 id;
	int64_t		 counts[4];	/* by enum dlv_state, committed */
};
/* One SMTP relay: its strings are the engine's, valid until the next
 * call into the engine. */
struct queue_relay_stats {
	const char		*name;		/* host[:port] */
	int			 up;
	const char		*state;		/* up, out, refused */
	const char		*reason;	/* why it is out, or NULL */
	int			 weight;
	uint64_t		 sent;		/* messages it took */
	uint64_t		 faults;	/* times it was taken out */
};
struct queue_stats {
	uint64_t		 sent, deferred, failed;  /* since the start */
	struct queue_run_stats	*runs;		/* broadcasts in the engine */
	size_t			 nruns;
	int64_t			 waiting_id;	/* the current one */
	const char		*waiting;	/* why it is held back, or NULL */
	double			 rate;		/* msgs/s now */
	int			 depth;		/* claimed, not finished */
	int			 sessions;	/* SMTP sessions open */
	struct queue_relay_stats *relays;	/* the relays in use */
	size_t			 nrelays;
};
void	queue_stats(struct queue_stats *);
/* The relays alone: how many, in *out (free() it). */
size_t	queue_relays(struct queue_relay_stats **);
void	queue_stats_free(struct queue_stats *);

/* A statement as `broadside send` hands it over. */
struct bc_source {
	const char	*source;	/* the file's text */
	const char	*filename;	/* for messages */
	const char	*subject;	/* --subject, or NULL */
	int		 markdown;
	/* its language; NULL: the .LANG. part of filename, else its
	 * Language: line, else site.language */
	const char	*lang;
	/* the same statement in other languages (their subject is their
	 * title, their own translations are ignored); each subscriber gets
	 * the version in their language, else the default (this one) */
	const struct bc_source *translations;
	size_t		 ntranslations;
};
/* Parse and render it once: a bad file is refused before it is stored. */
enum core_rc	queue_bc_check(const struct bc_source *, char *, size_t);
/* Store a new broadcast, take its first recipients, update the feed:
 * CORE_OK and cb later (r->id), or what is wrong with it now (err). */
enum core_rc	queue_bc_create(const struct bc_source *, core_done_cb,
		    void *, char *, size_t);
/* verb "pause", "resume" or "cancel": CORE_OK and cb later (r->state:
 * the state it is in now), or why not now (err). */
enum core_rc	queue_bc_control(int64_t, const char *, core_done_cb, void *,
		    char *, size_t);

/* resend.c: a new broadcast of a done or cancelled one's statement to
 * its recipients in states (1 << DLV_FAILED | 1 << DLV_DEFERRED) still
 * active: CORE_OK and cb later (r->id: the new one, r->changed: its
 * recipients; r->rc CORE_NOTFOUND, or CORE_CONFLICT with the reason) */
enum core_rc	resend_start(int64_t, unsigned, core_done_cb, void *, char *,
		    size_t);

/* `send --test`: cb gets every address's result once all are done. */
struct queue_test_result {
	char		*email;
	const char	*result;	/* smtp_strresult() */
	int		 code;
	char		*msg;
};
struct qtest;
typedef void	(*queue_test_cb)(const struct queue_test_result *, size_t,
		    void *);
enum core_rc	queue_test_start(const struct bc_source *,
		    const char *const *, size_t, queue_test_cb, void *,
		    struct qtest **, char *, size_t);
/* The asker went away: the test goes on, cb is not called. */
void		queue_test_forget(struct qtest *);

/* snapshot.c: a new broadcast's recipients, a slice per transaction
 * between other events; taken() when a broadcast has them all */
void	snapshot_init(void (*)(void));
int	snapshot_slice(void);		/* recipients a slice now */
void	snapshot_kick(void);
void	snapshot_stop(void);
void	snapshot_free(void);

/* beat.c: this node's heartbeat on a shared store, from the writer
 * thread every STORE_BEAT_MS (none on SQLite).  beat_ok (any thread):
 * may a job claimed in beat_epoch() still be sent -- the heartbeat is
 * fresh and has not lapsed since.  renewed() on the loop: good again. */
void		 beat_init(void (*)(void));
void		 beat_stop(void);
unsigned	 beat_epoch(void);
int		 beat_ok(unsigned);

/* writer.c: store calls on a thread of their own, in submission order:
 * work(store, arg) there, then done(arg, work's rc) on the loop */
struct writer;
struct writer	*writer_new(struct event_base *, struct store *, char *,
		    size_t);
void		 writer_submit(struct writer *, int (*)(struct store *, void *),
		    void (*)(void *, int), void *);
void		 writer_finish(struct writer *);	/* waits: exit only */
void		 writer_free(struct writer *);
int		 writer_read_only(struct writer *, char *, size_t);

/* reader.c: the loop's store reads on a thread of their own (a writer.c
 * thread with a read-only handle): work(store, arg) there, done(arg, rc)
 * on the loop.  bc_dup copies a broadcast out of a store callback. */
struct writer	*reader_new(struct event_base *, struct store *, char *,
		    size_t);
void		 reader_submit(int (*)(struct store *, void *),
		    void (*)(void *, int), void *);
struct broadcast *bc_dup(const struct broadcast *, int);
void		 bc_dup_free(struct broadcast *);
struct bc_vec {
	struct broadcast **v;
	size_t		 n, cap;
	int		 source;	/* copy each one's statement too */
};
int		 bc_vec_add(const struct broadcast *, void *);	/* store_bc_cb */
void		 bc_vec_free(struct bc_vec *);

/* confirm.c: the double opt-in mail for subscriber (id, email, name),
 * in lang (the form's choice; NULL: site.language) */
struct token_key;
int	confirm_build(struct token_key *, int64_t, const char *, const char *,
	    const char *, struct buf *, char *, size_t);

/* intake.c: rows of subscriber CSV into the store, a chunk per
 * transaction (the import API and subscribers.file) */
struct intake_error {
	unsigned long	 line;
	char		*msg;
};
struct intake {
	int64_t			 id;		/* import id in the store */
	struct import		*imp;
	int64_t			 added, updated, suppressed, duplicate;
	const char		*label;		/* set: errors are logged */
	struct intake_error	*errors;	/* of the current chunk */
	size_t			 nerrors;
	int64_t			 errors_dropped;
	int			 store_failed;
	char			 store_err[256];
	struct buf		*fields;
	struct intake_row	*rows;		/* waiting for the store */
	size_t			 nrows;
	struct buf		*text;		/* their text */
	struct store		*st;		/* the writer's, in a chunk */
};
struct intake	*intake_new(const char *);
void		 intake_free(struct intake *);
/* Number the import in the store: cb's r->id (the first chunk does it
 * too).  The intake is the writer thread's until cb has run. */
void		 intake_open(struct intake *, core_done_cb, void *);
/* Feed one chunk (copied; len 0: the end) in one transaction on the
 * writer thread; cb(r) on the loop once done (r->rc, r->err).  Errors
 * of the chunk before are forgotten. */
void		 intake_feed(struct intake *, const char *, size_t,
		    core_done_cb, void *);
unsigned long	 intake_bad(const struct intake *);
unsigned long	 intake_lines(const struct intake *);

/* sync.c: subscribers.file, in slices between other events: cb(0, NULL,
 * arg) when the file is in, cb(-1, err, arg) if it could not be read or
 * the sync was stopped.  sync_wait: 0 if no sync runs, else 1 and cb
 * later. */
typedef void	(*sync_done_cb)(int, const char *, void *);
void	sync_start(sync_done_cb, void *);
int	sync_wait(sync_done_cb, void *);
void	sync_cancel(void);
void	sync_shutdown(void);

/* reload.c: re-read the config, then sync subscribers.file; cb(0, NULL,
 * arg) when done, cb(-1, why, arg) at once if the new config is refused */
void	reload_start(void (*)(int, const char *, void *), void *);

/* langs.c: a broadcast's recipients per language of the version they
 * get, counted once on the writer thread after its recipients are all
 * taken (status "languages"): 1 and *e, or 0 (not known yet: asked) */
struct langs_entry;
int	langs_get(int64_t, const char *, int, const struct langs_entry **);
/* its i-th version's language and recipients; -1 past the last */
int	langs_entry_get(const struct langs_entry *, size_t, const char **,
	    int64_t *);

/* feed.c.  What the feed and the pages show is read off the loop into a
 * snapshot (pub_snap_new: one broadcast id > 0, else the latest limit;
 * trs: their translations too), by pub_snap_work on the reader thread
 * (reader_submit), and rendered from it on the loop. */
struct pub_snap;
struct pub_snap	*pub_snap_new(int64_t, int, int);
int	pub_snap_work(struct store *, void *);
const char	*pub_snap_err(const struct pub_snap *);	/* its read failed */
void	pub_snap_free(struct pub_snap *);
int	feed_read_limit(void);		/* the list feed_render wants */
/* regenerate feed.path atomically: read, rendered and written later
 * (errors logged), then feed_on_change's cb */
int	feed_update(char *, size_t);
const struct buf *feed_current(void);	/* the last rendered, or NULL */
int	feed_pending(void);		/* feed_updates not yet done */
void	feed_free(void);
int	feed_render(const struct pub_snap *, struct buf *, char *, size_t);
/* The feed of one language (/feed.LANG.xml, feed.LANG.xml beside
 * feed.path): each statement's version in it, else its base language's,
 * else the default; *code 404 (nothing rendered) when no published
 * statement has a version in lang.  Its snapshot: feed_read_limit()
 * with translations. */
int	feed_render_lang(const struct pub_snap *, const char *, struct buf *,
	    int *, char *, size_t);
/* cb(arg) each time the feed was rewritten (the public listener serves
 * it from memory) */
void	feed_on_change(void (*)(void *), void *);

/* archive.c: the statements as HTML pages (front/site.c caches them),
 * from a snapshot: one id with translations; ARCHIVE_INDEX_READ or
 * ARCHIVE_HOME_READ latest without */
#define ARCHIVE_INDEX_READ	10000
#define ARCHIVE_HOME_READ	(10 + 1 + 32)
int	archive_render(const struct pub_snap *, int64_t, struct buf *, int *,
	    char *, size_t);
/* /archive/ID/LANG: the statement's version in LANG (404 if none) */
int	archive_render_lang(const struct pub_snap *, int64_t, const char *,
	    struct buf *, int *, char *, size_t);
int	archive_index(const struct pub_snap *, struct buf *, char *, size_t);
int	archive_home(const struct pub_snap *, struct buf *, char *,
	    size_t);	/* the site's / */

/* notify.c: systemd sd_notify protocol (NOTIFY_SOCKET), watchdog */
void	notify_init(void);
void	notify_ready(void);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
void	notify_shutdown(void);

#endif
