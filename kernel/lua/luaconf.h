/*
** Configuration file for the Lunatik port of Lua 5.4.8.
** Written for lunatik-bpf: the macros that Lua's sources expect from their
** luaconf.h, with the values this port needs.
**
** This file replaces upstream luaconf.h (it is found first through -I) for
** both builds of Lua:
**   - the kernel module (__KERNEL__): our freestanding libc surface is in
**     kernel/lua/include and kernel/lua/klibc.c;
**   - the user-space library (glibc), compiled with -mgeneral-regs-only,
**     which turns any floating-point use into a build error.
**
** Numbers are integer-only: lua_Number is 'long long', like lua_Integer.
** Lua still distinguishes the two subtypes ("float" values are produced by
** '/' and '^' and print with a ".0"), but every float is integral and no
** floating-point instruction is ever generated. kernel/lua/README.md lists
** what differs from stock Lua 5.4.8.
*/

#ifndef luaconf_h
#define luaconf_h

#include <limits.h>
#include <stddef.h>

/*
** {==================================================================
** System configuration
** ===================================================================
*/

/* 'int' has at least 32 bits */
#define LUAI_IS32INT	((UINT_MAX >> 30) >= 3)

#if defined(__KERNEL__) && (defined(LUA_CORE) || defined(LUA_LIB))
/* the kernel's 'current' (the running task) clashes with llex.h */
#undef current
#endif

#if defined(__KERNEL__)
/*
** No computed gotos in the interpreter: with retpolines each one would be
** an indirect jump through a thunk, which objtool cannot follow. The
** switch-based dispatch is compiled without jump tables by Kbuild.
*/
#define LUA_USE_JUMPTABLE	0
#endif

/* }================================================================== */


/*
** {==================================================================
** Paths (the package library is not built; kept for completeness)
** ===================================================================
*/
#define LUA_PATH_SEP		";"
#define LUA_PATH_MARK		"?"
#define LUA_EXEC_DIR		"!"
#define LUA_VDIR		LUA_VERSION_MAJOR "." LUA_VERSION_MINOR
#define LUA_PATH_DEFAULT	""
#define LUA_CPATH_DEFAULT	""
#define LUA_DIRSEP		"/"
#define LUA_IGMARK		"-"
/* }================================================================== */


/*
** {==================================================================
** Marks for exported symbols in the C code
** ===================================================================
*/
#define LUA_API		extern
#define LUALIB_API	LUA_API
#define LUAMOD_API	LUA_API

#if defined(__KERNEL__)
#define LUAI_FUNC	extern
#else
/* internal to the shared library, as upstream */
#define LUAI_FUNC	__attribute__((visibility("internal"))) extern
#endif

#define LUAI_DDEC(dec)	LUAI_FUNC dec
#define LUAI_DDEF	/* empty */
/* }================================================================== */


/*
** {==================================================================
** Numbers: integer-only
** ===================================================================
*/

/* predefined options, kept for code that tests them */
#define LUA_INT_INT		1
#define LUA_INT_LONG		2
#define LUA_INT_LONGLONG	3
#define LUA_INT_TYPE		LUA_INT_LONGLONG
#define LUA_FLOAT_TYPE		0	/* none: "floats" are integers */
#define LUA_32BITS		0
#define LUA_C89_NUMBERS		0

#define LUA_INTEGER		long long
#define LUA_INTEGER_FRMLEN	"ll"
#define LUA_MAXINTEGER		LLONG_MAX
#define LUA_MININTEGER		LLONG_MIN
#define LUA_MAXUNSIGNED		ULLONG_MAX
#define LUA_INTEGER_FMT		"%" LUA_INTEGER_FRMLEN "d"
#define LUAI_UACINT		LUA_INTEGER
#define LUA_UNSIGNED		unsigned LUAI_UACINT

#define lua_integer2str(s,sz,n)  \
	l_sprintf((s), sz, LUA_INTEGER_FMT, (LUAI_UACINT)(n))

