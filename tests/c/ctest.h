/* SPDX-License-Identifier: GPL-2.0 */
/* Tiny check helpers shared by the C test programs. */
#ifndef LUNATIK_CTEST_H
#define LUNATIK_CTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int lunatik_user_warn_count;
extern int lunatik_user_refcount_warn_count;

static int ctest_failures;
static int ctest_checks;

#define CHECK(cond) \
	do { \
		__atomic_fetch_add(&ctest_checks, 1, __ATOMIC_RELAXED); \
		if (!(cond)) { \
			__atomic_fetch_add(&ctest_failures, 1, __ATOMIC_RELAXED); \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, \
				#cond); \
		} \
	} while (0)

#define CHECK_EQ(a, b) \
	do { \
		long long __a = (long long)(a), __b = (long long)(b); \
		__atomic_fetch_add(&ctest_checks, 1, __ATOMIC_RELAXED); \
		if (__a != __b) { \
			__atomic_fetch_add(&ctest_failures, 1, __ATOMIC_RELAXED); \
			fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, __a, __b); \
		} \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *__a = (a), *__b = (b); \
		__atomic_fetch_add(&ctest_checks, 1, __ATOMIC_RELAXED); \
		if (!__a || !__b || strcmp(__a, __b)) { \
			__atomic_fetch_add(&ctest_failures, 1, __ATOMIC_RELAXED); \
			fprintf(stderr, "FAIL %s:%d: %s == \"%s\" (got \"%s\")\n", \
				__FILE__, __LINE__, #a, __b ? __b : "(null)", \
				__a ? __a : "(null)"); \
		} \
	} while (0)

#define CHECK_PREFIX(a, prefix) \
	do { \
		const char *__a = (a), *__p = (prefix); \
		__atomic_fetch_add(&ctest_checks, 1, __ATOMIC_RELAXED); \
		if (!__a || strncmp(__a, __p, strlen(__p))) { \
			__atomic_fetch_add(&ctest_failures, 1, __ATOMIC_RELAXED); \
			fprintf(stderr, "FAIL %s:%d: %s starts with \"%s\" (got \"%s\")\n", \
				__FILE__, __LINE__, #a, __p, __a ? __a : "(null)"); \
		} \
	} while (0)

static inline int ctest_finish(const char *prog)
{
	CHECK_EQ(lunatik_user_warn_count, 0);
	CHECK_EQ(lunatik_user_refcount_warn_count, 0);
	fprintf(stderr, "%s: %d checks, %d failures\n", prog, ctest_checks,
		ctest_failures);
	return ctest_failures ? 1 : 0;
}

#endif
