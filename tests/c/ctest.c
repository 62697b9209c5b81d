// SPDX-License-Identifier: GPL-2.0
/*
 * The C-level test of liblunatik.so: every function of both API
 * generations, the control plane and the probe functions, with their
 * results. Exits non-zero on any failure (or any WARN of the shims).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/err.h>

#include "lunatik.h"
#include "probes.h"
#include "ctest.h"

#define MIB	(1024 * 1024)
#define OUTSZ	4096

static char out[OUTSZ];

/* executes code (a C string) in name; returns the status, text in out */
static int run(const char *name, const char *code)
{
	size_t len = sizeof(out);
	int ret;

	memset(out, 0x55, sizeof(out));
	ret = lunatik_ctl_execute(name, code, strlen(code), out, &len);
	CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	CHECK(ret < 0 || len >= sizeof(out) || strlen(out) == len);
	return ret;
}

static unsigned long long curralloc(const char *name)
{
	struct lunatik_info info;

	CHECK_EQ(lunatik_ctl_info(name, &info), 0);
	return info.curralloc;
}

static void test_names(void)
{
	char name[LUNATIK_NAME_MAXSIZE + 2];

	CHECK_EQ(lunatik_ctl_new(NULL, MIB), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("", MIB), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("a b", MIB), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("tab\t", MIB), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("del\x7f", MIB), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("hi\xc3\xa9", MIB), -EINVAL);

	memset(name, 'n', sizeof(name));
	name[LUNATIK_NAME_MAXSIZE] = '\0';		/* 64 characters */
	CHECK_EQ(lunatik_ctl_new(name, MIB), -ENAMETOOLONG);
	CHECK_EQ(lunatik_ctl_close(name), -ENAMETOOLONG);
	name[LUNATIK_NAME_MAXSIZE + 1] = '\0';
	name[LUNATIK_NAME_MAXSIZE] = ' ';		/* too long wins */
	CHECK_EQ(lunatik_ctl_new(name, MIB), -ENAMETOOLONG);
	name[LUNATIK_NAME_MAXSIZE - 1] = '\0';		/* 63: fine */
	CHECK_EQ(lunatik_ctl_new(name, MIB), 0);
	CHECK_EQ(lunatik_ctl_new(name, MIB), -EEXIST);
	CHECK(lunatik_statelookup(name) != NULL);
	CHECK_EQ(lunatik_ctl_close(name), 0);
	CHECK_EQ(lunatik_ctl_close(name), -ENOENT);

	CHECK_EQ(lunatik_ctl_new("!~{}[]#", MIB), 0);
	CHECK_EQ(lunatik_ctl_close("!~{}[]#"), 0);

	CHECK_EQ(lunatik_ctl_close(""), -EINVAL);
	CHECK_EQ(lunatik_ctl_execute("a b", "return 1", 8, NULL, NULL), -EINVAL);
	CHECK_EQ(lunatik_ctl_execute("nosuch", "return 1", 8, NULL, NULL),
		 -ENOENT);
	CHECK(lunatik_statelookup("a b") == NULL);
	CHECK(lunatik_stateget("nosuch") == NULL);
}

static void test_maxalloc(void)
{
	struct lunatik_info info;

	CHECK_EQ(lunatik_ctl_new("m", 0), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("m", lunatik_limits.max_maxalloc + 1),
		 -EINVAL);
	CHECK_EQ(lunatik_ctl_new("m", 100), -EDQUOT);
	CHECK_EQ(lunatik_ctl_new("m", 4096), -EDQUOT);
	CHECK(lunatik_statelookup("m") == NULL);
	CHECK_EQ(lunatik_ctl_new("m", lunatik_limits.max_maxalloc), 0);
	CHECK_EQ(lunatik_ctl_info("m", &info), 0);
	CHECK_EQ(info.maxalloc, lunatik_limits.max_maxalloc);
	CHECK_EQ(lunatik_ctl_close("m"), 0);
}

