/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Lua libraries a Lunatik state gets, and the integer-only helpers our
 * luaconf.h refers to (kernel/lua/lualibs.c).
 */
#ifndef LUNATIK_LUALIBS_H
#define LUNATIK_LUALIBS_H

#include "lua.h"

/*
 * A lua_CFunction (run it protected, e.g. lua_pushcfunction + lua_pcall):
 * opens base, coroutine, table, string and utf8 only, with these changes
 * to base: print writes one line to the kernel log (pr_info, "lunatik: "
 * prefix) or to stderr in user space; dofile and loadfile are removed;
 * load accepts text chunks only. Returns 0 (no results).
 */
int lunatik_openlibs(lua_State *L);

#endif /* LUNATIK_LUALIBS_H */
