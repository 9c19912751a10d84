/*
 * config.c -- load and check broadside.conf (libconfig syntax).
 *
 * Every key of the contract is in one table with its type, range and
 * default.  The whole file is checked before anything is opened; every
 * problem is reported as "file:line: message" through the caller's
 * callback, and any problem makes config_load() return NULL.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "addr.h"
#include "broadside.h"
#include "dest.h"
#include "dkim.h"
#include "lang.h"
#include "render.h"
#include "verp.h"

#ifndef BROADSIDE_TEMPLATES
#define BROADSIDE_TEMPLATES	"/usr/share/broadside/templates"
#endif

enum config_type { CT_STR, CT_INT, CT_FLOAT, CT_PATH };

struct config_key {
	const char	*group;		/* NULL for top level */
	const char	*name;
	enum config_type type;
	double		 min, max;
	const char	*def;		/* default, as text; NULL = none */
	size_t		 off;		/* offset in struct config */
};

#define OFF(f)	offsetof(struct config, f)
#define CONFIG_DESCRIPTION_MAX	1000	/* octets in list.description */

static const struct config_key config_keys[] = {
	{ "list", "name", CT_STR, 0, 0, NULL, OFF(list_name) },
	{ "list", "from", CT_STR, 0, 0, NULL, OFF(list_from) },
	{ "list", "reply_to", CT_STR, 0, 0, NULL, OFF(list_reply_to) },
	{ "list", "id", CT_STR, 0, 0, NULL, OFF(list_id) },
	{ "list", "base_url", CT_STR, 0, 0, NULL, OFF(list_base_url) },
	{ "list", "description", CT_STR, 0, 0, NULL, OFF(list_description) },
	{ "site", "language", CT_STR, 0, 0, "en", OFF(site_language) },
	{ "smtp", "url", CT_STR, 0, 0, "smtp://127.0.0.1:25", OFF(smtp_url) },
	{ "smtp", "tls", CT_STR, 0, 0, NULL, 0 },
	{ "smtp", "ca_file", CT_PATH, 0, 0, NULL, OFF(smtp_ca_file) },
	{ "smtp", "username", CT_STR, 0, 0, NULL, OFF(smtp_username) },
	{ "smtp", "password_file", CT_PATH, 0, 0, NULL,
	    OFF(smtp_password_file) },
	{ "smtp", "connections", CT_INT, 1, 256, "4", OFF(smtp_connections) },
	{ "smtp", "timeout", CT_INT, 1, 3600, "30", OFF(smtp_timeout) },
	{ "smtp", "relays", CT_STR, 0, 0, NULL, 0 },	/* a list: see
							   config_check_relays */
	{ "rate", "messages_per_second", CT_FLOAT, 0, 1e6, "0",
	    OFF(rate_mps) },
	{ "rate", "burst", CT_INT, 1, 1000000, "10", OFF(rate_burst) },
	{ "rate", "batch_size", CT_INT, 1, 100000, "500",
	    OFF(rate_batch_size) },
	{ "retry", "max_attempts", CT_INT, 1, 1000, "5",
	    OFF(retry_max_attempts) },
	{ "retry", "initial_delay", CT_INT, 1, 86400, "60",
	    OFF(retry_initial_delay) },
	{ "retry", "max_delay", CT_INT, 1, 30 * 86400, "3600",
	    OFF(retry_max_delay) },
	{ "storage", "path", CT_PATH, 0, 0, "/var/lib/broadside/broadside.db",
	    OFF(storage_path) },
	{ "storage", "url", CT_STR, 0, 0, NULL, OFF(storage_url) },
	{ "storage", "node", CT_STR, 0, 0, NULL, OFF(storage_node) },
	{ "storage", "password_file", CT_PATH, 0, 0, NULL,
	    OFF(storage_password_file) },
	{ "subscribers", "file", CT_PATH, 0, 0, NULL,
	    OFF(subscribers_file) },
	{ "control", "socket", CT_PATH, 0, 0, "/run/broadside/control.sock",
	    OFF(control_socket) },
	{ "http", "listen", CT_STR, 0, 0, NULL, OFF(http_listen) },
	{ "feed", "items", CT_INT, 1, 10000, "20", OFF(feed_items) },
	{ "feed", "path", CT_PATH, 0, 0, "/var/lib/broadside/feed.xml",
	    OFF(feed_path) },
	{ "templates", "dir", CT_PATH, 0, 0, BROADSIDE_TEMPLATES,
	    OFF(templates_dir) },
	{ NULL, "secret_file", CT_PATH, 0, 0, "/var/lib/broadside/secret",
	    OFF(secret_file) },
	{ "dkim", "domain", CT_STR, 0, 0, NULL, OFF(dkim_domain) },
	{ "dkim", "selector", CT_STR, 0, 0, NULL, OFF(dkim_selector) },
	{ "dkim", "key_file", CT_PATH, 0, 0, NULL, OFF(dkim_key_file) },
	{ "dkim", "ed25519_selector", CT_STR, 0, 0, NULL,
	    OFF(dkim_ed25519_selector) },
	{ "dkim", "ed25519_key_file", CT_PATH, 0, 0, NULL,
	    OFF(dkim_ed25519_key_file) },
	{ "bounce", "domain", CT_STR, 0, 0, NULL, OFF(bounce_domain) },
	{ "pacing", "default", CT_FLOAT, 0, 1e6, "0", OFF(pacing_default) },
	{ "pacing", "dns", CT_STR, 0, 0, NULL, OFF(pacing_dns) },
	{ "pacing", "groups", CT_STR, 0, 0, NULL, 0 },	/* a list: see
							   config_check_pacing */
};
#define NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

struct config_ctx {
	const char	*file;
	int		 (*report)(void *, const char *);
	void		*arg;
	int		 errors;
	char		*dir;
};

static void config_error(struct config_ctx *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
config_error(struct config_ctx *ctx, int line, const char *fmt, ...)
{
	char	 msg[1024], full[1200];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", ctx->file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", ctx->file, msg);
	ctx->errors++;
	if (ctx->report != NULL)
		ctx->report(ctx->arg, full);
}

const char *
config_default_path(void)
{
	const char	*p = getenv("BROADSIDE_CONFIG");

	return (p != NULL && *p != '\0') ? p : BROADSIDE_DEFAULT_CONFIG;
}

