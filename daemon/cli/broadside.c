/*
 * broadside.c -- the broadside CLI: one function per command, found in a
 * table, each talking to the daemon over the control socket (cli_client.c)
 * except preview, which works offline.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "bounce.h"
#include "broadside.h"
#include "buf.h"
#include "cli.h"
#include "lang.h"
#include "render.h"
#include "rss.h"
#include "statement.h"
#include "store.h"
#include "store_copy.h"
#include "token.h"

#define IMPORT_CHUNK	(128 * 1024)	/* per request: each is parsed and
					   committed on the daemon's loop in
					   one go (~10 ms; 256 KiB made
					   120+ ms under AddressSanitizer) */
#define STATEMENT_MAX	(1024 * 1024)

struct cli_cmd {
	const char	*name;
	const char	*sub;		/* second word, or NULL */
	int		 (*fn)(int, char **);
	const char	*usage;
	const char	*help;		/* one line, in the overview */
	const char	*detail;	/* options and exits, or NULL */
};

static int	cli_bad_usage(void);
static const char *take_opt(int *, char **, const char *);
static int	follow(json_int_t, int);

static int
has_flag(int *argc, char **argv, const char *flag)
{
	int	i, found = 0;

	for (i = 0; i < *argc; i++)
		if (strcmp(argv[i], flag) == 0) {
			found = 1;
			memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) *
			    sizeof(argv[0]));
			(*argc)--;
			i--;
		}
	return found;
}

static void
print_json(json_t *j)
{
	char	*s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		printf("%s\n", s);
		free(s);
	}
}

static int
cmd_sub_add(int argc, char **argv)
{
	json_t		*req, *j;
	const char	*lang;
	char		 tag[LANG_MAX];
	long		 code;

	lang = take_opt(&argc, argv, "--lang");
	if (argc < 1 || argc > 2)
		return cli_bad_usage();
	if (lang != NULL && lang_norm(lang, tag, sizeof(tag)) == -1)
		cli_die(EXIT_DATAERR, "--lang: \"%s\" is not a language tag "
		    "(es, pt-BR, ar...)", lang);
	req = json_pack("{s:s,s:s}", "email", argv[0], "name",
	    argc == 2 ? argv[1] : "");
	if (req == NULL)
		cli_die(EXIT_DATAERR, "%s: not valid UTF-8", argv[0]);
	if (lang != NULL)
		json_object_set_new(req, "lang", json_string(tag));
	j = cli_call_json("POST", "subscribers", req, &code);
	cli_check(j, code, code == 400 ? EXIT_DATAERR : EXIT_SOFTWARE);
	printf("%s: %s\n", json_string_value(json_object_get(j, "email")),
	    json_string_value(json_object_get(j, "result")));
	if (strcmp(json_string_value(json_object_get(j, "result")),
	    "suppressed") == 0)
		fprintf(stderr, "broadside: %s has unsubscribed or bounced; "
		    "not re-activated\n", argv[0]);
	json_decref(j);
	return 0;
}

static int
cmd_sub_remove(int argc, char **argv)
{
	json_t	*j;
	long	 code;

	if (argc != 1)
		return cli_bad_usage();
	j = cli_call_json("POST", "subscribers/remove",
	    json_pack("{s:s}", "email", argv[0]), &code);
	cli_check(j, code, EXIT_DATAERR);
	printf("%s: removed\n", json_string_value(json_object_get(j,
	    "email")));
	json_decref(j);
	return 0;
}

/*
 * Undo bounces: one address, or every address one broadcast bounced.
 * The daemon never turns an unsubscribed address active this way.
 */
static int
cmd_sub_reactivate(int argc, char **argv)
{
	json_t		*req, *j;
	const char	*by;
	char		*end;
	long long	 id = 0;
	long		 code;

	by = take_opt(&argc, argv, "--bounced-by");
	if (argc != (by == NULL ? 1 : 0))
		return cli_bad_usage();
	if (by != NULL) {
		errno = 0;
		id = strtoll(by, &end, 10);
		if (id <= 0 || *end != '\0' || errno != 0)
			cli_die(EXIT_USAGE, "--bounced-by %s: not a broadcast ID",
			    by);
		req = json_pack("{s:I}", "bounced_by", (json_int_t)id);
	} else if ((req = json_pack("{s:s}", "email", argv[0])) == NULL)
		cli_die(EXIT_DATAERR, "%s: not valid UTF-8", argv[0]);
	j = cli_call_json("POST", "subscribers/reactivate", req, &code);
	cli_check(j, code, code == 400 || code == 404 || code == 409 ?
	    EXIT_DATAERR : EXIT_SOFTWARE);
	if (by != NULL)
		printf("broadcast %lld: %" JSON_INTEGER_FORMAT " reactivated\n",
		    id, json_integer_value(json_object_get(j, "reactivated")));
	else
		printf("%s: %" JSON_INTEGER_FORMAT " reactivated%s\n",
		    json_string_value(json_object_get(j, "email")),
		    json_integer_value(json_object_get(j, "reactivated")),
		    json_integer_value(json_object_get(j, "reactivated")) == 0 ?
		    " (it was not bounced)" : "");
	json_decref(j);
	return 0;
}

/* Print the errors of one import answer as FILE:LINE: message. */
static int64_t
import_print_errors(const char *label, json_t *j)
{
	json_t	*e;
	size_t	 i;
	int64_t	 dropped;

	json_array_foreach(json_object_get(j, "errors"), i, e)
		fprintf(stderr, "%s:%" JSON_INTEGER_FORMAT ": %s\n", label,
		    json_integer_value(json_object_get(e, "line")),
		    json_string_value(json_object_get(e, "error")));
	dropped = json_integer_value(json_object_get(j, "errors_dropped"));
	if (dropped > 0)
		fprintf(stderr, "%s: %" PRId64 " more errors not shown\n",
		    label, dropped);
	return 0;
}

/* A 30-column bar for pct percent, '#' done and '.' to go. */
static void
progress_bar(char bar[31], double pct)
{
	int	i, fill = (int)(pct * 30 / 100);

	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
}

/*
 * Progress of an import: a bar on a TTY (by bytes, when the input is a
 * regular file of known size), and on anything else a plain line every
 * 5 s, so only a long import prints one.
 */
struct import_progress {
	const char	*label;
	int		 tty;
	double		 size;		/* 0: unknown (a pipe) */
	double		 sent;
	double		 started, last;
};

static void
import_progress(struct import_progress *p, json_t *j)
{
	json_int_t	 lines = json_integer_value(json_object_get(j, "lines"));
	double		 now = now_mono(), pct, eta;
	char		 bar[31];

	if (now - p->last < (p->tty ? 0.2 : 5.0))
		return;
	p->last = now;
	if (!p->tty) {
		fprintf(stderr, "%s: %" JSON_INTEGER_FORMAT " lines read "
		    "(%.1f MB", p->label, lines, p->sent / 1e6);
		if (p->size > 0)
			fprintf(stderr, " of %.1f MB", p->size / 1e6);
		fprintf(stderr, ")\n");
		return;
	}
	if (p->size > 0) {
		pct = p->sent < p->size ? 100 * p->sent / p->size : 100;
		progress_bar(bar, pct);
		fprintf(stderr, "\r[%s] %3.0f%% %.1f/%.1f MB  %"
		    JSON_INTEGER_FORMAT " lines", bar, pct, p->sent / 1e6,
		    p->size / 1e6, lines);
		eta = p->sent > 0 ? (now - p->started) * (p->size - p->sent) /
		    p->sent : -1;
		if (eta >= 0)
			fprintf(stderr, "  ETA %d:%02d", (int)eta / 60,
			    (int)eta % 60);
	} else
		fprintf(stderr, "\r%.1f MB  %" JSON_INTEGER_FORMAT " lines",
		    p->sent / 1e6, lines);
	fprintf(stderr, "\033[K");
	fflush(stderr);
	cli.bar_on = 1;
}

