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

#if defined(CONFIG_KASAN_GENERIC) && defined(CONFIG_KASAN_STACK)
#include <asm/asm.h>
/* mm/kasan/generic.c: (stack_top, stack_bottom), typed as GCC's builtin */
void __asan_allocas_unpoison(void *stack_top, long stack_bottom);

/*
 * The frames a longjmp skips never return, so KASAN's poison on their
 * locals' redzones stays in the shadow, and what runs on that stack next
 * (the next calls, an interrupt's unwinder) is reported out of bounds.
 * As the kernel does before its own non-local jumps
 * (kasan_unpoison_task_stack_below, which modules cannot call), unpoison
 * from here up to the frame the jump returns to (env[6], its rsp):
 * __asan_allocas_unpoison is the exported form of that range unpoisoning.
 */
static __always_inline void lunatik_unpoison_jump(lunatik_jmp_buf env)
{
	__asan_allocas_unpoison((void *)current_stack_pointer, (long)env[6]);
}
#else
static __always_inline void lunatik_unpoison_jump(lunatik_jmp_buf env) { }
#endif

#endif
