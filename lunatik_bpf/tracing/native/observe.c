// SPDX-License-Identifier: GPL-2.0
/*
 * The observer's native core: the checks of lunatik_bpf/tracing/observer.py (the
 * reference implementation, whose docstrings explain each ordering it
 * tolerates) over raw struct lunatik_event records, fed in batches from
 * the BPF ring buffer by libbcc's consumer (a C callback), so that no
 * Python runs per event. Loaded with ctypes by lunatik_bpf/tracing/native/__init__.py.
 *
 * The record layout comes from bpf/events.h, the header the BPF text
 * (bpf/lunatik.bpf.c) includes: there is one definition of it.
 *
 * Findings are rare: each is a flat struct (check, state, name, message and
 * copies of its evidence records) that Python decodes into a Finding.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <pthread.h>

typedef uint64_t u64;
typedef int64_t s64;
typedef uint32_t u32;
#include "events.h"

/*
 * Sums of record sizes, exact: the reference adds Python integers, which
 * do not wrap. A record's u64 fields reach 2^64 - 1, so curralloc - osize
 * + nsize lies in (-2^64, 2^65): beyond s64 and u64 alike, not beyond 128
 * bits (nor is a failed create's embryo's sum of such differences).
 */
typedef __int128 wide;

/* The decimal digits of v, as Python prints an int (dec(v).s). */
struct dec {
	char s[48];
};

static struct dec dec(wide v)
{
	unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	char tmp[48];
	struct dec d;
	size_t i = 0, j = 0;