/* Take the bar off the line before printing anything else. */
static void
import_progress_clear(void)
{
	if (cli.bar_on)
		fprintf(stderr, "\r\033[K");
	cli.bar_on = 0;
}

static void __attribute__((noreturn))
import_fail(const char *label, json_t *j)
{
	char	msg[1024];

	snprintf(msg, sizeof(msg), "%s: %s", label,
	    json_string_value(json_object_get(j, "error")));
	json_decref(j);
	cli_close();
	cli_die(EXIT_DATAERR, "%s", msg);
}

static int
cmd_sub_import(int argc, char **argv)
{
	const char	*label;
	json_t		*j;
	struct import_progress pr;
	struct stat	 st;
	char		*chunk, path[64];
	ssize_t		 n;
	int64_t		 id;
	long		 code;
	int		 fd, ret;

	if (argc != 1)
		return cli_bad_usage();
	if (strcmp(argv[0], "-") == 0) {
		fd = STDIN_FILENO;
		label = "<stdin>";
	} else {
		label = argv[0];
		if ((fd = open(argv[0], O_RDONLY | O_CLOEXEC)) == -1)
			cli_die(errno == ENOENT ? EXIT_NOINPUT : EXIT_DATAERR,
			    "%s: %s", argv[0], strerror(errno));
	}
	j = cli_call("POST", "import", NULL, 0, &code);
	cli_check(j, code, EXIT_SOFTWARE);
	id = json_integer_value(json_object_get(j, "import"));
	json_decref(j);

	memset(&pr, 0, sizeof(pr));
	pr.label = label;
	pr.tty = isatty(STDERR_FILENO);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		pr.size = (double)st.st_size;
	pr.started = pr.last = now_mono();

	chunk = xmalloc(IMPORT_CHUNK);
	for (;;) {
		n = read(fd, chunk, IMPORT_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			cli_die(EXIT_DATAERR, "%s: read: %s", label,
			    strerror(errno));
		if (n == 0)
			break;
		snprintf(path, sizeof(path), "import/%" PRId64, id);
		j = cli_call("POST", path, chunk, (size_t)n, &code);
		cli_check(j, code, EXIT_SOFTWARE);
		pr.sent += (double)n;
		if (json_array_size(json_object_get(j, "errors")) > 0 ||
		    json_object_get(j, "error") != NULL)
			import_progress_clear();
		import_print_errors(label, j);
		if (json_object_get(j, "error") != NULL) {
			free(chunk);
			import_fail(label, j);
		}
		import_progress(&pr, j);
		json_decref(j);
	}
	free(chunk);
	import_progress_clear();
	if (fd != STDIN_FILENO)
		close(fd);
	snprintf(path, sizeof(path), "import/%" PRId64 "/finish", id);
	j = cli_call("POST", path, NULL, 0, &code);
	cli_check(j, code, EXIT_SOFTWARE);
	import_print_errors(label, j);
	if (json_object_get(j, "error") != NULL)
		import_fail(label, j);
	printf("%s: %" JSON_INTEGER_FORMAT " added, %" JSON_INTEGER_FORMAT
	    " updated, %" JSON_INTEGER_FORMAT " kept suppressed, %"
	    JSON_INTEGER_FORMAT " bad rows skipped\n", label,
	    json_integer_value(json_object_get(j, "added")),
	    json_integer_value(json_object_get(j, "updated")),
	    json_integer_value(json_object_get(j, "suppressed")),
	    json_integer_value(json_object_get(j, "bad")));
	ret = json_integer_value(json_object_get(j, "bad")) > 0 ?
	    EXIT_DATAERR : 0;
	json_decref(j);
	return ret;
}

static int
cmd_sub_list(int argc, char **argv)
{
	json_t		*j, *s, *out;
	json_int_t	 after = 0;
	char		 path[96], *txt;
	size_t		 i;
	long		 code;
	int		 json = has_flag(&argc, argv, "--json"), first = 1;

	if (argc != 0)
		return cli_bad_usage();
	if (json)
		printf("[");
	for (;;) {
		snprintf(path, sizeof(path), "subscribers?after=%"
		    JSON_INTEGER_FORMAT "&limit=5000", after);
		j = cli_call("GET", path, NULL, 0, &code);
		cli_check(j, code, EXIT_SOFTWARE);
		json_array_foreach(json_object_get(j, "subscribers"), i, s) {
			if (json) {
				out = json_pack("{s:O,s:O,s:O,s:O}",
				    "email", json_object_get(s, "email"),
				    "name", json_object_get(s, "name"),
				    "status", json_object_get(s, "status"),
				    "fields", json_object_get(s, "fields"));
				/* the language they read, null for none */
				json_object_set(out, "lang", json_object_get(s,
				    "lang") ? json_object_get(s, "lang") :
				    json_null());
				txt = json_dumps(out, JSON_COMPACT |
				    JSON_PRESERVE_ORDER);
				printf("%s\n  %s", first ? "" : ",", txt);
				free(txt);
				json_decref(out);
				first = 0;
			} else
				printf("%s\t%s\t%s\n",
				    json_string_value(json_object_get(s,
				    "email")),
				    json_string_value(json_object_get(s,
				    "name")),
				    json_string_value(json_object_get(s,
				    "status")));
		}
		if (!json_is_integer(json_object_get(j, "next"))) {
			json_decref(j);
			break;
		}
		after = json_integer_value(json_object_get(j, "next"));
		json_decref(j);
	}
	if (json)
		printf("%s]\n", first ? "" : "\n");
	return 0;
}

static int
cmd_sub_count(int argc, char **argv)
{
	json_t	*j;
	long	 code;
	int	 json = has_flag(&argc, argv, "--json");

	if (argc != 0)
		return cli_bad_usage();
	j = cli_call("GET", "subscribers/count", NULL, 0, &code);
	cli_check(j, code, EXIT_SOFTWARE);
	if (json)
		print_json(j);
	else
		printf("%" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(json_object_get(j, "active")));
	json_decref(j);
	return 0;
}

/* Relays out while a broadcast sends through the others. */
static void
status_print_relays(json_t *out)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(out, i, r)
		printf("%-6s relay %s %s: %s\n", "",
		    json_string_value(json_object_get(r, "relay")),
		    json_string_value(json_object_get(r, "state")),
		    json_string_value(json_object_get(r, "reason")));
}

/* On a shared store: each node's share of the broadcast. */
/* A statement in several languages: its recipients by version. */
static void
status_print_langs(json_t *langs)
{
	const char	*k;
	json_t		*v;
	int		 first = 1;

	if (json_object_size(langs) < 2)
		return;
	printf("%-6s languages:", "");
	json_object_foreach(langs, k, v) {
		printf("%s %s %" JSON_INTEGER_FORMAT, first ? "" : ",", k,
		    json_integer_value(v));
		first = 0;
	}
	printf("\n");
}

