// SPDX-License-Identifier: GPL-2.0
/*
 * BCC programs for the probe contract (kernel/probes.h, kernel/lunatik_trace.h).
 *
 * One body per event (on_create ... on_contention) takes plain values;
 * thin wrappers feed it from each mechanism:
 *   <symbol>_entry / <symbol>_return   kprobes on the module, or uprobes on
 *                                      the user-space library: arguments from
 *                                      pt_regs, the rest read from the state
 *                                      at the offsets of probes.h, and entry
 *                                      values stashed for the return
 *   <tracepoint>_rawtp                 raw tracepoints on the module's own
 *                                      tracepoints: every value is an argument
 *   lunatik_contention_begin/_end      lock:contention_begin/end (kernel)
 * The loader (lunatik_bpf/tracing/program.py) picks which wrappers to attach.
 *
 * The variants, chosen at load time with -D:
 *   LUNATIK_USER=1|0          the library (user memory) or the module
 *   LUNATIK_STREAM=1|0        every event through the ring buffer `events`
 *                             (stream), or counters only (summary: no probe
 *                             on the allocator nor refcount returns; the
 *                             module's own allocation counters are copied at
 *                             create, unlock and free)
 *   LUNATIK_RINGBUF_PAGES=N   the ring buffer's size in pages (a power of two)
 *   LUNATIK_STATES_MAX=N      how many states the summary maps hold
 *   LUNATIK_PREEMPTIBLE=1|0   the kernel can preempt a task inside the
 *                             module (PREEMPT, PREEMPT_RT, preempt=full):
 *                             every stash per thread (see the stashes)
 * Only the emit and summary helpers differ between the variants; the
 * per-state counters and log2 histograms are kept in both modes.
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
#ifndef LUNATIK_STATES_MAX
#define LUNATIK_STATES_MAX 16384
#endif
#ifndef LUNATIK_PREEMPTIBLE
#define LUNATIK_PREEMPTIBLE 1
#endif
/* one entry stash per CPU and function (below), instead of per thread */
#define LUNATIK_SLOTS	(!LUNATIK_USER && !LUNATIK_PREEMPTIBLE)

/* The traced code's memory: the library's is user memory. */
#if LUNATIK_USER
#define lread(dst, size, src)	bpf_probe_read_user((dst), (size), (const void *)(src))
#define lread_str(dst, size, src) bpf_probe_read_user_str((dst), (size), (const void *)(src))
#else
#define lread(dst, size, src)	bpf_probe_read_kernel((dst), (size), (const void *)(src))
#define lread_str(dst, size, src) bpf_probe_read_kernel_str((dst), (size), (const void *)(src))
#endif

#define LUNATIK_MAX_ERRNO	4095
#define LUNATIK_ENOMEM		12

/* Which function an entry stash belongs to. */
enum lunatik_fn {
	FN_CREATE = 1, FN_REMOVE, FN_STATELOOKUP, FN_STATEGET, FN_GETSTATE,
	FN_PUTSTATE, FN_EXECUTE, FN_LOCK, FN_MAX,
};

struct stash_key {
	__u32 tid;
	__u32 fn;
};

