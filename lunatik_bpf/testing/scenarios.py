"""The built-in scenario suite of lunatik-check, and user-supplied scenarios.

A scenario drives named states through the API (lunatik_bpf.States) while
the tracer watches; the checks of tracing/checks.py judge what the state
manager did, and the scenario itself asserts what the API answered (an
exception out of a scenario is a scenario error). Every scenario cleans up after
itself; the runner also closes every state after it, still tracing, so
that the release paths are checked too.

    from lunatik_bpf.testing.scenarios import BUILTIN, load_scenario
    for sc in BUILTIN:
        if sc.skip_reason("user") is None:
            sc.run(states)
    load_scenario("examples/scenario.py")     # def scenario(states): ...
    load_scenario("examples/scenario.lua")     # run in a fresh state

Scenario names are short identifiers (lunatik-check --only NAME); a user
scenario is named by its file name (--only scenario.lua).
"""
from __future__ import annotations

import errno as _errno
import importlib.util
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..control.api import States
from ..control.errors import (BudgetExceeded, InvalidLimit, InvalidName, LuaError,
                              LuaMemoryError, LuaSyntaxError, NoSuchState, StateExists)
from ..control.types import MODULE, PARAMETERS

ScenarioFn = Callable[[States], None]

LUA_STATE_MAXALLOC = 1 << 20    # the fresh state a Lua scenario runs in


class ScenarioFailed(AssertionError):
    """The API answered something a scenario did not expect."""


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise ScenarioFailed(what)


def expect_raises(exc: type[BaseException], what: str,
                  fn: Callable[[], object]) -> BaseException:
    try:
        fn()
    except exc as err:
        return err
    raise ScenarioFailed(f"{what}: expected {exc.__name__}, nothing raised")


@dataclass(frozen=True)
class Scenario:
    """One named workload."""
    name: str
    doc: str
    run: ScenarioFn
    backends: tuple[str, ...] = ("user", "kernel")
    # the probes go away during the scenario (module unload): the runner
    # ends its tracing session with it, so it runs last
    ends_session: bool = False
    source: str = "builtin"         # or the file it came from

    def skip_reason(self, backend: str) -> str | None:
        if backend in self.backends:
            return None
        return (f"needs the {' or '.join(self.backends)} backend, running "
                f"on {backend}")


def _first_line(doc: str | None) -> str:
    """The first sentence of a docstring, on one line."""
    para = " ".join((doc or "").strip().split("\n\n")[0].split())
    return para.split(". ")[0].rstrip(".")


# ---- the built-in scenarios ----

def create(states: States) -> None:
    """Creates states of several sizes; duplicate and bad names are refused
    and leave nothing behind."""
    for i, maxalloc in enumerate((1 << 16, 1 << 18, 1 << 20)):
        states.new(f"ck_create{i}", maxalloc)
    expect_raises(StateExists, "new of a live name",
                  lambda: states.new("ck_create0", 1 << 16))
    for bad in ("", "a b", "x" * 80):
        expect_raises(InvalidName, f"new {bad!r}",
                      lambda bad=bad: states.new(bad, 1 << 16))
    expect_raises(InvalidLimit, "new with maxalloc 0",
                  lambda: states.new("ck_create_zero", 0))
    # too small to build a state: the allocator denies, create fails and
    # must give back every block it got
    err = expect_raises(InvalidLimit, "new with a tiny maxalloc",
                        lambda: states.new("ck_create_tiny", 256))
    expect(getattr(err, "errno", None) == _errno.EDQUOT,
           f"tiny maxalloc: errno {getattr(err, 'errno', None)}, want EDQUOT")
    names = {info.name for info in states.list()}
    expect({"ck_create0", "ck_create1", "ck_create2"} <= names,
           f"list after create: {sorted(names)}")
    expect("ck_create_tiny" not in names, "a failed create left a state")
    for i in range(3):
        states.close(f"ck_create{i}")


def close(states: States) -> None:
    """Closes states (the last reference frees them), refuses to close a
    missing one, and reuses names (and addresses) after close."""
    for round_ in range(3):
        states.new("ck_close", 1 << 16)
        states.execute("ck_close", f"x = {round_} return x")
        states.close("ck_close")
        expect(states.lookup("ck_close") is None, "lookup after close")
    expect_raises(NoSuchState, "close of a closed state",
                  lambda: states.close("ck_close"))
    for i in range(5):
        states.new(f"ck_close{i}", 1 << 16)
    n = states.close_all()
    expect(n >= 5, f"close_all closed {n} states, want >= 5")
    expect(not [s for s in states.list() if s.name.startswith("ck_close")],
           "states left after close_all")


def lookup(states: States) -> None:
    """Lookups of live and missing names; each lookup's reference is given
    back (users stays 1 at rest)."""
    states.new("ck_lookup", 1 << 16)
    for _ in range(20):
        info = states.lookup("ck_lookup")
        expect(info is not None and info.name == "ck_lookup", "lookup hit")
        assert info is not None
        expect(info.users == 1, f"users {info.users} at rest, want 1")
        expect(info.maxalloc == 1 << 16, f"maxalloc {info.maxalloc}")
        expect(0 < info.curralloc <= info.maxalloc,
               f"curralloc {info.curralloc}")
        expect(states.lookup("ck_lookup_missing") is None, "lookup miss")
    states.close("ck_lookup")


