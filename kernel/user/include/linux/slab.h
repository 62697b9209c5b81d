/* SPDX-License-Identifier: GPL-2.0 */
/* kmalloc() and friends over malloc(); the GFP flags are accepted and ignored. */
#ifndef _LUNATIK_USER_LINUX_SLAB_H
#define _LUNATIK_USER_LINUX_SLAB_H

#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#define GFP_KERNEL	0x1u
#define GFP_ATOMIC	0x2u
#define __GFP_NOWARN	0x4u
#define __GFP_ZERO	0x8u

static inline void *kmalloc(size_t size, gfp_t flags)
{
	void *p = malloc(size ? size : 1);

	if (p && (flags & __GFP_ZERO))
		memset(p, 0, size);
	return p;
}

static inline void *kzalloc(size_t size, gfp_t flags)
{
	return kmalloc(size, flags | __GFP_ZERO);
}

/* Unlike realloc(), never called with size 0 by the state manager. */
static inline void *krealloc(const void *p, size_t size, gfp_t flags)
{
	(void)flags;
	return realloc((void *)p, size ? size : 1);
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

#endif
