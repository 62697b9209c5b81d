// SPDX-License-Identifier: GPL-2.0
/*
 * Fault variant alloc_nosub (test only): lunatik_charge forgets to subtract
 * osize, so curralloc only grows (frees and shrinks are not accounted), the
 * state hits maxalloc early, and curralloc is not 0 at lunatik_free.
 * Linked into build/user-fault-alloc_nosub/liblunatik.so over a weak
 * lunatik_charge.
 */
#undef LUNATIK_PROBE
#define LUNATIK_PROBE __attribute__((__noipa__))

#include <linux/kernel.h>

#include "lunatik.h"
#include "probes.h"

LUNATIK_PROBE size_t lunatik_charge(lunatik_State *s, size_t osize,
				    size_t nsize)
{
	size_t curr = s->curralloc + nsize;	/* the bug: - osize missing */

	WRITE_ONCE(s->curralloc, curr);
	return curr;
}
