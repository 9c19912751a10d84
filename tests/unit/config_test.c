/*
 * config_test.c -- the config loader (config.c): defaults, paths resolved
 * against the config file's folder, every type, range, unknown-key and
 * unknown-section problem reported as "file:line: message" in one pass,
 * the second-pass checks, smtp.tls derivation, list.from parsing (IDN),
 * list.base_url trimming, the SMTP password file (and no AUTH in clear
 * text to a relay off this host), the HMAC secret and the dkim section.
 *
 * Config files are written to a temporary folder under /tmp, removed at
 * the end.
 */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "broadside.h"
#include "buf.h"
#include "unit.h"

static char	 dir[] = "/tmp/config_test.XXXXXX";
static char	 realdir[256];	/* dir, symlinks resolved */

/* The three keys without a default, so a config can load at all. */
#define LIST_OK \
	"list: { from = \"Liste <list@example.org>\"; id = \"l.example.org\";\n" \
	"        base_url = \"https://lists.example.org\"; };\n"

struct msgs {
	int		 n;
	struct buf	 all;		/* one message a line */
};

static int
collect(void *arg, const char *msg)
{
	struct msgs	*m = arg;

	m->n++;
	buf_addstr(&m->all, msg);
	buf_addc(&m->all, '\n');
	return 0;
}

static const char *
msgs_text(struct msgs *m)
{
	return m->all.p != NULL ? m->all.p : "";
}

static void
msgs_reset(struct msgs *m)
{
	m->n = 0;
	buf_reset(&m->all);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		printf("write %s: %s\n", path, strerror(errno));
		return;
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* Write dir/name with text and load it; messages go to *m. */
static struct config *
load(const char *name, const char *text, int flags, struct msgs *m)
{
	char	path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	write_file(path, text, 0644);
	msgs_reset(m);
	return config_load(path, flags, collect, m);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
test_defaults(void)
{
	struct config	*c;
	struct msgs	 m = { 0 };
	char		 want[PATH_MAX + 64];

	c = load("minimal.conf", LIST_OK, 0, &m);
	CHECK("minimal loads", c != NULL);
	CHECK_INT("minimal: no messages", m.n, 0);
	if (m.n != 0)
		printf("  %s", msgs_text(&m));
	if (c == NULL)
		goto end;
	snprintf(want, sizeof(want), "%s/minimal.conf", realdir);
	CHECK_STR("file absolute", c->file, want);
	CHECK_STR("smtp.url", c->smtp_url, "smtp://127.0.0.1:25");
	CHECK_INT("smtp.tls", c->smtp_tls, SMTP_TLS_NONE);
	CHECK_INT("smtp.connections", c->smtp_connections, 4);
	CHECK_INT("smtp.timeout", c->smtp_timeout, 30);
	CHECK("smtp.username unset", c->smtp_username == NULL);
	CHECK("smtp.password unset", c->smtp_password == NULL);
	CHECK("smtp.ca_file unset", c->smtp_ca_file == NULL);
	CHECK("rate.messages_per_second", c->rate_mps == 0.0);
	CHECK_INT("rate.burst", c->rate_burst, 10);
	CHECK_INT("rate.batch_size", c->rate_batch_size, 500);
	CHECK_INT("retry.max_attempts", c->retry_max_attempts, 5);
	CHECK_INT("retry.initial_delay", c->retry_initial_delay, 60);
	CHECK_INT("retry.max_delay", c->retry_max_delay, 3600);
	CHECK_STR("storage.path", c->storage_path,
	    "/var/lib/broadside/broadside.db");
	CHECK("subscribers.file unset", c->subscribers_file == NULL);
	CHECK_STR("control.socket", c->control_socket,
	    "/run/broadside/control.sock");
	CHECK("http.listen unset", c->http_listen == NULL);
	CHECK_INT("feed.items", c->feed_items, 20);
	CHECK_STR("feed.path", c->feed_path, "/var/lib/broadside/feed.xml");
#ifdef BROADSIDE_TEMPLATES
	CHECK_STR("templates.dir", c->templates_dir, BROADSIDE_TEMPLATES);
#endif
	CHECK("templates.dir absolute", c->templates_dir != NULL &&
	    c->templates_dir[0] == '/');
	CHECK_STR("secret_file", c->secret_file, "/var/lib/broadside/secret");
	CHECK_STR("list.name from list.id", c->list_name, "l.example.org");
	CHECK_STR("list.from name", c->list_from_name, "Liste");
	CHECK_STR("list.from addr", c->list_from_addr, "list@example.org");
	CHECK("list.reply_to unset", c->list_reply_to == NULL);
	CHECK_STR("list.base_url", c->list_base_url,
	    "https://lists.example.org");
end:
	config_free(c);
	buf_free(&m.all);
}

static void
test_values(void)
{
	struct config	*c;
	struct msgs	 m = { 0 };

	c = load("values.conf", LIST_OK
	    "smtp: { url = \"smtps://mail.example.org:465\";\n"
	    "        connections = 256; timeout = 1;\n"
	    "        username = \"robot\"; password_file = \"pw\"; };\n"
	    "rate: { messages_per_second = 5; burst = 1000000;\n"
	    "        batch_size = 100000; };\n"
	    "retry: { max_attempts = 1; initial_delay = 86400;\n"
	    "         max_delay = 2592000; };\n"
	    "http: { listen = \"127.0.0.1:8080\"; };\n"
	    "feed: { items = 10000; };\n", CONFIG_NOSECRETS, &m);
	CHECK("values load", c != NULL);
	CHECK_INT("values: no messages", m.n, 0);
	if (m.n != 0)
		printf("  %s", msgs_text(&m));
	if (c != NULL) {
		CHECK_INT("connections max", c->smtp_connections, 256);
		CHECK_INT("timeout min", c->smtp_timeout, 1);
		CHECK("integer for a float", c->rate_mps == 5.0);
		CHECK_INT("burst max", c->rate_burst, 1000000);
		CHECK_INT("batch max", c->rate_batch_size, 100000);
		CHECK_INT("attempts min", c->retry_max_attempts, 1);
		CHECK_INT("initial delay max", c->retry_initial_delay, 86400);
		CHECK_INT("max delay max", c->retry_max_delay, 2592000);
		CHECK_STR("http.listen", c->http_listen, "127.0.0.1:8080");
		CHECK_INT("feed items max", c->feed_items, 10000);
		CHECK_STR("username", c->smtp_username, "robot");
		CHECK("NOSECRETS: no password", c->smtp_password == NULL);
	}
	config_free(c);

	c = load("float.conf", LIST_OK "rate: { messages_per_second = 12.5; "
	    "};\n", 0, &m);
	CHECK("float loads", c != NULL && c->rate_mps == 12.5);
	config_free(c);
	buf_free(&m.all);
}

static void
test_paths(void)
{
	static const char	*keys[] = { "ca_file", "password_file",
	    "storage.path", "subscribers.file", "control.socket", "feed.path",
	    "templates.dir", "secret_file" };
	struct config		*c;
	struct msgs		 m = { 0 };
	char			 sub[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX];
	const char		*got[8];
	size_t			 i;

	snprintf(sub, sizeof(sub), "%s/etc", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/etc/pw", dir);
	write_file(sub, "hunter2\n", 0600);

	/* loaded by a relative name from elsewhere: the file's folder wins */
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(dir) == -1) {
		CHECK("chdir", 0);
		return;
	}
	write_file("etc/paths.conf", LIST_OK
	    "smtp: { ca_file = \"ca.pem\"; username = \"u\";\n"
	    "        password_file = \"pw\"; };\n"
	    "storage: { path = \"state/broadside.db\"; };\n"
	    "subscribers: { file = \"../lists/subscribers.csv\"; };\n"
	    "control: { socket = \"/run/x/control.sock\"; };\n"
	    "feed: { path = \"./feed.xml\"; };\n"
	    "templates: { dir = \"templates\"; };\n"
	    "secret_file = \"secret\";\n", 0644);
	msgs_reset(&m);
	c = config_load("etc/paths.conf", 0, collect, &m);
	if (chdir(cwd) == -1)
		CHECK("chdir back", 0);
	CHECK("paths load", c != NULL);
	if (m.n != 0)
		printf("  %s", msgs_text(&m));
	if (c == NULL)
		goto end;
	got[0] = c->smtp_ca_file;
	got[1] = c->smtp_password_file;
	got[2] = c->storage_path;
	got[3] = c->subscribers_file;
	got[4] = c->control_socket;
	got[5] = c->feed_path;
	got[6] = c->templates_dir;
	got[7] = c->secret_file;
	for (i = 0; i < 8; i++) {
		switch (i) {
		case 0: snprintf(want, sizeof(want), "%s/etc/ca.pem", realdir);
			break;
		case 1: snprintf(want, sizeof(want), "%s/etc/pw", realdir);
			break;
		case 2: snprintf(want, sizeof(want), "%s/etc/state/broadside.db",
			    realdir);
			break;
		case 3: snprintf(want, sizeof(want),
			    "%s/etc/../lists/subscribers.csv", realdir);
			break;
		case 4: snprintf(want, sizeof(want), "/run/x/control.sock");
			break;
		case 5: snprintf(want, sizeof(want), "%s/etc/./feed.xml",
			    realdir);
			break;
		case 6: snprintf(want, sizeof(want), "%s/etc/templates",
			    realdir);
			break;
		case 7: snprintf(want, sizeof(want), "%s/etc/secret", realdir);
			break;
		}
		CHECK_STR(keys[i], got[i], want);
	}
	CHECK_STR("password read via resolved path", c->smtp_password,
	    "hunter2");
	snprintf(want, sizeof(want), "%s/etc/paths.conf", realdir);
	CHECK_STR("file made absolute", c->file, want);
end:
	config_free(c);
	buf_free(&m.all);
}

/*
 * One file full of first-pass problems, one a line: every one must be
 * reported, with its line, in the same call.
 */
static void
test_errors_all(void)
{
	static const struct {
		const char	*line;
		const char	*want;		/* NULL: no message */
	} lines[] = {
		{ "list: {", NULL },
		{ "  from = \"Liste <list@example.org>\";", NULL },
		{ "  id = \"l.example.org\";", NULL },
		{ "  base_url = \"https://lists.example.org\";", NULL },
		{ "  colour = \"red\";", "unknown key \"list.colour\"" },
		{ "  name = \"Liste\\nBcc: x@example.org\";",
		    "list.name: control character in value" },
		{ "  reply_to = \"caf\\xe9@example.org\";",
		    "list.reply_to: invalid UTF-8" },
		{ "};", NULL },
		{ "smtp: {", NULL },
		{ "  connections = 0;",
		    "smtp.connections: 0 is out of range (1 to 256)" },
		{ "  timeout = \"thirty\";", "smtp.timeout: expected an integer" },
		{ "  url = 25;", "smtp.url: expected a string" },
		{ "  username = [\"a\", \"b\"];",
		    "smtp.username: expected a string" },
		{ "  port = 25;", "unknown key \"smtp.port\"" },
		{ "};", NULL },
		{ "rate: {", NULL },
		{ "  messages_per_second = -1.0;",
		    "rate.messages_per_second: -1 is out of range (0 to 1e+06)" },
		{ "  burst = 1.5;", "rate.burst: expected an integer" },
		{ "  batch_size = 100001;",
		    "rate.batch_size: 100001 is out of range (1 to 100000)" },
		{ "};", NULL },
		{ "retry: { max_attempts = 1001; };",
		    "retry.max_attempts: 1001 is out of range (1 to 1000)" },
		{ "feed: { items = \"many\"; };", "feed.items: expected an integer" },
		{ "http: { listen = 8080; };", "http.listen: expected a string" },
		{ "templates: { dir = \"\"; };", "templates.dir: empty path" },
		{ "bogus: { a = 1; };", "unknown section \"bogus\"" },
		{ "stray = 1;", "unknown key \"stray\"" },
		{ "storage = \"here.db\";",
		    "\"storage\" must be a group { ... }" },
		{ "secret_file = 5;", "secret_file: expected a string" },
		{ "control: { socket = true; };",
		    "control.socket: expected a string" },
		{ "subscribers: { file = \"\"; path = \"x\"; };",
		    "subscribers.file: empty path" },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	struct buf	 text = { 0 };
	char		 want[1024], path[256];
	size_t		 i;
	int		 nwant = 0;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		buf_addstr(&text, lines[i].line);
		buf_addc(&text, '\n');
	}
	c = load("bad.conf", text.p, 0, &m);
	CHECK("bad config refused", c == NULL);
	config_free(c);
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i].want == NULL)
			continue;
		nwant++;
		snprintf(want, sizeof(want), "%s:%zu: %s\n", path, i + 1,
		    lines[i].want);
		if (strstr(msgs_text(&m), want) == NULL) {
			CHECK(lines[i].line, 0);
			printf("  want \"%.*s\"\n", (int)strlen(want) - 1,
			    want);
		} else
			CHECK(lines[i].line, 1);
	}
	/* the second "subscribers" key is also unknown */
	snprintf(want, sizeof(want), "%s:%zu: unknown key "
	    "\"subscribers.path\"\n", path, i);
	CHECK("two problems on one line", strstr(msgs_text(&m), want) != NULL);
	nwant++;
	CHECK_INT("nothing else reported", m.n, nwant);
	if (m.n != nwant)
		printf("%s", msgs_text(&m));
	buf_free(&text);
	buf_free(&m.all);
}

