/*
 * reload.c -- SIGHUP and `broadside reload`: read the config again and
 * take it if it is good, then sync subscribers.file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static int
reload_report(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("reload: %s", msg);
	return 0;
}

/* Keys that are bound at start; a reload that changes them is refused. */
static int
reload_check(const struct config *old, const struct config *new,
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
reload_conf(char *err, size_t errlen)
{
	struct config	*conf;

	log_info("reload: reading %s", env->config_path);
	if ((conf = config_load(env->conf->file, 0, reload_report, NULL))
	    == NULL) {
		snprintf(err, errlen, "%s: config has errors (see the daemon "
		    "log); the old config stays in force", env->config_path);
		log_warnx("reload: refused, old config stays in force");
		return -1;
	}
	if (reload_check(env->conf, conf, err, errlen) == -1) {
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

static void
reload_synced(int rc, const char *err, void *arg)
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
reload_start(void (*cb)(int, const char *, void *), void *arg)
{
	struct reload_wait	*w;
	char			 err[1024];

	notify_reloading();
	if (reload_conf(err, sizeof(err)) == -1) {
		notify_ready();
		if (cb != NULL)
			cb(-1, err, arg);
		return;
	}
	w = xmalloc(sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	sync_start(reload_synced, w);
}

