/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's tracepoints: one at each point of the probe contract
 * (probes.h), for perf, ftrace, bpftrace and the raw-tracepoint programs
 * of bpf/lunatik.bpf.c.
 *
 * Every argument a tracer needs is passed to the tracepoint: the raw
 * tracepoint programs read the arguments (TP_PROTO order, one u64 each)
 * and need no struct offsets. The first three are always the state's
 * address (0 when there is none), its serial (struct lunatik_stats, never
 * reused: it tells the incarnations of one address apart) and its name,
 * or the name asked for. The recorded fields are scalars plus the name, so
 * that the format files describe them all.
 *
 * The events at create, unlock and free also pass the state's struct
 * lunatik_stats, which the summary tracer copies (probes.h); it is not a
 * recorded field.
 *
 * With nothing attached, each costs one static-key branch. In a build
 * without tracepoints (the user-space library, or LUNATIK_NO_TRACEPOINTS)
 * lunatik_notrace.h turns every trace_lunatik_*() into an empty inline
 * function.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM lunatik

#if defined(LUNATIK_USER) || defined(LUNATIK_NO_TRACEPOINTS)
#define LUNATIK_TRACEPOINTS	0
#else
#define LUNATIK_TRACEPOINTS	1
#endif

#if !defined(_LUNATIK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _LUNATIK_TRACE_H

#if LUNATIK_TRACEPOINTS
#include <linux/tracepoint.h>
#else
#include "lunatik_notrace.h"
#endif

#include "lunatik.h"
#include "probes.h"

/* The name field: a create or remove may be asked with no name at all. */
#define LUNATIK_TP_NAME(name)	((name) ? (name) : "")

/* The fields every event starts with: the state, its serial, its name. */
#define LUNATIK_TP_STATE_FIELDS						\
	__field(const void *, state)					\
	__field(u64, serial)						\
	__string(name, LUNATIK_TP_NAME(name))
#define LUNATIK_TP_STATE_ASSIGN						\
	__entry->state = s;						\
	__entry->serial = serial;					\
	__assign_str(name, LUNATIK_TP_NAME(name));
#define LUNATIK_TP_STATE_FMT	"state=%p serial=%llu name=%s"
#define LUNATIK_TP_STATE_ARGS	__entry->state, __entry->serial, __get_str(name)

/* create: every return of lunatik_create; state 0 and serial 0 on failure. */
TRACE_EVENT(lunatik_create,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 size_t maxalloc, int ret, const struct lunatik_stats *stats),
	TP_ARGS(s, serial, name, maxalloc, ret, stats),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(size_t, maxalloc)
		__field(int, ret)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->maxalloc = maxalloc;
		__entry->ret = ret;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " maxalloc=%zu ret=%d",
		  LUNATIK_TP_STATE_ARGS, __entry->maxalloc, __entry->ret)
);

/*
 * remove: a state leaves the table (close and close_all alike; ret 0),
 * before its table reference is put and so before lua_close; or a close
 * that failed (state 0, ret -errno).
 */
TRACE_EVENT(lunatik_remove,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name, int ret),
	TP_ARGS(s, serial, name, ret),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(int, ret)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->ret = ret;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " ret=%d", LUNATIK_TP_STATE_ARGS,
		  __entry->ret)
);

/*
 * lookup: every return of lunatik_statelookup (via 0) and lunatik_stateget
 * (via 1); state 0 on a miss; users after the get of a stateget hit, else 0.
 */
TRACE_EVENT(lunatik_lookup,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 unsigned int via, int users),
	TP_ARGS(s, serial, name, via, users),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(unsigned int, via)
		__field(int, users)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->via = via;
		__entry->users = users;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " via=%s users=%d",
		  LUNATIK_TP_STATE_ARGS,
		  __entry->via ? "stateget" : "statelookup", __entry->users)
);

/* get and put: the count after the change (get: 0, the state was dying;
 * put: 0, it was freed inside this put, whose free event came first). */
DECLARE_EVENT_CLASS(lunatik_ref,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name, int users),
	TP_ARGS(s, serial, name, users),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(int, users)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->users = users;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " users=%d", LUNATIK_TP_STATE_ARGS,
		  __entry->users)
);

DEFINE_EVENT(lunatik_ref, lunatik_get,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name, int users),
	TP_ARGS(s, serial, name, users));