/* Second-pass checks, on files whose types are all right. */
static void
test_errors_semantic(void)
{
	static const struct {
		const char	*name;
		const char	*text;
		const char	*want[4];	/* ":LINE: message" suffixes */
	} cases[] = {
		{ "missing.conf", "smtp: { timeout = 10; };\n",
		    { ": list.from: missing", ": list.id: missing",
		    ": list.base_url: missing" } },
		{ "from.conf",
		    "list: { from = \"Liste <not an address>\";\n"
		    "  id = \"l.example.org\"; base_url = \"ftp://x.example\";\n"
		    "  reply_to = \"Replies <@example.org>\"; };\n",
		    { ":1: list.from: ", ":2: list.base_url: must start with "
		    "https://", ":3: list.reply_to: " } },
		{ "from2.conf",
		    "list: { from = \"Liste <list@example.org\";\n"
		    "  id = \"not a domain\";\n"
		    "  base_url = \"https://x.example/a b\"; };\n",
		    { ":1: list.from: expected \"Name <address>\"",
		    ":2: list.id: not a domain-like identifier",
		    ":3: list.base_url: space or quote in URL" } },
		{ "smtp.conf", LIST_OK
		    "smtp: { url = \"http://mail.example.org\";\n"
		    "  tls = \"sometimes\"; username = \"u\"; };\n"
		    "retry: { initial_delay = 600;\n"
		    "  max_delay = 60; };\n",
		    { ":3: smtp.url: must be smtp:// or smtps://",
		    ":4: smtp.tls: \"sometimes\" is not none, starttls or tls",
		    ": smtp.username: set without smtp.password_file",
		    ":6: retry.max_delay: less than retry.initial_delay" } },
		{ "smtps.conf", LIST_OK
		    "smtp: { url = \"smtps://mail.example.org\";\n"
		    "  tls = \"starttls\"; password_file = \"pw\"; };\n"
		    "http: { listen = \"8080\"; };\n",
		    { ":4: smtp.tls: smtps:// needs tls = \"tls\"",
		    ": smtp.password_file: set without smtp.username",
		    ":5: http.listen: expected \"address:port\"" } },
		{ "listen.conf", LIST_OK
		    "http: { listen = \"127.0.0.1:99999\"; };\n",
		    { ":3: http.listen: expected \"address:port\"" } },
		{ "syntax.conf", LIST_OK "smtp: { timeout = ; };\n",
		    { ":3: " } },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	char		 want[600];
	size_t		 i, j;
	int		 nwant;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = load(cases[i].name, cases[i].text, CONFIG_NOSECRETS, &m);
		CHECK(cases[i].name, c == NULL);
		config_free(c);
		nwant = 0;
		for (j = 0; j < 4 && cases[i].want[j] != NULL; j++) {
			nwant++;
			snprintf(want, sizeof(want), "%s/%s%s", dir,
			    cases[i].name, cases[i].want[j]);
			if (strstr(msgs_text(&m), want) == NULL) {
				CHECK(cases[i].name, 0);
				printf("  want \"%s\" in:\n%s", want,
				    msgs_text(&m));
			} else
				CHECK(cases[i].name, 1);
		}
		CHECK_INT(cases[i].name, m.n, nwant);
	}

	/* a missing file is one clear message */
	msgs_reset(&m);
	snprintf(want, sizeof(want), "%s/none.conf", dir);
	c = config_load(want, 0, collect, &m);
	CHECK("missing file", c == NULL);
	CHECK_INT("missing file: one message", m.n, 1);
	strcat(want, ": No such file or directory\n");
	CHECK_STR("missing file message", msgs_text(&m), want);
	buf_free(&m.all);
}

