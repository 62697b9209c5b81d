// SPDX-License-Identifier: GPL-2.0
/*
 * The generic-netlink family "lunatik": the control plane (lunatik_ctl_*)
 * over netlink. See netlink.h for the commands and attributes.
 *
 * Every request attribute is checked by the policy before a handler runs;
 * the handlers only check presence. The control plane has its own locking,
 * so the family runs its operations in parallel (no genl_mutex).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <net/genetlink.h>

#include "lunatik.h"
#include "netlink.h"

/* States per lunatik_ctl_list call while dumping. */
#define LUNATIK_NL_LIST_BATCH	16

static struct genl_family lunatik_nl_family;

/* The name: its bytes and one NUL, checked as the control plane does. */
static int lunatik_nl_check_name(const struct nlattr *attr,
				 struct netlink_ext_ack *extack)
{
	const char *name = nla_data(attr);
	int len = nla_len(attr);

	if (len < 1 || name[len - 1] != '\0') {
		NL_SET_ERR_MSG_ATTR(extack, attr, "name must end with a NUL");
		return -EINVAL;
	}
	if (memchr(name, '\0', len - 1)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "name has a NUL inside");
		return -EINVAL;
	}
	if (len - 1 >= LUNATIK_NAME_MAXSIZE) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "name too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * maxalloc's range (1 .. max_maxalloc) is a module parameter that can
 * change at run time, so the control plane checks it (-EINVAL, as in the
 * user-space build); the policy checks its type and size.
 */
static const struct nla_policy lunatik_nl_policy[LUNATIK_ATTR_MAX + 1] = {
	[LUNATIK_ATTR_NAME] = NLA_POLICY_VALIDATE_FN(NLA_BINARY,
						     lunatik_nl_check_name),
	[LUNATIK_ATTR_MAXALLOC] = { .type = NLA_U64 },
	[LUNATIK_ATTR_CODE] = { .type = NLA_BINARY,
				.len = LUNATIK_NL_CODE_MAX },
	[LUNATIK_ATTR_CURRALLOC] = { .type = NLA_REJECT },
	[LUNATIK_ATTR_USERS] = { .type = NLA_REJECT },
	[LUNATIK_ATTR_STATUS] = { .type = NLA_REJECT },
	[LUNATIK_ATTR_RESULT] = { .type = NLA_REJECT },
	[LUNATIK_ATTR_RESULT_LEN] = { .type = NLA_REJECT },
	[LUNATIK_ATTR_COUNT] = { .type = NLA_REJECT },
	[LUNATIK_ATTR_PAD] = { .type = NLA_REJECT },
};

/* The extack message for a control-plane errno (it must be a literal). */
static int lunatik_nl_fail(struct genl_info *info, int err)
{
	switch (err) {
	case -EINVAL:
		GENL_SET_ERR_MSG(info, "invalid name or maxalloc");
		break;
	case -ENAMETOOLONG:
		GENL_SET_ERR_MSG(info, "name too long");
		break;
	case -EEXIST:
		GENL_SET_ERR_MSG(info, "a state with this name exists");
		break;
	case -ENOENT:
		GENL_SET_ERR_MSG(info, "no state with this name");
		break;
	case -EDQUOT:
		GENL_SET_ERR_MSG(info, "maxalloc too small to build a state");
		break;
	case -ENOSPC:
		GENL_SET_ERR_MSG(info, "too many states");
		break;
	case -E2BIG:
		GENL_SET_ERR_MSG(info, "chunk larger than max_code");
		break;
	case -ENOMEM:
		GENL_SET_ERR_MSG(info, "out of memory");
		break;
	default:
		GENL_SET_ERR_MSG(info, "control plane error");
	}
	return err;
}