/* What an entry leaves for its return. */
struct stash {
	__u32 tid;		/* whose (a per-CPU slot: 0 when free) */
	__u32 pad;
	__u64 ts;		/* the entry's time */
	__u64 state;
	__u64 serial;
	__u64 arg;		/* maxalloc (create), length (execute), contended (lock) */
	__u64 name;		/* where the name asked for is, valid until the return */
	char copy[LUNATIK_EV_NAME_LEN];	/* the state's name (get, put: the state
					 * may be gone by the return) */
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

/* Map keys and fresh values are built here: BPF stack is 512 bytes. */
struct key_scratch {
	struct lunatik_name_key name;
	struct lunatik_hist_key hist;
	struct lunatik_counters init;
};

#if LUNATIK_STREAM
BPF_RINGBUF_OUTPUT(events, LUNATIK_RINGBUF_PAGES);	/* every event, to the observer */
#endif
BPF_PERCPU_ARRAY(drops, __u64, LUNATIK_DROP_MAX);	/* what was lost, by enum lunatik_drop_cause */
BPF_HASH(stashes, struct stash_key, struct stash, 10240);	/* entry to return, per thread: uprobes, a preemptible kernel, the module's create */
#if LUNATIK_SLOTS
BPF_PERCPU_ARRAY(slots, struct stash, FN_MAX);		/* entry to return, one per CPU and function: the module's others */
#endif
BPF_PERCPU_ARRAY(scratch, struct stash, 1);		/* a stash being built or taken */
BPF_HASH(contending, __u32, struct contention_stash, 10240);	/* lock:contention_begin to _end, per thread */
BPF_HASH(counters, __u64, struct lunatik_counters, LUNATIK_STATES_MAX);	/* a state's identity and rare counters, by serial */
BPF_PERCPU_HASH(counts, __u64, struct lunatik_counts, LUNATIK_STATES_MAX);	/* a state's event counts, by serial, per CPU */
BPF_PERCPU_ARRAY(counts_zero, struct lunatik_counts, 1);	/* zeroed counts to start a state from (never written) */
BPF_HASH(named, struct lunatik_name_key, struct lunatik_counters, LUNATIK_STATES_MAX);	/* events with no state, by name asked for */
BPF_HASH(hists, struct lunatik_hist_key, __u64, 4 * LUNATIK_STATES_MAX);	/* log2 histogram slots */
BPF_PERCPU_ARRAY(keys, struct key_scratch, 1);		/* map keys and fresh values being built */
#if !LUNATIK_STREAM
BPF_HASH(allocs, __u64, struct lunatik_stats, LUNATIK_STATES_MAX);	/* the module's allocation counters, last copy, by serial */
BPF_PERCPU_ARRAY(stats_scratch, struct lunatik_stats, 1);	/* a copy being made */
#endif

/* ---- helpers ---- */

static __always_inline __u32 cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

/* One more loss of that cause (this CPU's count; programs do not nest). */
static __always_inline void lost(__u32 cause)
{
	__u64 *d = drops.lookup(&cause);

	if (d)
		(*d)++;
}

/*
 * A name into dst (LUNATIK_EV_NAME_LEN bytes, NUL-terminated): from the
 * traced code's memory at src, or from a copy a probe made (BPF memory).
 */
static __always_inline void read_name(char *dst, __u64 src, int copied)
{
	if (copied)
		bpf_probe_read_kernel_str(dst, LUNATIK_EV_NAME_LEN, (const void *)src);
	else if (src)
		lread_str(dst, LUNATIK_EV_NAME_LEN, src);
	else
		dst[0] = '\0';
}

/* Names as map keys: the whole buffer zeroed first. */
static __always_inline void key_name(char *dst, __u64 src, int copied)
{
	__builtin_memset(dst, 0, LUNATIK_EV_NAME_LEN);
	read_name(dst, src, copied);
}

/* kprobes and uprobes: what the state says, at probes.h's offsets. */
static __always_inline __u64 serial_at(__u64 s)
{
	__u64 serial = 0;

	if (s)
		lread(&serial, sizeof(serial), s + LUNATIK_OFF_STATS);
	return serial;
}

static __always_inline __u64 name_at(__u64 s)
{
	return s ? s + LUNATIK_OFF_NAME : 0;
}

/* ---- entry-to-return stashes (kprobes and uprobes) ----
 *
 * A uprobed thread can sleep and migrate between the two, so the library's
 * are per thread, in a hash map, and so is the module's create (it
 * allocates with GFP_KERNEL). The module's other contract functions do not
 * sleep between entry and return; where the kernel preempts only at a
 * sleep (LUNATIK_PREEMPTIBLE=0), nothing else enters them on that CPU
 * before they return, so theirs are one slot per CPU and function, tagged
 * with the thread: no hash update and delete per call. A fully preemptible
 * kernel can switch tasks between entry and spin_lock, so there they are
 * per thread too. An entry that finds its slot pending, or the hash map
 * full, loses a stash.
 */
#define STASH_PER_CPU(fn)	(LUNATIK_SLOTS && (fn) != FN_CREATE)

static __always_inline struct stash *slot_of(__u32 fn)
{
#if LUNATIK_SLOTS
	return slots.lookup(&fn);
#else
	return NULL;
#endif
}

static __always_inline void stash_put(__u32 fn, __u64 ts, __u64 state,
				      __u64 serial, __u64 arg, __u64 name,
				      int copy_name)
{
	struct stash_key k = { .tid = cur_tid(), .fn = fn };
	int zero = 0;
	struct stash *v = STASH_PER_CPU(fn) ? slot_of(fn) : scratch.lookup(&zero);

	if (!v)
		return;
	if (STASH_PER_CPU(fn) && v->tid)
		lost(LUNATIK_DROP_STASH);	/* a pending entry, overwritten */
	v->tid = k.tid;
	v->ts = ts;
	v->state = state;
	v->serial = serial;
	v->arg = arg;
	v->name = name;
	if (copy_name)
		key_name(v->copy, name, 0);
	if (!STASH_PER_CPU(fn) && stashes.update(&k, v))
		lost(LUNATIK_DROP_STASH);	/* the map is full */
}

/* The stash fn's entry left for this thread, taken; zeroed if none. */
static __always_inline struct stash *stash_take(__u32 fn)
{
	struct stash_key k = { .tid = cur_tid(), .fn = fn };
	int zero = 0;
	struct stash *out, *v = NULL;

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
	if (v) {
		__builtin_memcpy(out, v, sizeof(*out));
		stashes.delete(&k);
	} else {
		__builtin_memset(out, 0, sizeof(*out));
	}
	return out;
}

/* ---- summary: counters and histograms (both modes) ---- */

/* The counters of the state of serial, made (named from name) the first time. */
static __always_inline struct lunatik_counters *counters_of(__u64 s, __u64 serial,
							     __u64 name, int copied)
{
	int zero = 0;
	struct lunatik_counters *c;
	struct key_scratch *ks;

	if (!serial)
		return NULL;
	c = counters.lookup(&serial);
	if (c)
		return c;
	ks = keys.lookup(&zero);
	if (!ks)
		return NULL;
	__builtin_memset(&ks->init, 0, sizeof(ks->init));
	ks->init.state = s;
	key_name(ks->init.name, name, copied);
	counters.insert(&serial, &ks->init);	/* or another CPU just did */
	c = counters.lookup(&serial);
	if (!c)
		lost(LUNATIK_DROP_MAP_FULL);
	return c;
}

/* The counters of a name asked for, for events with no state. */
static __always_inline struct lunatik_counters *named_of(__u64 name, int copied)
{
	int zero = 0;
	struct key_scratch *ks = keys.lookup(&zero);
	struct lunatik_counters *c;

	if (!ks)
		return NULL;
	key_name(ks->name.name, name, copied);
	c = named.lookup(&ks->name);
	if (c)
		return c;
	__builtin_memset(&ks->init, 0, sizeof(ks->init));
	__builtin_memcpy(ks->init.name, ks->name.name, LUNATIK_EV_NAME_LEN);
	named.insert(&ks->name, &ks->init);
	c = named.lookup(&ks->name);
	if (!c)
		lost(LUNATIK_DROP_MAP_FULL);
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
		lost(LUNATIK_DROP_MAP_FULL);
}

/*
 * One more event of kind: for the state of serial, or with no state (s 0)
 * for the name asked for. Returns the counters it went to.
 */
static __always_inline struct lunatik_counters *tally(__u32 kind, __u64 s,
						      __u64 serial, __u64 name,
						      int copied)
{
	struct lunatik_counters *c;

	if (!s) {
		c = named_of(name, copied);
		if (c && kind < LUNATIK_EV_MAX)
			__sync_fetch_and_add(&c->n[kind], 1);
		return c;
	}
	c = counters_of(s, serial, name, copied);
	if (c)
		bump(serial, kind);
	return c;
}

/*
 * tally() for the events that need nothing of the state's counters but the
 * count (lookups, refcount, execute's begin): once the state has counts,
 * one map lookup per hit instead of two.
 */
static __always_inline void tally_count(__u32 kind, __u64 s, __u64 serial,
					__u64 name, int copied)
{
	struct lunatik_counts *n = s && serial ? counts.lookup(&serial) : NULL;

	if (n && kind < LUNATIK_EV_MAX)
		n->n[kind]++;
	else
		tally(kind, s, serial, name, copied);
}

static __always_inline void hist(__u64 serial, __u32 which, __u64 value)
{
	__u64 init = 0, *v;
	int zero = 0;
	struct key_scratch *ks = keys.lookup(&zero);

	if (!ks || !serial)
		return;
	ks->hist.serial = serial;
	ks->hist.hist = which;
	ks->hist.slot = value ? bpf_log2l(value) : 0;
	v = hists.lookup_or_try_init(&ks->hist, &init);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		lost(LUNATIK_DROP_MAP_FULL);
}

#if !LUNATIK_STREAM
/*
 * Copies the module's allocation counters of a state (its struct
 * lunatik_stats at stats) into `allocs`. Callers hold the state
 * exclusively (unlock: s->lock; free: no users), except create, which may
 * race an unlock on another CPU: it only inserts (first), so that a later
 * copy is never overwritten by an older one.
 */
static __always_inline void fold(__u64 serial, __u64 stats, int first)
{
	int zero = 0;
	struct lunatik_stats *v;

	if (!serial || !stats)
		return;
	v = allocs.lookup(&serial);
	if (v) {
		if (!first)
			lread(v, sizeof(*v), stats);
		return;
	}
	v = stats_scratch.lookup(&zero);
	if (!v || lread(v, sizeof(*v), stats))
		return;
	if (first ? allocs.insert(&serial, v) && !allocs.lookup(&serial)
		  : allocs.update(&serial, v))
		lost(LUNATIK_DROP_MAP_FULL);
}
#else
static __always_inline void fold(__u64 serial, __u64 stats, int first)
{
}
#endif

/* ---- stream: one emit helper ---- */

/* The fields of a record beyond its header, per kind (bpf/events.h). */
struct fields {
	__u64 ts;	/* the event's time, when the traced code gave it (0: now) */
	__s64 ret;
	__u64 maxalloc;
	__u64 curralloc;
	__u64 osize;
	__u64 nsize;
	__u64 len;
	__u64 latency;
	__s64 count;
	__u32 flags;
	__u64 code;	/* EXEC_BEGIN: where the code is (len bytes) */
};

#if LUNATIK_STREAM
/* Reserves a record, fills it (the name read straight into it) and sends
 * it; a full ring buffer counts a loss. */
static __always_inline void emit(__u32 kind, __u64 s, __u64 name, int copied,
				 const struct fields *f)
{
	struct lunatik_event *e = events.ringbuf_reserve(sizeof(struct lunatik_event));
	__u64 id = bpf_get_current_pid_tgid();
	__u32 n;

	if (!e) {
		lost(LUNATIK_DROP_RINGBUF);
		return;
	}
	e->ts = f->ts ? f->ts : bpf_ktime_get_ns();
	e->state = s;
	e->kind = kind;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	read_name(e->name, name, copied);
	e->ret = f->ret;
	e->maxalloc = f->maxalloc;
	e->curralloc = f->curralloc;
	e->osize = f->osize;
	e->nsize = f->nsize;
	e->len = f->len;
	e->latency = f->latency;
	e->count = f->count;
	e->flags = f->flags;
	e->code_len = 0;
	e->code[0] = '\0';
	n = f->len > LUNATIK_CODE_MAX ? LUNATIK_CODE_MAX : f->len;
	if (f->code && n > 0 && n <= LUNATIK_CODE_MAX && lread(e->code, n, f->code) == 0)
		e->code_len = n;
	events.ringbuf_submit(e, 0);
}
#else
static __always_inline void emit(__u32 kind, __u64 s, __u64 name, int copied,
				 const struct fields *f)
{
}
#endif

/* ---- the events: one body each ---- */

/* create returned: the state (0 on failure) or -errno in ret; stats is the
 * new state's struct lunatik_stats (the allocations that built it). */
static __always_inline void on_create(__u64 s, __u64 serial, __u64 name,
				      __u64 maxalloc, __s64 ret, __u64 began,
				      __u64 stats)
{
	struct fields f = { .ret = ret, .maxalloc = maxalloc };

	if (began)
		f.latency = bpf_ktime_get_ns() - began;
	tally(LUNATIK_EV_CREATE, s, serial, name, 0);
	fold(serial, stats, 1);
	emit(LUNATIK_EV_CREATE, s, name, 0, &f);
}

/* A state left the table (ret 0), or a close failed (s 0, ret -errno). */
static __always_inline void on_remove(__u64 s, __u64 serial, __u64 name, __s64 ret)
{
	struct fields f = { .ret = ret };

	tally(LUNATIK_EV_REMOVE, s, serial, name, 0);
	emit(LUNATIK_EV_REMOVE, s, name, 0, &f);
}

/* A lookup returned s (0: a miss) for the name asked for. */
static __always_inline void on_lookup(__u64 s, __u64 serial, __u64 name,
				      __u32 via, __s64 users)
{
	struct fields f = { .flags = via, .count = users };
	struct lunatik_counters *c;

	if (s) {
		tally_count(LUNATIK_EV_LOOKUP, s, serial, name, 0);
	} else {
		c = tally(LUNATIK_EV_LOOKUP, 0, 0, name, 0);
		if (c)
			__sync_fetch_and_add(&c->lookup_miss, 1);
	}
	emit(LUNATIK_EV_LOOKUP, s, name, 0, &f);
}

/* get or put (kind), with the count after. */
static __always_inline void on_ref(__u32 kind, __u64 s, __u64 serial, __u64 name,
				   int copied, __s64 users)
{
	struct fields f = { .count = users };

	if (!s)
		return;
	tally_count(kind, s, serial, name, copied);
	emit(kind, s, name, copied, &f);
}

static __always_inline void on_exec_begin(__u64 s, __u64 serial, __u64 name,
					  __u64 code, __u64 len)
{
	struct fields f = { .len = len, .code = code };

	tally_count(LUNATIK_EV_EXEC_BEGIN, s, serial, name, 0);
	emit(LUNATIK_EV_EXEC_BEGIN, s, name, 0, &f);
}

/* execute returned status; began is its entry time (0: unseen). */
static __always_inline void on_exec_end(__u64 s, __u64 serial, __u64 name,
					__s64 status, __u64 began, __u64 len)
{
	struct fields f = { .ret = status, .len = len };
	struct lunatik_counters *c;

	if (!s)
		return;
	if (began)
		f.latency = bpf_ktime_get_ns() - began;
	c = tally(LUNATIK_EV_EXEC_END, s, serial, name, 0);
	if (c && status != 0)
		__sync_fetch_and_add(&c->exec_errors, 1);
	hist(serial, LUNATIK_HIST_EXEC_LATENCY, f.latency);
	emit(LUNATIK_EV_EXEC_END, s, name, 0, &f);
}

/* A charge (kind ALLOC, stream mode only) or a denial, with curralloc before. */
static __always_inline void on_alloc(__u32 kind, __u64 s, __u64 serial, __u64 name,
				     __u64 osize, __u64 nsize, __u64 curralloc,
				     __u64 maxalloc)
{
	struct fields f = { .osize = osize, .nsize = nsize, .curralloc = curralloc,
			    .maxalloc = maxalloc };
	struct lunatik_counters *c;

	if (!s)
		return;
	c = tally(kind, s, serial, name, 0);
	if (kind == LUNATIK_EV_ALLOC) {
		if (c && nsize > osize)
			__sync_fetch_and_add(&c->alloc_bytes, nsize - osize);
		else if (c)
			__sync_fetch_and_add(&c->free_bytes, osize - nsize);
		if (nsize)
			hist(serial, LUNATIK_HIST_ALLOC_SIZE, nsize);
	}
	emit(kind, s, name, 0, &f);
}

/* The last moment of a state: curralloc must be 0. */
static __always_inline void on_free(__u64 s, __u64 serial, __u64 name,
				    __u64 curralloc, __u64 maxalloc, __u64 stats)
{
	struct fields f = { .curralloc = curralloc, .maxalloc = maxalloc };
	struct lunatik_counters *c;

	if (!s)
		return;
	c = tally(LUNATIK_EV_FREE, s, serial, name, 0);
	if (c)
		c->freed = 1;
	fold(serial, stats, 0);		/* lua_close's frees: the final figures */
	emit(LUNATIK_EV_FREE, s, name, 0, &f);
}

/* s->lock acquired at ts after wait ns: its holder's time starts then. */
static __always_inline void on_lock(__u64 s, __u64 serial, __u64 name, __u64 wait,
				    __u32 contended, __u64 ts)
{
	struct fields f = { .ts = ts, .latency = wait, .flags = contended };
	struct lunatik_counters *c;

	if (!s)
		return;
	c = tally(LUNATIK_EV_LOCK, s, serial, name, 0);
	if (c) {
		c->held_since = ts;
		if (contended)
			__sync_fetch_and_add(&c->contended, 1);
	}
	hist(serial, LUNATIK_HIST_LOCK_WAIT, wait);
	emit(LUNATIK_EV_LOCK, s, name, 0, &f);
}

/* s->lock about to be released (still held: the summary copies here). */
static __always_inline void on_unlock(__u64 s, __u64 serial, __u64 name, __u64 stats)
{
	struct fields f = {};
	struct lunatik_counters *c;

	if (!s)
		return;
	c = tally(LUNATIK_EV_UNLOCK, s, serial, name, 0);
	if (c) {
		if (c->held_since)
			f.latency = bpf_ktime_get_ns() - c->held_since;
		c->held_since = 0;
	}
	if (f.latency)
		hist(serial, LUNATIK_HIST_LOCK_HOLD, f.latency);
	fold(serial, stats, 0);
	emit(LUNATIK_EV_UNLOCK, s, name, 0, &f);
}

static __always_inline void on_contention(__u64 s, __u64 serial, __u64 wait)
{
	struct fields f = { .latency = wait };

	tally(LUNATIK_EV_CONTENTION, s, serial, name_at(s), 0);
	hist(serial, LUNATIK_HIST_CONTENTION, wait);
	emit(LUNATIK_EV_CONTENTION, s, name_at(s), 0, &f);
}

/* ---- kprobes (the module) and uprobes (the library) ---- */

int lunatik_create_entry(struct pt_regs *ctx)
{
	stash_put(FN_CREATE, bpf_ktime_get_ns(), 0, 0, PT_REGS_PARM1(ctx),
		  PT_REGS_PARM2(ctx), 0);
	return 0;
}

int lunatik_create_return(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_RC(ctx);
	struct stash *st = stash_take(FN_CREATE);
	__s64 ret = 0;

	if (!st)
		return 0;
	if (!s || s >= (__u64)-LUNATIK_MAX_ERRNO) {
		ret = s ? (__s64)s : -LUNATIK_ENOMEM;
		s = 0;
	}
	on_create(s, serial_at(s), st->name, st->arg, ret, st->ts,
		  s ? s + LUNATIK_OFF_STATS : 0);
	return 0;
}

int lunatik_remove_entry(struct pt_regs *ctx)
{
	stash_put(FN_REMOVE, 0, 0, 0, 0, PT_REGS_PARM1(ctx), 0);
	return 0;
}

/* A close that succeeded was seen at lunatik_unlinked. */
int lunatik_remove_return(struct pt_regs *ctx)
{
	__s64 ret = (int)PT_REGS_RC(ctx);
	struct stash *st = stash_take(FN_REMOVE);

	if (st && ret)
		on_remove(0, 0, st->name, ret);
	return 0;
}

int lunatik_unlinked_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);

	on_remove(s, serial_at(s), name_at(s), 0);
	return 0;
}

static __always_inline void lookup_entry(struct pt_regs *ctx, __u32 fn)
{
	stash_put(fn, 0, 0, 0, 0, PT_REGS_PARM1(ctx), 0);
}

static __always_inline void lookup_return(struct pt_regs *ctx, __u32 fn, __u32 via)
{
	__u64 s = PT_REGS_RC(ctx);
	struct stash *st = stash_take(fn);
	__s32 users = 0;

	if (!st)
		return;
	if (s && via == LUNATIK_LOOKUP_STATEGET)
		lread(&users, sizeof(users), s + LUNATIK_OFF_USERS);
	on_lookup(s, serial_at(s), st->name, via, users);
}

int lunatik_statelookup_entry(struct pt_regs *ctx)
{
	lookup_entry(ctx, FN_STATELOOKUP);
	return 0;
}

int lunatik_statelookup_return(struct pt_regs *ctx)
{
	lookup_return(ctx, FN_STATELOOKUP, LUNATIK_LOOKUP_STATELOOKUP);
	return 0;
}

int lunatik_stateget_entry(struct pt_regs *ctx)
{
	lookup_entry(ctx, FN_STATEGET);
	return 0;
}

int lunatik_stateget_return(struct pt_regs *ctx)
{
	lookup_return(ctx, FN_STATEGET, LUNATIK_LOOKUP_STATEGET);
	return 0;
}

/*
 * The refcount: the stream records the count after the change (the return
 * value), so the entry keeps the state and a copy of its name (a put may
 * free it); the summary counts at entry and attaches no return.
 */
static __always_inline void ref_entry(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	__u64 s = PT_REGS_PARM1(ctx);

	if (LUNATIK_STREAM)
		stash_put(fn, 0, s, serial_at(s), 0, name_at(s), 1);
	else
		on_ref(kind, s, serial_at(s), name_at(s), 0, 0);
}

static __always_inline void ref_return(struct pt_regs *ctx, __u32 fn, __u32 kind)
{
	struct stash *st = stash_take(fn);

	if (st)
		on_ref(kind, st->state, st->serial, (__u64)st->copy, 1,
		       (int)PT_REGS_RC(ctx));
}

int lunatik_getstate_entry(struct pt_regs *ctx)
{
	ref_entry(ctx, FN_GETSTATE, LUNATIK_EV_GET);
	return 0;
}

int lunatik_getstate_return(struct pt_regs *ctx)
{
	ref_return(ctx, FN_GETSTATE, LUNATIK_EV_GET);
	return 0;
}

int lunatik_putstate_entry(struct pt_regs *ctx)
{
	ref_entry(ctx, FN_PUTSTATE, LUNATIK_EV_PUT);
	return 0;
}

