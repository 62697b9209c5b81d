/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <locale.h> for Lua in the kernel: nothing is needed, luaconf.h fixes the
 * decimal point (lua_getlocaledecpoint) to '.'.
 */
#ifndef LUNATIK_LIBC_LOCALE_H
#define LUNATIK_LIBC_LOCALE_H
#endif