static const struct config_key *
config_find(const char *group, const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++) {
		if ((group == NULL) != (config_keys[i].group == NULL))
			continue;
		if (group != NULL && strcmp(group, config_keys[i].group) != 0)
			continue;
		if (strcmp(name, config_keys[i].name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

static int
config_is_group(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (config_keys[i].group != NULL &&
		    strcmp(config_keys[i].group, name) == 0)
			return 1;
	return 0;
}

static char *
config_path(struct config_ctx *ctx, const char *v)
{
	char	*p;

	if (v[0] == '/')
		return xstrdup(v);
	xasprintf(&p, "%s/%s", ctx->dir, v);
	return p;
}

/* Store one value (from the file or a default) into the struct. */
static void
config_set(struct config_ctx *ctx, struct config *c,
    const struct config_key *k, const config_setting_t *s, const char *def)
{
	char		 where[128];
	const char	*str = NULL;
	double		 d = 0;
	int		 line = s ? (int)config_setting_source_line(s) : 0;

	if (k->group)
		snprintf(where, sizeof(where), "%s.%s", k->group, k->name);
	else
		snprintf(where, sizeof(where), "%s", k->name);

	if (s == NULL) {
		str = def;
		d = strtod(def, NULL);
	} else {
		switch (k->type) {
		case CT_STR:
		case CT_PATH:
			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				config_error(ctx, line, "%s: expected a string",
				    where);
				return;
			}
			str = config_setting_get_string(s);
			if (!text_header_safe(str, strlen(str))) {
				config_error(ctx, line,
				    "%s: control character in value", where);
				return;
			}
			if (!utf8_valid(str, strlen(str))) {
				config_error(ctx, line, "%s: invalid UTF-8",
				    where);
				return;
			}
			break;
		case CT_INT:
			if (config_setting_type(s) != CONFIG_TYPE_INT &&
			    config_setting_type(s) != CONFIG_TYPE_INT64) {
				config_error(ctx, line,
				    "%s: expected an integer", where);
				return;
			}
			d = (double)config_setting_get_int64(s);
			break;
		case CT_FLOAT:
			if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
				d = config_setting_get_float(s);
			else if (config_setting_type(s) == CONFIG_TYPE_INT ||
			    config_setting_type(s) == CONFIG_TYPE_INT64)
				d = (double)config_setting_get_int64(s);
			else {
				config_error(ctx, line, "%s: expected a number",
				    where);
				return;
			}
			break;
		}
	}
	if ((k->type == CT_INT || k->type == CT_FLOAT) &&
	    (!isfinite(d) || d < k->min || d > k->max)) {
		config_error(ctx, line, "%s: %g is out of range (%g to %g)",
		    where, d, k->min, k->max);
		return;
	}
	if (k->off == 0 && k->type == CT_STR)
		return;		/* handled specially (smtp.tls) */
	switch (k->type) {
	case CT_STR:
		*(char **)((char *)c + k->off) = str ? xstrdup(str) : NULL;
		break;
	case CT_PATH:
		if (str != NULL && *str == '\0') {
			config_error(ctx, line, "%s: empty path", where);
			return;
		}
		*(char **)((char *)c + k->off) = str ? config_path(ctx, str) :
		    NULL;
		break;
	case CT_INT:
		*(int *)((char *)c + k->off) = (int)d;
		break;
	case CT_FLOAT:
		*(double *)((char *)c + k->off) = d;
		break;
	}
}

/* "Name <addr>" or "addr" -> name (may be empty) and normalised addr. */
static int
config_parse_mailbox(const char *v, char **name, char **addr, char *err,
    size_t errlen)
{
	const char	*lt, *gt, *start, *end;
	char		 a[512], *raw;
	int		 ret;

	lt = strrchr(v, '<');
	gt = strrchr(v, '>');
	if (lt == NULL && gt == NULL) {
		start = v;
		end = v;
		raw = xstrdup(v);
	} else {
		if (lt == NULL || gt == NULL || gt < lt || gt[1] != '\0') {
			snprintf(err, errlen, "expected \"Name <address>\"");
			return -1;
		}
		start = v;
		end = lt;
		raw = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	}
	ret = addr_normalize(raw, a, sizeof(a), err, errlen);
	free(raw);
	if (ret == -1)
		return -1;
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end - start >= 2 && *start == '"' && end[-1] == '"') {
		start++;
		end--;
	}
	*name = xstrndup(start, (size_t)(end - start));
	*addr = xstrdup(a);
	return 0;
}

/* The line a key is on in the file, 0 if it is not there. */
static int
config_line(config_t *cf, const char *path)
{
	const config_setting_t	*s = config_lookup(cf, path);

	return s ? (int)config_setting_source_line(s) : 0;
}

/*
 * storage.url: "sqlite:PATH" or a plain path, as storage.path; or a
 * PostgreSQL URL (libpq's), kept as written in storage_path, which must
 * not hold the password (storage.password_file or a libpq passfile
 * does).  Messages name the scheme only: a URL may hold a password.
 */
/* Whether a libpq URL carries a password: user:PASS@ or password=. */
static int
config_url_password(const char *url)
{
	const char	*auth = strstr(url, "://") + 3, *end, *at, *q;

	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	if (at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL)
		return 1;
	for (q = strchr(url, '?'); q != NULL; q = strchr(q + 1, '&'))
		if (strncmp(q + 1, "password=", 9) == 0)
			return 1;
	return 0;
}

static void
config_check_storage_url(struct config_ctx *ctx, struct config *c,
    config_t *cf)
{
	const char	*url = c->storage_url, *path = url, *sep;
	int		 line = config_line(cf, "storage.url");

	if (config_line(cf, "storage.path") > 0) {
		config_error(ctx, line, "storage.url: storage.path is set "
		    "too; set one of them");
		return;
	}
	if (strncmp(url, "sqlite:", 7) == 0) {
		path = url + 7;
		if (strncmp(path, "//", 2) == 0)
			path += 2;		/* sqlite://PATH */
	} else if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		if (config_url_password(url)) {
			config_error(ctx, line, "storage.url: holds a password; "
			    "put it in storage.password_file (or a libpq "
			    "passfile)");
			return;
		}
		free(c->storage_path);
		c->storage_path = xstrdup(url);
		return;
	} else if ((sep = strstr(url, "://")) != NULL ||
	    ((sep = strchr(url, ':')) != NULL && strchr(url, '/') != NULL &&
	    sep < strchr(url, '/'))) {
		config_error(ctx, line, "storage.url: unknown scheme \"%.*s\" "
		    "(want sqlite:PATH or a path)", (int)(sep - url) > 32 ?
		    32 : (int)(sep - url), url);
		return;
	}
	if (*path == '\0') {
		config_error(ctx, line, "storage.url: no path");
		return;
	}
	free(c->storage_path);
	c->storage_path = config_path(ctx, path);
}

/*
 * Whether smtp.url names a loopback host (localhost, 127.0.0.0/8, ::1),
 * where a password in clear text never crosses a network.  host gets
 * the host as written, for the message.
 */