static void
status_print_nodes(json_t *nodes)
{
	json_t		*n;
	json_int_t	 seen, age;
	size_t		 i;

	json_array_foreach(nodes, i, n) {
		seen = json_integer_value(json_object_get(n, "last_seen"));
		age = seen > 0 ? (json_int_t)time(NULL) - seen : -1;
		printf("%-6s node %s: %" JSON_INTEGER_FORMAT " sent, %"
		    JSON_INTEGER_FORMAT " in flight", "",
		    json_string_value(json_object_get(n, "node")),
		    json_integer_value(json_object_get(n, "sent")),
		    json_integer_value(json_object_get(n, "in_flight")));
		if (age >= 0)
			printf(", seen %" JSON_INTEGER_FORMAT " s ago\n",
			    age);
		else
			printf("\n");
	}
}

static void
status_print(json_t *b)
{
	printf("%-6" JSON_INTEGER_FORMAT " %-10s %8" JSON_INTEGER_FORMAT
	    " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %8"
	    JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %8"
	    JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %7.1f  %s\n",
	    json_integer_value(json_object_get(b, "id")),
	    json_string_value(json_object_get(b, "state")),
	    json_integer_value(json_object_get(b, "total")),
	    json_integer_value(json_object_get(b, "sent")),
	    json_integer_value(json_object_get(b, "pending")),
	    json_integer_value(json_object_get(b, "deferred")),
	    json_integer_value(json_object_get(b, "failed")),
	    json_integer_value(json_object_get(b, "bounced")),
	    json_integer_value(json_object_get(b, "complained")),
	    json_number_value(json_object_get(b, "rate")),
	    json_string_value(json_object_get(b, "title")));
	if (json_is_string(json_object_get(b, "reason")))
		printf("%-6s %s\n", "", json_string_value(json_object_get(b,
		    "reason")));
	status_print_relays(json_object_get(b, "relays_out"));
	if (json_is_integer(json_object_get(b, "resent_from")))
		printf("%-6s resend of broadcast %" JSON_INTEGER_FORMAT "\n", "",
		    json_integer_value(json_object_get(b, "resent_from")));
	status_print_langs(json_object_get(b, "languages"));
	status_print_nodes(json_object_get(b, "nodes"));
}

static int
cmd_status(int argc, char **argv)
{
	json_t	*j, *b;
	char	 path[64], *end;
	size_t	 i;
	long	 code;
	int	 json = has_flag(&argc, argv, "--json");
	int	 watch = has_flag(&argc, argv, "--watch");

	if (argc > 1)
		return cli_bad_usage();
	if (watch) {
		json_int_t id = 0;

		if (argc == 1 && (strtoll(argv[0], &end, 10) <= 0 ||
		    *end != '\0'))
			cli_die(EXIT_USAGE, "%s: not a broadcast ID", argv[0]);
		if (argc == 1)
			id = strtoll(argv[0], NULL, 10);
		else {
			j = cli_call("GET", "status", NULL, 0, &code);
			cli_check(j, code, EXIT_SOFTWARE);
			if (json_array_size(j) == 0)
				cli_die(EXIT_DATAERR, "no broadcasts yet");
			id = json_integer_value(json_object_get(
			    json_array_get(j, 0), "id"));
			json_decref(j);
		}
		return follow(id, 0);
	}
	if (argc == 1) {
		if (strtoll(argv[0], &end, 10) <= 0 || *end != '\0')
			cli_die(EXIT_USAGE, "%s: not a broadcast ID", argv[0]);
		snprintf(path, sizeof(path), "status/%s", argv[0]);
	} else
		snprintf(path, sizeof(path), "status");
	j = cli_call("GET", path, NULL, 0, &code);
	cli_check(j, code, code == 404 ? EXIT_DATAERR : EXIT_SOFTWARE);
	if (json)
		print_json(j);
	else {
		printf("%-6s %-10s %8s %8s %8s %8s %8s %8s %10s %7s  %s\n",
		    "ID", "STATE", "TOTAL", "SENT", "PENDING", "DEFERRED",
		    "FAILED", "BOUNCED", "COMPLAINED", "RATE", "TITLE");
		if (json_is_array(j))
			json_array_foreach(j, i, b)
				status_print(b);
		else
			status_print(j);
	}
	json_decref(j);
	return 0;
}

/*
 * `broadside bounce [RECIPIENT]`: one returned message on stdin, as the
 * MTA's pipe delivers it.  Parsed here, in this short-lived process, so
 * hostile MIME never reaches the daemon; the daemon gets a kind and the
 * identifiers, and alone verifies them.  Exit 0 when the daemon recorded
 * it or anything was ignored (garbage, an auto-reply, a delay notice, a
 * forged token: any other code makes the MTA bounce the bounce), 75 when
 * the daemon is out of reach or did not record it, so the MTA keeps the
 * message and tries again.
 */
static int
bounce_ignored(const char *why)
{
	printf("ignored: %s\n", why);
	return 0;
}

/* The unsubscribe token in a List-Unsubscribe header's URL, or "". */
static void
bounce_unsub_token(const char *h, char *out, size_t outlen)
{
	const char	*p = h;
	size_t		 n;

	out[0] = '\0';
	while ((p = strstr(p, "t=")) != NULL) {
		if (p > h && (p[-1] == '?' || p[-1] == '&')) {
			p += 2;
			n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
			    "opqrstuvwxyz0123456789-_");
			if (n > 0 && n < outlen) {
				memcpy(out, p, n);
				out[n] = '\0';
			}
			return;
		}
		p += 2;
	}
}

static int
cmd_bounce(int argc, char **argv)
{
	static struct bounce_report	 r;
	const char			*kind = NULL, *status = "", *at;
	char				*msg, verp[128], unsub[128], chunk[65536];
	size_t				 len = 0, n, i;
	json_t				*req, *j;
	long				 code;
	int				 over = 0;

	if (argc > 1)
		return cli_bad_usage();
	/* the MTA is waiting: every failure to reach the daemon is 75 */
	cli.unavail_exit = EXIT_TEMPFAIL;
	msg = xmalloc(BOUNCE_MAX + 1);
	while ((n = fread(over ? chunk : msg + len, 1, over ? sizeof(chunk) :
	    BOUNCE_MAX + 1 - len, stdin)) > 0)
		if (!over && (len += n) > BOUNCE_MAX)
			over = 1;	/* read the rest, keep nothing of it */
	if (ferror(stdin))
		cli_die(EXIT_TEMPFAIL, "stdin: %s", strerror(errno));
	if (over) {
		free(msg);
		return bounce_ignored("over 1 MiB, not read");
	}
	bounce_parse(msg, len, &r);
	free(msg);
	if (r.type == BOUNCE_DSN) {
		for (i = 0; i < r.nrcpt; i++)
			if (r.rcpt[i].kind == BOUNCE_HARD || (r.rcpt[i].kind ==
			    BOUNCE_SOFT && kind == NULL)) {
				kind = r.rcpt[i].kind == BOUNCE_HARD ? "hard" :
				    "soft";
				status = r.rcpt[i].status;
			}
		if (kind == NULL)
			return bounce_ignored(r.nrcpt > 0 && r.rcpt[0].kind ==
			    BOUNCE_DELAYED ? "a delay notice: nothing to do" :
			    "a report of no failure");
	} else if (r.type == BOUNCE_ARF) {
		if (strcmp(r.feedback_type, "abuse") != 0)
			return bounce_ignored("a feedback report other than "
			    "abuse");
		kind = "complaint";
	} else
		return bounce_ignored(r.type == BOUNCE_AUTOREPLY ?
		    "an auto-reply" : "neither a delivery status "
		    "notification nor a complaint");

	/* the envelope recipient, b-TOKEN@bounce.domain (Postfix's
	 * ${recipient}); another address names nothing */
	verp[0] = '\0';
	if (argc == 1 && strncasecmp(argv[0], "b-", 2) == 0 &&
	    (at = strrchr(argv[0], '@')) != NULL &&
	    (size_t)(at - argv[0] - 2) < sizeof(verp)) {
		memcpy(verp, argv[0] + 2, (size_t)(at - argv[0] - 2));
		verp[at - argv[0] - 2] = '\0';
	}
	bounce_unsub_token(r.list_unsubscribe, unsub, sizeof(unsub));
	if (verp[0] == '\0' && r.message_id[0] == '\0' && unsub[0] == '\0')
		return bounce_ignored("no envelope token, Message-ID or "
		    "List-Unsubscribe token to know the recipient by");
	req = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "kind", kind,
	    "verp", verp[0] ? verp : NULL,
	    "message_id", r.message_id[0] ? r.message_id : NULL,
	    "unsubscribe_token", unsub[0] ? unsub : NULL,
	    "status", status[0] ? status : NULL);
	if (req == NULL)	/* not UTF-8: no token of ours either */
		return bounce_ignored("identifiers that are not text");
	j = cli_call_json("POST", "bounces", req, &code);
	if (code != 200) {
		const char *e = json_string_value(json_object_get(j, "error"));

		fprintf(stderr, "broadside: bounce not recorded (HTTP %ld): "
		    "%s\n", code, e ? e : "no reason given");
		json_decref(j);
		return EXIT_TEMPFAIL;
	}
	printf("%s: %s (%s", json_string_value(json_object_get(j, "result")),
	    json_string_value(json_object_get(j, "reason")), kind);
	if (json_is_integer(json_object_get(j, "subscriber")))
		printf(", broadcast %" JSON_INTEGER_FORMAT ", subscriber %"
		    JSON_INTEGER_FORMAT ", via %s", json_integer_value(
		    json_object_get(j, "broadcast")), json_integer_value(
		    json_object_get(j, "subscriber")), json_string_value(
		    json_object_get(j, "via")));
	printf(")\n");
	json_decref(j);
	return 0;
}

