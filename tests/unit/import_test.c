/*
 * import_test.c -- table-driven tests for the streaming subscriber CSV
 * reader: each case is fed whole and in chunks of 1, 2, 3 and 7 octets,
 * and the rows and errors it reports must be the same every time.  Also
 * checks the memory bound on a huge field and prints the parse speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "import.h"
#include "unit.h"

struct collect {
	struct buf	 log;
	unsigned long	 rows;
	long		 abort_after;	/* -1: never */
};

static int
collect_row(const struct import_row *r, void *arg)
{
	struct collect	*c = arg;
	size_t		 i;

	if (c->abort_after >= 0 && (long)c->rows >= c->abort_after)
		return -1;
	c->rows++;
	buf_printf(&c->log, "L%lu %s key=%s name=[%s]", r->line, r->addr,
	    r->key, r->name);
	if (strlen(r->name) != r->namelen)
		buf_printf(&c->log, " BADNAMELEN");
	if (*r->lang != '\0')
		buf_printf(&c->log, " lang=%s", r->lang);
	for (i = 0; i < r->nfields; i++) {
		buf_printf(&c->log, " %s=[%s]", r->fields[i].name,
		    r->fields[i].value);
		if (strlen(r->fields[i].value) != r->fields[i].valuelen ||
		    strlen(r->fields[i].name) != r->fields[i].namelen)
			buf_printf(&c->log, " BADLEN");
	}
	buf_addc(&c->log, '\n');
	return 0;
}

static void
collect_err(unsigned long line, const char *reason, void *arg)
{
	struct collect	*c = arg;

	buf_printf(&c->log, "E%lu %s\n", line, reason);
}

/*
 * Run the input through a new reader in chunks of `chunk` octets (0: all
 * at once).  Returns the log; *rc is 0, or -1 after a fatal error.
 */
static char *
run(const char *in, size_t len, size_t chunk, long abort_after, int *rc,
    unsigned long *ok, unsigned long *bad, char *error, size_t errlen)
{
	struct collect	 c;
	struct import	*im;
	size_t		 off, n;

	memset(&c, 0, sizeof(c));
	c.abort_after = abort_after;
	buf_addstr(&c.log, "");
	if ((im = import_new(collect_row, collect_err, &c)) == NULL)
		abort();
	*rc = 0;
	for (off = 0; off < len; off += n) {
		n = chunk == 0 ? len : chunk;
		if (n > len - off)
			n = len - off;
		if (import_feed(im, in + off, n) == -1) {
			*rc = -1;
			break;
		}
	}
	if (*rc == 0)
		*rc = import_finish(im);
	if (*rc == -1)
		CHECK("fatal has a reason", import_error(im)[0] != '\0');
	*ok = import_rows_ok(im);
	*bad = import_rows_bad(im);
	snprintf(error, errlen, "%s", import_error(im));
	import_free(im);
	return buf_detach(&c.log);
}

struct csv_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*want;		/* the log */
	int		 rc;
	unsigned long	 ok, bad;
};

