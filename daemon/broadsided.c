/*
 * broadsided.c -- the broadside daemon: arguments, init order, signals;
 * the one place that wires the core (core/) and the front (front/).
 *
 * Init order (as OpenSMTPD's smtpd.c): parse and check the whole config
 * before opening anything; then the secret, the store (which takes the
 * lock that keeps a second daemon out), the control socket, and the
 * subscriber file; then the loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "bounces.h"
#include "core.h"
#include "front.h"
#include "store.h"
#include "token.h"

static struct daemon_env	 daemon_env;
struct daemon_env		*env = &daemon_env;
static char			 daemon_node[256];
static struct store		*loop_store;	/* env->store's, once the loop runs */

static struct event		*ev_sigterm, *ev_sigint, *ev_sighup, *ev_check;

#define DAEMON_CHECK_SECS	10

/*
 * Every few seconds: is the store still there and writable?  The writer
 * thread checks (queue_store_ok) and logs each change.
 */
static void
daemon_check_cb(evutil_socket_t fd, short what, void *arg)
{
	char	err[512];

	(void)fd;
	(void)what;
	(void)arg;
	(void)queue_store_ok(err, sizeof(err));
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
	sync_cancel();
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
		reload_start(NULL, NULL);
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct store_opts sopts;
	char	 err[1024], secret_fp[TOKEN_SIZE];
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
	if (env->conf->storage_node != NULL)
		snprintf(daemon_node, sizeof(daemon_node), "%s",
		    env->conf->storage_node);
	else if (gethostname(daemon_node, sizeof(daemon_node) - 1) == -1 ||
	    daemon_node[0] == '\0')
		snprintf(daemon_node, sizeof(daemon_node), "localhost");
	env->node = daemon_node;
	sopts.node = daemon_node;
	sopts.password = env->conf->storage_password;
	/* a MAC of a fixed text under the secret: tells keys apart, shows
	 * nothing of them */
	sopts.secret_fp = token_make(env->key, env->keylen, "store-secret", 0,
	    secret_fp, sizeof(secret_fp)) == 0 ? secret_fp : NULL;
	if ((env->store = store_open_opts(env->conf->storage_path, &sopts,
	    err, sizeof(err))) == NULL) {
		log_warnx("storage: %s", err);
		return EXIT_UNAVAIL;
	}
	env->shared = store_node_beats(env->store);
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
	/* every read made for the loop goes through the reader thread */
	if ((env->reader = reader_new(env->base, env->store, err,
	    sizeof(err))) == NULL) {
		log_warnx("storage: reader: %s", err);
		return EXIT_UNAVAIL;
	}
	if (feed_update(err, sizeof(err)) == -1)
		log_warnx("feed: %s", err);
	if (queue_init(daemon_drained_cb, NULL, err, sizeof(err)) == -1) {
		log_warnx("queue: %s", err);
		return EXIT_CONFIG;
	}
	/* every write from here on goes through the writer thread */
	if (store_read_only(env->store, err, sizeof(err)) == -1) {
		log_warnx("storage: %s", err);
		return EXIT_CONFIG;
	}
	if (bounces_init(err, sizeof(err)) == -1) {
		log_warnx("bounces: %s", err);
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
	sync_start(daemon_start_synced, NULL);
	/*
	 * From here the loop makes no store call: reads go to the reader
	 * thread, writes to the writer's.  Its handle stays open (on a
	 * shared store it holds the node's name) but out of reach, so a
	 * read left on the loop fails at once in any test that reaches it.
	 */
	loop_store = env->store;
	env->store = NULL;
	event_base_dispatch(env->base);
	writer_free(env->reader);	/* the last reads answered */
	env->reader = NULL;
	notify_shutdown();

	sync_shutdown();	/* answers reload waiters: before control */
	api_import_shutdown();
	api_broadcasts_shutdown();
	http_shutdown();
	control_shutdown();
	queue_free();		/* the writer's last done()s run here */
	feed_free();
	bounces_free();
	store_close(loop_store);
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
