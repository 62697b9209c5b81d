// SPDX-License-Identifier: GPL-2.0
/*
 * The layout of lunatik_State that the tracer reads, generated for each
 * build as the kernel generates asm-offsets.h: lock debugging (lockdep,
 * DEBUG_SPINLOCK) makes spinlock_t, and so every field after it, larger,
 * so no fixed value fits every kernel. This file is only compiled to
 * assembly; the build turns its markers into generated/lunatik_offsets.h
 * (Kbuild's filechk_offsets; mk/user.mk for the user-space library).
 */
#define COMPILE_OFFSETS
#include <linux/kbuild.h>
#include <linux/stddef.h>

#define LUNATIK_OFFSETS_H	/* probes.h: these are what we generate */
#include "lunatik.h"
#include "states_priv.h"

int main(void)
{
	DEFINE(LUNATIK_OFF_L, offsetof(lunatik_State, L));
	DEFINE(LUNATIK_OFF_LOCK, offsetof(lunatik_State, lock));
	DEFINE(LUNATIK_OFF_USERS, offsetof(lunatik_State, users));
	DEFINE(LUNATIK_OFF_MAXALLOC, offsetof(lunatik_State, maxalloc));
	DEFINE(LUNATIK_OFF_CURRALLOC, offsetof(lunatik_State, curralloc));
	DEFINE(LUNATIK_OFF_NAME, offsetof(lunatik_State, name));
	DEFINE(LUNATIK_STATE_SIZE, sizeof(lunatik_State));
	DEFINE(LUNATIK_OFF_STATS, offsetof(struct lunatik_tracked, stats));
	return 0;
}
