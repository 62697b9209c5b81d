"""The bad-input matrix: every bad (or borderline) input at every entry
point, with its precise error, nothing left behind and everything still
usable afterwards.

Entry points: the Python API on both backends (the user library here, the
module in the VM), the raw generic-netlink family (what the API would never
send, kernel only, below), and the C control plane (tests/c/ctest.c,
test_bad_input there, run by tests/test_c_programs.py).

Cells:
  names    empty, at the maximum length (63 bytes: accepted everywhere),
           one past it (64), an embedded NUL, not UTF-8
  maxalloc 0, 1, huge (SIZE_MAX, max_maxalloc + 1, past a size_t)
  code     empty, huge (max_code + 1), a binary chunk, a syntax error, a
           runtime error, a runaway loop, deep recursion (Lua and C
           levels), a memory bomb

Around every cell: the table is what it was (names, maxalloc), a bystander
state's curralloc is what it was (the module's own live_bytes too), the
state the code ran in is back to its empty size after a collection and
runs code, and a new state can still be made and closed.

Where the other suites already pin a cell in more depth, this matrix only
checks the error and the aftermath (test_api.py: more bad names;
test_functional.py: every kind of bomb and runaway; kernel/test_netlink.py:
malformed attributes).
"""
from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from lunatik_bpf.control.api import States
from lunatik_bpf.control.errors import (
    BUDGET_PREFIX,
    BudgetExceeded,
    CodeTooLarge,
    InvalidLimit,
    InvalidName,
    LuaError,
    LuaMemoryError,
    LuaSyntaxError,
    LunatikError,
)
from lunatik_bpf.control.types import SIZE_MAX, decode_text

KIB = 1024
MAXALLOC = 1 << 20
BYSTANDER = "bystander"
VICTIM = "victim"
SLACK = 2 * KIB     # what Lua may keep after a burst (see test_functional)

# ---- names ----

NAMES: dict[str, bytes] = {
    "empty": b"",
    "nul-inside": b"ab\0cd",
    "nul-only": b"\0",
    "one-past-max": b"n" * 64,
    "far-past-max": b"n" * 4096,
    "not-utf8": b"\xff\xfe",
    "bad-utf8-continuation": b"a\xc3(",
    "utf8-not-ascii": "caf\u00e9".encode(),
}
# name -> (errno, words of the message)
NAME_ERRORS: dict[str, tuple[int, str]] = {
    "empty": (errno.EINVAL, "invalid name"),
    "nul-inside": (errno.EINVAL, "embedded NUL"),
    "nul-only": (errno.EINVAL, "embedded NUL"),
    "one-past-max": (errno.ENAMETOOLONG, "name too long"),
    "far-past-max": (errno.ENAMETOOLONG, "name too long"),
    "not-utf8": (errno.EINVAL, "invalid name"),
    "bad-utf8-continuation": (errno.EINVAL, "invalid name"),
    "utf8-not-ascii": (errno.EINVAL, "invalid name"),
}
# every entry point that takes a name
NAME_OPS: dict[str, Callable[[States, bytes], Any]] = {
    "new": lambda s, n: s.new(n, MAXALLOC),
    "lookup": lambda s, n: s.lookup(n),
    "execute": lambda s, n: s.execute(n, "return 1"),
    "close": lambda s, n: s.close(n),
}

# ---- code ----


@dataclass(frozen=True)
class CodeCell:
    code: bytes
    error: type[LunatikError] | None        # None: it runs
    status: int | None = None               # Lua status, or errno for CodeTooLarge
    message: str = ""                       # the whole message, or ...
    prefix: str = ""                        # ... its start, or ...
    suffix: str = ""                        # ... its end
    result: str = ""                        # when it runs


CODE: dict[str, CodeCell] = {
    "empty": CodeCell(b"", None, result=""),
    "only-a-comment": CodeCell(b"-- nothing", None, result=""),
    "binary-chunk": CodeCell(b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n", LuaSyntaxError, 3,
                             message="attempt to load a binary chunk (mode is 't')"),
    "syntax-error": CodeCell(b"return +", LuaSyntaxError, 3,
                             message="lunatik:1: unexpected symbol near '+'"),
    "syntax-unfinished": CodeCell(b"function f(", LuaSyntaxError, 3,
                                  prefix="lunatik:1: "),
    "runtime-error": CodeCell(b"error('boom')", LuaError, 2, message="lunatik:1: boom"),
    "runtime-nil-call": CodeCell(b"local x x()", LuaError, 2,
                                 prefix="lunatik:1: attempt to call a nil value"),
    "runaway-loop": CodeCell(b"while true do end", BudgetExceeded, 2,
                             message=BUDGET_PREFIX + " exhausted"),
    "deep-recursion": CodeCell(b"local function f() return 1 + f() end return f()",
                               LuaMemoryError, 4, message="not enough memory"),
    "deep-c-recursion": CodeCell(b"local function f() return coroutine.wrap(f)() end "
                                 b"return f()", LuaError, 2, suffix="C stack overflow"),
    "memory-bomb": CodeCell(b"local s = 'x' while true do s = s .. s end",
                            LuaMemoryError, 4, message="not enough memory"),
    "memory-bomb-small-blocks": CodeCell(b"local t = {} local i = 0 while true do "
                                         b"i = i + 1 t[i] = {i} end", LuaMemoryError, 4,
                                         message="not enough memory"),
}


# ---- what every cell must leave behind ----

def snapshot(states: States) -> list[tuple[str, int]]:
    return sorted((i.name, i.maxalloc) for i in states.list())


def curralloc(states: States, name: str) -> int:
    info = states.lookup(name)
    assert info is not None, f"{name} is gone"
    return info.curralloc


def settled(states: States, name: str) -> int:
    """curralloc once collections free nothing more. Lua gives back a grown
    stack and CallInfo list by halves, one step per collection (see
    test_functional.settled), so a deep recursion takes a few more."""
    now = curralloc(states, name)
    for _ in range(40):
        for _ in range(3):
            states.execute(name, "collectgarbage()")
        now, before = curralloc(states, name), now
        if now >= before:
            break
    return now


class Aftermath:
    """The table before a cell, and the checks after it."""

    def __init__(self, states: States) -> None:
        self.states = states
        states.new(BYSTANDER, MAXALLOC)
        states.execute(BYSTANDER, "keep = string.rep('b', 1000)")
        self.bystander = settled(states, BYSTANDER)
        self.table = snapshot(states)

    def check(self) -> None:
        s = self.states
        assert snapshot(s) == self.table
        assert curralloc(s, BYSTANDER) == self.bystander
        if s.backend.name == "kernel":
            assert s.backend.live() == (len(self.table),
                                        sum(i.curralloc for i in s.list()))
        assert s.execute(BYSTANDER, "return #keep") == "1000"
        s.new("usable", 64 * KIB)                   # still usable
        assert s.execute("usable", "return 6 * 7") == "42"
        s.close("usable")
        assert snapshot(s) == self.table


@pytest.fixture
def after(backend: States) -> Aftermath:
    return Aftermath(backend)


# ---- the Python API, both backends ----

@pytest.mark.parametrize("op", sorted(NAME_OPS))
@pytest.mark.parametrize("cell", sorted(NAMES))
def test_bad_name(backend: States, after: Aftermath, cell: str, op: str) -> None:
    err, words = NAME_ERRORS[cell]
    with pytest.raises(InvalidName) as exc:
        NAME_OPS[op](backend, NAMES[cell])
    assert exc.value.errno == err, exc.value
    assert words in str(exc.value)
    # the str form of the name gets the same answer
    name = decode_text(NAMES[cell])
    with pytest.raises(InvalidName) as again:
        NAME_OPS[op](backend, name)
    assert again.value.errno == err
    after.check()


