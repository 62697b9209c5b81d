/* SPDX-License-Identifier: GPL-2.0 */
/* <string.h> for Lua in the kernel. */
#ifndef LUNATIK_LIBC_STRING_H
#define LUNATIK_LIBC_STRING_H

#include <linux/string.h>

/* the "C" locale: collation is byte order */
#define strcoll(a, b)	strcmp((a), (b))

const char *klibc_strerror(int errnum);
#define strerror(e)	klibc_strerror(e)

#endif
