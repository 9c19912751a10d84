/*
 * broadside.c -- the broadside CLI: one function per command, found in a
 * table, each talking to the daemon over the control socket (cli_client.c)
 * except preview, which works offline.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broadside.h"
#include "cli.h"

#define IMPORT_CHUNK	(1024 * 1024)

struct cli_cmd {
	const char	*name;
	const char	*sub;		/* second word, or NULL */
	int		 (*fn)(int, char **);
	const char	*usage;
	const char	*help;
};

static int	cli_usage(int);

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
	json_t	*req, *j;
	long	 code;

	if (argc < 1 || argc > 2)
		return cli_usage(EXIT_USAGE);
	req = json_pack("{s:s,s:s}", "email", argv[0], "name",
	    argc == 2 ? argv[1] : "");
	if (req == NULL)
		cli_die(EXIT_DATAERR, "%s: not valid UTF-8", argv[0]);
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
		return cli_usage(EXIT_USAGE);
	j = cli_call_json("POST", "subscribers/remove",
	    json_pack("{s:s}", "email", argv[0]), &code);
	cli_check(j, code, EXIT_DATAERR);
	printf("%s: removed\n", json_string_value(json_object_get(j,
	    "email")));
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

static int
cmd_sub_import(int argc, char **argv)
{
	const char	*label;
	json_t		*j;
	char		*chunk, path[64];
	ssize_t		 n;
	int64_t		 id;
	long		 code;
	int		 fd, ret;

	if (argc != 1)
		return cli_usage(EXIT_USAGE);
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
		import_print_errors(label, j);
		if (json_object_get(j, "error") != NULL)
			cli_die(EXIT_DATAERR, "%s: %s", label,
			    json_string_value(json_object_get(j, "error")));
		json_decref(j);
	}
	free(chunk);
	if (fd != STDIN_FILENO)
		close(fd);
	snprintf(path, sizeof(path), "import/%" PRId64 "/finish", id);
	j = cli_call("POST", path, NULL, 0, &code);
	cli_check(j, code, EXIT_SOFTWARE);
	import_print_errors(label, j);
	if (json_object_get(j, "error") != NULL)
		cli_die(EXIT_DATAERR, "%s: %s", label,
		    json_string_value(json_object_get(j, "error")));
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
		return cli_usage(EXIT_USAGE);
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
		return cli_usage(EXIT_USAGE);
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

static void
status_print(json_t *b)
{
	printf("%-6" JSON_INTEGER_FORMAT " %-10s %8" JSON_INTEGER_FORMAT
	    " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %8"
	    JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %7.1f  %s\n",
	    json_integer_value(json_object_get(b, "id")),
	    json_string_value(json_object_get(b, "state")),
	    json_integer_value(json_object_get(b, "total")),
	    json_integer_value(json_object_get(b, "sent")),
	    json_integer_value(json_object_get(b, "pending")),
	    json_integer_value(json_object_get(b, "deferred")),
	    json_integer_value(json_object_get(b, "failed")),
	    json_number_value(json_object_get(b, "rate")),
	    json_string_value(json_object_get(b, "title")));
}

static int
cmd_status(int argc, char **argv)
{
	json_t	*j, *b;
	char	 path[64], *end;
	size_t	 i;
	long	 code;
	int	 json = has_flag(&argc, argv, "--json");

	if (argc > 1)
		return cli_usage(EXIT_USAGE);
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
		printf("%-6s %-10s %8s %8s %8s %8s %8s %7s  %s\n", "ID",
		    "STATE", "TOTAL", "SENT", "PENDING", "DEFERRED", "FAILED",
		    "RATE", "TITLE");
		if (json_is_array(j))
			json_array_foreach(j, i, b)
				status_print(b);
		else
			status_print(j);
	}
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
		return cli_usage(EXIT_USAGE);
	j = cli_call("POST", "reload", NULL, 0, &code);
	cli_check(j, code, code == 409 ? EXIT_CONFIG : EXIT_SOFTWARE);
	printf("reloaded\n");
	json_decref(j);
	return 0;
}

static const struct cli_cmd cli_cmds[] = {
	{ "subscribers", "add", cmd_sub_add, "subscribers add ADDR [NAME]",
	    "add or update one subscriber" },
	{ "subscribers", "remove", cmd_sub_remove, "subscribers remove ADDR",
	    "unsubscribe an address (it stays suppressed)" },
	{ "subscribers", "import", cmd_sub_import,
	    "subscribers import FILE|-",
	    "import a CSV list (header row, email column required)" },
	{ "subscribers", "list", cmd_sub_list, "subscribers list [--json]",
	    "list every subscriber with its status" },
	{ "subscribers", "count", cmd_sub_count, "subscribers count [--json]",
	    "print the number of active subscribers" },
	{ "status", NULL, cmd_status, "status [ID] [--json]",
	    "show broadcasts and their progress" },
	{ "reload", NULL, cmd_reload, "reload",
	    "re-read config, templates and the subscriber file" },
};
#define NCMDS	(sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static int
cli_usage(int code)
{
	FILE	*f = code ? stderr : stdout;
	size_t	 i;

	fprintf(f, "usage: broadside [-c CONFIG] COMMAND [ARGS]\n"
	    "       broadside --version | --help\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-34s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
	fprintf(f, "\nCONFIG defaults to $BROADSIDE_CONFIG, else %s.\n",
	    BROADSIDE_DEFAULT_CONFIG);
	return code;
}

int
main(int argc, char *argv[])
{
	size_t	i;
	int	ret, skip;

	cli.config_path = config_default_path();
	argv++;
	argc--;
	while (argc > 0 && argv[0][0] == '-') {
		if (strcmp(argv[0], "--version") == 0) {
			printf("broadside %s\n", BROADSIDE_VERSION);
			return 0;
		}
		if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h")
		    == 0)
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
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(argv[0], cli_cmds[i].name) != 0)
			continue;
		if (cli_cmds[i].sub != NULL && (argc < 2 ||
		    strcmp(argv[1], cli_cmds[i].sub) != 0))
			continue;
		skip = cli_cmds[i].sub != NULL ? 2 : 1;
		if (argc > skip && (strcmp(argv[skip], "--help") == 0)) {
			printf("usage: broadside %s\n  %s\n", cli_cmds[i].usage,
			    cli_cmds[i].help);
			return 0;
		}
		ret = cli_cmds[i].fn(argc - skip, argv + skip);
		cli_close();
		return ret;
	}
	fprintf(stderr, "broadside: unknown command \"%s\"\n", argv[0]);
	return cli_usage(EXIT_USAGE);
}
