/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LUNATIK_USER_LINUX_COMPILER_H
#define _LUNATIK_USER_LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* Relaxed atomics, so that ThreadSanitizer sees what the kernel means. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#ifndef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#endif
#define __maybe_unused	__attribute__((__unused__))
#define noinline	__attribute__((__noinline__))

#endif
