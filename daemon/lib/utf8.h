/*
 * utf8.h -- one UTF-8 sequence check shared by the leaf modules (libc
 * only, header-only so each leaf stays self-contained).
 *
 * utf8_seq(p, n) is the length (1-4) of the valid UTF-8 sequence at p,
 * given n bytes available, or 0 when it is invalid: overlong forms,
 * surrogates, values above U+10FFFF and truncated sequences.
 */
#ifndef BROADSIDE_UTF8_H
#define BROADSIDE_UTF8_H

#include <stddef.h>

static inline size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned	 c = p[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

#endif