static void
test_tls(void)
{
	static const struct {
		const char	*url;
		const char	*tls;		/* NULL: not set */
		int		 want;		/* -1: refused */
	} cases[] = {
		{ "smtp://127.0.0.1:2525", NULL, SMTP_TLS_NONE },
		{ "smtps://mail.example.org", NULL, SMTP_TLS_TLS },
		{ "smtp://mail.example.org:587", "starttls", SMTP_TLS_STARTTLS },
		{ "smtp://mail.example.org", "none", SMTP_TLS_NONE },
		{ "smtp://mail.example.org", "tls", SMTP_TLS_TLS },
		{ "smtps://mail.example.org", "tls", SMTP_TLS_TLS },
		{ "smtps://mail.example.org", "none", -1 },
		{ "smtps://mail.example.org", "starttls", -1 },
		{ "smtp://mail.example.org", "STARTTLS", -1 },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	char		 text[512], label[128];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%ssmtp: { url = \"%s\";%s%s%s };\n",
		    LIST_OK, cases[i].url, cases[i].tls ? " tls = \"" : "",
		    cases[i].tls ? cases[i].tls : "", cases[i].tls ? "\";" : "");
		snprintf(label, sizeof(label), "tls %s %s", cases[i].url,
		    cases[i].tls ? cases[i].tls : "(unset)");
		c = load("tls.conf", text, 0, &m);
		CHECK_INT(label, c != NULL ? (int)c->smtp_tls : -1,
		    cases[i].want);
		if (c != NULL)
			CHECK_STR(label, c->smtp_url, cases[i].url);
		else
			CHECK(label, strstr(msgs_text(&m), "tls.conf:3: smtp.tls:")
			    != NULL);
		config_free(c);
	}
	buf_free(&m.all);
}

static void
test_from(void)
{
	static const struct {
		const char	*from;
		const char	*name;		/* NULL: refused */
		const char	*addr;
	} cases[] = {
		{ "Test List <list@example.org>", "Test List",
		    "list@example.org" },
		{ "list@example.org", "", "list@example.org" },
		{ "  list@EXAMPLE.org  ", "", "list@example.org" },
		{ "\\\"Quoted, Name\\\" <a@example.org>", "Quoted, Name",
		    "a@example.org" },
		{ "  Spaced  Out\t <b@example.org>", "Spaced  Out",
		    "b@example.org" },
		{ "<c@example.org>", "", "c@example.org" },
		{ "Zoë – Bücherliste “Nord” <Liste@Bücher.Example>",
		    "Zoë – Bücherliste “Nord”", "Liste@xn--bcher-kva.example" },
		{ "Ünïcödé <post@münchen.example>", "Ünïcödé",
		    "post@xn--mnchen-3ya.example" },
		{ "Open <a@example.org", NULL, NULL },
		{ "Closed a@example.org>", NULL, NULL },
		{ "Trailing <a@example.org> x", NULL, NULL },
		{ "Nobody <no-at-sign>", NULL, NULL },
		{ "Two <a@b@example.org>", NULL, NULL },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	char		 text[1024];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "list: {\n  from = \"%s\";\n"
		    "  id = \"l.example.org\";\n"
		    "  base_url = \"https://lists.example.org\"; };\n",
		    cases[i].from);
		c = load("from.conf", text, 0, &m);
		if (cases[i].name == NULL) {
			CHECK(cases[i].from, c == NULL);
			CHECK(cases[i].from, strstr(msgs_text(&m),
			    "from.conf:2: list.from: ") != NULL);
			CHECK_INT(cases[i].from, m.n, 1);
		} else if (c == NULL) {
			CHECK(cases[i].from, 0);
			printf("  %s", msgs_text(&m));
		} else {
			CHECK_STR(cases[i].from, c->list_from_name,
			    cases[i].name);
			CHECK_STR(cases[i].from, c->list_from_addr,
			    cases[i].addr);
		}
		config_free(c);
	}
	buf_free(&m.all);
}

static void
test_base_url(void)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "https://lists.example.org", "https://lists.example.org" },
		{ "https://lists.example.org/", "https://lists.example.org" },
		{ "https://example.org/news///", "https://example.org/news" },
		{ "http://127.0.0.1:8080/", "http://127.0.0.1:8080" },
		{ "https://example.org/a/b", "https://example.org/a/b" },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	char		 text[512];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "list: { from = \"a@example.org\";"
		    " id = \"l.example.org\"; name = \"Nom\"; base_url = \"%s\";"
		    " };\n", cases[i].in);
		c = load("url.conf", text, 0, &m);
		CHECK_STR(cases[i].in, c ? c->list_base_url : NULL,
		    cases[i].want);
		CHECK_STR("list.name kept", c ? c->list_name : NULL, "Nom");
		config_free(c);
	}
	buf_free(&m.all);
}

