// SPDX-License-Identifier: GPL-2.0
/*
 * Fault variant put_nodec (test only): lunatik_putstate forgets to
 * decrement. Every state leaks (never reaches lunatik_free) and putstate
 * returns a count that does not go down. Linked into
 * build/user-fault-put_nodec/liblunatik.so, where the real lunatik_putstate
 * is weak; this definition must be strong, hence LUNATIK_PROBE redefined
 * before probes.h.
 */
#undef LUNATIK_PROBE
#define LUNATIK_PROBE __attribute__((__noipa__))

#include <linux/kernel.h>
#include <linux/refcount.h>

#include "lunatik.h"
#include "probes.h"

LUNATIK_PROBE int lunatik_putstate(lunatik_State *s)
{
	return refcount_read(&s->users);	/* the bug: no decrement */
}
