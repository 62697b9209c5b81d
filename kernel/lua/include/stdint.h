/* SPDX-License-Identifier: GPL-2.0 */
/* <stdint.h> for Lua in the kernel. */
#ifndef LUNATIK_LIBC_STDINT_H
#define LUNATIK_LIBC_STDINT_H

#include <linux/types.h>
#include <linux/limits.h>

#endif
