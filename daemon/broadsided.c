/*
 * broadsided.c -- the broadside daemon: arguments, init order, signals,
 * reload and status.
 *
 * Init order (as OpenSMTPD's smtpd.c): parse and check the whole config
 * before opening anything; then the secret, the store (which takes the
 * lock that keeps a second daemon out), the control socket, and the
 * subscriber file; then the loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "broadside.h"
#include "store.h"

static struct daemon_env	 daemon_env;
struct daemon_env		*env = &daemon_env;

static struct event		*ev_sigterm, *ev_sigint, *ev_sighup, *ev_check;

#define DAEMON_CHECK_SECS	10

/* Every few seconds: is the store still there and writable?  Log changes. */
static void
daemon_check_cb(evutil_socket_t fd, short what, void *arg)
{
	static int	 failing;
	char		 err[512];

	(void)fd;
	(void)what;
	(void)arg;
	if (store_writable(env->store, err, sizeof(err)) == -1) {
		if (!failing)
			log_warnx("storage: %s", err);
		failing = 1;
	} else if (failing) {
		log_info("storage: writable again");
		failing = 0;
	}
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: broadsided [-dtv] [-c config]\n");
	exit(EXIT_USAGE);
}

static int
report_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "broadsided: %s\n", msg);
	return 0;
}

static int
report_log(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("reload: %s", msg);
	return 0;
}

/* Keys that are bound at start; a reload that changes them is refused. */
static int
daemon_reload_check(const struct config *old, const struct config *new,
    char *err, size_t errlen)
{
	if (strcmp(old->storage_path, new->storage_path) != 0) {
		snprintf(err, errlen, "storage.path cannot change on reload; "
		    "restart the daemon");
		return -1;
	}
	if (strcmp(old->control_socket, new->control_socket) != 0) {
		snprintf(err, errlen, "control.socket cannot change on "
		    "reload; restart the daemon");
		return -1;
	}
	if ((old->http_listen == NULL) != (new->http_listen == NULL) ||
	    (old->http_listen && strcmp(old->http_listen, new->http_listen))) {
		snprintf(err, errlen, "http.listen cannot change on reload; "
		    "restart the daemon");
		return -1;
	}
	return 0;
}

static int
daemon_reload_conf(char *err, size_t errlen)
{
	struct config	*conf;

	log_info("reload: reading %s", env->config_path);
	if ((conf = config_load(env->conf->file, 0, report_log, NULL))
	    == NULL) {
		snprintf(err, errlen, "%s: config has errors (see the daemon "
		    "log); the old config stays in force", env->config_path);
		log_warnx("reload: refused, old config stays in force");
		return -1;
	}
	if (daemon_reload_check(env->conf, conf, err, errlen) == -1) {
		log_warnx("reload: refused: %s", err);
		config_free(conf);
		return -1;
	}
	config_free(env->conf);
	env->conf = conf;
	queue_reload();
	/* new templates or base_url: the feed is rendered anew */
	if (feed_update(err, errlen) == -1)
		log_warnx("reload: feed: %s", err);
	return 0;
}

struct reload_wait {
	void	(*cb)(int, const char *, void *);
	void	*arg;
};

/*
 * At start the listeners accept and the engine runs while subscribers.file
 * is synced; READY=1 (store open, every listener accepting, the file in)
 * comes after, unless a SIGTERM stopped the sync.
 */
static void
daemon_start_synced(int rc, const char *err, void *arg)
{
	(void)arg;
	if (env->stopping)
		return;
	if (rc == -1)
		log_warnx("%s", err);
	log_info("ready");
	notify_ready();
}

static void
daemon_reload_synced(int rc, const char *err, void *arg)
{
	struct reload_wait	*w = arg;

	if (rc == -1)
		log_warnx("reload: %s", err);
	log_info("reload: done");
	notify_ready();
	if (w->cb != NULL)
		w->cb(0, NULL, w->arg);
	free(w);
}

/*
 * RELOADING=1 ... READY=1 around it, whether the new config is taken or
 * refused, so the service manager's reload job always finishes; READY=1
 * (and cb) only once subscribers.file is in.  A file that cannot be read
 * is logged; the new config stays taken.
 */
void
daemon_reload(void (*cb)(int, const char *, void *), void *arg)
{
	struct reload_wait	*w;
	char			 err[1024];

	notify_reloading();
	if (daemon_reload_conf(err, sizeof(err)) == -1) {
		notify_ready();
		if (cb != NULL)
			cb(-1, err, arg);
		return;
	}
	w = xmalloc(sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	subscribers_sync_start(daemon_reload_synced, w);
}

static json_t *
broadcast_json(const struct broadcast *bc)
{
	const char	*state = store_bc_strstate(bc->state);
	const char	*reason = bc->state == BC_PAUSED ? bc->reason : NULL;
	const char	*waiting = queue_waiting(bc->id);

	/* sending, but held back by the relay or the store */
	if (waiting != NULL && (bc->state == BC_SENDING ||
	    bc->state == BC_QUEUED)) {
		state = "waiting";
		reason = waiting;
	}
	return json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:I,"
	    "s:I,s:s?}",
	    "id", (json_int_t)bc->id, "title", bc->title,
	    "subject", bc->subject, "state", state,
	    "total", (json_int_t)bc->total, "sent", (json_int_t)bc->sent,
	    "pending", (json_int_t)bc->pending,
	    "deferred", (json_int_t)bc->deferred,
	    "failed", (json_int_t)bc->failed, "rate", queue_rate(bc->id),
	    "created", (json_int_t)bc->created,
	    "started", (json_int_t)bc->started,
	    "finished", (json_int_t)bc->finished,
	    "reason", reason);
}

static int
status_one_cb(const struct broadcast *bc, void *arg)
{
	*(json_t **)arg = broadcast_json(bc);
	return 0;
}

static int
status_list_cb(const struct broadcast *bc, void *arg)
{
	json_array_append_new(arg, broadcast_json(bc));
	return 0;
}

void
daemon_status(struct evhttp_request *req, const char *path)
{
	json_t	*j = NULL;
	char	 err[512], *end;
	int64_t	 id;

	if (strncmp(path, "status/", 7) == 0) {
		id = strtoll(path + 7, &end, 10);
		if (id <= 0 || *end != '\0') {
			control_error(req, 400, "bad broadcast id");
			return;
		}
		if (store_bc_get(env->store, id, status_one_cb, &j, err,
		    sizeof(err)) == -1) {
			control_error(req, 500, "%s", err);
			return;
		}
		if (j == NULL) {
			control_error(req, 404, "broadcast %" PRId64
			    ": no such broadcast", id);
			return;
		}
		control_reply(req, 200, j);
		return;
	}
	j = json_array();
	if (store_bc_list(env->store, 1000, status_list_cb, j, err,
	    sizeof(err)) == -1) {
		json_decref(j);
		control_error(req, 500, "%s", err);
		return;
	}
	control_reply(req, 200, j);
}

/* The engine recorded its last in-flight message after SIGTERM. */
static void
daemon_drained_cb(void *arg)
{
	(void)arg;
	event_base_loopexit(env->base, NULL);
}

static void
daemon_stop(void)
{
	struct timeval	grace = { 0, 100000 };

	if (env->stopping)
		return;
	env->stopping = 1;
	notify_stopping();
	log_info("shutting down");
	subscribers_sync_cancel();
	queue_shutdown();
	/*
	 * With messages in flight, the engine exits the loop when done.
	 * Else a tenth of a second more, so answers already made (a reload
	 * or send that waited for the cancelled sync) reach their clients.
	 */
	if (!queue_busy())
		event_base_loopexit(env->base, &grace);
}

static void
daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		daemon_stop();
		break;
	case SIGHUP:
		daemon_reload(NULL, NULL);
		break;
	}
}

