"""Every function of the Python API, on every backend: results, and for
each bad input its own exception with nothing left behind."""
from __future__ import annotations

import dataclasses
import errno
from pathlib import Path

import pytest

import lunatik_bpf
from lunatik_bpf.control.api import States
from lunatik_bpf.control.errors import (
    CodeTooLarge,
    InvalidLimit,
    InvalidName,
    LuaError,
    LunatikError,
    LuaSyntaxError,
    NoSuchState,
    ResultTooLarge,
    StateExists,
    TooManyStates,
)

REPO = Path(__file__).resolve().parents[1]
KIB = 1024
MAXALLOC = 256 * KIB


def snapshot(states: States) -> list[tuple[str, int]]:
    return sorted((i.name, i.maxalloc) for i in states.list())


def test_done_when(backend: States) -> None:
    backend.new("a", 1 << 16)
    assert backend.execute("a", "return 6*7") == "42"


def test_connect_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        lunatik_bpf.connect("nope")


def test_connect_missing_library(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="make user"):
        lunatik_bpf.connect("user", library=tmp_path / "liblunatik.so")


def test_new_then_lookup(backend: States, fresh_name: str) -> None:
    assert backend.lookup(fresh_name) is None
    backend.new(fresh_name, MAXALLOC)
    info = backend.lookup(fresh_name)
    assert info is not None
    assert info.name == fresh_name
    assert info.maxalloc == MAXALLOC
    assert 0 < info.curralloc <= MAXALLOC
    assert info.users == 1      # the table's own reference
    assert backend.lookup(fresh_name.encode()) == info