	do {
		tmp[i++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		d.s[j++] = '-';
	while (i)
		d.s[j++] = tmp[--i];
	d.s[j] = '\0';
	return d;
}

typedef struct lunatik_event rec_t;

#define EVIDENCE	16	/* records kept per shadow, as observer.EVIDENCE */
#define FINDING_EVENTS	8	/* at most 5 are used: evidence + the event */
#define MSG_LEN		512	/* a finding's message, its NUL included */

enum check {
	C_ALLOC_LIMIT, C_REBUILT, C_DENY, C_NONNEG, C_ZERO_ONCE, C_AFTER_ZERO,
	C_EXEC_ENDS, C_MEM_RETURNED, C_NAMES_UNIQUE, C_COMPLETE, C_MAX,
};

static const char *const check_names[C_MAX] = {
	"alloc_within_limit", "curralloc_rebuilt", "deny_only_over_limit",
	"refcount_nonnegative", "refcount_zero_once", "no_event_after_zero",
	"exec_ends", "memory_returned", "names_unique", "events_complete",
};

struct obs_finding {
	char check[32];
	u64 state;
	char name[LUNATIK_EV_NAME_LEN];
	char message[MSG_LEN];
	u32 nevents;
	rec_t events[FINDING_EVENTS];
};

/* ---- u64 -> u64 map: open addressing, linear probing ---- */

struct map {
	u64 *keys;
	u64 *vals;
	unsigned char *used;
	size_t cap, n;
};

static u64 mix(u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

static size_t map_slot(const struct map *m, u64 k)
{
	size_t mask = m->cap - 1, i = mix(k) & mask;

	while (m->used[i] && m->keys[i] != k)
		i = (i + 1) & mask;
	return i;
}

static u64 *map_get(struct map *m, u64 k)
{
	size_t i;

	if (!m->n)
		return NULL;
	i = map_slot(m, k);
	return m->used[i] ? &m->vals[i] : NULL;
}

static int map_put(struct map *m, u64 k, u64 v);

static int map_grow(struct map *m)
{
	struct map big = { .cap = m->cap ? m->cap * 2 : 16 };
	size_t i;

	big.keys = malloc(big.cap * sizeof(u64));
	big.vals = malloc(big.cap * sizeof(u64));
	big.used = calloc(big.cap, 1);
	if (!big.keys || !big.vals || !big.used) {
		free(big.keys);
		free(big.vals);
		free(big.used);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++)
		if (m->used[i])
			map_put(&big, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	free(m->used);
	*m = big;
	return 0;
}

static int map_put(struct map *m, u64 k, u64 v)
{
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m))
		return -ENOMEM;
	i = map_slot(m, k);
	if (!m->used[i]) {
		m->used[i] = 1;
		m->keys[i] = k;
		m->n++;
	}
	m->vals[i] = v;
	return 0;
}

/* Removes k (backward-shift deletion: no tombstones); *old gets its value. */
static int map_del(struct map *m, u64 k, u64 *old)
{
	size_t mask, i, j, h;

	if (!m->n)
		return 0;
	mask = m->cap - 1;
	i = map_slot(m, k);
	if (!m->used[i])
		return 0;
	if (old)
		*old = m->vals[i];
	for (j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
		h = mix(m->keys[j]) & mask;
		/* the entry at j may move to i unless its home lies in (i, j] */
		if (i <= j ? (h > i && h <= j) : (h > i || h <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		i = j;
	}
	m->used[i] = 0;
	m->n--;
	return 1;
}

static void map_free(struct map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}

#define PTR(v)	((void *)(uintptr_t)(v))
#define U64(p)	((u64)(uintptr_t)(p))

/* ---- the observer's state ---- */

struct shadow {
	u64 addr;
	char name[LUNATIK_EV_NAME_LEN];
	u64 maxalloc;
	wide curralloc;		/* rebuilt: may leave u64's range, as Python's */
	s64 users;
	unsigned char curralloc_known, users_known, adopted, published;
	unsigned char zeroed, freed;
	u32 freed_by;
	u64 allocs;
	u32 recent_head, recent_n;
	rec_t recent[EVIDENCE];
	u64 reported[C_MAX];	/* not u32: 2^32 repeats must not report again */
	struct map held;	/* tid -> references it took */
};

/*
 * Python's dicts iterate in insertion order (a key assigned again keeps
 * its place): where the reference iterates embryos or open executes, the
 * entries are visited in the order of their seq.
 */
struct embryo {
	u64 seq;
	u32 tid;
	size_t n, cap;
	rec_t *events;
};

struct name_ent {
	char name[LUNATIK_EV_NAME_LEN];
	u64 addr;
	struct name_ent *next;
};

struct open_exec {
	u64 seq;
	rec_t begin;
};

/* What the lookup check needs of a thread's previous event. */
struct last {
	u32 kind;
	u64 state;
	s64 count;
};

struct ring {
	void *rb;		/* libbcc's (libbpf's) struct ring_buffer */
};

struct observer {
	struct map live, dead;		/* addr -> struct shadow * */
	struct map embryos;		/* addr -> struct embryo * */
	struct map names;		/* hash of name -> struct name_ent * chain */
	struct map open_exec;		/* tid -> struct open_exec * */
	u64 seq;			/* insertion order, see struct embryo */
	struct map last;		/* tid -> struct last * */
	u32 last_tid;
	struct last *last_cached;
	u64 drops_reported;
	u64 events, bad, counts[LUNATIK_EV_MAX];
	int error;			/* an allocation failed: results are partial */
	struct obs_finding *findings;
	size_t nfindings, capfindings;
	struct ring ring;
};

/* A list of evidence records, the event last (as checks.finding does). */
struct evl {
	const rec_t *e[FINDING_EVENTS];
	u32 n;
};

static void evl_add(struct evl *l, const rec_t *r)
{
	if (l->n < FINDING_EVENTS)
		l->e[l->n++] = r;
}

/* ---- shadows: recent records as a ring of EVIDENCE ---- */

static const rec_t *recent_at(const struct shadow *sh, u32 i)
{
	return &sh->recent[(sh->recent_head + i) % EVIDENCE];
}

static void recent_push(struct shadow *sh, const rec_t *r)
{
	if (sh->recent_n < EVIDENCE) {
		sh->recent[(sh->recent_head + sh->recent_n++) % EVIDENCE] = *r;
		return;
	}
	sh->recent[sh->recent_head] = *r;
	sh->recent_head = (sh->recent_head + 1) % EVIDENCE;
}

static void recent_pop(struct shadow *sh)
{
	if (sh->recent_n)
		sh->recent_n--;
}

/* Python's recent[-a:-b] (b == 0: to the end; a == 0: from the start). */
static void evl_slice(struct evl *l, const struct shadow *sh, u32 a, u32 b)
{
	u32 n = sh->recent_n;
	u32 from = a && a < n ? n - a : 0, to = b < n ? n - b : 0, i;

	for (i = from; i < to; i++)
		evl_add(l, recent_at(sh, i));
}

static struct shadow *shadow_new(struct observer *o, const rec_t *ev)
{
	struct shadow *sh = calloc(1, sizeof(*sh));

	if (!sh) {
		o->error = ENOMEM;
		return NULL;
	}
	sh->addr = ev->state;
	memcpy(sh->name, ev->name, sizeof(sh->name));
	sh->curralloc_known = 1;
	sh->users = 1;
	sh->users_known = 1;
	sh->published = 1;
	return sh;
}

static void shadow_free(struct shadow *sh)
{
	if (sh) {
		map_free(&sh->held);
		free(sh);
	}
}

/* Replaces the shadow of addr in m (the old one, if any, is freed). */
static void shadow_set(struct observer *o, struct map *m, u64 addr,
		       struct shadow *sh)
{
	u64 old;

	if (map_del(m, addr, &old))
		shadow_free(PTR(old));
	if (sh && map_put(m, addr, U64(sh)))
		o->error = ENOMEM;
}

static struct shadow *shadow_take(struct map *m, u64 addr)
{
	u64 v;

	return map_del(m, addr, &v) ? PTR(v) : NULL;
}

static struct shadow *shadow_get(struct map *m, u64 addr)
{
	u64 *v = map_get(m, addr);

	return v ? PTR(*v) : NULL;
}

static void embryo_free(struct embryo *e)
{
	if (e) {
		free(e->events);
		free(e);
	}
}

static struct embryo *embryo_take(struct observer *o, u64 addr)
{
	u64 v;

	return map_del(&o->embryos, addr, &v) ? PTR(v) : NULL;
}

static int embryo_add(struct observer *o, struct embryo *e, const rec_t *r)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		rec_t *evs = realloc(e->events, cap * sizeof(rec_t));

		if (!evs) {
			o->error = ENOMEM;
			return -ENOMEM;
		}
		e->events = evs;
		e->cap = cap;
	}
	e->events[e->n++] = *r;
	return 0;
}

/* ---- names: published name -> address ---- */

static u64 name_hash(const char *name)
{
	u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < LUNATIK_EV_NAME_LEN && name[i]; i++)
		h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
	return h;
}

static int name_eq(const char *a, const char *b)
{
	return strncmp(a, b, LUNATIK_EV_NAME_LEN) == 0;
}

/* The entry of name, and the one before it in its chain (NULL: the head). */
static struct name_ent *name_find(struct observer *o, const char *name,
				  struct name_ent **prev)
{
	u64 *head = map_get(&o->names, name_hash(name));
	struct name_ent *e, *before = NULL;

