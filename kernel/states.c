// SPDX-License-Identifier: GPL-2.0
/*
 * The table of named states and their lifetime.
 *
 * Every live state is in lunatik_table, keyed by the hash of its name, and
 * holds one reference for being there (users starts at 1). Whoever wants to
 * use a state past the table lock takes its own reference with
 * lunatik_stateget() and drops it with lunatik_putstate(); the last put runs
 * lua_close() and frees the state (lunatik_free).
 *
 * Locking: one spinlock, lunatik_table_lock, covers the table and the count
 * of states. Every lookup runs under it, and so does the get that follows a
 * lookup (lunatik_stateget), as do lookup-then-insert (create) and
 * lookup-then-remove (remove). So no reader ever walks the table while a
 * state is unlinked, and a state leaves the table before its table reference
 * is put: a state found under the lock always has users >= 1 and cannot be
 * freed before the get. That is why no RCU is needed (no rcu_read_lock on
 * the read side, no kfree_rcu on the free side). lunatik_statelookup()
 * alone (the spec's API) returns a pointer without a reference: it is only
 * valid while the caller knows nobody closes that state.
 *
 * The same file builds the kernel module and the user-space library (with
 * the <linux/...> stand-ins of kernel/user/include).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/hashtable.h>
#include <linux/spinlock.h>
#include <linux/refcount.h>
#include <linux/err.h>
#include <linux/build_bug.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualibs.h"

#include "lunatik.h"
#include "probes.h"
#include "states_priv.h"
#include "lunatik_trace.h"

/* The layout the tracer reads (probes.h). */
static_assert(offsetof(lunatik_State, L) == LUNATIK_OFF_L);
static_assert(offsetof(lunatik_State, lock) == LUNATIK_OFF_LOCK);
static_assert(offsetof(lunatik_State, users) == LUNATIK_OFF_USERS);
static_assert(offsetof(lunatik_State, maxalloc) == LUNATIK_OFF_MAXALLOC);
static_assert(offsetof(lunatik_State, curralloc) == LUNATIK_OFF_CURRALLOC);
static_assert(offsetof(lunatik_State, name) == LUNATIK_OFF_NAME);
static_assert(sizeof(lunatik_State) == LUNATIK_STATE_SIZE);
static_assert(LUNATIK_PROBE_NAME_MAX == LUNATIK_NAME_MAXSIZE);
static_assert(offsetof(struct lunatik_tracked, stats) == LUNATIK_OFF_STATS);

struct lunatik_limits lunatik_limits = {
	.max_maxalloc = 64UL << 20,	/* 64 MiB */
	.max_states = 1024,
	.budget = 1000000,		/* Lua instructions per execute */
	.max_code = 64UL << 10,		/* 64 KiB */
};
EXPORT_SYMBOL(lunatik_limits);

#define LUNATIK_HASH_BITS	8

static DEFINE_HASHTABLE(lunatik_table, LUNATIK_HASH_BITS);
static DEFINE_SPINLOCK(lunatik_table_lock);
static unsigned int lunatik_nstates;	/* under lunatik_table_lock */
static u64 lunatik_serial;		/* under lunatik_table_lock */

/*
 * A name is 1 to LUNATIK_NAME_MAXSIZE - 1 printable, non-space ASCII
 * characters (0x21 to 0x7e). Returns 0, -EINVAL (NULL, empty, or a byte out
 * of that range) or -ENAMETOOLONG (checked before the bytes).
 */
int lunatik_checkname(const char *name)
{
	size_t len, i;

	if (!name)
		return -EINVAL;
	len = strnlen(name, LUNATIK_NAME_MAXSIZE);
	if (len == 0)
		return -EINVAL;
	if (len >= LUNATIK_NAME_MAXSIZE)
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (c < 0x21 || c > 0x7e)
			return -EINVAL;
	}
	return 0;
}

static u32 lunatik_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

