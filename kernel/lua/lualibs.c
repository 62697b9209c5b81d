// SPDX-License-Identifier: GPL-2.0
/*
 * The libraries of a Lunatik state, and the helpers of our integer-only
 * luaconf.h: "float" arithmetic, numeral parsing, formatting, the string
 * hash seed and output. Built into both the kernel module and the
 * user-space library (where -mgeneral-regs-only forbids floating point).
 */
#define LUA_LIB
#define LUA_CORE	/* we raise errors with luaG_runerror, as the VM does */

#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#else
#include <stdint.h>
#include <stdio.h>
#endif
#include <stdarg.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "ldebug.h"

#include "lualibs.h"

/* ---- output ---- */

#ifdef __KERNEL__
static void lunatik_writeline(const char *s, size_t l)
{
	pr_info("lunatik: %.*s\n", (int)min_t(size_t, l, INT_MAX), s);
}

void lunatik_writestring(const char *s, size_t l)
{
	pr_info("lunatik: %.*s\n", (int)min_t(size_t, l, INT_MAX), s);
}

void lunatik_writestringerror(const char *fmt, const char *p)
{
	char buf[128];

	snprintf(buf, sizeof(buf), fmt, p);
	pr_warn("lunatik: %s", buf);
}
#else
static void lunatik_writeline(const char *s, size_t l)
{
	fwrite(s, 1, l, stderr);
	fputc('\n', stderr);
}

void lunatik_writestring(const char *s, size_t l)
{
	fwrite(s, 1, l, stderr);
}

void lunatik_writestringerror(const char *fmt, const char *p)
{
	fprintf(stderr, fmt, p);
	fflush(stderr);
}
#endif

/* print(...): tostring of each argument, tab-separated, as one line */
static int lunatik_print(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	const char *s;
	size_t l;
	int i;

	luaL_buffinit(L, &b);
	for (i = 1; i <= n; i++) {
		luaL_tolstring(L, i, NULL);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	s = lua_tolstring(L, -1, &l);
	lunatik_writeline(s, l);
	return 0;
}

/* load(chunk [, chunkname [, mode [, env]]]) with mode forced to "t" */
static int lunatik_load(lua_State *L)
{
	if (lua_gettop(L) < 3)
		lua_settop(L, 3);	/* keeps env absent when it was absent */
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_pushvalue(L, lua_upvalueindex(1));	/* the original load */
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/*
 * setmetatable(t, mt) as luaB_setmetatable, but refusing a metatable with
 * a __gc field. Lua marks an object for finalization only when its
 * metatable has __gc (read raw, any value but nil) at this moment, and
 * runs finalizers with hooks off, so the instruction budget could not stop
 * one, nor could anything stop one run by lua_close. No other way marks
 * objects of Lua code here (the debug library is not opened); the only
 * finalizer left is lauxlib's buffer box, which just frees its block.
 */
static int lunatik_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (l_unlikely(luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL))
		return luaL_error(L, "cannot change a protected metatable");
	if (t == LUA_TTABLE) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "__gc metamethods are not supported: "
					  "finalizers run outside the "
					  "instruction budget");
	}
	lua_settop(L, 2);
	lua_setmetatable(L, 1);
	return 1;
}

static const luaL_Reg lunatik_libs[] = {
	{LUA_GNAME, luaopen_base},
	{LUA_COLIBNAME, luaopen_coroutine},
	{LUA_TABLIBNAME, luaopen_table},
	{LUA_STRLIBNAME, luaopen_string},
	{LUA_UTF8LIBNAME, luaopen_utf8},
	{NULL, NULL}
};

int lunatik_openlibs(lua_State *L)
{
	const luaL_Reg *lib;

	for (lib = lunatik_libs; lib->func; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}

	lua_pushglobaltable(L);
	lua_pushnil(L);
	lua_setfield(L, -2, "dofile");
	lua_pushnil(L);
	lua_setfield(L, -2, "loadfile");
	lua_pushcfunction(L, lunatik_print);
	lua_setfield(L, -2, "print");
	lua_pushcfunction(L, lunatik_setmetatable);
	lua_setfield(L, -2, "setmetatable");
	lua_getfield(L, -1, "load");
	lua_pushcclosure(L, lunatik_load, 1);
	lua_setfield(L, -2, "load");
	lua_pop(L, 1);
	return 0;
}

/* ---- "float" arithmetic on 64-bit integers (see luaconf.h) ---- */

#define U(x)	((unsigned long long)(x))

static long long floordiv(long long a, long long b)
{
	long long q;

	if (b == -1)		/* LLONG_MIN / -1 would trap */
		return (long long)(0 - U(a));
	q = a / b;
	if (a % b != 0 && (a ^ b) < 0)
		q--;
	return q;
}

long long lunatik_numdiv(lua_State *L, long long a, long long b)
{
	if (l_unlikely(b == 0))
		luaG_runerror(L, "attempt to divide by zero");
	return floordiv(a, b);
}

long long lunatik_numidiv(lua_State *L, long long a, long long b)
{
	if (l_unlikely(b == 0))
		luaG_runerror(L, "attempt to divide by zero");
	return floordiv(a, b);
}