static int lunatik_nl_require(struct genl_info *info, int attr)
{
	if (!GENL_REQ_ATTR_CHECK(info, attr))
		return 0;
	switch (attr) {
	case LUNATIK_ATTR_NAME:
		GENL_SET_ERR_MSG(info, "missing attribute: name");
		break;
	case LUNATIK_ATTR_CODE:
		GENL_SET_ERR_MSG(info, "missing attribute: code");
		break;
	default:
		GENL_SET_ERR_MSG(info, "missing attribute");
	}
	return -EINVAL;
}

static const char *lunatik_nl_name(struct genl_info *info)
{
	return nla_data(info->attrs[LUNATIK_ATTR_NAME]);
}

static int lunatik_nl_new(struct sk_buff *skb, struct genl_info *info)
{
	size_t maxalloc = lunatik_default_maxalloc;
	int err;

	err = lunatik_nl_require(info, LUNATIK_ATTR_NAME);
	if (err)
		return err;
	if (info->attrs[LUNATIK_ATTR_MAXALLOC])
		maxalloc = nla_get_u64(info->attrs[LUNATIK_ATTR_MAXALLOC]);
	err = lunatik_ctl_new(lunatik_nl_name(info), maxalloc);
	return err ? lunatik_nl_fail(info, err) : 0;
}

static int lunatik_nl_close(struct sk_buff *skb, struct genl_info *info)
{
	int err;

	err = lunatik_nl_require(info, LUNATIK_ATTR_NAME);
	if (err)
		return err;
	err = lunatik_ctl_close(lunatik_nl_name(info));
	return err ? lunatik_nl_fail(info, err) : 0;
}

static int lunatik_nl_put_info(struct sk_buff *msg,
			       const struct lunatik_info *li)
{
	if (nla_put_string(msg, LUNATIK_ATTR_NAME, li->name) ||
	    nla_put_u64_64bit(msg, LUNATIK_ATTR_MAXALLOC, li->maxalloc,
			      LUNATIK_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, LUNATIK_ATTR_CURRALLOC, li->curralloc,
			      LUNATIK_ATTR_PAD) ||
	    nla_put_u32(msg, LUNATIK_ATTR_USERS, li->users))
		return -EMSGSIZE;
	return 0;
}

static int lunatik_nl_lookup(struct sk_buff *skb, struct genl_info *info)
{
	struct lunatik_info li;
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = lunatik_nl_require(info, LUNATIK_ATTR_NAME);
	if (err)
		return err;
	err = lunatik_ctl_info(lunatik_nl_name(info), &li);
	if (err)
		return lunatik_nl_fail(info, err);

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &lunatik_nl_family, 0,
				LUNATIK_CMD_LOOKUP);
	if (!hdr)
		goto nospace;
	if (lunatik_nl_put_info(msg, &li))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int lunatik_nl_execute_reply(struct genl_info *info, int status,
				    const char *out, size_t stored,
				    size_t outlen)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(nla_total_size(stored + 1) + 3 * nla_total_size(8),
			  GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &lunatik_nl_family, 0,
				LUNATIK_CMD_EXECUTE);
	if (!hdr)
		goto nospace;
	if (nla_put_u32(msg, LUNATIK_ATTR_STATUS, status) ||
	    nla_put(msg, LUNATIK_ATTR_RESULT, stored + 1, out) ||
	    nla_put_u64_64bit(msg, LUNATIK_ATTR_RESULT_LEN, outlen,
			      LUNATIK_ATTR_PAD))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int lunatik_nl_execute(struct sk_buff *skb, struct genl_info *info)
{
	const size_t capacity = LUNATIK_NL_RESULT_MAX + 1;
	struct nlattr *code;
	size_t outlen = capacity;
	size_t stored;
	char *out;
	int status;

	status = lunatik_nl_require(info, LUNATIK_ATTR_NAME);
	if (!status)
		status = lunatik_nl_require(info, LUNATIK_ATTR_CODE);
	if (status)
		return status;
	code = info->attrs[LUNATIK_ATTR_CODE];

	/*
	 * Too large for the stack: the result text has its own buffer. Quiet
	 * when it fails: the caller gets ENOMEM, and any caller under memory
	 * pressure could otherwise fill the log with vmalloc's stack dumps.
	 */
	out = kvmalloc(capacity, GFP_KERNEL | __GFP_NOWARN);
	if (!out)
		return -ENOMEM;
	status = lunatik_ctl_execute(lunatik_nl_name(info), nla_data(code),
				     nla_len(code), out, &outlen);
	if (status < 0) {
		lunatik_nl_fail(info, status);
		goto out;
	}
	stored = min(outlen, capacity - 1);
	out[stored] = '\0';
	status = lunatik_nl_execute_reply(info, status, out, stored, outlen);
out:
	kvfree(out);
	return status;
}

