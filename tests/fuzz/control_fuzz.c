/*
 * control_fuzz.c -- what the control API does with a JSON request body
 * (control.c control_body_json, the handlers in subscribers.c and
 * queue.c), on the same libraries and in the same order:
 * json_loadb() and the object check; "email" through addr_normalize()
 * and addr_key(); the "name" checks of POST /v1/subscribers; the
 * "subject" checks and every "test" address of POST /v1/broadcasts;
 * "source" through statement_parse() (plain or "markdown"), then
 * render_new() with the default templates and render_message() for a
 * recipient made of the request's email, name and "fields" (the stored
 * fields JSON, as queue.c reads it), once through the per-broadcast
 * cache and once direct: both must give the same bytes (or the same
 * refusal), a message with CRLF lines within 998 octets.  The feed and
 * archive page are rendered from the statement too.
 */
#include <jansson.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "render.h"
#include "statement.h"

#include "fuzz.h"

#ifndef FUZZ_TOP
#define FUZZ_TOP	"."
#endif

#define CF_STATEMENT_MAX	(1024 * 1024)	/* queue.c's limit, roughly */

static const unsigned char cf_key[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

static void
cf_site(struct render_site *site)
{
	memset(site, 0, sizeof(*site));
	site->list_name = "Fuzz – a list";
	site->from_name = "Réne Fuzz";
	site->from_addr = "list@example.org";
	site->list_id = "fuzz.example.org";
	site->base_url = "https://example.org/list";
	site->tpl_default_dir = FUZZ_TOP "/templates";
}

static void
cf_render(const struct statement *st, const char *subject,
    const char *email, const char *name, json_t *fields)
{
	struct render_params	 p;
	struct render_rcpt	 rc;
	struct render		*r1, *r2;
	struct render_doc	 doc;
	struct render_site	 site;
	struct buf		 o1 = BUF_INIT, o2 = BUF_INIT;
	const char		**names = NULL, **values = NULL, *k;
	json_t			*v;
	char			 e1[512], e2[512];
	size_t			 n = 0;
	int			 x1, x2;

	memset(&p, 0, sizeof(p));
	cf_site(&p.site);
	p.st = st;
	p.broadcast_id = 7;
	p.subject = subject != NULL && *subject != '\0' ? subject : NULL;
	p.key = cf_key;
	p.keylen = sizeof(cf_key);
	p.date = 1767657600;
	r1 = render_new(&p, e1, sizeof(e1));
	p.flags = RENDER_NOCACHE;
	r2 = render_new(&p, e2, sizeof(e2));
	FUZZ_CHECK((r1 == NULL) == (r2 == NULL));
	if (r1 == NULL)
		goto feed;
	if (json_is_object(fields) && json_object_size(fields) > 0) {
		names = calloc(json_object_size(fields), sizeof(*names));
		values = calloc(json_object_size(fields), sizeof(*values));
		FUZZ_CHECK(names != NULL && values != NULL);
		json_object_foreach(fields, k, v) {
			if (!json_is_string(v))
				continue;
			names[n] = k;
			values[n] = json_string_value(v);
			n++;
		}
	}
	memset(&rc, 0, sizeof(rc));
	rc.id = 42;
	rc.email = email;
	rc.name = name;
	rc.field_names = names;
	rc.field_values = values;
	rc.nfields = n;
	x1 = render_message(r1, &rc, &o1, e1, sizeof(e1));
	x2 = render_message(r2, &rc, &o2, e2, sizeof(e2));
	FUZZ_CHECK(x1 == x2);
	if (x1 == 0) {
		if (o1.len != o2.len || memcmp(o1.p, o2.p, o1.len) != 0)
			fprintf(stderr, "cached:\n%s\ndirect:\n%s\n", o1.p,
			    o2.p);
		FUZZ_CHECK(o1.len == o2.len && memcmp(o1.p, o2.p, o1.len)
		    == 0);
		FUZZ_CHECK(fuzz_crlf_lines(o1.p, o1.len, 998));
		/* twice through the cache: the same again */
		buf_reset(&o2);
		FUZZ_CHECK(render_message(r1, &rc, &o2, e2, sizeof(e2)) == 0);
		FUZZ_CHECK(o1.len == o2.len && memcmp(o1.p, o2.p, o1.len)
		    == 0);
	} else
		FUZZ_CHECK(e1[0] != '\0' && o1.len == 0);
	free(names);
	free(values);
	render_free(r1);
	render_free(r2);
 feed:
	cf_site(&site);
	render_doc_from_statement(&doc, st, 7, 1767657600);
	buf_reset(&o1);
	(void)render_archive_page(&site, &doc, &o1, e1, sizeof(e1));
	buf_reset(&o1);
	(void)render_feed(&site, &doc, 1, 20, 1767657600, &o1, e1,
	    sizeof(e1));
	buf_free(&o1);
	buf_free(&o2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct statement	 st;
	json_error_t		 jerr;
	json_t			*j, *tests, *a;
	const char		*email, *name, *source, *filename, *subject;
	char			 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[1024];
	char			 taddr[320];
	size_t			 i;
	int			 markdown, have_addr = 0;

	/* control_body_json */
	j = json_loadb((const char *)data, len, 0, &jerr);
	if (j == NULL || !json_is_object(j)) {
		FUZZ_CHECK(j != NULL || jerr.text[0] != '\0');
		json_decref(j);
		return 0;
	}

	/* subscribers_addr, subscribers_add */
	if ((email = json_string_value(json_object_get(j, "email"))) != NULL &&
	    addr_normalize(email, addr, ADDR_BUFSZ, err, sizeof(err)) == 0) {
		FUZZ_CHECK(strlen(addr) <= ADDR_MAX);
		addr_key(addr, key, ADDR_BUFSZ);
		FUZZ_CHECK(strlen(key) == strlen(addr));
		have_addr = 1;
	} else if (email != NULL)
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	name = json_string_value(json_object_get(j, "name"));
	if (name != NULL && utf8_valid(name, strlen(name)) &&
	    text_header_safe(name, strlen(name)) && strlen(name) <= 1024)
		FUZZ_CHECK(strchr(name, '\r') == NULL);

	/* queue_send */
	source = json_string_value(json_object_get(j, "source"));
	filename = json_string_value(json_object_get(j, "filename"));
	subject = json_string_value(json_object_get(j, "subject"));
	markdown = json_is_true(json_object_get(j, "markdown"));
	tests = json_object_get(j, "test");
	if (subject != NULL && (!text_header_safe(subject, strlen(subject)) ||
	    !utf8_valid(subject, strlen(subject)) || strlen(subject) > 998))
		subject = NULL;		/* refused with 400 */
	if (json_is_array(tests))
		json_array_foreach(tests, i, a) {
			if (!json_is_string(a))
				continue;
			if (addr_normalize(json_string_value(a), taddr,
			    sizeof(taddr), err, sizeof(err)) == 0)
				FUZZ_CHECK(strlen(taddr) <= ADDR_MAX);
		}
	if (source != NULL && filename != NULL &&
	    strlen(source) <= CF_STATEMENT_MAX) {
		memset(&st, 0, sizeof(st));
		if (statement_parse(source, strlen(source), markdown, &st, err,
		    sizeof(err)) == 0) {
			cf_render(&st, subject, have_addr ? addr :
			    "reader@example.org", name, json_object_get(j,
			    "fields"));
			statement_free(&st);
		}
	}
	json_decref(j);
	return 0;
}
