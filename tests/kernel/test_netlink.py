"""The generic-netlink family against bad input: every request the API
would never send gets its precise errno and extack message, unprivileged
callers get EPERM for the changing commands, dumps page correctly."""
from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from pyroute2.netlink.exceptions import NetlinkError

from lunatik_bpf.control.backends.kernel import (
    CMD_CLOSE, CMD_CLOSE_ALL, CMD_EXECUTE, CMD_LIST, CMD_LOOKUP, CMD_NEW,
    NL_CODE_MAX, KernelBackend)
from lunatik_bpf.control.errors import (CodeTooLarge, InvalidLimit, InvalidName,
                                        LuaError, NoSuchState, ResultTooLarge,
                                        StateExists)

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[2]
MIB = 1 << 20
NAME, MAXALLOC, CODE = "LUNATIK_ATTR_NAME", "LUNATIK_ATTR_MAXALLOC", \
    "LUNATIK_ATTR_CODE"


def u64(v: int) -> bytes:
    return v.to_bytes(8, "little")


def refused(kb: KernelBackend, cmd: int, attrs: list[tuple[str, Any]],
            **kw: Any) -> NetlinkError:
    with pytest.raises(NetlinkError) as info:
        kb.request(cmd, attrs, raw=True, **kw)
    return info.value


# (id, cmd, raw attributes, errno, words of the extack message)
BAD: list[tuple[str, int, list[tuple[str, bytes]], int, str]] = [
    ("new-no-name", CMD_NEW, [(MAXALLOC, u64(MIB))], errno.EINVAL,
     "missing attribute: name"),
    ("close-no-name", CMD_CLOSE, [], errno.EINVAL, "missing attribute: name"),
    ("lookup-no-name", CMD_LOOKUP, [], errno.EINVAL,
     "missing attribute: name"),
    ("execute-no-name", CMD_EXECUTE, [(CODE, b"return 1")], errno.EINVAL,
     "missing attribute: name"),
    ("execute-no-code", CMD_EXECUTE, [(NAME, b"k\0")], errno.EINVAL,
     "missing attribute: code"),
    ("name-empty-attr", CMD_NEW, [(NAME, b"")], errno.EINVAL,
     "name must end with a NUL"),
    ("name-no-nul", CMD_NEW, [(NAME, b"abc")], errno.EINVAL,
     "name must end with a NUL"),
    ("name-nul-inside", CMD_NEW, [(NAME, b"ab\0cd\0")], errno.EINVAL,
     "name has a NUL inside"),
    ("name-64", CMD_NEW, [(NAME, b"n" * 64 + b"\0")], errno.ENAMETOOLONG,
     "name too long"),
    ("name-huge", CMD_LOOKUP, [(NAME, b"n" * 60000 + b"\0")],
     errno.ENAMETOOLONG, "name too long"),
    ("name-empty", CMD_NEW, [(NAME, b"\0"), (MAXALLOC, u64(MIB))],
     errno.EINVAL, "invalid name or maxalloc"),
    ("name-unprintable", CMD_NEW, [(NAME, b"a\x01\0"), (MAXALLOC, u64(MIB))],
     errno.EINVAL, "invalid name or maxalloc"),
    ("maxalloc-u32", CMD_NEW, [(NAME, b"k\0"), (MAXALLOC, b"\0\0\x10\0")],
     errno.EINVAL, "invalid attribute length"),
    ("maxalloc-0", CMD_NEW, [(NAME, b"k\0"), (MAXALLOC, u64(0))],
     errno.EINVAL, "invalid name or maxalloc"),
    ("maxalloc-huge", CMD_NEW, [(NAME, b"k\0"), (MAXALLOC, u64(2**64 - 1))],
     errno.EINVAL, "invalid name or maxalloc"),
    ("maxalloc-tiny", CMD_NEW, [(NAME, b"k\0"), (MAXALLOC, u64(64))],
     errno.EDQUOT, "maxalloc too small"),
    ("reply-attr", CMD_LOOKUP, [(NAME, b"k\0"),
                                ("LUNATIK_ATTR_USERS", b"\1\0\0\0")],
     errno.EINVAL, "Attribute failed policy validation"),
    ("unknown-attr", CMD_LOOKUP, [(NAME, b"k\0"),
                                  ("LUNATIK_ATTR_UNKNOWN", b"x")],
     errno.EINVAL, "Unknown attribute type"),
    ("close-absent", CMD_CLOSE, [(NAME, b"absent\0")], errno.ENOENT,
     "no state with this name"),
    ("lookup-absent", CMD_LOOKUP, [(NAME, b"absent\0")], errno.ENOENT,
     "no state with this name"),
    ("execute-absent", CMD_EXECUTE, [(NAME, b"absent\0"), (CODE, b"")],
     errno.ENOENT, "no state with this name"),
]


