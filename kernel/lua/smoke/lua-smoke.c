// SPDX-License-Identifier: GPL-2.0
/*
 * User-space smoke test of the integer-only Lua port (make lua-check).
 * Built with -mgeneral-regs-only like the user-space library, so it also
 * proves that the port compiles without floating point.
 *
 *   lua-smoke          runs the behaviour checks below, exit 1 on failure
 *   lua-smoke --stack  measures the C stack each deep-recursion scenario
 *                      uses, running it on a painted thread stack
 *   lua-smoke CODE     runs one chunk and prints its results
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualibs.h"

struct check {
	const char *code;
	const char *want;	/* results joined by tabs, or "error: ..." */
};

static const struct check checks[] = {
	/* integers, as stock Lua */
	{ "return 1 + 2, 7 // 2, -7 // 2, 7 % 3, -7 % 3, 3 - 5 * 2",
	  "3\t3\t-4\t1\t2\t-7" },
	{ "return 9223372036854775807 + 1, 0xffffffffffffffff, 1 << 63",
	  "-9223372036854775808\t-1\t-9223372036854775808" },
	{ "return (-9223372036854775807 - 1) // -1, 5 & 3, 5 | 3, 5 ~ 3, ~0",
	  "-9223372036854775808\t1\t7\t6\t-1" },
	{ "return 1 // 0", "error: attempt to divide by zero" },
	{ "return 1 % 0", "error: attempt to perform 'n%0'" },
	/* '/' and '^' give integral "floats" */
	{ "return 7 / 2, 6 / 2, -7 / 2, 2 ^ 10, 2 ^ -1, (-2) ^ -1",
	  "3.0\t3.0\t-4.0\t1024.0\t0.0\t-1.0" },
	{ "return 7 / 2 == 3, 6 / 2 == 3, 7 / 2 < 4, (7 / 2) // 2, (7 / 2) % 2",
	  "true\ttrue\ttrue\t1.0\t1.0" },
	{ "return (-9223372036854775807 - 1) / -1, 2 ^ 63, -(7 / 2)",
	  "-9223372036854775808.0\t-9223372036854775808.0\t-3.0" },
	{ "return 1 / 0", "error: attempt to divide by zero" },
	{ "local z = 0 return (7 / 2) // z", "error: attempt to divide by zero" },
	{ "local z = 0 return (7 / 2) % z", "error: attempt to perform 'n%0'" },
	{ "local z = 0 return z ^ -1", "error: attempt to perform '0^-n'" },
	{ "local t = {} t[6 / 2] = 'x' return t[3], math_type",
	  "x\tnil" },
	{ "local s = 0 for i = 1, 10 / 3 do s = s + i end return s", "6" },
	{ "local s = 0 for i = 6 / 2, 1, -1 do s = s + i end return s", "6.0" },
	/* numerals: integers only */
	{ "return 1.5", "error: malformed number near '1.5'" },
	{ "return 1e3", "error: malformed number near '1e3'" },
	{ "return 0x1p4", "error: malformed number near '0x1p4'" },
	{ "return 9223372036854775808",
	  "error: malformed number near '9223372036854775808'" },
	{ "return tonumber('10'), tonumber(' 0x10 '), tonumber('1.5'), "
	  "tonumber('1e3'), tonumber('z', 36), '10' + 1",
	  "10\t16\tnil\tnil\t35\t11" },
	{ "return '1.5' + 1", "error: attempt to add a 'string' with a 'number'" },
	/* libraries: base, string, table, utf8, coroutine only */
	{ "return math, io, os, package, debug, require, dofile, loadfile",
	  "nil\tnil\tnil\tnil\tnil\tnil\tnil\tnil" },
	{ "return type(string), type(table), type(utf8), type(coroutine), _VERSION",
	  "table\ttable\ttable\ttable\tLua 5.4" },
	{ "return string.format('%d %s %5.2f|%g|%x|%5.1e|%q|%a', 42, 'hi', 7, "
	  "7 / 2, 255, 3, 7 / 2, 1)",
	  "42 hi     7|3|ff|    3|3|1" },
	{ "return string.format('%5.2s|%-4d|%+d|%q', 'abc', 7, 7, 'a\\nb')",
	  "   ab|7   |+7|\"a\\\nb\"" },
	{ "return ('hello world'):gsub('o', '0'), ('key=val'):match('(%w+)=(%w+)')",
	  "hell0 w0rld\tkey\tval" },
	{ "return ('abc'):rep(3, '-'), ('Hello'):upper(), #('x'):rep(1000), "
	  "('%a'):find('%', 1, true)",
	  "abc-abc-abc\tHELLO\t1000\t1\t1" },
	{ "return #string.pack('n', 7), string.unpack('n', string.pack('n', 7 / 2)), "
	  "string.unpack('<i4', string.pack('<i4', -2))",
	  "8\t3.0\t-2\t5" },
	{ "return string.pack('d', 1)", "error: invalid format option 'd'" },
	{ "return string.pack('f', 1)", "error: invalid format option 'f'" },
	{ "local t = {5, 2, 8, 1} table.sort(t) table.insert(t, 9) "
	  "return table.concat(t, ','), table.remove(t), table.unpack({1, 2})",
	  "1,2,5,8,9\t9\t1\t2" },
	{ "local t = {} for i = 1, 200 do t[i] = (i * 7919) % 211 end "
	  "table.sort(t, function(a, b) return a > b end) return t[1], t[200]",
	  "210\t1" },
	{ "return utf8.char(72, 228, 8364), utf8.len('h\\u{e4}ll\\u{20ac}'), "
	  "utf8.codepoint('\\u{20ac}')",
	  "H\xc3\xa4\xe2\x82\xac\t5\t8364" },
	{ "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) "
	  "return b * 2 end) return co(1), co(5)", "2\t10" },
	{ "local co = coroutine.create(function() error('x') end) "
	  "return coroutine.resume(co)", "false\tsmoke:1: x" },
	{ "return load('return 1 + 1')(), select('#', load(string.dump(function() end)))",
	  "2\t2" },
	{ "return load(string.dump(function() end), 'b', 'b')",
	  "nil\tattempt to load a binary chunk (mode is 't')" },
	{ "print('lua-smoke print:', 1, 7 / 2, nil) return 'printed'", "printed" },
	{ "return pcall(error, {}) , select(2, pcall(error, 'e', 0))",
	  "false\te" },
	/* limits */
	{ "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end "
	  "return f(10000)", "10000" },
	{ "local function f(n) return 1 + f(n + 1) end return f(1)",
	  "error: stack overflow" },
	{ "local n = 0 local function f() n = n + 1 pcall(f) end f() "
	  "return n > 180, n <= 200", "true\ttrue" },
	{ "local function f() return f() end", "" },
	{ "return load('return ' .. ('('):rep(150) .. '1' .. (')'):rep(150))()",
	  "1" },
	{ "return load('return ' .. ('('):rep(250) .. '1' .. (')'):rep(250))",
	  "nil\tC stack overflow" },
	/* string patterns: 32 levels of matcher recursion (a capture takes 2) */
	{ "return ('a'):rep(40):find(('a?'):rep(20))", "1\t20" },
	{ "return ('a'):rep(40):find(('a?'):rep(40))",
	  "error: pattern too complex" },
	{ "return ('a'):rep(20):find(('(a)'):rep(15))",
	  "1\t15\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta\ta" },
	{ "return ('a'):rep(20):find(('(a)'):rep(16))",
	  "error: pattern too complex" },
	{ "return collectgarbage('count') > 0, collectgarbage('step') ~= nil",
	  "true\ttrue" },
};

