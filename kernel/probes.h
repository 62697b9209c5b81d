/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe contract: every function the tracer (bpf/) attaches to, with its
 * arguments and return value, and the layout of lunatik_State that the BPF
 * programs read. The kernel module and the user-space library export these
 * as real, never-inlined, never-cloned symbols, so one BPF text serves both
 * through kprobes or uprobes. The module also fires a tracepoint at each of
 * these points (lunatik_trace.h), with every value passed as an argument.
 *
 * This header is included by the BPF text too (BCC defines
 * __BPF_TRACING__), so the layout part is plain C with no includes there.
 */
#ifndef LUNATIK_PROBES_H
#define LUNATIK_PROBES_H

#ifndef __BPF_TRACING__
#include <linux/types.h>
#endif

/*
 * lunatik_State as the tracer reads it: LUNATIK_OFF_<field> and
 * LUNATIK_STATE_SIZE. They are generated for each build (offsets.c), since
 * lock debugging changes the size of spinlock_t, and states.c asserts them.
 * The BPF text gets them as -D flags, from the module it traces
 * (/sys/module/lunatik/parameters/layout) or the library's build.
 */
#if !defined(__BPF_TRACING__) && !defined(LUNATIK_OFFSETS_H)
#include <lunatik_offsets.h>
#endif

#define LUNATIK_PROBE_NAME_MAX	64	/* == LUNATIK_NAME_MAXSIZE */

/*
 * Right behind every lunatik_State (states.c allocates them together) the
 * module keeps what a tracer needs to summarise a state without a probe on
 * every allocation: the summary tracer folds these counters into its maps
 * at the boundaries (create, unlock, free) instead. They change only where
 * curralloc does, so under the same exclusion (s->lock, or no users yet or
 * any more). The tracer finds them at LUNATIK_OFF_STATS from the state.
 */
#define LUNATIK_STATS_SLOTS	65	/* fls64() of a size: 0 .. 64 */

struct lunatik_stats {
	__u64 serial;		/* module-wide, never reused: tells the
				 * incarnations of one address apart */
	__u64 charges;		/* calls of lunatik_charge */
	__u64 grown;		/* bytes: sum of nsize - osize when it grows */
	__u64 shrunk;		/* bytes: sum of osize - nsize when it shrinks */
	__u64 sizes[LUNATIK_STATS_SLOTS];	/* charges with nsize > 0, by
						 * fls64(nsize): slot k holds
						 * [2^(k-1), 2^k) */
};

/* Symbol names, for the loader (and for available_filter_functions). */
#define LUNATIK_PROBE_SYMBOLS \
	"lunatik_create", "lunatik_remove", "lunatik_unlinked", "lunatik_statelookup", \
	"lunatik_stateget", "lunatik_getstate", "lunatik_putstate", \
	"lunatik_execute", "lunatik_charge", "lunatik_deny", \
	"lunatik_lock", "lunatik_unlock", "lunatik_free"

#ifndef __BPF_TRACING__
#include "lunatik.h"

/*
 * Never inlined, never cloned or specialised by IPA: a stable symbol.
 * Test-only fault builds pre-define it (adding weak) to swap one function.
 */
#ifndef LUNATIK_PROBE
#define LUNATIK_PROBE	__attribute__((__noipa__))
#endif

/*
 * create: builds a state and publishes it under its name.
 * Returns the state, or ERR_PTR(-EINVAL, -ENAMETOOLONG, -EEXIST, -EDQUOT,
 * -ENOSPC, -ENOMEM). Allocations of the new state (lunatik_charge) happen
 * before it returns, on the same thread.
 */
LUNATIK_PROBE lunatik_State *lunatik_create(size_t maxalloc, const char *name);

/* close: unpublishes the named state (through lunatik_unlinked) and puts
 * the table's reference. Returns 0, -EINVAL, -ENAMETOOLONG or -ENOENT. */
LUNATIK_PROBE int lunatik_remove(const char *name);

/* unlinked: s has just left the table (a close, or close_all for each
 * state), before the table's reference is put and so before lua_close. */
LUNATIK_PROBE void lunatik_unlinked(lunatik_State *s);

/* lookup: the state of that name or NULL; no reference is taken. */
LUNATIK_PROBE lunatik_State *lunatik_statelookup(const char *name);

/* lookup and get, atomically: the state with one more user, or NULL. */
LUNATIK_PROBE lunatik_State *lunatik_stateget(const char *name);

/* refcount: return the count after the change. getstate returns 0 when the
 * state was already dying (no reference taken); putstate returns 0 when it
 * put the last reference (the state is freed through lunatik_free). */
LUNATIK_PROBE int lunatik_getstate(lunatik_State *s);
LUNATIK_PROBE int lunatik_putstate(lunatik_State *s);

/* execute: runs a text chunk under s->lock. Entry: state, code, length.
 * Returns the Lua status (LUA_OK ... LUA_ERRERR) or a negative errno. */
LUNATIK_PROBE int lunatik_execute(lunatik_State *s, const char *code,
				  size_t len, char *out, size_t *outlen);

/* allocator: every change of s->curralloc goes through charge, which
 * returns the new curralloc (osize is already 0 for a new block) and counts
 * the change in the state's struct lunatik_stats; a request
 * that would cross maxalloc goes through deny, which returns NULL. */
LUNATIK_PROBE size_t lunatik_charge(lunatik_State *s, size_t osize,
				    size_t nsize);
LUNATIK_PROBE void *lunatik_deny(lunatik_State *s, size_t osize, size_t nsize);

/* lock: wait = entry to return of lunatik_lock; hold = its return to the
 * entry of lunatik_unlock. */
LUNATIK_PROBE void lunatik_lock(lunatik_State *s);
LUNATIK_PROBE void lunatik_unlock(lunatik_State *s);

/* free: the last user is gone and lua_close has returned every block;
 * entry is the last moment s is valid (s->curralloc must be 0 here). */
LUNATIK_PROBE void lunatik_free(lunatik_State *s);

#endif /* __BPF_TRACING__ */
#endif /* LUNATIK_PROBES_H */
