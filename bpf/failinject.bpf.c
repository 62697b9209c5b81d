// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures narrowed to one module's call sites (make test-debug).
 *
 * failslab and fail_page_alloc can filter by stack only where x86_64 is
 * not (FAULT_INJECTION_STACKTRACE_FILTER depends on !X86_64). So this
 * program takes their injection points, should_failslab and
 * should_fail_alloc_page (ALLOW_ERROR_INJECTION functions), and overrides
 * their return (BPF_KPROBE_OVERRIDE) when the allocating stack runs
 * through the module's text in the workload's process: every interval-th
 * such allocation fails, up to `times`. Driven by lunatik_bpf/testing/faultinject.py.
 */
#include <uapi/linux/ptrace.h>
#include <uapi/asm-generic/errno-base.h>

#define STACK_DEPTH	32

enum { CFG_TEXT_START, CFG_TEXT_END, CFG_TGID, CFG_INTERVAL, CFG_TIMES, CFG_N };

struct stack { __u64 ip[STACK_DEPTH]; };

BPF_ARRAY(config, __u64, CFG_N);		/* the run's settings, from user space */
BPF_ARRAY(seen, __u64, 1);			/* the module's allocations seen this run */
BPF_ARRAY(failed, __u64, 1);			/* failures injected this run */
BPF_HASH(sites, __u64, __u64, 1024);		/* failures by the module's innermost frame */
BPF_PERCPU_ARRAY(scratch, struct stack, 1);	/* too large for the BPF stack */

static __always_inline __u64 setting(int key)
{
	__u64 *v = config.lookup(&key);

	return v ? *v : 0;
}

/* The innermost return address inside the module, 0 if none. */
static __always_inline __u64 module_frame(struct pt_regs *ctx)
{
	__u64 lo = setting(CFG_TEXT_START), hi = setting(CFG_TEXT_END);
	int zero = 0;
	struct stack *st = scratch.lookup(&zero);
	long n;

	if (!st)
		return 0;
	n = bpf_get_stack(ctx, st->ip, sizeof(st->ip), 0);
	for (int i = 0; i < STACK_DEPTH; i++) {
		/* the mask, not the loop bound, is what older verifiers
		 * (6.1's) accept as keeping the index inside the array */
		__u64 ip = st->ip[i & (STACK_DEPTH - 1)];

		if (i * 8 >= n)
			break;
		if (ip >= lo && ip < hi)
			return ip;
	}
	return 0;
}

static __always_inline void maybe_fail(struct pt_regs *ctx, unsigned long failure)
{
	__u64 interval = setting(CFG_INTERVAL), site, k, zero_val = 0;
	__u64 *n, *f, *count;
	int zero = 0;

	if (!interval || bpf_get_current_pid_tgid() >> 32 != setting(CFG_TGID))
		return;
	site = module_frame(ctx);
	n = seen.lookup(&zero);
	f = failed.lookup(&zero);
	if (!site || !n || !f)
		return;
	k = __sync_fetch_and_add(n, 1) + 1;
	if (k % interval || *f >= setting(CFG_TIMES))
		return;
	__sync_fetch_and_add(f, 1);
	count = sites.lookup_or_try_init(&site, &zero_val);
	if (count)
		__sync_fetch_and_add(count, 1);
	bpf_override_return(ctx, failure);
}

int kprobe__should_failslab(struct pt_regs *ctx)
{
	maybe_fail(ctx, (unsigned long)-ENOMEM);
	return 0;
}

int kprobe__should_fail_alloc_page(struct pt_regs *ctx)
{
	maybe_fail(ctx, 1);	/* bool: fail */
	return 0;
}
