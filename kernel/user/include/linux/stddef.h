/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LUNATIK_USER_LINUX_STDDEF_H
#define _LUNATIK_USER_LINUX_STDDEF_H
#include <stddef.h>
#include <stdbool.h>
#endif