int lunatik_putstate_return(struct pt_regs *ctx)
{
	ref_return(ctx, FN_PUTSTATE, LUNATIK_EV_PUT);
	return 0;
}

int lunatik_execute_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx), serial = serial_at(s);

	stash_put(FN_EXECUTE, bpf_ktime_get_ns(), s, serial, PT_REGS_PARM3(ctx), 0, 0);
	on_exec_begin(s, serial, name_at(s), PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx));
	return 0;
}

int lunatik_execute_return(struct pt_regs *ctx)
{
	struct stash *st = stash_take(FN_EXECUTE);

	if (st)
		on_exec_end(st->state, st->serial, name_at(st->state),
			    (int)PT_REGS_RC(ctx), st->ts, st->arg);
	return 0;
}

/* The allocator: curralloc and maxalloc as the state has them at entry. */
static __always_inline void alloc_entry(struct pt_regs *ctx, __u32 kind)
{
	__u64 s = PT_REGS_PARM1(ctx), lim[2] = {};	/* maxalloc, curralloc */

	if (s)
		lread(lim, sizeof(lim), s + LUNATIK_OFF_MAXALLOC);
	on_alloc(kind, s, serial_at(s), name_at(s), PT_REGS_PARM2(ctx),
		 PT_REGS_PARM3(ctx), lim[1], lim[0]);
}

int lunatik_charge_entry(struct pt_regs *ctx)
{
	alloc_entry(ctx, LUNATIK_EV_ALLOC);
	return 0;
}

int lunatik_deny_entry(struct pt_regs *ctx)
{
	alloc_entry(ctx, LUNATIK_EV_DENY);
	return 0;
}

int lunatik_free_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx), lim[2] = {};	/* maxalloc, curralloc */

	if (s)
		lread(lim, sizeof(lim), s + LUNATIK_OFF_MAXALLOC);
	on_free(s, serial_at(s), name_at(s), lim[1], lim[0],
		s ? s + LUNATIK_OFF_STATS : 0);
	return 0;
}

/*
 * The wait starts before the look at the holder (held_since): a lock found
 * held then overlaps that hold in the events' timestamps too.
 */
int lunatik_lock_entry(struct pt_regs *ctx)
{
	__u64 ts = bpf_ktime_get_ns(), s = PT_REGS_PARM1(ctx), serial = serial_at(s);
	struct lunatik_counters *c = serial ? counters.lookup(&serial) : NULL;
	/* held by another thread right now (between its lock and unlock)? */
	__u64 contended = c && c->held_since ? LUNATIK_LOCK_CONTENDED : 0;

	stash_put(FN_LOCK, ts, s, serial, contended, 0, 0);
	return 0;
}

