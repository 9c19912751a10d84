/*
 * rss.c -- RFC 822 dates, XML escaping, CDATA sections and the atomic
 * write of the feed file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rss.h"

static const char *rss_days[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *rss_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

int
rss_date(time_t t, char *out, size_t outlen)
{
	struct tm	tm;
	int		n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return -1;
	n = snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    rss_days[tm.tm_wday], tm.tm_mday, rss_months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/* XML 1.0 Char excludes every C0 control but TAB, LF and CR. */
static int
rss_xml_forbidden(unsigned char c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

void
rss_escape(struct buf *b, const char *s, size_t len)
{
	const char	*rep;
	size_t		 i, start;

	for (i = 0, start = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if (!rss_xml_forbidden((unsigned char)s[i]))
				continue;
			rep = "";
			break;
		}
		buf_add(b, s + start, i - start);
		buf_addstr(b, rep);
		start = i + 1;
	}
	buf_add(b, s + start, len - start);
}

void
rss_cdata(struct buf *b, const char *s, size_t len)
{
	size_t	i, start;

	buf_addstr(b, "<![CDATA[");
	for (i = 0, start = 0; i < len; i++) {
		if (rss_xml_forbidden((unsigned char)s[i])) {
			buf_add(b, s + start, i - start);
			start = i + 1;
		} else if (s[i] == ']' && len - i >= 3 && s[i + 1] == ']' &&
		    s[i + 2] == '>') {
			/* end the section between "]]" and ">" */
			buf_add(b, s + start, i + 2 - start);
			buf_addstr(b, "]]><![CDATA[");
			start = i + 2;
			i++;
		}
	}
	buf_add(b, s + start, len - start);
	buf_addstr(b, "]]>");
}

int
rss_write_atomic(const char *path, const char *data, size_t len, char *err,
    size_t errlen)
{
	char	*tmp = NULL, *dircopy = NULL;
	size_t	 off;
	ssize_t	 n;
	int	 fd = -1, dfd = -1, ret = -1;

	if (asprintf(&tmp, "%s.tmpXXXXXX", path) == -1) {
		tmp = NULL;
		snprintf(err, errlen, "%s: out of memory", path);
		goto end;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto end;
	}
	for (off = 0; off < len; off += (size_t)n) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			goto end;
		}
	}
	if (fchmod(fd, 0644) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto end;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto end;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto end;
	}
	free(tmp);
	tmp = NULL;
	/* make the rename itself durable */
	if ((dircopy = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto end;
	}
	if ((dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "%s: fsync folder: %s", path,
		    strerror(errno));
		goto end;
	}
	ret = 0;
 end:
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	return ret;
}
