/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's asm-offsets markers (include/linux/kbuild.h), for offsets.c. */
#ifndef _SHIM_LINUX_KBUILD_H
#define _SHIM_LINUX_KBUILD_H

#define DEFINE(sym, val) \
	asm volatile("\n.ascii \"->" #sym " %0 " #val "\"" : : "i" (val))

#endif
