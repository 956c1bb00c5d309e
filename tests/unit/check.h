/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A minimal test harness.  Each test binary prints one line per test case,
 * "PASS: name", "FAIL: name: why" or "SKIP: name: why", which tests/run.sh
 * counts, and exits non-zero if any case failed.
 */
#ifndef NESTIRQ_TEST_CHECK_H
#define NESTIRQ_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nq_t_failed_cases;
static int nq_t_case_failed;
static const char *nq_t_case;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL: %s: %s:%d: %s\n", nq_t_case, __FILE__, __LINE__, #cond);     \
			nq_t_case_failed = 1;                                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long nq_a_ = (long long)(a), nq_b_ = (long long)(b);                          \
		if (nq_a_ != nq_b_) {                                                              \
			printf("FAIL: %s: %s:%d: %s == %lld, expected %s == %lld\n", nq_t_case,    \
			       __FILE__, __LINE__, #a, nq_a_, #b, nq_b_);                          \
			nq_t_case_failed = 1;                                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                            \
	do {                                                                                       \
		const char *nq_h_ = (hay);                                                         \
		if (!nq_h_ || !strstr(nq_h_, (needle))) {                                          \
			printf("FAIL: %s: %s:%d: \"%s\" does not contain \"%s\"\n", nq_t_case,     \
			       __FILE__, __LINE__, nq_h_ ? nq_h_ : "(null)", (needle));            \
			nq_t_case_failed = 1;                                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* Mark the running case skipped: print the reason and return from it. */
#define SKIP(...)                                                                                  \
	do {                                                                                       \
		printf("SKIP: %s: ", nq_t_case);                                                   \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		nq_t_case_failed = -1;                                                             \
		return;                                                                            \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		nq_t_case = #fn;                                                                   \
		nq_t_case_failed = 0;                                                              \
		fn();                                                                              \
		if (nq_t_case_failed > 0)                                                          \
			nq_t_failed_cases++;                                                       \
		else if (nq_t_case_failed == 0)                                                    \
			printf("PASS: %s\n", nq_t_case);                                           \
		fflush(stdout);                                                                    \
	} while (0)

#define TEST_EXIT() return nq_t_failed_cases ? 1 : 0

#endif /* NESTIRQ_TEST_CHECK_H */
