/* SPDX-License-Identifier: GPL-2.0 */
/* User-space stand-in for <linux/bitops.h>: what the state manager uses. */
#ifndef _LUNATIK_USER_LINUX_BITOPS_H
#define _LUNATIK_USER_LINUX_BITOPS_H

#include <linux/types.h>

/* 1-based index of the most significant set bit; 0 for 0. */
static inline int fls64(__u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

#endif /* _LUNATIK_USER_LINUX_BITOPS_H */
