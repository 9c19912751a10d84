/*
 * http_fuzz.c -- the public listener's decoding (http_parse.c): the
 * request-target's path and query, form bodies (/subscribe), tokens in
 * queries, If-None-Match and If-Modified-Since.
 *
 * Input: the bytes are used as a raw path, a query string, a form body
 * (in a block of exactly its size, not NUL-terminated, as evhttp hands it
 * over), an If-None-Match list and a date.  Checked: an accepted path
 * starts with '/', holds no control character, DEL, backslash, "." or
 * ".." segment; decoding is strict (what our own percent-encoder makes of
 * a decoded value decodes back to it); a form value found is re-encoded
 * and found again; what http_date_parse accepts prints back to a date
 * that parses to the same time; a well-formed list holding our ETag
 * matches it.
 */
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "http_parse.h"

#include "fuzz.h"

static void
hf_encode(const char *s, size_t len, struct buf *out)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	size_t			 i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~/", c) != NULL)
			buf_addc(out, (char)c);
		else {
			buf_addc(out, '%');
			buf_addc(out, hex[c >> 4]);
			buf_addc(out, hex[c & 15]);
		}
	}
}

static void
hf_path(const char *raw)
{
	struct buf	 path = BUF_INIT, enc = BUF_INIT, again = BUF_INIT;
	const char	*seg, *p;
	size_t		 n;

	if (http_path(raw, &path) == -1) {
		buf_free(&path);
		return;
	}
	FUZZ_CHECK(path.p[0] == '/');
	FUZZ_CHECK(strlen(path.p) == path.len);
	for (p = path.p; *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f &&
		    *p != '\\');
	for (seg = path.p + 1;; seg += n + 1) {
		n = strcspn(seg, "/");
		FUZZ_CHECK(!(n == 1 && seg[0] == '.'));
		FUZZ_CHECK(!(n == 2 && seg[0] == '.' && seg[1] == '.'));
		if (seg[n] == '\0')
			break;
	}
	hf_encode(path.p, path.len, &enc);
	FUZZ_CHECK(http_path(enc.p, &again) == 0);
	FUZZ_CHECK(again.len == path.len && memcmp(again.p, path.p,
	    path.len) == 0);
	buf_free(&path);
	buf_free(&enc);
	buf_free(&again);
}

static void
hf_form(const char *body, size_t len, const char *key)
{
	struct buf	 val = BUF_INIT, form = BUF_INIT, again = BUF_INIT;
	char		 addr[ADDR_BUFSZ], err[256];
	int		 rc;

	rc = http_form_get(body, len, key, &val);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc == 1) {
		FUZZ_CHECK(val.p != NULL && strlen(val.p) == val.len);
		/* what /subscribe does next */
		if (strcmp(key, "email") == 0)
			(void)addr_normalize(val.p, addr, sizeof(addr), err,
			    sizeof(err));
		else
			(void)(utf8_valid(val.p, val.len) &&
			    text_header_safe(val.p, val.len));
		buf_addstr(&form, "x=1&");
		buf_addstr(&form, key);
		buf_addc(&form, '=');
		hf_encode(val.p, val.len, &form);
		FUZZ_CHECK(http_form_get(form.p, form.len, key, &again) == 1);
		FUZZ_CHECK(again.len == val.len && memcmp(again.p, val.p,
		    val.len) == 0);
		/* and as a query string: it passes the target check */
		FUZZ_CHECK(http_query_check(form.p) == 0);
	}
	buf_free(&val);
	buf_free(&form);
	buf_free(&again);
}

static void
hf_date(const char *s)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
				    "Fri", "Sat" };
	static const char	*mons[] = { "Jan", "Feb", "Mar", "Apr", "May",
				    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
				    "Dec" };
	struct tm		 tm;
	time_t			 t, t2;
	char			 out[64];

	if (http_date_parse(s, &t) == -1)
		return;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999)
		return;
	snprintf(out, sizeof(out), "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	FUZZ_CHECK(http_date_parse(out, &t2) == 0);
	FUZZ_CHECK(t2 == t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct buf	 list = BUF_INIT, dec = BUF_INIT;
	char		*s, *body;
	const char	*etag = "\"0123456789abcdef0123456789abcdef\"";
	int		 rc;

	s = fuzz_dup(data, len, 1);	/* a C string: up to the first NUL */
	hf_path(s);
	if (http_query_check(s) == 0) {
		/* every '%' has two hex digits: decoding fails only on %00 */
		rc = http_decode(s, strlen(s), 1, &dec);
		FUZZ_CHECK(rc == 0 || strstr(s, "%00") != NULL);
	}
	body = fuzz_dup(data, len, 0);
	hf_form(body, len, "email");
	hf_form(body, len, "name");
	hf_form(body, len, "t");
	free(body);

	(void)http_etag_match(s, etag);
	/* a well-formed list with our tag after another one */
	buf_addc(&list, '"');
	buf_addstr(&list, s);
	buf_addstr(&list, "\", W/");
	buf_addstr(&list, etag);
	if (strchr(s, '"') == NULL)
		FUZZ_CHECK(http_etag_match(list.p, etag) == 1);
	hf_date(s);

	buf_free(&list);
	buf_free(&dec);
	free(s);
	return 0;
}