	for (e = head ? PTR(*head) : NULL; e; before = e, e = e->next) {
		if (name_eq(e->name, name)) {
			if (prev)
				*prev = before;
			return e;
		}
	}
	return NULL;
}

static int name_get(struct observer *o, const char *name, u64 *addr)
{
	struct name_ent *e = name_find(o, name, NULL);

	if (e)
		*addr = e->addr;
	return e != NULL;
}

static void name_del(struct observer *o, const char *name)
{
	struct name_ent *prev, *e = name_find(o, name, &prev);
	u64 h = name_hash(name);

	if (!e)
		return;
	if (prev)
		prev->next = e->next;
	else if (e->next)
		*map_get(&o->names, h) = U64(e->next);
	else
		map_del(&o->names, h, NULL);
	free(e);
}

static void name_set(struct observer *o, const char *name, u64 addr)
{
	struct name_ent *e = name_find(o, name, NULL);
	u64 *head, h = name_hash(name);

	if (e) {
		e->addr = addr;
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		o->error = ENOMEM;
		return;
	}
	memcpy(e->name, name, sizeof(e->name));
	e->addr = addr;
	head = map_get(&o->names, h);
	e->next = head ? PTR(*head) : NULL;
	if (map_put(&o->names, h, U64(e))) {
		free(e);
		o->error = ENOMEM;
	}
}

/* ---- findings ---- */

/* One finding per check and incarnation: false for a repeat (only counted). */
static int first_report(struct shadow *sh, enum check c)
{
	return !sh || sh->reported[c]++ == 0;
}

/* A repeat is only counted: true then, and the finding need not be built. */
static int repeat(struct shadow *sh, enum check c)
{
	if (!sh || !sh->reported[c])
		return 0;
	sh->reported[c]++;
	return 1;
}

static void emit(struct observer *o, enum check c, u64 state, const char *name,
		 const struct evl *l, const char *msg)
{
	struct obs_finding *f;
	u32 i;

	if (o->nfindings == o->capfindings) {
		size_t cap = o->capfindings ? o->capfindings * 2 : 16;
		struct obs_finding *fs = realloc(o->findings, cap * sizeof(*fs));

		if (!fs) {
			o->error = ENOMEM;
			return;
		}
		o->findings = fs;
		o->capfindings = cap;
	}
	f = &o->findings[o->nfindings++];
	memset(f, 0, offsetof(struct obs_finding, events));
	snprintf(f->check, sizeof(f->check), "%s", check_names[c]);
	f->state = state;
	if (name)
		memcpy(f->name, name, sizeof(f->name));
	snprintf(f->message, sizeof(f->message), "%s", msg);
	f->nevents = l ? l->n : 0;
	for (i = 0; i < f->nevents; i++)
		f->events[i] = *l->e[i];
}

/* checks.finding(check, ev, message, *evidence), through _report. */
static void report(struct observer *o, struct shadow *sh, enum check c,
		   const rec_t *ev, struct evl *l, const char *msg)
{
	struct evl none = { .n = 0 };

	if (!first_report(sh, c))
		return;
	if (!l)
		l = &none;
	evl_add(l, ev);
	emit(o, c, ev->state, ev->name, l, msg);
}

/* ---- the checks of one allocation event (observer._account) ---- */

static wide after_of(const rec_t *ev)
{
	return (wide)ev->curralloc - (wide)ev->osize + (wide)ev->nsize;
}

static void account_alloc(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	wide after = after_of(ev);
	char msg[MSG_LEN];

	sh->allocs++;
	sh->curralloc = sh->curralloc - (wide)ev->osize + (wide)ev->nsize;
	if (ev->maxalloc && after > (wide)ev->maxalloc && !repeat(sh, C_ALLOC_LIMIT)) {
		snprintf(msg, sizeof(msg), "curralloc %s > maxalloc %llu after "
			 "charge(osize=%llu, nsize=%llu)", dec(after).s,
			 (unsigned long long)ev->maxalloc, (unsigned long long)ev->osize,
			 (unsigned long long)ev->nsize);
		report(o, sh, C_ALLOC_LIMIT, ev, NULL, msg);
	}
}

static void account_deny(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	wide would = after_of(ev);
	char msg[MSG_LEN];

	if (would > (wide)ev->maxalloc)
		return;
	snprintf(msg, sizeof(msg), "denied osize=%llu nsize=%llu although "
		 "%llu-%llu+%llu=%s <= maxalloc %llu",
		 (unsigned long long)ev->osize, (unsigned long long)ev->nsize,
		 (unsigned long long)ev->curralloc, (unsigned long long)ev->osize,
		 (unsigned long long)ev->nsize, dec(would).s,
		 (unsigned long long)ev->maxalloc);
	report(o, sh, C_DENY, ev, NULL, msg);
}

static void account(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	char msg[MSG_LEN];

	recent_push(sh, ev);
	if (ev->kind == LUNATIK_EV_ALLOC || ev->kind == LUNATIK_EV_DENY) {
		if (ev->maxalloc)
			sh->maxalloc = ev->maxalloc;
	} else if (ev->kind != LUNATIK_EV_FREE) {
		return;
	}
	if (!sh->curralloc_known) {
		sh->curralloc = (wide)ev->curralloc;
		sh->curralloc_known = 1;
	}
	if ((wide)ev->curralloc != sh->curralloc) {
		struct evl l = { .n = 0 };

		snprintf(msg, sizeof(msg), "state says curralloc %llu, the allocation "
			 "events add up to %s", (unsigned long long)ev->curralloc,
			 dec(sh->curralloc).s);
		evl_slice(&l, sh, 4, 1);
		report(o, sh, C_REBUILT, ev, &l, msg);
		sh->curralloc = (wide)ev->curralloc;	/* resync, report each drift once */
	}
	if (ev->kind == LUNATIK_EV_ALLOC)
		account_alloc(o, sh, ev);
	else if (ev->kind == LUNATIK_EV_DENY)
		account_deny(o, sh, ev);
}

static void account_embryo(struct observer *o, struct shadow *sh, struct embryo *e)
{
	size_t i;

	for (i = 0; e && i < e->n; i++)
		account(o, sh, &e->events[i]);
}

/* ---- observer._shadow: the live shadow of ev->state, adopting unknowns ---- */

static void after_zero(struct observer *o, struct shadow *sh, const rec_t *ev,
		       const char *msg)
{
	struct evl l = { .n = 0 };

	if (repeat(sh, C_AFTER_ZERO))
		return;
	evl_slice(&l, sh, 3, 0);
	report(o, sh, C_AFTER_ZERO, ev, &l, msg);
}

static struct shadow *adopt(struct observer *o, const rec_t *ev)
{
	struct embryo *e = embryo_take(o, ev->state);
	struct shadow *sh = shadow_new(o, ev);