static int
config_url_loopback(const char *url, char *host, size_t hostlen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*p, *end, *at;
	size_t		 n;

	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;		/* user:pass@host */
	if (*p == '[') {
		p++;
		end = strchr(p, ']') ? strchr(p, ']') : end;
	} else if (memchr(p, ':', (size_t)(end - p)) != NULL)
		end = memchr(p, ':', (size_t)(end - p));
	n = (size_t)(end - p);
	if (n >= hostlen)
		n = hostlen - 1;
	memcpy(host, p, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) &&
		    a6.s6_addr[12] == 127);
	return 0;
}

/*
 * dkim: domain, selector and key_file, the Ed25519 pair together; the
 * domain must be From's or a parent of it, or DMARC (relaxed alignment)
 * does not count the signature.  The keys are read by config_read_dkim.
 */
static void
config_check_dkim(struct config_ctx *ctx, struct config *c, config_t *cf)
{
	const char	*dom, *from;
	size_t		 dl, fl;
	int		 line = config_line(cf, "dkim");

	if (c->dkim_domain == NULL)
		config_error(ctx, line, "dkim.domain: missing (the d= domain, "
		    "that of list.from)");
	if (c->dkim_selector == NULL)
		config_error(ctx, line, "dkim.selector: missing (the RSA "
		    "key's selector)");
	if (c->dkim_key_file == NULL)
		config_error(ctx, line, "dkim.key_file: missing (a PEM RSA "
		    "key of 2048 bits or more)");
	if (c->dkim_ed25519_selector != NULL &&
	    c->dkim_ed25519_key_file == NULL)
		config_error(ctx, line, "dkim.ed25519_key_file: missing "
		    "(ed25519_selector is set)");
	if (c->dkim_ed25519_selector == NULL &&
	    c->dkim_ed25519_key_file != NULL)
		config_error(ctx, line, "dkim.ed25519_selector: missing "
		    "(ed25519_key_file is set)");
	if (c->dkim_domain == NULL || c->list_from_addr == NULL)
		return;
	dom = c->dkim_domain;
	from = strrchr(c->list_from_addr, '@') + 1;
	dl = strlen(dom);
	fl = strlen(from);
	if (!(fl == dl && strcasecmp(from, dom) == 0) &&
	    !(fl > dl && from[fl - dl - 1] == '.' &&
	    strcasecmp(from + fl - dl, dom) == 0))
		config_error(ctx, config_line(cf, "dkim.domain"),
		    "dkim.domain: \"%s\" is neither list.from's domain (%s) "
		    "nor a parent of it, so DMARC would not count the "
		    "signature", dom, from);
}

/*
 * bounce: the domain of the envelope senders, whose mail (the DSNs and
 * complaints) the MTA hands to `broadside bounce`.  Checked as the
 * longest such address: "b-" + VERP_LEN characters + "@" + domain.
 */
static void
config_check_bounce(struct config_ctx *ctx, struct config *c, config_t *cf)
{
	char	 sample[600], out[600], err[256];
	int	 line = config_line(cf, "bounce.domain");

	if (c->bounce_domain == NULL) {
		config_error(ctx, config_line(cf, "bounce"), "bounce.domain: "
		    "missing (the domain of the envelope senders, e.g. "
		    "\"bounces.example.org\")");
		return;
	}
	snprintf(sample, sizeof(sample), VERP_PREFIX "%0*d@%s", VERP_LEN, 0,
	    c->bounce_domain);
	if (strchr(c->bounce_domain, '@') != NULL ||
	    addr_normalize(sample, out, sizeof(out), err, sizeof(err)) == -1) {
		config_error(ctx, line, "bounce.domain: \"%s\" is not a "
		    "domain for envelope senders (%s)", c->bounce_domain,
		    strchr(c->bounce_domain, '@') ? "an address, not a domain" :
		    err);
		return;
	}
	free(c->bounce_domain);
	c->bounce_domain = xstrdup(strrchr(out, '@') + 1);
}

