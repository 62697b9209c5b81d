/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one definition of every event and map key the tracer emits.
 *
 * Included by the BPF text (bpf/lunatik.bpf.c). Python never restates these
 * layouts: BCC builds ctypes classes from them (`bpf["events"].event(data)`
 * for ring-buffer records, `bpf[map].Key` / `.Leaf` for maps), and
 * lunatik_bpf/tracing/events.py only gives the fields meaning per kind.
 *
 * BCC's ring-buffer decoder understands flat structs of scalars and scalar
 * arrays only, so struct lunatik_event is one flat record: every kind uses
 * the common header plus the fields listed next to it.
 */
#ifndef LUNATIK_BPF_EVENTS_H
#define LUNATIK_BPF_EVENTS_H

#define LUNATIK_COMM_LEN	16
#define LUNATIK_EV_NAME_LEN	64	/* == LUNATIK_PROBE_NAME_MAX */
#define LUNATIK_CODE_MAX	128	/* bytes of code kept by EXEC_BEGIN */

/* Event kinds (struct lunatik_event.kind). */
enum lunatik_event_kind {
	LUNATIK_EV_CREATE = 1,	/* state (0 on failure), name, maxalloc, ret (0 or -errno) */
	LUNATIK_EV_REMOVE,	/* name, ret (0 or -errno); state 0 (remove takes a name) */
	LUNATIK_EV_LOOKUP,	/* name, state (0: miss), flags (LUNATIK_LOOKUP_*), count (users after, stateget hit) */
	LUNATIK_EV_GET,		/* state, count (users after; 0: the state was dying) */
	LUNATIK_EV_PUT,		/* state, count (users after; 0: freed inside this put) */
	LUNATIK_EV_EXEC_BEGIN,	/* state, len (code length), code (its first LUNATIK_CODE_MAX bytes) */
	LUNATIK_EV_EXEC_END,	/* state, ret (Lua status or -errno), latency (ns since begin) */
	LUNATIK_EV_ALLOC,	/* state, osize, nsize, curralloc (the state's own, before), maxalloc */
	LUNATIK_EV_DENY,	/* state, osize, nsize, curralloc (before), maxalloc */
	LUNATIK_EV_FREE,	/* state, curralloc (at free), maxalloc */
	LUNATIK_EV_LOCK,	/* state, latency (wait: lunatik_lock entry to return),
				 * flags (LUNATIK_LOCK_CONTENDED: held by another thread at entry) */
	LUNATIK_EV_UNLOCK,	/* state, latency (hold: lunatik_lock return to lunatik_unlock entry; 0 if unseen) */
	LUNATIK_EV_CONTENTION,	/* state, latency (lock:contention_begin to _end on s->lock; kernel only) */
	LUNATIK_EV_MAX,
};

/*
 * Why an event or a count was lost (index of the per-CPU `drops` array).
 * Each cause has its own message: only RINGBUF loses stream records; the
 * others lose summary counts or the pairing of an entry with its return.
 */
enum lunatik_drop_cause {
	LUNATIK_DROP_RINGBUF = 0,	/* the ring buffer was full: a record not sent */
	LUNATIK_DROP_MAP_FULL,		/* a summary map was full: a state's counts not kept */
	LUNATIK_DROP_STASH,		/* an entry's stash was lost or overwritten: its
					 * return could not be paired with it */
	LUNATIK_DROP_MAX,
};

#define LUNATIK_LOOKUP_STATELOOKUP	0
#define LUNATIK_LOOKUP_STATEGET		1

#define LUNATIK_LOCK_CONTENDED		1

struct lunatik_event {
	/* common header: every kind */
	u64 ts;			/* bpf_ktime_get_ns() */
	u64 state;			/* lunatik_State address */
	u32 kind;			/* enum lunatik_event_kind */
	u32 pid;			/* tgid */
	u32 tid;
	u32 cpu;
	char comm[LUNATIK_COMM_LEN];
	char name[LUNATIK_EV_NAME_LEN];	/* the state's name (or the name asked for) */
	/* per kind, see enum lunatik_event_kind */
	s64 ret;
	u64 maxalloc;
	u64 curralloc;
	u64 osize;
	u64 nsize;
	u64 len;
	u64 latency;
	s64 count;
	u32 flags;
	u32 code_len;			/* bytes of code valid in code[] */
	char code[LUNATIK_CODE_MAX];
};

/* ---- per-state counters and log2 histograms (both modes) ----
 *
 * A state's counters and histogram slots are keyed by its serial (struct
 * lunatik_stats in kernel/probes.h), which an address reused after a free
 * does not share; the counters say which address and name it was. Events
 * that have no state (a remove, a lookup miss, a failed create) are counted
 * by the name asked for, in `named` (state 0).
 */

struct lunatik_name_key {
	char name[LUNATIK_EV_NAME_LEN];
};

/* One counter per event kind, indexed by enum lunatik_event_kind. */
struct lunatik_counts {
	u64 n[LUNATIK_EV_MAX];
};

/*
 * What a state (`counters`, by serial) or a name (`named`) is, and the
 * counters that change rarely. A state's event counts are per CPU, in
 * `counts` (by serial): every operation bumps several (lookup, get, put,
 * lock, unlock), and threads on two CPUs would bounce one cache line with
 * atomic adds on it at each; the summary adds the CPUs up. n is `named`'s
 * counts only.
 */
struct lunatik_counters {
	u64 state;			/* 0 in `named` */
	char name[LUNATIK_EV_NAME_LEN];
	u64 n[LUNATIK_EV_MAX];
	u64 lookup_miss;	/* LOOKUP events with no state */
	u64 exec_errors;	/* EXEC_END with a status other than LUA_OK */
	u64 alloc_bytes;	/* sum of nsize - osize over growing ALLOC */
	u64 free_bytes;	/* sum of osize - nsize over shrinking ALLOC */
	u64 contended;	/* LOCK events with LUNATIK_LOCK_CONTENDED */
	u64 held_since;	/* BPF-internal: lunatik_lock's return while held, else 0 */
	u64 freed;	/* BPF-internal: lunatik_free has run (the contention
			 * tracepoints no longer match its lock) */
};

enum lunatik_hist_kind {
	LUNATIK_HIST_ALLOC_SIZE = 0,	/* nsize of each ALLOC with nsize > 0, bytes */
	LUNATIK_HIST_EXEC_LATENCY,	/* ns */
	LUNATIK_HIST_LOCK_WAIT,		/* ns, every acquisition */
	LUNATIK_HIST_LOCK_HOLD,		/* ns */
	LUNATIK_HIST_CONTENTION,	/* ns, kernel only */
	LUNATIK_HIST_MAX,
};

struct lunatik_hist_key {
	u64 serial;
	u32 hist;	/* enum lunatik_hist_kind */
	u32 slot;	/* bpf_log2l(value): slot s > 0 holds [2^(s-1), 2^s), slot 0 holds 0 */
};

#endif /* LUNATIK_BPF_EVENTS_H */