/* list.description: optional, kept as written, at most 1000 octets */
static void
test_description(void)
{
	struct config	*c;
	struct msgs	 m = { 0 };
	struct buf	 text = BUF_INIT;
	char		 longd[1002];

	c = load("desc.conf", LIST_OK, 0, &m);
	CHECK("list.description unset", c != NULL &&
	    c->list_description == NULL);
	config_free(c);
	buf_printf(&text, "list: { from = \"a@example.org\"; id = "
	    "\"l.example.org\";\n  base_url = \"https://l.example.org\";\n"
	    "  description = \"Caf\xc3\xa9 letters & notes\"; };\n");
	c = load("desc.conf", text.p, 0, &m);
	CHECK_STR("list.description", c ? c->list_description : NULL,
	    "Caf\xc3\xa9 letters & notes");
	config_free(c);
	memset(longd, 'x', 1000);
	longd[1000] = '\0';
	buf_reset(&text);
	buf_printf(&text, "list: { from = \"a@example.org\"; id = "
	    "\"l.example.org\";\n  base_url = \"https://l.example.org\";\n"
	    "  description = \"%s\"; };\n", longd);
	c = load("desc.conf", text.p, 0, &m);
	CHECK("1000 octets load", c != NULL);
	config_free(c);
	msgs_reset(&m);
	longd[1000] = 'x';
	longd[1001] = '\0';
	buf_reset(&text);
	buf_printf(&text, "list: { from = \"a@example.org\"; id = "
	    "\"l.example.org\";\n  base_url = \"https://l.example.org\";\n"
	    "  description = \"%s\"; };\n", longd);
	c = load("desc.conf", text.p, 0, &m);
	CHECK("1001 octets refused", c == NULL);
	CHECK("1001 octets: line 3 named", strstr(msgs_text(&m),
	    ":3: list.description: longer than 1000 octets") != NULL);
	config_free(c);
	msgs_reset(&m);
	c = load("desc.conf", "list: { from = \"a@example.org\"; id = "
	    "\"l.example.org\";\n  base_url = \"https://l.example.org\";\n"
	    "  description = \"a\\nb\"; };\n", 0, &m);
	CHECK("control character refused", c == NULL && strstr(msgs_text(&m),
	    "list.description: control character") != NULL);
	config_free(c);
	buf_free(&text);
	buf_free(&m.all);
}

/* site.language: "en" by default, kept in the registry's case, refused
 * at its line when it is no language tag */
