/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Lunatik state manager: named Lua states, each with its own lock,
 * a refcount of its users and a memory limit enforced by its allocator.
 *
 * Both API generations are here: the Lunatik names (lunatik_newstate,
 * lunatik_close, lunatik_statelookup) and the older KLua names, which are
 * thin wrappers over the same code (klua.c).
 *
 * The same header serves the kernel module and the user-space library; in
 * user space the <linux/...> headers come from kernel/user/include.
 */
#ifndef LUNATIK_H
#define LUNATIK_H

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/refcount.h>
#include <linux/list.h>

#include "lua.h"

#define LUNATIK_NAME_MAXSIZE	64	/* including the terminating NUL */
#define KLUA_NAME_MAXSIZE	LUNATIK_NAME_MAXSIZE

typedef struct lunatik_state {
	struct hlist_node node;
	lua_State *L;
	spinlock_t lock;
	refcount_t users;
	size_t maxalloc;
	size_t curralloc;
	unsigned char name[LUNATIK_NAME_MAXSIZE];
} lunatik_State;

/* The KLua generation names the same structure. */
#define klua_state lunatik_state

/* Limits; the module overrides them with its parameters. */
struct lunatik_limits {
	size_t max_maxalloc;		/* largest maxalloc a state may ask for */
	unsigned int max_states;	/* how many states may live at once */
	unsigned int budget;		/* Lua instructions per execute */
	size_t max_code;		/* largest chunk accepted by execute */
};
extern struct lunatik_limits lunatik_limits;

/*
 * ---- Lunatik generation ----
 * The current names: create a state with its own memory limit, close it by
 * name, look it up by name. The KLua generation below is the older API over
 * the same table (klua.c), kept for its callers.
 */
lunatik_State *lunatik_newstate(size_t maxalloc, const char *name);
int lunatik_close(const char *name);
lunatik_State *lunatik_statelookup(const char *name);

/* ---- KLua generation ---- */
int klua_states_init(void);
void klua_states_exit(void);
struct klua_state *klua_state_create(size_t maxalloc, const char *name);
int klua_state_destroy(const char *name);
struct klua_state *klua_state_lookup(const char *name);
void klua_state_list(void);
void klua_state_destroy_all(void);
void klua_execute(const char *name, const char *code);

/*
 * ---- The control plane ----
 * What the netlink family and the user-space library's callers use: every
 * entry takes a name, returns 0 or a negative errno, and never hands out a
 * pointer, so callers cannot hold a state past its close.
 *
 *   -EINVAL        empty or unprintable name, maxalloc 0 or above the limit
 *   -ENAMETOOLONG  name of LUNATIK_NAME_MAXSIZE bytes or more
 *   -EEXIST        a live state has that name
 *   -ENOENT        no live state has that name
 *   -EDQUOT        maxalloc too small to build the state
 *   -ENOSPC        max_states reached
 *   -E2BIG         chunk larger than max_code
 *   -ENOMEM        the system itself is out of memory
 */
struct lunatik_info {
	char name[LUNATIK_NAME_MAXSIZE];
	__u64 maxalloc;
	__u64 curralloc;
	__u32 users;
	__u32 pad;
};

int lunatik_states_init(void);
void lunatik_states_exit(void);
int lunatik_ctl_new(const char *name, size_t maxalloc);
int lunatik_ctl_close(const char *name);
int lunatik_ctl_close_all(void);	/* returns how many were closed */
int lunatik_ctl_info(const char *name, struct lunatik_info *info);
/* Fills up to max entries, skipping the first skip; returns the count. */
int lunatik_ctl_list(struct lunatik_info *infos, unsigned int max,
		     unsigned int skip);
/*
 * Runs a text chunk. Returns a negative errno (no state, chunk too large),
 * LUA_OK with the results as text (tostring of each, joined by tabs), or a
 * Lua status (LUA_ERRRUN, LUA_ERRSYNTAX, LUA_ERRMEM, LUA_ERRERR) with Lua's
 * error message. *outlen is the capacity of out on entry and the full length
 * of the text on return: more than the capacity means it was truncated
 * (out is always NUL-terminated).
 */
int lunatik_ctl_execute(const char *name, const char *code, size_t len,
			char *out, size_t *outlen);

#endif /* LUNATIK_H */