/* Called with lunatik_table_lock held. */
static lunatik_State *lunatik_find(const char *name, u32 hash)
{
	lunatik_State *s;

	hash_for_each_possible(lunatik_table, s, node, hash) {
		if (strcmp((const char *)s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* Called with lunatik_table_lock held: may a state of that name be added? */
static int lunatik_addable(const char *name, u32 hash)
{
	if (lunatik_find(name, hash))
		return -EEXIST;
	if (lunatik_nstates >= lunatik_limits.max_states)
		return -ENOSPC;
	return 0;
}

static int lunatik_panic(lua_State *L)
{
	const char *msg = NULL;

	if (lua_type(L, -1) == LUA_TSTRING)
		msg = lua_tostring(L, -1);
	pr_err("Lua panic: %s\n", msg ? msg : "(not a string)");
	BUG();
	return 0;
}

/*
 * Builds s->L within s->maxalloc: the state, its libraries and what execute
 * needs. Returns 0, -EDQUOT (the allocator denied a request) or -ENOMEM.
 */
static int lunatik_build(lunatik_State *s)
{
	struct lunatik_build b = { .s = s };
	lua_State *L;
	int status;

	L = lua_newstate(lunatik_alloc_build, &b);
	if (!L)
		goto fail;
	lunatik_noslot(L);
	lua_atpanic(L, lunatik_panic);

	lua_pushcfunction(L, lunatik_openlibs);
	status = lua_pcall(L, 0, 0, 0);
	if (status == LUA_OK) {
		lua_pushcfunction(L, lunatik_prepare);
		status = lua_pcall(L, 0, 0, 0);
	}
	if (status != LUA_OK) {
		lua_close(L);
		goto fail;
	}
	lua_settop(L, 0);
	lua_setallocf(L, lunatik_alloc, s);
	s->L = L;
	return 0;
fail:
	return b.nomem && !b.denied ? -ENOMEM : -EDQUOT;
}

/*
 * Builds a state outside the table lock, then publishes it if its name is
 * still free and there is still room: the check and the insert happen under
 * one hold of the lock. A state that loses that race is closed unpublished
 * (lua_close and kfree, with no lunatik_free: it never had users).
 */
static lunatik_State *lunatik_publish(size_t maxalloc, const char *name,
				      u64 *serialp)
{
	struct lunatik_tracked *t;
	lunatik_State *s;
	u64 serial;
	u32 hash;
	int ret;

	ret = lunatik_checkname(name);
	if (ret)
		return ERR_PTR(ret);
	if (maxalloc == 0 || maxalloc > lunatik_limits.max_maxalloc)
		return ERR_PTR(-EINVAL);
	hash = lunatik_hash(name);

	/* fail early, without building, when we already know */
	spin_lock(&lunatik_table_lock);
	ret = lunatik_addable(name, hash);
	serial = ++lunatik_serial;
	spin_unlock(&lunatik_table_lock);
	if (ret)
		return ERR_PTR(ret);

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	t->stats.serial = serial;
	s = &t->s;
	INIT_HLIST_NODE(&s->node);
	spin_lock_init(&s->lock);
	refcount_set(&s->users, 1);	/* the table's reference */
	s->maxalloc = maxalloc;
	s->curralloc = 0;
	strscpy((char *)s->name, name, sizeof(s->name));

	ret = lunatik_build(s);
	if (ret)
		goto free;

	spin_lock(&lunatik_table_lock);
	ret = lunatik_addable(name, hash);
	if (!ret) {
		hash_add(lunatik_table, &s->node, hash);
		lunatik_nstates++;
	}
	spin_unlock(&lunatik_table_lock);
	if (!ret) {
		*serialp = serial;
		return s;
	}

	lua_close(s->L);
free:
	kfree(t);
	return ERR_PTR(ret);
}

/*
 * The state's event goes out once it is published; it names the state with
 * the caller's copy of the name and the serial taken under the table lock,
 * as another CPU may close and free it at once.
 */
LUNATIK_PROBE lunatik_State *lunatik_create(size_t maxalloc, const char *name)
{
	u64 serial = 0;
	lunatik_State *s = lunatik_publish(maxalloc, name, &serial);

	if (IS_ERR(s))
		trace_lunatik_create(NULL, 0, name, maxalloc, PTR_ERR(s), NULL);
	else
		trace_lunatik_create(s, serial, name, maxalloc, 0, lunatik_stats(s));
	return s;
}

/*
 * A state has left the table (remove or removeall), before its table
 * reference is put and so before lua_close: the one moment at which a
 * tracer sees that its name is free again.
 */
LUNATIK_PROBE void lunatik_unlinked(lunatik_State *s)
{
	trace_lunatik_remove(LUNATIK_TP_STATE(s), 0);
}

/* Unpublishes the named state and puts the table's reference. */
LUNATIK_PROBE int lunatik_remove(const char *name)
{
	lunatik_State *s;
	int ret;

	ret = lunatik_checkname(name);
	if (ret)
		goto fail;

	spin_lock(&lunatik_table_lock);
	s = lunatik_find(name, lunatik_hash(name));
	if (s) {
		hash_del(&s->node);
		lunatik_nstates--;
	}
	spin_unlock(&lunatik_table_lock);
	if (!s) {
		ret = -ENOENT;
		goto fail;
	}

	lunatik_unlinked(s);
	lunatik_putstate(s);
	return 0;
fail:
	trace_lunatik_remove(NULL, 0, name, ret);
	return ret;
}

/*
 * The lookups' events carry the serial read under the table lock: past it,
 * statelookup's state may be closed by anyone.
 */
LUNATIK_PROBE lunatik_State *lunatik_statelookup(const char *name)
{
	lunatik_State *s = NULL;
	u64 serial = 0;

	if (lunatik_checkname(name))
		goto out;
	spin_lock(&lunatik_table_lock);
	s = lunatik_find(name, lunatik_hash(name));
	if (s)
		serial = lunatik_stats(s)->serial;
	spin_unlock(&lunatik_table_lock);
out:
	trace_lunatik_lookup(s, serial, name, 0, 0);
	return s;
}
EXPORT_SYMBOL(lunatik_statelookup);

LUNATIK_PROBE lunatik_State *lunatik_stateget(const char *name)
{
	lunatik_State *s = NULL;
	u64 serial = 0;
	int users = 0;

	if (lunatik_checkname(name))
		goto out;
	spin_lock(&lunatik_table_lock);
	s = lunatik_find(name, lunatik_hash(name));
	if (s) {
		users = lunatik_getstate(s);
		if (users)
			serial = lunatik_stats(s)->serial;
		else
			s = NULL;
	}
	spin_unlock(&lunatik_table_lock);
out:
	trace_lunatik_lookup(s, serial, name, 1, users);
	return s;
}

/* Returns the count after the increment, or 0 if s was already dying. */
LUNATIK_PROBE int lunatik_getstate(lunatik_State *s)
{
	int old;

	if (!__refcount_inc_not_zero(&s->users, &old))
		old = -1;
	trace_lunatik_get(LUNATIK_TP_STATE(s), old + 1);
	return old + 1;
}
EXPORT_SYMBOL(lunatik_getstate);

/*
 * Returns the count after the decrement; 0 means s is gone. Past the
 * decrement another put may free s, so its event names it from a copy
 * taken before (only when the event is on).
 */
LUNATIK_PROBE int lunatik_putstate(lunatik_State *s)
{
	char name[LUNATIK_NAME_MAXSIZE];
	bool traced = trace_lunatik_put_enabled();
	u64 serial = 0;
	int old;

	if (traced) {
		serial = lunatik_stats(s)->serial;
		memcpy(name, s->name, sizeof(name));
	}
	if (__refcount_dec_and_test(&s->users, &old)) {
		lua_close(s->L);
		lunatik_free(s);
	}
	if (traced)
		trace_lunatik_put(s, serial, name, old - 1);
	return old - 1;
}
EXPORT_SYMBOL(lunatik_putstate);

/* The last user is gone and lua_close has returned every block. */
LUNATIK_PROBE void lunatik_free(lunatik_State *s)
{
	trace_lunatik_free(LUNATIK_TP_STATE(s), s->curralloc, s->maxalloc,
			   lunatik_stats(s));
	kfree(container_of(s, struct lunatik_tracked, s));
}

/* ---- The spec's Lunatik generation ---- */

lunatik_State *lunatik_newstate(size_t maxalloc, const char *name)
{
	lunatik_State *s = lunatik_create(maxalloc, name);

	return IS_ERR(s) ? NULL : s;
}
EXPORT_SYMBOL(lunatik_newstate);

int lunatik_close(const char *name)
{
	return lunatik_remove(name) ? -1 : 0;
}
EXPORT_SYMBOL(lunatik_close);

/* ---- For control.c and klua.c ---- */

static void lunatik_fillinfo(lunatik_State *s, struct lunatik_info *info,
			     unsigned int own)
{
	memset(info, 0, sizeof(*info));
	strscpy(info->name, (const char *)s->name, sizeof(info->name));
	info->maxalloc = s->maxalloc;
	info->curralloc = READ_ONCE(s->curralloc);
	info->users = refcount_read(&s->users) - own;
}

/*
 * Info about a state the caller holds a reference to (not counted), read
 * under the table lock so that it is one snapshot of a published state:
 * -ENOENT when a close unpublished it after the caller's get.
 */
int lunatik_info(lunatik_State *s, struct lunatik_info *info)
{
	int ret = -ENOENT;

	spin_lock(&lunatik_table_lock);
	if (!hlist_unhashed(&s->node)) {
		lunatik_fillinfo(s, info, 1);
		ret = 0;
	}
	spin_unlock(&lunatik_table_lock);
	return ret;
}

/* Fills up to max entries in table order, skipping the first skip. */
int lunatik_list(struct lunatik_info *infos, unsigned int max,
		 unsigned int skip)
{
	lunatik_State *s;
	unsigned int bkt;
	int n = 0;

	spin_lock(&lunatik_table_lock);
	hash_for_each(lunatik_table, bkt, s, node) {
		if (n >= max)
			break;
		if (skip) {
			skip--;
			continue;
		}
		lunatik_fillinfo(s, &infos[n++], 0);
	}
	spin_unlock(&lunatik_table_lock);
	return n;
}

/* Logs every state and its properties. */
void lunatik_log(void)
{
	struct lunatik_info info;
	lunatik_State *s;
	unsigned int bkt;

	spin_lock(&lunatik_table_lock);
	pr_info("%u states\n", lunatik_nstates);
	hash_for_each(lunatik_table, bkt, s, node) {
		lunatik_fillinfo(s, &info, 0);
		pr_info("state %s: maxalloc %llu curralloc %llu users %u\n",
			info.name, (unsigned long long)info.maxalloc,
			(unsigned long long)info.curralloc, info.users);
	}
	spin_unlock(&lunatik_table_lock);
}

/*
 * Unpublishes every state under one hold of the lock, then puts the table's
 * references outside it (lua_close is not for a spinlock).
 */
int lunatik_removeall(void)
{
	HLIST_HEAD(dead);
	struct hlist_node *tmp;
	lunatik_State *s;
	unsigned int bkt;
	int n = 0;

	spin_lock(&lunatik_table_lock);
	hash_for_each_safe(lunatik_table, bkt, tmp, s, node) {
		hash_del(&s->node);
		hlist_add_head(&s->node, &dead);
		lunatik_nstates--;
	}
	spin_unlock(&lunatik_table_lock);

	hlist_for_each_entry_safe(s, tmp, &dead, node) {
		hlist_del_init(&s->node);
		lunatik_unlinked(s);
		lunatik_putstate(s);
		n++;
	}
	return n;
}

int lunatik_states_init(void)
{
	/* the table is statically initialized; this checks the limits */
	if (!lunatik_limits.max_maxalloc || !lunatik_limits.max_states)
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL(lunatik_states_init);

void lunatik_states_exit(void)
{
	lunatik_removeall();
}
EXPORT_SYMBOL(lunatik_states_exit);
