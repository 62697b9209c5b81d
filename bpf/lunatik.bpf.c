// SPDX-License-Identifier: GPL-2.0
/*
 * BCC programs for the probe contract (kernel/probes.h).
 *
 * One text for both targets; the loader (lunatik_bpf/tracer.py) compiles it
 * with cflags and decides how to attach:
 *   -DLUNATIK_USER=1       uprobes on build/user/liblunatik.so: state memory and
 *                          arguments are user memory (bpf_probe_read_user)
 *   -DLUNATIK_USER=0       kprobes on the module: kernel memory, and the
 *                          lock:contention_begin/end tracepoints
 *   -DLUNATIK_STREAM=1     every event through the ring buffer `events`
 *   -DLUNATIK_RINGBUF_PAGES=N  its size in pages (a power of two)
 * The per-state counters and log2 histograms are kept in both modes.
 *
 * Program names are <probe>_entry / <probe>_return; the loader attaches the
 * release paths (free, putstate, remove) before the acquiring ones.
 */
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

#ifndef __BPF_TRACING__
#define __BPF_TRACING__
#endif
#include "probes.h"
#include "events.h"

#ifndef LUNATIK_USER
#define LUNATIK_USER 1
#endif
#ifndef LUNATIK_STREAM
#define LUNATIK_STREAM 1
#endif
#ifndef LUNATIK_RINGBUF_PAGES
#define LUNATIK_RINGBUF_PAGES 1024
#endif

#if LUNATIK_USER
#define lread(dst, size, src)	bpf_probe_read_user((dst), (size), (const void *)(src))
#define lread_str(dst, size, src) bpf_probe_read_user_str((dst), (size), (const void *)(src))
#else
#define lread(dst, size, src)	bpf_probe_read_kernel((dst), (size), (const void *)(src))
#define lread_str(dst, size, src) bpf_probe_read_kernel_str((dst), (size), (const void *)(src))
#endif

#define LUNATIK_MAX_ERRNO	4095

/* Which function an entry stash belongs to. */
enum lunatik_fn {
	FN_CREATE = 1, FN_REMOVE, FN_STATELOOKUP, FN_STATEGET, FN_GETSTATE,
	FN_PUTSTATE, FN_EXECUTE, FN_LOCK,
};

struct stash_key {
	__u32 tid;
	__u32 fn;
};

/* What an entry probe leaves for its return probe (BPF-internal). */
struct stash {
	__u64 ts;
	__u64 state;
	__u64 arg;
	char name[LUNATIK_EV_NAME_LEN];
};

struct contention_stash {
	__u64 ts;
	__u64 lock;
};

/* lock:contention_begin / _end records (tracefs format; common header first). */
struct lunatik_tp_contention {
	__u64 common;
	__u64 lock_addr;
	__u32 arg;	/* flags (begin) or ret (end) */
};

#if LUNATIK_STREAM
BPF_RINGBUF_OUTPUT(events, LUNATIK_RINGBUF_PAGES);
#endif
BPF_PERCPU_ARRAY(drops, __u64, 1);
BPF_HASH(stashes, struct stash_key, struct stash, 10240);
BPF_PERCPU_ARRAY(scratch, struct stash, 1);
BPF_HASH(held, __u64, __u64, 10240);			/* state -> lock acquired ts */
BPF_HASH(live_locks, __u64, __u64, 10240);		/* &s->lock -> s, live states */
BPF_HASH(contending, __u32, struct contention_stash, 10240);
/* Summary maps: one counter per state (address and name) and one slot per
 * state, histogram and log2 bucket. An update that finds its map full is
 * counted in drops, like a record the ring buffer could not take. */
#ifndef LUNATIK_STATES_MAX
#define LUNATIK_STATES_MAX	16384
#endif
BPF_HASH(counters, struct lunatik_state_key, struct lunatik_counters, LUNATIK_STATES_MAX);
BPF_HASH(hists, struct lunatik_hist_key, __u64, 4 * LUNATIK_STATES_MAX);
BPF_PERCPU_ARRAY(zero_counters, struct lunatik_counters, 1);

/* Map keys are built in per-CPU memory: BPF stack is 512 bytes. */
struct key_scratch {
	struct lunatik_state_key state;
	struct lunatik_hist_key hist;
};
BPF_PERCPU_ARRAY(keys, struct key_scratch, 1);

static __always_inline __u32 cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* Names are map keys (with the state): zero the whole buffer, then read. */
static __always_inline void state_name(char *dst, __u64 s)
{
	__builtin_memset(dst, 0, LUNATIK_EV_NAME_LEN);
	if (s)
		lread_str(dst, LUNATIK_EV_NAME_LEN, s + LUNATIK_OFF_NAME);
}