@pytest.mark.parametrize("cmd,attrs,err,words", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_input(kb: KernelBackend, cmd: int,
                   attrs: list[tuple[str, bytes]], err: int,
                   words: str) -> None:
    exc = refused(kb, cmd, attrs)
    assert exc.code == err, (errno.errorcode.get(exc.code), exc)
    assert words in str(exc)
    assert kb.list() == []


def test_unknown_command(kb: KernelBackend) -> None:
    exc = refused(kb, 99, [])
    assert exc.code == errno.EOPNOTSUPP


def test_reserved_header_field(kb: KernelBackend) -> None:
    exc = refused(kb, CMD_LOOKUP, [(NAME, b"k\0")], reserved=1)
    assert exc.code == errno.EINVAL


def test_name_63_is_fine(kb: KernelBackend) -> None:
    name = b"n" * 63
    kb.new(name, MIB)
    info = kb.info(name)
    assert info is not None and info.name == name.decode()


def test_maxalloc_defaults_to_parameter(kb: KernelBackend) -> None:
    kb.request(CMD_NEW, [(NAME, b"dflt\0")], raw=True)
    default = int(Path("/sys/module/lunatik/parameters/default_maxalloc")
                  .read_text())
    info = kb.info(b"dflt")
    assert info is not None and info.maxalloc == default


def test_api_errors_map(kb: KernelBackend) -> None:
    kb.new(b"e", MIB)
    with pytest.raises(StateExists):
        kb.new(b"e", MIB)
    with pytest.raises(InvalidName) as bad_name:
        kb.new(b"x" * 64, MIB)
    assert bad_name.value.errno == errno.ENAMETOOLONG
    with pytest.raises(InvalidLimit):
        kb.new(b"f", 0)
    with pytest.raises(NoSuchState):
        kb.close(b"nope")
    assert kb.info(b"nope") is None
    with pytest.raises(LuaError) as lua:
        kb.execute(b"e", b"error('boom')")
    assert "boom" in lua.value.message


def test_max_code(kb: KernelBackend) -> None:
    """E2BIG from the module's max_code; the largest chunk one attribute
    carries runs when max_code allows it; a larger one is refused before
    sending (the wire cannot carry it)."""
    kb.new(b"c", MIB)
    big = b"return 7 --" + b"x" * (NL_CODE_MAX - 11)
    assert len(big) == NL_CODE_MAX
    assert kb.execute(b"c", big) == b"7"
    kb.set_limits(max_code=1000)
    with pytest.raises(CodeTooLarge) as e2big:
        kb.execute(b"c", b"return 1 --" + b"x" * 990)
    assert e2big.value.errno == errno.E2BIG
    assert e2big.value.__cause__.code == errno.E2BIG    # from the kernel
    assert kb.execute(b"c", b"return 2 --" + b"x" * 989) == b"2"
    with pytest.raises(CodeTooLarge):
        kb.execute(b"c", big + b"x")


def test_max_states(kb: KernelBackend) -> None:
    kb.set_limits(max_states=3)
    for i in range(3):
        kb.new(f"m{i}".encode(), MIB)
    with pytest.raises(NetlinkError) as full:
        kb.request(CMD_NEW, [(NAME, b"m3\0"), (MAXALLOC, u64(MIB))],
                   raw=True)
    assert full.value.code == errno.ENOSPC
    assert "too many states" in str(full.value)


def test_list_dump_pages(kb: KernelBackend) -> None:
    """More states than one dump message holds: each listed exactly once."""
    names = {f"dump-{i:03d}-" + "p" * 40 for i in range(300)}
    for name in names:
        kb.new(name.encode(), 64 * 1024)
    listed = [info.name for info in kb.list()]
    assert sorted(listed) == sorted(names)
    assert kb.live()[0] == 300
    assert kb.close_all() == 300
    assert kb.list() == [] and kb.live() == (0, 0)


def test_live_counters(kb: KernelBackend) -> None:
    kb.new(b"l1", MIB)
    kb.new(b"l2", 2 * MIB)
    kb.execute(b"l2", b"t = {} for i = 1, 1000 do t[i] = tostring(i) end")
    infos = kb.list()
    assert kb.live() == (2, sum(i.curralloc for i in infos))
    assert all(i.curralloc > 0 for i in infos)


def test_result_text_and_lua_status(kb: KernelBackend) -> None:
    kb.new(b"r", 4 * MIB)
    assert kb.execute(b"r", b"return 1, 'two', nil") == b"1\ttwo\tnil"
    assert kb.execute(b"r", b"return string.rep('y', 65000)") == b"y" * 65000
    with pytest.raises(ResultTooLarge) as big:
        kb.execute(b"r", b"return string.rep('y', 65001)")
    assert big.value.errno == errno.EMSGSIZE
    with pytest.raises(LuaError) as syntax:
        kb.execute(b"r", b"return +")
    assert syntax.value.status == 3


def test_parallel_execute(kb: KernelBackend) -> None:
    """Threads share the backend (one socket each); the family runs their
    requests in parallel."""
    for i in range(4):
        kb.new(f"p{i}".encode(), MIB)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for n in range(50):
                out = kb.execute(f"p{i % 4}".encode(),
                                 f"x = (x or 0) + 1 return {n}".encode())
                assert out == str(n).encode()
                kb.info(f"p{(i + 1) % 4}".encode())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = sum(int(kb.execute(f"p{i}".encode(), b"return x")) for i in range(4))
    assert total == 8 * 50


CHILD = r"""
import errno, json, sys
from pyroute2.netlink.exceptions import NetlinkError
from lunatik_bpf.control.backends.kernel import KernelBackend
kb = KernelBackend()
out = {}
def code(fn):
    try:
        fn()
        return 0
    except NetlinkError as exc:
        return exc.code
A = "LUNATIK_ATTR_"
out["new"] = code(lambda: kb.request(1, [(A + "NAME", b"child\0")], raw=True))
out["close"] = code(lambda: kb.request(2, [(A + "NAME", b"priv\0")], raw=True))
out["execute"] = code(lambda: kb.request(
    4, [(A + "NAME", b"priv\0"), (A + "CODE", b"return 1")], raw=True))
out["close_all"] = code(lambda: kb.request(6, [], raw=True))
out["lookup"] = code(lambda: kb.request(3, [(A + "NAME", b"priv\0")], raw=True))
out["list"] = [i.name for i in kb.list()]
print(json.dumps(out))
"""


def run_child(prefix: list[str], **kw: Any) -> dict[str, Any]:
    done = subprocess.run([*prefix, sys.executable, "-c", CHILD],
                          capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                          check=False, **kw)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("how", ["nobody", "root-without-cap_net_admin"])
def test_unprivileged(kb: KernelBackend, how: str) -> None:
    """No CAP_NET_ADMIN: EPERM for NEW, CLOSE, EXECUTE, CLOSE_ALL; LOOKUP
    and LIST work."""
    kb.new(b"priv", MIB)
    if how == "nobody":
        result = run_child([], user=65534, group=65534, extra_groups=[])
    else:
        capsh = shutil.which("capsh", path="/usr/sbin:/sbin:/usr/bin:/bin")
        assert capsh is not None, "capsh (libcap2-bin) is needed"
        result = run_child([capsh, "--drop=cap_net_admin", "--", "-c",
                            'exec "$0" "$@"'])
    assert {k: result[k] for k in ("new", "close", "execute", "close_all")} \
        == dict.fromkeys(("new", "close", "execute", "close_all"),
                         errno.EPERM)
    assert result["lookup"] == 0
    assert result["list"] == ["priv"]
    assert [i.name for i in kb.list()] == ["priv"]
