/*
 * render.c -- turn a statement, the templates and one recipient into a
 * MIME message; render the archive pages, the feed and the small pages.
 * See render.h for the contract.
 *
 * Speed comes from doing per broadcast everything that does not depend on
 * the recipient.  A template is rendered once with placeholders
 * ("\001N&\002", N the recipient variable) in place of the recipient's
 * values; the lines without a placeholder are encoded once and kept as
 * encoded bytes, the lines with one are kept raw.  Per recipient, the
 * encoded runs are copied and only the raw lines are filled in and
 * encoded.  This is exact because mustache only tests values for
 * emptiness (so the placeholder layout is fixed per pattern of empty
 * values) and because QP and format=flowed are line-local (mime.h).  The
 * '&' in a placeholder comes out as "&amp;" where the template escapes
 * the value, which tells the filler to escape it the same way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "lang.h"
#include "mime.h"
#include "mustache.h"
#include "render.h"
#include "rss.h"
#include "statement.h"
#include "token.h"

#define RENDER_TPL_MAX		(1024 * 1024)	/* bytes per template file */
#define RENDER_STACK_FIELDS	32		/* fields framed on the stack */
#define RENDER_KEY_MAX		2048		/* variant key, bytes */
#define RENDER_CORE		3		/* name, email, unsubscribe_url */
#define RENDER_DESC_MAX		300		/* octets of a card's text */
#define RENDER_PH_OPEN		'\001'
#define RENDER_PH_CLOSE		'\002'

enum render_segtype {
	RENDER_SEG_ENCODED,	/* bytes ready for the message */
	RENDER_SEG_LINE,	/* one raw line with placeholders */
};

struct render_seg {
	enum render_segtype	 type;
	char			*p;
	size_t			 len;
};

struct render_body {
	struct render_seg	*segs;
	size_t			 nsegs;
	size_t			 size;		/* encoded size, a capacity hint */
};

struct render_variant {
	char			*key;
	size_t			 keylen;
	struct render_body	 text, html;
};

struct render_cache {
	pthread_mutex_t		 lock;
	struct render_variant	*v[RENDER_VARIANTS];
	size_t			 n;
};

enum {
	RB_TITLE, RB_BYLINE, RB_AUTHOR, RB_DATE, RB_DATE_ISO, RB_BODY_HTML,
	RB_BODY_TEXT, RB_PARAGRAPHS, RB_ARCHIVE_URL, RB_BASE_URL, RB_FEED_URL,
	RB_LIST_NAME, RB_SUBJECT, RB_BROADCAST_ID, RB_PAGE_TITLE, RB_LANG,
	RB_DIR, RB_N
};

struct render {
	int			 flags;
	uint64_t		 bid;
	time_t			 date;
	struct token_key	*tk;
	struct mus_tpl		*txt, *html;
	struct mime_common	*common;
	struct mime_msg		 base;
	char			 boundary[MIME_BOUNDARY_MAX + 1];
	char			 mid_purpose[48];
	char			*list_domain;
	char			*unsub_prefix;	/* base_url/unsubscribe?t= */

	char			**strs;		/* owned strings */
	size_t			 nstrs;
	struct mus_val		*paras;
	struct mus_pair		 bpairs[RB_N];
	struct mus_val		 bframe;

	struct render_cache	*cache;
};

static const char *const render_html_esc[256] = {
	['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
	['"'] = "&quot;", ['\''] = "&#39;",
};

/* ---- templates ---- */

static int
render_name_ok(const char *name)
{
	const char	*p;

	if (name == NULL || *name == '\0' || *name == '.' ||
	    strlen(name) > 128)
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return 0;
	return strstr(name, "..") == NULL;
}

/*
 * The real path of DIR/FILE in real (PATH_MAX bytes) if it lies inside
 * DIR once every symlink is resolved: 1.  0 if there is no such file
 * (errno ENOENT, a dangling symlink included), -1 with err filled if it
 * leaves DIR or cannot be resolved.  A symlink inside the folder to a
 * file inside it is fine; one pointing outside would let a template name
 * read any file the daemon can, so it is refused.
 */
static int
render_resolve(const char *dir, const char *path, char *real, char *err,
    size_t errlen)
{
	char	 rdir[PATH_MAX];
	size_t	 n;

	if (realpath(path, real) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (realpath(dir, rdir) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	n = strlen(rdir);
	if (n > 0 && rdir[n - 1] == '/')
		n--;
	if (strncmp(real, rdir, n) != 0 || real[n] != '/') {
		snprintf(err, errlen, "%s: resolves to %s, outside the "
		    "templates folder", path, real);
		return -1;
	}
	return 1;
}

/*
 * Read NAME.EXT from the first folder that has it: 1, or 0 when no
 * folder has it, or -1 with err filled.
 */
static int
render_read_ext(const struct render_site *site, const char *name,
    const char *ext, char **srcp, size_t *lenp, char *err, size_t errlen)
{
	const char	*dirs[2];
	char		 path[4096], real[PATH_MAX];
	struct buf	 b = BUF_INIT;
	ssize_t		 n;
	size_t		 i;
	int		 fd;

	if (!render_name_ok(name)) {
		snprintf(err, errlen, "bad template name \"%.64s\"", name);
		return -1;
	}
	dirs[0] = site->tpl_dir;
	dirs[1] = site->tpl_default_dir != NULL ? site->tpl_default_dir :
	    RENDER_TEMPLATE_DIR;
	for (i = 0; i < 2; i++) {
		if (dirs[i] == NULL || *dirs[i] == '\0')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s",
		    dirs[i], name, ext) >= sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", dirs[i]);
			return -1;
		}
		switch (render_resolve(dirs[i], path, real, err, errlen)) {
		case -1:
			return -1;
		case 0:
			continue;
		}
		if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		for (;;) {
			buf_grow(&b, 8192);
			n = read(fd, b.p + b.len, b.cap - b.len - 1);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			b.len += (size_t)n;
			b.p[b.len] = '\0';
			if (b.len > RENDER_TPL_MAX)
				break;
		}
		close(fd);
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			buf_free(&b);
			return -1;
		}
		if (b.len > RENDER_TPL_MAX) {
			snprintf(err, errlen, "%s: larger than %d bytes", path,
			    RENDER_TPL_MAX);
			buf_free(&b);
			return -1;
		}
		if (b.p == NULL)
			buf_addstr(&b, "");
		*lenp = b.len;
		*srcp = buf_detach(&b);
		return 1;
	}
	return 0;
}

/* Read NAME.mustache from the first folder that has it. */
static int
render_read(const struct render_site *site, const char *name, char **srcp,
    size_t *lenp, char *err, size_t errlen)
{
	switch (render_read_ext(site, name, "mustache", srcp, lenp, err,
	    errlen)) {
	case 1:
		return 0;
	case 0:
		snprintf(err, errlen, "template %s.mustache not found", name);
		break;
	}
	return -1;
}

/*
 * Strings: the fixed words of pages and mails, in LANG.strings beside
 * the templates, one "key = text" a line ('#' starts a comment line);
 * the text is a mustache fragment.  A template names one as the partial
 * {{> t.key}}, so it is rendered in the template's context
 * ({{list_name}}, {{email}}) and escaped as the template is.  A key is
 * looked up in the language's file, then its base language's ("pt" for
 * "pt-BR"), then en.strings: a translator adds a language with one file,
 * and a key it lacks shows in English.
 */
