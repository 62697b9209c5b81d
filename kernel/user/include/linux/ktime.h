/* SPDX-License-Identifier: GPL-2.0 */
/* User-space stand-in: the monotonic clock in nanoseconds. */
#ifndef LUNATIK_USER_KTIME_H
#define LUNATIK_USER_KTIME_H

#include <time.h>
#include <linux/types.h>

static inline u64 ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif
