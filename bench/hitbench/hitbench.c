// SPDX-License-Identifier: GPL-2.0
/*
 * hitbench: calls probe points N times in a kernel loop and times the loop,
 * so that the cost of one probe hit is seen without syscall noise
 * (bench/hitbench.py; make bench only).
 *
 * At load it creates one lunatik state ("hitbench", lunatik.ko must be
 * loaded). Writing N to /sys/kernel/debug/hitbench/run runs, N times,
 *
 *     lunatik_getstate(s); lunatik_putstate(s); trace_hitbench_hit(...);
 *
 * the real contract functions (kprobes, kretprobes) and, in a module that
 * has them, the real lunatik:lunatik_get/lunatik_put tracepoints, plus
 * hitbench's own tracepoint shaped like lunatik_get. Reading the file
 * gives "iterations nanoseconds" of the last run (ktime_get_ns around the
 * loop).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#define CREATE_TRACE_POINTS
#include "hitbench_trace.h"

/* lunatik.ko's exports (kernel/lunatik.h), without its Lua headers */
struct lunatik_state;
extern struct lunatik_state *lunatik_newstate(size_t maxalloc, const char *name);
extern int lunatik_close(const char *name);
extern int lunatik_getstate(struct lunatik_state *s);
extern int lunatik_putstate(struct lunatik_state *s);

#define HITBENCH_NAME		"hitbench"
#define HITBENCH_MAXALLOC	(1UL << 20)
#define HITBENCH_MAX_N		100000000ULL

static struct lunatik_state *state;
static struct dentry *dir;
static DEFINE_MUTEX(run_lock);
static u64 last_n, last_ns;

static u64 hitbench_loop(u64 n)
{
	u64 i, t0;
	int users = 0;

	t0 = ktime_get_ns();
	for (i = 0; i < n; i++) {
		users = lunatik_getstate(state);
		lunatik_putstate(state);
		trace_hitbench_hit(state, i, HITBENCH_NAME, users);
		if ((i & 1023) == 1023)
			cond_resched();
	}
	return ktime_get_ns() - t0;
}

static ssize_t run_write(struct file *f, const char __user *buf, size_t len,
			 loff_t *ppos)
{
	u64 n;
	int err = kstrtoull_from_user(buf, len, 10, &n);

	if (err)
		return err;
	if (!n || n > HITBENCH_MAX_N)
		return -EINVAL;
	mutex_lock(&run_lock);
	last_ns = hitbench_loop(n);
	last_n = n;
	mutex_unlock(&run_lock);
	return len;
}

static ssize_t run_read(struct file *f, char __user *buf, size_t len,
			loff_t *ppos)
{
	char text[64];
	int n;

	mutex_lock(&run_lock);
	n = scnprintf(text, sizeof(text), "%llu %llu\n", last_n, last_ns);
	mutex_unlock(&run_lock);
	return simple_read_from_buffer(buf, len, ppos, text, n);
}

static const struct file_operations run_fops = {
	.owner = THIS_MODULE,
	.write = run_write,
	.read = run_read,
	.llseek = default_llseek,
};

static int __init hitbench_init(void)
{
	state = lunatik_newstate(HITBENCH_MAXALLOC, HITBENCH_NAME);
	if (!state)
		return -ENOMEM;
	dir = debugfs_create_dir("hitbench", NULL);
	debugfs_create_file("run", 0600, dir, NULL, &run_fops);
	return 0;
}

static void __exit hitbench_exit(void)
{
	debugfs_remove_recursive(dir);
	lunatik_close(HITBENCH_NAME);
}

module_init(hitbench_init);
module_exit(hitbench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lunatik-bpf bench: probe hits in a kernel loop");