static const struct csv_case cases[] = {
	{ "lang column: normalised, not a field, a bad tag a bad row",
	    "email,LANG,city\n"
	    "a@example.org,pt-br,Recife\n"
	    "b@example.org,,Cork\n"
	    "c@example.org,english,Leeds\n"
	    "d@example.org, es ,Lima\n", 0,
	  "L2 a@example.org key=a@example.org name=[] lang=pt-BR "
	  "city=[Recife]\n"
	  "L3 b@example.org key=b@example.org name=[] city=[Cork]\n"
	  "E4 lang 'english' is not a language tag (es, pt-BR, ar...)\n"
	  "L5 d@example.org key=d@example.org name=[] lang=es city=[Lima]\n",
	  0, 3, 1 },
	{ "simple", "email,name,city\n"
	    "jane@example.org,Jane Doe,Paris\n", 0,
	  "L2 jane@example.org key=jane@example.org name=[Jane Doe] "
	  "city=[Paris]\n", 0, 1, 0 },
	{ "quoted comma, quote, spaces around quoted",
	    "email,name\n"
	    "\"a@example.org\",\"Doe, Jane \"\"JD\"\"\"\n"
	    "b@example.org , \"Smith, J\" \n", 0,
	  "L2 a@example.org key=a@example.org name=[Doe, Jane \"JD\"]\n"
	  "L3 b@example.org key=b@example.org name=[Smith, J]\n", 0, 2, 0 },
	{ "CRLF", "email,name\r\na@example.org,A\r\nb@example.org,B\r\n", 0,
	  "L2 a@example.org key=a@example.org name=[A]\n"
	  "L3 b@example.org key=b@example.org name=[B]\n", 0, 2, 0 },
	{ "BOM", "\xef\xbb\xbf" "email,name\na@example.org,Zoë\n", 0,
	  "L2 a@example.org key=a@example.org name=[Zoë]\n", 0, 1, 0 },
	{ "no final newline", "email,name\na@example.org,A", 0,
	  "L2 a@example.org key=a@example.org name=[A]\n", 0, 1, 0 },
	{ "lone CR", "email\ra@example.org\rb@example.org", 0,
	  "L1 a@example.org key=a@example.org name=[]\n"
	  "L1 b@example.org key=b@example.org name=[]\n", 0, 2, 0 },
	{ "header trimmed, case-insensitive, extra columns as fields",
	    " Name ,EMAIL , city,Plan \n"
	    "Zoë Ångström,Zoe@Example.ORG,Zürich,gold\n", 0,
	  "L2 Zoe@example.org key=zoe@example.org name=[Zoë Ångström] "
	  "city=[Zürich] Plan=[gold]\n", 0, 1, 0 },
	{ "IDN and CJK", "email,name\n"
	    "juergen@Bücher.example,Jürgen\n"
	    "taro@日本.example,山田太郎 🎉\n", 0,
	  "L2 juergen@xn--bcher-kva.example "
	  "key=juergen@xn--bcher-kva.example name=[Jürgen]\n"
	  "L3 taro@xn--wgv71a.example key=taro@xn--wgv71a.example "
	  "name=[山田太郎 🎉]\n", 0, 2, 0 },
	{ "blank lines and empty records skipped",
	    "\n\nemail,name,city\n\n  \n,,\n\"\",,\na@example.org,A,X\n\n", 0,
	  "L8 a@example.org key=a@example.org name=[A] city=[X]\n",
	  0, 1, 0 },
	{ "quoted newline in the last column counts lines",
	    "email,name,note\n"
	    "a@example.org,A,\"one\ntwo\nthree\"\n"
	    "b@example.org,B,ok\n", 0,
	  "E2 line break in column 'note'\n"
	  "L5 b@example.org key=b@example.org name=[B] note=[ok]\n",
	  0, 1, 1 },
	{ "bad rows reported with their line, good rows kept",
	    "email,name,city\n"				/* 1 */
	    "good1@example.org,One,X\n"			/* 2 */
	    "no-at.example.org,Two,X\n"			/* 3 */
	    "multi@example.org,\"Multi\nLine\",X\n"	/* 4-5 */
	    "good2@example.org,Three,X\n"		/* 6 */
	    "utf@example.org,Bad \xff,X\n"		/* 7 */
	    "nul@example.org,A\0B,X\n"			/* 8 */
	    "short@example.org,Short\n"			/* 9 */
	    "long@example.org,Long,X,extra\n"		/* 10 */
	    "stray@example.org,Str\"ay,X\n"		/* 11 */
	    "\n"					/* 12 */
	    ",,\n"					/* 13 */
	    "good3@example.org,\"Four\",Y\n"		/* 14 */
	    "cr@example.org,\"a\rb\",X\n"		/* 15 */
	    "two@@example.org,Two,X\n"			/* 16 */
	    "q@example.org,\"multi\nline\"oops,X\n"	/* 17-18 */
	    "good4@example.org,Five,Z\n"		/* 19 */
	    "after@example.org,\"x\"y,X\n"		/* 20 */
	    "inj@example.org\r\nBcc: x@example.net,,\n"	/* 21-22 */
	    "good5@example.org,Six,W\n",		/* 23 */
	  sizeof("email,name,city\n"
	    "good1@example.org,One,X\n"
	    "no-at.example.org,Two,X\n"
	    "multi@example.org,\"Multi\nLine\",X\n"
	    "good2@example.org,Three,X\n"
	    "utf@example.org,Bad \xff,X\n"
	    "nul@example.org,A\0B,X\n"
	    "short@example.org,Short\n"
	    "long@example.org,Long,X,extra\n"
	    "stray@example.org,Str\"ay,X\n"
	    "\n"
	    ",,\n"
	    "good3@example.org,\"Four\",Y\n"
	    "cr@example.org,\"a\rb\",X\n"
	    "two@@example.org,Two,X\n"
	    "q@example.org,\"multi\nline\"oops,X\n"
	    "good4@example.org,Five,Z\n"
	    "after@example.org,\"x\"y,X\n"
	    "inj@example.org\r\nBcc: x@example.net,,\n"
	    "good5@example.org,Six,W\n") - 1,
	  "L2 good1@example.org key=good1@example.org name=[One] city=[X]\n"
	  "E3 invalid address 'no-at.example.org': missing @\n"
	  "E4 line break in column 'name'\n"
	  "L6 good2@example.org key=good2@example.org name=[Three] "
	  "city=[X]\n"
	  "E7 invalid UTF-8 in column 'name'\n"
	  "E8 NUL byte in column 'name'\n"
	  "E9 2 columns, header has 3\n"
	  "E10 4 columns, header has 3\n"
	  "E11 CSV syntax error (stray quote), rest of line skipped\n"
	  "L14 good3@example.org key=good3@example.org name=[Four] "
	  "city=[Y]\n"
	  "E15 line break in column 'name'\n"
	  "E16 invalid address 'two@@example.org': more than one @\n"
	  "E17 CSV syntax error (stray quote), rest of line skipped\n"
	  "L19 good4@example.org key=good4@example.org name=[Five] "
	  "city=[Z]\n"
	  "E20 CSV syntax error (stray quote), rest of line skipped\n"
	  "E21 1 columns, header has 3\n"
	  "E22 invalid address 'Bcc: x@example.net': invalid character ':' "
	  "in local part\n"
	  "L23 good5@example.org key=good5@example.org name=[Six] "
	  "city=[W]\n", 0, 5, 13 },
	{ "unterminated quote at end",
	    "email,name\na@example.org,A\nb@example.org,\"open\n"
	    "c@example.org,C\n", 0,
	  "L2 a@example.org key=a@example.org name=[A]\n"
	  "E3 CSV syntax error (quoted field not closed at end of input)\n",
	  0, 1, 1 },
	{ "missing email column is fatal", "name,city\nA,B\n", 0,
	  "E1 header: no email column\n", -1, 0, 0 },
	{ "duplicate column is fatal", "email,name,Email\na@example.org,A,B\n",
	  0, "E1 header: duplicate column 'Email'\n", -1, 0, 0 },
	{ "empty column name is fatal", "email,,city\n", 0,
	  "E1 header: column 2 has no name\n", -1, 0, 0 },
	{ "stray quote in header is fatal", "email,na\"me\n", 0,
	  "E1 header: CSV syntax error (stray quote)\n", -1, 0, 0 },
	{ "empty input is fatal", "", 0, "E1 no header row\n", -1, 0, 0 },
	{ "blank input is fatal", "\r\n\n  \n", 0, "E1 no header row\n",
	  -1, 0, 0 },
	{ "header only", "email,name\n", 0, "", 0, 0, 0 },
	{ "record after a lone CR starts on that line",
	    "email,name\r\"a@example.org\",\"x\ny\"\rb@example.org,B\n", 0,
	  "E1 line break in column 'name'\n"
	  "L2 b@example.org key=b@example.org name=[B]\n", 0, 1, 1 },
	{ "control character in address is not echoed",
	    "email\na\x01" "b@example.org\n"
	    "\"\"\"a\x1b[31m\"\"@example.org\"\n", 0,
	  "E2 invalid address: control character in address\n"
	  "E3 invalid address: control character in address\n", 0, 0, 2 },
	{ "address too long is shown shortened",
	    "email\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@"
	    "example.org\n", 0,
	  "E2 invalid address 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': local "
	  "part over 64 octets\n", 0, 0, 1 },
};

