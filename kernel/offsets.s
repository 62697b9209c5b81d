	.file	"offsets.c"
# GNU C11 (Debian 12.2.0-14+deb12u1) version 12.2.0 (x86_64-linux-gnu)
#	compiled by GNU C version 12.2.0, GMP version 6.2.1, MPFR version 4.2.0, MPC version 1.3.1, isl version isl-0.25-GMP

# GGC heuristics: --param ggc-min-expand=100 --param ggc-min-heapsize=131072
# options passed: -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx -m64 -mno-80387 -mno-fp-ret-in-387 -mpreferred-stack-boundary=3 -mskip-rax-setup -mtune=generic -mno-red-zone -mcmodel=kernel -mindirect-branch=thunk-extern -mindirect-branch-register -mindirect-branch-cs-prefix -mfunction-return=thunk-extern -mharden-sls=all -mrecord-mcount -mfentry -march=x86-64 -O2 -std=gnu11 -p -fno-strict-aliasing -fno-common -fshort-wchar -fno-PIE -fcf-protection=none -falign-jumps=1 -falign-loops=1 -fno-asynchronous-unwind-tables -fno-jump-tables -fno-delete-null-pointer-checks -fno-allow-store-data-races -fstack-protector-strong -ftrivial-auto-var-init=zero -fno-stack-clash-protection -fno-strict-overflow -fstack-check=no -fconserve-stack -fno-builtin-wcslen
	.text
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
1:	call	__fentry__
	.section __mcount_loc, "a",@progbits
	.quad 1b
	.previous
# /work/main/kernel/offsets.c:20: 	DEFINE(LUNATIK_OFF_L, offsetof(lunatik_State, L));
#APP
# 20 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_L $16 offsetof(lunatik_State, L)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:21: 	DEFINE(LUNATIK_OFF_LOCK, offsetof(lunatik_State, lock));
# 21 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_LOCK $24 offsetof(lunatik_State, lock)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:22: 	DEFINE(LUNATIK_OFF_USERS, offsetof(lunatik_State, users));
# 22 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_USERS $28 offsetof(lunatik_State, users)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:23: 	DEFINE(LUNATIK_OFF_MAXALLOC, offsetof(lunatik_State, maxalloc));
# 23 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_MAXALLOC $32 offsetof(lunatik_State, maxalloc)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:24: 	DEFINE(LUNATIK_OFF_CURRALLOC, offsetof(lunatik_State, curralloc));
# 24 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_CURRALLOC $40 offsetof(lunatik_State, curralloc)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:25: 	DEFINE(LUNATIK_OFF_NAME, offsetof(lunatik_State, name));
# 25 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_NAME $48 offsetof(lunatik_State, name)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:26: 	DEFINE(LUNATIK_STATE_SIZE, sizeof(lunatik_State));
# 26 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_STATE_SIZE $112 sizeof(lunatik_State)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:27: 	DEFINE(LUNATIK_OFF_STATS, offsetof(struct lunatik_tracked, stats));
# 27 "/work/main/kernel/offsets.c" 1
	
.ascii "->LUNATIK_OFF_STATS $112 offsetof(struct lunatik_tracked, stats)"	#
# 0 "" 2
# /work/main/kernel/offsets.c:29: }
#NO_APP
	xorl	%eax, %eax	#
	jmp	__x86_return_thunk
	.size	main, .-main
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
	.section	.note.GNU-stack,"",@progbits