int lunatik_lock_return(struct pt_regs *ctx)
{
	struct stash *st = stash_take(FN_LOCK);
	__u64 now = bpf_ktime_get_ns();

	if (st && st->state)
		on_lock(st->state, st->serial, name_at(st->state), now - st->ts,
			st->arg, now);
	return 0;
}

int lunatik_unlock_entry(struct pt_regs *ctx)
{
	__u64 s = PT_REGS_PARM1(ctx);

	on_unlock(s, serial_at(s), name_at(s), s ? s + LUNATIK_OFF_STATS : 0);
	return 0;
}

#if !LUNATIK_USER
/* ---- raw tracepoints: the module's own (kernel/lunatik_trace.h) ----
 * Arguments in TP_PROTO order, each widened to u64 without sign extension:
 * ints are cast back. The first three are the state, its serial, its name.
 */
#define TP_ARG(i)	(ctx->args[i])

int lunatik_create_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_create(TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3), (int)TP_ARG(4), 0,
		  TP_ARG(5));
	return 0;
}

int lunatik_remove_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_remove(TP_ARG(0), TP_ARG(1), TP_ARG(2), (int)TP_ARG(3));
	return 0;
}

int lunatik_lookup_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_lookup(TP_ARG(0), TP_ARG(1), TP_ARG(2), (__u32)TP_ARG(3), (int)TP_ARG(4));
	return 0;
}