/*
** The "float" type is the same 64-bit integer. Its default argument
** promotion is itself, so '%f' in lua_pushfstring reads a long long.
*/
#define LUA_NUMBER		long long
#define LUAI_UACNUMBER		long long
#define LUA_NUMBER_FRMLEN	"ll"
#define LUA_NUMBER_FMT		"%lld"
#define LUAI_NUMFFORMAT		LUA_NUMBER_FMT

#define lua_number2str(s,sz,n)  \
	l_sprintf((s), sz, LUA_NUMBER_FMT, (LUAI_UACNUMBER)(n))

/* every "float" is integral and in range */
#define l_floor(x)		(x)
#define lua_numbertointeger(n,p)	((*(p) = (LUA_INTEGER)(n)), 1)

/*
** Attributes of the float type (l_floatatt): a 64-bit mantissa makes the
** VM treat every integer as exactly representable (lvm.c, l_intfitsf), and
** MAX_10_EXP sizes string.format's buffer for '%f'.
*/
#define LUNATIK_NUM_MANT_DIG	64
#define LUNATIK_NUM_MAX_10_EXP	19
#define l_floatatt(n)		(LUNATIK_NUM_##n)

/*
** l_mathop: only lcode.c still uses it once upstream's float helpers are
** replaced below (lua_strx2number, lua_number2strx, l_hashfloat), for
** ldexp(1.0, -nbm + 1) when it makes a float constant key distinct from
** an integer one; with integers that is 0 (a harmless duplicate key).
** Literal arguments become integer constants at compile time.
*/
#define l_mathop(op)		(lua_Number)op
#if defined(lcode_c)
#define ldexp(x,e)	((e) >= 0 ? ((e) < 64 ? (x) << (e) : 0) \
				  : ((e) > -64 ? (x) >> -(e) : 0))
#endif

/*
** Numerals: integers only. l_str2int (lobject.c) already reads every
** integer numeral; lua_str2number sees only what it rejected: fractions,
** exponents, hexadecimal floats and decimal integers that overflow. Our
** parser accepts plain decimal digits without overflow, so all of those
** are malformed numbers (a syntax error in code, nil from tonumber).
*/
#define lua_str2number(s,p)	lunatik_str2number((s), (p))
#define lua_strx2number(s,p)	lunatik_str2number((s), (p))
LUA_API long long lunatik_str2number(const char *s, char **endptr);

#define lua_getlocaledecpoint()	('.')

/*
** Arithmetic on the "float" subtype, in 64-bit two's complement with
** wraparound (computed on unsigned values, so no undefined behaviour):
**   a / b   = floor(a / b); b == 0 raises "attempt to divide by zero"
**   a // b  = floor(a / b); b == 0 raises "attempt to divide by zero"
**   a % b   = a - floor(a / b) * b; b == 0 raises "attempt to perform 'n%%0'"
**   (the messages of the VM's integer '//' and '%')
**   a ^ b   = a to the power b by squaring (wraps); for b < 0:
**             floor(1 / a^-b); 0 ^ negative raises an error
** LLONG_MIN / -1 wraps to LLONG_MIN (no trap), as the VM's integer '//'.
*/
struct lua_State;
LUA_API long long lunatik_numdiv(struct lua_State *L, long long a,
				 long long b);
LUA_API long long lunatik_numidiv(struct lua_State *L, long long a,
				  long long b);
LUA_API long long lunatik_nummod(struct lua_State *L, long long a,
				 long long b);
LUA_API long long lunatik_numpow(struct lua_State *L, long long a,
				 long long b);

#define luai_numdiv(L,a,b)	lunatik_numdiv(L, (a), (b))
#define luai_numidiv(L,a,b)	lunatik_numidiv(L, (a), (b))
#define luai_nummod(L,a,b,m)	{ (m) = lunatik_nummod(L, (a), (b)); }
#define luai_numpow(L,a,b)	lunatik_numpow(L, (a), (b))
#define luai_numadd(L,a,b)	((lua_Number)((LUA_UNSIGNED)(a) + \
					(LUA_UNSIGNED)(b)))
#define luai_numsub(L,a,b)	((lua_Number)((LUA_UNSIGNED)(a) - \
					(LUA_UNSIGNED)(b)))
