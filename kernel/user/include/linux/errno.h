/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LUNATIK_USER_LINUX_ERRNO_H
#define _LUNATIK_USER_LINUX_ERRNO_H
#include_next <linux/errno.h>	/* the UAPI numbers, the same as the kernel's */
#endif
