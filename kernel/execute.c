// SPDX-License-Identifier: GPL-2.0
/*
 * Running a chunk in a state, under the state's lock.
 *
 * - Text only: luaL_loadbufferx with mode "t" refuses binary chunks.
 * - Everything that can raise a Lua error (load, call, tostring of the
 *   results) runs inside one lua_pcall, so Lua never panics; a memory error
 *   is just a status and leaves the state usable.
 * - An instruction budget (lunatik_limits.budget, 0 = none) enforced by a
 *   count hook. The count is global to the execute: the hook of every thread
 *   (coroutines inherit it) charges a shared counter, the current run, found
 *   through the state's run slot (below). Once the budget is gone it is
 *   sticky: the hook re-arms itself with count 1 on any thread it fires in
 *   and raises again, so a pcall in the script cannot swallow it. Its
 *   message starts with "instruction budget" and carries no position.
 *   C library loops, which run between two instructions, charge the same
 *   counter through lunatik_budget_charge (luai_budgetstep in luaconf.h,
 *   called by kernel/lua/patches/budget.patch: pattern matching, table
 *   functions). __gc metamethods, which Lua runs with hooks off (and
 *   lua_close with no budget at all), are refused by setmetatable
 *   (kernel/lua/lualibs.c).
 *   Known limits: the hook runs every LUNATIK_BUDGET_STEP instructions in a
 *   thread, so a coroutine that dies before its first step is not charged
 *   (each costs its creator a few instructions and a collection, so the bound
 *   stays finite, but looser); one instruction or library call may still do
 *   work proportional to the memory it touches (comparing or copying long
 *   strings, a full collection), bounded by maxalloc, not by the budget.
 * - Results become text: luaL_tolstring of each, joined by tabs.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/ktime.h>

#include "lua.h"
#include "lauxlib.h"

#include "lunatik.h"
#include "probes.h"
#include "states_priv.h"
#include "lunatik_trace.h"

#define LUNATIK_BUDGET_STEP	100
#define LUNATIK_CHUNKNAME	"=lunatik"
#define LUNATIK_BUDGET_MSG	"instruction budget exhausted"

/* registry keys (their addresses) */
static char lunatik_slotkey;	/* the run slot (anchors it) */
static char lunatik_msgkey;	/* the budget message, prebuilt */

struct lunatik_run {
	const char *code;
	size_t len;
	char *out;
	size_t cap;		/* of out, with the NUL */
	size_t outlen;		/* of the whole text */
	long remaining;		/* of the budget */
	bool limited;
	bool exhausted;
	int loadstatus;
};

/*
 * The run slot: a block in the state (a userdata anchored in the registry)
 * holding the current run, or NULL outside lunatik_run. The extra space of
 * the main thread points to it, and Lua copies that pointer into every
 * coroutine it creates, so the hook and lunatik_budget_charge find the run
 * from any thread in two loads, without the registry (no stack slot, no
 * allocation) and per state (no global or per-CPU variable).
 */
static struct lunatik_run **lunatik_runslot(lua_State *L)
{
	return *(struct lunatik_run ***)lua_getextraspace(L);
}

/* Right after lua_newstate: no run slot yet, so that the C calls that
 * build the state (which pay budget, see luaconf.h) find no run. */
void lunatik_noslot(lua_State *L)
{
	*(struct lunatik_run ***)lua_getextraspace(L) = NULL;
}

/* The run of an execute in L, or NULL (outside one, or before the slot). */
static struct lunatik_run *lunatik_currentrun(lua_State *L)
{
	struct lunatik_run **slot = lunatik_runslot(L);

	return slot ? *slot : NULL;
}

/* Called protected while the state is built (after its libraries, before
 * any coroutine exists): the run slot and the prebuilt budget message, so
 * that neither execute nor the hook has to allocate for them. */
