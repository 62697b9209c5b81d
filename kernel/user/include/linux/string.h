/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LUNATIK_USER_LINUX_STRING_H
#define _LUNATIK_USER_LINUX_STRING_H

#include <string.h>
#include <sys/types.h>
#include <linux/errno.h>

/* As in the kernel: copies at most size - 1 bytes, always NUL-terminates,
 * returns the length or -E2BIG when src did not fit. */
static inline ssize_t strscpy(char *dst, const char *src, size_t size)
{
	size_t len;

	if (size == 0)
		return -E2BIG;
	len = strnlen(src, size);
	if (len == size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, len + 1);
	return len;
}

#endif
