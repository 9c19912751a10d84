/*
 * broadside.h -- prototypes shared between broadside subsystems.
 * Leaf modules (buf, addr, import, mustache, mime, statement, token, rss)
 * have their own headers and do not include this one.
 */
#ifndef BROADSIDE_H
#define BROADSIDE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BROADSIDE_VERSION	"0.1.0"
#define BROADSIDE_DEFAULT_CONFIG "/etc/broadside/broadside.conf"

/* sysexits.h values, named here so the contract is visible in one place */
#define EXIT_USAGE	64
#define EXIT_DATAERR	65
#define EXIT_NOINPUT	66
#define EXIT_UNAVAIL	69
#define EXIT_SOFTWARE	70
#define EXIT_TEMPFAIL	75
#define EXIT_CONFIG	78

enum smtp_tls {
	SMTP_TLS_NONE,
	SMTP_TLS_STARTTLS,
	SMTP_TLS_TLS,
};

struct config {
	char		*file;		/* absolute path of the config file */

	/* list */
	char		*list_name;
	char		*list_from;	/* "Name <addr>" as written */
	char		*list_from_name;
	char		*list_from_addr;
	char		*list_reply_to;
	char		*list_id;
	char		*list_base_url;	/* no trailing slash */

	/* smtp */
	char		*smtp_url;
	enum smtp_tls	 smtp_tls;
	char		*smtp_ca_file;
	char		*smtp_username;
	char		*smtp_password_file;
	char		*smtp_password;	/* read from password_file; never logged */
	int		 smtp_connections;
	int		 smtp_timeout;

	/* rate */
	double		 rate_mps;
	int		 rate_burst;
	int		 rate_batch_size;

	/* retry */
	int		 retry_max_attempts;
	int		 retry_initial_delay;
	int		 retry_max_delay;

	char		*storage_path;		/* the SQLite file */
	char		*storage_url;		/* as written; may hold secrets */
	char		*subscribers_file;	/* NULL when unset */
	char		*control_socket;
	char		*http_listen;		/* NULL when unset */
	int		 feed_items;
	char		*feed_path;
	char		*templates_dir;
	char		*secret_file;
};

struct event_base;
struct evhttp_request;
struct store;
struct json_t;

/* The daemon's state, owned by the main loop (broadsided.c). */
struct daemon_env {
	struct event_base	*base;
	struct config		*conf;
	const char		*config_path;
	struct store		*store;
	unsigned char		 key[64];	/* HMAC key from secret_file */
	int			 keylen;
	int			 stopping;
	int64_t			 started;
};
extern struct daemon_env	*env;

/* control.c */
int	control_init(char *, size_t);
void	control_shutdown(void);
void	control_reply(struct evhttp_request *, int, struct json_t *);
void	control_error(struct evhttp_request *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
struct json_t *control_body_json(struct evhttp_request *);

/* subscribers.c */
void	subscribers_route(struct evhttp_request *, const char *);
void	import_route(struct evhttp_request *, const char *);
/* subscribers.file, in slices between other events: cb(0, NULL, arg)
 * when the file is in, cb(-1, err, arg) if it could not be read or the
 * sync was stopped.  _wait: 0 if no sync runs, else 1 and cb later. */
typedef void	(*sync_done_cb)(int, const char *, void *);
void	subscribers_sync_start(sync_done_cb, void *);
int	subscribers_sync_wait(sync_done_cb, void *);
void	subscribers_sync_cancel(void);
void	subscribers_shutdown(void);

/* queue.c: the delivery engine (main loop side) */
struct buf;
/* drained(arg): after queue_shutdown(), the last in-flight message is
 * recorded (main ends the loop then; the engine never does) */
int	queue_init(void (*)(void *), void *, char *, size_t);
void	queue_shutdown(void);		/* SIGTERM: stop taking work */
int	queue_busy(void);		/* jobs still in flight */
void	queue_free(void);
void	queue_reload(void);		/* new rate/smtp/retry settings */
void	queue_route(struct evhttp_request *, const char *);
void	queue_kick(void);		/* look for work now */
double	queue_rate(int64_t);		/* msgs/s now, for status */
/* Why broadcast ID is held back now ("waiting for relay: <reply>",
 * "waiting for store: ..."), or NULL. */
const char *queue_waiting(int64_t);
/* Suppress a subscriber at once (unsubscribe, bounce): no further
 * message to them leaves, including from a broadcast in progress. */
void	queue_subscriber_stop(int64_t);
/* Send the double opt-in confirmation mail for a pending subscriber. */
int	queue_send_confirm(int64_t, const char *, const char *, char *,
	    size_t);
/* Prometheus lines for the engine (sent/deferred/failed by broadcast,
 * rate, queue depth, sessions open). */
void	queue_metrics(struct buf *);

/* feed.c */
int	feed_update(char *, size_t);	/* regenerate feed.path atomically */
int	feed_render(struct buf *, char *, size_t);
int	archive_render(int64_t, struct buf *, int *, char *, size_t);
int	archive_index(struct buf *, char *, size_t);

/* http.c: the public listener (http.listen) */
int	http_init(char *, size_t);
void	http_shutdown(void);
void	http_feed_changed(void);	/* feed.xml was rewritten */

/* notify.c: systemd sd_notify protocol (NOTIFY_SOCKET), watchdog */
void	notify_init(void);
void	notify_ready(void);
void	notify_reloading(void);
void	notify_stopping(void);
void	notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
void	notify_shutdown(void);

/* broadsided.c */
/* Re-read the config, then sync subscribers.file; cb(0, NULL, arg) when
 * done, cb(-1, why, arg) at once if the new config is refused. */
void	daemon_reload(void (*)(int, const char *, void *), void *);
void	daemon_status(struct evhttp_request *, const char *);

/* config.c */
#define CONFIG_NOSECRETS	0x01	/* CLI: do not read password_file */
struct config	*config_load(const char *, int, int (*)(void *, const char *),
		    void *);
void		 config_free(struct config *);
const char	*config_default_path(void);
int		 config_read_secret(const struct config *, unsigned char *,
		    size_t, char *, size_t);
struct render_site;
void		 config_site(const struct config *, struct render_site *);

/* log.c */
enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_NOTICE, LOG_LVL_WARN,
    LOG_LVL_ERR };
void	log_init(int);
int	log_verbose(void);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* util.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
int64_t	 now_ms(void);
double	 now_mono(void);
int	 read_file(const char *, char **, size_t *, size_t, char *, size_t);
#define SLICE_TARGET	0.010	/* seconds of loop work per slice */
size_t	 slice_adapt(size_t, double, double, size_t, size_t);

#endif