int lunatik_prepare(lua_State *L)
{
	struct lunatik_run **slot = lua_newuserdatauv(L, sizeof(*slot), 0);

	*slot = NULL;
	lua_rawsetp(L, LUA_REGISTRYINDEX, &lunatik_slotkey);
	*(struct lunatik_run ***)lua_getextraspace(L) = slot;
	lua_pushliteral(L, LUNATIK_BUDGET_MSG);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &lunatik_msgkey);
	return 0;
}

static int lunatik_step(long remaining)
{
	return remaining < LUNATIK_BUDGET_STEP ? remaining : LUNATIK_BUDGET_STEP;
}

static void lunatik_hook(lua_State *L, lua_Debug *ar);

/* Raises the budget error (sticky: the hook fires at the next instruction) */
static void lunatik_budget_error(lua_State *L)
{
	lua_sethook(L, lunatik_hook, LUA_MASKCOUNT, 1);
	/* a slot for the message; EXTRA_STACK covers a failure to grow */
	(void)lua_checkstack(L, 1);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &lunatik_msgkey);
	lua_error(L);
}

static void lunatik_hook(lua_State *L, lua_Debug *ar)
{
	struct lunatik_run *run = *lunatik_runslot(L);

	if (!run || !run->limited)
		return;
	if (!run->exhausted) {
		int count = lua_gethookcount(L);

		run->remaining -= count;
		if (run->remaining > 0) {
			/* a thread may come with the count of an older run */
			if (lunatik_step(run->remaining) != count)
				lua_sethook(L, lunatik_hook, LUA_MASKCOUNT,
					    lunatik_step(run->remaining));
			return;
		}
		run->exhausted = true;
	}
	lunatik_budget_error(L);
}

/*
 * Charges steps of work done by a C library loop (luai_budgetstep in
 * luaconf.h) to the budget of the execute running in L, and raises the
 * budget error once it is gone. Does nothing outside an execute.
 */
void lunatik_budget_charge(lua_State *L, size_t steps)
{
	struct lunatik_run *run = lunatik_currentrun(L);

	if (!run || !run->limited)
		return;
	if (!run->exhausted) {
		/* not exhausted: remaining > 0 */
		if (steps < (unsigned long)run->remaining) {
			run->remaining -= steps;
			return;
		}
		run->remaining = 0;
		run->exhausted = true;
	}
	lunatik_budget_error(L);
}

/* Appends to out what fits (keeping room for the NUL), counts it all. */
static void lunatik_append(struct lunatik_run *run, const char *str,
			   size_t len)
{
	if (run->cap && run->outlen < run->cap - 1) {
		size_t room = run->cap - 1 - run->outlen;

		memcpy(run->out + run->outlen, str, min(len, room));
	}
	run->outlen += len;
}

/* The message handler: the error object as a string (as lua.c does). */
static int lunatik_msgh(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TSTRING)
		return 1;
	if (lua_type(L, 1) == LUA_TNUMBER) {
		lua_tostring(L, 1);
		return 1;
	}
	if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
		return 1;
	lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	return 1;
}

/* The protected part: load, call, results to text. */
static int lunatik_pexec(lua_State *L)
{
	struct lunatik_run *run = lua_touserdata(L, 1);
	int base, n, i;

	/* even without a budget: the coroutines created now inherit the hook
	 * and must have it when a later run has a budget */
	lua_sethook(L, lunatik_hook, LUA_MASKCOUNT,
		    run->limited ? lunatik_step(run->remaining) :
		    LUNATIK_BUDGET_STEP);

	run->loadstatus = luaL_loadbufferx(L, run->code, run->len,
					   LUNATIK_CHUNKNAME, "t");
	if (run->loadstatus != LUA_OK)
		return lua_error(L);

	base = lua_gettop(L) - 1;
	lua_call(L, 0, LUA_MULTRET);
	n = lua_gettop(L) - base;
	for (i = 1; i <= n; i++) {
		size_t len;
		const char *str = luaL_tolstring(L, base + i, &len);

		if (i > 1)
			lunatik_append(run, "\t", 1);
		lunatik_append(run, str, len);
		lua_pop(L, 1);
	}
	return 0;
}