struct render_strings {
	int		 loaded;
	size_t		 n;
	char		*src[3];
	char		 name[3][LANG_MAX];
};

static int
render_strings_load(const struct render_site *site,
    struct render_strings *s, char *err, size_t errlen)
{
	const char	*chain[3];
	char		 tag[LANG_MAX], base[LANG_MAX], *dash;
	size_t		 i, j, len;
	int		 rc;

	if (s->loaded)
		return 0;
	s->loaded = 1;
	if (lang_norm(site->lang != NULL ? site->lang : "en", tag,
	    sizeof(tag)) == -1)
		snprintf(tag, sizeof(tag), "en");
	snprintf(base, sizeof(base), "%s", tag);
	if ((dash = strchr(base, '-')) != NULL)
		*dash = '\0';
	chain[0] = tag;
	chain[1] = base;
	chain[2] = "en";
	for (i = 0; i < 3; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(chain[i], chain[j]) == 0)
				break;
		if (j < i)
			continue;
		rc = render_read_ext(site, chain[i], "strings",
		    &s->src[s->n], &len, err, errlen);
		if (rc == -1)
			return -1;
		if (rc == 1)
			snprintf(s->name[s->n++], LANG_MAX, "%s", chain[i]);
	}
	return 0;
}

static void
render_strings_free(struct render_strings *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		free(s->src[i]);
	memset(s, 0, sizeof(*s));
}

/* The text of key in src ("key = text" lines), or NULL; *lenp its length. */
static const char *
render_strings_find(const char *src, const char *key, size_t *lenp)
{
	const char	*p = src, *eol, *v;
	size_t		 klen = strlen(key);

	for (; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = p + strcspn(p, "\n");
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if (p == eol || *p == '#' || (size_t)(eol - p) <= klen ||
		    strncmp(p, key, klen) != 0)
			continue;
		v = p + klen;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		if (v == eol || *v != '=')
			continue;
		v++;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		*lenp = (size_t)(eol - v);
		while (*lenp > 0 && (v[*lenp - 1] == '\r' ||
		    v[*lenp - 1] == ' ' || v[*lenp - 1] == '\t'))
			(*lenp)--;
		return v;
	}
	return NULL;
}

/* The mails' strings when no strings file has them (as en.strings). */
static const struct {
	const char	*key, *text;
} render_builtin[] = {
	{ "mail_reason", "You receive this because {{email}} is subscribed "
	    "to {{list_name}}." },
	{ "mail_unsubscribe", "Unsubscribe" },
	{ "mail_read_online", "Read it online" },
	{ "confirm_title", "Confirm your subscription" },
	{ "confirm_button", "Confirm my subscription" },
	{ "confirm_mail_subject", "Confirm your subscription to "
	    "{{list_name}}" },
	{ "confirm_mail_intro", "Someone, hopefully you, asked to subscribe "
	    "{{email}} to {{list_name}}." },
	{ "confirm_mail_open", "To confirm, open this link and press the "
	    "button there:" },
	{ "confirm_mail_or_link", "Or open this link:" },
	{ "confirm_mail_ignore", "If you did not ask for this, ignore this "
	    "message: you will not be subscribed and will hear nothing more "
	    "from us." },
	{ "language", "The language you read" },
};