static void
config_check(struct config_ctx *ctx, struct config *c, config_t *cf)
{
	const config_setting_t	*s;
	const char		*tls = NULL;
	char			 err[256];
	size_t			 n;
	int			 line, errors0;

	/* list */
	if (c->list_from == NULL)
		config_error(ctx, 0, "list.from: missing (the From address)");
	else if (config_parse_mailbox(c->list_from, &c->list_from_name,
	    &c->list_from_addr, err, sizeof(err)) == -1) {
		config_error(ctx, config_line(cf, "list.from"),
		    "list.from: %s", err);
	}
	if (c->list_reply_to != NULL) {
		char *rn = NULL, *ra = NULL;

		if (config_parse_mailbox(c->list_reply_to, &rn, &ra, err,
		    sizeof(err)) == -1) {
			config_error(ctx, config_line(cf, "list.reply_to"),
			    "list.reply_to: %s", err);
		}
		free(rn);
		free(ra);
	}
	if (c->list_id == NULL)
		config_error(ctx, 0, "list.id: missing (e.g. "
		    "\"statements.example.org\")");
	else {
		char tmp[300], out[300];

		snprintf(tmp, sizeof(tmp), "x@%s", c->list_id);
		if (addr_normalize(tmp, out, sizeof(out), err, sizeof(err))
		    == -1) {
			config_error(ctx, config_line(cf, "list.id"),
			    "list.id: not a domain-like identifier");
		}
	}
	if (c->list_name == NULL && c->list_id != NULL)
		c->list_name = xstrdup(c->list_id);
	/* a paragraph on the site and in its sharing cards, not a page */
	if (c->list_description != NULL &&
	    strlen(c->list_description) > CONFIG_DESCRIPTION_MAX)
		config_error(ctx, config_line(cf, "list.description"),
		    "list.description: longer than %d octets",
		    CONFIG_DESCRIPTION_MAX);
	/* kept in the registry's case: it names files and feeds */
	if (c->site_language != NULL) {
		char tag[LANG_MAX];

		if (lang_norm(c->site_language, tag, sizeof(tag)) == -1)
			config_error(ctx, config_line(cf, "site.language"),
			    "site.language: \"%s\" is not a language tag "
			    "such as \"en\", \"es\" or \"pt-BR\"",
			    c->site_language);
		else
			memcpy(c->site_language, tag, strlen(tag) + 1);
	}
	if (c->list_base_url == NULL)
		config_error(ctx, 0, "list.base_url: missing (public URL used "
		    "for unsubscribe and archive links)");
	else {
		line = config_line(cf, "list.base_url");
		if (strncmp(c->list_base_url, "https://", 8) != 0 &&
		    strncmp(c->list_base_url, "http://", 7) != 0)
			config_error(ctx, line,
			    "list.base_url: must start with https://");
		else if (strpbrk(c->list_base_url, " \"<>") != NULL)
			config_error(ctx, line,
			    "list.base_url: space or quote in URL");
		n = strlen(c->list_base_url);
		while (n > 0 && c->list_base_url[n - 1] == '/')
			c->list_base_url[--n] = '\0';
	}

	/* smtp */
	errors0 = ctx->errors;
	line = config_line(cf, "smtp.url");
	if (strncmp(c->smtp_url, "smtp://", 7) != 0 &&
	    strncmp(c->smtp_url, "smtps://", 8) != 0)
		config_error(ctx, line, "smtp.url: must be smtp:// or smtps://");
	s = config_lookup(cf, "smtp.tls");
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING)
		tls = config_setting_get_string(s);
	line = s ? (int)config_setting_source_line(s) : 0;
	if (tls == NULL)
		c->smtp_tls = strncmp(c->smtp_url, "smtps://", 8) == 0 ?
		    SMTP_TLS_TLS : SMTP_TLS_NONE;
	else if (strcmp(tls, "none") == 0)
		c->smtp_tls = SMTP_TLS_NONE;
	else if (strcmp(tls, "starttls") == 0)
		c->smtp_tls = SMTP_TLS_STARTTLS;
	else if (strcmp(tls, "tls") == 0)
		c->smtp_tls = SMTP_TLS_TLS;
	else
		config_error(ctx, line,
		    "smtp.tls: \"%s\" is not none, starttls or tls", tls);
	if (tls != NULL && strncmp(c->smtp_url, "smtps://", 8) == 0 &&
	    c->smtp_tls != SMTP_TLS_TLS)
		config_error(ctx, line, "smtp.tls: smtps:// needs tls = \"tls\"");
	if (c->smtp_password_file != NULL && c->smtp_username == NULL)
		config_error(ctx, 0, "smtp.password_file: set without "
		    "smtp.username");
	if (c->smtp_username != NULL && c->smtp_password_file == NULL)
		config_error(ctx, 0, "smtp.username: set without "
		    "smtp.password_file");
	/* once the URL and tls are right (one problem, one message) */
	if (c->smtp_username != NULL && ctx->errors == errors0 &&
	    c->smtp_tls == SMTP_TLS_NONE &&
	    !config_url_loopback(c->smtp_url, err, sizeof(err)))
		config_error(ctx, config_line(cf, "smtp.username"),
		    "smtp.username: AUTH would send the password in clear text "
		    "to %s; set smtp.tls = \"starttls\" (or an smtps:// URL), "
		    "or use a relay on a loopback address", err);

	if (c->storage_url != NULL)
		config_check_storage_url(ctx, c, cf);
	if (c->storage_password_file != NULL && (c->storage_url == NULL ||
	    (strncmp(c->storage_url, "postgresql://", 13) != 0 &&
	    strncmp(c->storage_url, "postgres://", 11) != 0)))
		config_error(ctx, config_line(cf, "storage.password_file"),
		    "storage.password_file: only for a postgresql:// "
		    "storage.url");
	if (c->storage_node != NULL) {
		n = strlen(c->storage_node);
		if (n == 0 || n > 63 || strspn(c->storage_node,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789.-_") != n)
			config_error(ctx, config_line(cf, "storage.node"),
			    "storage.node: 1 to 63 letters, digits, '.', '-' "
			    "or '_'");
	}

	if (config_lookup(cf, "dkim") != NULL)
		config_check_dkim(ctx, c, cf);

	if (config_lookup(cf, "bounce") != NULL)
		config_check_bounce(ctx, c, cf);

	if (c->retry_max_delay < c->retry_initial_delay) {
		config_error(ctx, config_line(cf, "retry.max_delay"),
		    "retry.max_delay: less than retry.initial_delay");
	}
	if (c->http_listen != NULL) {
		const char *colon = strrchr(c->http_listen, ':');
		char *endp;
		long port = colon ? strtol(colon + 1, &endp, 10) : 0;

		if (colon == NULL || colon == c->http_listen ||
		    *endp != '\0' || port < 1 || port > 65535) {
			config_error(ctx, config_line(cf, "http.listen"),
			    "http.listen: expected \"address:port\"");
		}
	}
}

/*
 * Read a password file (key names it in messages) into *out; trailing
 * newline stripped.  Never printed.  line: where the key is set.
 */
static void
config_read_pwfile(struct config_ctx *ctx, const char *key, const char *path,
    char **out, int line)
{
	struct stat	 st;
	char		 err[512], *data;
	size_t		 len;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		config_error(ctx, line, "%s: %s: not a regular file", key, path);
		return;
	}
	if (read_file(path, &data, &len, 4096, err, sizeof(err)) == -1) {
		config_error(ctx, line, "%s: %s", key, err);
		return;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	if (memchr(data, '\0', len) != NULL || strpbrk(data, "\r\n")) {
		config_error(ctx, line, "%s: more than one line", key);
		explicit_bzero(data, len);
		free(data);
		return;
	}
	*out = data;
}

/*
 * Read the SMTP password; trailing newline stripped.  Never printed.
 * line: where smtp.password_file is set, for the messages.
 */
static void
config_read_password(struct config_ctx *ctx, struct config *c, int line)
{
	struct stat	 st;
	char		 err[512], *data;
	size_t		 len;

	if (c->smtp_password_file == NULL)
		return;
	/* a FIFO or a device would block the open: only a regular file */
	if (stat(c->smtp_password_file, &st) == 0 && !S_ISREG(st.st_mode)) {
		config_error(ctx, line, "smtp.password_file: %s: not a regular "
		    "file", c->smtp_password_file);
		return;
	}
	if (read_file(c->smtp_password_file, &data, &len, 4096, err,
	    sizeof(err)) == -1) {
		config_error(ctx, line, "smtp.password_file: %s", err);
		return;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	if (memchr(data, '\0', len) != NULL || strpbrk(data, "\r\n")) {
		config_error(ctx, line, "smtp.password_file: more than one "
		    "line");
		free(data);
		return;
	}
	c->smtp_password = data;
}

/*
 * smtp.relays: a list of relays, each a group of url, weight, tls,
 * username, password_file and connections; messages are spread by
 * weight.  Without it, one relay is made of smtp.url and its keys.
 * Setting both is an error (which one is meant?), as are the per-relay
 * keys at the smtp level.  Each relay is checked as smtp.url is: the
 * scheme, tls, both or neither of username and password_file, and AUTH
 * in clear text only to a loopback host.  A relay without connections
 * gets its weight's share of smtp.connections (at least one), among the
 * relays that set none.
 */
#define CONFIG_RELAYS_MAX	32

static const char *config_relay_keys[] = { "url", "weight", "tls",
    "username", "password_file", "connections", NULL };

/* host[:port] of an smtp:// URL, without any user part. */
static char *
config_relay_name(const char *url)
{
	const char	*p = strstr(url, "://"), *end, *at;

	p = p != NULL ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;
	return xstrndup(p, (size_t)(end - p));
}

/* A string key of relay elem; NULL if absent or wrong (reported). */
static const char *
config_relay_str(struct config_ctx *ctx, config_setting_t *elem,
    const char *where, const char *key)
{
	config_setting_t	*s = config_setting_get_member(elem, key);
	const char		*v;
	int			 line;

	if (s == NULL)
		return NULL;
	line = (int)config_setting_source_line(s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		config_error(ctx, line, "%s.%s: expected a string", where, key);
		return NULL;
	}
	v = config_setting_get_string(s);
	if (!text_header_safe(v, strlen(v)) || !utf8_valid(v, strlen(v))) {
		config_error(ctx, line, "%s.%s: control character or invalid "
		    "UTF-8 in value", where, key);
		return NULL;
	}
	if (*v == '\0') {
		config_error(ctx, line, "%s.%s: empty", where, key);
		return NULL;
	}
	return v;
}

/* An integer key of relay elem in [min, max]; def if absent. */
static int
config_relay_int(struct config_ctx *ctx, config_setting_t *elem,
    const char *where, const char *key, int min, int max, int def)
{
	config_setting_t	*s = config_setting_get_member(elem, key);
	long long		 v;
	int			 line;

	if (s == NULL)
		return def;
	line = (int)config_setting_source_line(s);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		config_error(ctx, line, "%s.%s: expected an integer", where, key);
		return def;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		config_error(ctx, line, "%s.%s: %lld is out of range (%d to %d)",
		    where, key, v, min, max);
		return def;
	}
	return (int)v;
}

static void
config_check_relay(struct config_ctx *ctx, struct config *c,
    config_setting_t *elem, int i, struct config_relay *r)
{
	config_setting_t	*s;
	const char		*url, *tls, *v;
	char			 where[64], host[256];
	int			 line = (int)config_setting_source_line(elem);
	int			 j, k, errors0 = ctx->errors;

	snprintf(where, sizeof(where), "smtp.relays[%d]", i + 1);
	if (!config_setting_is_group(elem)) {
		config_error(ctx, line, "%s: expected a group { url = ...; }",
		    where);
		return;
	}
	for (j = 0; j < config_setting_length(elem); j++) {
		s = config_setting_get_elem(elem, (unsigned int)j);
		for (k = 0; config_relay_keys[k] != NULL; k++)
			if (strcmp(config_setting_name(s),
			    config_relay_keys[k]) == 0)
				break;
		if (config_relay_keys[k] == NULL)
			config_error(ctx, (int)config_setting_source_line(s),
			    "unknown key \"%s.%s\"", where,
			    config_setting_name(s));
	}
	if ((url = config_relay_str(ctx, elem, where, "url")) == NULL) {
		if (config_setting_get_member(elem, "url") == NULL)
			config_error(ctx, line, "%s.url: missing", where);
		return;
	}
	if ((s = config_setting_get_member(elem, "url")) != NULL)
		line = (int)config_setting_source_line(s);
	if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0) {
		config_error(ctx, line, "%s.url: must be smtp:// or smtps://",
		    where);
		return;
	}
	r->url = xstrdup(url);
	r->name = config_relay_name(url);
	r->weight = config_relay_int(ctx, elem, where, "weight", 1, 1000, 1);
	r->connections = config_relay_int(ctx, elem, where, "connections", 1,
	    256, 0);
	tls = config_relay_str(ctx, elem, where, "tls");
	s = config_setting_get_member(elem, "tls");
	if (tls == NULL)
		r->tls = strncmp(url, "smtps://", 8) == 0 ? SMTP_TLS_TLS :
		    SMTP_TLS_NONE;
	else if (strcmp(tls, "none") == 0)
		r->tls = SMTP_TLS_NONE;
	else if (strcmp(tls, "starttls") == 0)
		r->tls = SMTP_TLS_STARTTLS;
	else if (strcmp(tls, "tls") == 0)
		r->tls = SMTP_TLS_TLS;
	else
		config_error(ctx, (int)config_setting_source_line(s),
		    "%s.tls: \"%s\" is not none, starttls or tls", where, tls);
	if (tls != NULL && strncmp(url, "smtps://", 8) == 0 &&
	    r->tls != SMTP_TLS_TLS)
		config_error(ctx, (int)config_setting_source_line(s),
		    "%s.tls: smtps:// needs tls = \"tls\"", where);
	if ((v = config_relay_str(ctx, elem, where, "username")) != NULL)
		r->username = xstrdup(v);
	if ((v = config_relay_str(ctx, elem, where, "password_file")) != NULL)
		r->password_file = config_path(ctx, v);
	line = (int)config_setting_source_line(elem);
	if (r->password_file != NULL && r->username == NULL)
		config_error(ctx, line, "%s.password_file: set without "
		    "%s.username", where, where);
	if (r->username != NULL && r->password_file == NULL)
		config_error(ctx, line, "%s.username: set without "
		    "%s.password_file", where, where);
	if (r->username != NULL && ctx->errors == errors0 &&
	    r->tls == SMTP_TLS_NONE &&
	    !config_url_loopback(url, host, sizeof(host)))
		config_error(ctx, (int)config_setting_source_line(
		    config_setting_get_member(elem, "username")),
		    "%s.username: AUTH would send the password in clear text "
		    "to %s; set tls = \"starttls\" (or an smtps:// URL), or "
		    "use a relay on a loopback address", where, host);
	for (j = 0; j < i; j++)
		if (c->smtp_relays[j].url != NULL &&
		    strcmp(c->smtp_relays[j].url, url) == 0)
			config_error(ctx, line, "%s.url: the same as "
			    "smtp.relays[%d]'s", where, j + 1);
}

