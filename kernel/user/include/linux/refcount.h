/* SPDX-License-Identifier: GPL-2.0 */
/*
 * refcount_t as in the kernel (lib/refcount.c): 4 bytes, atomic, and
 * saturating with a warning on addition on 0, underflow and overflow. Each
 * warning is a WARN (see bug.h), counted in lunatik_user_warn_count, and
 * also in lunatik_user_refcount_warn_count.
 */
#ifndef _LUNATIK_USER_LINUX_REFCOUNT_H
#define _LUNATIK_USER_LINUX_REFCOUNT_H

#include <limits.h>
#include <linux/types.h>
#include <linux/bug.h>

typedef struct refcount_struct {
	int refs;
} refcount_t;

#define REFCOUNT_INIT(n)	{ .refs = (n) }
#define REFCOUNT_MAX		INT_MAX
#define REFCOUNT_SATURATED	(INT_MIN / 2)

enum refcount_saturation_type {
	REFCOUNT_ADD_NOT_ZERO_OVF,
	REFCOUNT_ADD_OVF,
	REFCOUNT_ADD_UAF,
	REFCOUNT_SUB_UAF,
	REFCOUNT_DEC_LEAK,
};

extern int lunatik_user_refcount_warn_count;

static inline void refcount_warn_saturate(refcount_t *r,
					  enum refcount_saturation_type t)
{
	static const char *const what[] = {
		[REFCOUNT_ADD_NOT_ZERO_OVF] = "saturated; leaking memory",
		[REFCOUNT_ADD_OVF] = "saturated; leaking memory",
		[REFCOUNT_ADD_UAF] = "addition on 0; use-after-free",
		[REFCOUNT_SUB_UAF] = "underflow; use-after-free",
		[REFCOUNT_DEC_LEAK] = "decrement hit 0; leaking memory",
	};

	__atomic_store_n(&r->refs, REFCOUNT_SATURATED, __ATOMIC_RELAXED);
	__atomic_fetch_add(&lunatik_user_refcount_warn_count, 1,
			   __ATOMIC_RELAXED);
	WARN(1, "refcount_t: %s\n", what[t]);
}

static inline void refcount_set(refcount_t *r, int n)
{
	__atomic_store_n(&r->refs, n, __ATOMIC_RELAXED);
}

static inline unsigned int refcount_read(const refcount_t *r)
{
	return __atomic_load_n(&r->refs, __ATOMIC_RELAXED);
}

static inline bool __refcount_add_not_zero(int i, refcount_t *r, int *oldp)
{
	int old = refcount_read(r);

	do {
		if (!old)
			break;
	} while (!__atomic_compare_exchange_n(&r->refs, &old, old + i, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	if (oldp)
		*oldp = old;
	if (unlikely(old < 0 || (int)((unsigned int)old + i) < 0))
		refcount_warn_saturate(r, REFCOUNT_ADD_NOT_ZERO_OVF);
	return old;
}

static inline bool __refcount_inc_not_zero(refcount_t *r, int *oldp)
{
	return __refcount_add_not_zero(1, r, oldp);
}

static inline bool refcount_inc_not_zero(refcount_t *r)
{
	return __refcount_inc_not_zero(r, NULL);
}

static inline void __refcount_add(int i, refcount_t *r, int *oldp)
{
	int old = __atomic_fetch_add(&r->refs, i, __ATOMIC_RELAXED);

	if (oldp)
		*oldp = old;
	if (unlikely(!old))
		refcount_warn_saturate(r, REFCOUNT_ADD_UAF);
	else if (unlikely(old < 0 || (int)((unsigned int)old + i) < 0))
		refcount_warn_saturate(r, REFCOUNT_ADD_OVF);
}

static inline void __refcount_inc(refcount_t *r, int *oldp)
{
	__refcount_add(1, r, oldp);
}

static inline void refcount_inc(refcount_t *r)
{
	__refcount_inc(r, NULL);
}

static inline bool __refcount_sub_and_test(int i, refcount_t *r, int *oldp)
{
	/* release, and acquire for whoever frees (a fence in the kernel,
	 * which ThreadSanitizer does not model) */
	int old = __atomic_fetch_sub(&r->refs, i, __ATOMIC_ACQ_REL);

	if (oldp)
		*oldp = old;
	if (old == i)
		return true;
	if (unlikely(old < 0 || old - i < 0))
		refcount_warn_saturate(r, REFCOUNT_SUB_UAF);
	return false;
}

static inline bool __refcount_dec_and_test(refcount_t *r, int *oldp)
{
	return __refcount_sub_and_test(1, r, oldp);
}

static inline bool refcount_dec_and_test(refcount_t *r)
{
	return __refcount_dec_and_test(r, NULL);
}

static inline void refcount_dec(refcount_t *r)
{
	int old = __atomic_fetch_sub(&r->refs, 1, __ATOMIC_RELEASE);

	if (unlikely(old <= 1))
		refcount_warn_saturate(r, REFCOUNT_DEC_LEAK);
}

#endif
