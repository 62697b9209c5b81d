// SPDX-License-Identifier: GPL-2.0
/*
 * Lua 5.4.8 (the fetched sources in upstream/) and our lualibs.c as one
 * translation unit for the kernel module, in the manner of Lua's own
 * onelua.c.
 *
 * Why one unit: Lua's error paths are noreturn functions (luaD_throw,
 * luaG_runerror, luaX_syntaxerror...) called across files. GCC ends a
 * caller with the call, and objtool (6.1) only knows a callee cannot return
 * when it can see its body in the same object; otherwise it warns that the
 * caller "falls through to next function". In one unit it sees them all.
 * The internal functions become static (LUAI_FUNC), so only the Lua API is
 * global in the module.
 */
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>

#define LUA_CORE
#define LUA_LIB
#define ltable_c
#define lvm_c
#define lcode_c		/* luaconf.h's integer ldexp, used by lcode.c */
#include "luaconf.h"

/* do not export internal symbols */
#undef LUAI_FUNC
#undef LUAI_DDEC
#undef LUAI_DDEF
#define LUAI_FUNC	static
#define LUAI_DDEC(def)	/* empty */
#define LUAI_DDEF	static

/* core */
#include "lzio.c"
#include "lctype.c"
#include "lopcodes.c"
#include "lmem.c"
#include "lundump.c"
#include "ldump.c"
#include "lstate.c"
#include "lgc.c"
#include "llex.c"
#include "lcode.c"
#include "lparser.c"
#include "ldebug.c"
#include "lfunc.c"
#include "lobject.c"
#include "ltm.c"
#include "lstring.c"
#include "ltable.c"
#include "ldo.c"
#include "lvm.c"
#include "lapi.c"

/* auxiliary and standard libraries (no io, os, package, math, debug) */
#define panic	lauxlib_panic	/* the kernel has its own panic() */
#include "lauxlib.c"
#undef panic
#include "lbaselib.c"
#include "lcorolib.c"
#include "lstrlib.c"
#include "ltablib.c"
#include "lutf8lib.c"

/* lunatik_openlibs and the helpers of our luaconf.h */
#include "lualibs.c"