static void
check_case(const struct csv_case *tc)
{
	static const size_t	 chunks[] = { 0, 1, 2, 3, 7 };
	char			 name[256], error[512], *log;
	unsigned long		 ok, bad;
	size_t			 len, i;
	int			 rc;

	len = tc->len ? tc->len : strlen(tc->in);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		log = run(tc->in, len, chunks[i], -1, &rc, &ok, &bad, error,
		    sizeof(error));
		snprintf(name, sizeof(name), "%s (chunk %zu): log", tc->name,
		    chunks[i]);
		CHECK_STR(name, log, tc->want);
		snprintf(name, sizeof(name), "%s (chunk %zu): rc", tc->name,
		    chunks[i]);
		CHECK_INT(name, rc, tc->rc);
		snprintf(name, sizeof(name), "%s (chunk %zu): ok", tc->name,
		    chunks[i]);
		CHECK_INT(name, ok, tc->ok);
		snprintf(name, sizeof(name), "%s (chunk %zu): bad", tc->name,
		    chunks[i]);
		CHECK_INT(name, bad, tc->bad);
		free(log);
	}
}

/* A field of exactly IMPORT_FIELD_MAX octets passes, one more does not. */
static void
check_field_limit(void)
{
	struct buf	 in = BUF_INIT;
	const char	*prefix = "L2 a@example.org key=a@example.org "
			    "name=[xxxx";
	char		 error[512], *log, *want;
	unsigned long	 ok, bad;
	size_t		 i, chunk;
	int		 rc;

	buf_addstr(&in, "email,name,city\na@example.org,");
	for (i = 0; i < IMPORT_FIELD_MAX; i++)
		buf_addc(&in, 'x');
	buf_addstr(&in, ",X\nb@example.org,");
	for (i = 0; i < IMPORT_FIELD_MAX + 1; i++)
		buf_addc(&in, 'y');
	buf_addstr(&in, ",X\nc@example.org,C,X\n");

	for (chunk = 0; chunk <= 4096; chunk += 4093) {
		log = run(in.p, in.len, chunk, -1, &rc, &ok, &bad, error,
		    sizeof(error));
		CHECK_INT("field limit: rc", rc, 0);
		CHECK_INT("field limit: ok", ok, 2);
		CHECK_INT("field limit: bad", bad, 1);
		want = strstr(log, "E3 ");
		CHECK_STR("field limit: error", want != NULL ? want :
		    log, "E3 column 'name' over 65536 octets\n"
		    "L4 c@example.org key=c@example.org name=[C] city=[X]\n");
		CHECK("field limit: 65536 kept", strncmp(log, prefix,
		    strlen(prefix)) == 0);
		free(log);
	}
	buf_free(&in);
}

