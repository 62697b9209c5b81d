// SPDX-License-Identifier: GPL-2.0
/*
 * make bench only: a producer faster than the probes, appended to the
 * product program's text (Program(extra_source=...)) so that it writes into
 * the same ring buffer `events`. A uprobe hit costs microseconds, so real
 * probes cannot offer the consumer a million events per second on two CPUs.
 * One hit of lunatik_bench_produce (a uprobe on obs_bench_trigger(n) of the
 * native observer's library, called by bench/observer.py's producer
 * process) writes min(n, LUNATIK_BENCH_BATCH) records, each a copy of the
 * next of the records captured from a real session (the templates the bench
 * loads), counting a full ring buffer as the product does.
 * A bounded loop, not bpf_loop: BCC 0.26 cannot load bpf_loop's callback
 * (EACCES, "R2 type=scalar expected=func"), and past 256 iterations the
 * verifier refuses this loop (E2BIG).
 */
#define LUNATIK_BENCH_TEMPLATES	65536
#define LUNATIK_BENCH_BATCH	256

BPF_ARRAY(bench_templates, struct lunatik_event, LUNATIK_BENCH_TEMPLATES);	/* captured records */
BPF_ARRAY(bench_ctl, __u64, 2);		/* [0]: templates loaded, [1]: the next one */

int lunatik_bench_produce(struct pt_regs *ctx)
{
	__u32 n = (__u32)PT_REGS_PARM1(ctx), zero = 0, one = 1, i, k;
	__u64 *nt = bench_ctl.lookup(&zero), *next = bench_ctl.lookup(&one);
	__u64 ntemplates, first;
	struct lunatik_event *t;

	if (!nt || !next || !*nt || *nt > LUNATIK_BENCH_TEMPLATES)
		return 0;
	ntemplates = *nt;
	first = *next;
	for (i = 0; i < LUNATIK_BENCH_BATCH && i < n; i++) {
		k = (__u32)((first + i) % ntemplates);
		t = bench_templates.lookup(&k);
		if (!t)
			break;
		if (events.ringbuf_output(t, sizeof(*t), 0))
			lost(LUNATIK_DROP_RINGBUF);
	}
	*next = (first + i) % ntemplates;	/* the sequence goes on at the next hit */
	return 0;
}