#define luai_nummul(L,a,b)	((lua_Number)((LUA_UNSIGNED)(a) * \
					(LUA_UNSIGNED)(b)))
#define luai_numunm(L,a)	((lua_Number)(0u - (LUA_UNSIGNED)(a)))
#define luai_numeq(a,b)		((a) == (b))
#define luai_numlt(a,b)		((a) < (b))
#define luai_numle(a,b)		((a) <= (b))
#define luai_numgt(a,b)		((a) > (b))
#define luai_numge(a,b)		((a) >= (b))
#define luai_numisnan(a)	0

/* hash of a "float" key (integral ones are normalised to integer keys) */
#define l_hashfloat(n)		((int)((LUA_UNSIGNED)(n) & INT_MAX))

/*
** Formatting. l_sprintf goes through lunatik_snprintf, which rewrites the
** float conversions (a A e E f F g G) into the integer conversion 'd'
** (precision and '#' dropped; width and the other flags kept), so
** string.format("%5.2f", 7) gives "    7". lstrlib.c's '%q' writes a
** "float" as its digits (kernel/lua/patches/lstrlib.patch).
*/
/* no format attribute: it would misdescribe the float conversions */
LUA_API int lunatik_snprintf(char *s, size_t sz, const char *fmt, ...);
#define l_sprintf(s,sz,f,i)	lunatik_snprintf(s, sz, f, i)
#define lua_pointer2str(buff,sz,p)	l_sprintf(buff, sz, "%p", p)
#define lua_number2strx(L,b,sz,f,n)  \
	((void)L, l_sprintf(b, sz, f, (LUAI_UACNUMBER)(n)))

/* }================================================================== */


/*
** {==================================================================
** Dependencies with C99 and other C details
** ===================================================================
*/
#define LUA_KCONTEXT	ptrdiff_t

#if defined(__GNUC__)
#define luai_likely(x)		(__builtin_expect(((x) != 0), 1))
#define luai_unlikely(x)	(__builtin_expect(((x) != 0), 0))
#else
#define luai_likely(x)		(x)
#define luai_unlikely(x)	(x)
#endif

#if defined(LUA_CORE) || defined(LUA_LIB)
#define l_likely(x)	luai_likely(x)
#define l_unlikely(x)	luai_unlikely(x)
#endif

/* string hash seed: random in the kernel, address-based in user space */
LUA_API unsigned int lunatik_makeseed(struct lua_State *L);
#define luai_makeseed(L)	lunatik_makeseed(L)
/* table.sort's pivot randomization, without clock() and time() */
#define l_randomizePivot()	lunatik_makeseed(NULL)

/* print (replaced in lunatik_openlibs) and lauxlib's warnings/panic */
LUA_API void lunatik_writestring(const char *s, size_t l);
LUA_API void lunatik_writestringerror(const char *fmt, const char *p);
#define lua_writestring(s,l)		lunatik_writestring((s), (l))
#define lua_writeline()			lunatik_writestring("\n", 1)
#define lua_writestringerror(s,p)	lunatik_writestringerror((s), (p))

#if defined(__KERNEL__)
/*
** Error handling with our setjmp/longjmp (kernel/lua/setjmp_64.S, declared
** in kernel/lua/include/setjmp.h), which also clears KASAN's poison off
** the frames the jump skips. The BUG() after the jump tells the compiler
** and objtool that LUAI_THROW never returns.
*/
#include <setjmp.h>
#include <linux/bug.h>
#define LUAI_THROW(L,c)	do { lunatik_unpoison_jump((c)->b); \
				     lunatik_longjmp((c)->b, 1); BUG(); } while (0)
#define LUAI_TRY(L,c,a)	if (lunatik_setjmp((c)->b) == 0) { a }
#define luai_jmpbuf	lunatik_jmp_buf

/* the type of lua_State's hook fields, sig_atomic_t in user space */
#define l_signalT	int
#endif

/* }================================================================== */


/*
** {==================================================================
** Language variations
** ===================================================================
*/
/* #define LUA_NOCVTN2S */
/* #define LUA_NOCVTS2N */
/* }================================================================== */


/*
** {==================================================================
** Macros that affect the API and must be stable
** ===================================================================
*/

/*
** Lua stack slots per coroutine (16 bytes each): 65536 slots = 1 MiB at
** most, well under any state's maxalloc ceiling (upstream: 1000000).
*/
#define LUAI_MAXSTACK		65536

#define LUA_EXTRASPACE		(sizeof(void *))
#define LUA_IDSIZE		60

/*
** Initial size of a luaL_Buffer, which lives on the C stack (upstream: 1 KiB).
*/
#define LUAL_BUFFERSIZE		256

#define LUAI_MAXALIGN  lua_Number n; void *s; lua_Integer i; long l

/*
** Depth of nested C calls and parser levels (LUAI_MAXCCALLS). Every C
** function that calls back into Lua (pcall, metamethods, gsub and sort
** callbacks, coroutine.resume, load readers) and every nested statement or
** expression in the parser takes one level, and Lua checks the limit each
** time it enters one. The count limit is upstream's 200 in both builds.
**
** In the kernel a count alone cannot protect a 16 KiB stack: measured in
** a 6.1 VM, one level costs 144 bytes (parser, unary operators) up to
** 1003 bytes (string.gsub with a Lua callback), so a safe count would be
** about 8, which rejects ordinarily nested code. So the limit is also
** evaluated against the stack actually left (lunatik_cstacklimit in
** lualibs.c, called with the 'L' of each check site): with less than
** LUNATIK_CSTACK_SOFT bytes left, entering a level raises "C stack
** overflow" (as reaching the count does); with less than
** LUNATIK_CSTACK_HARD left, it raises "error in error handling" without
** running message handlers. Between two checks one level can grow by at
** most ~2.7 KiB (string.find with a 32-level pattern) plus the allocator or
** printk, which the hard reserve covers. kernel/lua/README.md has the
** measurements.
*/
#ifndef LUNATIK_MAXCCALLS
#define LUNATIK_MAXCCALLS	200
#endif
#if defined(__KERNEL__)
#define LUNATIK_CSTACK_SOFT	6144
#define LUNATIK_CSTACK_HARD	4608
LUA_API unsigned int lunatik_cstacklimit(struct lua_State *L);
#define LUAI_MAXCCALLS		lunatik_cstacklimit(L)
#else
#define LUAI_MAXCCALLS		LUNATIK_MAXCCALLS
#endif

/*
** String patterns (lstrlib.c): the matcher recurses once per quantified
** item and per capture boundary, 64 bytes of kernel stack each; upstream
** allows 200 levels (12.5 KiB). Deeper patterns raise "pattern too
** complex". Fewer captures (upstream: 32) shrink the MatchState that
** string.find/match/gmatch/gsub keep on the stack by 256 bytes.
*/
#if defined(LUA_LIB)
#define MAXCCALLS		32
#define LUA_MAXCAPTURES		16
#endif

/*
** The instruction budget of an execute (kernel/execute.c) also pays for
** the loops of C library functions, which run between two VM instructions
** where the count hook cannot stop them: kernel/lua/patches/budget.patch
** calls luai_budgetstep(L, n) in the pattern matcher and in the element
** loops of the table library, and LUAI_BUDGET_CCALL steps at every call
** of a C function (ldo.c's precallC: a C call is worth tens of VM
** instructions, and a metamethod can make a C loop call one per element);
** it charges n steps to the execute running
** in L and raises "instruction budget exhausted" once the budget is gone
** (nothing outside an execute). Builds of Lua without the state manager
** (make lua-check, kernel/lua/measure) define LUNATIK_NOBUDGET.
*/
#define LUAI_BUDGET_CCALL	8

#if defined(LUNATIK_NOBUDGET)
#define luai_budgetstep(L,n)	((void)(L), (void)(n))
#else
LUA_API void lunatik_budget_charge(struct lua_State *L, size_t steps);
#define luai_budgetstep(L,n)	lunatik_budget_charge((L), (n))
#endif

/* }================================================================== */

#endif
