/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <stdlib.h> for Lua in the kernel. abort() is BUG(): Lua calls it only
 * when an error is raised outside any protected call, which the state
 * manager never does (everything runs under lua_pcall).
 */
#ifndef LUNATIK_LIBC_STDLIB_H
#define LUNATIK_LIBC_STDLIB_H

#include <linux/types.h>
#include <linux/bug.h>
#include <linux/math.h>	/* abs */

#define abort()		BUG()

/*
 * Only lauxlib's luaL_newstate allocator uses these. Lunatik states have
 * their own allocator (kernel/alloc.c), so realloc fails: luaL_newstate
 * returns NULL in the kernel.
 */
void *klibc_realloc(void *ptr, size_t size);
void klibc_free(void *ptr);
#define realloc(p, n)	klibc_realloc((p), (n))
#define free(p)		klibc_free(p)

#define EXIT_SUCCESS	0
#define EXIT_FAILURE	1

#endif