def test_longest_name_everywhere(backend: States, after: Aftermath) -> None:
    """63 bytes, the most a name has: accepted by every entry point."""
    name = b"m" * 63
    backend.new(name, MAXALLOC)
    info = backend.lookup(name)
    assert info is not None and info.name == name.decode() and info.maxalloc == MAXALLOC
    assert name.decode() in [i.name for i in backend.list()]
    assert backend.execute(name, "return 'long'") == "long"
    backend.close(name)
    assert backend.lookup(name) is None
    after.check()


# maxalloc -> (errno, words)
MAXALLOCS: dict[str, tuple[int, int, str]] = {
    "zero": (0, errno.EINVAL, "invalid maxalloc 0"),
    "one": (1, errno.EDQUOT, "too small to build a state"),
    "size-max": (SIZE_MAX, errno.EINVAL, f"invalid maxalloc {SIZE_MAX}"),
    "past-size-t": (SIZE_MAX + 1, errno.EINVAL, "does not fit a size_t"),
    "negative": (-1, errno.EINVAL, "does not fit a size_t"),
}


@pytest.mark.parametrize("cell", sorted(MAXALLOCS) + ["above-limit"])
def test_bad_maxalloc(backend: States, after: Aftermath, cell: str) -> None:
    if cell == "above-limit":
        limits = backend.limits()
        assert limits is not None
        value, err, words = (limits.max_maxalloc + 1, errno.EINVAL,
                             f"invalid maxalloc {limits.max_maxalloc + 1}")
    else:
        value, err, words = MAXALLOCS[cell]
    with pytest.raises(InvalidLimit) as exc:
        backend.new("limited", value)
    assert exc.value.errno == err, exc.value
    assert words in str(exc.value)
    assert backend.lookup("limited") is None
    after.check()
    backend.new("limited", 64 * KIB)        # the name was not taken
    backend.close("limited")


def check_code_cell(cell: CodeCell, run: Callable[[], str]) -> None:
    if cell.error is None:
        assert run() == cell.result
        return
    with pytest.raises(cell.error) as exc:
        run()
    assert type(exc.value) is cell.error, exc.value
    got = exc.value
    if isinstance(got, LuaError):
        assert got.status == cell.status
        text = got.message
    else:
        assert got.errno == cell.status
        text = str(got)
    if cell.message:
        assert text == cell.message
    assert text.startswith(cell.prefix) and text.endswith(cell.suffix), text


@pytest.mark.parametrize("cell", sorted(CODE))
def test_bad_code(backend: States, after: Aftermath, cell: str) -> None:
    backend.new(VICTIM, MAXALLOC)
    backend.execute(VICTIM, "mark = 'kept'")
    empty = settled(backend, VICTIM)
    check_code_cell(CODE[cell], lambda: backend.execute(VICTIM, CODE[cell].code))
    assert curralloc(backend, VICTIM) <= MAXALLOC
    assert empty <= settled(backend, VICTIM) <= empty + SLACK
    assert backend.execute(VICTIM, "return mark, 1 + 1") == "kept\t2"
    backend.close(VICTIM)
    after.check()


@pytest.mark.parametrize("size", ["max-code", "max-code-plus-one", "far-past"])
def test_huge_code(backend: States, after: Aftermath, size: str) -> None:
    limits = backend.limits()
    assert limits is not None
    backend.new(VICTIM, MAXALLOC)
    empty = settled(backend, VICTIM)
    fits = b"return 1 --" + b"x" * (limits.max_code - 11)
    code = {"max-code": fits, "max-code-plus-one": fits + b"x",
            "far-past": b" " * (1 << 20)}[size]
    if size == "max-code":
        check_code_cell(CodeCell(code, None, result="1"),
                        lambda: backend.execute(VICTIM, code))
    else:
        check_code_cell(CodeCell(code, CodeTooLarge, errno.E2BIG, suffix="chunk too large"),
                        lambda: backend.execute(VICTIM, code))
    assert empty <= settled(backend, VICTIM) <= empty + SLACK
    backend.close(VICTIM)
    after.check()


