/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in: the library has no tracepoints (its tracer uses
 * uprobes on the probe functions). Each event of lunatik_trace.h becomes an
 * empty inline trace_<name>() and a trace_<name>_enabled() that is false,
 * so the same call sites compile to nothing.
 */
#ifndef LUNATIK_USER_TRACEPOINT_H
#define LUNATIK_USER_TRACEPOINT_H

#include <linux/types.h>

#define PARAMS(args...)		args
#define TP_PROTO(args...)	args
#define TP_ARGS(args...)	args

#define DECLARE_TRACE(name, proto, args)				\
	static inline void trace_##name(proto) { }			\
	static inline bool trace_##name##_enabled(void) { return false; }

#define TRACE_EVENT(name, proto, args, tstruct, assign, print)		\
	DECLARE_TRACE(name, PARAMS(proto), PARAMS(args))
#define DECLARE_EVENT_CLASS(name, proto, args, tstruct, assign, print)
#define DEFINE_EVENT(template, name, proto, args)			\
	DECLARE_TRACE(name, PARAMS(proto), PARAMS(args))

#endif
