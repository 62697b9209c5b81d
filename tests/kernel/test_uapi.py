"""The Python mirror of kernel/netlink.h (and lunatik.h's name size) matches
the headers, and the VM harness's deny-list catches what it should. Host
tests (no module needed)."""
from __future__ import annotations

import re
from pathlib import Path

from lunatik_bpf.control import errors
from lunatik_bpf.control.backends import kernel as kb
from lunatik_bpf.control.types import NAME_MAXSIZE
from lunatik_bpf.testing.vm import deny_matches

KERNEL = Path(__file__).resolve().parents[2] / "kernel"
HEADER = KERNEL / "netlink.h"


def header_values() -> dict[str, str]:
    text = HEADER.read_text()
    values = dict(re.findall(r"^#define[ \t]+(LUNATIK_\w+)[ \t]+(\S+)",
                             text, re.M))
    values.update(re.findall(r"^[ \t]+(_*LUNATIK_\w+) = (\d+),", text, re.M))
    return values


def test_family_and_limits_match_header() -> None:
    v = header_values()
    assert v["LUNATIK_GENL_NAME"] == f'"{kb.GENL_NAME}"'
    assert int(v["LUNATIK_GENL_VERSION"]) == kb.GENL_VERSION
    assert int(v["LUNATIK_NL_CODE_MAX"]) == kb.NL_CODE_MAX
    assert int(v["LUNATIK_NL_RESULT_MAX"]) == kb.NL_RESULT_MAX
    assert kb.NL_RESULT_MAX == errors.RESULT_MAX    # the same on every backend


def test_name_maxsize_matches_lunatik_h() -> None:
    text = (KERNEL / "lunatik.h").read_text()
    m = re.search(r"^#define[ \t]+LUNATIK_NAME_MAXSIZE[ \t]+(\d+)", text, re.M)
    assert m is not None and int(m.group(1)) == NAME_MAXSIZE


def test_commands_match_header() -> None:
    v = header_values()
    for cmd in ("NEW", "CLOSE", "LOOKUP", "EXECUTE", "LIST", "CLOSE_ALL"):
        assert int(v[f"LUNATIK_CMD_{cmd}"]) == getattr(kb, f"CMD_{cmd}"), cmd


def test_attributes_match_header() -> None:
    v = header_values()
    header_attrs = {name: int(num) for name, num in v.items()
                    if name.startswith("LUNATIK_ATTR_") and num.isdigit()}
    mirror = {name: i for i, (name, _) in enumerate(kb.ATTRS)}
    assert mirror == header_attrs
    assert int(v["__LUNATIK_ATTR_MAX"]) == len(kb.ATTRS)
    assert kb.ATTR_UNKNOWN >= len(kb.ATTRS)


def test_deny_list() -> None:
    log = "\n".join([
        "[    1.0] lunatik: loading out-of-tree module taints kernel.",
        "[    2.0] WARNING: CPU: 1 PID: 77 at lib/refcount.c:25",
        "[    2.1] refcount_t: addition on 0; use-after-free.",
        "[    3.0] BUG: scheduling while atomic: python3/77/0x00000002",
        "[    4.0] INFO: task python3:88 blocked for more than 120 seconds.",
        "[    5.0] Call Trace:",
        "[    6.0] netlink: 'python3': attribute type 2 has an invalid length.",
    ])
    bad = deny_matches(log)
    assert len(bad) == 5
    assert not any("taints" in line or "netlink:" in line for line in bad)