def test_code_on_absent_or_bad_state(backend: States, after: Aftermath) -> None:
    """A bad name wins over a bad chunk, a missing state over a huge one:
    the name is checked first, then the state, then the chunk."""
    limits = backend.limits()
    assert limits is not None
    huge = b" " * (limits.max_code + 1)
    with pytest.raises(InvalidName):
        backend.execute(b"", huge)
    with pytest.raises(InvalidName):
        backend.execute(b"n" * 64, b"\x1bLua")
    with pytest.raises(LunatikError) as absent:
        backend.execute("absent", b"return +")
    assert absent.value.errno == errno.ENOENT
    for code in (huge, b" " * (1 << 20)):   # past max_code, past what netlink carries
        with pytest.raises(LunatikError) as absent:
            backend.execute("absent", code)
        assert absent.value.errno == errno.ENOENT
    after.check()


# ---- the raw netlink family (kernel only) ----
# What the API never sends: the name attribute's bytes as they are, every
# command that takes one; the chunk attribute as it is.

def _kernel() -> Any:
    from lunatik_bpf.control.backends import kernel
    return kernel


RAW_NAMES: dict[str, tuple[bytes, int, str]] = {
    "empty": (b"\0", errno.EINVAL, "invalid name or maxalloc"),
    "no-nul": (b"abc", errno.EINVAL, "name must end with a NUL"),
    "nul-inside": (b"ab\0cd\0", errno.EINVAL, "name has a NUL inside"),
    "one-past-max": (b"n" * 64 + b"\0", errno.ENAMETOOLONG, "name too long"),
    "not-utf8": (b"\xff\xfe\0", errno.EINVAL, "invalid name or maxalloc"),
    "unprintable": (b"a\x01\0", errno.EINVAL, "invalid name or maxalloc"),
}
RAW_CMDS = ["new", "close", "lookup", "execute"]


def raw_request(kb: Any, cmd: str, name: bytes, **extra: bytes) -> list[Any]:
    k = _kernel()
    attrs: list[tuple[str, bytes]] = [("LUNATIK_ATTR_NAME", name)]
    if cmd == "new":
        attrs.append(("LUNATIK_ATTR_MAXALLOC",
                      extra.get("maxalloc", MAXALLOC.to_bytes(8, "little"))))
    if cmd == "execute":
        attrs.append(("LUNATIK_ATTR_CODE", extra.get("code", b"return 1")))
    number = {"new": k.CMD_NEW, "close": k.CMD_CLOSE, "lookup": k.CMD_LOOKUP,
              "execute": k.CMD_EXECUTE}[cmd]
    return kb.request(number, attrs, raw=True)


def raw_refused(kb: Any, cmd: str, name: bytes, **extra: bytes) -> Any:
    from pyroute2.netlink.exceptions import NetlinkError
    with pytest.raises(NetlinkError) as exc:
        raw_request(kb, cmd, name, **extra)
    return exc.value


def execute_reply(replies: list[Any]) -> tuple[int, bytes]:
    """(status, text) of an EXECUTE reply (replies are parsed as the
    family's own messages, whatever the request was)."""
    (reply,) = replies
    status = int(reply.get_attr("LUNATIK_ATTR_STATUS"))
    text = bytes(reply.get_attr("LUNATIK_ATTR_RESULT"))
    assert text.endswith(b"\0")
    return status, text[:-1]


@pytest.fixture
def kstates() -> Any:
    import lunatik_bpf
    states = lunatik_bpf.connect("kernel")
    states.close_all()
    yield states
    states.close_all()
    states.disconnect()


