// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane (lunatik.h): what the netlink family and the user-space
 * library's callers use. Every entry takes a name and returns 0 or a
 * negative errno; none hands out a pointer. An entry that acts on a state
 * holds its own reference for the time it acts (lunatik_stateget, then
 * lunatik_putstate), so a concurrent close cannot free it under us.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/err.h>
#include <linux/errno.h>

#include "lunatik.h"
#include "probes.h"
#include "states_priv.h"

int lunatik_ctl_new(const char *name, size_t maxalloc)
{
	lunatik_State *s = lunatik_create(maxalloc, name);

	return IS_ERR(s) ? PTR_ERR(s) : 0;
}
EXPORT_SYMBOL(lunatik_ctl_new);

int lunatik_ctl_close(const char *name)
{
	return lunatik_remove(name);
}
EXPORT_SYMBOL(lunatik_ctl_close);

int lunatik_ctl_close_all(void)
{
	return lunatik_removeall();
}
EXPORT_SYMBOL(lunatik_ctl_close_all);

/* The named state with a reference, or ERR_PTR(-EINVAL, -ENAMETOOLONG,
 * -ENOENT). */
static lunatik_State *lunatik_ctl_get(const char *name)
{
	lunatik_State *s;
	int ret;

	ret = lunatik_checkname(name);
	if (ret)
		return ERR_PTR(ret);
	s = lunatik_stateget(name);
	return s ? s : ERR_PTR(-ENOENT);
}

/*
 * users does not count the reference this call holds meanwhile; a state
 * closed after the lookup found it is -ENOENT (see lunatik_info).
 */
int lunatik_ctl_info(const char *name, struct lunatik_info *info)
{
	lunatik_State *s = lunatik_ctl_get(name);
	int ret;

	if (IS_ERR(s))
		return PTR_ERR(s);
	ret = lunatik_info(s, info);
	lunatik_putstate(s);
	return ret;
}
EXPORT_SYMBOL(lunatik_ctl_info);

int lunatik_ctl_list(struct lunatik_info *infos, unsigned int max,
		     unsigned int skip)
{
	return lunatik_list(infos, max, skip);
}
EXPORT_SYMBOL(lunatik_ctl_list);

int lunatik_ctl_execute(const char *name, const char *code, size_t len,
			char *out, size_t *outlen)
{
	lunatik_State *s = lunatik_ctl_get(name);
	int ret;

	if (IS_ERR(s)) {
		if (out && outlen && *outlen)
			out[0] = '\0';
		if (outlen)
			*outlen = 0;
		return PTR_ERR(s);
	}
	ret = lunatik_execute(s, code, len, out, outlen);
	lunatik_putstate(s);
	return ret;
}
EXPORT_SYMBOL(lunatik_ctl_execute);