static __always_inline void stash_put(__u32 fn, __u64 state, __u64 arg,
				      __u64 name_from_state, __u64 name_ptr)
{
	struct stash_key k = { .tid = cur_tid(), .fn = fn };
	int zero = 0;
	struct stash *v = scratch.lookup(&zero);

	if (!v)
		return;
	v->ts = bpf_ktime_get_ns();
	v->state = state;
	v->arg = arg;
	state_name(v->name, name_from_state);
	if (!name_from_state && name_ptr)
		lread_str(v->name, sizeof(v->name), name_ptr);
	stashes.update(&k, v);
}

/* Copies the stash of fn for this thread into scratch and deletes it. */
static __always_inline struct stash *stash_take(__u32 fn)
{
	struct stash_key k = { .tid = cur_tid(), .fn = fn };
	struct stash *v = stashes.lookup(&k);
	int zero = 0;
	struct stash *out = scratch.lookup(&zero);

	if (!out)
		return NULL;
	if (!v) {
		out->ts = 0;
		out->state = 0;
		out->arg = 0;
		state_name(out->name, 0);
		return out;
	}
	__builtin_memcpy(out, v, sizeof(*out));
	stashes.delete(&k);
	return out;
}

static __always_inline void drop(void)
{
	int zero = 0;
	__u64 *d = drops.lookup(&zero);

	if (d)
		(*d)++;
}

static __always_inline struct lunatik_counters *counters_of(__u64 s,
							     const char *name)
{
	int zero = 0;
	struct lunatik_counters *init = zero_counters.lookup(&zero);
	struct key_scratch *ks = keys.lookup(&zero);
	struct lunatik_counters *c;

	if (!init || !ks)
		return NULL;
	ks->state.state = s;
	__builtin_memcpy(ks->state.name, name, LUNATIK_EV_NAME_LEN);
	c = counters.lookup_or_try_init(&ks->state, init);
	if (!c)
		drop();		/* the map is full */
	return c;
}

static __always_inline void count(__u64 s, const char *name, __u32 kind)
{
	struct lunatik_counters *c = counters_of(s, name);

	if (c && kind < LUNATIK_EV_MAX)
		__sync_fetch_and_add(&c->n[kind], 1);
}

static __always_inline void hist(__u64 s, const char *name, __u32 which,
				 __u64 value)
{
	__u64 init = 0, *v;
	int zero = 0;
	struct key_scratch *ks = keys.lookup(&zero);

	if (!ks)
		return;
	ks->hist.state = s;
	__builtin_memcpy(ks->hist.name, name, LUNATIK_EV_NAME_LEN);
	ks->hist.hist = which;
	ks->hist.slot = value ? bpf_log2l(value) : 0;
	v = hists.lookup_or_try_init(&ks->hist, &init);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		drop();		/* the map is full */
}

#if LUNATIK_STREAM
/* Reserves a record with its header filled, or counts a drop. */
static __always_inline struct lunatik_event *reserve(__u32 kind, __u64 s,
						     const char *name)
{
	struct lunatik_event *e = events.ringbuf_reserve(sizeof(struct lunatik_event));
	__u64 id;

	if (!e) {
		drop();
		return NULL;
	}
	id = bpf_get_current_pid_tgid();
	e->ts = bpf_ktime_get_ns();
	e->state = s;
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->name, name, LUNATIK_EV_NAME_LEN);
	e->ret = 0;
	e->maxalloc = 0;
	e->curralloc = 0;
	e->osize = 0;
	e->nsize = 0;
	e->len = 0;
	e->latency = 0;
	e->count = 0;
	e->flags = 0;
	e->code_len = 0;
	e->code[0] = '\0';
	return e;
}

static __always_inline void submit(struct lunatik_event *e)
{
	events.ringbuf_submit(e, 0);
}
#endif

/* ---- create ---- */

int lunatik_create_entry(struct pt_regs *ctx)
{
	stash_put(FN_CREATE, 0, PT_REGS_PARM1(ctx), 0, PT_REGS_PARM2(ctx));
	return 0;
}

