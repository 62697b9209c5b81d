// SPDX-License-Identifier: GPL-2.0
/*
 * The allocator of every state: enforces maxalloc exactly and keeps
 * curralloc equal to what Lua holds (the sizes Lua asks for, which is also
 * what Lua itself counts).
 *
 * Lua's garbage collector can run inside any allocation and execute runs
 * under the state's spinlock, so every allocation is atomic (GFP_ATOMIC),
 * and quiet (__GFP_NOWARN): Lua handles a NULL with an emergency
 * collection and then a memory error. In the kernel that also means one
 * block cannot exceed what kmalloc gives atomically (physically contiguous,
 * at most KMALLOC_MAX_SIZE, 4 MiB on x86_64), whatever maxalloc allows; the
 * user-space build has no such ceiling.
 */
#include <linux/bitops.h>
#include <linux/kernel.h>
#include <linux/slab.h>

#include "lunatik.h"
#include "probes.h"
#include "states_priv.h"
#include "lunatik_trace.h"

#define LUNATIK_GFP	(GFP_ATOMIC | __GFP_NOWARN)

/* Every change of s->curralloc, counted; returns the new value. */
LUNATIK_PROBE size_t lunatik_charge(lunatik_State *s, size_t osize,
				    size_t nsize)
{
	struct lunatik_stats *st = lunatik_stats(s);
	size_t curr = s->curralloc - osize + nsize;

	trace_lunatik_charge(LUNATIK_TP_STATE(s), osize, nsize, s->curralloc,
			     s->maxalloc);
	WRITE_ONCE(s->curralloc, curr);
	st->charges++;
	if (nsize > osize)
		st->grown += nsize - osize;
	else
		st->shrunk += osize - nsize;
	if (nsize)
		st->sizes[fls64(nsize)]++;
	return curr;
}

/* A request that would take s->curralloc past s->maxalloc. */
LUNATIK_PROBE void *lunatik_deny(lunatik_State *s, size_t osize, size_t nsize)
{
	trace_lunatik_deny(LUNATIK_TP_STATE(s), osize, nsize, s->curralloc,
			   s->maxalloc);
	return NULL;
}

/* Would growing a block from osize to nsize cross maxalloc? */
static bool lunatik_over(lunatik_State *s, size_t osize, size_t nsize)
{
	size_t grow;

	if (nsize <= osize)
		return false;	/* shrinks are never denied */
	grow = nsize - osize;
	return grow > s->maxalloc || s->curralloc > s->maxalloc - grow;
}

static void *lunatik_realloc(lunatik_State *s, void *ptr, size_t osize,
			     size_t nsize, bool *denied, bool *nomem)
{
	void *nptr;

	if (!ptr)
		osize = 0;	/* osize is a type tag then */
	if (nsize == 0) {
		if (ptr) {
			kfree(ptr);
			lunatik_charge(s, osize, 0);
		}
		return NULL;
	}
	if (lunatik_over(s, osize, nsize)) {
		*denied = true;
		return lunatik_deny(s, osize, nsize);
	}
	nptr = krealloc(ptr, nsize, LUNATIK_GFP);
	if (!nptr) {
		*nomem = true;
		return NULL;
	}
	lunatik_charge(s, osize, nsize);
	return nptr;
}

void *lunatik_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	bool denied, nomem;

	return lunatik_realloc(ud, ptr, osize, nsize, &denied, &nomem);
}

void *lunatik_alloc_build(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lunatik_build *b = ud;

	return lunatik_realloc(b->s, ptr, osize, nsize, &b->denied, &b->nomem);
}
