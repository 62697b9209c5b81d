/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <limits.h> for Lua in the kernel (freestanding libc surface).
 *
 * The kernel's limits (vdso/limits.h) are casts such as ((long)(~0UL >> 1))
 * and (~0U), which #if cannot evaluate or evaluates in uintmax_t; Lua tests
 * these limits in #if (LUAI_IS32INT, lvm.c, ltable.c), so after including
 * the kernel's header we redefine them as plain constants of the same value
 * and type (x86_64: int 32 bits, long and long long 64 bits).
 */
#ifndef LUNATIK_LIBC_LIMITS_H
#define LUNATIK_LIBC_LIMITS_H

#include <linux/limits.h>

#undef SHRT_MAX
#undef SHRT_MIN
#undef USHRT_MAX
#undef INT_MAX
#undef INT_MIN
#undef UINT_MAX
#undef LONG_MAX
#undef LONG_MIN
#undef ULONG_MAX
#undef LLONG_MAX
#undef LLONG_MIN
#undef ULLONG_MAX

#define CHAR_BIT	8
#define SCHAR_MAX	127
#define SCHAR_MIN	(-128)
#define UCHAR_MAX	255
#define CHAR_MAX	SCHAR_MAX	/* x86: char is signed */
#define CHAR_MIN	SCHAR_MIN
#define SHRT_MAX	32767
#define SHRT_MIN	(-SHRT_MAX - 1)
#define USHRT_MAX	65535
#define INT_MAX		2147483647
#define INT_MIN		(-INT_MAX - 1)
#define UINT_MAX	4294967295U
#define LONG_MAX	9223372036854775807L
#define LONG_MIN	(-LONG_MAX - 1L)
#define ULONG_MAX	18446744073709551615UL
#define LLONG_MAX	9223372036854775807LL
#define LLONG_MIN	(-LLONG_MAX - 1LL)
#define ULLONG_MAX	18446744073709551615ULL

#endif
