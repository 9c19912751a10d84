/*
 * site.c -- the public site's pages, served from memory (site.h).
 *
 * A page is rendered on first request (what it shows is read off the
 * loop first, site_page_read's snapshot, and the core renders it:
 * archive_home, archive_index, archive_render; the form alone is a plain
 * template) and kept with the SHA-256 of its bytes as ETag, the
 * time that ETag first appeared as Last-Modified, and its own
 * Content-Security-Policy.  site_changed(), called whenever the feed is
 * rebuilt (a new or cancelled broadcast), marks every page stale: it is
 * rendered again on its next request and keeps its Last-Modified if its
 * bytes came out the same.  A reload (env->conf is another object) does
 * the same.  At most SITE_PAGES pages and SITE_BYTES bytes are kept; the
 * least recently served go first.
 *
 * The policy is strict: nothing loads but the page itself.  Each <style>
 * element's text is allowed by its SHA-256 (no 'unsafe-inline', so an
 * injected style attribute or element does nothing), forms may post only
 * to this origin or list.base_url's, no scripts, frames, fonts or base
 * element; images only from this origin, data: or https (a Markdown
 * statement may show a picture), never plain http.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "core.h"
#include "lang.h"
#include "mustache.h"
#include "render.h"
#include "site.h"

#define SITE_PAGES	72		/* pages kept rendered */
#define SITE_BYTES	(16 * 1024 * 1024)

static struct site_page		 site_pages[SITE_PAGES];
static size_t			 site_bytes;
static uint64_t			 site_tick;
static const struct config	*site_conf;

static void
site_page_drop(struct site_page *pg, int forget)
{
	site_bytes -= pg->body.len;
	buf_free(&pg->body);
	buf_free(&pg->csp);
	pg->fresh = 0;
	if (forget) {
		free(pg->path);
		pg->path = NULL;
		pg->etag[0] = '\0';
		pg->mtime = 0;
	}
}

void
site_changed(void)
{
	size_t	i;

	for (i = 0; i < SITE_PAGES; i++)
		if (site_pages[i].path != NULL)
			site_page_drop(&site_pages[i], 0);
}

void
site_shutdown(void)
{
	size_t	i;

	for (i = 0; i < SITE_PAGES; i++)
		if (site_pages[i].path != NULL)
			site_page_drop(&site_pages[i], 1);
	site_conf = NULL;
}

static void
site_b64(const unsigned char *p, size_t n, struct buf *out)
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				    "qrstuvwxyz0123456789+/";
	size_t			 i;
	uint32_t		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		buf_addc(out, a[v >> 18]);
		buf_addc(out, a[(v >> 12) & 63]);
		buf_addc(out, a[(v >> 6) & 63]);
		buf_addc(out, a[v & 63]);
	}
	if (i + 1 == n) {
		v = (uint32_t)p[i] << 16;
		buf_addc(out, a[v >> 18]);
		buf_addc(out, a[(v >> 12) & 63]);
		buf_addstr(out, "==");
	} else if (i + 2 == n) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		buf_addc(out, a[v >> 18]);
		buf_addc(out, a[(v >> 12) & 63]);
		buf_addc(out, a[(v >> 6) & 63]);
		buf_addc(out, '=');
	}
}

/* base_url's scheme://host[:port], or nothing if it has none */
static void
site_origin(const char *base, struct buf *out)
{
	const char	*p;
	size_t		 n;

	if (base == NULL || (p = strstr(base, "://")) == NULL)
		return;
	n = (size_t)(p - base) + 3;
	n += strcspn(base + n, "/?#");
	buf_addc(out, ' ');
	buf_add(out, base, n);
}

/*
 * The policy for one page: a 'sha256-...' source for the text of each
 * <style> element in it (as the browser hashes it: the bytes between the
 * tags).
 */
