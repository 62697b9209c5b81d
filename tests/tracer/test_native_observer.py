"""The native observer (lunatik_bpf/native/observe.c) against the Python
Observer, the reference: the same records in, the same findings out (check,
state, name, message and evidence events) and the same counts per kind.

Record sequences: the hand-built orderings of test_observer.py (its run()
goes through differential.agree, both observers) and a few more here,
random sequences over a few states and threads (hypothesis), records
captured from real traced sessions of the correct library and of the fault
variants, and the live native path of the Tracer on those same workloads."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunatik_bpf import native
from lunatik_bpf.checks import CHECKS
from lunatik_bpf.events import (KINDS, Alloc, Contention, Create, Deny, Event, ExecBegin,
                                ExecEnd, Free, Get, Lock, Lookup, Put, Remove, Unlock)
from lunatik_bpf.tracer import Tracer

from . import test_observer as hand
from .conftest import USER_LIBRARY, fault_library
from .differential import agree as same
from .differential import decode as DECODE
from .differential import key as _key
from .differential import native_side, python_side
from .test_faults import FAULTS

pytestmark = pytest.mark.skipif(not native.available(), reason="make build: no native core")

A, B = hand.A, hand.B
ev, life = hand.ev, hand.life


def test_the_checks_are_the_same():
    assert native.check_names() == list(CHECKS)


# ---- orderings test_observer.py does not build ----

def _variants() -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    failed = [ev(Alloc, B, "f", 2, osize=0, nsize=100, curralloc=0, maxalloc=120),
              ev(Deny, B, "f", 2, osize=0, nsize=200, curralloc=100, maxalloc=120),
              ev(Alloc, B, "f", 2, osize=100, nsize=0, curralloc=100, maxalloc=120),
              ev(Create, 0, "f", 2, maxalloc=120, error=-122)]
    out["failed_create_freed"] = failed[:3] + [
        ev(Free, B, "f", 2, curralloc=0, maxalloc=120)] + failed[3:]
    out["failed_create_freed_leak"] = failed[:2] + [
        ev(Free, B, "f", 2, curralloc=100, maxalloc=120)] + failed[3:]
    out["failed_create_two_embryos"] = failed[:2] + [
        ev(Alloc, A, "f", 2, osize=0, nsize=50, curralloc=0, maxalloc=120)] + failed[3:]
    out["exec_twice"] = life()[:6] + [ev(ExecBegin, length=2, code=b"yy")] + life()[6:]
    out["exec_open_on_two_threads_at_free"] = life()[:6] + [
        ev(ExecBegin, tid=2, length=1, code=b"z")] + life()[6:7] + life()[8:]
    out["locks"] = life()[:3] + [ev(Lock, wait=5, contended=True), ev(Unlock, hold=7),
                                 ev(Contention, wait=3)] + life()[3:]
    out["lookups"] = life()[:3] + [ev(Lookup, via="statelookup"),
                                   ev(Lookup, 0, "nope", via="stateget")] + life()[3:]
    return out


VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_more_orderings(name):
    same(VARIANTS[name])


def test_the_native_core_reports_violations_too():
    """agree() compares; this says the comparison is not of two empty lists."""
    assert same(VARIANTS["failed_create_freed_leak"]) == ["memory_returned"]
    assert same(VARIANTS["failed_create_two_embryos"]) == ["memory_returned"] * 2
    assert same(VARIANTS["exec_twice"]) == ["exec_ends"]


def test_drops_are_one_finding():
    assert same(life(), drops=5) == ["events_complete"]
    assert same(life(), drops=0) == []


# ---- random sequences: a few states, names and threads, every kind ----

_sizes = st.sampled_from([0, 8, 16, 100, 300])
_common = dict(state=st.sampled_from([A, B, 0x3000]), name=st.sampled_from(["s", "t"]),
               tid=st.integers(1, 3))


def _event(draw: Any) -> Event:
    kind = draw(st.sampled_from(sorted(KINDS)))
    kw: dict[str, Any] = {k: draw(v) for k, v in _common.items()}
    num = st.integers(-1, 3)
    if kind == "create":
        kw.update(maxalloc=draw(st.sampled_from([0, 200, 1000])),
                  error=draw(st.sampled_from([0, 0, 0, -12, -122])))
        cls: type[Event] = Create
    elif kind in ("get", "put"):
        cls, kw["count"] = (Get if kind == "get" else Put), draw(num)
    elif kind == "lookup":
        cls = Lookup
        kw.update(via=draw(st.sampled_from(["stateget", "statelookup"])), users=draw(num))
    elif kind in ("alloc", "deny"):
        cls = Alloc if kind == "alloc" else Deny
        kw.update(osize=draw(_sizes), nsize=draw(_sizes), curralloc=draw(_sizes),
                  maxalloc=draw(st.sampled_from([0, 200, 1000])))
    elif kind == "free":
        cls = Free
        kw.update(curralloc=draw(st.sampled_from([0, 0, 100])), maxalloc=1000)
    else:
        cls = {"remove": Remove, "exec_begin": ExecBegin, "exec_end": ExecEnd,
               "lock": Lock, "unlock": Unlock, "contention": Contention}[kind]
        if kind == "remove":
            kw.update(state=0, ret=draw(st.sampled_from([0, 0, -2])))
    return ev(cls, **kw)


@st.composite
def sequences(draw: Any) -> list[Event]:
    """Random events, with correct lives mixed in so that the
    orderings reach past the first finding of each kind."""
    out: list[Event] = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            out += life(draw(st.sampled_from([A, B])), draw(st.sampled_from(["s", "t"])),
                        draw(st.integers(1, 3)))
        out += [_event(draw) for _ in range(draw(st.integers(0, 12)))]
    return out


@settings(max_examples=400, deadline=None)
@given(sequences(), st.integers(0, 2))
def test_random_sequences(evs, drops):
    same(evs, drops)


# ---- records of real sessions ----

pytest_root = pytest.mark.root


def _capture(user_program: Any, workload: Any, library: Any) -> tuple[list[bytes], Tracer]:
    """A traced run of the workload on library (the Python path), every
    record kept as bytes as the ring buffer gave it."""
    raws: list[bytes] = []
    w = workload(library)
    tracer = Tracer(program=user_program, pid=w.pid,
                    **({"library": library} if library != USER_LIBRARY else {}))
    tracer.start()
    sink = user_program._sink

    def tap(raw: Any) -> None:
        raws.append(bytes(raw))
        sink(raw)
    user_program._sink = tap
    try:
        w.run()
    finally:
        tracer.stop()
    w.close()
    return raws, tracer


def _same_records(raws: list[bytes], tracer: Tracer) -> list[str]:
    evs = [DECODE(r) for r in raws]
    assert evs == tracer.events
    py, py_counts = python_side(evs, tracer.drops)
    assert py == [_key(f) for f in tracer.findings]
    nat, nat_counts = native_side(raws, tracer.drops)
    assert nat == py and nat_counts == py_counts
    return [k[0] for k in nat]


@pytest_root
def test_records_of_a_real_session(user_program, workload):
    raws, tracer = _capture(user_program, workload, USER_LIBRARY)
    assert len(raws) > 100
    assert _same_records(raws, tracer) == []


@pytest_root
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_records_of_a_fault_variant(user_program, workload, fault):
    raws, tracer = _capture(user_program, workload, fault_library(fault))
    assert FAULTS[fault] in _same_records(raws, tracer)


# ---- the live native path of the Tracer ----

def _live(user_program: Any, workload: Any, library: Any) -> Tracer:
    w = workload(library)
    seen: list[Any] = []
    with Tracer(program=user_program, pid=w.pid, library=library, retain=False,
                on_finding=seen.append) as tracer:
        assert tracer._native is not None       # retain=False, no on_event: native
        w.run()
    w.close()
    assert seen == tracer.findings
    return tracer


@pytest_root
def test_live_native_session_is_clean(user_program, workload):
    tracer = _live(user_program, workload, USER_LIBRARY)
    assert tracer.events == [] and tracer.event_count > 100
    assert tracer.findings == [] and tracer.drops == 0
    raws, ref = _capture(user_program, workload, USER_LIBRARY)
    assert tracer.event_count == len(raws)      # the same workload, the same records
    assert tracer.summary().events == tracer.event_count


@pytest_root
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_live_native_session_reports_the_fault(user_program, workload, fault):
    tracer = _live(user_program, workload, fault_library(fault))
    checks = {f.check for f in tracer.findings}
    assert FAULTS[fault] in checks, [str(f) for f in tracer.findings]
    found = next(f for f in tracer.findings if f.check == FAULTS[fault])
    assert found.events and found.state and found.name == "w"
    assert all(isinstance(e, Event) for e in found.events)
    assert "events_complete" not in checks


def test_native_needs_no_per_event_objects():
    with pytest.raises(ValueError):
        Tracer(retain=True, native_observer=True)._use_native()
    assert not Tracer(retain=False, on_event=print)._use_native()
    assert Tracer(retain=False)._use_native()
