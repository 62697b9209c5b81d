/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic-netlink UAPI of the lunatik module: the one definition of the
 * family, its commands and attributes. lunatik_bpf/control/backends/kernel.py
 * mirrors it (and its tests check the numbers against this file), so keep it
 * plain: #defines and enums with explicit values, one per line, no macros
 * computing values.
 *
 * Requests and replies (every request names a state with LUNATIK_ATTR_NAME,
 * except LIST and CLOSE_ALL):
 *   NEW        name, maxalloc (optional: default_maxalloc)  -> ack
 *   CLOSE      name                                          -> ack
 *   LOOKUP     name      -> name, maxalloc, curralloc, users
 *   EXECUTE    name, code  -> status, result, result_len
 *   LIST       (dump)    -> one message per state, as LOOKUP's reply
 *   CLOSE_ALL            -> count
 * Errors come back as the netlink error (a negative errno, as documented
 * for the control plane in lunatik.h) with an extack message. A Lua error
 * is not a netlink error: EXECUTE replies with its Lua status and Lua's
 * message in result.
 *
 * The name attribute is the name's bytes and one terminating NUL: no NUL
 * inside (-EINVAL), at most LUNATIK_NAME_MAXSIZE - 1 bytes before the NUL
 * (-ENAMETOOLONG), like the control plane's own checks.
 * result is at most LUNATIK_NL_RESULT_MAX bytes and NUL-terminated;
 * result_len is the full length of the text (larger: truncated).
 */
#ifndef LUNATIK_NETLINK_H
#define LUNATIK_NETLINK_H

#define LUNATIK_GENL_NAME	"lunatik"
#define LUNATIK_GENL_VERSION	1

/* Largest chunk one attribute can carry (u16 nla_len minus its header). */
#define LUNATIK_NL_CODE_MAX	65531
/* Largest result text in an EXECUTE reply, without its NUL. */
#define LUNATIK_NL_RESULT_MAX	65000

enum lunatik_nl_cmd {
	LUNATIK_CMD_UNSPEC = 0,
	LUNATIK_CMD_NEW = 1,
	LUNATIK_CMD_CLOSE = 2,
	LUNATIK_CMD_LOOKUP = 3,
	LUNATIK_CMD_EXECUTE = 4,
	LUNATIK_CMD_LIST = 5,
	LUNATIK_CMD_CLOSE_ALL = 6,
	__LUNATIK_CMD_MAX = 7,
};
#define LUNATIK_CMD_MAX (__LUNATIK_CMD_MAX - 1)

enum lunatik_nl_attr {
	LUNATIK_ATTR_UNSPEC = 0,
	LUNATIK_ATTR_NAME = 1,		/* bytes + NUL */
	LUNATIK_ATTR_MAXALLOC = 2,	/* u64 */
	LUNATIK_ATTR_CURRALLOC = 3,	/* u64 */
	LUNATIK_ATTR_USERS = 4,		/* u32 */
	LUNATIK_ATTR_CODE = 5,		/* binary, the chunk's text */
	LUNATIK_ATTR_STATUS = 6,	/* u32, Lua status */
	LUNATIK_ATTR_RESULT = 7,	/* NUL-terminated text */
	LUNATIK_ATTR_RESULT_LEN = 8,	/* u64, full length of the text */
	LUNATIK_ATTR_COUNT = 9,		/* u32 */
	LUNATIK_ATTR_PAD = 10,		/* alignment of u64 attributes */
	__LUNATIK_ATTR_MAX = 11,
};
#define LUNATIK_ATTR_MAX (__LUNATIK_ATTR_MAX - 1)

#ifdef __KERNEL__
/* module.c: the maxalloc of a NEW without one (module parameter). */
extern unsigned long lunatik_default_maxalloc;
int lunatik_netlink_init(void);
void lunatik_netlink_exit(void);
#endif

#endif /* LUNATIK_NETLINK_H */