/* The connections of the relays that set none (unset[i]):
 * smtp.connections by weight, at least one each; the remainder one at a
 * time to the relay with the fewest for its weight. */
static void
config_relays_split(struct config *c, const int *unset)
{
	struct config_relay	*r, *b;
	int			 i, best, sumw = 0, given = 0;

	for (i = 0; i < c->smtp_nrelays; i++)
		if (unset[i])
			sumw += c->smtp_relays[i].weight;
	if (sumw == 0)
		return;
	for (i = 0; i < c->smtp_nrelays; i++) {
		r = &c->smtp_relays[i];
		if (!unset[i])
			continue;
		r->connections = (int)((long)c->smtp_connections * r->weight /
		    sumw);
		if (r->connections < 1)
			r->connections = 1;
		given += r->connections;
	}
	while (given < c->smtp_connections) {
		best = -1;
		for (i = 0; i < c->smtp_nrelays; i++) {
			if (!unset[i])
				continue;
			r = &c->smtp_relays[i];
			b = best >= 0 ? &c->smtp_relays[best] : NULL;
			/* weight / connections, the largest */
			if (b == NULL || (long)r->weight * b->connections >
			    (long)b->weight * r->connections)
				best = i;
		}
		c->smtp_relays[best].connections++;
		given++;
	}
}

