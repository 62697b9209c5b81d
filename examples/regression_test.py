"""Regression tests a Lunatik developer writes with the pytest plugin
(lunatik_bpf.testing.pytest_plugin, installed with the package).

    .venv/bin/python -m pytest examples/regression_test.py        # the user-space library
    .venv/bin/python -m pytest examples/regression_test.py \\
        --lunatik-library build/user-fault-put_nodec/liblunatik.so   # a broken build: fails
    .venv/bin/python -m lunatik_bpf.testing.vm -- .venv/bin/python -m pytest \\
        examples/regression_test.py --lunatik-backend kernel      # the module, in the VM

Each test drives states through `lunatik_states`; `lunatik_trace` traces
the state manager meanwhile (uprobes on the library, kprobes on the module)
and fails the test when an invariant breaks (refcount, memory accounting,
execute ends, names unique, ...), with the events that prove it. The test
body only asserts what the API answers; the tracer judges what happened
inside. Needs root (BPF).
"""
from __future__ import annotations

import threading

import pytest

from lunatik_bpf import BudgetExceeded, LuaMemoryError, NoSuchState, StateExists


def test_refcount_starts_at_one(lunatik_states, lunatik_trace):
    """The 2020 state manager started refcounts at 0 ("addition on 0;
    use-after-free" since 5.5): a new state has exactly one user, and a
    lookup's reference is given back."""
    lunatik_states.new("rc", 1 << 16)
    for _ in range(3):
        info = lunatik_states.lookup("rc")
        assert info is not None and info.users == 1
    lunatik_states.close("rc")
    assert lunatik_states.lookup("rc") is None


def test_close_races_execute(lunatik_states, lunatik_trace):
    """close while other threads execute: the state is freed once, after
    the last execute put its reference, and nothing touches it afterwards
    (the tracer's refcount_zero_once and no_event_after_zero)."""
    lunatik_states.new("race", 1 << 18)
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        for _ in range(40):
            try:
                lunatik_states.execute("race", "local s = 0 for i = 1, 100 do "
                                               "s = s + i end return s")
            except NoSuchState:
                return

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    barrier.wait()
    lunatik_states.close("race")
    for t in threads:
        t.join()


def test_create_is_atomic(lunatik_states, lunatik_trace):
    """Two threads create the same name: exactly one wins (the lookup and
    the insert happen under one lock; the tracer's names_unique)."""
    wins: list[str] = []
    barrier = threading.Barrier(2)

    def create(tag: str) -> None:
        barrier.wait()
        try:
            lunatik_states.new("once", 1 << 16)
            wins.append(tag)
        except StateExists:
            pass

    threads = [threading.Thread(target=create, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_memory_limit_holds(lunatik_states, lunatik_trace):
    """A chunk that wants more than maxalloc gets a memory error; curralloc
    stays within maxalloc and is exact (alloc_within_limit,
    curralloc_rebuilt) and all memory comes back at close (memory_returned)."""
    lunatik_states.new("mem", 1 << 17)
    with pytest.raises(LuaMemoryError):
        lunatik_states.execute("mem", "local t = {} for i = 1, 1000000000 do "
                                      "t[i] = ('x'):rep(32) .. i end")
    info = lunatik_states.lookup("mem")
    assert info is not None and info.curralloc <= info.maxalloc
    assert lunatik_states.execute("mem", "collectgarbage() return 1") == "1"


def test_runaway_script_ends(lunatik_states, lunatik_trace):
    """The instruction budget ends an endless loop, and the execute ends
    (exec_ends) with the state's lock released."""
    lunatik_states.new("spin", 1 << 16)
    with pytest.raises(BudgetExceeded):
        lunatik_states.execute("spin", "while true do end")
    assert lunatik_states.execute("spin", "return 1") == "1"