int
main(int argc, char *argv[])
{
	char	 err[1024];
	int	 ch, check = 0, verbose = 0, rc;

	env->config_path = config_default_path();
	while ((ch = getopt(argc, argv, "c:dtvh")) != -1) {
		switch (ch) {
		case 'c':
			env->config_path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'd':
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(verbose);
	/* -t reads smtp.password_file too (then forgets it): it must find
	 * every problem the start would */
	env->conf = config_load(env->config_path, 0, report_stderr, NULL);
	if (env->conf == NULL) {
		if (check)
			fprintf(stderr, "broadsided: %s: configuration has "
			    "errors\n", env->config_path);
		return EXIT_CONFIG;
	}
	if (check) {
		/* an existing secret_file as the start reads it (a missing
		 * one is created then, so it is no error) */
		if (access(env->conf->secret_file, F_OK) == 0 &&
		    config_read_secret(env->conf, env->key, sizeof(env->key),
		    err, sizeof(err)) == -1) {
			explicit_bzero(env->key, sizeof(env->key));
			fprintf(stderr, "%s: secret_file: %s\n", env->conf->file,
			    err);
			fprintf(stderr, "broadsided: %s: configuration has "
			    "errors\n", env->config_path);
			config_free(env->conf);
			return EXIT_CONFIG;
		}
		explicit_bzero(env->key, sizeof(env->key));
		fprintf(stderr, "broadsided: %s: configuration OK\n",
		    env->config_path);
		config_free(env->conf);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	/* the store is used by the main thread only: no global mutex */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads");
	if ((env->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	notify_init();

	if ((rc = config_read_secret(env->conf, env->key, sizeof(env->key),
	    err, sizeof(err))) == -1) {
		log_warnx("secret_file: %s", err);
		return EXIT_CONFIG;
	}
	env->keylen = rc;
	if ((env->store = store_open(env->conf->storage_path, err,
	    sizeof(err))) == NULL) {
		log_warnx("storage: %s", err);
		return EXIT_UNAVAIL;
	}
	if (control_init(err, sizeof(err)) == -1) {
		log_warnx("control: %s", err);
		store_close(env->store);
		return EXIT_UNAVAIL;
	}
	if (env->conf->http_listen && http_init(err, sizeof(err)) == -1) {
		log_warnx("http: %s", err);
		control_shutdown();
		store_close(env->store);
		return EXIT_UNAVAIL;
	}
	if (feed_update(err, sizeof(err)) == -1)
		log_warnx("feed: %s", err);
	if (queue_init(daemon_drained_cb, NULL, err, sizeof(err)) == -1) {
		log_warnx("queue: %s", err);
		return EXIT_CONFIG;
	}

	ev_sigterm = evsignal_new(env->base, SIGTERM, daemon_signal_cb, NULL);
	ev_sigint = evsignal_new(env->base, SIGINT, daemon_signal_cb, NULL);
	ev_sighup = evsignal_new(env->base, SIGHUP, daemon_signal_cb, NULL);
	if (ev_sigterm == NULL || ev_sigint == NULL || ev_sighup == NULL ||
	    evsignal_add(ev_sigterm, NULL) == -1 ||
	    evsignal_add(ev_sigint, NULL) == -1 ||
	    evsignal_add(ev_sighup, NULL) == -1)
		fatalx("signal events");
	{
		struct timeval tv = { DAEMON_CHECK_SECS, 0 };

		if ((ev_check = event_new(env->base, -1, EV_PERSIST,
		    daemon_check_cb, NULL)) == NULL ||
		    event_add(ev_check, &tv) == -1)
			fatalx("check timer");
	}

	env->started = (int64_t)time(NULL);
	log_info("broadsided %s started: store=%s", BROADSIDE_VERSION,
	    env->conf->storage_path);
	/* READY=1 once subscribers.file is in (now, if none is set) */
	subscribers_sync_start(daemon_start_synced, NULL);
	event_base_dispatch(env->base);
	notify_shutdown();

	subscribers_shutdown();	/* answers reload waiters: before control */
	http_shutdown();
	control_shutdown();
	queue_free();
	store_close(env->store);
	event_free(ev_sigterm);
	event_free(ev_sigint);
	event_free(ev_sighup);
	event_free(ev_check);
	event_base_free(env->base);
	config_free(env->conf);
	explicit_bzero(env->key, sizeof(env->key));
	log_info("stopped");
	return 0;
}
