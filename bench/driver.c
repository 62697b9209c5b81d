// SPDX-License-Identifier: GPL-2.0
/*
 * lunatik-bench: the workload driver of the throughput benchmark.
 *
 *   lunatik-bench --backend user --library PATH | --backend kernel
 *                 --workload newclose|exec_small|exec_alloc|lookup_mt
 *                 [--seconds S] [--threads N] [--rate OPS_PER_S] [--count N]
 *
 * Runs one workload on the state API and prints one JSON line:
 *   {"workload":..., "backend":..., "threads":..., "ops":..., "seconds":...,
 *    "ops_per_s":..., "errors":...}
 * ops counts the operations that succeeded, errors those that failed (a
 * failed operation is counted, never fatal); a setup failure exits 1 with
 * one line on stderr.
 *
 * The user backend dlopens the library and calls its control plane
 * (lunatik_ctl_*) directly; the kernel backend speaks the module's generic
 * netlink family (kernel/netlink.h) on one socket per thread, reading each
 * reply or ack. Thread i is pinned to the i-th CPU the process may use, so
 * that figures on a small machine do not depend on the scheduler's mood.
 *
 * Workloads (one op each):
 *   newclose    new(unique name, 64 KiB) + close
 *   exec_small  execute "return 1+1" on one state
 *   exec_alloc  execute a chunk building a table of 300 small tables
 *   lookup_mt   info (LOOKUP) of one state, from --threads threads (default 2)
 * --rate caps the total ops/s (each thread sleeps to its share of the
 * schedule); --count stops after that many ops in total.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "../kernel/netlink.h"

#define BENCH_NAME_MAX		64	/* LUNATIK_NAME_MAXSIZE */
#define BENCH_NEWCLOSE_ALLOC	(64UL << 10)
#define BENCH_EXEC_ALLOC	(4UL << 20)
#define BENCH_OUT_SIZE		4096
#define BENCH_BUF_SIZE		(96 << 10)	/* a full EXECUTE reply fits */
#define BENCH_MAX_THREADS	64

static const char exec_small_code[] = "return 1+1";
static const char exec_alloc_code[] =
	"local t = {} "
	"for i = 1, 300 do t[i] = {i, i + 1, x = i} end "
	"return #t";

/* struct lunatik_info of lunatik.h, without its headers. */
struct bench_info {
	char name[BENCH_NAME_MAX];
	uint64_t maxalloc;
	uint64_t curralloc;
	uint32_t users;
	uint32_t pad;
};

enum bench_workload { W_NEWCLOSE, W_EXEC_SMALL, W_EXEC_ALLOC, W_LOOKUP_MT };

static const char *const workload_names[] = {
	[W_NEWCLOSE] = "newclose",
	[W_EXEC_SMALL] = "exec_small",
	[W_EXEC_ALLOC] = "exec_alloc",
	[W_LOOKUP_MT] = "lookup_mt",
};

struct bench_opts {
	const char *backend;
	const char *library;
	int kernel;
	enum bench_workload workload;
	double seconds;		/* 0: no time limit */
	int threads;
	double rate;		/* 0: as fast as possible */
	long count;		/* 0: no count limit */
};

/* The user library's control plane. */
struct bench_lib {
	int (*states_init)(void);
	int (*ctl_new)(const char *name, size_t maxalloc);
	int (*ctl_close)(const char *name);
	int (*ctl_info)(const char *name, struct bench_info *info);
	int (*ctl_execute)(const char *name, const char *code, size_t len,
			   char *out, size_t *outlen);
};

/* One thread's connection: a netlink socket (kernel) and its buffers. */
struct bench_conn {
	int fd;
	uint32_t seq;
	char *buf;
	char out[BENCH_OUT_SIZE];
};

struct bench_thread {
	pthread_t tid;
	int index;
	int cpu;
	long quota;		/* ops to run, 0: unbounded */
	long ops;
	long errors;
	double seconds;		/* from the common start to this thread's end */
	const char *setup_error;
	struct bench_conn conn;
};

