/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <math.h> for Lua in the kernel: empty. Numbers are integers; luaconf.h
 * replaces every use Lua makes of the math functions.
 */
#ifndef LUNATIK_LIBC_MATH_H
#define LUNATIK_LIBC_MATH_H
#endif
