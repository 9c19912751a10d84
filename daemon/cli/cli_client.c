/*
 * cli_client.c -- how the CLI reaches broadsided: HTTP/1.1 + JSON over
 * the control socket with libcurl (CURLOPT_UNIX_SOCKET_PATH).  One easy
 * handle serves every call of a command, so an import streams its chunks
 * over one connection.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broadside.h"
#include "buf.h"
#include "cli.h"

struct cli_env	 cli;
static CURL	*cli_curl;

void
cli_die(int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (cli.bar_on)		/* keep the last bar, start a line */
		fprintf(stderr, "\n");
	cli.bar_on = 0;
	fprintf(stderr, "broadside: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(code);
}

static int
cli_report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "broadside: %s\n", msg);
	return 0;
}

void
cli_load_config(void)
{
	if (cli.conf != NULL)
		return;
	cli.conf = config_load(cli.config_path, CONFIG_NOSECRETS, cli_report,
	    NULL);
	if (cli.conf == NULL)
		exit(EXIT_CONFIG);
	cli.socket = cli.conf->control_socket;
}

/*
 * Why connecting to the socket fails, as errno (0 if it does not): curl
 * only says "Couldn't connect", which hides EACCES from a user outside
 * broadsided's group behind the same words as a daemon that is not running.
 */
static int
cli_connect_errno(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, e = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		e = errno;
	close(fd);
	return e;
}

/* The exit code for a daemon out of reach: 69, or the command's own
 * (`broadside bounce` exits 75 then, so that the MTA retries). */
static int
cli_unavail(void)
{
	return cli.unavail_exit ? cli.unavail_exit : EXIT_UNAVAIL;
}

static size_t
cli_write_cb(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

/*
 * One request; returns the parsed JSON answer and the HTTP status.  A
 * daemon that cannot be reached ends the command with exit 69.
 */
json_t *
cli_call(const char *method, const char *path, const void *body, size_t len,
    long *code)
{
	struct buf		 resp = BUF_INIT;
	struct curl_slist	*hdrs = NULL;
	json_error_t		 jerr;
	json_t			*j;
	char			 url[1024], errbuf[CURL_ERROR_SIZE];
	CURLcode		 rc;

	cli_load_config();
	if (cli_curl == NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if ((cli_curl = curl_easy_init()) == NULL)
			cli_die(EXIT_SOFTWARE, "curl_easy_init failed");
	}
	curl_easy_reset(cli_curl);
	snprintf(url, sizeof(url), "http://broadsided/v1/%s", path);
	curl_easy_setopt(cli_curl, CURLOPT_URL, url);
	curl_easy_setopt(cli_curl, CURLOPT_UNIX_SOCKET_PATH, cli.socket);
	curl_easy_setopt(cli_curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cli_curl, CURLOPT_WRITEFUNCTION, cli_write_cb);
	curl_easy_setopt(cli_curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(cli_curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(cli_curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cli_curl, CURLOPT_CONNECTTIMEOUT, 10L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body != NULL) {
		curl_easy_setopt(cli_curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(cli_curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/octet-stream");
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(cli_curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(cli_curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)0);
	}
	curl_easy_setopt(cli_curl, CURLOPT_HTTPHEADER, hdrs);
	errbuf[0] = '\0';
	rc = curl_easy_perform(cli_curl);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		int	e = 0;

		buf_free(&resp);
		if (rc == CURLE_COULDNT_CONNECT)
			e = cli_connect_errno(cli.socket);
		if (e == EACCES || e == EPERM)
			cli_die(cli_unavail(), "cannot reach broadsided at %s: %s "
			    "(only root and broadsided's user and group may use "
			    "it)", cli.socket, strerror(e));
		if (e != 0)
			cli_die(cli_unavail(), "cannot reach broadsided at %s: %s",
			    cli.socket, strerror(e));
		cli_die(cli_unavail(), "cannot reach broadsided at %s: %s",
		    cli.socket, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(cli_curl, CURLINFO_RESPONSE_CODE, code);
	j = json_loadb(resp.p ? resp.p : "", resp.len, 0, &jerr);
	buf_free(&resp);
	if (j == NULL)
		cli_die(cli_unavail(), "broadsided at %s: bad answer: %s",
		    cli.socket, jerr.text);
	return j;
}

json_t *
cli_call_json(const char *method, const char *path, json_t *req, long *code)
{
	json_t	*j;
	char	*s;

	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (s == NULL)
		cli_die(EXIT_SOFTWARE, "json_dumps failed");
	j = cli_call(method, path, s, strlen(s), code);
	free(s);
	return j;
}

/* Exit with `fail` and the daemon's message unless the answer is 200. */
void
cli_check(json_t *j, long code, int fail)
{
	const char	*msg;
	char		 copy[1024];

	if (code == 200)
		return;
	msg = json_string_value(json_object_get(j, "error"));
	snprintf(copy, sizeof(copy), "%s", msg ? msg :
	    "the daemon refused the request");
	json_decref(j);
	cli_close();
	cli_die(code == 403 ? EXIT_UNAVAIL : fail, "%s", copy);
}

void
cli_close(void)
{
	if (cli_curl != NULL)
		curl_easy_cleanup(cli_curl);
	cli_curl = NULL;
	config_free(cli.conf);
	cli.conf = NULL;
}