CHUNKS: tuple[tuple[str, str], ...] = (
    ("return 6*7", "42"),
    ("return 1, 'two', nil, true", "1\ttwo\tnil\ttrue"),
    ("local t = {} for i = 1, 100 do t[i] = i * i end return #t, t[100]",
     "100\t10000"),
    ("return ('ab'):rep(3) .. string.format('%d', 7)", "ababab7"),
    ("local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) "
     "return b * 2 end) return co(1), co(5)", "2\t10"),
    ("return 7 // 2, 7 % 3, -7 // 2, 1 << 62", "3\t1\t-4\t4611686018427387904"),
    ("g = (g or 0) + 1 return g", None),
)


def execute(states: States) -> None:
    """Runs chunks: results as text, globals kept between executes, syntax
    and runtime errors returned with the state still usable."""
    states.new("ck_exec", 1 << 20)
    for code, want in CHUNKS:
        got = states.execute("ck_exec", code)
        expect(want is None or got == want, f"{code!r} gave {got!r}, want {want!r}")
    expect(states.execute("ck_exec", "return g") == "1", "global kept")
    expect_raises(LuaSyntaxError, "syntax error",
                  lambda: states.execute("ck_exec", "return +"))
    err = expect_raises(LuaError, "runtime error",
                        lambda: states.execute("ck_exec", "error('boom')"))
    expect("boom" in str(err), f"runtime error message: {err}")
    expect_raises(LuaError, "runtime error (nil call)",
                  lambda: states.execute("ck_exec", "local f f()"))
    expect_raises(NoSuchState, "execute on a missing state",
                  lambda: states.execute("ck_exec_missing", "return 1"))
    expect(states.execute("ck_exec", "return 1 + 1") == "2",
           "state usable after errors")
    states.close("ck_exec")


def refcount(states: States) -> None:
    """Refcount under concurrency: threads execute and look up a state while
    another thread closes it; every reference taken is put and each state
    is freed exactly once, after its last user.

    Each round closes the current state under the workers' feet and creates
    the next one under a new name, which the workers only learn once new()
    has returned: a state published but whose create has not returned yet is
    not raced (the tracer sees a state born when create returns)."""
    rounds, ops = 40, 120           # bounded, so that the tracer keeps up
    current = ["ck_ref0"]
    states.new(current[0], 1 << 18)
    unexpected: list[BaseException] = []
    start = threading.Barrier(5)

    def worker(kind: int) -> None:
        start.wait()
        for _ in range(ops):
            name = current[0]
            try:
                if kind == 0:
                    states.execute(name, "local s = 0 for i = 1, 50 do s = s + i end "
                                         "return s")
                else:
                    states.lookup(name)
            except NoSuchState:
                pass                # closed under our feet: expected
            except BaseException as exc:  # noqa: BLE001 - reported below
                unexpected.append(exc)
                return

    threads = [threading.Thread(target=worker, args=(k % 2,), daemon=True)
               for k in range(4)]
    for t in threads:
        t.start()
    start.wait()
    try:
        for i in range(1, rounds + 1):
            states.close(current[0])
            name = f"ck_ref{i}"     # a worker may still use an old name
            states.new(name, 1 << 18)
            current[0] = name
            states.execute(name, "return 1")
    finally:
        for t in threads:
            t.join()
    if unexpected:
        raise ScenarioFailed(f"under concurrency: {unexpected[0]!r}")
    info = states.lookup(current[0])
    expect(info is not None and info.users == 1,
           f"users at rest after the storm: {info}")
    states.close(current[0])


def memory(states: States) -> None:
    """Memory limits: a chunk that wants more than maxalloc gets a memory
    error, curralloc never passes maxalloc, and the state keeps working
    (garbage is collected, memory given back)."""
    limit = 1 << 17
    states.new("ck_mem", limit)
    grow = "local t = {} for i = 1, 1000000 do t[i] = ('x'):rep(64) .. i end"
    for _ in range(3):
        expect_raises(LuaMemoryError, "growing past maxalloc",
                      lambda: states.execute("ck_mem", grow))
        info = states.lookup("ck_mem")
        assert info is not None
        expect(info.curralloc <= limit, f"curralloc {info.curralloc} > {limit}")
        expect(states.execute("ck_mem", "collectgarbage() return 1") == "1",
               "usable after a memory error")
    before = states.lookup("ck_mem")
    states.execute("ck_mem", "local t = {} for i = 1, 200 do t[i] = ('y'):rep(i) end "
                             "t = nil collectgarbage()")
    after = states.lookup("ck_mem")
    assert before is not None and after is not None
    # a shrinking string buffer, a table rehash: realloc with osize > nsize
    states.execute("ck_mem", "local t = {} for i = 1, 64 do t[i] = i end "
                             "for i = 1, 64 do t[i] = nil end collectgarbage()")
    states.close("ck_mem")


