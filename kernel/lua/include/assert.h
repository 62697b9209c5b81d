/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <assert.h> for Lua in the kernel: assertions are off (NDEBUG), as in a
 * release build of Lua (lua_assert is off unless LUAI_ASSERT is defined).
 */
#ifndef LUNATIK_LIBC_ASSERT_H
#define LUNATIK_LIBC_ASSERT_H

#define assert(e)	((void)0)

#endif
