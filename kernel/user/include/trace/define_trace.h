/* SPDX-License-Identifier: GPL-2.0 */
/* User-space stand-in: no tracepoints to define (linux/tracepoint.h). */