void
site_csp(const char *html, size_t len, const char *base_url,
    struct buf *out)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	const char	*p = html, *end = html + len, *s, *e;
	int		 nstyle = 0;

	buf_addstr(out, "default-src 'none'; style-src");
	while (p < end && (s = memmem(p, (size_t)(end - p), "<style",
	    6)) != NULL) {
		if ((s = memchr(s, '>', (size_t)(end - s))) == NULL)
			break;
		s++;
		if ((e = memmem(s, (size_t)(end - s), "</style>", 8)) == NULL)
			break;
		if (EVP_Digest(s, (size_t)(e - s), md, &mdlen, EVP_sha256(),
		    NULL) != 1)
			fatalx("site: SHA-256");
		buf_addstr(out, " 'sha256-");
		site_b64(md, mdlen, out);
		buf_addc(out, '\'');
		nstyle++;
		p = e + 8;
	}
	if (nstyle == 0)
		buf_addstr(out, " 'none'");
	buf_addstr(out, "; img-src 'self' data: https:; form-action 'self'");
	site_origin(base_url, out);
	buf_addstr(out, "; base-uri 'none'; frame-ancestors 'none'");
}

/* The form alone (GET /subscribe). */
static int
site_render_form(struct buf *out, char *err, size_t errlen)
{
	struct render_site	 site;
	struct mus_pair		 p[2];
	struct buf		 title = BUF_INIT, canon = BUF_INIT;
	int			 ret = -1;

	config_site(env->conf, &site);
	if (render_string(&site, "subscribe_to", NULL, 0, &title, err,
	    errlen) == -1)
		goto end;
	buf_addstr(&title, "");
	buf_printf(&canon, "%s/subscribe", env->conf->list_base_url);
	p[0].key = "page_title";
	p[0].val = mus_str(title.p, title.len);
	p[1].key = "canonical_url";
	p[1].val = mus_str(canon.p, canon.len);
	ret = render_page(&site, "subscribe.html", p, 2, out, err, errlen);
 end:
	buf_free(&title);
	buf_free(&canon);
	return ret;
}

enum site_kind { SITE_NONE, SITE_FEED_LANG, SITE_HOME, SITE_INDEX,
    SITE_FORM, SITE_ONE, SITE_ONE_LANG };

/* Which page path names (tag: a feed's or a translation's language). */
static enum site_kind
site_parse(const char *path, int64_t *idp, char tag[LANG_MAX])
{
	char		*end, norm[LANG_MAX];
	long long	 id;
	size_t		 n;

	/* /feed.LANG.xml: one language's feed (the tag as normalised) */
	n = strlen(path);
	if (strncmp(path, "/feed.", 6) == 0 && n > 10 &&
	    strcmp(path + n - 4, ".xml") == 0) {
		if (n - 10 >= LANG_MAX)
			return SITE_NONE;
		snprintf(tag, LANG_MAX, "%.*s", (int)(n - 10), path + 6);
		/* a tag as the feeds are named (normalised), else nothing
		 * is read for it */
		if (lang_norm(tag, norm, sizeof(norm)) == -1 ||
		    strcmp(norm, tag) != 0)
			return SITE_NONE;
		return SITE_FEED_LANG;
	}
	if (strcmp(path, "/") == 0)
		return SITE_HOME;
	if (strcmp(path, "/archive/") == 0)
		return SITE_INDEX;
	if (strcmp(path, "/subscribe") == 0)
		return SITE_FORM;
	if (strncmp(path, "/archive/", 9) != 0 || path[9] < '1' ||
	    path[9] > '9')
		return SITE_NONE;
	id = strtoll(path + 9, &end, 10);
	if (id <= 0 || id == LLONG_MAX)
		return SITE_NONE;
	*idp = (int64_t)id;
	/* /archive/ID/LANG: a translation's page, the tag as linked */
	if (*end == '/' && end[1] != '\0' && strlen(end + 1) < LANG_MAX &&
	    lang_norm(end + 1, tag, LANG_MAX) == 0 &&
	    strcmp(tag, end + 1) == 0)
		return SITE_ONE_LANG;
	if (*end != '\0')
		return SITE_NONE;
	return SITE_ONE;
}

static int
site_render(const char *path, const struct pub_snap *ps, struct buf *out,
    int *code, char *err, size_t errlen)
{
	char		 tag[LANG_MAX];
	int64_t		 id = 0;
	enum site_kind	 k = site_parse(path, &id, tag);

	*code = 200;
	if (k == SITE_FORM)
		return site_render_form(out, err, errlen);
	if (k == SITE_NONE || ps == NULL) {
		*code = 404;
		return 0;
	}
	switch (k) {
	case SITE_FEED_LANG:
		return feed_render_lang(ps, tag, out, code, err, errlen);
	case SITE_HOME:
		return archive_home(ps, out, err, errlen);
	case SITE_INDEX:
		return archive_index(ps, out, err, errlen);
	case SITE_ONE_LANG:
		return archive_render_lang(ps, id, tag, out, code, err,
		    errlen);
	default:
		return archive_render(ps, id, out, code, err, errlen);
	}
}

