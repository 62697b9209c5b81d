"""The native observer (lunatik_bpf/native/observe.c) against the Python
Observer, the reference: the same records in, the same findings out (check,
state, name, message and evidence events) and the same counts per kind.

Record sequences: the hand-built orderings of test_observer.py, random
sequences over a few states and threads (hypothesis), records captured
from real traced sessions of the correct library and of the fault variants,
and the live native path of the Tracer on those same workloads."""
from __future__ import annotations

import ctypes
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunatik_bpf import native
from lunatik_bpf.checks import CHECKS
from lunatik_bpf.events import (KINDS, Alloc, Contention, Create, Deny, Event, ExecBegin,
                                ExecEnd, Free, Get, Lock, Lookup, Put, RawDecoder, Remove,
                                Unlock)
from lunatik_bpf.observer import Observer
from lunatik_bpf.tracer import Tracer

from . import test_observer as hand
from .conftest import USER_LIBRARY, fault_library
from .test_faults import FAULTS

pytestmark = pytest.mark.skipif(not native.available(), reason="make build: no native core")

A, B = hand.A, hand.B

# the record field each event field is stored in (the inverse of events._RAW_FIELDS)
_STORED: dict[str, dict[str, str]] = {
    "create": {"maxalloc": "maxalloc", "error": "ret", "latency": "latency"},
    "remove": {"ret": "ret"},
    "get": {"count": "count"}, "put": {"count": "count"},
    "exec_end": {"status": "ret", "latency": "latency", "length": "len"},
    "alloc": {"osize": "osize", "nsize": "nsize", "curralloc": "curralloc",
              "maxalloc": "maxalloc"},
    "deny": {"osize": "osize", "nsize": "nsize", "curralloc": "curralloc",
             "maxalloc": "maxalloc"},
    "free": {"curralloc": "curralloc", "maxalloc": "maxalloc"},
    "unlock": {"hold": "latency"}, "contention": {"wait": "latency"},
}


def encode(ev: Event) -> bytes:
    """The record (struct lunatik_event) that decodes to ev."""
    r = native.record_type()()
    r.kind = KINDS[ev.kind]
    for f in ("ts", "pid", "tid", "cpu", "state"):
        setattr(r, f, getattr(ev, f))
    r.comm, r.name = ev.comm.encode(), ev.name.encode()
    for f, rf in _STORED.get(ev.kind, {}).items():
        setattr(r, rf, getattr(ev, f))
    if isinstance(ev, Lookup):
        r.flags, r.count = int(ev.via == "stateget"), ev.users
    elif isinstance(ev, ExecBegin):
        r.len, r.code, r.code_len = ev.length, ev.code, len(ev.code)
    elif isinstance(ev, Lock):
        r.latency, r.flags = ev.wait, int(ev.contended)
    return ctypes.string_at(ctypes.addressof(r), ctypes.sizeof(r))


DECODE = RawDecoder(native.record_type()).decode


def python_side(evs: Sequence[Event], drops: int = 0) -> tuple[list[tuple[Any, ...]], Counter]:
    obs = Observer()
    for e in evs:
        obs.feed(e)
    obs.note_drops(drops)
    obs.finish()
    return [_key(f) for f in obs.findings], Counter(e.kind for e in evs)


def native_side(raws: Sequence[bytes], drops: int = 0, batch: bool = True
                ) -> tuple[list[tuple[Any, ...]], Counter]:
    obs = native.NativeObserver(DECODE)
    if batch and raws:
        size = len(raws[0])
        obs.feed_many(b"".join(raws), size, len(raws))
    else:
        for r in raws:
            obs.feed(r)
    obs.note_drops(drops)
    obs.finish()
    assert obs.bad == 0 and obs.events == len(raws)
    return [_key(f) for f in obs.findings], Counter(obs.counts())


def _key(f: Any) -> tuple[Any, ...]:
    return (f.check, f.state, f.name, f.message, f.events)


def same(evs: Sequence[Event], drops: int = 0) -> list[str]:
    """Both observers on evs; asserts they agree, returns the checks found."""
    raws = [encode(e) for e in evs]
    assert [DECODE(r) for r in raws] == list(evs)       # the encoding is exact
    py, py_counts = python_side(evs, drops)
    nat, nat_counts = native_side(raws, drops)
    assert nat == py
    assert nat_counts == py_counts
    assert native_side(raws, drops, batch=False)[0] == py
    return [k[0] for k in py]


def test_the_checks_are_the_same():
    assert native.check_names() == list(CHECKS)


# ---- the hand-built orderings of test_observer.py ----

ev, life = hand.ev, hand.life


