// SPDX-License-Identifier: GPL-2.0
/*
 * The little that the user-space stand-ins need outside their headers:
 * the warning counters (exported: tests assert that nothing warned).
 */
#include <linux/bug.h>
#include <linux/refcount.h>

int lunatik_user_warn_count;		/* every WARN, refcount ones included */
int lunatik_user_refcount_warn_count;	/* refcount_t saturations */
