/* SPDX-License-Identifier: GPL-2.0 */
/*
 * setjmp/longjmp for Lua's error handling in the kernel (x86_64).
 *
 * lunatik_jmp_buf: rbx rbp r12 r13 r14 r15 rsp rip (see include/setjmp.h).
 * Only the callee-saved registers of the SysV ABI need saving; the kernel
 * uses no FP/SIMD state, so there is none to save.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

	.text

/* int lunatik_setjmp(lunatik_jmp_buf env): 0 now, val when jumped to */
SYM_FUNC_START(lunatik_setjmp)
	movq	%rbx, 0(%rdi)
	movq	%rbp, 8(%rdi)
	movq	%r12, 16(%rdi)
	movq	%r13, 24(%rdi)
	movq	%r14, 32(%rdi)
	movq	%r15, 40(%rdi)
	leaq	8(%rsp), %rdx		/* the caller's rsp once we return */
	movq	%rdx, 48(%rdi)
	movq	(%rsp), %rdx		/* our return address */
	movq	%rdx, 56(%rdi)
	xorl	%eax, %eax
	RET
SYM_FUNC_END(lunatik_setjmp)

/* void lunatik_longjmp(lunatik_jmp_buf env, int val): returns val (1 if 0)
 * from the lunatik_setjmp that filled env */
SYM_FUNC_START(lunatik_longjmp)
	movl	%esi, %eax
	testl	%eax, %eax
	jnz	1f
	incl	%eax
1:	movq	0(%rdi), %rbx
	movq	8(%rdi), %rbp
	movq	16(%rdi), %r12
	movq	24(%rdi), %r13
	movq	32(%rdi), %r14
	movq	40(%rdi), %r15
	movq	56(%rdi), %rdx
	movq	48(%rdi), %rsp
	JMP_NOSPEC rdx
SYM_FUNC_END(lunatik_longjmp)
