// SPDX-License-Identifier: GPL-2.0
/*
 * The lunatik module: its parameters, init and exit.
 *
 * The limit parameters are lunatik_limits' own fields (their defaults are
 * the state manager's, except that max_code is capped at what one netlink
 * attribute carries), so a value given to insmod is in force before
 * lunatik_states_init() and a write to /sys/module/lunatik/parameters/
 * changes the limit for what comes next. live_states and live_bytes are
 * read-only views of the table (how many states, the sum of their
 * curralloc), for tests and operators. layout is where a tracer finds the
 * fields of a state in this build (probes.h).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "lunatik.h"
#include "probes.h"
#include "netlink.h"

unsigned long lunatik_default_maxalloc = 1UL << 20;
module_param_named(default_maxalloc, lunatik_default_maxalloc, ulong, 0644);
MODULE_PARM_DESC(default_maxalloc, "maxalloc of a state created without one");

module_param_named(max_maxalloc, lunatik_limits.max_maxalloc, ulong, 0644);
MODULE_PARM_DESC(max_maxalloc, "largest maxalloc a state may ask for");
module_param_named(max_states, lunatik_limits.max_states, uint, 0644);
MODULE_PARM_DESC(max_states, "how many states may live at once");
module_param_named(budget, lunatik_limits.budget, uint, 0644);
MODULE_PARM_DESC(budget, "Lua instructions per execute");

/* A chunk comes in one netlink attribute: max_code cannot exceed that. */
static int lunatik_set_max_code(const char *val, const struct kernel_param *kp)
{
	unsigned long v;
	int err;

	err = kstrtoul(val, 0, &v);
	if (err)
		return err;
	if (v > LUNATIK_NL_CODE_MAX)
		return -EINVAL;
	return param_set_ulong(val, kp);
}

static const struct kernel_param_ops lunatik_max_code_ops = {
	.set = lunatik_set_max_code,
	.get = param_get_ulong,
};

module_param_cb(max_code, &lunatik_max_code_ops, &lunatik_limits.max_code,
		0644);
MODULE_PARM_DESC(max_code, "largest chunk accepted by execute (at most "
		 __stringify(LUNATIK_NL_CODE_MAX) ", what netlink carries)");

#define LUNATIK_TALLY_BATCH	32

/* Counts the live states and sums their curralloc, page by page. */
static int lunatik_tally(unsigned long *states, unsigned long *bytes)
{
	struct lunatik_info *infos;
	unsigned int skip = 0;
	int i, n;

	infos = kmalloc_array(LUNATIK_TALLY_BATCH, sizeof(*infos), GFP_KERNEL);
	if (!infos)
		return -ENOMEM;
	*states = 0;
	*bytes = 0;
	do {
		n = lunatik_ctl_list(infos, LUNATIK_TALLY_BATCH, skip);
		if (n < 0)
			break;
		for (i = 0; i < n; i++)
			*bytes += infos[i].curralloc;
		*states += n;
		skip += n;
	} while (n == LUNATIK_TALLY_BATCH);
	kfree(infos);
	return n < 0 ? n : 0;
}

static int lunatik_get_live_states(char *buffer,
				   const struct kernel_param *kp)
{
	unsigned long states, bytes;
	int err = lunatik_tally(&states, &bytes);

	return err ? err : sysfs_emit(buffer, "%lu\n", states);
}

static int lunatik_get_live_bytes(char *buffer, const struct kernel_param *kp)
{
	unsigned long states, bytes;
	int err = lunatik_tally(&states, &bytes);

	return err ? err : sysfs_emit(buffer, "%lu\n", bytes);
}

static const struct kernel_param_ops lunatik_live_states_ops = {
	.get = lunatik_get_live_states,
};

static const struct kernel_param_ops lunatik_live_bytes_ops = {
	.get = lunatik_get_live_bytes,
};

module_param_cb(live_states, &lunatik_live_states_ops, NULL, 0444);
MODULE_PARM_DESC(live_states, "how many states are in the table (read-only)");
module_param_cb(live_bytes, &lunatik_live_bytes_ops, NULL, 0444);
MODULE_PARM_DESC(live_bytes, "sum of the states' curralloc (read-only)");

/* The generated offsets (offsets.c), as "name value" lines. */
static int lunatik_get_layout(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer,
			  "LUNATIK_OFF_L %d\nLUNATIK_OFF_LOCK %d\nLUNATIK_OFF_USERS %d\n"
			  "LUNATIK_OFF_MAXALLOC %d\nLUNATIK_OFF_CURRALLOC %d\n"
			  "LUNATIK_OFF_NAME %d\nLUNATIK_STATE_SIZE %d\n"
			  "LUNATIK_OFF_STATS %d\n",
			  LUNATIK_OFF_L, LUNATIK_OFF_LOCK, LUNATIK_OFF_USERS,
			  LUNATIK_OFF_MAXALLOC, LUNATIK_OFF_CURRALLOC,
			  LUNATIK_OFF_NAME, LUNATIK_STATE_SIZE, LUNATIK_OFF_STATS);
}

static const struct kernel_param_ops lunatik_layout_ops = {
	.get = lunatik_get_layout,
};

module_param_cb(layout, &lunatik_layout_ops, NULL, 0444);
MODULE_PARM_DESC(layout, "offsets of a state's fields, for tracers (read-only)");

static int __init lunatik_module_init(void)
{
	int err;

	if (lunatik_limits.max_code > LUNATIK_NL_CODE_MAX)
		lunatik_limits.max_code = LUNATIK_NL_CODE_MAX;
	err = lunatik_states_init();
	if (err)
		return err;
	err = lunatik_netlink_init();
	if (err) {
		lunatik_states_exit();
		return err;
	}
	return 0;
}

static void __exit lunatik_module_exit(void)
{
	/* No request runs once the family is gone; then close every state. */
	lunatik_netlink_exit();
	lunatik_states_exit();
}

module_init(lunatik_module_init);
module_exit(lunatik_module_exit);

/*
 * The API of both generations and the control plane are exported where
 * they are defined (states.c, klua.c, control.c).
 */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Lunatik: named Lua states in the kernel");
MODULE_AUTHOR("lunatik-bpf");
MODULE_VERSION(LUNATIK_VERSION);