int lunatik_create_return(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_RC(ctx);
	__u64 maxalloc, lock;
	__s64 ret = 0;
	struct stash *st = stash_take(FN_CREATE);

	if (!st)
		return 0;
	maxalloc = st->arg;
	if (s >= (__u64)-LUNATIK_MAX_ERRNO) {
		ret = (__s64)s;
		s = 0;
	} else if (s) {
		lread(&maxalloc, sizeof(maxalloc), s + LUNATIK_OFF_MAXALLOC);
		lock = s + LUNATIK_OFF_LOCK;
		live_locks.update(&lock, &s);
	} else {
		ret = -12;	/* NULL: treat as -ENOMEM */
	}
	count(s, st->name, LUNATIK_EV_CREATE);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_CREATE, s, st->name);

		if (!e)
			return 0;
		e->ret = ret;
		e->maxalloc = maxalloc;
		e->latency = st->ts ? e->ts - st->ts : 0;
		submit(e);
	}
#endif
	return 0;
}

/* ---- remove ---- */

int lunatik_remove_entry(struct pt_regs *ctx)
{
	stash_put(FN_REMOVE, 0, 0, 0, PT_REGS_PARM1(ctx));
	return 0;
}

int lunatik_remove_return(struct pt_regs *ctx)
{
	__s64 ret = (int)PT_REGS_RC(ctx);
	struct stash *st = stash_take(FN_REMOVE);

	if (!st)
		return 0;
	count(0, st->name, LUNATIK_EV_REMOVE);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_REMOVE, 0, st->name);

		if (!e)
			return 0;
		e->ret = ret;
		submit(e);
	}
#endif
	return 0;
}

/* ---- lookups ---- */

static __always_inline int lookup_return(struct pt_regs *ctx, __u32 fn,
					 __u32 flags)
{
	__u64 s = PT_REGS_RC(ctx);
	__s32 users = 0;
	struct stash *st = stash_take(fn);
	struct lunatik_counters *c;

	if (!st)
		return 0;
	if (s && flags == LUNATIK_LOOKUP_STATEGET)
		lread(&users, sizeof(users), s + LUNATIK_OFF_USERS);
	c = counters_of(s, st->name);
	if (c) {
		__sync_fetch_and_add(&c->n[LUNATIK_EV_LOOKUP], 1);
		if (!s)
			__sync_fetch_and_add(&c->lookup_miss, 1);
	}
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_LOOKUP, s, st->name);

		if (!e)
			return 0;
		e->flags = flags;
		e->count = users;
		submit(e);
	}
#endif
	return 0;
}

int lunatik_statelookup_entry(struct pt_regs *ctx)
{
	stash_put(FN_STATELOOKUP, 0, 0, 0, PT_REGS_PARM1(ctx));
	return 0;
}

int lunatik_statelookup_return(struct pt_regs *ctx)
{
	return lookup_return(ctx, FN_STATELOOKUP, LUNATIK_LOOKUP_STATELOOKUP);
}

int lunatik_stateget_entry(struct pt_regs *ctx)
{
	stash_put(FN_STATEGET, 0, 0, 0, PT_REGS_PARM1(ctx));
	return 0;
}

int lunatik_stateget_return(struct pt_regs *ctx)
{
	return lookup_return(ctx, FN_STATEGET, LUNATIK_LOOKUP_STATEGET);
}

/* ---- refcount ---- */

static __always_inline int ref_return(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	__s64 users = (int)PT_REGS_RC(ctx);
	struct stash *st = stash_take(fn);

	if (!st || !st->state)
		return 0;
	count(st->state, st->name, kind);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(kind, st->state, st->name);

		if (!e)
			return 0;
		e->count = users;
		submit(e);
	}
#endif
	return 0;
}

int lunatik_getstate_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);

	stash_put(FN_GETSTATE, s, 0, s, 0);
	return 0;
}

int lunatik_getstate_return(struct pt_regs *ctx)
{
	return ref_return(ctx, FN_GETSTATE, LUNATIK_EV_GET);
}

int lunatik_putstate_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);

	stash_put(FN_PUTSTATE, s, 0, s, 0);
	return 0;
}

int lunatik_putstate_return(struct pt_regs *ctx)
{
	return ref_return(ctx, FN_PUTSTATE, LUNATIK_EV_PUT);
}

/* ---- execute ---- */

int lunatik_execute_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);
	__u64 code = PT_REGS_PARM2(ctx);
	__u64 len = PT_REGS_PARM3(ctx);

	stash_put(FN_EXECUTE, s, len, s, 0);
