// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module (kernel/lua/measure/run.sh): how much kernel stack Lua
 * recursion uses. Each scenario runs in a fresh state in a kthread whose
 * stack is painted below its frame; the deepest overwritten word gives the
 * high-water mark, which is printed with the chunk's first result. Every
 * scenario runs twice, the second time after using 3000 bytes of stack
 * (standing for the syscall and netlink path). Init then fails on purpose
 * (-EAGAIN) so that nothing stays loaded.
 */
#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualibs.h"

#define PAINTW 0xa5a5a5a5a5a5a5a5UL

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	if (nsize == 0) { kfree(ptr); return NULL; }
	return krealloc(ptr, nsize, GFP_KERNEL);
}

struct job { const char *code; char res[80]; size_t used; int pre; struct completion done; };

static noinline void paint(void)
{
	unsigned long *lo = end_of_stack(current) + 1;
	unsigned long *hi = (unsigned long *)__builtin_frame_address(0) - 64;
	while (lo < hi) *lo++ = PAINTW;
}

static size_t highwater(void)
{
	unsigned long *p = end_of_stack(current) + 1;
	while (*p == PAINTW) p++;
	return (unsigned long)task_stack_page(current) + THREAD_SIZE - (unsigned long)p;
}

static noinline int runlua(struct job *j);
static noinline int burn2(struct job *j)
{
	volatile char buf[1500];
	buf[0] = 1;
	return runlua(j) + buf[0];
}
static noinline int burn1(struct job *j)
{
	volatile char buf[1500];
	buf[0] = 1;
	return burn2(j) + buf[0];
}
static int runner(void *arg)
{
	struct job *j = arg;

	paint();
	if (j->pre)
		burn1(j);
	else
		runlua(j);
	j->used = highwater();
	complete(&j->done);
	return 0;
}

static noinline int runlua(struct job *j)
{
	lua_State *L;
	int st;
	const char *r;

	L = lua_newstate(alloc, NULL);
	lua_pushcfunction(L, lunatik_openlibs);
	lua_pcall(L, 0, 0, 0);
	st = luaL_loadbufferx(L, j->code, strlen(j->code), "=m", "t");
	if (!st)
		st = lua_pcall(L, 0, 1, 0);
	r = lua_tostring(L, -1);
	snprintf(j->res, sizeof(j->res), "%d %s", st, r ? r : "?");
	lua_close(L);
	return 0;
}

static const char *const sc[][2] = {
	{ "baseline", "return 1" },
	{ "pcall", "local n = 0 local function f() n = n + 1 return pcall(f) end f() return n" },
	{ "error handler", "local function h(m) error(m) end return xpcall(error, h, 'x')" },
	{ "__index", "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return select(2, pcall(function() return t.x end))" },
	{ "__tostring", "local t = setmetatable({}, {__tostring = function(t) return tostring(t) end}) return select(2, pcall(tostring, t))" },
	{ "__concat", "local t t = setmetatable({}, {__concat = function(a, b) return t .. 1 end}) return select(2, pcall(function() return t .. 1 end))" },
	{ "__lt", "local t t = setmetatable({}, {__lt = function(a, b) return t < t end}) return select(2, pcall(function() return t < t end))" },
	{ "string.gsub", "local function f(s) return (s:gsub('.', f)) end return select(2, pcall(f, 'x'))" },
	{ "string.format %s", "local t = setmetatable({}, {__tostring = function(t) return string.format('%s', t) end}) return select(2, pcall(tostring, t))" },
	{ "table.sort", "local function f() table.sort({1, 2, 3}, function(a, b) f() return a < b end) end return select(2, pcall(f))" },
	{ "table.concat __index", "local t = setmetatable({}, {__index = function(t, k) return table.concat(t, ',', 1, 1) end}) return select(2, pcall(table.concat, t, ',', 1, 1))" },
	{ "coroutine.wrap", "local function f() return coroutine.wrap(f)() end return select(2, pcall(f))" },
	{ "coroutine.resume", "local n = 0 local function f() n = n + 1 coroutine.resume(coroutine.create(f)) end f() return n" },
	{ "load reader", "local function f() return load(function() f() end) end return select(2, pcall(f))" },
	{ "gsub pattern", "return select(2, pcall(string.find, string.rep('a', 100), string.rep('a?', 100)))" },
	{ "xpcall handler errs", "local function h(m) local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x end local function f() return xpcall(f, h) end return select(2, pcall(f))" },
	{ "gsub+pattern", "local p = string.rep('a?', 30) local function f(s) return (s:gsub('.', function(c) string.find(string.rep('a', 40), p) return f(c) end)) end return select(2, pcall(f, 'x'))" },
	{ "print deep", "local function f(n) print(n) return pcall(f, n + 1) end return select(2, f(1))" },
	{ "nested ok code", "local s = 0 for i = 1, 3 do if i > 1 then local function g(x) return (x + (i * (2 + (3 - (4 // 1))))) end s = s + g(i) end end return s" },
	{ "parser ( )", "return load('return ' .. string.rep('(', 300) .. '1' .. string.rep(')', 300))" },
	{ "parser function", "return load('return ' .. string.rep('function() return ', 300) .. '1' .. string.rep(' end', 300))" },
	{ "parser if", "return load(string.rep('if x then ', 300) .. string.rep(' end', 300))" },
	{ "parser table", "return load('return ' .. string.rep('{', 300) .. string.rep('}', 300))" },
	{ "parser unary", "return load('return ' .. string.rep('- ', 300) .. '1')" },
	{ "parser concat", "return load('return ' .. string.rep('a .. ', 300) .. '1')" },
	{ "parser pow", "return load('return ' .. string.rep('2 ^ ', 300) .. '1')" },
};

static int levels[] = { 0, 3000 };

static int __init lm_init(void)
{
	int i, k;
	static struct job j;

	pr_info("lmeasure: THREAD_SIZE=%lu\n", (unsigned long)THREAD_SIZE);
	for (k = 0; k < ARRAY_SIZE(levels); k++) {
		j.pre = levels[k];
		for (i = 0; i < ARRAY_SIZE(sc); i++) {
			struct task_struct *t;

			j.code = sc[i][1];
			init_completion(&j.done);
			t = kthread_run(runner, &j, "lmeasure");
			if (!wait_for_completion_timeout(&j.done, 10 * HZ)) {
				pr_info("lmeasure: pre=%d %s: no completion (overflow?)\n", levels[k], sc[i][0]);
				return -EAGAIN;
			}
			pr_info("lmeasure: pre=%d %-22s %6zu  %s\n", levels[k], sc[i][0], j.used, j.res);
			msleep(1);
		}
	}
	return -EAGAIN;	/* do not stay loaded */
}
module_init(lm_init);
MODULE_LICENSE("GPL");