static struct bench_opts opts = { .seconds = -1, .threads = 0 };
static struct bench_lib lib;
static uint16_t family_id;
static char shared_name[BENCH_NAME_MAX];
static pthread_barrier_t start_barrier;
static struct timespec start_time;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "lunatik-bench: %s: %s\n", what, why);
	exit(1);
}

static double since(const struct timespec *t0)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec - t0->tv_sec) + (ts.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- generic netlink ---- */

struct nl_req {
	struct nlmsghdr nlh;
	struct genlmsghdr genl;
};

static char *nl_put_attr(char *p, uint16_t type, const void *data,
			 size_t len)
{
	struct nlattr *nla = (struct nlattr *)p;

	nla->nla_type = type;
	nla->nla_len = NLA_HDRLEN + len;
	memcpy(p + NLA_HDRLEN, data, len);
	memset(p + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	return p + NLA_HDRLEN + NLA_ALIGN(len);
}

static char *nl_start(struct bench_conn *c, uint16_t type, uint8_t cmd,
		      uint8_t version, uint16_t flags)
{
	struct nl_req *req = (struct nl_req *)c->buf;

	memset(req, 0, sizeof(*req));
	req->nlh.nlmsg_type = type;
	req->nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	req->nlh.nlmsg_seq = ++c->seq;
	req->genl.cmd = cmd;
	req->genl.version = version;
	return c->buf + NLMSG_HDRLEN + GENL_HDRLEN;
}

static int nl_send(struct bench_conn *c, const char *end)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)c->buf;
	ssize_t n;

	nlh->nlmsg_len = end - c->buf;
	n = send(c->fd, c->buf, nlh->nlmsg_len, 0);
	if (n < 0)
		return -errno;
	return n == nlh->nlmsg_len ? 0 : -EIO;
}

/*
 * Reads the answer to the last request: returns 0 with *reply set for a
 * message of the family, 0 with *reply NULL for an ack, or the negative
 * errno of an error message.
 */
static int nl_recv(struct bench_conn *c, struct nlmsghdr **reply)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *err;
	ssize_t n;

	*reply = NULL;
again:
	n = recv(c->fd, c->buf, BENCH_BUF_SIZE, 0);
	if (n < 0 && errno == EINTR)
		goto again;
	if (n < 0)
		return -errno;
	for (nlh = (struct nlmsghdr *)c->buf; NLMSG_OK(nlh, n);
	     nlh = NLMSG_NEXT(nlh, n)) {
		if (nlh->nlmsg_seq != c->seq)
			continue;	/* a stale answer */
		if (nlh->nlmsg_type != NLMSG_ERROR) {
			*reply = nlh;
			return 0;
		}
		err = NLMSG_DATA(nlh);
		return err->error;
	}
	goto again;
}

