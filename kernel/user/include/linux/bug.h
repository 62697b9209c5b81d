/* SPDX-License-Identifier: GPL-2.0 */
/*
 * WARN_ON() prints a "WARNING:" line and counts it in lunatik_user_warn_count
 * (exported, so tests can assert that nothing warned); BUG_ON() aborts.
 */
#ifndef _LUNATIK_USER_LINUX_BUG_H
#define _LUNATIK_USER_LINUX_BUG_H

#include <stdlib.h>
#include <linux/compiler.h>
#include <linux/printk.h>

extern int lunatik_user_warn_count;

#define __user_warn(cond_str) \
	do { \
		__atomic_fetch_add(&lunatik_user_warn_count, 1, __ATOMIC_RELAXED); \
		fprintf(stderr, "WARNING: %s at %s:%d %s()\n", cond_str, \
			__FILE__, __LINE__, __func__); \
		fflush(stderr); \
	} while (0)

#define WARN_ON(cond) ({ \
	int __ret_warn_on = !!(cond); \
	if (unlikely(__ret_warn_on)) \
		__user_warn(#cond); \
	unlikely(__ret_warn_on); \
})

#define WARN_ON_ONCE(cond)	WARN_ON(cond)

#define WARN(cond, fmt, ...) ({ \
	int __ret_warn = !!(cond); \
	if (unlikely(__ret_warn)) { \
		fprintf(stderr, fmt, ##__VA_ARGS__); \
		__user_warn(#cond); \
	} \
	unlikely(__ret_warn); \
})

#define BUG() \
	do { \
		fprintf(stderr, "BUG: at %s:%d %s()\n", __FILE__, __LINE__, \
			__func__); \
		abort(); \
	} while (0)

#define BUG_ON(cond) \
	do { \
		if (unlikely(cond)) \
			BUG(); \
	} while (0)

#endif