def test_state_info_is_frozen(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    info = backend.lookup(fresh_name)
    assert info is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.maxalloc = 1       # type: ignore[misc]


def test_execute_results_as_text(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    ex = lambda code: backend.execute(fresh_name, code)  # noqa: E731
    assert ex("return 6*7") == "42"
    assert ex("return 1, 'two', nil, true, false") == "1\ttwo\tnil\ttrue\tfalse"
    assert ex("local x = 1") == ""
    assert ex("") == ""
    assert ex("return ''") == ""
    assert ex("return '', ''") == "\t"
    assert ex(b"return 'a\\0b', #'\\0'") == "a\0b\t1"
    assert ex("return setmetatable({}, {__tostring = function() "
              "return 'custom' end})") == "custom"
    assert ex("return 'h\u00e9'") == "h\u00e9"
    assert ex("return '\\xff'") == "\udcff"     # bytes survive


def test_execute_keeps_globals(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    backend.execute(fresh_name, "counter = 41")
    assert backend.execute(fresh_name, "counter = counter + 1 return counter") == "42"


def test_execute_large_output(backend: States, fresh_name: str) -> None:
    """Results up to RESULT_MAX bytes come back whole; longer ones raise
    ResultTooLarge (EMSGSIZE) on every backend instead of being truncated,
    and the chunk ran exactly once."""
    backend.new(fresh_name, 1 << 20)
    assert backend.execute(fresh_name, "return string.rep('w', 60000)") == \
        "w" * 60000
    code = ("runs = (runs or 0) + 1 "
            "return string.rep('x', 100000), string.rep('y', 70000)")
    with pytest.raises(ResultTooLarge) as exc:
        backend.execute(fresh_name, code)
    assert exc.value.errno == errno.EMSGSIZE
    assert backend.execute(fresh_name, "return runs") == "1"
    assert backend.execute(fresh_name, "return 1") == "1"


def test_states_are_separate(backend: States) -> None:
    backend.new("sep_a", MAXALLOC)
    backend.new("sep_b", MAXALLOC)
    backend.execute("sep_a", "v = 'a'")
    backend.execute("sep_b", "v = 'b'")
    assert backend.execute("sep_a", "return v") == "a"
    assert backend.execute("sep_b", "return v") == "b"


def test_list(backend: States) -> None:
    assert backend.list() == []
    names = {f"list_{i}": MAXALLOC + i * KIB for i in range(5)}
    for name, maxalloc in names.items():
        backend.new(name, maxalloc)
    infos = backend.list()
    assert {i.name: i.maxalloc for i in infos} == names
    for info in infos:
        assert info == backend.lookup(info.name)


def test_list_many_pages(backend: States) -> None:
    """More states than one page of lunatik_ctl_list."""
    limits = backend.limits()
    n = 150 if limits is None else min(150, limits.max_states)
    for i in range(n):
        backend.new(f"page_{i}", 64 * KIB)
    assert sorted(i.name for i in backend.list()) == sorted(
        f"page_{i}" for i in range(n))
    assert backend.close_all() == n


def test_close(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    backend.close(fresh_name)
    assert backend.lookup(fresh_name) is None
    assert backend.list() == []
    with pytest.raises(NoSuchState) as exc:
        backend.close(fresh_name)
    assert exc.value.errno == errno.ENOENT
    assert repr(fresh_name.encode()) in str(exc.value)


def test_close_then_new_same_name(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    backend.execute(fresh_name, "leftover = 1")
    backend.close(fresh_name)
    backend.new(fresh_name, 2 * MAXALLOC)
    assert backend.execute(fresh_name, "return leftover") == "nil"
    info = backend.lookup(fresh_name)
    assert info is not None and info.maxalloc == 2 * MAXALLOC


def test_close_all(backend: States) -> None:
    assert backend.close_all() == 0
    for i in range(4):
        backend.new(f"all_{i}", MAXALLOC)
    assert backend.close_all() == 4
    assert backend.list() == []
    assert backend.close_all() == 0
    backend.new("all_0", MAXALLOC)      # the names are free again
    assert [i.name for i in backend.list()] == ["all_0"]


def test_unknown_state(backend: States) -> None:
    assert backend.lookup("nobody") is None
    with pytest.raises(NoSuchState):
        backend.close("nobody")
    with pytest.raises(NoSuchState):
        backend.execute("nobody", "return 1")
    assert backend.list() == []


def test_duplicate_name(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    backend.execute(fresh_name, "mark = 'first'")
    before = snapshot(backend)
    with pytest.raises(StateExists) as exc:
        backend.new(fresh_name, 2 * MAXALLOC)
    assert exc.value.errno == errno.EEXIST
    assert snapshot(backend) == before
    assert backend.execute(fresh_name, "return mark") == "first"


# name, errno expected from the control plane
BAD_NAMES = [
    ("", errno.EINVAL),
    ("a" * 64, errno.ENAMETOOLONG),
    ("b" * 1000, errno.ENAMETOOLONG),
    ("tab\there", errno.EINVAL),
    ("with space", errno.EINVAL),
    (" ", errno.EINVAL),
    ("caf\u00e9", errno.EINVAL),
    (b"\xff\xfe", errno.EINVAL),
    (b"\x80" * 64, errno.ENAMETOOLONG),    # length is checked first
    ("new\nline", errno.EINVAL),
    (b"\x01ctl", errno.EINVAL),
    (b"del\x7f", errno.EINVAL),
]


@pytest.mark.parametrize("name,err", BAD_NAMES, ids=repr)
def test_bad_name(backend: States, name: str | bytes, err: int) -> None:
    backend.new("bystander", MAXALLOC)
    before = snapshot(backend)
    with pytest.raises(InvalidName) as exc:
        backend.new(name, MAXALLOC)
    assert exc.value.errno == err
    raw = name.encode() if isinstance(name, str) else name
    assert repr(raw) in str(exc.value)
    assert snapshot(backend) == before
    for call in (backend.lookup, backend.close):
        with pytest.raises(InvalidName):
            call(name)
    with pytest.raises(InvalidName):
        backend.execute(name, "return 1")
    assert snapshot(backend) == before


@pytest.mark.parametrize("name", ["a\0b", b"\0", b"trailing\0"], ids=repr)
def test_name_with_nul(backend: States, name: str | bytes) -> None:
    """A NUL cannot be in a C string: refused before the backend."""
    before = snapshot(backend)
    for call in (lambda n: backend.new(n, MAXALLOC), backend.lookup,
                 backend.close, lambda n: backend.execute(n, "return 1")):
        with pytest.raises(InvalidName, match="NUL"):
            call(name)
    assert snapshot(backend) == before


def test_name_types(backend: States) -> None:
    with pytest.raises(TypeError):
        backend.new(42, MAXALLOC)       # type: ignore[arg-type]
    with pytest.raises(TypeError):
        backend.execute("x", 42)        # type: ignore[arg-type]
    assert backend.list() == []


def test_longest_name(backend: States) -> None:
    name = "n" * 63
    backend.new(name, MAXALLOC)
    info = backend.lookup(name)
    assert info is not None and info.name == name
    assert backend.execute(name, "return 1") == "1"


def test_printable_names(backend: States) -> None:
    """Names are printable non-space ASCII (0x21..0x7e)."""
    names = ["sym!@#$%^&*()_+-=[]{};':\",./<>?`~|\\", "~", "!",
             bytes(range(0x21, 0x5f)).decode(), bytes(range(0x5f, 0x7f))]
    for name in names:
        backend.new(name, MAXALLOC)
        assert backend.execute(name, "return 'ok'") == "ok"
    assert len(backend.list()) == len(names)


@pytest.mark.parametrize("maxalloc,err", [
    (0, errno.EINVAL),
    (1, errno.EDQUOT),
    (64, errno.EDQUOT),
    (-1, errno.EINVAL),
    (1 << 64, errno.EINVAL),
])
def test_bad_maxalloc(backend: States, fresh_name: str, maxalloc: int,
                      err: int) -> None:
    before = snapshot(backend)
    with pytest.raises(InvalidLimit) as exc:
        backend.new(fresh_name, maxalloc)
    assert exc.value.errno == err
    assert snapshot(backend) == before
    assert backend.lookup(fresh_name) is None
    backend.new(fresh_name, MAXALLOC)   # the name was not taken


def test_maxalloc_above_limit(backend: States, fresh_name: str) -> None:
    limits = backend.limits()
    if limits is None:
        pytest.skip("backend does not report its limits")
    with pytest.raises(InvalidLimit) as exc:
        backend.new(fresh_name, limits.max_maxalloc + 1)
    assert exc.value.errno == errno.EINVAL
    assert backend.list() == []
    backend.new(fresh_name, limits.max_maxalloc)
    info = backend.lookup(fresh_name)
    assert info is not None and info.maxalloc == limits.max_maxalloc


def test_bad_name_and_maxalloc(backend: States) -> None:
    """Both wrong: either complaint is fine, nothing is created."""
    with pytest.raises((InvalidName, InvalidLimit)):
        backend.new("", 0)
    assert backend.list() == []


def test_maxalloc_type(backend: States) -> None:
    with pytest.raises(TypeError):
        backend.new("x", "1024")        # type: ignore[arg-type]
    with pytest.raises(TypeError):
        backend.new("x", True)
    assert backend.list() == []


def test_smallest_maxalloc(backend: States, fresh_name: str) -> None:
    """Below some size no state can be built (EDQUOT); from it on one can,
    and it then runs code within its limit."""
    lo, hi = 1, 1 << 20         # new(lo) fails, new(hi) succeeds
    backend.new(fresh_name, hi)
    backend.close(fresh_name)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            backend.new(fresh_name, mid)
        except InvalidLimit as exc:
            assert exc.errno == errno.EDQUOT
            lo = mid
        else:
            backend.close(fresh_name)
            hi = mid
        assert backend.list() == []
    backend.new(fresh_name, hi)
    info = backend.lookup(fresh_name)
    assert info is not None and info.curralloc <= hi
    try:
        backend.execute(fresh_name, "return 1")
    except LuaError:
        pass                    # no room left is fine; no crash is the point
    info = backend.lookup(fresh_name)
    assert info is not None and info.curralloc <= hi


def test_too_many_states(user_states: States) -> None:
    backend = user_states.backend
    old = backend.set_limits(max_states=3)      # type: ignore[attr-defined]
    try:
        for i in range(3):
            user_states.new(f"many_{i}", MAXALLOC)
        before = snapshot(user_states)
        with pytest.raises(TooManyStates) as exc:
            user_states.new("many_3", MAXALLOC)
        assert exc.value.errno == errno.ENOSPC
        assert snapshot(user_states) == before
        with pytest.raises(StateExists):        # EEXIST is checked first
            user_states.new("many_0", MAXALLOC)
        with pytest.raises(TooManyStates):      # ENOSPC before EDQUOT
            user_states.new("many_3", 1)
        user_states.close("many_0")
        user_states.new("many_3", MAXALLOC)
    finally:
        backend.set_limits(max_states=old.max_states)  # type: ignore[attr-defined]


def test_code_too_large(backend: States, fresh_name: str) -> None:
    limits = backend.limits()
    if limits is None:
        pytest.skip("backend does not report its limits")
    backend.new(fresh_name, 1 << 20)
    fits = b"return 1 --" + b"x" * (limits.max_code - 11)
    assert len(fits) == limits.max_code
    assert backend.execute(fresh_name, fits) == "1"
    with pytest.raises(CodeTooLarge) as exc:
        backend.execute(fresh_name, fits + b"x")
    assert exc.value.errno == errno.E2BIG
    assert backend.execute(fresh_name, "return 2") == "2"


def test_lua_errors(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, MAXALLOC)
    with pytest.raises(LuaSyntaxError) as syn:
        backend.execute(fresh_name, "return +")
    assert "unexpected symbol" in syn.value.message
    with pytest.raises(LuaError) as run:
        backend.execute(fresh_name, "error('boom')")
    assert run.value.status == 2 and run.value.message.endswith("boom")
    assert type(run.value) is LuaError
    with pytest.raises(LuaError) as obj:
        backend.execute(fresh_name, "error({})")
    assert obj.value.status == 2
    assert backend.execute(fresh_name, "return 'alive'") == "alive"


def test_exception_tree() -> None:
    for cls in (StateExists, NoSuchState, InvalidName, InvalidLimit,
                TooManyStates, CodeTooLarge, LuaError):
        assert issubclass(cls, LunatikError)
    assert issubclass(lunatik_bpf.LuaMemoryError, LuaError)
    assert issubclass(InvalidName, ValueError)


def test_context_manager(fresh_name: str) -> None:
    with lunatik_bpf.connect("user") as states:
        states.new(fresh_name, MAXALLOC)
    again = lunatik_bpf.connect("user")     # same library, same table
    assert again.lookup(fresh_name) is not None
    again.close(fresh_name)


def test_two_connections_share_the_table(backend: States,
                                         fresh_name: str) -> None:
    other = lunatik_bpf.connect(backend.backend.name)
    try:
        backend.new(fresh_name, MAXALLOC)
        assert other.execute(fresh_name, "return 7") == "7"
        other.close(fresh_name)
        assert backend.lookup(fresh_name) is None
    finally:
        other.disconnect()


def test_other_library_has_its_own_table(user_states: States) -> None:
    """connect("user", library=...) loads another build (the tracer runs
    the fault variants this way): its table is not the default one's."""
    other_path = REPO / "build" / "user-fault-put_nodec" / "liblunatik.so"
    if not other_path.is_file():
        pytest.skip("no fault build (make user-faults)")
    other = lunatik_bpf.connect("user", library=other_path)
    try:
        assert other.backend.library_path == other_path.resolve()
        assert other.backend.library_path != user_states.backend.library_path
        other.close_all()
        other.new("only_there", MAXALLOC)
        user_states.new("only_here", MAXALLOC)
        assert other.execute("only_there", "return 6*7") == "42"
        assert [i.name for i in other.list()] == ["only_there"]
        assert [i.name for i in user_states.list()] == ["only_here"]
        assert user_states.lookup("only_there") is None
        again = lunatik_bpf.connect("user", library=str(other_path))
        assert again.lookup("only_there") is not None   # loaded once
    finally:
        other.close_all()


def test_library_from_environment(tmp_path) -> None:
    """$LUNATIK_LIBRARY picks the library when connect() names none."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, LUNATIK_LIBRARY=str(tmp_path / "none.so"))
    proc = subprocess.run([sys.executable, "-c", "import lunatik_bpf; "
                           "lunatik_bpf.connect('user')"], env=env,
                          text=True, capture_output=True)
    assert proc.returncode != 0
    assert "none.so" in proc.stderr and "FileNotFoundError" in proc.stderr