	if (!sh) {
		embryo_free(e);
		return NULL;
	}
	sh->users_known = 0;
	sh->adopted = 1;
	sh->curralloc_known = 0;
	sh->curralloc = 0;
	shadow_set(o, &o->live, ev->state, sh);
	account_embryo(o, sh, e);
	embryo_free(e);
	recent_push(sh, ev);
	return sh;
}

static struct shadow *shadow_of(struct observer *o, const rec_t *ev)
{
	struct shadow *sh = shadow_get(&o->live, ev->state);

	if (sh) {
		if (sh->freed && !(ev->kind == LUNATIK_EV_PUT && ev->tid == sh->freed_by))
			after_zero(o, sh, ev, "event after the state was freed");
		recent_push(sh, ev);
		return sh;
	}
	sh = shadow_get(&o->dead, ev->state);
	if (sh) {
		if (!(ev->kind == LUNATIK_EV_GET && ev->count == 0)) {
			after_zero(o, sh, ev, "event after the refcount reached zero");
			recent_push(sh, ev);
		}
		return NULL;
	}
	return adopt(o, ev);
}

static void unpublish(struct observer *o, struct shadow *sh)
{
	u64 addr;

	sh->published = 0;
	if (name_get(o, sh->name, &addr) && addr == sh->addr)
		name_del(o, sh->name);
}

static void held_add(struct observer *o, struct shadow *sh, u32 tid, s64 d)
{
	u64 *v = map_get(&sh->held, tid);

	if (v)
		*v += d;
	else if (map_put(&sh->held, tid, (u64)d))
		o->error = ENOMEM;
}

/* ---- handlers, one per kind ---- */

/* (seq, key) pairs, to visit map entries in insertion order. */
struct ordered {
	u64 seq, key;
};

static int by_seq(const void *a, const void *b)
{
	const struct ordered *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The keys of m whose value passes keep(value, arg), in seq order; NULL
 * (and *n 0) when there are none or memory ran out. */
static struct ordered *ordered_keys(struct observer *o, struct map *m,
				    int (*keep)(void *, const void *, u64 *),
				    const void *arg, size_t *n)
{
	struct ordered *out = malloc((m->n + 1) * sizeof(*out));
	size_t i;

	*n = 0;
	if (!out) {
		o->error = ENOMEM;
		return NULL;
	}
	for (i = 0; i < m->cap; i++)
		if (m->used[i] && keep(PTR(m->vals[i]), arg, &out[*n].seq))
			out[(*n)++].key = m->keys[i];
	qsort(out, *n, sizeof(*out), by_seq);
	return out;
}

static int embryo_of_tid(void *v, const void *arg, u64 *seq)
{
	struct embryo *e = v;

	*seq = e->seq;
	return e->tid == ((const rec_t *)arg)->tid;
}

/* A failed create's embryos (of its thread) must have returned every block. */
static void embryo_left(struct observer *o, struct embryo *e, u64 addr,
			const rec_t *ev)
{
	struct evl l = { .n = 0 };
	char msg[MSG_LEN];
	wide left = 0;
	size_t j;

	for (j = 0; j < e->n; j++)
		if (e->events[j].kind == LUNATIK_EV_ALLOC)
			left += (wide)e->events[j].nsize - (wide)e->events[j].osize;
	if (!left)
		return;
	for (j = e->n > 3 ? e->n - 3 : 0; j < e->n; j++)
		evl_add(&l, &e->events[j]);
	evl_add(&l, ev);
	snprintf(msg, sizeof(msg), "create failed (%lld) with %s bytes still charged",
		 (long long)ev->ret, dec(left).s);
	emit(o, C_MEM_RETURNED, addr, ev->name, &l, msg);
}

static void create_failed(struct observer *o, const rec_t *ev)
{
	size_t i, n;
	struct ordered *keys = ordered_keys(o, &o->embryos, embryo_of_tid, ev, &n);

	for (i = 0; i < n; i++) {
		struct embryo *e = embryo_take(o, keys[i].key);

		embryo_left(o, e, keys[i].key, ev);
		embryo_free(e);
	}
	free(keys);
}

static void names_unique(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	struct shadow *p;
	char msg[MSG_LEN];
	u64 prev;

	if (!name_get(o, ev->name, &prev) || prev == ev->state)
		return;
	p = shadow_get(&o->live, prev);
	if (p && p->published && name_eq(p->name, ev->name)) {
		struct evl l = { .n = 0 };

		if (p->recent_n)
			evl_add(&l, recent_at(p, 0));
		snprintf(msg, sizeof(msg), "created while state %#llx of the same name "
			 "is live", (unsigned long long)prev);
		report(o, sh, C_NAMES_UNIQUE, ev, &l, msg);
	}
}

static void on_create(struct observer *o, const rec_t *ev)
{
	struct shadow *old, *sh;
	struct embryo *e;

	if (ev->ret != 0 || ev->state == 0) {
		create_failed(o, ev);
		return;
	}
	shadow_set(o, &o->dead, ev->state, NULL);
	old = shadow_take(&o->live, ev->state);
	e = embryo_take(o, ev->state);
	sh = shadow_new(o, ev);
	if (!sh) {
		shadow_free(old);
		embryo_free(e);
		return;
	}
	sh->maxalloc = ev->maxalloc;
	if (old && old->adopted) {	/* adopted from its embryo's events */
		u32 i;

		sh->curralloc = old->curralloc;
		sh->curralloc_known = old->curralloc_known;
		sh->allocs = old->allocs;
		memcpy(sh->reported, old->reported, sizeof(sh->reported));
		for (i = 0; i < old->recent_n; i++)
			recent_push(sh, recent_at(old, i));
	}
	shadow_free(old);
	account_embryo(o, sh, e);
	embryo_free(e);
	recent_push(sh, ev);
	names_unique(o, sh, ev);
	name_set(o, ev->name, ev->state);
	shadow_set(o, &o->live, ev->state, sh);
}

static void on_remove(struct observer *o, const rec_t *ev)
{
	struct shadow *sh;
	u64 addr;

	if (ev->ret != 0 || !name_get(o, ev->name, &addr))
		return;
	name_del(o, ev->name);
	sh = shadow_get(&o->live, addr);
	if (sh) {
		sh->published = 0;
		recent_push(sh, ev);
	}
}

static void on_lookup(struct observer *o, const rec_t *ev, const struct last *prev)
{
	struct shadow *sh;

	if (!ev->state)
		return;
	sh = shadow_of(o, ev);
	if (!sh || ev->flags != LUNATIK_LOOKUP_STATEGET || !sh->users_known)
		return;
	if (prev && prev->kind == LUNATIK_EV_GET && prev->state == ev->state &&
	    prev->count > 0)
		return;		/* stateget took its reference through lunatik_getstate */
	sh->users++;
	held_add(o, sh, ev->tid, 1);
}

static void on_get(struct observer *o, const rec_t *ev)
{
	struct shadow *sh = shadow_of(o, ev);
	char msg[MSG_LEN];

	if (!sh)
		return;
	if (ev->count < 0) {
		snprintf(msg, sizeof(msg), "getstate returned count %lld", (long long)ev->count);
		report(o, sh, C_NONNEG, ev, NULL, msg);
	}
	if (ev->count > 0) {
		held_add(o, sh, ev->tid, 1);
		if (sh->users_known)
			sh->users++;
	}
}

static void put_zero(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	char msg[MSG_LEN];

	if (sh->zeroed) {
		report(o, sh, C_ZERO_ONCE, ev, NULL, "refcount reached zero a second time");
	} else if (sh->users_known && sh->users > 0 && !repeat(sh, C_ZERO_ONCE)) {
		struct evl l = { .n = 0 };

		snprintf(msg, sizeof(msg), "refcount reached zero with %lld references "
			 "still counted", (long long)sh->users);
		evl_slice(&l, sh, 4, 1);
		report(o, sh, C_ZERO_ONCE, ev, &l, msg);
	}
	sh->zeroed = 1;
	shadow_take(&o->live, ev->state);
	shadow_set(o, &o->dead, ev->state, sh);
	unpublish(o, sh);	/* the name must not follow a reused address */
}

static void on_put(struct observer *o, const rec_t *ev)
{
	struct shadow *sh = shadow_of(o, ev);
	char msg[MSG_LEN];
	u64 *held;

	if (!sh)
		return;
	if (sh->users_known)
		sh->users--;
	held = map_get(&sh->held, ev->tid);
	if (held && *held)
		(*held)--;
	else
		/* a put by a thread that took no reference: the table's */
		unpublish(o, sh);
	if (ev->count < 0 || (sh->users_known && sh->users < 0)) {
		struct evl l = { .n = 0 };

		char users[24] = "None";	/* as Python prints an unknown count */

		if (sh->users_known)
			snprintf(users, sizeof(users), "%lld", (long long)sh->users);
		snprintf(msg, sizeof(msg), "putstate returned count %lld, references "
			 "counted %s", (long long)ev->count, users);
		evl_slice(&l, sh, 4, 1);
		report(o, sh, C_NONNEG, ev, &l, msg);
	}
	if (ev->count == 0) {
		put_zero(o, sh, ev);
	} else if (sh->users_known && sh->users == 0 && !sh->zeroed) {
		struct evl l = { .n = 0 };

		snprintf(msg, sizeof(msg), "the last reference was put but the refcount "
			 "is %lld: the state is never freed", (long long)ev->count);
		evl_slice(&l, sh, 5, 1);
		report(o, sh, C_ZERO_ONCE, ev, &l, msg);
	}
}

static void on_exec_begin(struct observer *o, const rec_t *ev)
{
	struct open_exec *copy;
	u64 *prev;

	if (!shadow_of(o, ev))
		return;
	prev = map_get(&o->open_exec, ev->tid);
	if (prev) {
		struct open_exec *p = PTR(*prev);
		struct evl l = { .n = 0 };

		evl_add(&l, ev);
		report(o, shadow_get(&o->live, p->begin.state), C_EXEC_ENDS, &p->begin, &l,
		       "execute began and never ended (the same thread began another)");
		p->begin = *ev;		/* in the same place, as a dict key assigned again */
		return;
	}
	copy = malloc(sizeof(*copy));
	if (!copy || map_put(&o->open_exec, ev->tid, U64(copy))) {
		free(copy);
		o->error = ENOMEM;
		return;
	}
	copy->seq = o->seq++;
	copy->begin = *ev;
}

static void on_exec_end(struct observer *o, const rec_t *ev)
{
	u64 *begin;

	shadow_of(o, ev);
	begin = map_get(&o->open_exec, ev->tid);
	if (begin && ((struct open_exec *)PTR(*begin))->begin.state == ev->state) {
		free(PTR(*begin));
		map_del(&o->open_exec, ev->tid, NULL);
	}
}

static void alloc_or_deny(struct observer *o, const rec_t *ev)
{
	struct shadow *sh = shadow_get(&o->live, ev->state);
	struct embryo *e;
	u64 *v;

	if (sh) {
		if (sh->freed) {
			shadow_of(o, ev);	/* reports no_event_after_zero */
			recent_pop(sh);
		}
		account(o, sh, ev);
		return;
	}
	v = map_get(&o->embryos, ev->state);
	e = v ? PTR(*v) : NULL;
	if (e && e->tid == ev->tid) {
		embryo_add(o, e, ev);
		return;
	}
	if (ev->curralloc != 0) {
		/* a dead state's (reported), or one older than the session: adopted */
		sh = shadow_of(o, ev);
		if (sh) {
			recent_pop(sh);
			account(o, sh, ev);
		}
		return;
	}
	/* a new state being built (its CREATE comes when create returns); an
	 * embryo of another thread there is replaced, in its place */
	if (e) {
		e->n = 0;
		e->tid = ev->tid;
		embryo_add(o, e, ev);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e || map_put(&o->embryos, ev->state, U64(e))) {
		free(e);
		o->error = ENOMEM;
		return;
	}
	e->seq = o->seq++;
	e->tid = ev->tid;
	embryo_add(o, e, ev);
}

static void check_free(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	char msg[MSG_LEN];

	if (ev->curralloc == 0)
		return;
	snprintf(msg, sizeof(msg), "curralloc %llu at free (expected 0)",
		 (unsigned long long)ev->curralloc);
	report(o, sh, C_MEM_RETURNED, ev, NULL, msg);
}

/* A create that failed after allocating: its embryo must be empty. */
static void free_embryo(struct observer *o, struct embryo *e, const rec_t *ev)
{
	struct shadow *sh = shadow_new(o, ev);

	if (sh) {
		sh->users_known = 0;
		account_embryo(o, sh, e);
		account(o, sh, ev);
	}
	shadow_free(sh);
	check_free(o, NULL, ev);
}

static int exec_on_state(void *v, const void *arg, u64 *seq)
{
	struct open_exec *x = v;

	*seq = x->seq;
	return x->begin.state == ((const rec_t *)arg)->state;
}

static void free_open_execs(struct observer *o, struct shadow *sh, const rec_t *ev)
{
	size_t i, n;
	struct ordered *keys;

	if (!o->open_exec.n)
		return;
	keys = ordered_keys(o, &o->open_exec, exec_on_state, ev, &n);
	for (i = 0; i < n; i++) {
		struct evl l = { .n = 0 };
		u64 v;

		map_del(&o->open_exec, keys[i].key, &v);
		evl_add(&l, ev);
		report(o, sh, C_EXEC_ENDS, &((struct open_exec *)PTR(v))->begin, &l,
		       "execute began and never ended before the state was freed");
		free(PTR(v));
	}
	free(keys);
}

static void on_free(struct observer *o, const rec_t *ev)
{
	struct embryo *e = embryo_take(o, ev->state);
	struct shadow *sh;

	if (e && !shadow_get(&o->live, ev->state)) {
		free_embryo(o, e, ev);
		embryo_free(e);
		return;
	}
	embryo_free(e);
	sh = shadow_of(o, ev);
	if (!sh)
		return;
	recent_pop(sh);
	account(o, sh, ev);
	check_free(o, sh, ev);
	free_open_execs(o, sh, ev);
	sh->freed = 1;
	sh->freed_by = ev->tid;
}

/* ---- entry points ---- */

static struct last *last_of(struct observer *o, u32 tid)
{
	struct last *l;
	u64 *v;

	if (o->last_cached && o->last_tid == tid)
		return o->last_cached;
	v = map_get(&o->last, tid);
	if (v) {
		l = PTR(*v);
	} else {
		l = calloc(1, sizeof(*l));
		if (!l || map_put(&o->last, tid, U64(l))) {
			free(l);
			o->error = ENOMEM;
			return NULL;
		}
	}
	o->last_tid = tid;
	o->last_cached = l;
	return l;
}

static void dispatch(struct observer *o, const rec_t *ev, const struct last *prev)
{
	switch (ev->kind) {
	case LUNATIK_EV_CREATE:
		on_create(o, ev);
		break;
	case LUNATIK_EV_REMOVE:
		on_remove(o, ev);
		break;
	case LUNATIK_EV_LOOKUP:
		on_lookup(o, ev, prev);
		break;
	case LUNATIK_EV_GET:
		on_get(o, ev);
		break;
	case LUNATIK_EV_PUT:
		on_put(o, ev);
		break;
	case LUNATIK_EV_EXEC_BEGIN:
		on_exec_begin(o, ev);
		break;
	case LUNATIK_EV_EXEC_END:
		on_exec_end(o, ev);
		break;
	case LUNATIK_EV_ALLOC:
	case LUNATIK_EV_DENY:
		alloc_or_deny(o, ev);
		break;
	case LUNATIK_EV_FREE:
		on_free(o, ev);
		break;
	default:	/* LOCK, UNLOCK, CONTENTION */
		shadow_of(o, ev);
	}
}

/* One record; a record of another size or an unknown kind is counted in bad. */
int obs_feed(struct observer *o, const void *data, size_t size)
{
	const rec_t *ev = data;
	struct last *l, prev;

	if (size != sizeof(rec_t) || ev->kind == 0 || ev->kind >= LUNATIK_EV_MAX) {
		o->bad++;
		return -EINVAL;
	}
	o->events++;
	o->counts[ev->kind]++;
	l = last_of(o, ev->tid);
	if (l)
		prev = *l;
	dispatch(o, ev, l && l->kind ? &prev : NULL);
	if (l) {
		l->kind = ev->kind;
		l->state = ev->state;
		l->count = ev->count;
	}
	return 0;
}

/* n records of stride bytes from base, in order (the offline replay). */
u64 obs_feed_many(struct observer *o, const void *base, size_t stride, size_t n)
{
	const unsigned char *p = base;
	u64 ok = 0;
	size_t i;

	for (i = 0; i < n; i++)
		ok += obs_feed(o, p + i * stride, sizeof(rec_t)) == 0;
	return ok;
}

/*
 * What each cause of enum lunatik_drop_cause lost, said after a count: the
 * words of summary.DROP_TEXT. A cause events.h does not name reads as
 * "losses of cause<N>" (summary.drop_text of drop_cause_name).
 */
static const char *const drop_texts[LUNATIK_DROP_MAX] = {
	[LUNATIK_DROP_RINGBUF] = "events dropped by a full ring buffer",
	[LUNATIK_DROP_MAP_FULL] = "state counts not kept by a full summary map",
	[LUNATIK_DROP_STASH] = "entry probes whose stash was lost before their return",
};
_Static_assert(LUNATIK_DROP_MAX == 3, "a cause of events.h without its wording here");

/* The name of a cause events.h does not name (summary.drop_cause_name):
 * such causes follow the named ones, in the order of their names, as
 * summary.drop_parts sorts them. */
struct drop_name {
	char s[32];
};

static struct drop_name drop_name(u32 i)
{
	struct drop_name d;

	snprintf(d.s, sizeof(d.s), "cause%u", i);
	return d;
}

static size_t drop_part(char *msg, size_t len, size_t pos, u32 cause, u64 n)
{
	if (pos >= len)
		return pos;
	if (cause < LUNATIK_DROP_MAX && drop_texts[cause])
		pos += snprintf(msg + pos, len - pos, "%s%s (%llu when first seen)",
				pos ? "; " : "", drop_texts[cause], (unsigned long long)n);
	else
		pos += snprintf(msg + pos, len - pos, "%slosses of cause%u (%llu when first seen)",
				pos ? "; " : "", cause, (unsigned long long)n);
	return pos;
}

/*
 * The first count of drops is one finding: the checks are partial from then
 * on. drops is the total over every cause; by_cause[i] (i < n) the count of
 * cause i of enum lunatik_drop_cause, which words the finding cause by cause
 * as observer.note_drops does. Without a split (n == 0, or every count 0)
 * the total is the ring buffer's.
 */
void obs_note_drops(struct observer *o, u64 drops, const u64 *by_cause, u32 n)
{
	char msg[MSG_LEN];
	size_t pos = 0;
	u32 i, known = n < LUNATIK_DROP_MAX ? n : LUNATIK_DROP_MAX;
	struct drop_name last = { "" };
	int any = 0;

	if (!drops || o->drops_reported)
		return;
	o->drops_reported = drops;
	if (!by_cause)
		n = known = 0;
	for (i = 0; i < known; i++)
		if (by_cause[i]) {
			pos = drop_part(msg, sizeof(msg), pos, i, by_cause[i]);
			any = 1;
		}
	/* the causes events.h does not name, in the order of their names */
	for (;;) {
		struct drop_name best = { "" };
		u32 at = 0;
		int found = 0;

		for (i = known; i < n; i++) {
			struct drop_name d;

			if (!by_cause[i])
				continue;
			d = drop_name(i);
			if ((!last.s[0] || strcmp(d.s, last.s) > 0) &&
			    (!found || strcmp(d.s, best.s) < 0)) {
				best = d;
				at = i;
				found = 1;
			}
		}
		if (!found)
			break;
		pos = drop_part(msg, sizeof(msg), pos, at, by_cause[at]);
		last = best;
		any = 1;
	}
	if (!any)
		pos = drop_part(msg, sizeof(msg), pos, LUNATIK_DROP_RINGBUF, drops);
	if (pos < sizeof(msg))
		snprintf(msg + pos, sizeof(msg) - pos, ": findings may be missing or spurious");
	emit(o, C_COMPLETE, 0, NULL, NULL, msg);
}

static int by_tid(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* End of session: executes still open never ended (in tid order). */
void obs_finish(struct observer *o)
{
	size_t i, n = 0;
	u64 *tids = malloc((o->open_exec.n + 1) * sizeof(u64));
	char msg[MSG_LEN];

	if (!tids) {
		o->error = ENOMEM;
		return;
	}
	for (i = 0; i < o->open_exec.cap; i++)
		if (o->open_exec.used[i])
			tids[n++] = o->open_exec.keys[i];
	qsort(tids, n, sizeof(u64), by_tid);
	for (i = 0; i < n; i++) {
		u64 v;
		rec_t *begin;

		map_del(&o->open_exec, tids[i], &v);
		begin = &((struct open_exec *)PTR(v))->begin;
		snprintf(msg, sizeof(msg), "execute began on tid %llu and never ended",
			 (unsigned long long)tids[i]);
		report(o, shadow_get(&o->live, begin->state), C_EXEC_ENDS, begin, NULL, msg);
		free(PTR(v));
	}
	free(tids);
}

/*
 * ---- the ring buffer, through libbcc's consumer ----
 *
 * libbcc wraps libbpf's ring_buffer API (bpf_new_ringbuf, bpf_poll_ringbuf,
 * bpf_consume_ringbuf, bpf_free_ringbuf): it maps the ring, reads each
 * committed record and calls a C callback with it (on_sample: obs_feed),
 * so no Python runs per event. libbcc is opened at the first obs_ring_open,
 * not linked: where BCC is absent this library still loads and its offline
 * entry points (obs_feed, obs_feed_many) work; obs_ring_open fails then.
 * In a tracer's process BCC's Python has loaded libbcc.so.0 already, and
 * dlopen returns that same copy.
 */

typedef int (*sample_fn)(void *ctx, void *data, size_t size);

static struct {
	void *(*ring_new)(int map_fd, sample_fn cb, void *ctx);
	int (*ring_poll)(void *rb, int timeout_ms);
	int (*ring_consume)(void *rb);
	void (*ring_free)(void *rb);
	int err;		/* 0: loaded, else -errno */
} bcc;

static pthread_once_t bcc_once = PTHREAD_ONCE_INIT;

static void bcc_load(void)
{
	/* libbcc_bpf.so.0: the same functions, without LLVM, where libbcc.so.0 is missing */
	static const char *const libs[] = { "libbcc.so.0", "libbcc_bpf.so.0" };
	void *so = NULL;
	size_t i;

	for (i = 0; !so && i < sizeof(libs) / sizeof(libs[0]); i++)
		so = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		bcc.err = -ELIBACC;
		return;
	}
	*(void **)&bcc.ring_new = dlsym(so, "bpf_new_ringbuf");
	*(void **)&bcc.ring_poll = dlsym(so, "bpf_poll_ringbuf");
	*(void **)&bcc.ring_consume = dlsym(so, "bpf_consume_ringbuf");
	*(void **)&bcc.ring_free = dlsym(so, "bpf_free_ringbuf");
	if (!bcc.ring_new || !bcc.ring_poll || !bcc.ring_consume || !bcc.ring_free)
		bcc.err = -ELIBBAD;	/* kept open: a half-resolved library is not retried */
}

/* 1 when libbcc's ring-buffer consumer can be loaded (obs_ring_open can work). */
int obs_ring_supported(void)
{
	pthread_once(&bcc_once, bcc_load);
	return bcc.err == 0;
}

/* libbcc calls this for each record, in ring order. */
static int on_sample(void *ctx, void *data, size_t size)
{
	obs_feed(ctx, data, size);
	return 0;		/* non-zero would stop the consumer */
}

static void ring_close(struct ring *r)
{
	if (r->rb)
		bcc.ring_free(r->rb);
	r->rb = NULL;
}

/* Consumes the ring buffer of map fd (a BPF_MAP_TYPE_RINGBUF) from now on. */
int obs_ring_open(struct observer *o, int fd)
{
	if (!obs_ring_supported())
		return bcc.err;
	ring_close(&o->ring);
	errno = 0;
	o->ring.rb = bcc.ring_new(fd, on_sample, o);
	if (!o->ring.rb)
		return errno ? -errno : -EINVAL;
	return 0;
}

void obs_ring_close(struct observer *o)
{
	ring_close(&o->ring);
}

/* Feeds every committed record; stops at one still being written. */
long obs_ring_consume(struct observer *o)
{
	if (!o->ring.rb)
		return -EBADF;
	return bcc.ring_consume(o->ring.rb);
}

/*
 * After a wakeup the consumer naps this long and reads again before it
 * returns: a slow producer (a uprobe costs microseconds) would otherwise
 * wake it for each record, a context switch per event, several
 * microseconds of CPU taken from the traced workload on a small machine.
 * 4 MiB of ring hold some 13000 records: 13 ms at a million events per
 * second.
 */
#define COALESCE_NS	500000

/* Consumes what is there; when nothing was, waits up to timeout_ms for more. */
long obs_ring_poll(struct observer *o, int timeout_ms)
{
	struct timespec nap = { .tv_sec = 0, .tv_nsec = COALESCE_NS };
	long n = obs_ring_consume(o), more;

	if (n)
		return n;
	/* waits (epoll on the map), then feeds the records that woke it */
	n = bcc.ring_poll(o->ring.rb, timeout_ms);
	if (n == -EINTR)
		n = 0;
	else if (n <= 0)
		return n;
	nanosleep(&nap, NULL);
	more = obs_ring_consume(o);
	return more < 0 ? more : n + more;
}

/* ---- life and results ---- */

struct observer *obs_new(void)
{
	return calloc(1, sizeof(struct observer));
}

static void free_values(struct map *m, void (*fn)(void *))
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->used[i])
			fn(PTR(m->vals[i]));
	map_free(m);
}

