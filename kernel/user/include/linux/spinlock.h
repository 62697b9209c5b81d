/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 4-byte test-and-test-and-set spin lock (the size of the kernel's
 * spinlock_t without debugging, so the offsets in probes.h hold).
 * Acquire/release atomics, which ThreadSanitizer understands.
 */
#ifndef _LUNATIK_USER_LINUX_SPINLOCK_H
#define _LUNATIK_USER_LINUX_SPINLOCK_H

#include <sched.h>
#include <linux/types.h>

typedef struct spinlock {
	int locked;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(name)	{ .locked = 0 }
#define DEFINE_SPINLOCK(name)	spinlock_t name = __SPIN_LOCK_UNLOCKED(name)

static inline void spin_lock_init(spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELAXED);
}

static inline int spin_trylock(spinlock_t *lock)
{
	return !__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_lock(spinlock_t *lock)
{
	unsigned int spins = 0;

	while (!spin_trylock(lock)) {
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED)) {
			/* threads, unlike CPUs, get preempted: do not burn the slice */
			if (++spins % 64 == 0)
				sched_yield();
			else
				__builtin_ia32_pause();
		}
	}
}

static inline void spin_unlock(spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

static inline int spin_is_locked(spinlock_t *lock)
{
	return __atomic_load_n(&lock->locked, __ATOMIC_RELAXED);
}

#endif