DEFINE_EVENT(lunatik_ref, lunatik_put,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name, int users),
	TP_ARGS(s, serial, name, users));

/* execute begins (before s->lock is taken): len bytes of code. */
TRACE_EVENT(lunatik_exec_begin,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 const char *code, size_t len),
	TP_ARGS(s, serial, name, code, len),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(size_t, len)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->len = len;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " len=%zu", LUNATIK_TP_STATE_ARGS, __entry->len)
);

/* execute ends (s->lock released): the Lua status or -errno. */
TRACE_EVENT(lunatik_exec_end,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name, int status),
	TP_ARGS(s, serial, name, status),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(int, status)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->status = status;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " status=%d", LUNATIK_TP_STATE_ARGS,
		  __entry->status)
);

/* The allocator: a charge (every change of curralloc) or a denial, with
 * curralloc before it. */
DECLARE_EVENT_CLASS(lunatik_alloc,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 size_t osize, size_t nsize, size_t curralloc, size_t maxalloc),
	TP_ARGS(s, serial, name, osize, nsize, curralloc, maxalloc),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(size_t, osize)
		__field(size_t, nsize)
		__field(size_t, curralloc)
		__field(size_t, maxalloc)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->osize = osize;
		__entry->nsize = nsize;
		__entry->curralloc = curralloc;
		__entry->maxalloc = maxalloc;
	),
	TP_printk(LUNATIK_TP_STATE_FMT
		  " osize=%zu nsize=%zu curralloc=%zu maxalloc=%zu",
		  LUNATIK_TP_STATE_ARGS,
		  __entry->osize, __entry->nsize, __entry->curralloc,
		  __entry->maxalloc)
);

DEFINE_EVENT(lunatik_alloc, lunatik_charge,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 size_t osize, size_t nsize, size_t curralloc, size_t maxalloc),
	TP_ARGS(s, serial, name, osize, nsize, curralloc, maxalloc));

DEFINE_EVENT(lunatik_alloc, lunatik_deny,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 size_t osize, size_t nsize, size_t curralloc, size_t maxalloc),
	TP_ARGS(s, serial, name, osize, nsize, curralloc, maxalloc));

/*
 * s->lock acquired: how long it took, whether it was held then, and when
 * it was taken (ktime, ns: the time a tracer gives the acquisition, not
 * that of its own later run; not a recorded field, ftrace stamps its own).
 */
TRACE_EVENT(lunatik_lock,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 u64 wait_ns, bool contended, u64 acquired_ns),
	TP_ARGS(s, serial, name, wait_ns, contended, acquired_ns),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(u64, wait_ns)
		__field(bool, contended)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->wait_ns = wait_ns;
		__entry->contended = contended;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " wait_ns=%llu contended=%d",
		  LUNATIK_TP_STATE_ARGS, __entry->wait_ns, __entry->contended)
);

/* s->lock about to be released (still held). */
TRACE_EVENT(lunatik_unlock,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 const struct lunatik_stats *stats),
	TP_ARGS(s, serial, name, stats),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
	),
	TP_printk(LUNATIK_TP_STATE_FMT, LUNATIK_TP_STATE_ARGS)
);

/* free: the last user is gone and lua_close returned every block
 * (curralloc must be 0); the state's memory is released right after. */
TRACE_EVENT(lunatik_free,
	TP_PROTO(const lunatik_State *s, u64 serial, const char *name,
		 size_t curralloc, size_t maxalloc,
		 const struct lunatik_stats *stats),
	TP_ARGS(s, serial, name, curralloc, maxalloc, stats),
	TP_STRUCT__entry(
		LUNATIK_TP_STATE_FIELDS
		__field(size_t, curralloc)
		__field(size_t, maxalloc)
	),
	TP_fast_assign(
		LUNATIK_TP_STATE_ASSIGN
		__entry->curralloc = curralloc;
		__entry->maxalloc = maxalloc;
	),
	TP_printk(LUNATIK_TP_STATE_FMT " curralloc=%zu maxalloc=%zu",
		  LUNATIK_TP_STATE_ARGS, __entry->curralloc, __entry->maxalloc)
);

#endif /* _LUNATIK_TRACE_H */

#if LUNATIK_TRACEPOINTS
/* Out of tree: define_trace.h finds this header through these. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE lunatik_trace
#include <trace/define_trace.h>
#endif