/* Runs code in L; leaves the results (or the error) as one string. */
static int run(lua_State *L, const char *code)
{
	int base = lua_gettop(L), status, i, n;
	luaL_Buffer b;

	status = luaL_loadbufferx(L, code, strlen(code), "=smoke", "t");
	if (status == LUA_OK)
		status = lua_pcall(L, 0, LUA_MULTRET, 0);
	if (status != LUA_OK) {
		lua_pushfstring(L, "error: %s", lua_tostring(L, -1));
		lua_insert(L, base + 1);
		lua_settop(L, base + 1);
		return status;
	}
	n = lua_gettop(L) - base;
	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		luaL_tolstring(L, base + i, NULL);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	lua_insert(L, base + 1);
	lua_settop(L, base + 1);
	return status;
}

static lua_State *newstate(void)
{
	lua_State *L = luaL_newstate();

	if (!L)
		return NULL;
	lua_pushcfunction(L, lunatik_openlibs);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		fprintf(stderr, "openlibs: %s\n", lua_tostring(L, -1));
		lua_close(L);
		return NULL;
	}
	return L;
}

static int run_checks(void)
{
	size_t i, failed = 0, n = sizeof(checks) / sizeof(checks[0]);

	for (i = 0; i < n; i++) {
		lua_State *L = newstate();
		const char *got;
		int ok;

		if (!L)
			return 1;
		run(L, checks[i].code);
		got = lua_tostring(L, -1);
		if (strncmp(checks[i].want, "error: ", 7) == 0)
			ok = strncmp(got, "error: ", 7) == 0 &&
			     strstr(got, checks[i].want + 7) != NULL;
		else
			ok = strcmp(got, checks[i].want) == 0;
		if (!ok) {
			failed++;
			printf("FAIL %s\n  want: %s\n  got:  %s\n",
			       checks[i].code, checks[i].want, got);
		}
		lua_close(L);
	}
	printf("lua-smoke: %zu checks, %zu failed\n", n, failed);
	return failed != 0;
}