#if LUNATIK_STREAM
	{
		int zero = 0;
		struct stash *st = scratch.lookup(&zero);
		struct lunatik_event *e;
		__u32 n = len > LUNATIK_CODE_MAX ? LUNATIK_CODE_MAX : len;

		if (!st)
			return 0;
		count(s, st->name, LUNATIK_EV_EXEC_BEGIN);
		e = reserve(LUNATIK_EV_EXEC_BEGIN, s, st->name);
		if (!e)
			return 0;
		e->len = len;
		if (n > 0 && n <= LUNATIK_CODE_MAX) {
			if (lread(e->code, n, code) == 0)
				e->code_len = n;
		}
		submit(e);
	}
#else
	{
		int zero = 0;
		struct stash *st = scratch.lookup(&zero);

		if (st)
			count(s, st->name, LUNATIK_EV_EXEC_BEGIN);
	}
#endif
	return 0;
}

int lunatik_execute_return(struct pt_regs *ctx)
{
	__s64 ret = (int)PT_REGS_RC(ctx);
	struct stash *st = stash_take(FN_EXECUTE);
	struct lunatik_counters *c;
	__u64 now = bpf_ktime_get_ns(), lat;

	if (!st || !st->state)
		return 0;
	lat = st->ts ? now - st->ts : 0;
	c = counters_of(st->state, st->name);
	if (c) {
		__sync_fetch_and_add(&c->n[LUNATIK_EV_EXEC_END], 1);
		if (ret != 0)
			__sync_fetch_and_add(&c->exec_errors, 1);
	}
	hist(st->state, st->name, LUNATIK_HIST_EXEC_LATENCY, lat);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_EXEC_END, st->state, st->name);

		if (!e)
			return 0;
		e->ret = ret;
		e->latency = lat;
		e->len = st->arg;
		submit(e);
	}
#endif
	return 0;
}

/* ---- allocator ---- */

static __always_inline int alloc_entry(struct pt_regs *ctx, __u32 kind)
{
	__u64 s = PT_REGS_PARM1(ctx);
	__u64 osize = PT_REGS_PARM2(ctx);
	__u64 nsize = PT_REGS_PARM3(ctx);
	__u64 lim[2] = {};	/* maxalloc, curralloc */
	int zero = 0;
	struct stash *st = scratch.lookup(&zero);
	struct lunatik_counters *c;

	if (!st || !s)
		return 0;
	lread(lim, sizeof(lim), s + LUNATIK_OFF_MAXALLOC);
	state_name(st->name, s);
	c = counters_of(s, st->name);
	if (c) {
		__sync_fetch_and_add(&c->n[kind], 1);
		if (kind == LUNATIK_EV_ALLOC) {
			if (nsize > osize)
				__sync_fetch_and_add(&c->alloc_bytes, nsize - osize);
			else
				__sync_fetch_and_add(&c->free_bytes, osize - nsize);
		}
	}
	if (kind == LUNATIK_EV_ALLOC && nsize)
		hist(s, st->name, LUNATIK_HIST_ALLOC_SIZE, nsize);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(kind, s, st->name);

		if (!e)
			return 0;
		e->osize = osize;
		e->nsize = nsize;
		e->maxalloc = lim[0];
		e->curralloc = lim[1];
		submit(e);
	}
#endif
	return 0;
}

int lunatik_charge_entry(struct pt_regs *ctx)
{
	return alloc_entry(ctx, LUNATIK_EV_ALLOC);
}

int lunatik_deny_entry(struct pt_regs *ctx)
{
	return alloc_entry(ctx, LUNATIK_EV_DENY);
}

int lunatik_free_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);
	__u64 lim[2] = {};
	__u64 lock = s + LUNATIK_OFF_LOCK;
	int zero = 0;
	struct stash *st = scratch.lookup(&zero);

	if (!st || !s)
		return 0;
	live_locks.delete(&lock);
	held.delete(&s);
	lread(lim, sizeof(lim), s + LUNATIK_OFF_MAXALLOC);
	state_name(st->name, s);
	count(s, st->name, LUNATIK_EV_FREE);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_FREE, s, st->name);

		if (!e)
			return 0;
		e->maxalloc = lim[0];
		e->curralloc = lim[1];
		submit(e);
	}
#endif
	return 0;
}

/* ---- lock ---- */

int lunatik_lock_entry(struct pt_regs *ctx)
{
	struct stash_key k = { .tid = cur_tid(), .fn = FN_LOCK };
	int zero = 0;
	struct stash *v = scratch.lookup(&zero);

	if (!v)
		return 0;
	v->ts = bpf_ktime_get_ns();
	v->state = PT_REGS_PARM1(ctx);
	/* held by another thread right now (between its lock return and unlock entry)? */
	v->arg = held.lookup(&v->state) ? LUNATIK_LOCK_CONTENDED : 0;
	state_name(v->name, 0);
	stashes.update(&k, v);
	return 0;
}

