/* SPDX-License-Identifier: GPL-2.0 */
/* <stddef.h> for Lua in the kernel: size_t, ptrdiff_t, NULL, offsetof. */
#ifndef LUNATIK_LIBC_STDDEF_H
#define LUNATIK_LIBC_STDDEF_H

#include <linux/types.h>
#include <linux/stddef.h>

#endif