@pytest.mark.kernel
@pytest.mark.parametrize("cmd", RAW_CMDS)
@pytest.mark.parametrize("cell", sorted(RAW_NAMES))
def test_raw_bad_name(kstates: States, cell: str, cmd: str) -> None:
    after = Aftermath(kstates)
    raw, err, words = RAW_NAMES[cell]
    exc = raw_refused(kstates.backend, cmd, raw)
    assert exc.code == err, (errno.errorcode.get(exc.code), exc)
    assert words in str(exc)
    after.check()


@pytest.mark.kernel
def test_raw_longest_name_everywhere(kstates: States) -> None:
    after = Aftermath(kstates)
    kb = kstates.backend
    name = b"m" * 63 + b"\0"
    raw_request(kb, "new", name)
    (info,) = raw_request(kb, "lookup", name)
    assert info.get_attr("LUNATIK_ATTR_NAME") == name
    assert execute_reply(raw_request(kb, "execute", name, code=b"return 'long'")) == \
        (0, b"long")
    raw_request(kb, "close", name)
    assert raw_refused(kb, "lookup", name).code == errno.ENOENT
    after.check()


@pytest.mark.kernel
@pytest.mark.parametrize("cell", ["zero", "one", "size-max", "above-limit"])
def test_raw_bad_maxalloc(kstates: States, cell: str) -> None:
    after = Aftermath(kstates)
    limits = kstates.limits()
    assert limits is not None
    value, err, words = {
        "zero": (0, errno.EINVAL, "invalid name or maxalloc"),
        "one": (1, errno.EDQUOT, "maxalloc too small to build a state"),
        "size-max": (SIZE_MAX, errno.EINVAL, "invalid name or maxalloc"),
        "above-limit": (limits.max_maxalloc + 1, errno.EINVAL, "invalid name or maxalloc"),
    }[cell]
    exc = raw_refused(kstates.backend, "new", b"limited\0", maxalloc=value.to_bytes(8, "little"))
    assert exc.code == err and words in str(exc)
    after.check()


@pytest.mark.kernel
@pytest.mark.parametrize("cell", sorted(CODE))
def test_raw_bad_code(kstates: States, cell: str) -> None:
    """The chunk attribute as it is: the Lua status and message in the
    reply (a Lua error is not a netlink error)."""
    after = Aftermath(kstates)
    kstates.new(VICTIM, MAXALLOC)
    empty = settled(kstates, VICTIM)
    c = CODE[cell]
    status, text = execute_reply(raw_request(kstates.backend, "execute", VICTIM.encode() + b"\0",
                                             code=c.code))
    if c.error is None:
        assert (status, text.decode()) == (0, c.result)
    else:
        assert status == c.status
        message = text.decode("utf-8", "replace")
        if c.message:
            assert message == c.message
        assert message.startswith(c.prefix) and message.endswith(c.suffix), message
    assert empty <= settled(kstates, VICTIM) <= empty + SLACK
    assert kstates.execute(VICTIM, "return 1 + 1") == "2"
    kstates.close(VICTIM)
    after.check()


@pytest.mark.kernel
def test_raw_code_past_max_code(kstates: States) -> None:
    """max_code is at most what one attribute carries (65531): lowered, so
    that one byte past it can be sent."""
    after = Aftermath(kstates)
    kstates.new(VICTIM, MAXALLOC)
    victim = VICTIM.encode() + b"\0"
    old = kstates.backend.set_limits(max_code=1000)
    try:
        assert execute_reply(raw_request(kstates.backend, "execute", victim,
                                         code=b"return 1 --" + b"x" * 989)) == (0, b"1")
        exc = raw_refused(kstates.backend, "execute", victim, code=b" " * 1001)
    finally:
        kstates.backend.set_limits(max_code=old.max_code)
    assert exc.code == errno.E2BIG and "chunk larger than max_code" in str(exc)
    assert kstates.execute(VICTIM, "return 1 + 1") == "2"
    kstates.close(VICTIM)
    after.check()