/* ---- stack measurement ---- */

#define STACK_SIZE	(8 << 20)
#define PAINT		0xa5

struct scenario {
	const char *name;
	const char *code;
};

/* Each recurses through C until Lua stops it at LUAI_MAXCCALLS. */
static const struct scenario scenarios[] = {
	{ "baseline", "return 1" },
	{ "pcall", "local function f() return pcall(f) end return (f())" },
	{ "xpcall", "local function f() return xpcall(f, tostring) end return (f())" },
	{ "error handler", "local function h(m) error(m) end "
	  "return xpcall(error, h, 'x')" },
	{ "__index", "local t = setmetatable({}, {__index = function(t, k) "
	  "return t[k] end}) return pcall(function() return t.x end)" },
	{ "__tostring", "local t = setmetatable({}, {__tostring = function(t) "
	  "return tostring(t) end}) return pcall(tostring, t)" },
	{ "__concat", "local t t = setmetatable({}, {__concat = function(a, b) "
	  "return t .. 1 end}) return pcall(function() return t .. 1 end)" },
	{ "__lt", "local t t = setmetatable({}, {__lt = function(a, b) "
	  "return t < t end}) return pcall(function() return t < t end)" },
	{ "__eq", "local mt = {} mt.__eq = function(a, b) "
	  "return setmetatable({}, mt) == setmetatable({}, mt) end "
	  "return pcall(function() return setmetatable({}, mt) == setmetatable({}, mt) end)" },
	{ "string.gsub", "local function f(s) return (s:gsub('.', f)) end "
	  "return pcall(f, 'x')" },
	{ "string.format %s", "local t = setmetatable({}, {__tostring = function(t) "
	  "return string.format('%s', t) end}) return pcall(tostring, t)" },
	{ "table.sort", "local function f() table.sort({1, 2, 3}, "
	  "function(a, b) f() return a < b end) end return pcall(f)" },
	{ "table.concat __index", "local t = setmetatable({}, {__index = function(t, k) "
	  "return table.concat(t, ',', 1, 1) end}) return pcall(table.concat, t, ',', 1, 1)" },
	{ "coroutine.wrap", "local function f() return coroutine.wrap(f)() end "
	  "return pcall(f)" },
	{ "coroutine.resume", "local function f() return coroutine.resume("
	  "coroutine.create(f)) end return f()" },
	{ "load reader", "local function f() return load(function() f() end) end "
	  "return pcall(f)" },
	{ "parser ( )", NULL },	/* built at run time: "return ((((...1)))" */
	{ "parser { }", NULL },
	{ "parser function", NULL },
	{ "parser unary", NULL },
};

