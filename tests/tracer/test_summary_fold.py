"""Summary mode against stream mode, attached at once to the same run.

Summary mode has no probe on the allocator: it folds the module's own
per-state counters (struct lunatik_stats) in at create, unlock and free,
and counts the refcount at entry. Its counters and histograms must still be
exactly what the stream's events add up to, per state, live and at the end,
with one state used from every CPU at once (a state's event counts are kept
per CPU).
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest

import lunatik_bpf
from lunatik_bpf.tracing.events import Alloc, Event, ExecEnd, Lookup, Put
from lunatik_bpf.tracing.tracer import Program, Summary, Tracer

from .conftest import USER_LIBRARY
from .helpers import state_of

ALLOC_CHUNK = "local t = {} for i = 1, 300 do t[i] = {i, tostring(i)} end return #t"
NAMES = ("tr_fold0", "tr_fold1", "tr_fold2")


def log2_slot(v: int) -> int:
    return v.bit_length()       # bpf_log2l and fls64: [2^(k-1), 2^k) in slot k


def from_every_cpu(backend: str, name: str, n: int = 50) -> None:
    """n lookups and executes on name from a thread pinned to each CPU at
    once: the summary counts them per CPU and must add every CPU up."""
    cpus = sorted(os.sched_getaffinity(0))
    failures: list[BaseException] = []
    start = threading.Barrier(len(cpus))

    def run(cpu: int) -> None:
        try:
            os.sched_setaffinity(0, {cpu})      # this thread only
            mine = lunatik_bpf.connect(backend)
            start.wait(30)
            for _ in range(n):
                assert mine.lookup(name) is not None
                mine.execute(name, "return 1")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in cpus]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures


def workload(states: lunatik_bpf.States, backend: str) -> None:
    for name in NAMES:
        states.new(name, 1 << 20)
        states.execute(name, ALLOC_CHUNK)
        with pytest.raises(lunatik_bpf.LuaError):
            states.execute(name, "error('no')")
    with pytest.raises(lunatik_bpf.NoSuchState):
        states.execute("tr_fold_absent", "return 1")
    from_every_cpu(backend, NAMES[2])
    for name in NAMES[:2]:
        states.close(name)


def expected(events: list[Event], addr: int) -> tuple[Counter[str], int, int, Counter[int]]:
    evs = [e for e in events if e.state == addr]
    allocs = [e for e in evs if isinstance(e, Alloc)]
    grown = sum(e.nsize - e.osize for e in allocs if e.nsize > e.osize)
    shrunk = sum(e.osize - e.nsize for e in allocs if e.nsize <= e.osize)
    sizes = Counter(log2_slot(e.nsize) for e in allocs if e.nsize)
    return Counter(e.kind for e in evs), grown, shrunk, sizes


def assert_agree(events: list[Event], summary: Summary, names: tuple[str, ...]) -> None:
    assert summary.drops == 0
    for name in names:
        addr = state_of(events, name)
        kinds, grown, shrunk, sizes = expected(events, addr)
        (st,) = [s for s in summary.state(name) if s.state == addr]
        assert {k: v for k, v in st.counts.items() if v} == dict(kinds), name
        assert (st.alloc_bytes, st.free_bytes) == (grown, shrunk), name
        assert st.exec_errors == sum(1 for e in events if isinstance(e, ExecEnd)
                                     and e.state == addr and e.status)
        got = summary.histograms[(addr, name, "alloc_size")].slots
        assert {k: v for k, v in got.items() if v} == dict(sizes), name
        assert summary.histogram("exec_latency", name).total == kinds["exec_end"]
    misses = [e for e in events if isinstance(e, Lookup) and not e.hit]
    (absent,) = summary.state("tr_fold_absent")
    assert (absent.state, absent.lookup_miss) == (0, len(misses)) == (0, 1)


def seen(tracer: Tracer, name: str, timeout: float = 60.0) -> None:
    """Waits until the stream has consumed the last put of name, the last
    event of its close (the ring buffer is read by the polling thread,
    behind the workload)."""
    end = time.monotonic() + timeout
    while not any(isinstance(e, Put) and e.count == 0 and e.name == name
                  for e in list(tracer.events)):
        assert time.monotonic() < end, f"the last put of {name} never came through"
        time.sleep(0.05)


def run_both(states: lunatik_bpf.States, backend: str, stream: Program,
             summary: Program, **where: object) -> None:
    with Tracer(program=stream, **where) as ts, Tracer(program=summary, **where) as tm:
        workload(states, backend)
        seen(ts, NAMES[1])     # the workload's last event
        # NAMES[2] is still open: its counters were folded at its last unlock
        live = tm.summary()
        assert_agree(list(ts.events), live, NAMES)
        states.close(NAMES[2])
    assert ts.findings == [] and ts.drops == 0
    assert_agree(list(ts.events), tm.summary(), NAMES)
    (closed,) = [s for s in tm.summary().state(NAMES[0]) if s.state]
    assert closed.counts["free"] == 1 and closed.alloc_bytes == closed.free_bytes


def test_summary_equals_stream_user(user_program, user_summary_program):
    assert USER_LIBRARY.is_file(), f"{USER_LIBRARY} missing: make user"
    states = lunatik_bpf.connect("user")
    states.close_all()
    try:
        run_both(states, "user", user_program, user_summary_program,
                 library=states.backend.library_path)
    finally:
        states.close_all()


@pytest.mark.kernel
def test_summary_equals_stream_kernel(kernel_program, kernel_summary_program, kernel_probes):
    kstates = lunatik_bpf.connect("kernel")
    kstates.close_all()
    try:
        run_both(kstates, "kernel", kernel_program, kernel_summary_program,
                 probes=kernel_probes)
    finally:
        kstates.close_all()