static void
test_site_language(void)
{
	static const struct {
		const char	*in, *want;	/* want NULL: refused */
	} cases[] = {
		{ "es", "es" }, { "PT-br", "pt-BR" }, { "ar", "ar" },
		{ "zh-hant-tw", "zh-Hant-TW" }, { "english", NULL },
		{ "en-US-x-y", NULL }, { "../x", NULL }, { "", NULL },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	struct buf	 text = BUF_INIT;
	size_t		 i;

	c = load("lang.conf", LIST_OK, 0, &m);
	CHECK_STR("site.language default", c ? c->site_language : NULL, "en");
	config_free(c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msgs_reset(&m);
		buf_reset(&text);
		buf_printf(&text, LIST_OK "site: { language = \"%s\"; };\n",
		    cases[i].in);
		c = load("lang.conf", text.p, 0, &m);
		if (cases[i].want != NULL)
			CHECK_STR(cases[i].in, c ? c->site_language : NULL,
			    cases[i].want);
		else
			CHECK(cases[i].in, c == NULL && strstr(msgs_text(&m),
			    ":3: site.language: ") != NULL && strstr(
			    msgs_text(&m), "is not a language tag") != NULL);
		config_free(c);
	}
	buf_free(&text);
	buf_free(&m.all);
}

static void
test_password(void)
{
	static const struct {
		const char	*content;	/* NULL: no file */
		const char	*want;		/* NULL: refused */
	} cases[] = {
		{ "s3cr3t pass\n", "s3cr3t pass" },
		{ "crlf-pass\r\n", "crlf-pass" },
		{ "no-newline", "no-newline" },
		{ "pässwörd…\n\n", "pässwörd…" },
		{ "hunter2\nsecond line\n", NULL },
		{ NULL, NULL },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	char		 pw[PATH_MAX], label[64];
	const char	*text = LIST_OK
	    "smtp: { username = \"robot\"; password_file = \"smtp.pw\"; };\n";
	size_t		 i;

	snprintf(pw, sizeof(pw), "%s/smtp.pw", dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(label, sizeof(label), "password %zu", i);
		unlink(pw);
		if (cases[i].content != NULL)
			write_file(pw, cases[i].content, 0600);
		c = load("pw.conf", text, 0, &m);
		if (cases[i].want != NULL) {
			CHECK_STR(label, c ? c->smtp_password : NULL,
			    cases[i].want);
		} else {
			CHECK(label, c == NULL);
			CHECK(label, strstr(msgs_text(&m),
			    "smtp.password_file: ") != NULL);
			CHECK(label, strstr(msgs_text(&m), "hunter2") == NULL);
		}
		config_free(c);

		/* the CLI never reads it, present or not */
		c = load("pw.conf", text, CONFIG_NOSECRETS, &m);
		CHECK(label, c != NULL && c->smtp_password == NULL);
		CHECK_INT(label, m.n, 0);
		config_free(c);
	}
	unlink(pw);
	buf_free(&m.all);
}

/*
 * smtp.username over a connection without TLS would send the password in
 * clear text: refused, at the line of smtp.username, unless the relay is
 * on a loopback address.
 */
static void
test_cleartext_auth(void)
{
	static const struct {
		const char	*url;
		const char	*tls;		/* NULL: not set */
		int		 refused;
	} cases[] = {
		{ "smtp://mail.example.org:587", NULL, 1 },
		{ "smtp://mail.example.org", "none", 1 },
		{ "smtp://192.0.2.7:25", NULL, 1 },
		{ "smtp://[2001:db8::1]:25", NULL, 1 },
		{ "smtp://128.0.0.1", NULL, 1 },
		{ "smtp://localhost.example.org", NULL, 1 },
		{ "smtp://127.0.0.1.example.org", NULL, 1 },
		{ "smtp://mail.example.org:587", "starttls", 0 },
		{ "smtps://mail.example.org", NULL, 0 },
		{ "smtps://mail.example.org", "tls", 0 },
		{ "smtp://127.0.0.1:25", NULL, 0 },
		{ "smtp://127.8.9.10", "none", 0 },
		{ "smtp://localhost:2525", NULL, 0 },
		{ "smtp://LOCALHOST", NULL, 0 },
		{ "smtp://[::1]:25", NULL, 0 },
		{ "smtp://[::ffff:127.0.0.1]:25", NULL, 0 },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	struct buf	 text = BUF_INIT;
	char		 label[96], want[PATH_MAX + 64], pw[PATH_MAX];
	size_t		 i;

	snprintf(pw, sizeof(pw), "%s/auth.pw", dir);
	write_file(pw, "hunter2\n", 0600);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(label, sizeof(label), "auth %s tls=%s", cases[i].url,
		    cases[i].tls ? cases[i].tls : "(unset)");
		buf_reset(&text);
		/* smtp.username is on line 5 */
		buf_printf(&text, LIST_OK "smtp: { url = \"%s\";\n",
		    cases[i].url);
		if (cases[i].tls != NULL)
			buf_printf(&text, "  tls = \"%s\";", cases[i].tls);
		buf_printf(&text, "\n  username = \"robot\";\n"
		    "  password_file = \"auth.pw\"; };\n");
		c = load("auth.conf", text.p, 0, &m);
		if (!cases[i].refused) {
			CHECK(label, c != NULL);
			CHECK_INT(label, m.n, 0);
			if (m.n != 0)
				printf("  %s", msgs_text(&m));
			config_free(c);
			continue;
		}
		CHECK(label, c == NULL);
		CHECK_INT(label, m.n, 1);
		snprintf(want, sizeof(want), "%s/auth.conf:5: smtp.username: "
		    "AUTH would send the password in clear text", dir);
		if (strstr(msgs_text(&m), want) == NULL) {
			CHECK(label, 0);
			printf("  want \"%s\" in:\n%s", want, msgs_text(&m));
		}
		CHECK(label, strstr(msgs_text(&m), "hunter2") == NULL);
		config_free(c);
		/* the CLI (no secrets) is told the same */
		c = load("auth.conf", text.p, CONFIG_NOSECRETS, &m);
		CHECK(label, c == NULL && m.n == 1);
		config_free(c);
	}
	unlink(pw);
	buf_free(&text);
	buf_free(&m.all);
}

/*
 * The password file is read as the start reads it: what is not a
 * regular file is refused at once (a FIFO would block the open), named
 * by key and line.
 */
static void
test_password_kinds(void)
{
	static const char	*names[] = { "pw.dir", "pw.fifo",
	    "pw.file/under", "pw.none" };
	struct config		*c;
	struct msgs		 m = { 0 };
	char			 path[PATH_MAX], text[512], want[PATH_MAX + 64];
	size_t			 i;

	snprintf(path, sizeof(path), "%s/pw.dir", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/pw.fifo", dir);
	CHECK_INT("mkfifo", mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/pw.file", dir);
	write_file(path, "hunter2\n", 0600);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text), LIST_OK "smtp: { username = "
		    "\"robot\";\n  password_file = \"%s\"; };\n", names[i]);
		c = load("kinds.conf", text, 0, &m);
		CHECK(names[i], c == NULL);
		CHECK_INT(names[i], m.n, 1);
		snprintf(want, sizeof(want), "%s/kinds.conf:4: "
		    "smtp.password_file: ", dir);
		if (strstr(msgs_text(&m), want) == NULL) {
			CHECK(names[i], 0);
			printf("  want \"%s\" in:\n%s", want, msgs_text(&m));
		}
		config_free(c);
	}
	snprintf(path, sizeof(path), "%s/pw.dir", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/pw.fifo", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pw.file", dir);
	unlink(path);
	buf_free(&m.all);
}

static void
test_secret(void)
{
	struct config	*c;
	struct msgs	 m = { 0 };
	struct stat	 st;
	unsigned char	 key[64], key2[64];
	char		 err[512], path[PATH_MAX];
	int		 n;

	c = load("secret.conf", LIST_OK "secret_file = \"hmac.key\";\n", 0,
	    &m);
	CHECK("secret conf", c != NULL);
	if (c == NULL)
		return;
	snprintf(path, sizeof(path), "%s/hmac.key", realdir);
	CHECK_STR("secret path", c->secret_file, path);

	/* created: 32 random bytes, mode 0600 whatever the umask */
	umask(022);
	n = config_read_secret(c, key, sizeof(key), err, sizeof(err));
	CHECK_INT("secret created", n, 32);
	CHECK_INT("secret stat", stat(path, &st), 0);
	CHECK_INT("secret mode", st.st_mode & 0777, 0600);
	CHECK_INT("secret size", st.st_size, 32);
	memset(key2, 0, sizeof(key2));
	CHECK_INT("secret again", config_read_secret(c, key2, sizeof(key2),
	    err, sizeof(err)), 32);
	CHECK("secret stable", memcmp(key, key2, 32) == 0);
	memset(key2, 0, sizeof(key2));
	CHECK("secret not zero", memcmp(key, key2, 32) != 0);

	chmod(path, 0644);
	err[0] = '\0';
	CHECK_INT("secret 0644 refused", config_read_secret(c, key2,
	    sizeof(key2), err, sizeof(err)), -1);
	CHECK("secret 0644 message", strstr(err, "readable by others") !=
	    NULL && strstr(err, "644") != NULL);
	chmod(path, 0640);
	CHECK_INT("secret 0640 refused", config_read_secret(c, key2,
	    sizeof(key2), err, sizeof(err)), -1);

	write_file(path, "short", 0600);
	err[0] = '\0';
	CHECK_INT("secret short", config_read_secret(c, key2, sizeof(key2),
	    err, sizeof(err)), -1);
	CHECK("secret short message", strstr(err, "shorter than 16") != NULL);

	unlink(path);
	mkdir(path, 0700);
	err[0] = '\0';
	CHECK_INT("secret dir", config_read_secret(c, key2, sizeof(key2), err,
	    sizeof(err)), -1);
	CHECK("secret dir message", strstr(err, "not a regular file") != NULL);
	rmdir(path);
	config_free(c);

	/* a folder that does not exist: creation fails cleanly */
	c = load("secret2.conf", LIST_OK "secret_file = \"no/such/key\";\n", 0,
	    &m);
	err[0] = '\0';
	CHECK_INT("secret no folder", c ? config_read_secret(c, key2,
	    sizeof(key2), err, sizeof(err)) : 0, -1);
	CHECK("secret no folder message", strstr(err, "create") != NULL);
	config_free(c);
	buf_free(&m.all);
}

static void
test_default_path(void)
{
	setenv("BROADSIDE_CONFIG", "/srv/list/broadside.conf", 1);
	CHECK_STR("env path", config_default_path(),
	    "/srv/list/broadside.conf");
	setenv("BROADSIDE_CONFIG", "", 1);
	CHECK_STR("empty env", config_default_path(), BROADSIDE_DEFAULT_CONFIG);
	unsetenv("BROADSIDE_CONFIG");
	CHECK_STR("no env", config_default_path(), BROADSIDE_DEFAULT_CONFIG);
}

/*
 * PostgreSQL: the URL kept as written (no folder prefixed), the node's
 * name checked, the password read from storage.password_file and never
 * in a message; path and url together, or a password file for SQLite,
 * refused at their line.
 */
static void
test_storage_pg(void)
{
	static const struct {
		const char	*name;
		const char	*text;		/* from line 6 */
		const char	*want_msg;	/* NULL: loads */
	} cases[] = {
		{ "pg1.conf", "storage: { url = \"postgresql://bs@db.example.org"
		    "/bs\"; node = \"n-1.a_b\";\n password_file = \"pg.pw\"; "
		    "};\n", NULL },
		{ "pg2.conf", "storage: { url = \"postgresql://bs@db/bs\";\n"
		    "  node = \"two words\"; };\n",
		    ":7: storage.node: 1 to 63" },
		{ "pg3.conf", "storage: { url = \"sqlite:x.db\";\n"
		    "  password_file = \"pg.pw\"; };\n",
		    ":7: storage.password_file: only for a postgresql://" },
		{ "pg4.conf", "storage: { path = \"x.db\";\n"
		    "  url = \"postgresql://bs@db/bs\"; };\n",
		    ":7: storage.url: storage.path is set too" },
		{ "pg5.conf", "storage: { url = \"postgresql://bs@db/bs\";\n"
		    "  password_file = \"missing.pw\"; };\n",
		    ":7: storage.password_file: " },
	};
	struct config	*c;
	struct msgs	 m;
	char		 label[128], text[512], pw[PATH_MAX];
	FILE		*f;
	size_t		 i;

	snprintf(pw, sizeof(pw), "%s/pg.pw", realdir);
	if ((f = fopen(pw, "w")) != NULL) {
		fputs("S3cret-pg\n", f);
		fclose(f);
	}
	memset(&m, 0, sizeof(m));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s\n\n\n%s", LIST_OK,
		    cases[i].text);
		c = load(cases[i].name, text, 0, &m);
		snprintf(label, sizeof(label), "%s loads", cases[i].name);
		CHECK_INT(label, c != NULL, cases[i].want_msg == NULL);
		if (cases[i].want_msg == NULL && c != NULL) {
			CHECK_STR("pg url kept", c->storage_path,
			    "postgresql://bs@db.example.org/bs");
			CHECK_STR("pg node", c->storage_node, "n-1.a_b");
			CHECK_STR("pg password read", c->storage_password,
			    "S3cret-pg");
		}
		if (cases[i].want_msg != NULL) {
			snprintf(label, sizeof(label), "%s message: %s",
			    cases[i].name, msgs_text(&m));
			CHECK(label, strstr(msgs_text(&m), cases[i].want_msg)
			    != NULL);
		}
		snprintf(label, sizeof(label), "%s no secret", cases[i].name);
		CHECK(label, strstr(msgs_text(&m), "S3cret") == NULL);
		config_free(c);
	}
	buf_free(&m.all);
	unlink(pw);
}

