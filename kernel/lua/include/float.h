/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <float.h> for Lua in the kernel: empty. luaconf.h defines l_floatatt
 * for the integer "float" type.
 */
#ifndef LUNATIK_LIBC_FLOAT_H
#define LUNATIK_LIBC_FLOAT_H
#endif
