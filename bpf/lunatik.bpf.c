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
 *   -DLUNATIK_STREAM=0     summary mode: no ring buffer, and no probe on the
 *                          allocator (charge) nor on the refcount returns;
 *                          the module's per-state allocation counters are
 *                          copied at create, unlock and free instead
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
	FN_PUTSTATE, FN_EXECUTE, FN_LOCK, FN_MAX,
};

struct stash_key {
	__u32 tid;
	__u32 fn;
};

/* What an entry probe leaves for its return probe (BPF-internal). */
struct stash {
	__u32 tid;		/* whose (kernel: 0 when taken) */
	__u32 pad;
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
/*
 * Entry-to-return stashes. A uprobed thread can sleep and migrate between
 * the two, so the library's are per thread, in a hash map, and so is the
 * module's create (it allocates with GFP_KERNEL). The module's other
 * contract functions never sleep between entry and return (they spin, under
 * spinlocks, and nothing preempts them on kernels without full
 * preemption), so theirs are one slot per CPU and function, tagged with the
 * thread: no hash update and delete on every call. An entry that finds its
 * slot still pending (a return never seen, or a preemption) counts a drop;
 * a return that finds another thread's slot gets no stash.
 */
BPF_HASH(stashes, struct stash_key, struct stash, 10240);
#if !LUNATIK_USER
BPF_PERCPU_ARRAY(slots, struct stash, FN_MAX);
#endif
#define STASH_PER_CPU(fn)	(!LUNATIK_USER && (fn) != FN_CREATE)
BPF_PERCPU_ARRAY(scratch, struct stash, 1);
BPF_HASH(contending, __u32, struct contention_stash, 10240);
/* Summary maps (bpf/events.h): counters and histogram slots by serial,
 * counters by name for events with no state. An update that finds its map
 * full is counted in drops, like a record the ring buffer could not take. */
#ifndef LUNATIK_STATES_MAX
#define LUNATIK_STATES_MAX	16384
#endif
BPF_HASH(counters, __u64, struct lunatik_counters, LUNATIK_STATES_MAX);
BPF_PERCPU_HASH(counts, __u64, struct lunatik_counts, LUNATIK_STATES_MAX);
BPF_PERCPU_ARRAY(counts_zero, struct lunatik_counts, 1);	/* never written */
BPF_HASH(named, struct lunatik_name_key, struct lunatik_counters, LUNATIK_STATES_MAX);
BPF_HASH(hists, struct lunatik_hist_key, __u64, 4 * LUNATIK_STATES_MAX);
#if !LUNATIK_STREAM
/* Summary mode has no probe on the allocator: it copies the module's own
 * per-state counters (struct lunatik_stats) at create, unlock and free, and
 * the reader takes the allocation figures from there. */
BPF_HASH(allocs, __u64, struct lunatik_stats, LUNATIK_STATES_MAX);
BPF_PERCPU_ARRAY(stats_scratch, struct lunatik_stats, 1);
#endif

/* Map keys and values are built in per-CPU memory: BPF stack is 512 bytes. */
struct key_scratch {
	struct lunatik_name_key name;
	struct lunatik_hist_key hist;
	struct lunatik_counters init;
};
BPF_PERCPU_ARRAY(keys, struct key_scratch, 1);

static __always_inline __u32 cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* Names are map keys: zero the whole buffer, then read. */
static __always_inline void state_name(char *dst, __u64 s)
{
	__builtin_memset(dst, 0, LUNATIK_EV_NAME_LEN);
	if (s)
		lread_str(dst, LUNATIK_EV_NAME_LEN, s + LUNATIK_OFF_NAME);
}

static __always_inline void drop(void)
{
	int zero = 0;
	__u64 *d = drops.lookup(&zero);

	if (d)
		(*d)++;
}

static __always_inline __u64 serial_of(__u64 s)
{
	__u64 serial = 0;

	if (s)
		lread(&serial, sizeof(serial), s + LUNATIK_OFF_STATS);
	return serial;
}

static __always_inline void stash_fill(struct stash *v, __u64 ts, __u64 state,
				       __u64 arg, __u64 name_from_state,
				       __u64 name_ptr)
{
	v->tid = cur_tid();
	v->ts = ts;
	v->state = state;
	v->arg = arg;
	state_name(v->name, name_from_state);
	if (!name_from_state && name_ptr)
		lread_str(v->name, sizeof(v->name), name_ptr);
}

static __always_inline struct stash *slot_of(__u32 fn)
{
#if LUNATIK_USER
	return NULL;
#else
	return slots.lookup(&fn);
#endif
}

/* Leaves the entry's stash (taken at ts) for the return; returns it. */
static __always_inline struct stash *stash_put_at(__u32 fn, __u64 ts, __u64 state,
						  __u64 arg, __u64 name_from_state,
						  __u64 name_ptr)
{
	struct stash_key k = { .tid = cur_tid(), .fn = fn };
	int zero = 0;
	struct stash *v;

	if (STASH_PER_CPU(fn)) {
		v = slot_of(fn);
		if (!v)
			return NULL;
		if (v->tid)
			drop();		/* a pending entry is lost */
		stash_fill(v, ts, state, arg, name_from_state, name_ptr);
		return v;
	}
	v = scratch.lookup(&zero);
	if (!v)
		return NULL;
	stash_fill(v, ts, state, arg, name_from_state, name_ptr);
	stashes.update(&k, v);
	return v;
}

static __always_inline struct stash *stash_put(__u32 fn, __u64 state, __u64 arg,
					       __u64 name_from_state, __u64 name_ptr)
{
	return stash_put_at(fn, bpf_ktime_get_ns(), state, arg, name_from_state,
			    name_ptr);
}

/* The stash of fn for this thread, taken (a zeroed one if there is none). */
static __always_inline struct stash *stash_take(__u32 fn)
{
	struct stash_key k = { .tid = cur_tid(), .fn = fn };
	int zero = 0;
	struct stash *out, *v;

	if (STASH_PER_CPU(fn)) {
		v = slot_of(fn);
		if (v && v->tid == k.tid) {
			v->tid = 0;
			return v;
		}
		v = NULL;
	} else {
		v = stashes.lookup(&k);
	}
	out = scratch.lookup(&zero);
	if (!out)
		return NULL;
	if (!v) {
		out->tid = 0;
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

/* Zeroed counters of state s in scratch, to insert (the caller names them). */
static __always_inline struct lunatik_counters *fresh_counters(struct key_scratch *ks,
							       __u64 s)
{
	__builtin_memset(&ks->init, 0, sizeof(ks->init));
	ks->init.state = s;
	return &ks->init;
}

/* The counters of state s (its serial in *serial), made the first time. */
static __always_inline struct lunatik_counters *counters_of(__u64 s,
							     __u64 *serial)
{
	int zero = 0;
	struct lunatik_counters *c;
	struct key_scratch *ks;

	*serial = serial_of(s);
	if (!*serial)
		return NULL;
	c = counters.lookup(serial);
	if (c)
		return c;
	ks = keys.lookup(&zero);
	if (!ks)
		return NULL;
	state_name(fresh_counters(ks, s)->name, s);
	counters.insert(serial, &ks->init);	/* or another CPU just did */
	c = counters.lookup(serial);
	if (!c)
		drop();		/* the map is full */
	return c;
}

/* The counters of a name asked for, for events with no state. */
static __always_inline struct lunatik_counters *named_of(const char *name)
{
	int zero = 0;
	struct key_scratch *ks = keys.lookup(&zero);
	struct lunatik_counters *c;

	if (!ks)
		return NULL;
	__builtin_memcpy(ks->name.name, name, LUNATIK_EV_NAME_LEN);
	c = named.lookup(&ks->name);
	if (c)
		return c;
	__builtin_memcpy(fresh_counters(ks, 0)->name, name, LUNATIK_EV_NAME_LEN);
	named.insert(&ks->name, &ks->init);
	c = named.lookup(&ks->name);
	if (!c)
		drop();
	return c;
}

/*
 * One more event of kind for the state of serial, in this CPU's copy: no
 * atomic, as BPF programs do not nest on a CPU (bpf_prog_active).
 */
static __always_inline void bump(__u64 serial, __u32 kind)
{
	struct lunatik_counts *n, *init;
	int zero = 0;

	init = counts_zero.lookup(&zero);
	if (!serial || kind >= LUNATIK_EV_MAX || !init)
		return;
	n = counts.lookup_or_try_init(&serial, init);
	if (n)
		n->n[kind]++;
	else
		drop();		/* the map is full */
}

static __always_inline __u64 count(__u64 s, __u32 kind)
{
	__u64 serial;
	struct lunatik_counters *c = counters_of(s, &serial);

	if (!c)
		return serial;
	if (kind == LUNATIK_EV_FREE)
		c->freed = 1;
	bump(serial, kind);
	return serial;
}

static __always_inline void count_named(const char *name, __u32 kind)
{
	struct lunatik_counters *c = named_of(name);

	if (c && kind < LUNATIK_EV_MAX)
		__sync_fetch_and_add(&c->n[kind], 1);
}

static __always_inline void hist_add(__u64 serial, __u32 which, __u32 slot,
				     __u64 n)
{
	__u64 init = 0, *v;
	int zero = 0;
	struct key_scratch *ks = keys.lookup(&zero);

	if (!ks || !serial)
		return;
	ks->hist.serial = serial;
	ks->hist.hist = which;
	ks->hist.slot = slot;
	v = hists.lookup_or_try_init(&ks->hist, &init);
	if (v)
		__sync_fetch_and_add(v, n);
	else
		drop();		/* the map is full */
}

static __always_inline void hist(__u64 serial, __u32 which, __u64 value)
{
	hist_add(serial, which, value ? bpf_log2l(value) : 0, 1);
}

#if !LUNATIK_STREAM
/*
 * Copies s's allocation counters into `allocs`. Callers hold the state
 * exclusively (unlock entry: s->lock; free: no users), except create's
 * return, which may race an unlock on another CPU: it only inserts (first),
 * so that a later copy is never overwritten by its older one.
 */
static __always_inline void fold(__u64 s, __u64 serial, int first)
{
	int zero = 0;
	struct lunatik_stats *v;

	if (!serial)
		return;
	v = allocs.lookup(&serial);
	if (v) {
		if (!first)
			lread(v, sizeof(*v), s + LUNATIK_OFF_STATS);
		return;
	}
	v = stats_scratch.lookup(&zero);
	if (!v || lread(v, sizeof(*v), s + LUNATIK_OFF_STATS))
		return;
	if (first ? allocs.insert(&serial, v) && !allocs.lookup(&serial)
		  : allocs.update(&serial, v))
		drop();		/* the map is full */
}
#endif

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

/* The CREATE record (stream mode): s 0 and ret -errno for a failure. */
static __always_inline void create_record(struct stash *st, __u64 s, __s64 ret)
{
#if LUNATIK_STREAM
	struct lunatik_event *e = reserve(LUNATIK_EV_CREATE, s, st->name);
	__u64 maxalloc = st->arg;

	if (!e)
		return;
	if (s)
		lread(&maxalloc, sizeof(maxalloc), s + LUNATIK_OFF_MAXALLOC);
	e->ret = ret;
	e->maxalloc = maxalloc;
	e->latency = st->ts ? e->ts - st->ts : 0;
	submit(e);
#endif
}

int lunatik_create_entry(struct pt_regs *ctx)
{
	stash_put(FN_CREATE, 0, PT_REGS_PARM1(ctx), 0, PT_REGS_PARM2(ctx));
	return 0;
}

int lunatik_create_return(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_RC(ctx);
	struct stash *st = stash_take(FN_CREATE);

	if (!st)
		return 0;
	if (s >= (__u64)-LUNATIK_MAX_ERRNO || !s) {
		create_record(st, 0, s ? (__s64)s : -12);	/* NULL: -ENOMEM */
		count_named(st->name, LUNATIK_EV_CREATE);
		return 0;
	}
	create_record(st, s, 0);
#if LUNATIK_STREAM
	count(s, LUNATIK_EV_CREATE);
#else
	fold(s, count(s, LUNATIK_EV_CREATE), 1);	/* the allocations that built it */
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
	count_named(st->name, LUNATIK_EV_REMOVE);
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

/* Entry: the name asked for; summary mode keeps only its address (arg) and
 * reads it on a miss, the one case that needs it. */
static __always_inline void lookup_entry(struct pt_regs *ctx, __u32 fn)
{
	__u64 name = PT_REGS_PARM1(ctx);

	stash_put(fn, 0, name, 0, LUNATIK_STREAM ? name : 0);
}

static __always_inline int lookup_return(struct pt_regs *ctx, __u32 fn,
					 __u32 flags)
{
	__u64 s = PT_REGS_RC(ctx), serial;
	__s32 users = 0;
	struct stash *st = stash_take(fn);
	struct lunatik_counters *c;

	if (!st)
		return 0;
	if (s && flags == LUNATIK_LOOKUP_STATEGET)
		lread(&users, sizeof(users), s + LUNATIK_OFF_USERS);
	if (s) {
		if (counters_of(s, &serial))
			bump(serial, LUNATIK_EV_LOOKUP);
	} else {
		if (!LUNATIK_STREAM && st->arg)
			lread_str(st->name, sizeof(st->name), st->arg);
		c = named_of(st->name);
		if (c) {
			__sync_fetch_and_add(&c->lookup_miss, 1);
			__sync_fetch_and_add(&c->n[LUNATIK_EV_LOOKUP], 1);
		}
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
	lookup_entry(ctx, FN_STATELOOKUP);
	return 0;
}

int lunatik_statelookup_return(struct pt_regs *ctx)
{
	return lookup_return(ctx, FN_STATELOOKUP, LUNATIK_LOOKUP_STATELOOKUP);
}

int lunatik_stateget_entry(struct pt_regs *ctx)
{
	lookup_entry(ctx, FN_STATEGET);
	return 0;
}

int lunatik_stateget_return(struct pt_regs *ctx)
{
	return lookup_return(ctx, FN_STATEGET, LUNATIK_LOOKUP_STATEGET);
}

/* ---- refcount ----
 * The stream records the count after the change (the return value); the
 * summary only counts, at entry, and attaches no return probe. */

#if LUNATIK_STREAM
static __always_inline int ref_return(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	__s64 users = (int)PT_REGS_RC(ctx);
	struct stash *st = stash_take(fn);
	struct lunatik_event *e;

	if (!st || !st->state)
		return 0;
	count(st->state, kind);
	e = reserve(kind, st->state, st->name);
	if (!e)
		return 0;
	e->count = users;
	submit(e);
	return 0;
}

static __always_inline void ref_entry(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	__u64 s = PT_REGS_PARM1(ctx);

	stash_put(fn, s, 0, s, 0);
}
#else
static __always_inline int ref_return(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	return 0;
}

static __always_inline void ref_entry(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	count(PT_REGS_PARM1(ctx), kind);
}
#endif

int lunatik_getstate_entry(struct pt_regs *ctx)
{
	ref_entry(ctx, FN_GETSTATE, LUNATIK_EV_GET);
	return 0;
}

int lunatik_getstate_return(struct pt_regs *ctx)
{
	return ref_return(ctx, FN_GETSTATE, LUNATIK_EV_GET);
}

int lunatik_putstate_entry(struct pt_regs *ctx)
{
	ref_entry(ctx, FN_PUTSTATE, LUNATIK_EV_PUT);
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
	struct stash *st = stash_put(FN_EXECUTE, s, len, LUNATIK_STREAM ? s : 0, 0);

	count(s, LUNATIK_EV_EXEC_BEGIN);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e;
		__u32 n = len > LUNATIK_CODE_MAX ? LUNATIK_CODE_MAX : len;

		if (!st)
			return 0;
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
#endif
	return 0;
}

int lunatik_execute_return(struct pt_regs *ctx)
{
	__s64 ret = (int)PT_REGS_RC(ctx);
	struct stash *st = stash_take(FN_EXECUTE);
	struct lunatik_counters *c;
	__u64 now = bpf_ktime_get_ns(), lat, serial;

	if (!st || !st->state)
		return 0;
	lat = st->ts ? now - st->ts : 0;
	c = counters_of(st->state, &serial);
	if (c) {
		bump(serial, LUNATIK_EV_EXEC_END);
		if (ret != 0)
			__sync_fetch_and_add(&c->exec_errors, 1);
	}
	hist(serial, LUNATIK_HIST_EXEC_LATENCY, lat);
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

/* ---- allocator ----
 * charge is attached in stream mode only (summary mode folds the module's
 * own counters instead); deny in both. */

static __always_inline int alloc_entry(struct pt_regs *ctx, __u32 kind)
{
	__u64 s = PT_REGS_PARM1(ctx);
	__u64 osize = PT_REGS_PARM2(ctx);
	__u64 nsize = PT_REGS_PARM3(ctx);
	int zero = 0;
	struct stash *st = scratch.lookup(&zero);
	struct lunatik_counters *c;
	__u64 serial;

	if (!st || !s)
		return 0;
	c = counters_of(s, &serial);
	if (c) {
		bump(serial, kind);
		if (kind == LUNATIK_EV_ALLOC) {
			if (nsize > osize)
				__sync_fetch_and_add(&c->alloc_bytes, nsize - osize);
			else
				__sync_fetch_and_add(&c->free_bytes, osize - nsize);
		}
	}
	if (kind == LUNATIK_EV_ALLOC && nsize)
		hist(serial, LUNATIK_HIST_ALLOC_SIZE, nsize);
#if LUNATIK_STREAM
	{
		__u64 lim[2] = {};	/* maxalloc, curralloc */
		struct lunatik_event *e;

		lread(lim, sizeof(lim), s + LUNATIK_OFF_MAXALLOC);
		state_name(st->name, s);
		e = reserve(kind, s, st->name);
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
	int zero = 0;
	struct stash *st = scratch.lookup(&zero);
	__u64 serial;

	if (!st || !s)
		return 0;
	serial = count(s, LUNATIK_EV_FREE);
#if !LUNATIK_STREAM
	fold(s, serial, 0);	/* lua_close's frees: the final figures */
#else
	{
		__u64 lim[2] = {};	/* maxalloc, curralloc */
		struct lunatik_event *e;

		lread(lim, sizeof(lim), s + LUNATIK_OFF_MAXALLOC);
		state_name(st->name, s);
		e = reserve(LUNATIK_EV_FREE, s, st->name);
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

/*
 * The holder's acquisition time is in the state's counters (held_since).
 * The wait starts before the look at it: a lock found held then overlaps
 * that hold in the events' timestamps too.
 */
int lunatik_lock_entry(struct pt_regs *ctx)
{
	__u64 ts = bpf_ktime_get_ns(), s = PT_REGS_PARM1(ctx), serial;
	struct lunatik_counters *c = counters_of(s, &serial);
	/* held by another thread right now (between its lock return and unlock entry)? */
	__u64 contended = c && c->held_since ? LUNATIK_LOCK_CONTENDED : 0;

	stash_put_at(FN_LOCK, ts, s, contended, 0, 0);
	return 0;
}

int lunatik_lock_return(struct pt_regs *ctx)
{
	struct stash *st = stash_take(FN_LOCK);
	__u64 now = bpf_ktime_get_ns(), s, wait, serial;
	struct lunatik_counters *c;
	u32 contended;

	if (!st || !st->state)
		return 0;
	s = st->state;
	wait = st->ts ? now - st->ts : 0;
	contended = st->arg;

	c = counters_of(s, &serial);
	if (c) {
		c->held_since = now;
		bump(serial, LUNATIK_EV_LOCK);
		if (contended)
			__sync_fetch_and_add(&c->contended, 1);
	}
	hist(serial, LUNATIK_HIST_LOCK_WAIT, wait);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e;

		state_name(st->name, s);
		e = reserve(LUNATIK_EV_LOCK, s, st->name);
		if (!e)
			return 0;
		e->latency = wait;
		e->flags = contended;
		submit(e);
	}
#endif
	return 0;
}

/* Unlock entry: s->lock is still held, so the summary copies here. */
int lunatik_unlock_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);
	__u64 now = bpf_ktime_get_ns(), hold = 0, serial;
	int zero = 0;
	struct stash *st = scratch.lookup(&zero);
	struct lunatik_counters *c;

	if (!st || !s)
		return 0;
	c = counters_of(s, &serial);
	if (c) {
		if (c->held_since)
			hold = now - c->held_since;
		c->held_since = 0;
		bump(serial, LUNATIK_EV_UNLOCK);
	}
	if (hold)
		hist(serial, LUNATIK_HIST_LOCK_HOLD, hold);
#if !LUNATIK_STREAM
	fold(s, serial, 0);
#else
	{
		struct lunatik_event *e;

		state_name(st->name, s);
		e = reserve(LUNATIK_EV_UNLOCK, s, st->name);
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

/*
 * The live state whose s->lock is at lock, or 0. Any contended lock of the
 * kernel comes here: the serial a state would have behind it must name
 * counters of that very address, not freed yet (a freed state's memory may
 * still hold its serial).
 */
static __always_inline __u64 state_of_lock(__u64 lock)
{
	__u64 s = lock - LUNATIK_OFF_LOCK, serial = 0;
	struct lunatik_counters *c;

	if (bpf_probe_read_kernel(&serial, sizeof(serial), (void *)(s + LUNATIK_OFF_STATS)) ||
	    !serial)
		return 0;
	c = counters.lookup(&serial);
	if (!c || c->state != s || c->freed)
		return 0;
	return s;
}

int lunatik_contention_begin(struct lunatik_tp_contention *args)
{
	__u64 lock = args->lock_addr;
	__u32 tid = cur_tid();
	struct contention_stash c = {};

	if (!state_of_lock(lock))
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
	__u64 s, lock, wait, serial;
	int zero = 0;
	struct stash *st;

	if (!c)
		return 0;
	lock = c->lock;
	wait = bpf_ktime_get_ns() - c->ts;
	contending.delete(&tid);
	s = state_of_lock(lock);
	st = scratch.lookup(&zero);
	if (!s || !st)
		return 0;
	serial = count(s, LUNATIK_EV_CONTENTION);
	hist(serial, LUNATIK_HIST_CONTENTION, wait);
#if LUNATIK_STREAM
	{
		struct lunatik_event *e;

		state_name(st->name, s);
		e = reserve(LUNATIK_EV_CONTENTION, s, st->name);
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