static void
test_storage_url(void)
{
	static const struct {
		const char	*name;
		const char	*text;
		const char	*want_path;	/* under realdir; NULL: error */
		const char	*want_msg;	/* in the message */
	} cases[] = {
		{ "su1.conf", "storage: { url = \"sqlite:st/a.db\"; };\n",
		    "st/a.db", NULL },
		{ "su2.conf", "storage: { url = \"sqlite:///abs/b.db\"; };\n",
		    "/abs/b.db", NULL },
		{ "su3.conf", "storage: { url = \"c.db\"; };\n", "c.db", NULL },
		{ "su4.conf", "storage: { url = \"postgresql://bs:S3cret@db."
		    "example.org/bs\"; };\n", NULL,
		    ":6: storage.url: holds a password" },
		{ "su5.conf", "storage: { url = \"postgres://x@h/d?sslmode="
		    "require&password=S3cret\"; };\n", NULL,
		    "storage.url: holds a password" },
		{ "su6.conf", "storage: { url = \"mysql://u:S3cret@h/d\"; };\n",
		    NULL, "unknown scheme \"mysql\"" },
		{ "su7.conf", "storage: { path = \"p.db\";\n"
		    "  url = \"sqlite:q.db\"; };\n", NULL,
		    ":7: storage.url: storage.path is set too" },
		{ "su8.conf", "storage: { url = \"sqlite:\"; };\n", NULL,
		    "storage.url: no path" },
	};
	struct config	*c;
	struct msgs	 m;
	char		 want[PATH_MAX], label[128], text[512];
	size_t		 i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* the case's text starts on line 6 */
		snprintf(text, sizeof(text), "%s\n\n\n%s", LIST_OK,
		    cases[i].text);
		c = load(cases[i].name, text, 0, &m);
		snprintf(label, sizeof(label), "%s loads", cases[i].name);
		CHECK_INT(label, c != NULL, cases[i].want_path != NULL);
		if (cases[i].want_path != NULL && c != NULL) {
			if (cases[i].want_path[0] == '/')
				snprintf(want, sizeof(want), "%s",
				    cases[i].want_path);
			else
				snprintf(want, sizeof(want), "%s/%s", realdir,
				    cases[i].want_path);
			snprintf(label, sizeof(label), "%s path",
			    cases[i].name);
			CHECK_STR(label, c->storage_path, want);
		}
		if (cases[i].want_msg != NULL) {
			snprintf(label, sizeof(label), "%s message: %s",
			    cases[i].name, msgs_text(&m));
			CHECK(label, strstr(msgs_text(&m), cases[i].want_msg)
			    != NULL);
		}
		/* never the URL's password in a message */
		snprintf(label, sizeof(label), "%s no secret", cases[i].name);
		CHECK(label, strstr(msgs_text(&m), "S3cret") == NULL);
		config_free(c);
	}
	buf_free(&m.all);
}

/*
 * dkim: the keys are loaded by the daemon's load (not the CLI's); every
 * problem at the line of its key, naming the file; the domain must be
 * From's or a parent of it.
 */
static void
test_dkim(void)
{
	static const struct {
		const char	*name;
		const char	*dkim;		/* the section */
		const char	*want;		/* NULL: loads */
	} cases[] = {
		{ "RSA and Ed25519", "domain = \"example.org\"; selector = "
		    "\"s1\"; key_file = \"rsa.pem\";\n ed25519_selector = "
		    "\"e1\"; ed25519_key_file = \"ed.pem\";", NULL },
		{ "RSA only, domain in capitals", "domain = \"EXAMPLE.org\"; "
		    "selector = \"s1\"; key_file = \"rsa.pem\";", NULL },
		{ "no selector", "domain = \"example.org\"; key_file = "
		    "\"rsa.pem\";", ":3: dkim.selector: missing" },
		{ "no key", "domain = \"example.org\"; selector = \"s1\";",
		    ":3: dkim.key_file: missing" },
		{ "a child domain", "domain = \"sub.example.org\"; "
		    "selector = \"s1\"; key_file = \"rsa.pem\";",
		    "dkim.domain: \"sub.example.org\" is neither" },
		{ "a look-alike", "domain = \"ample.org\"; "
		    "selector = \"s1\"; key_file = \"rsa.pem\";",
		    "is neither list.from's domain" },
		{ "swapped keys", "domain = \"example.org\"; selector = \"s1\";"
		    "\n key_file = \"ed.pem\";",
		    ":4: dkim.key_file: %s/ed.pem: not an RSA key" },
		{ "unpaired ed25519", "domain = \"example.org\"; selector = "
		    "\"s1\"; key_file = \"rsa.pem\"; ed25519_selector = "
		    "\"e1\";", "dkim.ed25519_key_file: missing" },
		{ "bad selector", "domain = \"example.org\"; selector = "
		    "\"s 1\"; key_file = \"rsa.pem\";",
		    "dkim.selector: want a DNS label" },
		{ "unknown key", "domain = \"example.org\"; selector = \"s1\"; "
		    "key_file = \"rsa.pem\"; l = 10;", "unknown key \"dkim.l\"" },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	struct buf	 text = BUF_INIT;
	char		 path[PATH_MAX], want[PATH_MAX + 128];
	EVP_PKEY	*k;
	FILE		*f;
	size_t		 i;
	int		 j;

	for (j = 0; j < 2; j++) {
		snprintf(path, sizeof(path), "%s/%s", dir, j ? "ed.pem" :
		    "rsa.pem");
		k = j ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		if (k == NULL || (f = fopen(path, "w")) == NULL) {
			CHECK("dkim key", 0);
			return;
		}
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		chmod(path, 0600);
		EVP_PKEY_free(k);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&text);
		buf_printf(&text, LIST_OK "dkim: { %s };\n", cases[i].dkim);
		c = load("dkim.conf", text.p, 0, &m);
		if (cases[i].want == NULL) {
			CHECK_STR(cases[i].name, msgs_text(&m), "");
			CHECK(cases[i].name, c != NULL && c->dkim != NULL);
		} else {
			snprintf(want, sizeof(want), cases[i].want, realdir);
			CHECK(cases[i].name, c == NULL);
			CHECK_INT(cases[i].name, m.n, 1);
			CHECK(cases[i].name, strstr(msgs_text(&m), want) != NULL);
			if (strstr(msgs_text(&m), want) == NULL)
				printf("    got \"%s\", want \"%s\"\n",
				    msgs_text(&m), want);
		}
		config_free(c);
	}
	/* resolved against the config's folder */
	c = load("dkim.conf", LIST_OK "dkim: { domain = \"example.org\"; "
	    "selector = \"s1\"; key_file = \"rsa.pem\"; };\n", 0, &m);
	snprintf(want, sizeof(want), "%s/rsa.pem", realdir);
	CHECK_STR("dkim key path", c ? c->dkim_key_file : NULL, want);
	config_free(c);
	/* the CLI reads no key: a missing one is no error there */
	c = load("dkim.conf", LIST_OK "dkim: { domain = \"example.org\"; "
	    "selector = \"s1\"; key_file = \"missing.pem\"; };\n",
	    CONFIG_NOSECRETS, &m);
	CHECK("NOSECRETS: no key read", c != NULL && c->dkim == NULL);
	CHECK_INT("NOSECRETS: no message", m.n, 0);
	config_free(c);
	c = load("dkim.conf", LIST_OK "dkim: { domain = \"example.org\"; "
	    "selector = \"s1\"; key_file = \"missing.pem\"; };\n", 0, &m);
	CHECK("missing key", c == NULL && strstr(msgs_text(&m),
	    "missing.pem: No such file") != NULL);
	config_free(c);
	/* no section: no signing */
	c = load("dkim.conf", LIST_OK, 0, &m);
	CHECK("no dkim section", c != NULL && c->dkim == NULL &&
	    c->dkim_domain == NULL);
	config_free(c);
	buf_free(&text);
	buf_free(&m.all);
}