struct job {
	const char *code;
	char result[128];
};

static void *job_run(void *arg)
{
	struct job *job = arg;
	lua_State *L = newstate();

	if (!L) {
		snprintf(job->result, sizeof(job->result), "no state");
		return NULL;
	}
	run(L, job->code);
	snprintf(job->result, sizeof(job->result), "%.100s",
		 lua_tostring(L, -1));
	lua_close(L);
	return NULL;
}

static size_t measure(const char *code, char *result, size_t len)
{
	unsigned char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_attr_t attr;
	pthread_t t;
	struct job job = { .code = code };
	size_t i;

	if (stack == MAP_FAILED)
		return 0;
	memset(stack, PAINT, STACK_SIZE);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, STACK_SIZE);
	pthread_create(&t, &attr, job_run, &job);
	pthread_join(t, NULL);
	for (i = 0; i < STACK_SIZE && stack[i] == PAINT; i++)
		;
	snprintf(result, len, "%s", job.result);
	munmap(stack, STACK_SIZE);
	return STACK_SIZE - i;
}

static char *repeat(const char *pre, const char *mid, const char *post,
		    int n)
{
	size_t lp = strlen(pre), lm = strlen(mid), lq = strlen(post);
	char *s = malloc(8 + n * (lp + lq) + lm), *p = s;
	int i;

	p += sprintf(p, "return ");
	for (i = 0; i < n; i++, p += lp)
		memcpy(p, pre, lp);
	memcpy(p, mid, lm);
	p += lm;
	for (i = 0; i < n; i++, p += lq)
		memcpy(p, post, lq);
	*p = '\0';
	return s;
}

static int run_stack(void)
{
	size_t i, n = sizeof(scenarios) / sizeof(scenarios[0]), base = 0;
	char result[128];

	printf("LUAI_MAXCCALLS = %d, LUAL_BUFFERSIZE = %d\n",
	       LUAI_MAXCCALLS, LUAL_BUFFERSIZE);
	printf("%-22s %8s %8s  %s\n", "scenario", "bytes", "-base", "result");
	for (i = 0; i < n; i++) {
		char *code = (char *)scenarios[i].code, *own = NULL;
		size_t used;

		if (!code) {
			if (strstr(scenarios[i].name, "( )"))
				own = repeat("(", "1", ")", 1000);
			else if (strstr(scenarios[i].name, "{ }"))
				own = repeat("{", "1", "}", 1000);
			else if (strstr(scenarios[i].name, "function"))
				own = repeat("function() return ", "1", " end",
					     1000);
			else
				own = repeat("- ", "1", "", 1000);
			code = own;
		}
		used = measure(code, result, sizeof(result));
		if (i == 0)
			base = used;
		printf("%-22s %8zu %8zd  %.60s\n", scenarios[i].name, used,
		       (ssize_t)(used - base), result);
		free(own);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--stack") == 0)
		return run_stack();
	if (argc > 1) {
		lua_State *L = newstate();
		int status;

		if (!L)
			return 1;
		status = run(L, argv[1]);
		printf("%s\n", lua_tostring(L, -1));
		lua_close(L);
		return status != LUA_OK;
	}
	return run_checks();
}
