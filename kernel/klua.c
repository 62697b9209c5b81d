// SPDX-License-Identifier: GPL-2.0
/*
 * The KLua generation of the API (spec: "KLua API Documentation"), as thin
 * wrappers over the state manager.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/err.h>

#include "lunatik.h"
#include "probes.h"
#include "states_priv.h"

#define KLUA_OUT_SIZE	512	/* of a logged result */

int klua_states_init(void)
{
	return lunatik_states_init();
}
EXPORT_SYMBOL(klua_states_init);

void klua_states_exit(void)
{
	lunatik_states_exit();
}
EXPORT_SYMBOL(klua_states_exit);

struct klua_state *klua_state_create(size_t maxalloc, const char *name)
{
	lunatik_State *s = lunatik_create(maxalloc, name);

	return IS_ERR(s) ? NULL : s;
}
EXPORT_SYMBOL(klua_state_create);

/* 0 when the state was destroyed, -1 otherwise (as the spec says) */
int klua_state_destroy(const char *name)
{
	return lunatik_remove(name) ? -1 : 0;
}
EXPORT_SYMBOL(klua_state_destroy);

struct klua_state *klua_state_lookup(const char *name)
{
	return lunatik_statelookup(name);
}
EXPORT_SYMBOL(klua_state_lookup);

void klua_state_list(void)
{
	lunatik_log();
}
EXPORT_SYMBOL(klua_state_list);

void klua_state_destroy_all(void)
{
	lunatik_removeall();
}
EXPORT_SYMBOL(klua_state_destroy_all);

/* Runs code in the named state and logs the result or the error. */
void klua_execute(const char *name, const char *code)
{
	size_t len = KLUA_OUT_SIZE;
	char *out;
	int ret;

	if (!code) {
		pr_err("%s: no code\n", name ? name : "(null)");
		return;
	}
	out = kmalloc(KLUA_OUT_SIZE, GFP_KERNEL);
	if (!out) {
		pr_err("%s: out of memory\n", name ? name : "(null)");
		return;
	}
	ret = lunatik_ctl_execute(name, code, strlen(code), out, &len);
	if (ret < 0)
		pr_err("%s: error %d\n", name ? name : "(null)", ret);
	else if (ret != LUA_OK)
		pr_err("%s: Lua error %d: %s\n", name, ret, out);
	else
		pr_info("%s: %s\n", name, out);
	kfree(out);
}
EXPORT_SYMBOL(klua_execute);
