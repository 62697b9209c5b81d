"""Threads driving the same states through the Python API: no crash, no
unexpected error, the invariants of every answer hold, nothing left over.
(The user backend releases the GIL in every C call, so the threads really
run the C side in parallel.)"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from lunatik_bpf.control.api import States
from lunatik_bpf.control.errors import (
    LuaError,
    LuaMemoryError,
    NoSuchState,
    StateExists,
)
from lunatik_bpf.control.types import StateInfo

KIB = 1024
MAXALLOC = 128 * KIB


def run_threads(n: int, body: Callable[[int], None]) -> list[BaseException]:
    """Runs body(i) in n threads; returns what they raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def main(i: int) -> None:
        try:
            start.wait()
            body(i)
        except BaseException as exc:     # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=main, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def check_info(info: StateInfo | None) -> None:
    """What any lookup may report, even racing a close: a published state
    (the table's reference counts: users >= 1)."""
    if info is not None:
        assert 0 < info.curralloc <= info.maxalloc, info
        assert info.users >= 1, info


def test_hammer_shared_names(backend: States) -> None:
    names = ["h0", "h1", "h2"]

    def body(i: int) -> None:
        rng = random.Random(i)
        for _ in range(400):
            name = rng.choice(names)
            op = rng.randrange(5)
            try:
                if op == 0:
                    backend.new(name, MAXALLOC)
                elif op == 1:
                    backend.close(name)
                elif op == 2:
                    out = backend.execute(name, "n = (n or 0) + 1 return n")
                    assert int(out) >= 1
                elif op == 3:
                    check_info(backend.lookup(name))
                else:
                    for info in backend.list():
                        assert info.name in names
                        check_info(info)
            except (StateExists, NoSuchState):
                pass

    assert run_threads(8, body) == []
    backend.close_all()
    assert backend.list() == []


def test_hammer_with_close_all(backend: States) -> None:
    def body(i: int) -> None:
        rng = random.Random(100 + i)
        for k in range(300):
            name = f"ca{rng.randrange(6)}"
            try:
                if i == 0 and k % 10 == 0:
                    backend.close_all()
                elif k % 2:
                    backend.new(name, MAXALLOC)
                else:
                    backend.execute(name, "return 1")
            except (StateExists, NoSuchState):
                pass

    assert run_threads(6, body) == []
    backend.close_all()
    assert backend.list() == []


def test_execute_is_serialised(backend: States) -> None:
    """Executes on one state run one at a time: no increment is lost."""
    backend.new("counter", MAXALLOC)
    per_thread = 200

    def body(i: int) -> None:
        for _ in range(per_thread):
            backend.execute("counter", "c = (c or 0) + 1")

    assert run_threads(6, body) == []
    assert backend.execute("counter", "return c") == str(6 * per_thread)


def test_close_while_executing(backend: States) -> None:
    """A state closed by one thread while others execute on it: they get
    NoSuchState or finish their chunk; nothing crashes, nothing is left."""
    stop = threading.Event()

    def body(i: int) -> None:
        if i == 0:
            for _ in range(300):
                try:
                    backend.new("victim", MAXALLOC)
                except StateExists:
                    pass
                try:
                    backend.close("victim")
                except NoSuchState:
                    pass
            stop.set()
            return
        while not stop.is_set():
            try:
                out = backend.execute("victim", "local s = 0 for i = 1, 2000 "
                                      "do s = s + i end return s")
                assert out == "2001000"
            except NoSuchState:
                pass

    assert run_threads(4, body) == []
    backend.close_all()
    assert backend.list() == []


def test_limit_holds_under_concurrent_bombs(backend: States) -> None:
    """Memory bombs in some threads, lookups in others: every curralloc
    seen is within maxalloc, and the states still work afterwards."""
    names = ["bomb0", "bomb1"]
    for name in names:
        backend.new(name, MAXALLOC)
    done = threading.Event()
    seen: list[int] = []

    def body(i: int) -> None:
        if i < 2:
            for _ in range(30):
                try:
                    backend.execute(names[i], "local t = {} local i = 0 "
                                    "while true do i = i + 1 t[i] = "
                                    "tostring(i) end")
                except LuaMemoryError:
                    pass
            done.set()
            return
        while not done.is_set():
            for name in names:
                info = backend.lookup(name)
                assert info is not None
                assert info.curralloc <= info.maxalloc
                seen.append(info.curralloc)

    assert run_threads(4, body) == []
    assert seen and max(seen) <= MAXALLOC
    for name in names:
        assert backend.execute(name, "return 'ok'") == "ok"


def test_many_states_in_parallel(backend: States) -> None:
    """Each thread owns its states: create, use, close; all independent."""
    def body(i: int) -> None:
        for k in range(40):
            name = f"own_{i}_{k}"
            backend.new(name, MAXALLOC)
            assert backend.execute(name, f"return {i} * 1000 + {k}") == \
                str(i * 1000 + k)
            try:
                backend.execute(name, "error('x')")
            except LuaError:
                pass
            backend.close(name)

    assert run_threads(6, body) == []
    assert backend.list() == []


def test_lookup_racing_close(backend: States) -> None:
    """A lookup is one snapshot: a state it reports was published at some
    instant, so it had the table's reference (users >= 1) then."""
    stop = threading.Event()
    seen: list[StateInfo] = []

    def body(i: int) -> None:
        if i == 0:
            for _ in range(3000):
                try:
                    backend.new("race", MAXALLOC)
                    backend.close("race")
                except (StateExists, NoSuchState):
                    pass
            stop.set()
            return
        while not stop.is_set():
            info = backend.lookup("race")
            if info is not None and info.users == 0:
                seen.append(info)

    assert run_threads(3, body) == []
    assert seen == []