/*
 * What path's page needs read from the store before site_page_get can
 * render it: a snapshot to read with pub_snap_work off the loop, or NULL
 * (it is rendered and fresh, it is the form, or no such page).
 */
struct pub_snap *
site_page_read(const char *path)
{
	char		 tag[LANG_MAX];
	int64_t		 id = 0;
	size_t		 i;

	if (site_conf == env->conf)
		for (i = 0; i < SITE_PAGES; i++)
			if (site_pages[i].path != NULL &&
			    site_pages[i].fresh &&
			    strcmp(site_pages[i].path, path) == 0)
				return NULL;
	switch (site_parse(path, &id, tag)) {
	case SITE_FEED_LANG:
		return pub_snap_new(0, feed_read_limit(), 1);
	case SITE_HOME:
		return pub_snap_new(0, ARCHIVE_HOME_READ, 0);
	case SITE_INDEX:
		return pub_snap_new(0, ARCHIVE_INDEX_READ, 0);
	case SITE_ONE:
	case SITE_ONE_LANG:
		return pub_snap_new(id, 0, 1);
	default:
		return NULL;
	}
}

/* A slot for path: its own, a free one, or the least recently used. */
static struct site_page *
site_slot(const char *path)
{
	struct site_page	*free_pg = NULL, *old = NULL, *pg;
	size_t			 i;

	for (i = 0; i < SITE_PAGES; i++) {
		pg = &site_pages[i];
		if (pg->path == NULL) {
			if (free_pg == NULL)
				free_pg = pg;
		} else if (strcmp(pg->path, path) == 0)
			return pg;
		else if (old == NULL || pg->used < old->used)
			old = pg;
	}
	if (free_pg == NULL) {
		site_page_drop(old, 1);
		free_pg = old;
	}
	free_pg->path = xstrdup(path);
	return free_pg;
}

/* Keep the total under SITE_BYTES, giving up the least recently used. */
static void
site_trim(const struct site_page *keep)
{
	struct site_page	*old;
	size_t			 i;

	while (site_bytes > SITE_BYTES) {
		old = NULL;
		for (i = 0; i < SITE_PAGES; i++)
			if (site_pages[i].fresh && &site_pages[i] != keep &&
			    (old == NULL || site_pages[i].used < old->used))
				old = &site_pages[i];
		if (old == NULL)
			return;
		site_page_drop(old, 1);
	}
}

int
site_page_get(const char *path, const struct pub_snap *ps,
    const struct site_page **pgp, int *code, char *err, size_t errlen)
{
	struct site_page	*pg;
	struct buf		 b = BUF_INIT;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen, i;
	char			 etag[sizeof(pg->etag)];

	if (site_conf != env->conf) {	/* a reload: new templates, URL */
		site_changed();
		site_conf = env->conf;
	}
	*pgp = NULL;
	pg = site_slot(path);
	if (!pg->fresh) {
		if (site_render(path, ps, &b, code, err, errlen) == -1 ||
		    *code != 200) {
			site_page_drop(pg, 1);
			buf_free(&b);
			return *code != 200 ? 0 : -1;
		}
		if (EVP_Digest(b.p, b.len, md, &mdlen, EVP_sha256(), NULL)
		    != 1)
			fatalx("site: SHA-256");
		etag[0] = '"';
		for (i = 0; i < 16; i++)
			snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
		snprintf(etag + 33, sizeof(etag) - 33, "\"");
		if (strcmp(etag, pg->etag) != 0) {
			memcpy(pg->etag, etag, sizeof(etag));
			pg->mtime = time(NULL);
		}
		site_csp(b.p, b.len, env->conf->list_base_url, &pg->csp);
		pg->body = b;
		pg->fresh = 1;
		site_bytes += b.len;
		site_trim(pg);
	}
	pg->used = ++site_tick;
	*code = 200;
	*pgp = pg;
	return 0;
}
