/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A build without tracepoints: the user-space library, and the module built
 * with LUNATIK_NO_TRACEPOINTS=1 (make kmod-notrace: the baseline that shows
 * what the tracepoints cost untraced, and a module that only kprobes can
 * trace). lunatik_trace.h includes this instead of <linux/tracepoint.h>:
 * each of its events becomes an empty inline trace_<name>() and a
 * trace_<name>_enabled() that is false, so the call sites compile to nothing.
 */
#ifndef LUNATIK_NOTRACE_H
#define LUNATIK_NOTRACE_H

#ifndef PARAMS
#define PARAMS(args...) args
#endif
#ifndef TP_PROTO
#define TP_PROTO(args...) args
#endif
#ifndef TP_ARGS
#define TP_ARGS(args...) args
#endif

#define LUNATIK_NOTRACE(name, proto)					\
	static inline void trace_##name(proto) { }			\
	static inline bool trace_##name##_enabled(void) { return false; }

#undef TRACE_EVENT
#define TRACE_EVENT(name, proto, args, tstruct, assign, print)		\
	LUNATIK_NOTRACE(name, PARAMS(proto))
#undef DECLARE_EVENT_CLASS
#define DECLARE_EVENT_CLASS(name, proto, args, tstruct, assign, print)
#undef DEFINE_EVENT
#define DEFINE_EVENT(template, name, proto, args)			\
	LUNATIK_NOTRACE(name, PARAMS(proto))

#endif
