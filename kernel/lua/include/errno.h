/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <errno.h> for Lua in the kernel. Only our stdio stubs set errno (to
 * ENOENT), so one shared variable is enough: racing writers store the
 * same value.
 */
#ifndef LUNATIK_LIBC_ERRNO_H
#define LUNATIK_LIBC_ERRNO_H

#include <linux/errno.h>

extern int klibc_errno;
#define errno	klibc_errno

#endif
