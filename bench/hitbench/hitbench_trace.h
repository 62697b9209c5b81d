/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hitbench's own tracepoint, shaped like lunatik:lunatik_get (the state's
 * address, its serial, its name as a __string, the users count): the
 * raw and classic tracepoint mechanisms can be timed on it when the
 * module under test has no tracepoints of its own.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM hitbench

#if !defined(_HITBENCH_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _HITBENCH_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(hitbench_hit,
	TP_PROTO(const void *s, u64 serial, const char *name, int users),
	TP_ARGS(s, serial, name, users),
	TP_STRUCT__entry(
		__field(const void *, state)
		__field(u64, serial)
		__string(name, name)
		__field(int, users)
	),
	TP_fast_assign(
		__entry->state = s;
		__entry->serial = serial;
		__assign_str(name, name);
		__entry->users = users;
	),
	TP_printk("state=%p serial=%llu name=%s users=%d", __entry->state,
		  __entry->serial, __get_str(name), __entry->users)
);

#endif /* _HITBENCH_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE hitbench_trace
#include <trace/define_trace.h>
