/* SPDX-License-Identifier: GPL-2.0 */
/* <stdarg.h> for Lua in the kernel. */
#ifndef LUNATIK_LIBC_STDARG_H
#define LUNATIK_LIBC_STDARG_H

#include <linux/stdarg.h>

#endif