static void shadow_free_v(void *p)
{
	shadow_free(p);
}

static void embryo_free_v(void *p)
{
	embryo_free(p);
}

static void names_free_v(void *p)
{
	struct name_ent *e = p, *next;

	for (; e; e = next) {
		next = e->next;
		free(e);
	}
}

void obs_free(struct observer *o)
{
	if (!o)
		return;
	ring_close(&o->ring);
	free_values(&o->live, shadow_free_v);
	free_values(&o->dead, shadow_free_v);
	free_values(&o->embryos, embryo_free_v);
	free_values(&o->names, names_free_v);
	free_values(&o->open_exec, free);
	free_values(&o->last, free);
	free(o->findings);
	free(o);
}

size_t obs_nfindings(const struct observer *o)
{
	return o->nfindings;
}

const struct obs_finding *obs_finding_at(const struct observer *o, size_t i)
{
	return i < o->nfindings ? &o->findings[i] : NULL;
}

u64 obs_events(const struct observer *o)
{
	return o->events;
}

u64 obs_bad(const struct observer *o)
{
	return o->bad;
}

u64 obs_count(const struct observer *o, u32 kind)
{
	return kind < LUNATIK_EV_MAX ? o->counts[kind] : 0;
}

int obs_error(const struct observer *o)
{
	return o->error;
}