/* Take "--opt VALUE" out of argv; NULL when absent. */
static const char *
take_opt(int *argc, char **argv, const char *opt)
{
	const char	*v = NULL;
	int		 i;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], opt) != 0)
			continue;
		if (i + 1 >= *argc)
			cli_die(EXIT_USAGE, "%s needs a value", opt);
		v = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 1) *
		    sizeof(argv[0]));
		*argc -= 2;
		return v;
	}
	return v;
}

static int
is_markdown(const char *path)
{
	size_t	n = strlen(path);

	return n > 3 && strcmp(path + n - 3, ".md") == 0;
}

/* Read and check a statement file: exit 66 if missing, 65 if bad. */
static char *
read_statement(const char *path, struct statement *st, size_t *lenp)
{
	char	 err[512], *data;
	size_t	 len;

	if (read_file(path, &data, &len, STATEMENT_MAX, err, sizeof(err))
	    == -1)
		cli_die(errno == ENOENT ? EXIT_NOINPUT : EXIT_DATAERR, "%s",
		    err);
	if (statement_parse(data, len, is_markdown(path), st, err,
	    sizeof(err)) == -1)
		cli_die(EXIT_DATAERR, "%s: %s", path, err);
	*lenp = len;
	return data;
}

/* A statement file of a folder, and whether it names its language. */
struct stmt_file {
	char	*path;
	int	 named;		/* a .LANG. part or a Language: line */
};

/* The one that names no language first (the default), then by name. */
static int
stmt_file_cmp(const void *a, const void *b)
{
	const struct stmt_file	*x = a, *y = b;

	if (x->named != y->named)
		return x->named - y->named;
	return strcmp(x->path, y->path);
}

static int
stmt_named(const char *path)
{
	struct statement	 st;
	char			 t[LANG_MAX], err[256], *data;
	size_t			 len;
	int			 named;

	if (lang_from_name(strrchr(path, '/') + 1, t, sizeof(t)) == 1)
		return 1;
	if (read_file(path, &data, &len, STATEMENT_MAX, err, sizeof(err)) ==
	    -1)
		return 0;	/* read_statement says why, later */
	named = 0;
	if (statement_parse(data, len, is_markdown(path), &st, err,
	    sizeof(err)) == 0) {
		named = st.lang != NULL;
		statement_free(&st);
	}
	free(data);
	return named;
}

/*
 * The files of a statement in several languages: those named (the first
 * is the default language), or a folder's .txt and .md files, the one
 * without a .LANG. part first, then by name.  *paths to free (its
 * strings too when *owned).
 */
static size_t
stmt_files(int argc, char **argv, char ***paths, int *owned)
{
	struct stat	 sb;
	struct dirent	*de;
	struct stmt_file *f = NULL;
	DIR		*d;
	char		**v, *p;
	size_t		 n = 0, l, i;

	*owned = 0;
	if (argc != 1 || stat(argv[0], &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		v = xcalloc((size_t)argc, sizeof(*v));
		for (n = 0; n < (size_t)argc; n++)
			v[n] = argv[n];
		*paths = v;
		return n;
	}
	if ((d = opendir(argv[0])) == NULL)
		cli_die(EXIT_NOINPUT, "%s: %s", argv[0], strerror(errno));
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || !((l > 4 &&
		    strcmp(de->d_name + l - 4, ".txt") == 0) || (l > 3 &&
		    strcmp(de->d_name + l - 3, ".md") == 0)))
			continue;
		if (asprintf(&p, "%s/%s", argv[0], de->d_name) == -1)
			cli_die(EXIT_SOFTWARE, "out of memory");
		if (stat(p, &sb) == -1 || !S_ISREG(sb.st_mode)) {
			free(p);
			continue;
		}
		f = xrealloc(f, (n + 1) * sizeof(*f));
		f[n].path = p;
		f[n++].named = stmt_named(p);
	}
	closedir(d);
	if (n == 0)
		cli_die(EXIT_NOINPUT, "%s: no statement (.txt or .md file) in "
		    "this folder", argv[0]);
	qsort(f, n, sizeof(*f), stmt_file_cmp);
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = f[i].path;
	free(f);
	*owned = 1;
	*paths = v;
	return n;
}

static void
stmt_files_free(char **paths, size_t n, int owned)
{
	size_t	i;

	for (i = 0; owned && i < n; i++)
		free(paths[i]);
	free(paths);
}

/* A file's language, as the daemon takes it: its name's .LANG. part,
 * else its Language: line, else site.language. */
static void
stmt_lang(const char *path, const struct statement *st, char *tag,
    size_t len)
{
	const char	*base = strrchr(path, '/') ? strrchr(path, '/') + 1 :
			    path;

	if (lang_from_name(base, tag, len) == 1)
		return;
	snprintf(tag, len, "%s", st->lang != NULL ? st->lang :
	    cli.conf != NULL && cli.conf->site_language != NULL ?
	    cli.conf->site_language : "en");
}

/* Why a broadcast is waiting or paused ("" when it is not). */
static const char *
bc_reason(json_t *b)
{
	const char	*r = json_string_value(json_object_get(b, "reason"));

	return r != NULL ? r : "";
}

/*
 * One line of progress: a bar on a TTY, plain text otherwise.  While the
 * broadcast waits (the relay is down) the reason stands in for the ETA.
 */
