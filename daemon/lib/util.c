/*
 * util.c -- allocators that never return NULL, clocks, whole-file reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n ? n : 1)) == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		fatal("calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("strndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	return n;
}

int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Read a whole (small) file into a NUL-terminated buffer of at most max
 * bytes.  Returns 0, or -1 with err filled and errno set (ENOENT when
 * there is no such file, EFBIG when it is larger than max).
 */
int
read_file(const char *path, char **data, size_t *len, size_t max, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*p = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, saved = 0, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		saved = EINVAL;
		goto end;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		saved = EFBIG;
		goto end;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = read(fd, p + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			saved = n == 0 ? EIO : errno;
			snprintf(err, errlen, "%s: read: %s", path,
			    n == 0 ? "short read" : strerror(errno));
			goto end;
		}
		off += (size_t)n;
	}
	p[off] = '\0';
	*data = p;
	*len = off;
	p = NULL;
	ret = 0;
end:
	free(p);
	close(fd);
	if (ret == -1)
		errno = saved;	/* never a stale ENOENT from before */
	return ret;
}

/*
 * Work done on the loop in slices (a broadcast's recipients, a
 * subscribers.file) sizes its next slice by how long the last one took:
 * halved when it took over twice the target, doubled when under half,
 * within [min, max].  A fast machine keeps large slices (fewer commits);
 * a slow or loaded one, or a sanitiser build, gets small ones, and the
 * loop answers within a few times the target either way.
 */
size_t
slice_adapt(size_t cur, double took, double target, size_t min, size_t max)
{
	if (took > 2 * target && cur / 2 >= min)
		cur /= 2;
	else if (took < target / 2 && cur * 2 <= max)
		cur *= 2;
	return cur < min ? min : cur > max ? max : cur;
}