/* The attribute of that type in a genetlink message, or NULL. */
static struct nlattr *nl_attr(struct nlmsghdr *nlh, uint16_t type)
{
	char *p = (char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	char *end = (char *)nlh + nlh->nlmsg_len;
	struct nlattr *nla;

	while (p + NLA_HDRLEN <= end) {
		nla = (struct nlattr *)p;
		if (nla->nla_len < NLA_HDRLEN || p + nla->nla_len > end)
			break;
		if ((nla->nla_type & NLA_TYPE_MASK) == type)
			return nla;
		p += NLA_ALIGN(nla->nla_len);
	}
	return NULL;
}

static int nl_open(struct bench_conn *c)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	c->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (c->fd < 0)
		return -errno;
	/* acks without a copy of the request */
	setsockopt(c->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* CTRL_CMD_GETFAMILY "lunatik": its id, or a negative errno. */
static int nl_family(struct bench_conn *c)
{
	struct nlmsghdr *reply;
	struct nlattr *id;
	char *p;
	int err;

	p = nl_start(c, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, 0);
	p = nl_put_attr(p, CTRL_ATTR_FAMILY_NAME, LUNATIK_GENL_NAME,
			sizeof(LUNATIK_GENL_NAME));
	err = nl_send(c, p);
	if (!err)
		err = nl_recv(c, &reply);
	if (err)
		return err;
	if (!reply)
		return -EPROTO;
	id = nl_attr(reply, CTRL_ATTR_FAMILY_ID);
	if (!id)
		return -EPROTO;
	return *(uint16_t *)((char *)id + NLA_HDRLEN);
}

/* One request with a name (and maybe more), and its answer. */
static int nl_call(struct bench_conn *c, uint8_t cmd, const char *name,
		   const void *extra, size_t extra_len, uint16_t extra_type,
		   struct nlmsghdr **reply)
{
	/* NEW and CLOSE only ack; LOOKUP and EXECUTE reply (or fail) */
	uint16_t flags = reply ? 0 : NLM_F_ACK;
	struct nlmsghdr *got;
	char *p;
	int err;

	p = nl_start(c, family_id, cmd, LUNATIK_GENL_VERSION, flags);
	p = nl_put_attr(p, LUNATIK_ATTR_NAME, name, strlen(name) + 1);
	if (extra)
		p = nl_put_attr(p, extra_type, extra, extra_len);
	err = nl_send(c, p);
	if (err)
		return err;
	err = nl_recv(c, &got);
	if (err)
		return err;
	if (reply) {
		*reply = got;
		return got ? 0 : -EPROTO;
	}
	return 0;
}

/* ---- the state API on either backend ---- */

static int api_new(struct bench_conn *c, const char *name, uint64_t maxalloc)
{
	if (!opts.kernel)
		return lib.ctl_new(name, maxalloc);
	return nl_call(c, LUNATIK_CMD_NEW, name, &maxalloc, sizeof(maxalloc),
		       LUNATIK_ATTR_MAXALLOC, NULL);
}

static int api_close(struct bench_conn *c, const char *name)
{
	if (!opts.kernel)
		return lib.ctl_close(name);
	return nl_call(c, LUNATIK_CMD_CLOSE, name, NULL, 0, 0, NULL);
}

static int api_info(struct bench_conn *c, const char *name)
{
	struct nlmsghdr *reply;
	struct bench_info info;

	if (!opts.kernel)
		return lib.ctl_info(name, &info);
	return nl_call(c, LUNATIK_CMD_LOOKUP, name, NULL, 0, 0, &reply);
}

/* 0 when the chunk ran to LUA_OK, else a Lua status or a negative errno. */
static int api_execute(struct bench_conn *c, const char *name,
		       const char *code, size_t len)
{
	size_t outlen = sizeof(c->out);
	struct nlmsghdr *reply;
	struct nlattr *status;
	int err;

	if (!opts.kernel)
		return lib.ctl_execute(name, code, len, c->out, &outlen);
	err = nl_call(c, LUNATIK_CMD_EXECUTE, name, code, len,
		      LUNATIK_ATTR_CODE, &reply);
	if (err)
		return err;
	status = nl_attr(reply, LUNATIK_ATTR_STATUS);
	if (!status)
		return -EPROTO;
	return *(uint32_t *)((char *)status + NLA_HDRLEN);
}

/* ---- workloads ---- */

static int op_newclose(struct bench_thread *t, long n)
{
	char name[BENCH_NAME_MAX];
	int err;

	snprintf(name, sizeof(name), "bench-%d-%d-%ld", (int)getpid(),
		 t->index, n);
	err = api_new(&t->conn, name, BENCH_NEWCLOSE_ALLOC);
	if (err)
		return err;
	return api_close(&t->conn, name);
}

static int op_once(struct bench_thread *t, long n)
{
	struct bench_conn *c = &t->conn;

	switch (opts.workload) {
	case W_NEWCLOSE:
		return op_newclose(t, n);
	case W_EXEC_SMALL:
		return api_execute(c, shared_name, exec_small_code,
				   sizeof(exec_small_code) - 1);
	case W_EXEC_ALLOC:
		return api_execute(c, shared_name, exec_alloc_code,
				   sizeof(exec_alloc_code) - 1);
	case W_LOOKUP_MT:
		return api_info(c, shared_name);
	}
	return -EINVAL;
}

/* Sleeps until op n of this thread is due under --rate. */
static void pace(long n)
{
	double per_thread = opts.rate / opts.threads;
	double due = n / per_thread;
	double wait = due - since(&start_time);
	struct timespec ts;

	if (wait <= 0)
		return;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
}

static int conn_open(struct bench_conn *c)
{
	int err;

	c->fd = -1;
	if (!opts.kernel)
		return 0;
	c->buf = malloc(BENCH_BUF_SIZE);
	if (!c->buf)
		return -ENOMEM;
	err = nl_open(c);
	return err;
}

static void conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->buf = NULL;
}

static void *thread_main(void *arg)
{
	struct bench_thread *t = arg;
	long n;
	int err;

	pin(t->cpu);
	err = conn_open(&t->conn);
	if (err)
		t->setup_error = strerror(-err);
	pthread_barrier_wait(&start_barrier);
	if (t->setup_error)
		return NULL;
	for (n = 0; !t->quota || n < t->quota; n++) {
		if (opts.seconds > 0 && since(&start_time) >= opts.seconds)
			break;
		if (opts.rate > 0)
			pace(n);
		if (op_once(t, n))
			t->errors++;
		else
			t->ops++;
	}
	t->seconds = since(&start_time);
	return NULL;
}

/* ---- setup ---- */

static void *lib_sym(void *handle, const char *name)
{
	void *sym = dlsym(handle, name);

	if (!sym)
		die(opts.library, dlerror());
	return sym;
}

static void setup_user(void)
{
	void *handle;
	int err;

	if (!opts.library)
		die("--backend user", "needs --library PATH");
	handle = dlopen(opts.library, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		die("dlopen", dlerror());
	lib.states_init = lib_sym(handle, "lunatik_states_init");
	lib.ctl_new = lib_sym(handle, "lunatik_ctl_new");
	lib.ctl_close = lib_sym(handle, "lunatik_ctl_close");
	lib.ctl_info = lib_sym(handle, "lunatik_ctl_info");
	lib.ctl_execute = lib_sym(handle, "lunatik_ctl_execute");
	err = lib.states_init();
	if (err)
		die("lunatik_states_init", strerror(-err));
}

static void setup_kernel(struct bench_conn *c)
{
	int id;

	id = conn_open(c);
	if (id)
		die("netlink socket", strerror(-id));
	id = nl_family(c);
	if (id == -ENOENT)
		die("generic netlink", "no family 'lunatik' (is the module loaded?)");
	if (id < 0)
		die("CTRL_CMD_GETFAMILY lunatik", strerror(-id));
	family_id = id;
}

/* The state the exec and lookup workloads share. */
static void setup_state(struct bench_conn *c)
{
	uint64_t maxalloc = opts.workload == W_EXEC_ALLOC ?
			    BENCH_EXEC_ALLOC : BENCH_NEWCLOSE_ALLOC;
	int err;

	if (opts.workload == W_NEWCLOSE)
		return;
	snprintf(shared_name, sizeof(shared_name), "bench-%d-shared",
		 (int)getpid());
	err = api_new(c, shared_name, maxalloc);
	if (err)
		die("creating the shared state", strerror(-err));
}

static void teardown_state(struct bench_conn *c)
{
	if (shared_name[0])
		api_close(c, shared_name);
}

/* ---- command line ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: lunatik-bench --backend user --library PATH | --backend kernel\n"
		"       --workload newclose|exec_small|exec_alloc|lookup_mt\n"
		"       [--seconds S] [--threads N] [--rate OPS_PER_S] [--count N]\n");
	exit(2);
}

static int parse_workload(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(workload_names) / sizeof(*workload_names); i++)
		if (!strcmp(s, workload_names[i]))
			return i;
	die("--workload", "newclose, exec_small, exec_alloc or lookup_mt");
	return -1;
}

static void parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "library", required_argument, NULL, 'l' },
		{ "workload", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c, have_workload = 0;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'b':
			opts.backend = optarg;
			break;
		case 'l':
			opts.library = optarg;
			break;
		case 'w':
			opts.workload = parse_workload(optarg);
			have_workload = 1;
			break;
		case 's':
			opts.seconds = atof(optarg);
			break;
		case 't':
			opts.threads = atoi(optarg);
			break;
		case 'r':
			opts.rate = atof(optarg);
			break;
		case 'c':
			opts.count = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !opts.backend || !have_workload)
		usage();
	if (strcmp(opts.backend, "user") && strcmp(opts.backend, "kernel"))
		die("--backend", "user or kernel");
	opts.kernel = !strcmp(opts.backend, "kernel");
	if (!opts.threads)
		opts.threads = opts.workload == W_LOOKUP_MT ? 2 : 1;
	if (opts.threads < 1 || opts.threads > BENCH_MAX_THREADS)
		die("--threads", "1 to 64");
	if (opts.seconds < 0)
		opts.seconds = opts.count ? 0 : 1;
	if (opts.rate < 0 || opts.count < 0)
		die("--rate/--count", "must not be negative");
}

/* ---- main ---- */

/* The i-th CPU this process may run on, or -1 (no pinning). */
static int nth_cpu(int i)
{
	cpu_set_t set;
	int cpu, seen = 0, total;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	total = CPU_COUNT(&set);
	if (!total)
		return -1;
	i %= total;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && seen++ == i)
			return cpu;
	return -1;
}

static void report(struct bench_thread *ts, double seconds)
{
	long ops = 0, errors = 0;
	int i;

	for (i = 0; i < opts.threads; i++) {
		ops += ts[i].ops;
		errors += ts[i].errors;
	}
	printf("{\"workload\": \"%s\", \"backend\": \"%s\", \"threads\": %d, "
	       "\"ops\": %ld, \"seconds\": %.6f, \"ops_per_s\": %.1f, "
	       "\"errors\": %ld}\n", workload_names[opts.workload],
	       opts.backend, opts.threads, ops, seconds,
	       seconds > 0 ? ops / seconds : 0.0, errors);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct bench_conn setup = { .fd = -1 };
	struct bench_thread *ts;
	double seconds = 0;
	int i, ret = 1;

	parse(argc, argv);
	if (opts.kernel)
		setup_kernel(&setup);
	else
		setup_user();
	setup_state(&setup);
	ts = calloc(opts.threads, sizeof(*ts));
	if (!ts)
		die("calloc", strerror(ENOMEM));
	pthread_barrier_init(&start_barrier, NULL, opts.threads + 1);
	for (i = 0; i < opts.threads; i++) {
		ts[i].index = i;
		ts[i].cpu = nth_cpu(i);
		ts[i].quota = opts.count / opts.threads +
			      (i < opts.count % opts.threads);
		if (opts.count && !ts[i].quota)
			ts[i].quota = -1;	/* nothing for this one */
		if (pthread_create(&ts[i].tid, NULL, thread_main, &ts[i]))
			die("pthread_create", strerror(errno));
	}
	/* every thread measures from here, whenever it gets to run */
	clock_gettime(CLOCK_MONOTONIC, &start_time);
	pthread_barrier_wait(&start_barrier);
	for (i = 0; i < opts.threads; i++) {
		pthread_join(ts[i].tid, NULL);
		if (ts[i].seconds > seconds)
			seconds = ts[i].seconds;
	}
	for (i = 0; i < opts.threads; i++) {
		if (ts[i].setup_error) {
			fprintf(stderr, "lunatik-bench: thread %d: %s\n", i,
				ts[i].setup_error);
			goto cleanup;
		}
	}
	report(ts, seconds);
	ret = 0;
cleanup:
	for (i = 0; i < opts.threads; i++)
		conn_close(&ts[i].conn);
	teardown_state(&setup);
	conn_close(&setup);
	free(ts);
	return ret;
}