/* A 100 KB quoted field with commas and newlines: one error, resync. */
static void
check_100k_quoted(void)
{
	struct buf	 in = BUF_INIT;
	char		 error[512], *log;
	unsigned long	 ok, bad;
	size_t		 i, chunk;
	int		 rc;

	buf_addstr(&in, "email,name,city\nbig@example.org,\"");
	for (i = 0; i < 25000; i++)
		buf_addstr(&in, "y,\"\"\n");	/* 5 octets, one newline */
	buf_addstr(&in, "\",X\nafter@example.org,After,Y\n");
	for (chunk = 0; chunk <= 7; chunk += 7) {
		log = run(in.p, in.len, chunk, -1, &rc, &ok, &bad, error,
		    sizeof(error));
		CHECK_STR("100 KB quoted field", log,
		    "E2 column 'name' over 65536 octets\n"
		    "L25003 after@example.org key=after@example.org "
		    "name=[After] city=[Y]\n");
		CHECK_INT("100 KB quoted field: ok", ok, 1);
		CHECK_INT("100 KB quoted field: bad", bad, 1);
		free(log);
	}
	buf_free(&in);
}

static int
count_row(const struct import_row *r, void *arg)
{
	unsigned long	*n = arg;

	(void)r;
	(*n)++;
	return 0;
}

