"""Differential tests: the backend against the reference model
(lunatik_bpf.testing.model): stock Lua 5.4.8 through lupa for the results of
chunks, and a pure-Python table of states for the control plane."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

import lunatik_bpf
from lunatik_bpf.control.api import States
from lunatik_bpf.control.errors import LUA_OK, LuaError
from lunatik_bpf.control.types import decode_text, encode_name
from lunatik_bpf.testing.model import LuaModel, TableModel, as_outcome

CORPUS = Path(__file__).parent / "lua_corpus"
# Fewer random examples inside the VM (TCG is slow; the host run is the
# wide one: the code under test is the same C).
IN_VM = bool(os.environ.get("LUNATIK_VM"))
EXAMPLES = 50 if IN_VM else 300
# the VM sees the checkout read-only but build/: no example database there
DATABASE = {"database": None} if IN_VM else {}
PROGRAMS = sorted(CORPUS.glob("*.lua"))
MAXALLOC = 1 << 20


def outcome(states: States, name: str, code: str | bytes) -> tuple[int, str]:
    try:
        return LUA_OK, states.execute(name, code)
    except LuaError as exc:
        return exc.status, exc.message


def model_outcome(model: LuaModel, code: str | bytes) -> tuple[int, str]:
    status, text = model.run(code)
    if status == LUA_OK:
        return status, decode_text(text)
    return status, text.decode("utf-8", "replace")


def test_corpus_is_big_enough() -> None:
    assert len(PROGRAMS) >= 30


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_corpus(backend: States, program: Path) -> None:
    code = program.read_bytes()
    backend.new("diff", MAXALLOC)
    model = LuaModel()
    for _ in range(2):      # twice: globals persist between executes
        assert outcome(backend, "diff", code) == model_outcome(model, code)


def test_same_globals(backend: States) -> None:
    backend.new("globals", MAXALLOC)
    code = ("local t = {} for k in pairs(_G) do t[#t + 1] = tostring(k) end "
            "table.sort(t) return table.concat(t, ' ')")
    assert outcome(backend, "globals", code) == model_outcome(LuaModel(), code)


def test_same_library_contents(backend: States) -> None:
    backend.new("libs", MAXALLOC)
    code = ("local out = {} for _, lib in ipairs({'string', 'table', 'utf8', "
            "'coroutine'}) do local t = {} for k in pairs(_G[lib]) do "
            "t[#t + 1] = k end table.sort(t) out[#out + 1] = lib .. ': ' .. "
            "table.concat(t, ' ') end return table.concat(out, '\\n')")
    assert outcome(backend, "libs", code) == model_outcome(LuaModel(), code)


# ---- random integer expressions ----

INT64 = (1 << 63) - 1
BINARY = ["+", "-", "*", "//", "%", "&", "|", "~", "<<", ">>"]
COMPARE = ["==", "~=", "<", "<=", ">", ">="]
UNARY = ["-", "~"]

literals = st.one_of(
    st.integers(min_value=0, max_value=INT64).map(str),
    st.integers(min_value=0, max_value=64).map(str),
    st.integers(min_value=0, max_value=(1 << 64) - 1).map(hex),
    st.sampled_from(["0", "1", "2", "63", "64", "0x7fffffffffffffff"]),
)


def expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(BINARY), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(UNARY), inner).map(
                lambda t: f"({t[0]} {t[1]})"),
        )
    return st.recursive(literals, extend, max_leaves=12)


@settings(max_examples=EXAMPLES, deadline=None, **DATABASE,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs=st.lists(expressions(), min_size=1, max_size=4),
       cmp=st.sampled_from(COMPARE))
def test_integer_expressions(backend: States, exprs: list[str],
                             cmp: str) -> None:
    """Random integer arithmetic gives the same text as stock Lua,
    division by zero the same error."""
    code = "return " + ", ".join(exprs) + f", ({exprs[0]}) {cmp} ({exprs[-1]})"
    if backend.lookup("fuzz") is None:
        backend.new("fuzz", MAXALLOC)
    assert outcome(backend, "fuzz", code) == model_outcome(LuaModel(), code)


string_args = st.text(alphabet="abc%d() .-+*?[]^$", max_size=12)


@settings(max_examples=EXAMPLES, deadline=None, **DATABASE,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(alphabet="abc 123().-", max_size=20),
       pattern=string_args, repl=st.text(alphabet="xy%0%1", max_size=4))
def test_string_patterns(backend: States, subject: str, pattern: str,
                         repl: str) -> None:
    """Lua patterns (find, match, gsub) on random subjects and patterns,
    malformed patterns included: same results or same error."""
    code = (f"local s, p, r = {subject!r}, {pattern!r}, {repl!r} "
            "local out = {} "
            "local function try(f, ...) local ok, a, b, c = pcall(f, ...) "
            "out[#out + 1] = tostring(ok) .. ',' .. tostring(a) .. ',' .. "
            "tostring(b) .. ',' .. tostring(c) end "
            "try(string.find, s, p) try(string.match, s, p) "
            "try(string.gsub, s, p, r) "
            "return table.concat(out, ';')")
    if backend.lookup("pat") is None:
        backend.new("pat", MAXALLOC)
    assert outcome(backend, "pat", code) == model_outcome(LuaModel(), code)


# Numerals with no float reading in stock Lua: no '.', 'e', 'p', inf or
# nan, decimals of at most 18 digits (hex ones wrap around in both).
numerals = st.one_of(
    st.tuples(st.sampled_from(["", " ", "\t"]), st.sampled_from(["", "-", "+"]),
              st.integers(0, 10**18 - 1).map(str),
              st.sampled_from(["", " ", "\n"])).map("".join),
    st.tuples(st.sampled_from(["", "-"]), st.sampled_from(["0x", "0X"]),
              st.text(alphabet="0123456789abcdfABCDF", min_size=1,
                      max_size=16)).map("".join),
    st.text(alphabet="0123456789 +-xXabcdf", max_size=8),
)
ints = st.one_of(st.integers(-300, 300),
                 st.integers(-(1 << 63), (1 << 63) - 1))
small = st.integers(-20, 20)
text = st.text(alphabet="ab\0\n\"\\z\u00e9", max_size=10)


def lua_str(value: str) -> str:
    """A Lua string literal (decimal escapes for every byte)."""
    return '"' + "".join(f"\\{b}" for b in value.encode()) + '"'


def lua_int(value: int) -> str:
    return "math_min" if value == -(1 << 63) else str(value)


calls = st.one_of(
    numerals.map(lambda n: f"tonumber({lua_str(n)})"),
    st.tuples(numerals, st.integers(2, 36)).map(
        lambda t: f"tonumber({lua_str(t[0])}, {t[1]})"),
    ints.map(lambda i: f"tostring({lua_int(i)})"),
    st.tuples(st.sampled_from(["%d", "%5d", "%-5d", "%05d", "%+d", "% d",
                               "%x", "%X", "%#x", "%o", "%i", "%c", "%.3d",
                               "%q", "%u", "%20.10d", "%5s", "%.2s", "%q"]),
              ints).map(lambda t: f"string.format({t[0]!r}, {lua_int(t[1])})"),
    st.tuples(text, small, small).map(
        lambda t: f"string.sub({lua_str(t[0])}, {t[1]}, {t[2]})"),
    st.tuples(text, small, small).map(
        lambda t: f"string.byte({lua_str(t[0])}, {t[1]}, {t[2]})"),
    st.tuples(text, st.integers(-2, 5), text).map(
        lambda t: f"string.rep({lua_str(t[0])}, {t[1]}, {lua_str(t[2])})"),
    text.map(lambda t: f"string.format('%q', {lua_str(t)})"),
    text.map(lambda t: f"utf8.len({lua_str(t)})"),
    st.tuples(text, small).map(
        lambda t: f"utf8.offset({lua_str(t[0])}, {t[1]})"),
    st.lists(st.integers(-1, 0x10FFFF + 1), max_size=4).map(
        lambda cs: f"utf8.char({', '.join(map(str, cs))})"),
    st.tuples(st.sampled_from(["i1", "i2", "i4", "i8", "I1", "I2", "j", "J",
                               "<i3", ">i5", "B", "h", "H", "l", "T"]),
              ints).map(lambda t: f"string.unpack({t[0]!r}, "
                                  f"string.pack({t[0]!r}, {lua_int(t[1])}))"),
)


@settings(max_examples=EXAMPLES, deadline=None, **DATABASE,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exprs=st.lists(calls, min_size=1, max_size=5))
def test_library_calls(backend: States, exprs: list[str]) -> None:
    """Random calls of the string, utf8 and base libraries with integer and
    string arguments (numerals, formats, indices, packing): the same
    results or the same error message as stock Lua."""
    body = " ".join(f"out[#out + 1] = show(pcall(function() return {e} end))"
                    for e in exprs)
    code = ("local math_min = -0x7fffffffffffffff - 1 local out = {} "
            "local function show(...) local t = table.pack(...) "
            "for i = 1, t.n do t[i] = tostring(t[i]) end "
            "return table.concat(t, ',', 1, t.n) end "
            f"{body} return table.concat(out, ';')")
    if backend.lookup("lib") is None:
        backend.new("lib", MAXALLOC)
    assert outcome(backend, "lib", code) == model_outcome(LuaModel(), code)


# ---- the control plane against TableModel ----

NAMES = st.sampled_from([b"a", b"b", b"c", b"", b"x" * 64, b"\x01", b"d e",
                         b"\xc3\xa9"])
SIZES = st.sampled_from([0, 1, 16, 1 << 17, 1 << 20])


class ControlPlane(RuleBasedStateMachine):
    """Random new/close/lookup/execute/close_all on a backend (the user
    library here; the module in KernelControlPlane, same rules) and on the
    model: the same outcome each step, the same list always."""

    backend = "user"

    @initialize()
    def setup(self) -> None:
        self.states = lunatik_bpf.connect(self.backend)
        self.states.close_all()
        limits = self.states.limits()
        assert limits is not None
        self.model = TableModel(limits=limits, min_maxalloc=1024)

    @rule(name=NAMES, maxalloc=SIZES)
    def new(self, name: bytes, maxalloc: int) -> None:
        assert as_outcome(self.states.new, name, maxalloc) == \
            as_outcome(self.model.new, name, maxalloc)

    @rule(name=NAMES)
    def close(self, name: bytes) -> None:
        assert as_outcome(self.states.close, name) == \
            as_outcome(self.model.close, name)

    @rule(name=NAMES)
    def lookup(self, name: bytes) -> None:
        got = as_outcome(self.states.lookup, name)
        want = as_outcome(self.model.lookup, name)
        if want[0] == "ok":
            assert got[0] == "ok"
            assert (got[1] is None) == (want[1] is None)
            if got[1] is not None:
                assert got[1].maxalloc == want[1].maxalloc
                assert got[1].curralloc <= got[1].maxalloc
                assert got[1].users == 1
        else:
            assert got == want

    @rule(name=NAMES)
    def execute(self, name: bytes) -> None:
        code = b"n = (n or 0) + 1 return n, #tostring(n)"
        assert as_outcome(self.states.execute, name, code) == \
            as_outcome(self.model.execute, name, code)

    @rule()
    def close_all(self) -> None:
        assert self.states.close_all() == self.model.close_all()

    @invariant()
    def same_list(self) -> None:
        if hasattr(self, "model"):
            assert self.model.matches(self.states.list())

    def teardown(self) -> None:
        if hasattr(self, "states"):
            self.states.close_all()
            self.states.disconnect()


class KernelControlPlane(ControlPlane):
    """The same machine on the module, through netlink."""

    backend = "kernel"


TestControlPlane = ControlPlane.TestCase
TestControlPlane.settings = settings(max_examples=60, stateful_step_count=40,
                                     deadline=None)
# inside the VM each step is a netlink round trip in a TCG guest: fewer
TestKernelControlPlane = pytest.mark.kernel(KernelControlPlane.TestCase)
TestKernelControlPlane.settings = settings(
    max_examples=20 if IN_VM else 60, stateful_step_count=30 if IN_VM else 40,
    deadline=None, **DATABASE)


def test_model_rules_match_names(backend: States) -> None:
    """Every name rule of the model, one name at a time."""
    limits = backend.limits()
    model = TableModel(limits=limits) if limits else None
    if model is None:
        pytest.skip("backend does not report its limits")
    for raw in [b"ok", b"", b"\x1f", b"\x20", b"\x21", b"\x7e", b"\x7f",
                b"x" * 63, b"x" * 64, b"\x01" * 64, b"tab\t", b"\xc3\xa9",
                b"ok", b"a b"]:
        name = encode_name(raw)
        assert as_outcome(backend.new, name, MAXALLOC) == \
            as_outcome(model.new, name, MAXALLOC), raw
    assert model.matches(backend.list())