static void
config_check_relays(struct config_ctx *ctx, struct config *c, config_t *cf)
{
	config_setting_t	*list = config_lookup(cf, "smtp.relays");
	struct config_relay	*r;
	static const char	*single[] = { "url", "tls", "username",
	    "password_file" };
	char			 key[64];
	int			 i, n, line, *unset;
	size_t			 k;

	if (list == NULL) {
		/* the single form: one relay of smtp.url and its keys */
		c->smtp_nrelays = 1;
		c->smtp_relays = r = xcalloc(1, sizeof(*r));
		r->url = xstrdup(c->smtp_url);
		r->name = config_relay_name(c->smtp_url);
		r->tls = c->smtp_tls;
		r->username = c->smtp_username ? xstrdup(c->smtp_username) :
		    NULL;
		r->password_file = c->smtp_password_file ?
		    xstrdup(c->smtp_password_file) : NULL;
		r->weight = 1;
		r->connections = c->smtp_connections;
		c->smtp_sessions = r->connections;
		return;
	}
	line = (int)config_setting_source_line(list);
	for (k = 0; k < sizeof(single) / sizeof(single[0]); k++) {
		snprintf(key, sizeof(key), "smtp.%s", single[k]);
		if (config_line(cf, key) > 0)
			config_error(ctx, config_line(cf, key), "%s: set "
			    "together with smtp.relays; set it in each relay "
			    "instead%s", key, k == 0 ? " (one of smtp.url and "
			    "smtp.relays)" : "");
	}
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		config_error(ctx, line, "smtp.relays: expected a list ( { url "
		    "= \"smtp://...\"; weight = 1; }, ... )");
		return;
	}
	n = config_setting_length(list);
	if (n < 1 || n > CONFIG_RELAYS_MAX) {
		config_error(ctx, line, "smtp.relays: 1 to %d relays, not %d",
		    CONFIG_RELAYS_MAX, n);
		return;
	}
	c->smtp_relays = xcalloc((size_t)n, sizeof(*c->smtp_relays));
	c->smtp_nrelays = n;
	unset = xcalloc((size_t)n, sizeof(*unset));
	for (i = 0; i < n; i++) {
		config_check_relay(ctx, c, config_setting_get_elem(list,
		    (unsigned int)i), i, &c->smtp_relays[i]);
		unset[i] = c->smtp_relays[i].connections == 0;
	}
	if (ctx->errors == 0)
		config_relays_split(c, unset);
	free(unset);
	c->smtp_sessions = 0;
	for (i = 0; i < n; i++)
		c->smtp_sessions += c->smtp_relays[i].connections;
}

/*
 * pacing: a rate per destination group.  pacing.dns is an address and a
 * port (127.0.0.1:5353, [::1]:53); pacing.groups a list of { match;
 * rate; connections; }, match a domain (gmail.com) or an MX parent
 * domain (google.com), one group each: two matches of the same provider
 * (gmail.com and googlemail.com) are one group, so naming both is an
 * error; connections at most the relays' smtp connections.
 */
#define CONFIG_PACING_MAX	256

static const char *config_pacing_keys[] = { "match", "rate",
    "connections", NULL };

static void
config_check_pacing_group(struct config_ctx *ctx, struct config *c,
    config_setting_t *elem, int i, struct config_pacing *g)
{
	config_setting_t	*s;
	const char		*m;
	char			 where[64], key[256];
	int			 line = (int)config_setting_source_line(elem);
	int			 j, k;
	size_t			 n;

	snprintf(where, sizeof(where), "pacing.groups[%d]", i + 1);
	g->line = line;
	if (!config_setting_is_group(elem)) {
		config_error(ctx, line, "%s: expected a group { match = "
		    "\"gmail.com\"; rate = 20; }", where);
		return;
	}
	for (j = 0; j < config_setting_length(elem); j++) {
		s = config_setting_get_elem(elem, (unsigned int)j);
		for (k = 0; config_pacing_keys[k] != NULL; k++)
			if (strcmp(config_setting_name(s),
			    config_pacing_keys[k]) == 0)
				break;
		if (config_pacing_keys[k] == NULL)
			config_error(ctx, (int)config_setting_source_line(s),
			    "unknown key \"%s.%s\"", where,
			    config_setting_name(s));
	}
	if ((m = config_relay_str(ctx, elem, where, "match")) == NULL) {
		if (config_setting_get_member(elem, "match") == NULL)
			config_error(ctx, line, "%s.match: missing (a domain "
			    "such as \"gmail.com\")", where);
		return;
	}
	n = strlen(m);
	if (n > 253 || strspn(m, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n ||
	    strchr(m, '.') == NULL || m[0] == '.' || m[n - 1] == '.' ||
	    strstr(m, "..") != NULL) {
		config_error(ctx, (int)config_setting_source_line(
		    config_setting_get_member(elem, "match")), "%s.match: "
		    "\"%s\" is not a domain (want e.g. \"gmail.com\")", where,
		    m);
		return;
	}
	dest_key(m, key, sizeof(key));
	g->match = xstrdup(m);
	for (k = 0; g->match[k] != '\0'; k++)
		g->match[k] = (char)tolower((unsigned char)g->match[k]);
	g->key = xstrdup(key);
	g->rate = c->pacing_default;
	if ((s = config_setting_get_member(elem, "rate")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64 &&
		    config_setting_type(s) != CONFIG_TYPE_FLOAT)
			config_error(ctx, (int)config_setting_source_line(s),
			    "%s.rate: expected a number of messages a "
			    "second", where);
		else if ((g->rate = config_setting_type(s) ==
		    CONFIG_TYPE_FLOAT ? config_setting_get_float(s) :
		    (double)config_setting_get_int64(s)) < 0 ||
		    g->rate > 1e6)
			config_error(ctx, (int)config_setting_source_line(s),
			    "%s.rate: %g is out of range (0 to 1000000; 0: "
			    "unlimited)", where, g->rate);
	}
	g->connections = config_relay_int(ctx, elem, where, "connections", 1,
	    256, 0);
	if (g->connections > c->smtp_sessions)
		config_error(ctx, (int)config_setting_source_line(
		    config_setting_get_member(elem, "connections")),
		    "%s.connections: %d is more than the relays' %d (a cap "
		    "within smtp.connections)", where, g->connections,
		    c->smtp_sessions);
	for (j = 0; j < i; j++)
		if (c->pacing_groups[j].key != NULL &&
		    strcmp(c->pacing_groups[j].key, g->key) == 0)
			config_error(ctx, line, "%s.match: \"%s\" is in the "
			    "same group as pacing.groups[%d]'s \"%s\" (%s); "
			    "name one of them", where, g->match, j + 1,
			    c->pacing_groups[j].match, g->key);
}

static void
config_check_pacing(struct config_ctx *ctx, struct config *c, config_t *cf)
{
	config_setting_t	*list = config_lookup(cf, "pacing.groups");
	struct in_addr		 a4;
	char			 host[64], *end;
	const char		*d = c->pacing_dns, *colon;
	long			 port;
	int			 i, n, line, ok = 0;

	if (d != NULL) {
		/* ADDR:PORT, an IPv4 address (the resolver's res_state
		 * takes one) */
		if ((colon = strrchr(d, ':')) != NULL &&
		    (size_t)(colon - d) < sizeof(host)) {
			memcpy(host, d, (size_t)(colon - d));
			host[colon - d] = '\0';
			ok = inet_pton(AF_INET, host, &a4) == 1;
		}
		port = ok ? strtol(colon + 1, &end, 10) : 0;
		if (!ok || *end != '\0' || port < 1 || port > 65535)
			config_error(ctx, config_line(cf, "pacing.dns"),
			    "pacing.dns: \"%s\" is not ADDRESS:PORT with an "
			    "IPv4 address (e.g. \"127.0.0.1:53\")", d);
	}
	if (list == NULL)
		return;
	line = (int)config_setting_source_line(list);
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		config_error(ctx, line, "pacing.groups: expected a list ( { "
		    "match = \"gmail.com\"; rate = 20; }, ... )");
		return;
	}
	n = config_setting_length(list);
	if (n > CONFIG_PACING_MAX) {
		config_error(ctx, line, "pacing.groups: at most %d groups, not "
		    "%d", CONFIG_PACING_MAX, n);
		return;
	}
	c->pacing_groups = xcalloc((size_t)n + 1, sizeof(*c->pacing_groups));
	c->pacing_ngroups = n;
	for (i = 0; i < n; i++)
		config_check_pacing_group(ctx, c, config_setting_get_elem(list,
		    (unsigned int)i), i, &c->pacing_groups[i]);
}

