/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LUNATIK_USER_LINUX_CONTAINER_OF_H
#define _LUNATIK_USER_LINUX_CONTAINER_OF_H
#include <stddef.h>
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif
