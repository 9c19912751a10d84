/*
 * util.h -- allocation that cannot fail, clocks, whole-file reads, and
 * the size of a slice of loop work.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
int64_t	 now_ms(void);
double	 now_mono(void);
int	 read_file(const char *, char **, size_t *, size_t, char *, size_t);
#define SLICE_TARGET	0.010	/* seconds of loop work per slice */
size_t	 slice_adapt(size_t, double, double, size_t, size_t);

#endif
