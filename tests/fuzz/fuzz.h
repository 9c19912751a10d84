/*
 * fuzz.h -- shared helpers for the libFuzzer targets in tests/fuzz.
 *
 * Each NAME_fuzz.c defines LLVMFuzzerTestOneInput().  Built with clang and
 * -fsanitize=fuzzer it is a fuzzer (make fuzz); built with replay.c it
 * is a program that runs every file named on its command line through the
 * same function (make fuzz-replay, tests/integration/fuzz_regress.sh).
 * A broken invariant is reported with FUZZ_CHECK, which prints what and
 * where and aborts, so both builds stop on it.
 */
#ifndef BROADSIDE_FUZZ_H
#define BROADSIDE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* A copy of data[0..len) in a block of exactly len bytes (ASan sees any
 * read past the end), or of len + 1 bytes ending in NUL when nul. */
static inline char *
fuzz_dup(const uint8_t *data, size_t len, int nul)
{
	char	*p;

	if ((p = calloc(1, len + (nul ? 1 : 0) + (len == 0 && !nul))) == NULL)
		abort();
	if (len > 0)
		memcpy(p, data, len);
	if (nul)
		p[len] = '\0';
	return p;
}

/* Deterministic pseudo-random numbers seeded from the input itself. */
static inline uint64_t
fuzz_seed(const uint8_t *data, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h | 1;
}

static inline uint64_t
fuzz_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Every line of s[0..len) ends in CRLF (except an unterminated last one),
 * there is no bare CR or LF, and no line is longer than max octets. */
static inline int
fuzz_crlf_lines(const char *s, size_t len, size_t max)
{
	size_t	i, col = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				return 0;
			i++;
			col = 0;
		} else if (s[i] == '\n')
			return 0;
		else if (++col > max)
			return 0;
	}
	return 1;
}

#endif