/*
 * bounce: the domain of the envelope senders, kept lowercase and in
 * A-labels (the VERP addresses are compared as the MTA writes them);
 * anything that is not a domain an address can end in is refused at its
 * line.
 */
static void
test_bounce(void)
{
	static const struct {
		const char	*name;
		const char	*bounce;	/* the section */
		const char	*want;		/* NULL: loads */
		const char	*domain;	/* as kept */
	} cases[] = {
		{ "plain", "domain = \"bounces.example.org\";", NULL,
		    "bounces.example.org" },
		{ "capitals", "domain = \"Bounces.EXAMPLE.org\";", NULL,
		    "bounces.example.org" },
		{ "IDN", "domain = \"b.b\xc3\xbc" "cher.example\";", NULL,
		    "b.xn--bcher-kva.example" },
		{ "no domain", "", ":3: bounce.domain: missing", NULL },
		{ "an address", "domain = \"b@example.org\";",
		    ":3: bounce.domain: \"b@example.org\" is not a domain", NULL },
		{ "one label", "domain = \"localhost\";",
		    ":3: bounce.domain: \"localhost\" is not a domain", NULL },
		{ "a literal", "domain = \"[127.0.0.1]\";",
		    "bounce.domain: \"[127.0.0.1]\" is not a domain", NULL },
		{ "not a string", "domain = 5;",
		    ":3: bounce.domain: expected a string", NULL },
		{ "unknown key", "domain = \"b.example.org\"; from = \"x\";",
		    "unknown key \"bounce.from\"", NULL },
	};
	struct config	*c;
	struct msgs	 m = { 0 };
	struct buf	 text = BUF_INIT;
	char		 longdom[300], label[53];
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&text);
		buf_printf(&text, LIST_OK "bounce: { %s };\n", cases[i].bounce);
		c = load("bounce.conf", text.p, 0, &m);
		if (cases[i].want == NULL) {
			CHECK_STR(cases[i].name, msgs_text(&m), "");
			CHECK_STR(cases[i].name, c ? c->bounce_domain : NULL,
			    cases[i].domain);
		} else {
			CHECK(cases[i].name, c == NULL);
			CHECK_INT(cases[i].name, m.n, 1);
			CHECK(cases[i].name, strstr(msgs_text(&m),
			    cases[i].want) != NULL);
			if (strstr(msgs_text(&m), cases[i].want) == NULL)
				printf("    got \"%s\", want \"%s\"\n",
				    msgs_text(&m), cases[i].want);
		}
		config_free(c);
	}
	/* b-TOKEN@domain must fit in 254 octets: a 212-octet domain does,
	 * a 213-octet one does not */
	for (i = 0; i < 2; i++) {
		memset(longdom, 0, sizeof(longdom));
		/* 49 or 50 + 1 + 3 x (52 + 1) + 3 octets */
		memset(label, 'b', 52);
		label[52] = '\0';
		snprintf(longdom, sizeof(longdom), "%.*s.%s.%s.%s.org",
		    i ? 50 : 49, label, label, label, label);
		buf_reset(&text);
		buf_printf(&text, LIST_OK "bounce: { domain = \"%s\"; };\n",
		    longdom);
		c = load("bounce.conf", text.p, 0, &m);
		if (i == 0) {
			CHECK_INT("212-octet domain: length", strlen(longdom),
			    212);
			CHECK("212-octet domain loads", c != NULL);
		} else
			CHECK("213-octet domain refused", c == NULL &&
			    strstr(msgs_text(&m), "over 254") != NULL);
		config_free(c);
	}
	/* no section: MAIL FROM stays list.from's */
	c = load("bounce.conf", LIST_OK, 0, &m);
	CHECK("no bounce section", c != NULL && c->bounce_domain == NULL);
	config_free(c);
	buf_free(&text);
	buf_free(&m.all);
}

/*
 * smtp.relays: the single url form as one relay; a list with weights,
 * per-relay settings and smtp.connections split by weight; each relay's
 * password read; what is refused, naming the key and line.
 */
