/*
 * buf.h -- growable byte buffer (leaf module, libc only).
 *
 * A buffer is always NUL-terminated after len bytes once anything has been
 * appended, so b.p can be used as a C string.  Allocation failure aborts:
 * there is nothing sensible a renderer can do without memory.
 */
#ifndef BROADSIDE_BUF_H
#define BROADSIDE_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

void	 buf_grow(struct buf *, size_t);		/* room for n more + NUL */
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addstr(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_reset(struct buf *);			/* len = 0, keeps memory */
void	 buf_truncate(struct buf *, size_t);	/* back to len n (n <= len) */
void	 buf_free(struct buf *);
char	*buf_detach(struct buf *);			/* caller frees */

static inline void
buf_add_fast(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n)
		buf_grow(b, n);
	if (n > 0)		/* memcpy from NULL is undefined even for 0 */
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#endif
