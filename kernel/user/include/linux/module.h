/* SPDX-License-Identifier: GPL-2.0 */
/* Everything in the shared library has default visibility already. */
#ifndef _LUNATIK_USER_LINUX_MODULE_H
#define _LUNATIK_USER_LINUX_MODULE_H
#include <linux/kernel.h>
#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)
#define MODULE_LICENSE(x)
#define MODULE_AUTHOR(x)
#define MODULE_DESCRIPTION(x)
#endif
