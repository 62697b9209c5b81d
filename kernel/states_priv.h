/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the state manager's files (states.c, alloc.c, execute.c, control.c,
 * klua.c) share with each other and nobody else.
 */
#ifndef LUNATIK_STATES_PRIV_H
#define LUNATIK_STATES_PRIV_H

#include <linux/container_of.h>

#include "lua.h"
#include "probes.h"

/* A state and its statistics, allocated together (probes.h). */
struct lunatik_tracked {
	lunatik_State s;
	struct lunatik_stats stats;
};

static inline struct lunatik_stats *lunatik_stats(lunatik_State *s)
{
	return &container_of(s, struct lunatik_tracked, s)->stats;
}

/* The first three arguments of every tracepoint of a live state
 * (lunatik_trace.h): its address, serial and name. */
#define LUNATIK_TP_STATE(s)	(s), lunatik_stats(s)->serial, (const char *)(s)->name

/* states.c */
int lunatik_checkname(const char *name);
int lunatik_info(lunatik_State *s, struct lunatik_info *info);
int lunatik_list(struct lunatik_info *infos, unsigned int max,
		 unsigned int skip);
void lunatik_log(void);
int lunatik_removeall(void);

/* alloc.c: the lua_Alloc of a published state (ud is the state) ... */
void *lunatik_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* ... and the one used while the state is built (ud is a lunatik_build),
 * which also tells a denial (-EDQUOT) from a system failure (-ENOMEM). */
struct lunatik_build {
	lunatik_State *s;
	bool denied;
	bool nomem;
};
void *lunatik_alloc_build(void *ud, void *ptr, size_t osize, size_t nsize);

/* execute.c: marks a new state as having no run slot (right after
 * lua_newstate), then prepares it for execute (a lua_CFunction, called
 * protected while the state is built) */
void lunatik_noslot(lua_State *L);
int lunatik_prepare(lua_State *L);
/* the body of lunatik_execute, with s->lock held */
int lunatik_run(lunatik_State *s, const char *code, size_t len, char *out,
		size_t *outlen);

#endif /* LUNATIK_STATES_PRIV_H */