static void
test_relays(void)
{
	static const struct {
		const char	*name;
		const char	*text;
		const char	*want[3];	/* ":LINE: message" suffixes */
	} bad[] = {
		{ "rboth.conf", LIST_OK
		    "smtp: { url = \"smtp://127.0.0.1:25\";\n"
		    "  relays = ( { url = \"smtp://127.0.0.1:26\"; } ); };\n",
		    { ":3: smtp.url: set together with smtp.relays" } },
		{ "rkeys.conf", LIST_OK
		    "smtp: { relays = ( { url = \"smtp://a.example:25\";\n"
		    "  port = 25; weight = 0; },\n"
		    "  { weight = 2; } ); };\n",
		    { ":4: unknown key \"smtp.relays[1].port\"",
		    ":4: smtp.relays[1].weight: 0 is out of range (1 to 1000)",
		    ":5: smtp.relays[2].url: missing" } },
		{ "rtls.conf", LIST_OK
		    "smtp: { relays = ( { url = \"http://a.example\"; },\n"
		    "  { url = \"smtps://b.example\";\n"
		    "    tls = \"starttls\"; } ); };\n",
		    { ":3: smtp.relays[1].url: must be smtp:// or smtps://",
		    ":5: smtp.relays[2].tls: smtps:// needs tls = \"tls\"" } },
		{ "rauth.conf", LIST_OK
		    "smtp: { relays = ( { url = \"smtp://127.0.0.1:25\";\n"
		    "  username = \"u\"; },\n"
		    "  { url = \"smtp://mail.example.net\";\n"
		    "    username = \"u\"; password_file = \"pw\"; } ); };\n",
		    { ":3: smtp.relays[1].username: set without "
		    "smtp.relays[1].password_file",
		    ":6: smtp.relays[2].username: AUTH would send the password "
		    "in clear text to mail.example.net" } },
		{ "rdup.conf", LIST_OK
		    "smtp: { relays = ( { url = \"smtp://a.example\"; },\n"
		    "  { url = \"smtp://a.example\"; } ); };\n",
		    { ":4: smtp.relays[2].url: the same as smtp.relays[1]'s" } },
		{ "rempty.conf", LIST_OK "smtp: { relays = ( ); };\n",
		    { ":3: smtp.relays: 1 to 32 relays, not 0" } },
		{ "rtype.conf", LIST_OK "smtp: { relays = \"x\"; };\n",
		    { ":3: smtp.relays: expected a list" } },
	};
	struct config		*c;
	struct config_relay	*r;
	struct msgs		 m = { 0 };
	char			 want[600], path[PATH_MAX];
	size_t			 i, j;
	int			 nwant;

	/* the single form: one relay */
	c = load("r1.conf", LIST_OK "smtp: { url = \"smtp://u@127.0.0.1:2525/x\";"
	    " connections = 6; };\n", 0, &m);
	CHECK("single: loads", c != NULL);
	if (c != NULL) {
		CHECK_INT("single: one relay", c->smtp_nrelays, 1);
		CHECK_STR("single: name", c->smtp_relays[0].name,
		    "127.0.0.1:2525");
		CHECK_STR("single: url", c->smtp_relays[0].url,
		    "smtp://u@127.0.0.1:2525/x");
		CHECK_INT("single: connections", c->smtp_relays[0].connections,
		    6);
		CHECK_INT("single: sessions", c->smtp_sessions, 6);
	}
	config_free(c);

	/* a list: weights, split connections, per-relay TLS and AUTH */
	snprintf(path, sizeof(path), "%s/relay-pw", dir);
	write_file(path, "s3cret\n", 0600);
	c = load("r2.conf", LIST_OK
	    "smtp: { connections = 8; ca_file = \"ca.pem\";\n"
	    "  relays = ( { url = \"smtp://127.0.0.1:2525\"; weight = 3; },\n"
	    "    { url = \"smtps://mail.example.net\"; username = \"robot\";\n"
	    "      password_file = \"relay-pw\"; },\n"
	    "    { url = \"smtp://[::1]:587\"; tls = \"starttls\";\n"
	    "      connections = 2; weight = 5; } ); };\n", 0, &m);
	CHECK("list: loads", c != NULL);
	if (c == NULL)
		printf("%s", msgs_text(&m));
	if (c != NULL && c->smtp_nrelays == 3) {
		r = c->smtp_relays;
		CHECK_STR("list: name 1", r[0].name, "127.0.0.1:2525");
		CHECK_STR("list: name 2", r[1].name, "mail.example.net");
		CHECK_STR("list: name 3", r[2].name, "[::1]:587");
		CHECK_INT("list: weight 1", r[0].weight, 3);
		CHECK_INT("list: weight 2 default", r[1].weight, 1);
		CHECK_INT("list: tls 1 from the URL", r[0].tls, SMTP_TLS_NONE);
		CHECK_INT("list: tls 2 from the URL", r[1].tls, SMTP_TLS_TLS);
		CHECK_INT("list: tls 3", r[2].tls, SMTP_TLS_STARTTLS);
		/* 8 by weight 3:1 among those without their own */
		CHECK_INT("list: split 1", r[0].connections, 6);
		CHECK_INT("list: split 2", r[1].connections, 2);
		CHECK_INT("list: own 3", r[2].connections, 2);
		CHECK_INT("list: sessions", c->smtp_sessions, 10);
		CHECK_STR("list: username", r[1].username, "robot");
		CHECK_STR("list: password read", r[1].password, "s3cret");
		CHECK("list: no AUTH on 1", r[0].username == NULL &&
		    r[0].password == NULL);
	} else
		CHECK_INT("list: three relays", c ? c->smtp_nrelays : -1, 3);
	config_free(c);

	/* the split: at least one each, the rest to the fewest per weight */
	c = load("r3.conf", LIST_OK
	    "smtp: { connections = 2;\n"
	    "  relays = ( { url = \"smtp://a.example\"; weight = 10; },\n"
	    "    { url = \"smtp://b.example\"; },\n"
	    "    { url = \"smtp://c.example\"; } ); };\n", CONFIG_NOSECRETS,
	    &m);
	CHECK("split: loads", c != NULL);
	if (c != NULL) {
		CHECK_INT("split: a", c->smtp_relays[0].connections, 1);
		CHECK_INT("split: b at least one", c->smtp_relays[1].connections,
		    1);
		CHECK_INT("split: c at least one", c->smtp_relays[2].connections,
		    1);
		CHECK_INT("split: sessions", c->smtp_sessions, 3);
	}
	config_free(c);
	c = load("r4.conf", LIST_OK
	    "smtp: { connections = 7;\n"
	    "  relays = ( { url = \"smtp://a.example\"; weight = 1; },\n"
	    "    { url = \"smtp://b.example\"; weight = 1; } ); };\n",
	    CONFIG_NOSECRETS, &m);
	CHECK("split 7: loads", c != NULL);
	if (c != NULL)
		CHECK("split 7: 4 + 3", c->smtp_relays[0].connections +
		    c->smtp_relays[1].connections == 7 &&
		    c->smtp_relays[0].connections >= 3 &&
		    c->smtp_relays[1].connections >= 3);
	config_free(c);

	/* a relay's missing password file fails the load (and -t) */
	c = load("r5.conf", LIST_OK
	    "smtp: { relays = ( { url = \"smtp://127.0.0.1:25\";\n"
	    "  username = \"u\"; password_file = \"nopw\"; } ); };\n", 0, &m);
	CHECK("missing relay password: refused", c == NULL);
	snprintf(want, sizeof(want), "%s/r5.conf:4: "
	    "smtp.relays[1].password_file: ", dir);
	CHECK("missing relay password: names the key", strstr(msgs_text(&m),
	    want) != NULL);
	config_free(c);
	c = load("r5.conf", LIST_OK
	    "smtp: { relays = ( { url = \"smtp://127.0.0.1:25\";\n"
	    "  username = \"u\"; password_file = \"nopw\"; } ); };\n",
	    CONFIG_NOSECRETS, &m);
	CHECK("NOSECRETS: not read", c != NULL && c->smtp_relays[0].password ==
	    NULL);
	config_free(c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = load(bad[i].name, bad[i].text, CONFIG_NOSECRETS, &m);
		CHECK(bad[i].name, c == NULL);
		config_free(c);
		nwant = 0;
		for (j = 0; j < 3 && bad[i].want[j] != NULL; j++) {
			nwant++;
			snprintf(want, sizeof(want), "%s/%s%s", dir,
			    bad[i].name, bad[i].want[j]);
			if (strstr(msgs_text(&m), want) == NULL) {
				CHECK(bad[i].name, 0);
				printf("  want \"%s\" in:\n%s", want,
				    msgs_text(&m));
			} else
				CHECK(bad[i].name, 1);
		}
		CHECK_INT(bad[i].name, m.n, nwant);
	}
	buf_free(&m.all);
}

int
main(void)
{
	char	real[PATH_MAX];

	if (mkdtemp(dir) == NULL || realpath(dir, real) == NULL ||
	    strlen(real) >= sizeof(realdir)) {
		perror("mkdtemp");
		return 1;
	}
	memcpy(realdir, real, strlen(real) + 1);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* the lines before a kill */
	/* a path wrongly left relative lands in the temp dir too */
	if (chdir(dir) == -1) {
		perror(dir);
		return 1;
	}
	test_defaults();
	test_values();
	test_paths();
	test_errors_all();
	test_errors_semantic();
	test_tls();
	test_from();
	test_base_url();
	test_description();
	test_site_language();
	test_password();
	test_cleartext_auth();
	alarm(20);		/* a FIFO that blocks the open: fail, not hang */
	test_password_kinds();
	alarm(0);
	test_secret();
	test_storage_url();
	test_storage_pg();
	test_dkim();
	test_bounce();
	test_relays();
	test_default_path();
	if (chdir("/") == -1)
		CHECK("chdir /", 0);
	CHECK_INT("temp dir removed", nftw(dir, rm_cb, 16, FTW_DEPTH |
	    FTW_PHYS), 0);
	return unit_done("config");
}