def _variants() -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = {}
    out["reuse"] = life() + life() + life(name="t")
    a, b = life(A, "a", 1), life(B, "b", 2)
    out["interleaved"] = [e for pair in zip(a, b) for e in pair]
    failed = [ev(Alloc, B, "f", 2, osize=0, nsize=100, curralloc=0, maxalloc=120),
              ev(Deny, B, "f", 2, osize=0, nsize=200, curralloc=100, maxalloc=120),
              ev(Alloc, B, "f", 2, osize=100, nsize=0, curralloc=100, maxalloc=120),
              ev(Create, 0, "f", 2, maxalloc=120, error=-122)]
    out["failed_create"] = failed + life()
    out["failed_create_leak"] = failed[:2] + failed[3:]
    out["failed_create_freed"] = failed[:3] + [
        ev(Free, B, "f", 2, curralloc=0, maxalloc=120)] + failed[3:]
    out["failed_create_freed_leak"] = failed[:2] + [
        ev(Free, B, "f", 2, curralloc=100, maxalloc=120)] + failed[3:]
    evs = life()
    evs[8], evs[12] = ev(Put, count=2), ev(Put, count=2)
    del evs[10:12]
    out["put_nodec"] = evs
    out["zero_twice"] = life() + [ev(Put, count=0)]
    early = life()
    early[8] = ev(Put, count=0)
    out["zero_early"] = early
    out["exec_after_zero"] = life() + [ev(ExecBegin, length=1, code=b"x")]
    out["get_dying"] = life() + [ev(Get, count=0)]
    neg = life()
    neg[8] = ev(Put, count=-1)
    out["negative"] = neg
    over = life()
    over[6] = ev(Alloc, osize=0, nsize=800, curralloc=300, maxalloc=1000)
    out["over_limit"] = over[:7]
    drift = life()
    drift[9] = ev(Alloc, osize=50, nsize=0, curralloc=400, maxalloc=1000)
    out["drift"] = drift
    deny = life()
    deny.insert(7, ev(Deny, osize=0, nsize=10, curralloc=350, maxalloc=1000))
    out["deny_under"] = list(deny)
    deny[7] = ev(Deny, osize=0, nsize=700, curralloc=350, maxalloc=1000)
    out["deny_over"] = deny
    leak = life()
    leak[11] = ev(Free, curralloc=300, maxalloc=1000)
    del leak[10]
    out["memory_leak"] = leak
    noend = life()
    del noend[7]
    out["exec_no_end"] = noend
    out["exec_no_end_session"] = noend[:8]
    out["exec_twice"] = life()[:6] + [ev(ExecBegin, length=2, code=b"yy")] + life()[6:]
    dup = [ev(Create, B, "s", 2, maxalloc=1000)]
    out["names_dup"] = life()[:3] + dup
    out["names_after_remove"] = life()[:-1] + [ev(Remove, 0, "s", ret=0)] + dup
    held = life()[:3] + [ev(Get, A, "s", 2, count=2)]
    new = [ev(Create, B, "s", 4, maxalloc=1000)]
    out["unpublished_unseen"] = held + [ev(Put, A, "s", 3, count=1)] + new
    out["unpublished_own_put"] = held + [ev(Put, A, "s", 2, count=1)] + new
    gone = life()[:3] + [ev(Alloc, A, "s", 3, osize=300, nsize=0, curralloc=300,
                            maxalloc=1000),
                         ev(Free, A, "s", 3, curralloc=0, maxalloc=1000),
                         ev(Put, A, "s", 3, count=0)]
    reused = [ev(Alloc, A, "t", 5, osize=0, nsize=100, curralloc=0, maxalloc=1000),
              ev(Create, A, "t", 5, maxalloc=1000)]
    out["reused_address"] = gone + reused + [ev(Create, B, "s", 4, maxalloc=1000)]
    close = [ev(Put, A, "old", 3, count=1),
             ev(Alloc, A, "old", 3, osize=200, nsize=0, curralloc=500, maxalloc=1000),
             ev(Alloc, A, "old", 3, osize=300, nsize=0, curralloc=300, maxalloc=1000),
             ev(Free, A, "old", 3, curralloc=0, maxalloc=1000),
             ev(Put, A, "old", 3, count=0)]
    out["adopted_close"] = close
    out["adopted_close_all"] = close[1:]
    out["adopted_leak"] = close[:2] + [ev(Free, A, "old", 3, curralloc=300, maxalloc=1000)]
    out["locks"] = life()[:3] + [ev(Lock, wait=5, contended=True), ev(Unlock, hold=7),
                                 ev(Contention, wait=3)] + life()[3:]
    out["lookups"] = life()[:3] + [ev(Lookup, via="statelookup"),
                                   ev(Lookup, 0, "nope", via="stateget")] + life()[3:]
    return out


VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_hand_built_orderings(name):
    same(VARIANTS[name])


def test_the_orderings_find_what_test_observer_expects():
    """The native side sees what the reference asserts on them."""
    assert same(VARIANTS["reuse"]) == []
    assert same(VARIANTS["failed_create_leak"]) == ["memory_returned"]
    assert "refcount_zero_once" in same(VARIANTS["put_nodec"])
    assert same(VARIANTS["zero_twice"]) == ["no_event_after_zero"]
    assert same(VARIANTS["deny_under"]) == ["deny_only_over_limit"]
    assert same(VARIANTS["exec_no_end"]) == ["exec_ends"]
    assert same(VARIANTS["names_dup"]) == ["names_unique"]
    assert same(VARIANTS["adopted_leak"]) == ["memory_returned"]


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