static void
progress_show(json_t *b, int tty, double started)
{
	json_int_t	 total, sent, failed, deferred, pending, done;
	double		 rate, eta, pct;
	const char	*reason = bc_reason(b);
	char		 bar[31];

	total = json_integer_value(json_object_get(b, "total"));
	sent = json_integer_value(json_object_get(b, "sent"));
	failed = json_integer_value(json_object_get(b, "failed"));
	deferred = json_integer_value(json_object_get(b, "deferred"));
	pending = json_integer_value(json_object_get(b, "pending"));
	rate = json_number_value(json_object_get(b, "rate"));
	done = sent + failed;
	pct = total > 0 ? 100.0 * (double)done / (double)total : 100.0;
	if (rate <= 0 && done > 0 && now_mono() > started + 1)
		rate = 0;
	eta = rate > 0 ? (double)(pending + deferred) / rate : -1;
	if (tty) {
		progress_bar(bar, pct);
		fprintf(stderr, "\r[%s] %3.0f%% sent %" JSON_INTEGER_FORMAT "/%"
		    JSON_INTEGER_FORMAT "  deferred %" JSON_INTEGER_FORMAT
		    "  failed %" JSON_INTEGER_FORMAT "  %.1f msg/s", bar, pct,
		    sent, total, deferred, failed, rate);
		if (*reason != '\0')
			fprintf(stderr, "  %.100s", reason);
		else if (eta >= 0)
			fprintf(stderr, "  ETA %d:%02d", (int)eta / 60,
			    (int)eta % 60);
		fprintf(stderr, "\033[K");
		cli.bar_on = 1;
	} else {
		fprintf(stderr, "broadcast %" JSON_INTEGER_FORMAT ": %s sent=%"
		    JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " pending=%"
		    JSON_INTEGER_FORMAT " deferred=%" JSON_INTEGER_FORMAT
		    " failed=%" JSON_INTEGER_FORMAT " rate=%.1f",
		    json_integer_value(json_object_get(b, "id")),
		    json_string_value(json_object_get(b, "state")), sent, total,
		    pending, deferred, failed, rate);
		if (*reason != '\0')
			fprintf(stderr, " (%s)", reason);
		fprintf(stderr, "\n");
	}
	fflush(stderr);
}

/*
 * Follow a broadcast until nothing is pending or deferred (or it is
 * cancelled, or paused).  Returns 0 if everyone got it, 75 otherwise.
 * A broadcast that is only waiting (the relay is down, delivery backs
 * off) is followed on; a paused one (by `broadside pause` or by a relay
 * that refuses for good) will not move by itself: say why and end.
 */
static int
follow(json_int_t id, int until_done)
{
	json_t		*b;
	char		 path[64], last[512] = "", now[512];
	double		 started = now_mono(), last_print = 0;
	const char	*state;
	long		 code;
	int		 tty = isatty(STDERR_FILENO), ret, paused = 0;

	snprintf(path, sizeof(path), "status/%" JSON_INTEGER_FORMAT, id);
	for (;;) {
		b = cli_call("GET", path, NULL, 0, &code);
		cli_check(b, code, code == 404 ? EXIT_DATAERR : EXIT_SOFTWARE);
		state = json_string_value(json_object_get(b, "state"));
		if (state == NULL)
			state = "";
		snprintf(now, sizeof(now), "%s %" JSON_INTEGER_FORMAT " %"
		    JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT " %s", state,
		    json_integer_value(json_object_get(b, "sent")),
		    json_integer_value(json_object_get(b, "deferred")),
		    json_integer_value(json_object_get(b, "failed")),
		    bc_reason(b));
		if (tty || (strcmp(now, last) != 0 &&
		    now_mono() - last_print >= 1.0)) {
			progress_show(b, tty, started);
			snprintf(last, sizeof(last), "%s", now);
			last_print = now_mono();
		}
		if ((json_integer_value(json_object_get(b, "pending")) == 0 &&
		    json_integer_value(json_object_get(b, "deferred")) == 0) ||
		    strcmp(state, "cancelled") == 0 ||
		    (!until_done && strcmp(state, "done") == 0))
			break;
		if (strcmp(state, "paused") == 0) {
			paused = 1;
			break;
		}
		json_decref(b);
		usleep(tty ? 200000 : 500000);
	}
	if (tty)
		fprintf(stderr, "\n");
	cli.bar_on = 0;
	if (!tty && strcmp(now, last) != 0)
		progress_show(b, 0, started);
	if (paused)
		fprintf(stderr, "broadside: broadcast %" JSON_INTEGER_FORMAT
		    " paused: %s; `broadside resume %" JSON_INTEGER_FORMAT
		    "` carries on\n", id, *bc_reason(b) != '\0' ? bc_reason(b) :
		    "no reason given", id);
	ret = paused ||
	    json_integer_value(json_object_get(b, "failed")) > 0 ||
	    json_integer_value(json_object_get(b, "deferred")) > 0 ||
	    json_integer_value(json_object_get(b, "pending")) > 0 ?
	    EXIT_TEMPFAIL : 0;
	json_decref(b);
	return ret;
}

static int
cmd_send(int argc, char **argv)
{
	struct statement	 st;
	const char		*subject, *t, *base;
	json_t			*req, *tests, *j, *r, *trs;
	char			*data, **paths;
	size_t			 len, i, npaths;
	long			 code;
	int			 wait, ret = 0, owned;

	wait = has_flag(&argc, argv, "--wait");
	subject = take_opt(&argc, argv, "--subject");
	tests = json_array();
	while ((t = take_opt(&argc, argv, "--test")) != NULL)
		json_array_append_new(tests, json_string(t));
	if (argc < 1) {
		json_decref(tests);
		return cli_bad_usage();
	}
	if (subject != NULL && (!utf8_valid(subject, strlen(subject)) ||
	    !text_header_safe(subject, strlen(subject))))
		cli_die(EXIT_DATAERR, "--subject: control character or invalid "
		    "UTF-8");
	/* the first file is the default language, the others its
	 * translations (the daemon says which language each is in) */
	npaths = stmt_files(argc, argv, &paths, &owned);
	trs = json_array();
	req = NULL;
	for (i = 0; i < npaths; i++) {
		data = read_statement(paths[i], &st, &len);
		statement_free(&st);
		base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 :
		    paths[i];
		r = json_pack("{s:s%,s:s,s:b}", "source", data, len,
		    "filename", base, "markdown", is_markdown(paths[i]));
		free(data);
		if (r == NULL)
			cli_die(EXIT_DATAERR, "%s: cannot encode", paths[i]);
		if (i == 0)
			req = r;
		else
			json_array_append_new(trs, r);
	}
	stmt_files_free(paths, npaths, owned);
	if (json_array_size(trs) > 0)
		json_object_set(req, "translations", trs);
	json_decref(trs);
	if (subject != NULL)
		json_object_set_new(req, "subject", json_string(subject));
	if (json_array_size(tests) > 0)
		json_object_set(req, "test", tests);
	j = cli_call_json("POST", "broadcasts", req, &code);
	cli_check(j, code, code == 400 ? EXIT_DATAERR : EXIT_SOFTWARE);
	if (json_array_size(tests) > 0) {
		json_array_foreach(json_object_get(j, "results"), i, r) {
			printf("%s: %s %" JSON_INTEGER_FORMAT " %s\n",
			    json_string_value(json_object_get(r, "email")),
			    json_string_value(json_object_get(r, "result")),
			    json_integer_value(json_object_get(r, "code")),
			    json_string_value(json_object_get(r, "message")));
			if (strcmp(json_string_value(json_object_get(r,
			    "result")), "ok") != 0)
				ret = EXIT_TEMPFAIL;
		}
		json_decref(tests);
		json_decref(j);
		return ret;
	}
	json_decref(tests);
	printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(
	    json_object_get(j, "id")));
	fflush(stdout);
	if (wait)
		ret = follow(json_integer_value(json_object_get(j, "id")), 1);
	json_decref(j);
	return ret;
}

