/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <setjmp.h> for Lua in the kernel: kernel/lua/setjmp_64.S. The buffer
 * holds the callee-saved registers rbx rbp r12-r15, the stack pointer and
 * the return address. luaconf.h uses these for LUAI_TRY/LUAI_THROW.
 */
#ifndef LUNATIK_LIBC_SETJMP_H
#define LUNATIK_LIBC_SETJMP_H

typedef unsigned long lunatik_jmp_buf[8];

int lunatik_setjmp(lunatik_jmp_buf env) __attribute__((__returns_twice__));
/* does not return; callers follow it with BUG() (see luaconf.h) */
void lunatik_longjmp(lunatik_jmp_buf env, int val);

#endif