int lunatik_get_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_ref(LUNATIK_EV_GET, TP_ARG(0), TP_ARG(1), TP_ARG(2), 0, (int)TP_ARG(3));
	return 0;
}

int lunatik_put_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_ref(LUNATIK_EV_PUT, TP_ARG(0), TP_ARG(1), TP_ARG(2), 0, (int)TP_ARG(3));
	return 0;
}

int lunatik_exec_begin_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	stash_put(FN_EXECUTE, bpf_ktime_get_ns(), TP_ARG(0), TP_ARG(1), TP_ARG(4), 0, 0);
	on_exec_begin(TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3), TP_ARG(4));
	return 0;
}

int lunatik_exec_end_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	struct stash *st = stash_take(FN_EXECUTE);

	if (st)
		on_exec_end(TP_ARG(0), TP_ARG(1), TP_ARG(2), (int)TP_ARG(3),
			    st->state == TP_ARG(0) ? st->ts : 0, st->arg);
	return 0;
}

int lunatik_charge_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_alloc(LUNATIK_EV_ALLOC, TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3),
		 TP_ARG(4), TP_ARG(5), TP_ARG(6));
	return 0;
}

int lunatik_deny_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_alloc(LUNATIK_EV_DENY, TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3),
		 TP_ARG(4), TP_ARG(5), TP_ARG(6));
	return 0;
}

int lunatik_lock_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_lock(TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3),
		(__u8)TP_ARG(4) ? LUNATIK_LOCK_CONTENDED : 0, TP_ARG(5));
	return 0;
}

int lunatik_unlock_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_unlock(TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3));
	return 0;
}

int lunatik_free_rawtp(struct bpf_raw_tracepoint_args *ctx)
{
	on_free(TP_ARG(0), TP_ARG(1), TP_ARG(2), TP_ARG(3), TP_ARG(4), TP_ARG(5));
	return 0;
}

/* ---- lock:contention_begin / _end, on the locks of live states only ---- */

/*
 * The serial of the live state whose s->lock is at lock, or 0. Any
 * contended lock of the kernel comes here: the serial a state would have
 * behind it must name counters of that very address, not freed yet (a freed
 * state's memory may still hold its serial).
 */
static __always_inline __u64 serial_of_lock(__u64 lock)
{
	__u64 s = lock - LUNATIK_OFF_LOCK, serial = 0;
	struct lunatik_counters *c;

	if (bpf_probe_read_kernel(&serial, sizeof(serial), (void *)(s + LUNATIK_OFF_STATS)) ||
	    !serial)
		return 0;
	c = counters.lookup(&serial);
	if (!c || c->state != s || c->freed)
		return 0;
	return serial;
}

int lunatik_contention_begin(struct lunatik_tp_contention *args)
{
	__u32 tid = cur_tid();
	struct contention_stash c = {};

	if (!serial_of_lock(args->lock_addr))
		return 0;
	c.ts = bpf_ktime_get_ns();
	c.lock = args->lock_addr;
	contending.update(&tid, &c);
	return 0;
}

int lunatik_contention_end(struct lunatik_tp_contention *args)
{
	__u32 tid = cur_tid();
	struct contention_stash *c = contending.lookup(&tid);
	__u64 lock, wait, serial;

	if (!c)
		return 0;
	lock = c->lock;
	wait = bpf_ktime_get_ns() - c->ts;
	contending.delete(&tid);
	serial = serial_of_lock(lock);
	if (serial)
		on_contention(lock - LUNATIK_OFF_LOCK, serial, wait);
	return 0;
}
#endif
