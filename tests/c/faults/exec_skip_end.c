// SPDX-License-Identifier: GPL-2.0
/*
 * Fault variant exec_skip_end (test only): lunatik_execute does its work
 * (lock, run, unlock) but leaves by longjmp back to lunatik_ctl_execute
 * instead of returning, so a return probe on lunatik_execute never fires.
 * Called directly (not through lunatik_ctl_execute) it returns normally.
 *
 * Linked into build/user-fault-exec_skip_end/liblunatik.so over a weak
 * lunatik_execute (weak probes) and a weak lunatik_ctl_execute (mk/user.mk
 * weakens it in control.o with objcopy), so that both definitions here win.
 */
#undef LUNATIK_PROBE
#define LUNATIK_PROBE __attribute__((__noipa__))

#include <setjmp.h>
#include <linux/kernel.h>
#include <linux/errno.h>

#include "lunatik.h"
#include "probes.h"
#include "states_priv.h"

static __thread jmp_buf *fault_jmp;
static __thread int fault_ret;

LUNATIK_PROBE int lunatik_execute(lunatik_State *s, const char *code,
				  size_t len, char *out, size_t *outlen)
{
	int ret;

	if (len > lunatik_limits.max_code) {
		if (out && outlen && *outlen)
			out[0] = '\0';
		if (outlen)
			*outlen = 0;
		ret = -E2BIG;
	} else {
		lunatik_lock(s);
		ret = lunatik_run(s, code, len, out, outlen);
		lunatik_unlock(s);
	}
	if (fault_jmp) {
		fault_ret = ret;
		longjmp(*fault_jmp, 1);	/* the bug: no return */
	}
	return ret;
}

int lunatik_ctl_execute(const char *name, const char *code, size_t len,
			char *out, size_t *outlen)
{
	lunatik_State *volatile s;
	jmp_buf jmp;
	int ret;

	ret = lunatik_checkname(name);
	if (!ret) {
		s = lunatik_stateget(name);
		if (!s)
			ret = -ENOENT;
	}
	if (ret) {
		if (out && outlen && *outlen)
			out[0] = '\0';
		if (outlen)
			*outlen = 0;
		return ret;
	}
	fault_jmp = &jmp;
	if (setjmp(jmp) == 0)
		ret = lunatik_execute(s, code, len, out, outlen);
	else
		ret = fault_ret;
	fault_jmp = NULL;
	lunatik_putstate(s);
	return ret;
}
