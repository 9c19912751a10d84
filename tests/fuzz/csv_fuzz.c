/*
 * csv_fuzz.c -- the subscriber CSV reader (import.c).
 *
 * The input is fed whole, one byte at a time (inputs up to 4 KiB) and in
 * chunks of sizes drawn from the input's hash; the transcripts (every
 * row and every error with its line, the counters and the final status)
 * must be identical.  Every row handed over must keep the promises of
 * import.h: NUL-terminated UTF-8 without CR, LF or NUL, an address that
 * is its own normal form and a key equal to addr_key() of it.  A fourth
 * run aborts from the row callback and checks that the import then stays
 * dead.  Each row's fields, as the JSON text the store keeps
 * (import_fields_json), must parse back with jansson, without duplicate
 * keys, to exactly the row's names and values.
 */
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "buf.h"
#include "import.h"

#include "fuzz.h"

struct csv_run {
	struct buf	 t;		/* transcript */
	int		 abort_at;	/* row number to return -1 at, or 0 */
	int		 rows;
};

static void
csv_check_str(const char *s, size_t len)
{
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(strlen(s) == len);
	FUZZ_CHECK(utf8_valid(s, len));
	FUZZ_CHECK(text_header_safe(s, len));
}

static void
csv_check_json(const struct import_row *r)
{
	struct buf	 b = BUF_INIT;
	json_error_t	 jerr;
	json_t		*o, *v;
	size_t		 i;

	import_fields_json(r, &b);
	o = json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		fprintf(stderr, "fields JSON %s: %s\n", b.p, jerr.text);
	FUZZ_CHECK(o != NULL && json_is_object(o));
	FUZZ_CHECK(json_object_size(o) == r->nfields);
	for (i = 0; i < r->nfields; i++) {
		v = json_object_get(o, r->fields[i].name);
		FUZZ_CHECK(v != NULL && json_is_string(v));
		FUZZ_CHECK(json_string_length(v) == r->fields[i].valuelen);
		FUZZ_CHECK(memcmp(json_string_value(v), r->fields[i].value,
		    r->fields[i].valuelen) == 0);
	}
	json_decref(o);
	buf_free(&b);
}

static int
csv_row_cb(const struct import_row *r, void *arg)
{
	struct csv_run	*run = arg;
	char		 addr[ADDR_BUFSZ], key[ADDR_BUFSZ], err[256];
	size_t		 i;

	csv_check_str(r->addr, strlen(r->addr));
	csv_check_str(r->name, r->namelen);
	FUZZ_CHECK(addr_normalize(r->addr, addr, sizeof(addr), err,
	    sizeof(err)) == 0);
	FUZZ_CHECK(strcmp(addr, r->addr) == 0);
	addr_key(r->addr, key, sizeof(key));
	FUZZ_CHECK(strcmp(key, r->key) == 0);
	FUZZ_CHECK(r->nfields < IMPORT_COLUMNS_MAX);
	buf_printf(&run->t, "row %lu <%s> <%s> [%s]", r->line, r->addr,
	    r->key, r->name);
	for (i = 0; i < r->nfields; i++) {
		csv_check_str(r->fields[i].name, r->fields[i].namelen);
		csv_check_str(r->fields[i].value, r->fields[i].valuelen);
		FUZZ_CHECK(r->fields[i].valuelen <= IMPORT_FIELD_MAX);
		buf_printf(&run->t, " %s=%s", r->fields[i].name,
		    r->fields[i].value);
	}
	buf_addc(&run->t, '\n');
	csv_check_json(r);
	if (++run->rows == run->abort_at)
		return -1;
	return 0;
}

static void
csv_err_cb(unsigned long line, const char *reason, void *arg)
{
	struct csv_run	*run = arg;

	FUZZ_CHECK(reason != NULL && reason[0] != '\0');
	FUZZ_CHECK(strchr(reason, '\n') == NULL && strchr(reason, '\r') ==
	    NULL);
	buf_printf(&run->t, "err %lu %s\n", line, reason);
}

/* Feed in chunks; mode 0 whole, 1 byte by byte, 2 random sizes. */
static void
csv_run(const uint8_t *data, size_t len, int mode, int abort_at,
    struct buf *t)
{
	struct csv_run	 run;
	struct import	*im;
	uint64_t	 seed = fuzz_seed(data, len);
	size_t		 off = 0, n;
	int		 rc = 0;
	char		*copy;

	memset(&run, 0, sizeof(run));
	run.abort_at = abort_at;
	FUZZ_CHECK((im = import_new(csv_row_cb, csv_err_cb, &run)) != NULL);
	while (off < len && rc == 0) {
		if (mode == 0)
			n = len;
		else if (mode == 1)
			n = 1;
		else
			n = 1 + fuzz_rand(&seed) % (fuzz_rand(&seed) % 2 ?
			    8 : 512);
		if (n > len - off)
			n = len - off;
		/* each chunk in a block of its own size */
		copy = fuzz_dup(data + off, n, 0);
		rc = import_feed(im, copy, n);
		free(copy);
		off += n;
	}
	if (rc == 0)
		rc = import_finish(im);
	else {
		/* dead: feeding more fails again */
		FUZZ_CHECK(import_feed(im, "x", 1) == -1);
		FUZZ_CHECK(import_error(im)[0] != '\0');
	}
	if (abort_at > 0 && run.rows >= abort_at) {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(strcmp(import_error(im), "import aborted") == 0);
	}
	if (rc == -1)
		FUZZ_CHECK(import_error(im)[0] != '\0');
	buf_printf(&run.t, "rc %d ok %lu bad %lu err [%s]\n", rc,
	    import_rows_ok(im), import_rows_bad(im), import_error(im));
	if (rc == 0)
		buf_printf(&run.t, "lines %lu\n", import_lines(im));
	import_free(im);
	*t = run.t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf	 whole, part;

	csv_run(data, len, 0, 0, &whole);
	if (len <= 4096) {
		csv_run(data, len, 1, 0, &part);
		if (whole.len != part.len || memcmp(whole.p, part.p,
		    whole.len) != 0)
			fprintf(stderr, "whole:\n%s\nbyte by byte:\n%s\n",
			    whole.p, part.p);
		FUZZ_CHECK(whole.len == part.len &&
		    memcmp(whole.p, part.p, whole.len) == 0);
		buf_free(&part);
	}
	csv_run(data, len, 2, 0, &part);
	if (whole.len != part.len || memcmp(whole.p, part.p, whole.len) != 0)
		fprintf(stderr, "whole:\n%s\nchunked:\n%s\n", whole.p, part.p);
	FUZZ_CHECK(whole.len == part.len &&
	    memcmp(whole.p, part.p, whole.len) == 0);
	buf_free(&part);
	csv_run(data, len, 2, 1, &part);
	buf_free(&part);
	buf_free(&whole);
	return 0;
}