long long lunatik_nummod(lua_State *L, long long a, long long b)
{
	long long r;

	if (l_unlikely(b == 0))
		luaG_runerror(L, "attempt to perform 'n%%0'");
	if (b == -1)
		return 0;
	r = a % b;
	if (r != 0 && (r ^ b) < 0)
		r += b;
	return r;
}

long long lunatik_numpow(lua_State *L, long long a, long long b)
{
	unsigned long long r = 1, base = U(a), e;

	if (b < 0) {		/* floor(1 / a^-b) */
		if (a == 0)
			luaG_runerror(L, "attempt to perform '0^-n'");
		if (a == 1)
			return 1;
		if (a == -1)
			return (b & 1) ? -1 : 1;
		return (a < 0 && (b & 1)) ? -1 : 0;
	}
	for (e = U(b); e; e >>= 1) {
		if (e & 1)
			r *= base;
		base *= base;
	}
	return (long long)r;
}

/* ---- numerals and formatting ---- */

long long lunatik_str2number(const char *s, char **endptr)
{
	const char *p = s;
	unsigned long long a = 0, max;
	int neg = 0, digits = 0;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '-' || *p == '+')
		neg = (*p++ == '-');
	max = neg ? U(LLONG_MAX) + 1 : U(LLONG_MAX);
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		unsigned int d = *p - '0';

		if (a > (max - d) / 10)
			goto fail;	/* overflow: not a number */
		a = a * 10 + d;
	}
	if (!digits)
		goto fail;
	*endptr = (char *)p;
	return neg ? (long long)(0 - a) : (long long)a;
fail:
	*endptr = (char *)s;
	return 0;
}

#define FMT_MAX	64

/*
 * snprintf with every float conversion (a A e E f F g G) rewritten as
 * "%lld" keeping flags (but '#') and width: Lua passes lua_Number, a long
 * long, for them. Lua's formats are at most 32 characters (MAX_FORMAT in
 * lstrlib.c); a longer one gives an empty result rather than a mismatch
 * between a conversion and its argument.
 */
int lunatik_snprintf(char *s, size_t sz, const char *fmt, ...)
{
	char form[FMT_MAX];
	const char *f = fmt;
	size_t n = 0;
	va_list ap;
	int ret;

	while (*f && n < FMT_MAX - 8) {
		const char *spec;
		size_t w;

		if (*f != '%') {
			form[n++] = *f++;
			continue;
		}
		spec = f++;
		if (*f == '%') {
			form[n++] = '%';
			form[n++] = *f++;
			continue;
		}
		f += strspn(f, "-+ #0");
		f += strspn(f, "0123456789");
		if (*f == '.')
			f += 1 + strspn(f + 1, "0123456789");
		f += strspn(f, "hlLqjzt");
		if (*f && strchr("aAeEfFgG", *f)) {
			form[n++] = '%';
			for (spec++; strchr("-+ #0", *spec); spec++)
				if (*spec != '#' && n < FMT_MAX - 8)
					form[n++] = *spec;
			w = strspn(spec, "0123456789");
			if (n + w >= FMT_MAX - 8)
				break;
			memcpy(form + n, spec, w);
			n += w;
			memcpy(form + n, "lld", 3);
			n += 3;
			f++;
			continue;
		}
		if (*f)
			f++;
		w = f - spec;
		if (n + w >= FMT_MAX - 8)
			break;
		memcpy(form + n, spec, w);
		n += w;
	}
	if (*f) {		/* did not fit */
		if (sz)
			s[0] = '\0';
		return 0;
	}
	form[n] = '\0';
	va_start(ap, fmt);
	ret = vsnprintf(s, sz, form, ap);
	va_end(ap);
	return ret;
}

/* ---- C stack guard (kernel) ---- */

#ifdef __KERNEL__
/*
 * LUAI_MAXCCALLS, evaluated where Lua checks its C-level count (see
 * luaconf.h): the count limit while enough of the task stack is left;
 * below the soft reserve, the current count (so the check raises "C stack
 * overflow"); below the hard reserve, 0 (so it raises "error in error
 * handling", which calls no handler). Off the task stack (never expected:
 * Lua runs in process context) every new level fails.
 */
unsigned int lunatik_cstacklimit(lua_State *L)
{
	unsigned long sp = (unsigned long)__builtin_frame_address(0);
	unsigned long base = (unsigned long)task_stack_page(get_current());
	unsigned long left = sp - base;

	if (sp < base || left >= THREAD_SIZE)
		return getCcalls(L);
	if (left < LUNATIK_CSTACK_HARD)
		return 0;
	if (left < LUNATIK_CSTACK_SOFT)
		return getCcalls(L);
	return LUNATIK_MAXCCALLS;
}
#endif

/* ---- string hash seed ---- */

unsigned int lunatik_makeseed(lua_State *L)
{
#ifdef __KERNEL__
	return get_random_u32();
#else
	uintptr_t h = (uintptr_t)L ^ ((uintptr_t)&h >> 4) ^
		      ((uintptr_t)&lunatik_makeseed << 7);

	return (unsigned int)(h ^ (h >> 32));
#endif
}
