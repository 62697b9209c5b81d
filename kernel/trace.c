// SPDX-License-Identifier: GPL-2.0
/* The module's tracepoints (lunatik_trace.h), defined here and nowhere else. */
#define CREATE_TRACE_POINTS
#include "lunatik_trace.h"