/* ---- the layouts, for Python's ctypes (no second definition there) ---- */

struct obs_field {
	const char *name;
	u32 offset, size, is_signed, is_text;
};

#define FIELD(f, sgn, txt) { #f, offsetof(rec_t, f), sizeof(((rec_t *)0)->f), sgn, txt }

static const struct obs_field fields[] = {
	FIELD(ts, 0, 0), FIELD(state, 0, 0), FIELD(kind, 0, 0), FIELD(pid, 0, 0),
	FIELD(tid, 0, 0), FIELD(cpu, 0, 0), FIELD(comm, 0, 1), FIELD(name, 0, 1),
	FIELD(ret, 1, 0), FIELD(maxalloc, 0, 0), FIELD(curralloc, 0, 0),
	FIELD(osize, 0, 0), FIELD(nsize, 0, 0), FIELD(len, 0, 0), FIELD(latency, 0, 0),
	FIELD(count, 1, 0), FIELD(flags, 0, 0), FIELD(code_len, 0, 0), FIELD(code, 0, 1),
	{ NULL, 0, 0, 0, 0 },
};

const struct obs_field *obs_record_fields(void)
{
	return fields;
}

size_t obs_record_size(void)
{
	return sizeof(rec_t);
}

size_t obs_finding_size(void)
{
	return sizeof(struct obs_finding);
}

size_t obs_finding_message_len(void)
{
	return MSG_LEN;
}

size_t obs_finding_events_offset(void)
{
	return offsetof(struct obs_finding, events);
}

const char *obs_check_name(u32 c)
{
	return c < C_MAX ? check_names[c] : NULL;
}

/*
 * make bench's producer calls this n-record trigger: the bench BPF program
 * (bpf/lunatik.bpf.c, LUNATIK_BENCH_PRODUCER) has a uprobe on it. It does
 * nothing itself; noinline and the asm keep a call to probe.
 */
__attribute__((noinline)) u32 obs_bench_trigger(u32 n)
{
	__asm__ volatile("" : : "r"(n) : "memory");
	return n;
}