int lunatik_lock_return(struct pt_regs *ctx)
{
	struct stash *st = stash_take(FN_LOCK);
	__u64 now = bpf_ktime_get_ns(), s, wait;
	struct lunatik_counters *c;
	u32 contended;

	if (!st || !st->state)
		return 0;
	s = st->state;
	wait = st->ts ? now - st->ts : 0;
	contended = st->arg;

	held.update(&s, &now);
	state_name(st->name, s);
	c = counters_of(s, st->name);
	if (c) {
		__sync_fetch_and_add(&c->n[LUNATIK_EV_LOCK], 1);
		if (contended)
			__sync_fetch_and_add(&c->contended, 1);
	}
	hist(s, st->name, LUNATIK_HIST_LOCK_WAIT, wait);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_LOCK, s, st->name);

		if (!e)
			return 0;
		e->latency = wait;
		e->flags = contended;
		submit(e);
	}
#endif
	return 0;
}

int lunatik_unlock_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);
	__u64 now = bpf_ktime_get_ns(), hold = 0, *t;
	int zero = 0;
	struct stash *st = scratch.lookup(&zero);

	if (!st || !s)
		return 0;
	t = held.lookup(&s);
	if (t) {
		hold = now - *t;
		held.delete(&s);
	}
	state_name(st->name, s);
	count(s, st->name, LUNATIK_EV_UNLOCK);
	if (t)
		hist(s, st->name, LUNATIK_HIST_LOCK_HOLD, hold);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_UNLOCK, s, st->name);

		if (!e)
			return 0;
		e->latency = hold;
		submit(e);
	}
#endif
	return 0;
}

#if !LUNATIK_USER
/* ---- lock:contention_begin / _end, on the locks of live states only ---- */

int lunatik_contention_begin(struct lunatik_tp_contention *args)
{
	__u64 lock = args->lock_addr;
	__u32 tid = cur_tid();
	struct contention_stash c = {};

	if (!live_locks.lookup(&lock))
		return 0;
	c.ts = bpf_ktime_get_ns();
	c.lock = lock;
	contending.update(&tid, &c);
	return 0;
}

int lunatik_contention_end(struct lunatik_tp_contention *args)
{
	__u32 tid = cur_tid();
	struct contention_stash *c = contending.lookup(&tid);
	__u64 *sp, s, lock, wait;
	int zero = 0;
	struct stash *st;

	if (!c)
		return 0;
	lock = c->lock;
	wait = bpf_ktime_get_ns() - c->ts;
	contending.delete(&tid);
	sp = live_locks.lookup(&lock);
	st = scratch.lookup(&zero);
	if (!sp || !st)
		return 0;
	s = *sp;
	state_name(st->name, s);
	count(s, st->name, LUNATIK_EV_CONTENTION);
	hist(s, st->name, LUNATIK_HIST_CONTENTION, wait);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e = reserve(LUNATIK_EV_CONTENTION, s, st->name);

		if (!e)
			return 0;
		e->latency = wait;
		submit(e);
	}
#endif
	return 0;
}
#endif

#if defined(LUNATIK_BENCH_PRODUCER) && LUNATIK_BENCH_PRODUCER && LUNATIK_STREAM
/*
 * make bench only (-DLUNATIK_BENCH_PRODUCER=1): a producer faster than the
 * probes. A uprobe hit costs microseconds, so real probes cannot offer the
 * consumer a million events per second on two CPUs. One hit of
 * lunatik_bench_produce (a uprobe on obs_bench_trigger(n) of the native
 * observer's library, called by bench/observer.py's producer process)
 * writes min(n, LUNATIK_BENCH_BATCH) records into the same `events` ring
 * buffer, each a copy of the next of the records captured from a real
 * session (the templates the bench loads), counting drops like reserve().
 * A bounded loop, not bpf_loop: BCC 0.26 cannot load bpf_loop's callback
 * (EACCES, "R2 type=scalar expected=func"), and past 256 iterations the
 * verifier refuses this loop (E2BIG).
 */
#define LUNATIK_BENCH_TEMPLATES	65536
#define LUNATIK_BENCH_BATCH	256
BPF_ARRAY(bench_templates, struct lunatik_event, LUNATIK_BENCH_TEMPLATES);
BPF_ARRAY(bench_ctl, __u64, 2);		/* [0]: templates loaded, [1]: next one */

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
			drop();
	}
	*next = (first + i) % ntemplates;	/* the sequence goes on at the next hit */
	return 0;
}
#endif