def runaway(states: States) -> None:
    """Runaway scripts: endless loops, endless recursion and endless
    coroutines end with an error (the instruction budget, or a stack
    error), the state stays usable."""
    states.new("ck_run", 1 << 20)
    for code in ("while true do end",
                 "local n = 0 repeat n = n + 1 until false",
                 "local co = coroutine.wrap(function() while true do "
                 "coroutine.yield() end end) while true do co() end"):
        expect_raises(BudgetExceeded, f"budget of {code!r}",
                      lambda code=code: states.execute("ck_run", code))
        expect(states.execute("ck_run", "return 2") == "2",
               "usable after the budget ran out")
    expect_raises(LuaError, "endless recursion",
                  lambda: states.execute("ck_run", "local function f() return 1 + f() "
                                                   "end return f()"))
    expect(states.execute("ck_run", "return 3") == "3", "usable after recursion")
    states.close("ck_run")


def unload(states: States) -> None:
    """Module unload with live states: rmmod must close and free them all,
    insmod brings back an empty table with the same limits."""
    from .vm import KO
    limits = states.limits()
    for i in range(4):
        states.new(f"ck_unload{i}", 1 << 18)
        states.execute(f"ck_unload{i}", f"t = {{}} for i = 1, {100 * (i + 1)} do "
                                        "t[i] = i end return #t")
    # every writable parameter as it is now (the read-only live_* counters
    # are 0444), to load the module back the same way
    params = [f"{p.name}={p.read_text().strip()}" for p in sorted(PARAMETERS.iterdir())
              if p.stat().st_mode & 0o200]
    states.disconnect()
    done = subprocess.run(["rmmod", MODULE], capture_output=True, text=True)
    if done.returncode != 0:
        raise ScenarioFailed(f"rmmod {MODULE} with live states failed: "
                             f"{done.stderr.strip()}")
    expect(not PARAMETERS.parent.exists(), "module still there after rmmod")
    back = subprocess.run(["insmod", str(KO), *params],
                          capture_output=True, text=True)
    if back.returncode != 0:
        raise ScenarioFailed(f"insmod {KO} {' '.join(params)} failed: "
                             f"{back.stderr.strip()}")
    expect(states.list() == [], f"states after reload: {states.list()}")
    expect(states.limits() == limits, "limits changed across reload")


BUILTIN: tuple[Scenario, ...] = (
    Scenario("create", _first_line(create.__doc__), create),
    Scenario("close", _first_line(close.__doc__), close),
    Scenario("lookup", _first_line(lookup.__doc__), lookup),
    Scenario("execute", _first_line(execute.__doc__), execute),
    Scenario("refcount", _first_line(refcount.__doc__), refcount),
    Scenario("memory", _first_line(memory.__doc__), memory),
    Scenario("runaway", _first_line(runaway.__doc__), runaway),
    Scenario("unload", "module unload with live states (rmmod/insmod of "
             "kernel/lunatik.ko)", unload, backends=("kernel",), ends_session=True),
)


def builtin(name: str) -> Scenario:
    for sc in BUILTIN:
        if sc.name == name:
            return sc
    raise KeyError(name)


# ---- user-supplied scenarios ----

def _scenario_name(path: Path) -> str:
    """A user scenario is named by its file name (scenario.py, scenario.lua)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", path.name) or "scenario"




def load_python(path: Path) -> Scenario:
    """A Python file defining `def scenario(states): ...`."""
    spec = importlib.util.spec_from_file_location(
        f"lunatik_scenario_{_scenario_name(path).replace('.', '_').replace('-', '_')}",
        path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: cannot load as Python")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, "scenario", None)
    if not callable(fn):
        raise ValueError(f"{path}: defines no function scenario(states)")
    doc = _first_line(fn.__doc__) or _first_line(module.__doc__) or str(path)
    return Scenario(_scenario_name(path), doc, fn, source=str(path))


def load_lua(path: Path, maxalloc: int = LUA_STATE_MAXALLOC) -> Scenario:
    """A Lua script, executed in a fresh state named after the file (its
    results are ignored, an error is a scenario error)."""
    code = path.read_bytes()
    name = "lua_" + re.sub(r"[^A-Za-z0-9_]", "_", path.stem)[:40]
    first = code.split(b"\n", 1)[0].decode("utf-8", "replace")
    doc = first[2:].strip() if first.startswith("--") else str(path)

    def run(states: States) -> None:
        states.new(name, maxalloc)
        try:
            states.execute(name, code)
        finally:
            states.close(name)

    return Scenario(_scenario_name(path), doc, run, source=str(path))


def load_scenario(path: str | Path) -> Scenario:
    """A user scenario: a .lua script, or a Python file with scenario()."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such scenario file")
    if p.suffix == ".lua":
        return load_lua(p)
    return load_python(p)


__all__ = ["Scenario", "BUILTIN", "builtin", "load_scenario", "ScenarioFailed",
           "expect", "expect_raises"]