/* The body of lunatik_execute, with s->lock held. */
int lunatik_run(lunatik_State *s, const char *code, size_t len, char *out,
		size_t *outlen)
{
	struct lunatik_run run = {
		.code = code,
		.len = len,
		.out = out,
		.cap = out && outlen ? *outlen : 0,
		.remaining = lunatik_limits.budget,
		.limited = lunatik_limits.budget != 0,
		.loadstatus = LUA_OK,
	};
	lua_State *L = s->L;
	int base = lua_gettop(L);
	int status;

	*lunatik_runslot(L) = &run;
	/* no allocation before the pcall: light C functions and userdata */
	lua_pushcfunction(L, lunatik_msgh);
	lua_pushcfunction(L, lunatik_pexec);
	lua_pushlightuserdata(L, &run);
	status = lua_pcall(L, 1, 0, base + 1);

	lua_sethook(L, NULL, 0, 0);
	*lunatik_runslot(L) = NULL;

	if (run.loadstatus != LUA_OK)
		status = run.loadstatus;
	if (run.exhausted) {
		/* whatever the script (coroutine.wrap adds a position) or a
		 * handler made of it on the way out */
		status = LUA_ERRRUN;
		lua_rawgetp(L, LUA_REGISTRYINDEX, &lunatik_msgkey);
	}
	if (status != LUA_OK) {
		size_t mlen = 0;
		const char *msg = "(error object is not a string)";

		if (lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tolstring(L, -1, &mlen);
		else
			mlen = strlen(msg);
		run.outlen = 0;
		lunatik_append(&run, msg, mlen);
	}
	if (run.cap)
		out[min(run.outlen, run.cap - 1)] = '\0';
	if (outlen)
		*outlen = run.outlen;
	lua_settop(L, base);
	return status;
}

/*
 * With its tracepoint on, the lock times its own wait and says whether it
 * had to spin (a failed trylock): the tracer then needs no probe at entry.
 */
LUNATIK_PROBE void lunatik_lock(lunatik_State *s)
{
	bool contended;
	u64 t0, t1;

	if (!trace_lunatik_lock_enabled()) {
		spin_lock(&s->lock);
		return;
	}
	t0 = ktime_get_ns();
	contended = !spin_trylock(&s->lock);
	if (contended)
		spin_lock(&s->lock);
	t1 = ktime_get_ns();
	trace_lunatik_lock(LUNATIK_TP_STATE(s), t1 - t0, contended, t1);
}

LUNATIK_PROBE void lunatik_unlock(lunatik_State *s)
{
	trace_lunatik_unlock(LUNATIK_TP_STATE(s), lunatik_stats(s));
	spin_unlock(&s->lock);
}

/*
 * Runs a text chunk of len bytes in s. Returns a negative errno (-E2BIG:
 * larger than lunatik_limits.max_code) or the Lua status, with the results
 * (LUA_OK) or the error message as text in out; see lunatik_ctl_execute.
 */
LUNATIK_PROBE int lunatik_execute(lunatik_State *s, const char *code,
				  size_t len, char *out, size_t *outlen)
{
	int ret;

	trace_lunatik_exec_begin(LUNATIK_TP_STATE(s), code, len);
	if (len > lunatik_limits.max_code) {
		if (out && outlen && *outlen)
			out[0] = '\0';
		if (outlen)
			*outlen = 0;
		ret = -E2BIG;
	} else {
		lunatik_lock(s);
		ret = lunatik_run(s, code, len, out, outlen);
		lunatik_unlock(s);
	}
	trace_lunatik_exec_end(LUNATIK_TP_STATE(s), ret);
	return ret;
}
