/* SPDX-License-Identifier: GPL-2.0 */
/* pr_*() print to stderr, one flushed line each, like the kernel log. */
#ifndef _LUNATIK_USER_LINUX_PRINTK_H
#define _LUNATIK_USER_LINUX_PRINTK_H

#include <stdio.h>

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

#define __user_printk(level, fmt, ...) \
	do { \
		fprintf(stderr, level fmt, ##__VA_ARGS__); \
		fflush(stderr); \
	} while (0)

#define pr_emerg(fmt, ...)	__user_printk("<0>", pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...)	__user_printk("<3>", pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...)	__user_printk("<4>", pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...)	__user_printk("<5>", pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...)	__user_printk("<6>", pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...)	do { } while (0)
#define printk(fmt, ...)	__user_printk("", fmt, ##__VA_ARGS__)

#endif