/* Resident set size now, in KiB (Linux). */
static long
rss_kb(void)
{
	FILE	*f;
	long	 size, resident = -1;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 64 MiB in one field must not make the reader grow. */
static void
check_memory_bound(void)
{
	struct import	*im;
	char		 chunk[65536];
	unsigned long	 n = 0;
	long		 before, after;
	int		 i;
	const char	*tail = "\na@example.org,A\n";

	memset(chunk, 'z', sizeof(chunk));
	im = import_new(count_row, NULL, &n);
	before = rss_kb();
	import_feed(im, "email,name\nhuge@example.org,", 28);
	for (i = 0; i < 1024; i++)
		import_feed(im, chunk, sizeof(chunk));
	import_feed(im, tail, strlen(tail));
	CHECK_INT("memory bound: finish", import_finish(im), 0);
	after = rss_kb();
	CHECK_INT("memory bound: rows ok", import_rows_ok(im), 1);
	CHECK_INT("memory bound: rows bad", import_rows_bad(im), 1);
	CHECK_INT("memory bound: lines", import_lines(im), 3);
	printf("memory bound: 64 MiB field, RSS grew by %ld KiB\n",
	    after - before);
	CHECK("memory bound: RSS measured", before > 0 && after > 0);
	CHECK("memory bound: RSS growth under 4 MiB", after - before < 4096);
	import_free(im);
}

static void
check_too_many_columns(void)
{
	struct buf	 in = BUF_INIT;
	char		 error[512], *log;
	unsigned long	 ok, bad;
	int		 i, rc;

	buf_addstr(&in, "email");
	for (i = 2; i <= IMPORT_COLUMNS_MAX + 1; i++)
		buf_printf(&in, ",c%d", i);
	buf_addstr(&in, "\na@example.org\n");
	log = run(in.p, in.len, 0, -1, &rc, &ok, &bad, error, sizeof(error));
	CHECK_INT("65 columns: rc", rc, -1);
	CHECK_STR("65 columns: log", log, "E1 header: more than 64 columns\n");
	free(log);
	buf_free(&in);
}

static void
check_abort(void)
{
	const char	*in = "email\na@example.org\nb@example.org\n"
			    "c@example.org\n";
	char		 error[512], *log;
	unsigned long	 ok, bad;
	int		 rc;

	log = run(in, strlen(in), 0, 1, &rc, &ok, &bad, error, sizeof(error));
	CHECK_INT("abort: rc", rc, -1);
	CHECK_INT("abort: ok", ok, 1);
	CHECK_STR("abort: error", error, "import aborted");
	CHECK_STR("abort: log", log,
	    "L2 a@example.org key=a@example.org name=[]\n");
	free(log);
}

/* Informative: parse + validate speed for simple rows. */
static void
bench(void)
{
	struct buf	 in = BUF_INIT;
	struct import	*im;
	struct timespec	 t0, t1;
	unsigned long	 n = 0, rows = 1000000, i;
	size_t		 off, c;
	double		 secs;

	buf_addstr(&in, "email,name,city\n");
	for (i = 0; i < rows; i++)
		buf_printf(&in, "user%lu@example.org,User Number %lu,"
		    "Springfield\n", i, i);
	im = import_new(count_row, NULL, &n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (off = 0; off < in.len; off += c) {
		c = in.len - off < 65536 ? in.len - off : 65536;
		import_feed(im, in.p + off, c);
	}
	import_finish(im);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_INT("bench: rows", n, rows);
	printf("bench: %lu rows (%zu octets) in %.3f s: %.0f rows/s\n", n,
	    in.len, secs, n / secs);
	import_free(im);
	buf_free(&in);
}

int
main(int argc, char *argv[])
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	check_field_limit();
	check_100k_quoted();
	check_too_many_columns();
	check_abort();
	check_memory_bound();
	if (argc < 2 || strcmp(argv[1], "-nobench") != 0)
		bench();
	return unit_done("import");
}
