// SPDX-License-Identifier: GPL-2.0
/*
 * uhit: hitbench's host half (bench/hitbench.py). Loads the user-space
 * library (dlopen, --library), creates one state and runs, N times,
 * lunatik_getstate(s); lunatik_putstate(s); timing the loop with
 * CLOCK_MONOTONIC, so that the cost of one uprobe hit is seen with no
 * other work around it. Prints "iterations nanoseconds".
 *
 *   uhit LIBRARY N
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "uhit: %s\n", dlerror());
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	int (*states_init)(void);
	int (*ctl_new)(const char *, size_t);
	void *(*statelookup)(const char *);
	int (*getstate)(void *);
	int (*putstate)(void *);
	struct timespec t0, t1;
	unsigned long long n, i;
	void *h, *s;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: uhit LIBRARY N\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 10);
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "uhit: %s\n", dlerror());
		return 1;
	}
	states_init = sym(h, "lunatik_states_init");
	ctl_new = sym(h, "lunatik_ctl_new");
	statelookup = sym(h, "lunatik_statelookup");
	getstate = sym(h, "lunatik_getstate");
	putstate = sym(h, "lunatik_putstate");
	err = states_init();
	if (!err)
		err = ctl_new("uhit", 1UL << 20);
	s = err ? NULL : statelookup("uhit");
	if (!s) {
		fprintf(stderr, "uhit: no state (%s)\n", strerror(err < 0 ? -err : 0));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		getstate(s);
		putstate(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%llu %llu\n", n, (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL
						    + (t1.tv_nsec - t0.tv_nsec)));
	return 0;
}