static int
cmd_broadcast_verb(int argc, char **argv, const char *verb)
{
	json_t	*j;
	char	 path[96], *end;
	long	 code;

	if (argc != 1)
		return cli_bad_usage();
	if (strtoll(argv[0], &end, 10) <= 0 || *end != '\0')
		cli_die(EXIT_USAGE, "%s: not a broadcast ID", argv[0]);
	snprintf(path, sizeof(path), "broadcasts/%s/%s", argv[0], verb);
	j = cli_call("POST", path, NULL, 0, &code);
	cli_check(j, code, code == 404 || code == 409 ? EXIT_DATAERR :
	    EXIT_SOFTWARE);
	printf("broadcast %s: %s\n", argv[0],
	    json_string_value(json_object_get(j, "state")));
	json_decref(j);
	return 0;
}

/*
 * `broadside resend ID [--failed] [--deferred]`: a new broadcast of ID's
 * statement to its recipients whose delivery failed or was deferred (no
 * flag: both) and who are still active.  Prints the new ID, as send.
 */
static int
cmd_resend(int argc, char **argv)
{
	json_t	*req, *j;
	char	 path[96], *end;
	long	 code;
	int	 failed = has_flag(&argc, argv, "--failed");
	int	 deferred = has_flag(&argc, argv, "--deferred");

	if (argc != 1)
		return cli_bad_usage();
	if (strtoll(argv[0], &end, 10) <= 0 || *end != '\0')
		cli_die(EXIT_USAGE, "%s: not a broadcast ID", argv[0]);
	if (!failed && !deferred)
		failed = deferred = 1;
	snprintf(path, sizeof(path), "broadcasts/%s/resend", argv[0]);
	req = json_pack("{s:b,s:b}", "failed", failed, "deferred", deferred);
	j = cli_call_json("POST", path, req, &code);
	cli_check(j, code, code == 404 || code == 409 ? EXIT_DATAERR :
	    EXIT_SOFTWARE);
	printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(
	    json_object_get(j, "id")));
	fprintf(stderr, "broadside: broadcast %" JSON_INTEGER_FORMAT ": "
	    "resend of broadcast %s to %" JSON_INTEGER_FORMAT " recipients\n",
	    json_integer_value(json_object_get(j, "id")), argv[0],
	    json_integer_value(json_object_get(j, "total")));
	json_decref(j);
	return 0;
}

static int cmd_pause(int argc, char **argv)
{ return cmd_broadcast_verb(argc, argv, "pause"); }
static int cmd_resume(int argc, char **argv)
{ return cmd_broadcast_verb(argc, argv, "resume"); }
static int cmd_cancel(int argc, char **argv)
{ return cmd_broadcast_verb(argc, argv, "cancel"); }

/* The HMAC key if readable; a throwaway one otherwise (offline preview). */
static void
preview_key(unsigned char *key, size_t *keylen)
{
	FILE	*f;
	size_t	 n = 0, i;

	if ((f = fopen(cli.conf->secret_file, "rb")) != NULL) {
		n = fread(key, 1, 64, f);
		fclose(f);
	}
	if (n >= 16) {
		*keylen = n;
		return;
	}
	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)random();
	*keylen = 32;
}

static int
cmd_preview(int argc, char **argv)
{
	struct render_params	 p;
	struct render_rcpt	 rc;
	struct render_doc	 doc;
	struct statement	 st;
	struct render		*r;
	struct buf		 out = BUF_INIT;
	const char		*part, *to, *want, *langs[64];
	unsigned char		 key[64];
	char			 err[1024], addr[ADDR_BUFSZ], *data, **paths;
	char			 tags[64][LANG_MAX], wtag[LANG_MAX];
	size_t			 len, keylen, npaths, i;
	int			 owned, pick = 0;

	part = take_opt(&argc, argv, "--part");
	to = take_opt(&argc, argv, "--to");
	want = take_opt(&argc, argv, "--lang");
	if (argc < 1)
		return cli_bad_usage();
	if (part == NULL)
		part = "text";
	if (strcmp(part, "text") && strcmp(part, "html") &&
	    strcmp(part, "mime") && strcmp(part, "rss"))
		cli_die(EXIT_USAGE, "--part: %s is not text, html, mime or rss",
		    part);
	cli_load_config();
	if (to == NULL)
		to = "subscriber@example.org";
	if (addr_normalize(to, addr, sizeof(addr), err, sizeof(err)) == -1)
		cli_die(EXIT_DATAERR, "--to %s: %s", to, err);
	if (want != NULL && lang_norm(want, wtag, sizeof(wtag)) == -1)
		cli_die(EXIT_USAGE, "--lang: \"%s\" is not a language tag "
		    "(es, pt-BR, ar...)", want);
	/* the version a subscriber in --lang gets: theirs, else their base
	 * language's, else the default (the first file) */
	npaths = stmt_files(argc, argv, &paths, &owned);
	if (npaths > 64)
		cli_die(EXIT_USAGE, "more than 64 languages");
	for (i = 0; i < npaths; i++) {
		data = read_statement(paths[i], &st, &len);
		stmt_lang(paths[i], &st, tags[i], sizeof(tags[i]));
		langs[i] = tags[i];
		statement_free(&st);
		free(data);
	}
	if (want != NULL && (pick = lang_pick(wtag, langs, npaths)) < 0)
		pick = 0;
	data = read_statement(paths[pick], &st, &len);
	memset(&p, 0, sizeof(p));
	config_site(cli.conf, &p.site);
	p.lang = tags[pick];
	p.url_lang = pick > 0 ? tags[pick] : NULL;
	p.site.lang = tags[pick];
	if (strcmp(part, "rss") == 0) {
		render_doc_from_statement(&doc, &st, 0, time(NULL));
		if (render_feed(&p.site, &doc, 1, (size_t)cli.conf->feed_items,
		    time(NULL), &out, err, sizeof(err)) == -1)
			cli_die(EXIT_CONFIG, "%s", err);
	} else {
		preview_key(key, &keylen);
		p.st = &st;
		p.key = key;
		p.keylen = keylen;
		if ((r = render_new(&p, err, sizeof(err))) == NULL)
			cli_die(EXIT_CONFIG, "%s", err);
		memset(&rc, 0, sizeof(rc));
		rc.id = 1;
		rc.email = addr;
		rc.name = "";
		if (render_part(r, &rc, part, &out, err, sizeof(err)) == -1)
			cli_die(EXIT_DATAERR, "%s", err);
		render_free(r);
	}
	fwrite(out.p, 1, out.len, stdout);
	buf_free(&out);
	statement_free(&st);
	free(data);
	stmt_files_free(paths, npaths, owned);
	return 0;
}

static int
cmd_feed(int argc, char **argv)
{
	json_t	*j;
	long	 code;

	(void)argv;
	if (argc != 0)
		return cli_bad_usage();
	j = cli_call("GET", "feed", NULL, 0, &code);
	cli_check(j, code, EXIT_SOFTWARE);
	fputs(json_string_value(json_object_get(j, "xml")), stdout);
	json_decref(j);
	return 0;
}