static void
config_free_pacing(struct config *c)
{
	int	i;

	for (i = 0; i < c->pacing_ngroups; i++) {
		free(c->pacing_groups[i].match);
		free(c->pacing_groups[i].key);
	}
	free(c->pacing_groups);
	c->pacing_groups = NULL;
	c->pacing_ngroups = 0;
}

/* Each relay's password, as smtp.password_file's is read. */
static void
config_read_relay_passwords(struct config_ctx *ctx, struct config *c,
    config_t *cf)
{
	config_setting_t	*list = config_lookup(cf, "smtp.relays");
	config_setting_t	*s;
	struct config_relay	*r;
	char			 key[64];
	int			 i;

	for (i = 0; i < c->smtp_nrelays; i++) {
		r = &c->smtp_relays[i];
		if (list == NULL) {
			/* the single form: read as smtp.password_file */
			if (c->smtp_password != NULL)
				r->password = xstrdup(c->smtp_password);
			continue;
		}
		if (r->password_file == NULL)
			continue;
		s = config_setting_get_member(config_setting_get_elem(list,
		    (unsigned int)i), "password_file");
		snprintf(key, sizeof(key), "smtp.relays[%d].password_file",
		    i + 1);
		config_read_pwfile(ctx, key, r->password_file, &r->password,
		    s ? (int)config_setting_source_line(s) : 0);
	}
}

static void
config_free_relays(struct config *c)
{
	struct config_relay	*r;
	int			 i;

	for (i = 0; i < c->smtp_nrelays; i++) {
		r = &c->smtp_relays[i];
		free(r->name);
		free(r->url);
		free(r->username);
		free(r->password_file);
		if (r->password != NULL) {
			explicit_bzero(r->password, strlen(r->password));
			free(r->password);
		}
	}
	free(c->smtp_relays);
	c->smtp_relays = NULL;
	c->smtp_nrelays = 0;
}

/* Load the DKIM keys: the start, -t and a reload fail on a bad one. */
static void
config_read_dkim(struct config_ctx *ctx, struct config *c, config_t *cf)
{
	struct dkim_conf	 dc;
	char			 err[1200];
	int			 line;

	if (c->dkim_domain == NULL)
		return;
	dc.domain = c->dkim_domain;
	dc.selector = c->dkim_selector;
	dc.key_file = c->dkim_key_file;
	dc.ed25519_selector = c->dkim_ed25519_selector;
	dc.ed25519_key_file = c->dkim_ed25519_key_file;
	if ((c->dkim = dkim_new(&dc, err, sizeof(err))) != NULL)
		return;
	if (strncmp(err, "key_file:", 9) == 0)
		line = config_line(cf, "dkim.key_file");
	else if (strncmp(err, "ed25519_key_file:", 17) == 0)
		line = config_line(cf, "dkim.ed25519_key_file");
	else if (strncmp(err, "selector:", 9) == 0)
		line = config_line(cf, "dkim.selector");
	else if (strncmp(err, "ed25519_selector:", 17) == 0)
		line = config_line(cf, "dkim.ed25519_selector");
	else if (strncmp(err, "domain:", 7) == 0)
		line = config_line(cf, "dkim.domain");
	else
		line = config_line(cf, "dkim");
	config_error(ctx, line, "dkim.%s", err);
}

