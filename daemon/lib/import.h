/*
 * import.h -- streaming subscriber CSV reader
 * (leaf module: libc + libcsv + addr).
 *
 * SYNOPSIS
 *	static int
 *	on_row(const struct import_row *r, void *arg)
 *	{
 *		... r->line, r->addr, r->key, r->name, r->fields[i] ...
 *		return 0;		(or -1 to abort the whole import)
 *	}
 *	static void
 *	on_err(unsigned long line, const char *reason, void *arg)
 *	{
 *		... "line %lu: %s" ...
 *	}
 *
 *	struct import *im = import_new(on_row, on_err, arg);
 *	while ((n = read(fd, buf, sizeof(buf))) > 0)
 *		if (import_feed(im, buf, n) == -1)
 *			break;			(fatal: see import_error())
 *	if (n == 0 && import_finish(im) == -1)
 *		...				(fatal: see import_error())
 *	import_rows_ok(im), import_rows_bad(im)
 *	import_free(im);
 *
 * BEHAVIOUR
 *	The input is RFC 4180 CSV in UTF-8, fed in chunks of any size (one
 *	byte is fine): the parser state persists across import_feed() calls,
 *	also inside a quoted field, a CRLF or the BOM.  Memory is bounded by
 *	the current record (at most IMPORT_COLUMNS_MAX columns of at most
 *	IMPORT_FIELD_MAX octets), whatever the size of the input.
 *
 *	- A UTF-8 BOM at the very start is skipped.  Records end with CRLF or
 *	  LF (or a lone CR, which does not count as a new line).  Quoted
 *	  fields may hold commas, doubled quotes and newlines; spaces around
 *	  a quoted field are allowed (a, "b, c").  Blank lines, and records
 *	  whose fields are all empty (",,," from spreadsheets), are skipped
 *	  silently.
 *	- The first record is the header.  Column names are trimmed; "email"
 *	  (required), "name" and "lang" (optional; the subscriber's
 *	  language, a BCP 47 tag: a row with another value is bad) are
 *	  matched case-insensitively;
 *	  every other column becomes a field, in header order, named as
 *	  written (trimmed).  A header without "email", with an empty or
 *	  duplicate (case-insensitively) column name, with more than
 *	  IMPORT_COLUMNS_MAX columns, or that is not valid text, is fatal:
 *	  it is reported through err_cb with the header's line (1 unless
 *	  blank lines come first) and the import stops.
 *	- Each data record is checked; values are trimmed of spaces and tabs
 *	  on both ends.  A good record goes to row_cb with the physical line
 *	  on which it starts (newlines inside quoted fields are counted).  A
 *	  bad record goes to err_cb with that line and a one-line reason, is
 *	  counted in import_rows_bad() and skipped, and the stream continues:
 *	    wrong number of columns, field over IMPORT_FIELD_MAX octets (its
 *	    content is discarded as it streams in, never buffered), CR, LF or
 *	    NUL inside a field (quoted newlines are parsed correctly, then the
 *	    row is refused), invalid UTF-8, empty or invalid address (the
 *	    reason from addr_normalize(), with the address quoted, cut to
 *	    100 octets, unless it holds control characters), CSV syntax
 *	    error (a stray quote: the rest of that physical line is skipped
 *	    and parsing resumes on the next one).
 *	  Reasons look like "invalid address 'x.example.org': missing @",
 *	  "line break in column 'name'", "NUL byte in column 'city'",
 *	  "invalid UTF-8 in column 'name'", "column 'name' over 65536
 *	  octets", "2 columns, header has 3", "CSV syntax error (stray
 *	  quote), rest of line skipped".
 *	  A quoted field still open at end of input is reported as a CSV
 *	  syntax error on the line where its record started; the rows after
 *	  it are then part of that field and are lost, as in any CSV reader.
 *	- Duplicate addresses are not detected here (the store does that
 *	  with r->key).
 *	- If row_cb returns -1, import_feed()/import_finish() return -1 and
 *	  import_error() is "import aborted" (err_cb is not called); the
 *	  import is dead from then on.
 *
 *	Every pointer in a struct import_row is valid only during the call
 *	to row_cb.  All strings there are NUL-terminated as well as counted,
 *	valid UTF-8 and free of CR, LF and NUL.
 *
 *	The reader is not thread-safe; use one per import.  Fatal header
 *	problems are reported as "header: no email column", "header:
 *	duplicate column 'X'", "header: column 3 has no name", "header: more
 *	than 64 columns", "header: CSV syntax error (stray quote)".
 *
 * DIAGNOSTICS
 *	import_new() returns NULL when out of memory; running out of memory
 *	while buffering a record later aborts (as buf.c does).
 *	import_feed() and import_finish() return 0 when the input can go on
 *	(bad rows are not fatal) and -1 after a fatal error (bad header,
 *	row_cb abort, no header at all at finish, out of memory); the reason
 *	is in import_error() (empty string when none) and feeding more
 *	returns -1 again.
 *	import_finish() must be called once after the last chunk; an empty
 *	input (or one with only blank lines) is fatal: "no header row".
 */
#ifndef BROADSIDE_IMPORT_H
#define BROADSIDE_IMPORT_H

#include <stddef.h>

#define IMPORT_FIELD_MAX	65536	/* octets per field */
#define IMPORT_COLUMNS_MAX	64	/* columns in the header */

struct import;

struct import_field {
	const char	*name;		/* column name, as in the header */
	size_t		 namelen;
	const char	*value;		/* may be empty */
	size_t		 valuelen;
};

struct import_row {
	unsigned long		 line;	/* physical line the record starts on */
	const char		*addr;	/* addr_normalize() result */
	const char		*key;	/* addr_key() of addr */
	const char		*name;	/* "" when no name column or empty */
	size_t			 namelen;
	const char		*lang;	/* the "lang" column, a normalised
					   BCP 47 tag; "" when none or empty */
	const struct import_field *fields;	/* other columns, header order */
	size_t			 nfields;
};

typedef int	(*import_row_cb)(const struct import_row *, void *);
typedef void	(*import_err_cb)(unsigned long, const char *, void *);

struct import	*import_new(import_row_cb, import_err_cb, void *);
int		 import_feed(struct import *, const char *, size_t);
int		 import_finish(struct import *);
void		 import_free(struct import *);

const char	*import_error(const struct import *);
unsigned long	 import_rows_ok(const struct import *);
unsigned long	 import_rows_bad(const struct import *);
unsigned long	 import_lines(const struct import *);	/* physical lines */

/* A row's fields as the JSON object text the store keeps ({"col":"v"}),
 * replacing the contents of b. */
struct buf;
void		 import_fields_json(const struct import_row *, struct buf *);

#endif