static char *
render_dup0(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

/* The string key as a partial's source (malloc'd), or -1 with err. */
static int
render_strings_get(const struct render_site *site, struct render_strings *s,
    const char *key, char **srcp, size_t *lenp, char *err, size_t errlen)
{
	const char	*v;
	size_t		 i, len;

	if (render_strings_load(site, s, err, errlen) == -1)
		return -1;
	for (i = 0; i < s->n; i++)
		if ((v = render_strings_find(s->src[i], key, &len)) != NULL) {
			if ((*srcp = malloc(len + 1)) == NULL)
				abort();
			memcpy(*srcp, v, len);
			(*srcp)[len] = '\0';
			*lenp = len;
			return 0;
		}
	/* the mails must not stop for a missing strings file (a
	 * templates.dir of copied templates alone): their words in English */
	for (i = 0; i < sizeof(render_builtin) / sizeof(render_builtin[0]);
	    i++)
		if (strcmp(render_builtin[i].key, key) == 0) {
			*srcp = render_dup0(render_builtin[i].text);
			*lenp = strlen(*srcp);
			return 0;
		}
	snprintf(err, errlen, "string \"%.64s\" is in no strings file "
	    "(%s.strings, en.strings)", key, site->lang != NULL ? site->lang :
	    "en");
	return -1;
}

struct render_loader {
	const struct render_site	*site;
	char				*srcs[64];
	size_t				 nsrcs;
	char				 err[256];
	struct render_strings		 strings;
};

static int
render_loader_cb(void *arg, const char *name, const char **src, size_t *len)
{
	struct render_loader	*l = arg;
	char			*s;

	if (l->err[0] != '\0')
		return -1;
	if (l->nsrcs == sizeof(l->srcs) / sizeof(l->srcs[0])) {
		snprintf(l->err, sizeof(l->err), "too many partials");
		return -1;
	}
	if (strncmp(name, "t.", 2) == 0) {
		if (render_strings_get(l->site, &l->strings, name + 2, &s, len,
		    l->err, sizeof(l->err)) == -1)
			return -1;
	} else if (render_read(l->site, name, &s, len, l->err,
	    sizeof(l->err)) == -1)
		return -1;
	l->srcs[l->nsrcs++] = s;
	*src = s;
	return 0;
}

static struct mus_tpl *
render_compile(const struct render_site *site, const char *name, char *err,
    size_t errlen)
{
	struct render_loader	 l;
	struct mus_tpl		*t = NULL;
	char			*src = NULL, cerr[256];
	size_t			 len, i, nlen = strlen(name);
	int			 flags = 0;

	memset(&l, 0, sizeof(l));
	l.site = site;
	if (render_read(site, name, &src, &len, err, errlen) == -1)
		return NULL;
	if (nlen > 4 && strcmp(name + nlen - 4, ".txt") == 0)
		flags |= MUS_NOESCAPE;
	t = mus_compile(src, len, flags, render_loader_cb, &l, cerr,
	    sizeof(cerr));
	if (l.err[0] != '\0') {
		snprintf(err, errlen, "%s.mustache: %s", name, l.err);
		mus_free(t);
		t = NULL;
	} else if (t == NULL)
		snprintf(err, errlen, "%s.mustache: %s", name, cerr);
	for (i = 0; i < l.nsrcs; i++)
		free(l.srcs[i]);
	render_strings_free(&l.strings);
	free(src);
	return t;
}

static int
render_named(const struct render_site *site, const char *name,
    const struct mus_val *const *stack, size_t depth, struct buf *out,
    char *err, size_t errlen)
{
	struct mus_tpl	*t;
	size_t		 start = out->len;
	int		 ret = 0;

	if ((t = render_compile(site, name, err, errlen)) == NULL)
		return -1;
	if (mus_render(t, stack, depth, out) == -1) {
		snprintf(err, errlen, "%s.mustache: partials nested too deep",
		    name);
		buf_truncate(out, start);
		ret = -1;
	}
	mus_free(t);
	return ret;
}

/* ---- broadcast set-up ---- */

static const char *
render_keep(struct render *r, char *s)
{
	r->strs = realloc(r->strs, (r->nstrs + 1) * sizeof(*r->strs));
	if (r->strs == NULL)
		abort();
	r->strs[r->nstrs++] = s;
	return s;
}

static const char *
render_dup(struct render *r, const char *s)
{
	char	*d;

	if (s == NULL)
		s = "";
	if ((d = strdup(s)) == NULL)
		abort();
	return render_keep(r, d);
}

static const char *
render_fmt(struct render *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *
render_fmt(struct render *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return render_keep(r, s);
}

static void
render_pair(struct mus_pair *p, const char *key, const char *s)
{
	p->key = key;
	p->val = mus_str(s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

static void
render_date_iso(time_t t, char *out, size_t outlen)
{
	struct tm	tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d", &tm) == 0)
		out[0] = '\0';
}

/* Only a hostname may follow the '@' of a Message-ID we make. */
static int
render_domain_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static void
render_hex(char *out, const unsigned char *p, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

struct render *
render_new(const struct render_params *pa, char *err, size_t errlen)
{
	const struct statement	*st = pa->st;
	struct render_site	 lsite = pa->site;
	const struct render_site *site = &lsite;
	struct render		*r;
	unsigned char		 mac[TOKEN_MACLEN];
	char			 hex[2 * TOKEN_MACLEN + 1], iso[16], e[256];
	const char		*base, *list_id;
	size_t			 i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	r->flags = pa->flags;
	r->bid = pa->broadcast_id;
	r->date = pa->date != 0 ? pa->date : time(NULL);
	/* the statement's language: its fixed words, lang and dir */
	if (pa->lang != NULL && *pa->lang != '\0')
		lsite.lang = pa->lang;
	else if (lsite.lang == NULL || *lsite.lang == '\0')
		lsite.lang = "en";
	if (st == NULL || st->title == NULL) {
		snprintf(err, errlen, "no statement");
		goto fail;
	}
	if (site->from_addr == NULL || site->list_id == NULL ||
	    site->base_url == NULL) {
		snprintf(err, errlen, "list: from, id and base_url are needed");
		goto fail;
	}
	if (!render_domain_ok(site->list_id)) {
		snprintf(err, errlen, "list id \"%.64s\" is not a domain-like "
		    "name", site->list_id);
		goto fail;
	}
	if ((r->tk = token_key_new(pa->key, pa->keylen, err, errlen)) == NULL)
		goto fail;
	if ((r->cache = calloc(1, sizeof(*r->cache))) == NULL)
		abort();
	pthread_mutex_init(&r->cache->lock, NULL);

	base = render_dup(r, site->base_url);
	list_id = render_dup(r, site->list_id);
	r->list_domain = (char *)list_id;
	r->unsub_prefix = (char *)render_fmt(r, "%s/unsubscribe?t=", base);
	snprintf(r->mid_purpose, sizeof(r->mid_purpose),
	    "message-id/%" PRIu64, r->bid);
	if (token_key_mac(r->tk, "boundary", r->bid, mac) == -1) {
		snprintf(err, errlen, "cannot compute HMAC");
		goto fail;
	}
	render_hex(hex, mac, 8);
	snprintf(r->boundary, sizeof(r->boundary), "=_bs.%" PRIu64 ".%s",
	    r->bid, hex);

	/* broadcast frame */
	render_date_iso(st->date_text != NULL ? st->date : 0, iso, sizeof(iso));
	render_pair(&r->bpairs[RB_TITLE], "title", render_dup(r, st->title));
	render_pair(&r->bpairs[RB_BYLINE], "byline",
	    render_dup(r, st->byline_line));
	render_pair(&r->bpairs[RB_AUTHOR], "author", render_dup(r, st->byline));
	render_pair(&r->bpairs[RB_DATE], "date", render_dup(r, st->date_text));
	render_pair(&r->bpairs[RB_DATE_ISO], "date_iso", render_dup(r, iso));
	r->bpairs[RB_BODY_HTML].key = "body_html";
	r->bpairs[RB_BODY_HTML].val = mus_str(render_keep(r,
	    strndup(st->html ? st->html : "", st->htmllen)), st->htmllen);
	r->bpairs[RB_BODY_TEXT].key = "body_text";
	r->bpairs[RB_BODY_TEXT].val = mus_str(render_keep(r,
	    strndup(st->text ? st->text : "", st->textlen)), st->textlen);
	if ((r->paras = calloc(st->nparagraphs + 1, sizeof(*r->paras))) == NULL)
		abort();
	for (i = 0; i < st->nparagraphs; i++) {
		const char *p = render_dup(r, st->paragraphs[i]);
		r->paras[i] = mus_str(p, strlen(p));
	}
	r->bpairs[RB_PARAGRAPHS].key = "paragraphs";
	r->bpairs[RB_PARAGRAPHS].val.kind = MUS_LIST;
	r->bpairs[RB_PARAGRAPHS].val.items = r->paras;
	r->bpairs[RB_PARAGRAPHS].val.n = st->nparagraphs;
	if (pa->url_lang != NULL && *pa->url_lang != '\0') {
		render_pair(&r->bpairs[RB_ARCHIVE_URL], "archive_url",
		    render_fmt(r, "%s/archive/%" PRIu64 "/%s", base, r->bid,
		    pa->url_lang));
		render_pair(&r->bpairs[RB_FEED_URL], "feed_url",
		    render_fmt(r, "%s/feed.%s.xml", base, pa->url_lang));
	} else {
		render_pair(&r->bpairs[RB_ARCHIVE_URL], "archive_url",
		    render_fmt(r, "%s/archive/%" PRIu64, base, r->bid));
		render_pair(&r->bpairs[RB_FEED_URL], "feed_url",
		    render_fmt(r, "%s/feed.xml", base));
	}
	render_pair(&r->bpairs[RB_BASE_URL], "base_url", base);
	render_pair(&r->bpairs[RB_LIST_NAME], "list_name",
	    render_dup(r, site->list_name));
	render_pair(&r->bpairs[RB_SUBJECT], "subject",
	    render_dup(r, pa->subject != NULL ? pa->subject : st->title));
	render_pair(&r->bpairs[RB_BROADCAST_ID], "broadcast_id",
	    render_fmt(r, "%" PRIu64, r->bid));
	render_pair(&r->bpairs[RB_PAGE_TITLE], "page_title",
	    r->bpairs[RB_TITLE].val.s);
	render_pair(&r->bpairs[RB_LANG], "lang", render_dup(r, lsite.lang));
	render_pair(&r->bpairs[RB_DIR], "dir", lang_dir(lsite.lang));
	r->bframe = mus_map(r->bpairs, RB_N);

	if ((r->txt = render_compile(site, "email.txt", err, errlen)) == NULL ||
	    (r->html = render_compile(site, "email.html", err, errlen)) == NULL)
		goto fail;

	/* headers every recipient shares */
	r->base.from_name = render_dup(r, site->from_name);
	r->base.from_addr = render_dup(r, site->from_addr);
	r->base.reply_to = site->reply_to != NULL && *site->reply_to != '\0' ?
	    render_dup(r, site->reply_to) : NULL;
	r->base.subject = r->bpairs[RB_SUBJECT].val.s;
	r->base.list_id = site->list_name != NULL && *site->list_name != '\0' ?
	    render_fmt(r, "%s <%s>", site->list_name, list_id) : list_id;
	r->base.content_language = pa->lang != NULL && *pa->lang != '\0' ?
	    lsite.lang : NULL;
	r->base.boundary = r->boundary;
	r->base.date = r->date;
	if ((r->common = mime_common_new(&r->base, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "%s", e);
		goto fail;
	}
	return r;
 fail:
	render_free(r);
	return NULL;
}

static void
render_body_free(struct render_body *b)
{
	size_t	i;

	for (i = 0; i < b->nsegs; i++)
		free(b->segs[i].p);
	free(b->segs);
}

void
render_free(struct render *r)
{
	size_t	i;

	if (r == NULL)
		return;
	if (r->cache != NULL) {
		for (i = 0; i < r->cache->n; i++) {
			render_body_free(&r->cache->v[i]->text);
			render_body_free(&r->cache->v[i]->html);
			free(r->cache->v[i]->key);
			free(r->cache->v[i]);
		}
		pthread_mutex_destroy(&r->cache->lock);
		free(r->cache);
	}
	mime_common_free(r->common);
	mus_free(r->txt);
	mus_free(r->html);
	token_key_free(r->tk);
	for (i = 0; i < r->nstrs; i++)
		free(r->strs[i]);
	free(r->strs);
	free(r->paras);
	free(r);
}

/* ---- per recipient ---- */

int
render_message_id(const struct render *r, uint64_t rid, char *out,
    size_t outlen)
{
	unsigned char	mac[TOKEN_MACLEN];
	char		hex[9];
	int		n;

	if (token_key_mac(r->tk, r->mid_purpose, rid, mac) == -1)
		return -1;
	render_hex(hex, mac, 4);
	n = snprintf(out, outlen, "b%" PRIu64 ".r%" PRIu64 ".%s@%s", r->bid,
	    rid, hex, r->list_domain);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
render_rcpt_check(const struct render_rcpt *rc, char *err, size_t errlen)
{
	char	label[96];
	size_t	i;

	if (rc->email == NULL || *rc->email == '\0') {
		snprintf(err, errlen, "email: missing");
		return -1;
	}
	if (mime_check_header("email", rc->email, strlen(rc->email), err,
	    errlen) == -1 || mime_check_addr("email", rc->email, err,
	    errlen) == -1)
		return -1;
	if (rc->name != NULL && mime_check_header("name", rc->name,
	    strlen(rc->name), err, errlen) == -1)
		return -1;
	for (i = 0; i < rc->nfields; i++) {
		if (rc->field_names[i] == NULL || rc->field_values[i] == NULL) {
			snprintf(err, errlen, "field %zu: missing", i + 1);
			return -1;
		}
		/* check the name before it is quoted in an error */
		snprintf(label, sizeof(label), "field %zu name", i + 1);
		if (mime_check_header(label, rc->field_names[i],
		    strlen(rc->field_names[i]), err, errlen) == -1)
			return -1;
		snprintf(label, sizeof(label), "field %.64s",
		    rc->field_names[i]);
		if (mime_check_header(label, rc->field_values[i],
		    strlen(rc->field_values[i]), err, errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * The recipient's frames: fields at the bottom (so a column cannot shadow
 * a broadcast or recipient variable), then the broadcast, then name,
 * email, unsubscribe_url and fields.  vals[] holds the values to show,
 * in slot order: name, email, unsubscribe_url, fields...
 */
struct render_frames {
	struct mus_pair		 fstack[RENDER_STACK_FIELDS];
	struct mus_pair		*fp;
	struct mus_pair		 rp[4];
	struct mus_val		 fmap, rmap;
	const struct mus_val	*stack[3];
};

static void
render_frames_init(struct render_frames *f, const struct render *r,
    const struct render_rcpt *rc, const char *const *vals)
{
	size_t	i;

	f->fp = f->fstack;
	if (rc->nfields > RENDER_STACK_FIELDS &&
	    (f->fp = calloc(rc->nfields, sizeof(*f->fp))) == NULL)
		abort();
	for (i = 0; i < rc->nfields; i++)
		render_pair(&f->fp[i], rc->field_names[i], vals[RENDER_CORE + i]);
	f->fmap = mus_map(f->fp, rc->nfields);
	render_pair(&f->rp[0], "name", vals[0]);
	render_pair(&f->rp[1], "email", vals[1]);
	render_pair(&f->rp[2], "unsubscribe_url", vals[2]);
	f->rp[3].key = "fields";
	f->rp[3].val = f->fmap;
	f->rmap = mus_map(f->rp, 4);
	f->stack[0] = &f->fmap;
	f->stack[1] = &r->bframe;
	f->stack[2] = &f->rmap;
}

static void
render_frames_free(struct render_frames *f)
{
	if (f->fp != f->fstack)
		free(f->fp);
}

static void
render_body_add(struct render_body *b, enum render_segtype type,
    const char *p, size_t len)
{
	struct render_seg	*s;

	b->segs = realloc(b->segs, (b->nsegs + 1) * sizeof(*b->segs));
	if (b->segs == NULL)
		abort();
	s = &b->segs[b->nsegs++];
	s->type = type;
	if ((s->p = malloc(len + 1)) == NULL)
		abort();
	memcpy(s->p, p, len);
	s->p[len] = '\0';
	s->len = len;
	b->size += len;
}

/*
 * Split rendered output into encoded runs and raw placeholder lines.
 * Every placeholder must parse, so a template that emits the marker bytes
 * itself is refused rather than misread.
 */
static int
render_body_build(struct render_body *b, const char *s, size_t len,
    size_t nslots, void (*enc)(struct buf *, const char *, size_t),
    char *err, size_t errlen)
{
	struct buf	 e = BUF_INIT;
	const char	*line, *nl, *p, *q;
	size_t		 run = 0, ll, slot;

	for (line = s; line < s + len; line = nl) {
		nl = memchr(line, '\n', (size_t)(s + len - line));
		nl = nl != NULL ? nl + 1 : s + len;
		ll = (size_t)(nl - line);
		if (memchr(line, RENDER_PH_OPEN, ll) == NULL &&
		    memchr(line, RENDER_PH_CLOSE, ll) == NULL)
			continue;
		/* validate every placeholder of the line */
		for (p = line; p < nl; p++) {
			if (*p == RENDER_PH_CLOSE)
				goto bad;
			if (*p != RENDER_PH_OPEN)
				continue;
			for (q = p + 1, slot = 0; q < nl && *q >= '0' &&
			    *q <= '9' && slot < nslots; q++)
				slot = slot * 10 + (size_t)(*q - '0');
			if (q == p + 1 || slot >= nslots || q >= nl || *q != '&')
				goto bad;
			q++;
			if ((size_t)(nl - q) >= 4 && memcmp(q, "amp;", 4) == 0)
				q += 4;
			if (q >= nl || *q != RENDER_PH_CLOSE)
				goto bad;
			p = q;
		}
		if (line > s + run) {
			buf_reset(&e);
			enc(&e, s + run, (size_t)(line - (s + run)));
			render_body_add(b, RENDER_SEG_ENCODED, e.p, e.len);
		}
		render_body_add(b, RENDER_SEG_LINE, line, ll);
		run = (size_t)(nl - s);
	}
	if (run < len) {
		buf_reset(&e);
		enc(&e, s + run, len - run);
		render_body_add(b, RENDER_SEG_ENCODED, e.p, e.len);
	}
	buf_free(&e);
	return 0;
 bad:
	buf_free(&e);
	snprintf(err, errlen, "template output holds control characters "
	    "\\001 or \\002");
	return -1;
}

static struct render_variant *
render_variant_build(const struct render *r, const struct render_rcpt *rc,
    const char *const *vals, const char *key, size_t keylen, char *err,
    size_t errlen)
{
	struct render_variant	*v;
	struct render_frames	 f;
	struct buf		 t = BUF_INIT, h = BUF_INIT;
	const char		**ph;
	char			*phbuf;
	size_t			 i, nslots = RENDER_CORE + rc->nfields;

	ph = calloc(nslots, sizeof(*ph));
	phbuf = calloc(nslots, 32);
	if (ph == NULL || phbuf == NULL || (v = calloc(1, sizeof(*v))) == NULL)
		abort();
	for (i = 0; i < nslots; i++) {
		if (vals[i] == NULL || *vals[i] == '\0') {
			ph[i] = "";
			continue;
		}
		snprintf(phbuf + 32 * i, 32, "%c%zu&%c", RENDER_PH_OPEN, i,
		    RENDER_PH_CLOSE);
		ph[i] = phbuf + 32 * i;
	}
	render_frames_init(&f, r, rc, ph);
	if (mus_render(r->txt, f.stack, 3, &t) == -1 ||
	    mus_render(r->html, f.stack, 3, &h) == -1) {
		snprintf(err, errlen, "template partials nested too deep");
		goto fail;
	}
	if (render_body_build(&v->text, t.p ? t.p : "", t.len, nslots,
	    mime_text_encode, err, errlen) == -1 ||
	    render_body_build(&v->html, h.p ? h.p : "", h.len, nslots,
	    mime_qp, err, errlen) == -1)
		goto fail;
	if ((v->key = malloc(keylen)) == NULL)
		abort();
	memcpy(v->key, key, keylen);
	v->keylen = keylen;
	render_frames_free(&f);
	buf_free(&t);
	buf_free(&h);
	free(ph);
	free(phbuf);
	return v;
 fail:
	render_frames_free(&f);
	render_body_free(&v->text);
	render_body_free(&v->html);
	free(v);
	buf_free(&t);
	buf_free(&h);
	free(ph);
	free(phbuf);
	return NULL;
}

/* Which recipient values are empty, and the field names: the layout key. */
static ssize_t
render_variant_key(const struct render_rcpt *rc, const char *const *vals,
    char *key, size_t keysz)
{
	size_t	i, n = 0, l;

	for (i = 0; i < RENDER_CORE + rc->nfields; i++) {
		if (i >= RENDER_CORE) {
			l = strlen(rc->field_names[i - RENDER_CORE]) + 1;
			if (n + l + 1 > keysz)
				return -1;
			memcpy(key + n, rc->field_names[i - RENDER_CORE], l);
			n += l;
		}
		if (n + 1 > keysz)
			return -1;
		key[n++] = *vals[i] != '\0' ? '1' : '0';
	}
	return (ssize_t)n;
}

static const struct render_variant *
render_variant_get(const struct render *r, const struct render_rcpt *rc,
    const char *const *vals, char *err, size_t errlen, int *failed)
{
	struct render_cache		*c = r->cache;
	struct render_variant		*v = NULL;
	char				 key[RENDER_KEY_MAX];
	ssize_t				 kl;
	size_t				 i;

	*failed = 0;
	if ((kl = render_variant_key(rc, vals, key, sizeof(key))) == -1)
		return NULL;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		if (c->v[i]->keylen == (size_t)kl &&
		    memcmp(c->v[i]->key, key, (size_t)kl) == 0) {
			v = c->v[i];
			goto end;
		}
	if (c->n == RENDER_VARIANTS)
		goto end;
	if ((v = render_variant_build(r, rc, vals, key, (size_t)kl, err,
	    errlen)) == NULL) {
		*failed = 1;
		goto end;
	}
	c->v[c->n++] = v;
 end:
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void
render_fill(struct buf *out, struct render_body *b, const char *const *vals,
    void (*enc)(struct buf *, const char *, size_t), struct buf *line)
{
	const struct render_seg	*sg, *end = b->segs + b->nsegs;
	const unsigned char	*v;
	const char		*p, *e, *start;
	size_t			 slot;
	int			 esc;

	for (sg = b->segs; sg < end; sg++) {
		if (sg->type == RENDER_SEG_ENCODED) {
			buf_add_fast(out, sg->p, sg->len);
			continue;
		}
		buf_reset(line);
		p = sg->p;
		e = sg->p + sg->len;
		while (p < e) {
			start = p;
			while (p < e && *p != RENDER_PH_OPEN)
				p++;
			buf_add(line, start, (size_t)(p - start));
			if (p == e)
				break;
			/* validated when the variant was built */
			for (p++, slot = 0; *p != '&'; p++)
				slot = slot * 10 + (size_t)(*p - '0');
			p++;
			esc = *p == 'a';
			p += esc ? 5 : 1;
			v = (const unsigned char *)vals[slot];
			if (!esc) {
				buf_addstr(line, vals[slot]);
				continue;
			}
			for (; *v != '\0'; v++) {
				if (render_html_esc[*v] != NULL)
					buf_addstr(line, render_html_esc[*v]);
				else
					buf_addc(line, (char)*v);
			}
		}
		enc(out, line->p, line->len);
	}
}

/* Render both bodies the direct way (preview, and the reference path). */
static int
render_bodies(const struct render *r, const struct render_rcpt *rc,
    const char *const *vals, struct buf *t, struct buf *h, char *err,
    size_t errlen)
{
	struct render_frames	f;
	int			ret = 0;

	render_frames_init(&f, r, rc, vals);
	if ((t != NULL && mus_render(r->txt, f.stack, 3, t) == -1) ||
	    (h != NULL && mus_render(r->html, f.stack, 3, h) == -1)) {
		snprintf(err, errlen, "template partials nested too deep");
		ret = -1;
	}
	render_frames_free(&f);
	return ret;
}

static int
render_vals(const struct render *r, const struct render_rcpt *rc,
    const char **vals, char *url, size_t urlsz, char *err, size_t errlen)
{
	char	tok[TOKEN_SIZE];
	size_t	i;

	if (render_rcpt_check(rc, err, errlen) == -1)
		return -1;
	if (token_key_make(r->tk, "unsubscribe", rc->id, tok, sizeof(tok))
	    == -1) {
		snprintf(err, errlen, "cannot make unsubscribe token");
		return -1;
	}
	if ((size_t)snprintf(url, urlsz, "%s%s", r->unsub_prefix, tok) >=
	    urlsz) {
		snprintf(err, errlen, "base_url too long");
		return -1;
	}
	vals[0] = rc->name != NULL ? rc->name : "";
	vals[1] = rc->email;
	vals[2] = url;
	for (i = 0; i < rc->nfields; i++)
		vals[RENDER_CORE + i] = rc->field_values[i];
	return 0;
}

int
render_message(const struct render *r, const struct render_rcpt *rc,
    struct buf *out, char *err, size_t errlen)
{
	const struct render_variant	*v = NULL;
	const char			*vstack[RENDER_CORE + RENDER_STACK_FIELDS];
	const char			**vals = vstack;
	struct mime_msg			 m;
	struct buf			 t = BUF_INIT, h = BUF_INIT;
	struct buf			 line = BUF_INIT;
	char				 url[2048], mid[512];
	size_t				 start = out->len;
	int				 failed, ret = -1;

	if (rc->nfields > RENDER_STACK_FIELDS &&
	    (vals = calloc(RENDER_CORE + rc->nfields, sizeof(*vals))) == NULL)
		abort();
	if (render_vals(r, rc, vals, url, sizeof(url), err, errlen) == -1)
		goto end;
	if (render_message_id(r, rc->id, mid, sizeof(mid)) == -1) {
		snprintf(err, errlen, "cannot make Message-ID");
		goto end;
	}
	m = r->base;
	m.to_name = vals[0];
	m.to_addr = rc->email;
	m.message_id = mid;
	m.list_unsubscribe_url = url;

	if (!(r->flags & RENDER_NOCACHE)) {
		v = render_variant_get(r, rc, vals, err, errlen, &failed);
		if (failed)
			goto end;
	}
	if (v != NULL) {
		buf_grow(&t, v->text.size + 256);
		buf_grow(&h, v->html.size + 256);
		render_fill(&t, (struct render_body *)&v->text, vals,
		    mime_text_encode, &line);
		render_fill(&h, (struct render_body *)&v->html, vals, mime_qp,
		    &line);
		m.flags = MIME_TEXT_ENCODED | MIME_HTML_ENCODED;
	} else {
		if (render_bodies(r, rc, vals, &t, &h, err, errlen) == -1)
			goto end;
		m.flags = 0;
	}
	m.text = t.p != NULL ? t.p : "";
	m.textlen = t.len;
	m.html = h.p != NULL ? h.p : "";
	m.htmllen = h.len;
	if (mime_message_common(out, r->common, &m, err, errlen) == -1)
		goto end;
	ret = 0;
 end:
	if (ret == -1)
		buf_truncate(out, start);
	if (vals != vstack)
		free(vals);
	buf_free(&t);
	buf_free(&h);
	buf_free(&line);
	return ret;
}

int
render_part(const struct render *r, const struct render_rcpt *rc,
    const char *part, struct buf *out, char *err, size_t errlen)
{
	const char	**vals;
	char		  url[2048];
	int		  ret = -1;

	if (strcmp(part, "mime") == 0)
		return render_message(r, rc, out, err, errlen);
	if (strcmp(part, "text") != 0 && strcmp(part, "html") != 0) {
		snprintf(err, errlen, "unknown part \"%.32s\"", part);
		return -1;
	}
	if ((vals = calloc(RENDER_CORE + rc->nfields, sizeof(*vals))) == NULL)
		abort();
	if (render_vals(r, rc, vals, url, sizeof(url), err, errlen) == 0)
		ret = render_bodies(r, rc, vals, part[0] == 't' ? out : NULL,
		    part[0] == 'h' ? out : NULL, err, errlen);
	free(vals);
	return ret;
}

/* ---- archive, feed and pages ---- */

#define RENDER_LANGS_MAX	64	/* languages offered by the form */

/* The languages a reader may choose on the subscribe form. */
struct render_langs {
	char		tags[RENDER_LANGS_MAX][LANG_MAX];
	struct mus_pair	p[RENDER_LANGS_MAX][3];
	struct mus_val	v[RENDER_LANGS_MAX];
	size_t		n;
};

struct render_siteframe {
	struct buf	feed_url, index_url, home_url, subscribe_url;
	struct mus_pair	pairs[12];
	struct mus_val	map;
	struct render_langs *langs;
};

/* A language's own name, for the form; the tag when not known. */
static const char *
render_lang_name(const char *tag)
{
	static const struct {
		const char	*tag, *name;
	} names[] = {
		{ "ar", "\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9" },
		{ "de", "Deutsch" }, { "en", "English" },
		{ "es", "Espa\xc3\xb1ol" }, { "fr", "Fran\xc3\xa7" "ais" },
		{ "he", "\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa" },
		{ "ht", "Krey\xc3\xb2l ayisyen" }, { "it", "Italiano" },
		{ "nl", "Nederlands" }, { "pt", "Portugu\xc3\xaas" },
		{ "pt-BR", "Portugu\xc3\xaas (Brasil)" },
		{ "ru", "\xd0\xa0\xd1\x83\xd1\x81\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9" },
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].tag, tag) == 0)
			return names[i].name;
	return tag;
}

static int
render_tag_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The languages with a LANG.strings in the template folders (a
 * translator's one file adds one), and the site's own; sorted.
 */
static struct render_langs *
render_langs_new(const struct render_site *site)
{
	struct render_langs	*l;
	struct dirent		*de;
	DIR			*d;
	const char		*dirs[2], *cur;
	char			 tag[LANG_MAX], name[64];
	size_t			 i, k, n;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		abort();
	cur = site->lang != NULL ? site->lang : "en";
	snprintf(l->tags[l->n++], LANG_MAX, "%s", cur);
	dirs[0] = site->tpl_dir;
	dirs[1] = site->tpl_default_dir != NULL ? site->tpl_default_dir :
	    RENDER_TEMPLATE_DIR;
	for (i = 0; i < 2; i++) {
		if (dirs[i] == NULL || (d = opendir(dirs[i])) == NULL)
			continue;
		while ((de = readdir(d)) != NULL && l->n < RENDER_LANGS_MAX) {
			n = strlen(de->d_name);
			if (n <= 8 || n - 8 >= sizeof(name) ||
			    strcmp(de->d_name + n - 8, ".strings") != 0)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(n - 8),
			    de->d_name);
			if (lang_norm(name, tag, sizeof(tag)) == -1)
				continue;
			for (k = 0; k < l->n; k++)
				if (strcmp(l->tags[k], tag) == 0)
					break;
			if (k == l->n)
				snprintf(l->tags[l->n++], LANG_MAX, "%s", tag);
		}
		closedir(d);
	}
	qsort(l->tags, l->n, sizeof(l->tags[0]), render_tag_cmp);
	for (i = 0; i < l->n; i++) {
		render_pair(&l->p[i][0], "tag", l->tags[i]);
		render_pair(&l->p[i][1], "name", render_lang_name(l->tags[i]));
		l->p[i][2].key = "selected";
		l->p[i][2].val.kind = MUS_BOOL;
		l->p[i][2].val.b = strcmp(l->tags[i], cur) == 0;
		l->v[i] = mus_map(l->p[i], 3);
	}
	return l;
}

int
render_lang_best(const struct render_site *site, const char *want,
    char *out, size_t outlen)
{
	struct render_langs	*l;
	const char		*have[RENDER_LANGS_MAX];
	size_t			 i;
	int			 k;

	if (want == NULL || *want == '\0')
		return -1;
	l = render_langs_new(site);
	for (i = 0; i < l->n; i++)
		have[i] = l->tags[i];
	if ((k = lang_pick(want, have, l->n)) >= 0)
		snprintf(out, outlen, "%s", l->tags[k]);
	free(l);
	return k >= 0 ? 0 : -1;
}

static void
render_siteframe_init(struct render_siteframe *f,
    const struct render_site *site)
{
	const char	*base = site->base_url != NULL ? site->base_url : "";

	memset(f, 0, sizeof(*f));
	if (site->feed_lang != NULL && *site->feed_lang != '\0')
		buf_printf(&f->feed_url, "%s/feed.%s.xml", base,
		    site->feed_lang);
	else
		buf_printf(&f->feed_url, "%s/feed.xml", base);
	buf_printf(&f->index_url, "%s/archive/", base);
	render_pair(&f->pairs[0], "list_name", site->list_name);
	render_pair(&f->pairs[1], "base_url", base);
	render_pair(&f->pairs[2], "feed_url", f->feed_url.p);
	render_pair(&f->pairs[3], "page_title", site->list_name);
	render_pair(&f->pairs[4], "archive_index_url", f->index_url.p);
	buf_printf(&f->home_url, "%s/", base);
	buf_printf(&f->subscribe_url, "%s/subscribe", base);
	render_pair(&f->pairs[5], "home_url", f->home_url.p);
	render_pair(&f->pairs[6], "subscribe_url", f->subscribe_url.p);
	render_pair(&f->pairs[7], "list_description", site->description);
	render_pair(&f->pairs[8], "lang", site->lang != NULL ? site->lang :
	    "en");
	render_pair(&f->pairs[9], "dir", lang_dir(site->lang != NULL ?
	    site->lang : "en"));
	f->langs = render_langs_new(site);
	f->pairs[10].key = "languages";
	f->pairs[10].val.kind = MUS_LIST;
	f->pairs[10].val.items = f->langs->v;
	f->pairs[10].val.n = f->langs->n;
	f->pairs[11].key = "has_languages";	/* more than one to choose */
	f->pairs[11].val.kind = MUS_BOOL;
	f->pairs[11].val.b = f->langs->n > 1;
	f->map = mus_map(f->pairs, 12);
}

static void
render_siteframe_free(struct render_siteframe *f)
{
	buf_free(&f->feed_url);
	buf_free(&f->index_url);
	buf_free(&f->home_url);
	buf_free(&f->subscribe_url);
	free(f->langs);
}

void
render_doc_from_statement(struct render_doc *d, const struct statement *st,
    uint64_t id, time_t sent)
{
	memset(d, 0, sizeof(*d));
	d->id = id;
	d->title = st->title;
	d->byline = st->byline_line;
	d->author = st->byline;
	d->date_text = st->date_text;
	d->date = st->date_text != NULL ? st->date : sent;
	d->html = st->html;
	d->summary = st->nparagraphs > 0 ? st->paragraphs[0] : NULL;
}

/*
 * A sharing card's description: the first paragraph, cut at a word
 * before RENDER_DESC_MAX octets (never inside a UTF-8 sequence) with an
 * ellipsis.
 */
static void
render_description(struct buf *out, const char *s)
{
	size_t	n, cut;

	buf_addstr(out, "");
	if (s == NULL)
		return;
	if ((n = strlen(s)) <= RENDER_DESC_MAX) {
		buf_add(out, s, n);
		return;
	}
	cut = RENDER_DESC_MAX;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	n = cut;
	while (n > RENDER_DESC_MAX / 2 && s[n] != ' ')
		n--;
	if (s[n] == ' ')
		cut = n;
	buf_add(out, s, cut);
	buf_addstr(out, "\xe2\x80\xa6");
}

int
render_archive_page(const struct render_site *site,
    const struct render_doc *d, struct buf *out, char *err, size_t errlen)
{
	struct render_siteframe	 sf;
	struct mus_pair		 p[13], *ap = NULL;
	struct mus_val		 map, *av = NULL;
	const struct mus_val	*stack[2];
	struct buf		 url = BUF_INIT, desc = BUF_INIT, *au = NULL;
	char			 iso[16], id[24];
	size_t			 i;
	int			 ret;

	render_siteframe_init(&sf, site);
	render_description(&desc, d->summary);
	buf_printf(&url, "%s/archive/%" PRIu64, site->base_url, d->id);
	if (d->lang != NULL)
		buf_printf(&url, "/%s", d->lang);
	/* the other versions, for hreflang (the page's own among them) */
	if (d->nalts > 1) {
		if ((ap = calloc(2 * d->nalts, sizeof(*ap))) == NULL ||
		    (av = calloc(d->nalts, sizeof(*av))) == NULL ||
		    (au = calloc(d->nalts, sizeof(*au))) == NULL)
			abort();
		for (i = 0; i < d->nalts; i++) {
			buf_printf(&au[i], "%s/archive/%" PRIu64,
			    site->base_url, d->id);
			if (!d->alts[i].is_default)
				buf_printf(&au[i], "/%s", d->alts[i].lang);
			render_pair(&ap[2 * i], "hreflang", d->alts[i].lang);
			render_pair(&ap[2 * i + 1], "href", au[i].p);
			av[i] = mus_map(&ap[2 * i], 2);
		}
	}
	snprintf(id, sizeof(id), "%" PRIu64, d->id);
	render_date_iso(d->date, iso, sizeof(iso));
	render_pair(&p[0], "title", d->title);
	render_pair(&p[1], "page_title", d->title);
	render_pair(&p[2], "byline", d->byline);
	render_pair(&p[3], "author", d->author);
	render_pair(&p[4], "date", d->date_text);
	render_pair(&p[5], "date_iso", iso);
	render_pair(&p[6], "body_html", d->html);
	render_pair(&p[7], "archive_url", url.p);
	render_pair(&p[8], "id", id);
	render_pair(&p[9], "canonical_url", url.p);
	render_pair(&p[10], "description", desc.p);
	render_pair(&p[11], "og_type", "article");	/* a sharing card */
	p[12].key = "alternates";
	p[12].val.kind = MUS_LIST;
	p[12].val.items = av;
	p[12].val.n = av != NULL ? d->nalts : 0;
	map = mus_map(p, 13);
	stack[0] = &sf.map;
	stack[1] = &map;
	ret = render_named(site, "archive.html", stack, 2, out, err, errlen);
	for (i = 0; au != NULL && i < d->nalts; i++)
		buf_free(&au[i]);
	free(au);
	free(av);
	free(ap);
	buf_free(&url);
	buf_free(&desc);
	render_siteframe_free(&sf);
	return ret;
}

struct render_item {
	struct buf	url, cdata;
	char		date[RSS_DATE_SIZE], iso[16];
	struct mus_pair	p[10];
};

static int
render_doc_cmp(const void *a, const void *b)
{
	const struct render_doc	*x = *(const struct render_doc *const *)a;
	const struct render_doc	*y = *(const struct render_doc *const *)b;

	if (x->date != y->date)
		return x->date > y->date ? -1 : 1;
	if (x->id != y->id)
		return x->id > y->id ? -1 : 1;
	return 0;
}

/* Items newest first, cut to max, framed for a template. */
static struct render_item *
render_items(const struct render_site *site, const struct render_doc *docs,
    size_t n, size_t max, struct mus_val **valsp, size_t *np)
{
	const struct render_doc	**sorted;
	struct render_item	 *it;
	struct mus_val		 *vals;
	const struct render_doc	 *d;
	size_t			  i;

	if ((sorted = calloc(n + 1, sizeof(*sorted))) == NULL)
		abort();
	for (i = 0; i < n; i++)
		sorted[i] = &docs[i];
	qsort(sorted, n, sizeof(*sorted), render_doc_cmp);
	if (max > 0 && n > max)
		n = max;
	it = calloc(n + 1, sizeof(*it));
	vals = calloc(n + 1, sizeof(*vals));
	if (it == NULL || vals == NULL)
		abort();
	for (i = 0; i < n; i++) {
		d = sorted[i];
		buf_printf(&it[i].url, "%s/archive/%" PRIu64, site->base_url,
		    d->id);
		if (d->lang != NULL)
			buf_printf(&it[i].url, "/%s", d->lang);
		rss_cdata(&it[i].cdata, d->html ? d->html : "",
		    d->html ? strlen(d->html) : 0);
		if (d->date == 0 || rss_date(d->date, it[i].date,
		    sizeof(it[i].date)) == -1)
			it[i].date[0] = '\0';
		render_date_iso(d->date, it[i].iso, sizeof(it[i].iso));
		render_pair(&it[i].p[0], "title", d->title);
		render_pair(&it[i].p[1], "archive_url", it[i].url.p);
		render_pair(&it[i].p[2], "pub_date", it[i].date);
		render_pair(&it[i].p[3], "date", d->date_text);
		render_pair(&it[i].p[4], "date_iso", it[i].iso);
		render_pair(&it[i].p[5], "author", d->author);
		render_pair(&it[i].p[6], "byline", d->byline);
		render_pair(&it[i].p[7], "summary",
		    d->summary != NULL ? d->summary : d->html);
		render_pair(&it[i].p[8], "content_cdata", it[i].cdata.p);
		render_pair(&it[i].p[9], "body_html", d->html);
		vals[i] = mus_map(it[i].p, 10);
	}
	free(sorted);
	*valsp = vals;
	*np = n;
	return it;
}

static void
render_items_free(struct render_item *it, struct mus_val *vals, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		buf_free(&it[i].url);
		buf_free(&it[i].cdata);
	}
	free(it);
	free(vals);
}

/* path: the page's own, after base_url, for its canonical URL (or NULL) */
static int
render_list_page(const struct render_site *site, const char *name,
    const char *path, const struct render_doc *docs, size_t n, size_t max,
    time_t now, struct buf *out, char *err, size_t errlen)
{
	struct render_siteframe	 sf;
	struct render_item	*it;
	struct mus_val		*vals, map;
	struct mus_pair		 p[7];
	struct buf		 canon = BUF_INIT;
	const struct mus_val	*stack[2];
	char			 built[RSS_DATE_SIZE];
	size_t			 ni;
	int			 ret;

	render_siteframe_init(&sf, site);
	it = render_items(site, docs, n, max, &vals, &ni);
	if (rss_date(now, built, sizeof(built)) == -1)
		built[0] = '\0';
	p[0].key = "items";
	p[0].val.kind = MUS_LIST;
	p[0].val.items = vals;
	p[0].val.n = ni;
	p[1].key = "has_items";
	p[1].val.kind = MUS_BOOL;
	p[1].val.b = ni > 0;
	render_pair(&p[2], "last_build_date", built);
	if (path != NULL)
		buf_printf(&canon, "%s%s", site->base_url != NULL ?
		    site->base_url : "", path);
	render_pair(&p[3], "canonical_url", canon.p);
	render_pair(&p[4], "description", site->description);
	p[5].key = "has_more";		/* more than the page lists */
	p[5].val.kind = MUS_BOOL;
	p[5].val.b = max > 0 && n > max;
	/* the front page gets a sharing card too */
	render_pair(&p[6], "og_type", path != NULL && strcmp(path, "/") == 0 ?
	    "website" : NULL);
	map = mus_map(p, 7);
	stack[0] = &sf.map;
	stack[1] = &map;
	ret = render_named(site, name, stack, 2, out, err, errlen);
	render_items_free(it, vals, ni);
	render_siteframe_free(&sf);
	buf_free(&canon);
	return ret;
}

int
render_archive_index(const struct render_site *site,
    const struct render_doc *docs, size_t n, struct buf *out, char *err,
    size_t errlen)
{
	return render_list_page(site, "archive-index.html", "/archive/", docs,
	    n, 0, time(NULL), out, err, errlen);
}

int
render_home(const struct render_site *site, const struct render_doc *docs,
    size_t n, size_t max, struct buf *out, char *err, size_t errlen)
{
	return render_list_page(site, "index.html", "/", docs, n, max,
	    time(NULL), out, err, errlen);
}

int
render_feed(const struct render_site *site, const struct render_doc *docs,
    size_t n, size_t max, time_t now, struct buf *out, char *err,
    size_t errlen)
{
	return render_list_page(site, "feed.rss", NULL, docs, n, max, now, out,
	    err, errlen);
}

int
render_page(const struct render_site *site, const char *name,
    const struct mus_pair *vars, size_t nvars, struct buf *out, char *err,
    size_t errlen)
{
	struct render_siteframe	 sf;
	struct mus_val		 map;
	const struct mus_val	*stack[2];
	int			 ret;

	render_siteframe_init(&sf, site);
	map = mus_map(vars, nvars);
	stack[0] = &sf.map;
	stack[1] = &map;
	ret = render_named(site, name, stack, 2, out, err, errlen);
	render_siteframe_free(&sf);
	return ret;
}

int
render_string(const struct render_site *site, const char *key,
    const struct mus_pair *vars, size_t nvars, struct buf *out, char *err,
    size_t errlen)
{
	struct render_siteframe	 sf;
	struct render_loader	 l;
	struct mus_tpl		*t;
	struct mus_val		 map;
	const struct mus_val	*stack[2];
	struct buf		 src = BUF_INIT;
	char			 cerr[256];
	size_t			 i;
	int			 ret = -1;

	memset(&l, 0, sizeof(l));
	l.site = site;
	buf_printf(&src, "{{> t.%s}}", key);
	t = mus_compile(src.p, src.len, MUS_NOESCAPE, render_loader_cb, &l,
	    cerr, sizeof(cerr));
	if (l.err[0] != '\0')
		snprintf(err, errlen, "%s", l.err);
	else if (t == NULL)
		snprintf(err, errlen, "string %s: %s", key, cerr);
	else {
		render_siteframe_init(&sf, site);
		map = mus_map(vars, nvars);
		stack[0] = &sf.map;
		stack[1] = &map;
		if (mus_render(t, stack, 2, out) == 0)
			ret = 0;
		else
			snprintf(err, errlen, "string %s: nested too deep", key);
		render_siteframe_free(&sf);
	}
	mus_free(t);
	for (i = 0; i < l.nsrcs; i++)
		free(l.srcs[i]);
	render_strings_free(&l.strings);
	buf_free(&src);
	return ret;
}