static void test_empty_state(void)
{
	struct lunatik_info info;
	size_t lo = 1, hi = 256 * 1024, empty;

	CHECK_EQ(lunatik_ctl_new("empty", MIB), 0);
	CHECK_EQ(lunatik_ctl_info("empty", &info), 0);
	CHECK_STR(info.name, "empty");
	CHECK_EQ(info.maxalloc, MIB);
	CHECK_EQ(info.users, 1);
	CHECK(info.curralloc > 0 && info.curralloc < MIB);
	empty = info.curralloc;
	printf("curralloc of an empty state: %zu bytes\n", empty);
	CHECK_EQ(lunatik_ctl_close("empty"), 0);
	CHECK_EQ(lunatik_ctl_info("empty", &info), -ENOENT);

	/* the smallest maxalloc that builds a state: exactly the empty size */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int ret = lunatik_ctl_new("probe", mid);

		CHECK(ret == 0 || ret == -EDQUOT);
		if (ret == 0) {
			CHECK_EQ(lunatik_ctl_close("probe"), 0);
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	printf("smallest maxalloc that builds a state: %zu bytes\n", lo);
	CHECK(lo <= empty + 1024);	/* building peaks a little above */
	CHECK_EQ(lunatik_ctl_new("tight", lo), 0);
	CHECK(curralloc("tight") <= lo);
	CHECK_EQ(lunatik_ctl_close("tight"), 0);
	CHECK_EQ(lunatik_ctl_new("tight", lo - 1), -EDQUOT);
}

static void test_execute(void)
{
	char small[10];
	size_t len;
	char big[LUNATIK_NAME_MAXSIZE + 1];
	char *code;

	CHECK_EQ(lunatik_ctl_new("x", MIB), 0);
	CHECK_EQ(run("x", "return 1 + 1"), LUA_OK);
	CHECK_STR(out, "2");
	CHECK_EQ(run("x", "return 1, 'a', nil, true, {} ~= nil"), LUA_OK);
	CHECK_STR(out, "1\ta\tnil\ttrue\ttrue");
	CHECK_EQ(run("x", ""), LUA_OK);
	CHECK_STR(out, "");
	CHECK_EQ(run("x", "g = 41"), LUA_OK);
	CHECK_EQ(run("x", "g = g + 1 return g"), LUA_OK);
	CHECK_STR(out, "42");
	CHECK_EQ(run("x", "return 7 // 2, 7 % 3, 1 << 62"), LUA_OK);
	CHECK_STR(out, "3\t1\t4611686018427387904");
	CHECK_EQ(run("x", "return setmetatable({}, {__tostring = "
			  "function() return 'obj' end})"), LUA_OK);
	CHECK_STR(out, "obj");
	CHECK_EQ(run("x", "return string.format('%d-%s', 5, 'z'), #'abc', "
			  "table.concat({1, 2, 3}, ','), utf8.char(72, 105)"),
		 LUA_OK);
	CHECK_STR(out, "5-z\t3\t1,2,3\tHi");
	CHECK_EQ(run("x", "local co = coroutine.wrap(function(a) "
			  "coroutine.yield(a + 1) end) return co(1)"), LUA_OK);
	CHECK_STR(out, "2");
	/* the libraries that are not opened */
	CHECK_EQ(run("x", "return io, os, package, debug, math, require"),
		 LUA_OK);
	CHECK_STR(out, "nil\tnil\tnil\tnil\tnil\tnil");

	/* errors */
	CHECK_EQ(run("x", "return +"), LUA_ERRSYNTAX);
	CHECK_PREFIX(out, "lunatik:1:");
	CHECK_EQ(run("x", "error('boom')"), LUA_ERRRUN);
	CHECK_STR(out, "lunatik:1: boom");
	CHECK_EQ(run("x", "error('plain', 0)"), LUA_ERRRUN);
	CHECK_STR(out, "plain");
	CHECK_EQ(run("x", "error({})"), LUA_ERRRUN);
	CHECK_STR(out, "(error object is a table value)");
	CHECK_EQ(run("x", "error()"), LUA_ERRRUN);
	CHECK_STR(out, "(error object is a nil value)");
	CHECK_EQ(run("x", "error(42)"), LUA_ERRRUN);
	CHECK_STR(out, "42");
	CHECK_EQ(run("x", "error(setmetatable({}, {__tostring = "
			  "function() return 'custom' end}))"), LUA_ERRRUN);
	CHECK_STR(out, "custom");
	CHECK_EQ(run("x", "return setmetatable({}, {__tostring = "
			  "function() error('in tostring', 0) end})"), LUA_ERRRUN);
	CHECK_STR(out, "in tostring");
	CHECK_EQ(run("x", "local t <close> = setmetatable({}, {__close = "
			  "function() error('closing', 0) end}) return 1"),
		 LUA_ERRRUN);
	CHECK_STR(out, "closing");
	CHECK_EQ(run("x", "return coroutine.yield(1)"), LUA_ERRRUN);
	/* 1 MiB runs out before the Lua stack does */
	CHECK_EQ(run("x", "local function f() return f() + 1 end return f()"),
		 LUA_ERRMEM);
	CHECK_STR(out, "not enough memory");
	/* C levels (nested resumes, parser) are bounded: an error, not a crash */
	CHECK_EQ(run("x", "local function f() return coroutine.wrap(f)() end "
			  "return f()"), LUA_ERRRUN);
	CHECK(strstr(out, "C stack overflow") != NULL);
	CHECK_EQ(run("x", "return load('return ' .. string.rep('(', 1000) .. "
			  "'1' .. string.rep(')', 1000))"), LUA_OK);
	CHECK_PREFIX(out, "nil\t");
	CHECK_EQ(run("x", "return g"), LUA_OK);	/* still usable */
	CHECK_STR(out, "42");

	/* binary chunks are refused */
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("x", "\x1bLua\x54\x00", 6, out, &len),
		 LUA_ERRSYNTAX);
	CHECK(strstr(out, "binary") != NULL);
	CHECK_EQ(run("x", "return load(string.dump(function() return 1 end))"),
		 LUA_OK);

	/* embedded NUL in the chunk: length, not strlen */
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("x", "return 'a\0b'", 12, out, &len),
		 LUA_OK);
	CHECK_EQ(len, 3);
	CHECK(memcmp(out, "a\0b", 4) == 0);

	/* truncation: full length reported, NUL-terminated */
	len = sizeof(small);
	CHECK_EQ(lunatik_ctl_execute("x", "return string.rep('a', 100)", 27,
				     small, &len), LUA_OK);
	CHECK_EQ(len, 100);
	CHECK_STR(small, "aaaaaaaaa");
	len = 1;
	CHECK_EQ(lunatik_ctl_execute("x", "return 'abc'", 12, small, &len),
		 LUA_OK);
	CHECK_EQ(len, 3);
	CHECK_EQ(small[0], '\0');
	len = 4;	/* exactly fits with the NUL */
	CHECK_EQ(lunatik_ctl_execute("x", "return 'abc'", 12, small, &len),
		 LUA_OK);
	CHECK_EQ(len, 3);
	CHECK_STR(small, "abc");
	len = 0;
	CHECK_EQ(lunatik_ctl_execute("x", "return 'abc'", 12, NULL, &len),
		 LUA_OK);
	CHECK_EQ(len, 3);
	CHECK_EQ(lunatik_ctl_execute("x", "return 'abc'", 12, NULL, NULL),
		 LUA_OK);
	len = sizeof(small);	/* an error message is truncated too */
	CHECK_EQ(lunatik_ctl_execute("x", "error('0123456789abc', 0)", 25,
				     small, &len), LUA_ERRRUN);
	CHECK_EQ(len, 13);
	CHECK_STR(small, "012345678");

	/* chunk size limit */
	code = malloc(lunatik_limits.max_code + 1);
	memset(code, ' ', lunatik_limits.max_code + 1);
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("x", code, lunatik_limits.max_code + 1,
				     out, &len), -E2BIG);
	CHECK_EQ(len, 0);
	CHECK_STR(out, "");
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("x", code, lunatik_limits.max_code, out,
				     &len), LUA_OK);
	free(code);

	memset(big, 'b', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(lunatik_ctl_execute(big, "return 1", 8, NULL, NULL),
		 -ENAMETOOLONG);
	CHECK_EQ(lunatik_ctl_close("x"), 0);
}

