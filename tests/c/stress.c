// SPDX-License-Identifier: GPL-2.0
/*
 * Threads hammering a few shared names with every operation (new, execute,
 * lookup, get/put, info, list, close, close_all, both API generations) for a
 * bounded count, checking every return value against what is allowed; then
 * asserting that no state is left and that no refcount (or other) WARN was
 * ever logged. Built plain, with ASan+LSan+UBSan, and with TSan.
 *
 *   lunatik-stress [threads] [iterations per thread]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lunatik.h"
#include "probes.h"
#include "ctest.h"

#define NNAMES	4
#define MAXALLOC	(512 * 1024)

static const char *const names[NNAMES] = { "s0", "s1", "s2", "s3" };
static long iterations = 2000;
static int nthreads = 8;

static const char *const chunks[] = {
	"x = (x or 0) + 1 return x",
	"local t = {} for i = 1, 100 do t[i] = tostring(i) end return #t",
	"return string.rep('ab', 50)",
	"error('expected')",
	"return +",
	"while true do end",			/* budget */
	"local t = {} for i = 1, 1000000 do t[i] = i end",	/* memory */
	"local co = coroutine.wrap(function() coroutine.yield(1) end) "
		"return co()",
	"return setmetatable({}, {__gc = function() y = 1 end}) and 1",
};

static void check_exec(int ret)
{
	CHECK(ret == -ENOENT || (ret >= LUA_OK && ret <= LUA_ERRERR));
}

static void op(unsigned int *seed)
{
	const char *name = names[rand_r(seed) % NNAMES];
	const char *code = chunks[rand_r(seed) % (sizeof(chunks) / sizeof(chunks[0]))];
	struct lunatik_info infos[NNAMES + 1];
	char out[256];
	size_t len = sizeof(out);
	lunatik_State *s;
	int ret;

	switch (rand_r(seed) % 16) {
	case 0:
	case 1:
	case 2:
		ret = lunatik_ctl_new(name, MAXALLOC);
		CHECK(ret == 0 || ret == -EEXIST);
		break;
	case 3:
	case 4:
		ret = lunatik_ctl_close(name);
		CHECK(ret == 0 || ret == -ENOENT);
		break;
	case 5:
	case 6:
	case 7:
	case 8:
		ret = lunatik_ctl_execute(name, code, strlen(code), out, &len);
		check_exec(ret);
		CHECK(memchr(out, '\0', sizeof(out)) != NULL);
		break;
	case 9:
		s = lunatik_stateget(name);
		if (!s)
			break;
		CHECK(lunatik_getstate(s) >= 2);
		ret = lunatik_execute(s, code, strlen(code), out, &len);
		check_exec(ret);
		CHECK(lunatik_putstate(s) >= 1);
		lunatik_putstate(s);
		break;
	case 10:
		/* no reference: the pointer may only be compared */
		(void)lunatik_statelookup(name);
		break;
	case 11:
		ret = lunatik_ctl_info(name, infos);
		CHECK(ret == 0 || ret == -ENOENT);
		if (ret == 0) {
			CHECK(infos[0].curralloc <= MAXALLOC);
			/* 0 when closed meanwhile: only our reference was left */
			CHECK(infos[0].users <= 1 + 2 * nthreads);
			CHECK_STR(infos[0].name, name);
		}
		break;
	case 12:
		ret = lunatik_ctl_list(infos, NNAMES + 1, 0);
		CHECK(ret >= 0 && ret <= NNAMES);
		break;
	case 13:
		if (rand_r(seed) % 8 == 0)
			CHECK(lunatik_ctl_close_all() >= 0);
		break;
	case 14:
		s = lunatik_newstate(MAXALLOC, name);
		if (s)	/* s may be gone already: only the name is used */
			lunatik_close(name);
		break;
	case 15:
		s = klua_state_create(MAXALLOC, name);
		ret = klua_state_destroy(name);
		CHECK(ret == 0 || ret == -1);
		break;
	}
}

static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(unsigned long)arg * 2654435761u;
	long i;

	for (i = 0; i < iterations; i++)
		op(&seed);
	return NULL;
}

int main(int argc, char **argv)
{
	struct lunatik_info infos[NNAMES];
	pthread_t *threads;
	int i;

	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (argc > 2)
		iterations = atol(argv[2]);
	CHECK_EQ(lunatik_states_init(), 0);
	lunatik_limits.budget = 20000;	/* keep the budget case short */

	threads = calloc(nthreads, sizeof(*threads));
	for (i = 0; i < nthreads; i++)
		CHECK_EQ(pthread_create(&threads[i], NULL, worker,
					(void *)(unsigned long)(i + 1)), 0);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);

	lunatik_ctl_close_all();
	CHECK_EQ(lunatik_ctl_list(infos, NNAMES, 0), 0);
	for (i = 0; i < NNAMES; i++)
		CHECK(lunatik_statelookup(names[i]) == NULL);
	lunatik_states_exit();
	fprintf(stderr, "lunatik-stress: %d threads x %ld operations\n",
		nthreads, iterations);
	return ctest_finish("lunatik-stress");
}
