/*
 * unit.h -- minimal table-driven unit test support.
 * Each check prints "FAIL file:line: name: got X, want Y" on failure;
 * unit_done() prints a summary line and returns the exit status.
 */
#ifndef BROADSIDE_UNIT_H
#define BROADSIDE_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_pass, unit_fail;

#define CHECK(name, cond) do {						\
	if (cond) unit_pass++;						\
	else {								\
		unit_fail++;						\
		printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, (name));	\
	}								\
} while (0)

#define CHECK_STR(name, got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0) unit_pass++; \
	else {								\
		unit_fail++;						\
		printf("FAIL %s:%d: %s: got \"%s\", want \"%s\"\n",	\
		    __FILE__, __LINE__, (name), g_ ? g_ : "(null)",	\
		    w_ ? w_ : "(null)");				\
	}								\
} while (0)

#define CHECK_INT(name, got, want) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (g_ == w_) unit_pass++;					\
	else {								\
		unit_fail++;						\
		printf("FAIL %s:%d: %s: got %lld, want %lld\n",		\
		    __FILE__, __LINE__, (name), g_, w_);		\
	}								\
} while (0)

static inline int
unit_done(const char *suite)
{
	printf("%s: %d checks passed, %d failed\n", suite, unit_pass,
	    unit_fail);
	return unit_fail ? 1 : 0;
}

#endif