static int lunatik_nl_close_all(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int count;

	/* Allocate first: once states are closed the count must get out. */
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &lunatik_nl_family, 0,
				LUNATIK_CMD_CLOSE_ALL);
	if (!hdr)
		goto nospace;
	count = lunatik_ctl_close_all();
	if (count < 0) {
		nlmsg_free(msg);
		return lunatik_nl_fail(info, count);
	}
	if (nla_put_u32(msg, LUNATIK_ATTR_COUNT, count))
		goto nospace;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* A dump, resumed at cb->args[0] states (lunatik_ctl_list's skip). */
static int lunatik_nl_list(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned int skip = cb->args[0];
	struct lunatik_info *infos;
	int i, n, ret;
	void *hdr;

	infos = kmalloc_array(LUNATIK_NL_LIST_BATCH, sizeof(*infos),
			      GFP_KERNEL);
	if (!infos)
		return -ENOMEM;
	n = lunatik_ctl_list(infos, LUNATIK_NL_LIST_BATCH, skip);
	if (n < 0) {
		ret = n;
		goto out;
	}
	for (i = 0; i < n; i++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &lunatik_nl_family,
				  NLM_F_MULTI, LUNATIK_CMD_LIST);
		if (!hdr)
			break;
		if (lunatik_nl_put_info(skb, &infos[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[0] = skip + i;
	ret = skb->len;		/* 0: nothing more, the dump is done */
out:
	kfree(infos);
	return ret;
}

static const struct genl_small_ops lunatik_nl_ops[] = {
	{
		.cmd = LUNATIK_CMD_NEW,
		.flags = GENL_ADMIN_PERM,
		.doit = lunatik_nl_new,
	},
	{
		.cmd = LUNATIK_CMD_CLOSE,
		.flags = GENL_ADMIN_PERM,
		.doit = lunatik_nl_close,
	},
	{
		.cmd = LUNATIK_CMD_LOOKUP,
		.doit = lunatik_nl_lookup,
	},
	{
		.cmd = LUNATIK_CMD_EXECUTE,
		.flags = GENL_ADMIN_PERM,
		.doit = lunatik_nl_execute,
	},
	{
		.cmd = LUNATIK_CMD_LIST,
		.dumpit = lunatik_nl_list,
	},
	{
		.cmd = LUNATIK_CMD_CLOSE_ALL,
		.flags = GENL_ADMIN_PERM,
		.doit = lunatik_nl_close_all,
	},
};

static struct genl_family lunatik_nl_family __ro_after_init = {
	.name = LUNATIK_GENL_NAME,
	.version = LUNATIK_GENL_VERSION,
	.maxattr = LUNATIK_ATTR_MAX,
	.policy = lunatik_nl_policy,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = lunatik_nl_ops,
	.n_small_ops = ARRAY_SIZE(lunatik_nl_ops),
	/* every command: strict attributes, reserved header fields zero */
	.resv_start_op = LUNATIK_CMD_NEW,
};

int __init lunatik_netlink_init(void)
{
	return genl_register_family(&lunatik_nl_family);
}

void lunatik_netlink_exit(void)
{
	genl_unregister_family(&lunatik_nl_family);
}