static void test_budget(void)
{
	unsigned int budget = lunatik_limits.budget;

	CHECK_EQ(lunatik_ctl_new("b", MIB), 0);
	CHECK_EQ(run("b", "while true do end"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "return 'usable'"), LUA_OK);
	CHECK_STR(out, "usable");

	/* sticky: a pcall in the script cannot swallow it */
	CHECK_EQ(run("b", "local ok = pcall(function() while true do end end) "
			  "return 'escaped', ok"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "for i = 1, 10 do pcall(function() while true do "
			  "end end) end return 'escaped'"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "local ok = xpcall(function() while true do end end, "
			  "function(m) return m end) return 'escaped'"),
		 LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	/* coroutines share the budget of the execute */
	CHECK_EQ(run("b", "local co = coroutine.wrap(function() while true do "
			  "end end) co() return 'escaped'"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "while true do local co = coroutine.create(function() "
			  "for i = 1, 1000 do end end) coroutine.resume(co) end"),
		 LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	/* a coroutine left suspended by a previous execute */
	CHECK_EQ(run("b", "co = coroutine.wrap(function() coroutine.yield() "
			  "while true do end end) co()"), LUA_OK);
	CHECK_EQ(run("b", "co()"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	/* in a __tostring of a result */
	CHECK_EQ(run("b", "return setmetatable({}, {__tostring = function() "
			  "while true do end end})"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	/* C library loops (kernel/lua/patches/budget.patch), sticky too */
	CHECK_EQ(run("b", "return string.rep('a', 20000):find('.-.-.-b')"),
		 LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "return #table.move({}, 1, 1 << 62, 1, {})"),
		 LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "while true do pcall(table.move, {}, 1, 1 << 62, 1, "
			  "{}) end"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "return #string.rep('', 1 << 62)"), LUA_OK);
	CHECK_STR(out, "0");
	/* finalizers would run with hooks off: refused */
	CHECK_EQ(run("b", "setmetatable({}, {__gc = function() while true do "
			  "end end}) collectgarbage()"), LUA_ERRRUN);
	CHECK(strstr(out, "__gc metamethods are not supported") != NULL);

	/* the budget is per execute and about exact */
	lunatik_limits.budget = 1000;
	CHECK_EQ(run("b", "for i = 1, 900 do end return 'ok'"), LUA_OK);
	CHECK_EQ(run("b", "for i = 1, 900 do end return 'ok'"), LUA_OK);
	CHECK_EQ(run("b", "for i = 1, 1100 do end return 'ok'"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	/* C steps and instructions share it */
	CHECK_EQ(run("b", "table.move({}, 1, 900, 1, {}) return 'ok'"), LUA_OK);
	CHECK_EQ(run("b", "table.move({}, 1, 1100, 1, {}) return 'ok'"),
		 LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "for i = 1, 600 do end table.move({}, 1, 600, 1, {}) "
			  "return 'ok'"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	lunatik_limits.budget = 0;	/* none */
	CHECK_EQ(run("b", "for i = 1, 3000000 do end return 'ok'"), LUA_OK);
	CHECK_STR(out, "ok");
	/* a coroutine made without a budget gets one when resumed with one */
	CHECK_EQ(run("b", "co = coroutine.wrap(function() coroutine.yield() "
			  "while true do end end) co()"), LUA_OK);
	lunatik_limits.budget = budget;
	CHECK_EQ(run("b", "co()"), LUA_ERRRUN);
	CHECK_PREFIX(out, "instruction budget");
	CHECK_EQ(run("b", "for i = 1, 3000000 do end return 'ok'"), LUA_ERRRUN);
	CHECK_EQ(lunatik_ctl_close("b"), 0);
}

static void test_memory(void)
{
	struct lunatik_info info;
	int ret;

	CHECK_EQ(lunatik_ctl_new("mem", 256 * 1024), 0);
	ret = run("mem", "t = {} for i = 1, 1000000 do t[i] = i end");
	CHECK_EQ(ret, LUA_ERRMEM);
	CHECK_STR(out, "not enough memory");
	CHECK_EQ(lunatik_ctl_info("mem", &info), 0);
	CHECK(info.curralloc <= info.maxalloc);
	CHECK_EQ(run("mem", "t = nil collectgarbage() return 'usable'"), LUA_OK);
	CHECK_STR(out, "usable");
	CHECK_EQ(run("mem", "return #string.rep('x', 1 << 30)"), LUA_ERRMEM);
	CHECK_EQ(run("mem", "local s = string.rep('x', 100000) return #s"),
		 LUA_OK);
	CHECK_STR(out, "100000");
	CHECK_EQ(run("mem", "local t = {} for i = 1, 100 do "
			    "t[i] = pcall(string.rep, 'x', 1 << 20) end "
			    "return 'survived'"), LUA_OK);
	CHECK_STR(out, "survived");
	CHECK(curralloc("mem") <= 256 * 1024);
	/* a syntax error that runs out of memory in the parser */
	CHECK_EQ(run("mem", "return 'ok'"), LUA_OK);
	CHECK_EQ(lunatik_ctl_close("mem"), 0);
}

static void test_refcount(void)
{
	lunatik_State *s, *t;

	s = lunatik_create(MIB, "rc");
	CHECK(s != NULL && !IS_ERR(s));
	CHECK_EQ(refcount_read(&s->users), 1);
	CHECK_STR((const char *)s->name, "rc");
	CHECK_EQ(s->maxalloc, MIB);
	CHECK(s->L != NULL);
	t = lunatik_create(MIB, "rc");
	CHECK_EQ(PTR_ERR(t), -EEXIST);
	CHECK_EQ(PTR_ERR(lunatik_create(MIB, "")), -EINVAL);
	CHECK_EQ(PTR_ERR(lunatik_create(10, "tiny")), -EDQUOT);
	CHECK(lunatik_statelookup("rc") == s);
	CHECK(lunatik_stateget("rc") == s);
	CHECK_EQ(refcount_read(&s->users), 2);
	CHECK_EQ(lunatik_getstate(s), 3);
	CHECK_EQ(lunatik_putstate(s), 2);
	{
		char buf[64];
		size_t len = sizeof(buf);

		CHECK_EQ(lunatik_execute(s, "return 'direct'", 15, buf, &len),
			 LUA_OK);
		CHECK_STR(buf, "direct");
		len = sizeof(buf);
		CHECK_EQ(lunatik_execute(s, "return 1", lunatik_limits.max_code + 1,
					 buf, &len), -E2BIG);
	}
	lunatik_lock(s);
	CHECK(spin_is_locked(&s->lock));
	lunatik_unlock(s);
	CHECK(!spin_is_locked(&s->lock));
	CHECK_EQ(lunatik_remove("rc"), 0);		/* table ref put: 1 left */
	CHECK_EQ(lunatik_remove("rc"), -ENOENT);
	CHECK(lunatik_statelookup("rc") == NULL);
	CHECK_EQ(refcount_read(&s->users), 1);
	{
		struct lunatik_info info;

		CHECK_EQ(lunatik_ctl_info("rc", &info), -ENOENT);
	}
	/* the state still works for whoever holds a reference */
	{
		char buf[64];
		size_t len = sizeof(buf);

		CHECK_EQ(lunatik_execute(s, "return 'orphan'", 15, buf, &len),
			 LUA_OK);
		CHECK_STR(buf, "orphan");
	}
	/* a new state may take the name meanwhile */
	CHECK_EQ(lunatik_ctl_new("rc", MIB), 0);
	CHECK_EQ(lunatik_putstate(s), 0);		/* freed */
	CHECK_EQ(lunatik_ctl_close("rc"), 0);
	CHECK_EQ(lunatik_remove("a b"), -EINVAL);
}

static void test_control(void)
{
	struct lunatik_info infos[8], info;
	char name[16];
	unsigned int max_states = lunatik_limits.max_states;
	int i, n, seen;

	CHECK_EQ(lunatik_ctl_list(infos, 8, 0), 0);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "st%d", i);
		CHECK_EQ(lunatik_ctl_new(name, MIB + i), 0);
	}
	CHECK_EQ(lunatik_ctl_list(infos, 8, 0), 5);
	seen = 0;
	for (i = 0; i < 5; i++) {
		CHECK_EQ(strncmp(infos[i].name, "st", 2), 0);
		CHECK_EQ(infos[i].maxalloc, MIB + (infos[i].name[2] - '0'));
		CHECK_EQ(infos[i].users, 1);
		CHECK(infos[i].curralloc > 0);
		seen |= 1 << (infos[i].name[2] - '0');
	}
	CHECK_EQ(seen, 0x1f);
	CHECK_EQ(lunatik_ctl_list(infos, 2, 0), 2);
	CHECK_EQ(lunatik_ctl_list(infos, 8, 3), 2);
	CHECK_EQ(lunatik_ctl_list(infos, 8, 5), 0);
	CHECK_EQ(lunatik_ctl_list(infos, 0, 0), 0);
	n = 0;
	for (i = 0; i < 5; i++)
		n += lunatik_ctl_list(infos, 1, i);
	CHECK_EQ(n, 5);

	/* users counts holders, not the caller of info */
	{
		lunatik_State *s = lunatik_stateget("st0");

		CHECK_EQ(lunatik_ctl_info("st0", &info), 0);
		CHECK_EQ(info.users, 2);
		CHECK_EQ(lunatik_putstate(s), 1);
		CHECK_EQ(lunatik_ctl_info("st0", &info), 0);
		CHECK_EQ(info.users, 1);
	}

	lunatik_limits.max_states = 6;
	CHECK_EQ(lunatik_ctl_new("six", MIB), 0);
	CHECK_EQ(lunatik_ctl_new("seven", MIB), -ENOSPC);
	CHECK_EQ(lunatik_ctl_new("six", MIB), -EEXIST);
	CHECK_EQ(lunatik_ctl_close("six"), 0);
	CHECK_EQ(lunatik_ctl_new("seven", MIB), 0);
	lunatik_limits.max_states = max_states;

	CHECK_EQ(lunatik_ctl_close_all(), 6);
	CHECK_EQ(lunatik_ctl_close_all(), 0);
	CHECK_EQ(lunatik_ctl_list(infos, 8, 0), 0);
}

static void test_lunatik_generation(void)
{
	lunatik_State *s;

	s = lunatik_newstate(MIB, "gen");
	CHECK(s != NULL);
	CHECK(lunatik_newstate(MIB, "gen") == NULL);
	CHECK(lunatik_newstate(0, "gen2") == NULL);
	CHECK(lunatik_newstate(MIB, "bad name") == NULL);
	CHECK(lunatik_statelookup("gen") == s);
	CHECK_EQ(lunatik_close("gen"), 0);
	CHECK_EQ(lunatik_close("gen"), -1);
	CHECK(lunatik_statelookup("gen") == NULL);
}

static void test_klua_generation(void)
{
	struct klua_state *k;

	CHECK_EQ(klua_states_init(), 0);
	k = klua_state_create(MIB, "k1");
	CHECK(k != NULL);
	CHECK(klua_state_create(MIB, "k1") == NULL);
	CHECK(klua_state_create(MIB, "k2") != NULL);
	CHECK(klua_state_lookup("k1") == k);
	CHECK(klua_state_lookup("nope") == NULL);
	klua_execute("k1", "x = 6 * 7 return x");
	CHECK_EQ(run("k1", "return x"), LUA_OK);
	CHECK_STR(out, "42");
	klua_execute("k1", "error('logged')");
	klua_execute("nope", "return 1");
	klua_execute("k1", NULL);
	klua_state_list();
	CHECK_EQ(klua_state_destroy("k1"), 0);
	CHECK_EQ(klua_state_destroy("k1"), -1);
	CHECK(klua_state_lookup("k1") == NULL);
	klua_state_destroy_all();
	CHECK(klua_state_lookup("k2") == NULL);
	CHECK(klua_state_create(MIB, "k3") != NULL);
	klua_states_exit();
	CHECK(klua_state_lookup("k3") == NULL);
}

/*
 * The bad-input matrix at the C entry points (tests/test_bad_input.py has
 * it for the Python API on both backends and for raw netlink): every entry
 * that takes a name, with each bad name; maxalloc 0, 1, huge; the chunk
 * cells. After each: the table and a bystander's curralloc are what they
 * were, the state the code ran in is back to its size and runs code.
 * (An embedded NUL cannot be said to a C entry: it ends the name there.)
 */
static void check_bystander(unsigned long long want)
{
	struct lunatik_info infos[4];

	CHECK_EQ(lunatik_ctl_list(infos, 4, 0), 1);
	CHECK_STR(infos[0].name, "bystander");
	CHECK_EQ(infos[0].curralloc, want);
	CHECK_EQ(infos[0].users, 1);
}

/* curralloc once three more full collections free nothing more */
static unsigned long long settle(const char *name)
{
	unsigned long long now = curralloc(name), before;
	int i, j;

	for (i = 0; i < 40; i++) {
		for (j = 0; j < 3; j++)
			CHECK_EQ(run(name, "collectgarbage()"), LUA_OK);
		before = now;
		now = curralloc(name);
		if (now >= before)
			break;
	}
	return now;
}

static void test_bad_input(void)
{
	char n64[LUNATIK_NAME_MAXSIZE + 1], n63[LUNATIK_NAME_MAXSIZE];
	const struct { const char *name; int err; } names[] = {
		{ NULL, -EINVAL }, { "", -EINVAL }, { n64, -ENAMETOOLONG },
		{ "\xff\xfe", -EINVAL }, { "a\xc3(", -EINVAL },
		{ "caf\xc3\xa9", -EINVAL }, { "a b", -EINVAL },
	};
	const struct { const char *code; int status; const char *msg; } codes[] = {
		{ "", LUA_OK, "" },
		{ "return +", LUA_ERRSYNTAX, "lunatik:1: unexpected symbol near '+'" },
		{ "error('boom')", LUA_ERRRUN, "lunatik:1: boom" },
		{ "while true do end", LUA_ERRRUN, "instruction budget exhausted" },
		{ "local function f() return 1 + f() end return f()", LUA_ERRMEM,
		  "not enough memory" },
		{ "local s = 'x' while true do s = s .. s end", LUA_ERRMEM,
		  "not enough memory" },
		{ "local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end",
		  LUA_ERRMEM, "not enough memory" },
	};
	struct lunatik_info info;
	unsigned long long by, empty, now;
	size_t len, i;
	char *huge;

	memset(n64, 'n', sizeof(n64));
	n64[LUNATIK_NAME_MAXSIZE] = '\0';
	memset(n63, 'm', sizeof(n63));
	n63[LUNATIK_NAME_MAXSIZE - 1] = '\0';

	CHECK_EQ(lunatik_ctl_new("bystander", MIB), 0);
	CHECK_EQ(run("bystander", "keep = string.rep('b', 1000)"), LUA_OK);
	by = settle("bystander");

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *name = names[i].name;
		int err = names[i].err;
		lunatik_State *s;

		CHECK_EQ(lunatik_ctl_new(name, MIB), err);
		CHECK_EQ(lunatik_ctl_close(name), err);
		CHECK_EQ(lunatik_ctl_info(name, &info), err);
		len = sizeof(out);
		CHECK_EQ(lunatik_ctl_execute(name, "return 1", 8, out, &len), err);
		CHECK_EQ(len, 0);
		CHECK_STR(out, "");
		s = lunatik_create(MIB, name);
		CHECK(IS_ERR(s) && PTR_ERR(s) == err);
		CHECK_EQ(lunatik_remove(name), err);
		CHECK(lunatik_statelookup(name) == NULL);
		CHECK(lunatik_stateget(name) == NULL);
		CHECK(lunatik_newstate(MIB, name) == NULL);
		CHECK_EQ(lunatik_close(name), -1);
		CHECK(klua_state_create(MIB, name) == NULL);
		CHECK(klua_state_lookup(name) == NULL);
		CHECK_EQ(klua_state_destroy(name), -1);
		check_bystander(by);
	}

	/* 63 bytes: the longest name, accepted by every entry */
	CHECK_EQ(lunatik_ctl_new(n63, MIB), 0);
	CHECK_EQ(lunatik_ctl_info(n63, &info), 0);
	CHECK_STR(info.name, n63);
	CHECK_EQ(run(n63, "return 'long'"), LUA_OK);
	CHECK_STR(out, "long");
	CHECK(lunatik_statelookup(n63) != NULL);
	CHECK_EQ(lunatik_ctl_close(n63), 0);
	CHECK(lunatik_newstate(MIB, n63) != NULL);
	CHECK(klua_state_lookup(n63) != NULL);
	CHECK_EQ(klua_state_destroy(n63), 0);
	check_bystander(by);

	/* maxalloc */
	CHECK_EQ(lunatik_ctl_new("limited", 0), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("limited", 1), -EDQUOT);
	CHECK_EQ(lunatik_ctl_new("limited", (size_t)-1), -EINVAL);
	CHECK_EQ(lunatik_ctl_new("limited", lunatik_limits.max_maxalloc + 1),
		 -EINVAL);
	CHECK(lunatik_newstate(1, "limited") == NULL);
	CHECK(klua_state_create((size_t)-1, "limited") == NULL);
	CHECK_EQ(lunatik_ctl_info("limited", &info), -ENOENT);
	check_bystander(by);

	/* code, in a state of its own */
	CHECK_EQ(lunatik_ctl_new("victim", MIB), 0);
	CHECK_EQ(run("victim", "mark = 'kept'"), LUA_OK);
	empty = settle("victim");
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		CHECK_EQ(run("victim", codes[i].code), codes[i].status);
		CHECK_STR(out, codes[i].msg);
		CHECK(curralloc("victim") <= MIB);
		now = settle("victim");
		CHECK(now >= empty && now <= empty + 2048);
		CHECK_EQ(run("victim", "return mark, 1 + 1"), LUA_OK);
		CHECK_STR(out, "kept\t2");
	}
	/* C levels: nested resumes stop at Lua's C-stack limit */
	CHECK_EQ(run("victim", "local function f() return coroutine.wrap(f)() end "
			       "return f()"), LUA_ERRRUN);
	CHECK(strlen(out) >= 16 &&
	      strcmp(out + strlen(out) - 16, "C stack overflow") == 0);
	/* a binary chunk: its length, not strlen */
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("victim", "\x1bLua\x54\x00\x19\x93\r\n\x1a\n",
				     12, out, &len), LUA_ERRSYNTAX);
	CHECK_STR(out, "attempt to load a binary chunk (mode is 't')");
	/* no code at all: NULL with length 0 is the empty chunk */
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("victim", NULL, 0, out, &len), LUA_OK);
	CHECK_EQ(len, 0);
	/* huge: one past max_code, and far past */
	huge = malloc(lunatik_limits.max_code * 4);
	memset(huge, ' ', lunatik_limits.max_code * 4);
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("victim", huge, lunatik_limits.max_code + 1,
				     out, &len), -E2BIG);
	len = sizeof(out);
	CHECK_EQ(lunatik_ctl_execute("victim", huge, lunatik_limits.max_code * 4,
				     out, &len), -E2BIG);
	CHECK_EQ(len, 0);
	free(huge);
	now = settle("victim");
	CHECK(now >= empty && now <= empty + 2048);
	CHECK_EQ(run("victim", "return mark"), LUA_OK);
	CHECK_STR(out, "kept");
	CHECK_EQ(lunatik_ctl_close("victim"), 0);
	check_bystander(by);
	CHECK_EQ(lunatik_ctl_close("bystander"), 0);
	CHECK_EQ(lunatik_ctl_list(&info, 1, 0), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	CHECK_EQ(lunatik_states_init(), 0);
	test_names();
	test_maxalloc();
	test_empty_state();
	test_execute();
	test_budget();
	test_memory();
	test_refcount();
	test_control();
	test_lunatik_generation();
	test_bad_input();
	test_klua_generation();
	CHECK_EQ(lunatik_ctl_close_all(), 0);
	lunatik_states_exit();
	return ctest_finish("lunatik-ctest");
}
