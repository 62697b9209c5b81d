/* SPDX-License-Identifier: GPL-2.0 */
/*
 * full_name_hash() with the kernel's signature (the value differs from the
 * kernel's word-at-a-time hash, which only matters for bucket order).
 */
#ifndef _LUNATIK_USER_LINUX_STRINGHASH_H
#define _LUNATIK_USER_LINUX_STRINGHASH_H

#include <linux/types.h>

static inline unsigned int full_name_hash(const void *salt, const char *name,
					  unsigned int len)
{
	unsigned int hash = 2166136261u ^ (unsigned int)(unsigned long)salt;

	while (len--)
		hash = (hash ^ (unsigned char)*name++) * 16777619u;
	return hash;
}

#endif