static int
cmd_reload(int argc, char **argv)
{
	json_t	*j;
	long	 code;

	(void)argv;
	if (argc != 0)
		return cli_bad_usage();
	j = cli_call("POST", "reload", NULL, 0, &code);
	cli_check(j, code, code == 409 ? EXIT_CONFIG : EXIT_SOFTWARE);
	printf("reloaded\n");
	json_decref(j);
	return 0;
}

static int
migrate_report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "broadside: %s\n", msg);
	return 0;
}

static void
migrate_progress(const char *table, int64_t rows, int done, void *arg)
{
	(void)arg;
	if (done)
		printf("%s: %" PRId64 " copied\n", table, rows);
	else
		fprintf(stderr, "broadside: %s: %" PRId64 " so far\n", table,
		    rows);
	fflush(done ? stdout : stderr);
}

/*
 * store migrate --from sqlite:PATH: the SQLite store at PATH copied
 * into the (new, empty) PostgreSQL store of storage.url.  Both stores
 * are opened as the daemon opens them (schemas made or brought up to
 * date, the SQLite one locked against a daemon), as node
 * "broadside-migrate", with the secret's fingerprint, so that the nodes
 * that follow hold the same secret file.
 */
static int
cmd_store_migrate(int argc, char **argv)
{
	struct store_opts	 o;
	struct store		*src, *dst;
	struct config		*conf;
	struct stat		 sb;
	const char		*from, *path;
	unsigned char		 key[64];
	char			 err[1024], fp[TOKEN_SIZE];
	int			 keylen;

	from = take_opt(&argc, argv, "--from");
	if (argc != 0 || from == NULL || strncmp(from, "sqlite:", 7) != 0 ||
	    from[7] == '\0')
		return cli_bad_usage();
	path = from + 7;
	/* with the secrets: storage.password_file, the secret's key */
	if ((conf = config_load(cli.config_path, 0, migrate_report, NULL))
	    == NULL)
		return EXIT_CONFIG;
	if (strncmp(conf->storage_path, "postgresql://", 13) != 0 &&
	    strncmp(conf->storage_path, "postgres://", 11) != 0)
		cli_die(EXIT_CONFIG, "%s: storage.url is not a PostgreSQL URL: "
		    "migrate copies into the PostgreSQL store it names",
		    cli.config_path);
	if (stat(path, &sb) == -1)
		cli_die(EXIT_NOINPUT, "%s: %s", path, strerror(errno));
	if ((keylen = config_read_secret(conf, key, sizeof(key), err,
	    sizeof(err))) == -1)
		cli_die(EXIT_CONFIG, "secret_file: %s", err);
	memset(&o, 0, sizeof(o));
	o.node = "broadside-migrate";
	o.password = conf->storage_password;
	o.secret_fp = token_make(key, (size_t)keylen, "store-secret", 0, fp,
	    sizeof(fp)) == 0 ? fp : NULL;
	explicit_bzero(key, sizeof(key));
	if ((src = store_open(path, err, sizeof(err))) == NULL)
		cli_die(strstr(err, "in use") ? EXIT_TEMPFAIL : EXIT_DATAERR,
		    "%s", err);
	if ((dst = store_open_opts(conf->storage_path, &o, err,
	    sizeof(err))) == NULL) {
		store_close(src);
		cli_die(EXIT_UNAVAIL, "%s", err);
	}
	if (store_copy_sqlite_pg(path, conf->storage_path,
	    conf->storage_password, migrate_progress, NULL, err,
	    sizeof(err)) == -1) {
		store_close(dst);
		store_close(src);
		cli_die(strstr(err, "already holds") ? EXIT_DATAERR :
		    EXIT_UNAVAIL, "%s", err);
	}
	store_close(dst);
	store_close(src);
	config_free(conf);
	printf("migrated %s into storage.url\n", path);
	return 0;
}

static const struct cli_cmd cli_cmds[] = {
	{ "subscribers", "add", cmd_sub_add,
	    "subscribers add ADDR [NAME] [--lang TAG]",
	    "add or update one subscriber",
	    "--lang TAG   the language they read (es, pt-BR, ar...): they get\n"
	    "             statements in it, else in its base language, else\n"
	    "             in the default\n"
	    "An address that has unsubscribed or bounced is not re-activated.\n"
	    "Exit 65 for an invalid address, name or language." },
	{ "subscribers", "remove", cmd_sub_remove, "subscribers remove ADDR",
	    "unsubscribe an address (it stays suppressed)",
	    "Mail not yet handed to the SMTP server is stopped at once.\n"
	    "Exit 65 if ADDR is not subscribed." },
	{ "subscribers", "reactivate", cmd_sub_reactivate,
	    "subscribers reactivate ADDR | --bounced-by ID",
	    "undo a mistaken bounce (never an unsubscribe)",
	    "ADDR               make a bounced address active again\n"
	    "--bounced-by ID    every address broadcast ID bounced\n"
	    "Prints how many were reactivated.  Exit 65 for an unknown or\n"
	    "unsubscribed address or an unknown broadcast." },
	{ "subscribers", "import", cmd_sub_import,
	    "subscribers import FILE|-",
	    "import a CSV list (header row, email column required)",
	    "FILE is UTF-8 CSV (RFC 4180); - reads standard input.  Bad rows\n"
	    "are printed as FILE:LINE: reason and skipped (exit 65); the rest\n"
	    "is imported.  Unsubscribed and bounced addresses stay so." },
	{ "subscribers", "list", cmd_sub_list, "subscribers list [--json]",
	    "list every subscriber with its status",
	    "--json    an array of {email, name, status, fields}" },
	{ "subscribers", "count", cmd_sub_count, "subscribers count [--json]",
	    "print the number of active subscribers",
	    "--json    the number for every status" },
	{ "send", NULL, cmd_send,
	    "send FILE... [--wait] [--subject TEXT] [--test ADDR]...",
	    "broadcast a statement; prints its ID (--test: only to ADDR)",
	    "--wait           follow it until nothing is pending or deferred;\n"
	    "                 exit 75 if some were not delivered, or at once\n"
	    "                 (with the reason) if it is paused\n"
	    "--subject TEXT   the subject instead of the title (the first\n"
	    "                 file's; translations keep their titles)\n"
	    "--test ADDR      send only to ADDR (repeatable), record nothing\n"
	    "More files are translations: each file's language is the .LANG.\n"
	    "part of its name (statement.es.txt, statement.pt-BR.md), else\n"
	    "its Language: header line, else site.language; the first file\n"
	    "is the default, for subscribers without a version of their own.\n"
	    "FILE may be a folder: its .txt and .md files, the one naming no\n"
	    "language first, then by name." },
	{ "status", NULL, cmd_status, "status [ID] [--json] [--watch]",
	    "show broadcasts and their progress",
	    "--json     one object for ID, else an array\n"
	    "--watch    follow ID (else the newest) until it is done; it keeps\n"
	    "           waiting while the relay is down, and exits 75 with\n"
	    "           the reason if the broadcast is paused" },
	{ "pause", NULL, cmd_pause, "pause ID", "pause a broadcast",
	    "Messages already handed to the SMTP server stay sent." },
	{ "resume", NULL, cmd_resume, "resume ID", "resume a paused broadcast",
	    NULL },
	{ "cancel", NULL, cmd_cancel, "cancel ID",
	    "cancel a broadcast (what is sent stays sent)", NULL },
	{ "resend", NULL, cmd_resend, "resend ID [--failed] [--deferred]",
	    "send ID again to those it did not reach; prints the new ID",
	    "--failed     recipients whose delivery failed\n"
	    "--deferred   recipients still deferred (ID was cancelled)\n"
	    "Neither: both.  Only subscribers still active are taken, and\n"
	    "only from a broadcast that is done or cancelled.  The new\n"
	    "broadcast has the same statement and subject; status --json\n"
	    "shows it with resent_from.  Exit 65 if ID is unknown, still\n"
	    "queued, sending or paused, or nobody is left to resend to." },
	{ "preview", NULL, cmd_preview,
	    "preview FILE... [--lang TAG] [--part text|html|mime|rss] "
	    "[--to ADDR]",
	    "render a statement offline, without the daemon",
	    "--part PART   text (default), html, mime (the whole message) or\n"
	    "              rss (the feed item)\n"
	    "--to ADDR     render it for that recipient\n"
	    "--lang TAG    the version a subscriber in TAG gets (theirs, else\n"
	    "              their base language's, else the first file)" },
	{ "feed", NULL, cmd_feed, "feed", "print the RSS feed", NULL },
	{ "bounce", NULL, cmd_bounce, "bounce [RECIPIENT]",
	    "take one returned message (DSN or complaint) on stdin",
	    "For the MTA's pipe transport (Postfix: argv=broadside bounce\n"
	    "${recipient}).  RECIPIENT is the envelope recipient, the VERP\n"
	    "address b-TOKEN@bounce.domain; without it the returned headers'\n"
	    "Message-ID or List-Unsubscribe token name the recipient.  At most\n"
	    "1 MiB is read.  The daemon verifies the token and records it:\n"
	    "a hard bounce bounces the subscriber, soft ones from 3 broadcasts\n"
	    "do, a complaint (ARF, abuse) unsubscribes.  Prints what became of\n"
	    "it.  Exit 0 when recorded or ignored (garbage, auto-replies,\n"
	    "delay notices, forged tokens), 75 when the daemon is out of reach\n"
	    "or did not record it (the MTA keeps the message and retries)." },
	{ "store", "migrate", cmd_store_migrate,
	    "store migrate --from sqlite:PATH",
	    "copy a SQLite store into the PostgreSQL one of storage.url",
	    "Every subscriber (status, fields, language), broadcast, delivery,\n"
	    "bounce and translation of the SQLite store at PATH goes into the\n"
	    "PostgreSQL store storage.url names, in one transaction: all or\n"
	    "nothing.  Stop the daemon using PATH first (exit 75 while it\n"
	    "runs).  The PostgreSQL store must be new: exit 65 if it holds\n"
	    "subscribers or broadcasts already; 69 if it cannot be reached.\n"
	    "A broadcast that was sending goes on where it stopped once a\n"
	    "node starts on PostgreSQL." },
	{ "reload", NULL, cmd_reload, "reload",
	    "re-read config, templates and the subscriber file",
	    "Exit 78 if the daemon refuses the new config (it keeps the old)." },
};
#define NCMDS	(sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static int
cli_usage(int code)
{
	FILE	*f = code ? stderr : stdout;
	size_t	 i;

	fprintf(f, "usage: broadside [-c CONFIG] COMMAND [ARGS]\n"
	    "       broadside --version | --help\n"
	    "       broadside COMMAND --help\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-34s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
	fprintf(f, "\nCONFIG defaults to $BROADSIDE_CONFIG, else %s.\n",
	    BROADSIDE_DEFAULT_CONFIG);
	return code;
}

/* One command's usage: on stdout for --help, else on stderr. */
static int
cli_cmd_usage(const struct cli_cmd *c, int code)
{
	FILE		*f = code ? stderr : stdout;
	const char	*p, *nl;

	fprintf(f, "usage: broadside %s\n  %s\n", c->usage, c->help);
	if (c->detail == NULL)
		return code;
	fprintf(f, "\n");
	for (p = c->detail; *p != '\0'; p = *nl ? nl + 1 : nl) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		fprintf(f, "  %.*s\n", (int)(nl - p), p);
	}
	return code;
}

/* The usage of a command group (subscribers): each of its commands. */
static int
cli_group_usage(const char *group, int code)
{
	FILE	*f = code ? stderr : stdout;
	size_t	 i;

	fprintf(f, "usage: broadside [-c CONFIG] %s COMMAND [ARGS]\n"
	    "       broadside %s COMMAND --help\n\ncommands:\n", group, group);
	for (i = 0; i < NCMDS; i++)
		if (cli_cmds[i].sub != NULL &&
		    strcmp(cli_cmds[i].name, group) == 0)
			fprintf(f, "  %-34s %s\n", cli_cmds[i].usage,
			    cli_cmds[i].help);
	return code;
}

/* Wrong arguments to the command being run: its usage, exit 64. */
static const struct cli_cmd	*cli_cur;

static int
cli_bad_usage(void)
{
	return cli_cmd_usage(cli_cur, EXIT_USAGE);
}

static int
cli_is_group(const char *name)
{
	size_t	i;

	for (i = 0; i < NCMDS; i++)
		if (cli_cmds[i].sub != NULL &&
		    strcmp(cli_cmds[i].name, name) == 0)
			return 1;
	return 0;
}

static int
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int
main(int argc, char *argv[])
{
	const struct cli_cmd	*c = NULL;
	size_t			 i;
	int			 ret, skip, group, k;

	cli.config_path = config_default_path();
	argv++;
	argc--;
	while (argc > 0 && argv[0][0] == '-') {
		if (strcmp(argv[0], "--version") == 0) {
			printf("broadside %s\n", BROADSIDE_VERSION);
			return 0;
		}
		if (is_help(argv[0]))
			return cli_usage(0);
		if (strcmp(argv[0], "-c") == 0 && argc > 1) {
			cli.config_path = argv[1];
			argv += 2;
			argc -= 2;
			continue;
		}
		fprintf(stderr, "broadside: unknown option %s\n", argv[0]);
		return cli_usage(EXIT_USAGE);
	}
	if (argc == 0)
		return cli_usage(EXIT_USAGE);
	if ((group = cli_is_group(argv[0]))) {
		if (argc < 2) {
			fprintf(stderr, "broadside: %s needs a command\n",
			    argv[0]);
			return cli_group_usage(argv[0], EXIT_USAGE);
		}
		if (is_help(argv[1]))
			return cli_group_usage(argv[0], 0);
	}
	for (i = 0; i < NCMDS && c == NULL; i++)
		if (strcmp(argv[0], cli_cmds[i].name) == 0 &&
		    (cli_cmds[i].sub == NULL ||
		    strcmp(argv[1], cli_cmds[i].sub) == 0))
			c = &cli_cmds[i];
	if (c == NULL && group) {
		fprintf(stderr, "broadside: unknown command \"%s %s\"\n",
		    argv[0], argv[1]);
		return cli_group_usage(argv[0], EXIT_USAGE);
	}
	if (c == NULL) {
		fprintf(stderr, "broadside: unknown command \"%s\"\n", argv[0]);
		return cli_usage(EXIT_USAGE);
	}
	skip = c->sub != NULL ? 2 : 1;
	/* COMMAND --help, wherever it stands among the command's words */
	for (k = skip; k < argc; k++)
		if (strcmp(argv[k], "--help") == 0 || (k == skip &&
		    strcmp(argv[k], "-h") == 0))
			return cli_cmd_usage(c, 0);
	cli_cur = c;
	ret = c->fn(argc - skip, argv + skip);
	cli_close();
	return ret;
}