static void
config_walk(struct config_ctx *ctx, struct config *c, config_setting_t *root)
{
	config_setting_t	*g, *s;
	const struct config_key	*k;
	const char		*gname;
	int			 i, j;

	for (i = 0; i < config_setting_length(root); i++) {
		g = config_setting_get_elem(root, (unsigned int)i);
		gname = config_setting_name(g);
		if (config_setting_is_group(g)) {
			if (!config_is_group(gname)) {
				config_error(ctx,
				    (int)config_setting_source_line(g),
				    "unknown section \"%s\"", gname);
				continue;
			}
			for (j = 0; j < config_setting_length(g); j++) {
				s = config_setting_get_elem(g, (unsigned int)j);
				if (strcmp(gname, "smtp") == 0 && strcmp(
				    config_setting_name(s), "relays") == 0)
					continue;	/* a list: its own check */
				if (strcmp(gname, "pacing") == 0 && strcmp(
				    config_setting_name(s), "groups") == 0)
					continue;	/* a list: its own check */
				if ((k = config_find(gname,
				    config_setting_name(s))) == NULL) {
					config_error(ctx,
					    (int)config_setting_source_line(s),
					    "unknown key \"%s.%s\"", gname,
					    config_setting_name(s));
					continue;
				}
				config_set(ctx, c, k, s, NULL);
			}
			continue;
		}
		if (config_is_group(gname)) {
			config_error(ctx, (int)config_setting_source_line(g),
			    "\"%s\" must be a group { ... }", gname);
			continue;
		}
		if ((k = config_find(NULL, gname)) == NULL) {
			config_error(ctx, (int)config_setting_source_line(g),
			    "unknown key \"%s\"", gname);
			continue;
		}
		config_set(ctx, c, k, g, NULL);
	}
}

struct config *
config_load(const char *file, int flags, int (*report)(void *, const char *),
    void *arg)
{
	struct config_ctx	 ctx;
	struct config		*c;
	config_t		 cf;
	char			*abs, *slash;
	size_t			 i;
	int			 present;

	memset(&ctx, 0, sizeof(ctx));
	ctx.file = file;
	ctx.report = report;
	ctx.arg = arg;

	if ((abs = realpath(file, NULL)) == NULL) {
		config_error(&ctx, 0, "%s", strerror(errno));
		return NULL;
	}
	ctx.dir = xstrdup(abs);
	if ((slash = strrchr(ctx.dir, '/')) != NULL)
		*(slash == ctx.dir ? slash + 1 : slash) = '\0';

	c = xcalloc(1, sizeof(*c));
	c->file = abs;

	config_init(&cf);
	if (config_read_file(&cf, abs) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			config_error(&ctx, 0, "cannot read: %s",
			    strerror(errno));
		else
			config_error(&ctx, config_error_line(&cf), "%s",
			    config_error_text(&cf));
		goto end;
	}
	config_walk(&ctx, c, config_root_setting(&cf));

	/* defaults for what the file did not set */
	for (i = 0; i < NKEYS; i++) {
		char path[128];

		if (config_keys[i].group)
			snprintf(path, sizeof(path), "%s.%s",
			    config_keys[i].group, config_keys[i].name);
		else
			snprintf(path, sizeof(path), "%s", config_keys[i].name);
		present = config_lookup(&cf, path) != NULL;
		if (!present && config_keys[i].def != NULL)
			config_set(&ctx, c, &config_keys[i], NULL,
			    config_keys[i].def);
	}
	if (ctx.errors == 0) {
		config_check(&ctx, c, &cf);
		config_check_relays(&ctx, c, &cf);
	}
	if (ctx.errors == 0)
		config_check_pacing(&ctx, c, &cf);
	if (ctx.errors == 0 && !(flags & CONFIG_NOSECRETS))
		config_read_password(&ctx, c, config_line(&cf,
		    "smtp.password_file"));
	if (ctx.errors == 0 && !(flags & CONFIG_NOSECRETS))
		config_read_relay_passwords(&ctx, c, &cf);
	if (ctx.errors == 0 && !(flags & CONFIG_NOSECRETS))
		config_read_dkim(&ctx, c, &cf);
	if (ctx.errors == 0 && !(flags & CONFIG_NOSECRETS) &&
	    c->storage_password_file != NULL)
		config_read_pwfile(&ctx, "storage.password_file",
		    c->storage_password_file, &c->storage_password,
		    config_line(&cf, "storage.password_file"));
end:
	config_destroy(&cf);
	free(ctx.dir);
	if (ctx.errors) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_free(struct config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if ((config_keys[i].type == CT_STR ||
		    config_keys[i].type == CT_PATH) && config_keys[i].off != 0)
			free(*(char **)((char *)c + config_keys[i].off));
	free(c->list_from_name);
	free(c->list_from_addr);
	config_free_relays(c);
	config_free_pacing(c);
	dkim_unref(c->dkim);
	if (c->smtp_password != NULL) {
		explicit_bzero(c->smtp_password, strlen(c->smtp_password));
		free(c->smtp_password);
	}
	if (c->storage_password != NULL) {
		explicit_bzero(c->storage_password,
		    strlen(c->storage_password));
		free(c->storage_password);
	}
	free(c->file);
	free(c);
}

/* The list's settings as the renderer wants them. */
void
config_site(const struct config *c, struct render_site *site)
{
	memset(site, 0, sizeof(*site));
	site->list_name = c->list_name;
	site->from_name = c->list_from_name;
	site->from_addr = c->list_from_addr;
	site->reply_to = c->list_reply_to;
	site->list_id = c->list_id;
	site->base_url = c->list_base_url;
	site->description = c->list_description;
	site->lang = c->site_language;
	site->tpl_dir = c->templates_dir;
	site->tpl_default_dir = BROADSIDE_TEMPLATES;
}

/*
 * Read the HMAC key from secret_file, creating it (32 random bytes, mode
 * 0600) when it does not exist.  Returns the key length, or -1.
 */
int
config_read_secret(const struct config *c, unsigned char *key, size_t keylen,
    char *err, size_t errlen)
{
	unsigned char	 fresh[32];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	fd = open(c->secret_file, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
			snprintf(err, errlen, "%s: no random bytes",
			    c->secret_file);
			return -1;
		}
		fd = open(c->secret_file, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd == -1) {
			snprintf(err, errlen, "%s: create: %s", c->secret_file,
			    strerror(errno));
			return -1;
		}
		if (write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh)
		    || fsync(fd) == -1) {
			snprintf(err, errlen, "%s: write: %s", c->secret_file,
			    strerror(errno));
			close(fd);
			unlink(c->secret_file);
			return -1;
		}
		close(fd);
		explicit_bzero(fresh, sizeof(fresh));
		fd = open(c->secret_file, O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", c->secret_file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", c->secret_file);
		close(fd);
		return -1;
	}
	if (st.st_mode & 0077) {
		snprintf(err, errlen, "%s: readable by others (mode %o); "
		    "chmod 600 it", c->secret_file, st.st_mode & 0777);
		close(fd);
		return -1;
	}
	n = read(fd, key, keylen);
	close(fd);
	if (n < 16) {
		snprintf(err, errlen, "%s: shorter than 16 bytes",
		    c->secret_file);
		return -1;
	}
	return (int)n;
}
