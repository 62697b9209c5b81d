"""The native observer (lunatik_bpf/tracing/native/observe.c) against the Python
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

from lunatik_bpf.tracing import native
from lunatik_bpf.tracing.checks import CHECKS
from lunatik_bpf.tracing.events import (DROP_CAUSES, KINDS, Alloc, Contention, Create, Deny, Event,
                                        ExecBegin, ExecEnd, Free, Get, Lock, Lookup, Put, Remove, Unlock)
from lunatik_bpf.tracing.observer import Observer
from lunatik_bpf.tracing.summary import DROP_TEXT
from lunatik_bpf.tracing.tracer import Tracer

from . import test_observer as hand
from .conftest import USER_LIBRARY, fault_library
from .differential import agree as same
from .differential import decode as DECODE
from .differential import encode
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


# ---- drops by cause: the same events_complete wording in both observers ----

# (total, by_cause): None and {} are "no split", the total the ring buffer's
DROP_FIGURES: dict[str, tuple[int, dict[str, int] | None]] = {
    "total_only": (5, None),
    "empty_split": (5, {}),
    "all_zero_split": (7, {"ringbuf": 0, "map_full": 0, "stash": 0}),
    "ringbuf": (4, {"ringbuf": 4, "map_full": 0, "stash": 0}),
    "map_full": (3, {"ringbuf": 0, "map_full": 3, "stash": 0}),
    "stash": (2, {"stash": 2}),
    "map_full_and_stash": (5, {"ringbuf": 0, "map_full": 3, "stash": 2}),
    "ringbuf_and_stash": (10, {"stash": 1, "ringbuf": 9}),       # not in enum order
    "all_three": (6, {"ringbuf": 1, "map_full": 2, "stash": 3}),
    # 20 digits each: past the 240 bytes a message used to have
    "all_three_huge": (2**64 - 1, {"ringbuf": 2**64 - 1, "map_full": 2**64 - 2,
                                   "stash": 2**64 - 3}),
    # the total is what the tracer summed; the split words it
    "split_not_the_total": (100, {"map_full": 1}),
    # indices events.h does not name (summary.drop_cause_name): by name
    "unnamed_causes": (9, {"cause10": 1, "ringbuf": 2, "cause3": 3, "cause4": 0,
                           "cause9": 4}),
    "nothing_lost": (0, {"ringbuf": 0}),
    "split_without_a_total": (0, {"map_full": 3}),
}


def _drop_findings(obs: Any, figures: list[tuple[int, dict[str, int] | None]]
                   ) -> list[tuple[Any, ...]]:
    for total, by_cause in figures:
        if by_cause is None:
            obs.note_drops(total)
        else:
            obs.note_drops(total, dict(by_cause))
    obs.finish()
    return [_key(f) for f in obs.findings]


@pytest.mark.parametrize("name", sorted(DROP_FIGURES))
def test_drops_by_cause_agree(name):
    figures = [DROP_FIGURES[name]]
    py = _drop_findings(Observer(), figures)
    assert _drop_findings(native.NativeObserver(DECODE), figures) == py
    total, by_cause = DROP_FIGURES[name]
    assert [k[0] for k in py] == (["events_complete"] if total > 0 else [])


def test_drops_by_cause_wording():
    """The comparison is of the per-cause text, not of two ring-buffer lines."""
    obs = native.NativeObserver(DECODE)
    f, = obs.note_drops(5, {"ringbuf": 0, "map_full": 3, "stash": 2})
    assert f.message == (f"{DROP_TEXT['map_full']} (3 when first seen); "
                         f"{DROP_TEXT['stash']} (2 when first seen): "
                         "findings may be missing or spurious")
    f, = native.NativeObserver(DECODE).note_drops(4, {"stash": 4})
    assert f.message.startswith(DROP_TEXT["stash"] + " (4 when first seen)")
    f, = native.NativeObserver(DECODE).note_drops(4)
    assert f.message.startswith(DROP_TEXT["ringbuf"] + " (4 when first seen)")


def test_drops_by_cause_once():
    """Reported once, the first time any are counted, whatever comes next."""
    figures = [(0, {"ringbuf": 0}), (3, {"map_full": 3}),
               (9, {"ringbuf": 6, "map_full": 3}), (12, None)]
    py = _drop_findings(Observer(), figures)
    assert len(py) == 1
    assert _drop_findings(native.NativeObserver(DECODE), figures) == py


def test_drops_by_cause_after_events():
    """After findings of the stream: the same list, in the same order."""
    evs = VARIANTS["failed_create_freed_leak"]
    by_cause = {"ringbuf": 0, "map_full": 2, "stash": 1}
    pobs, nobs = Observer(), native.NativeObserver(DECODE)
    for e in evs:
        pobs.feed(e)
    nobs.feed_many(b"".join(encode(e) for e in evs), len(encode(evs[0])), len(evs))
    assert _drop_findings(nobs, [(3, by_cause)]) == _drop_findings(pobs, [(3, by_cause)])
    assert [f.check for f in pobs.findings] == ["memory_returned", "events_complete"]


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 2**64 - 1),
       by_cause=st.none() | st.dictionaries(
           st.sampled_from(sorted(DROP_CAUSES) + ["cause3", "cause7", "cause12"]),
           st.integers(0, 2**64 - 1), max_size=6))
def test_drops_by_cause_random(total, by_cause):
    figures = [(total, by_cause)]
    assert _drop_findings(native.NativeObserver(DECODE), figures) == \
        _drop_findings(Observer(), figures)


def test_the_native_core_refuses_a_cause_it_cannot_place():
    with pytest.raises(ValueError):
        native.NativeObserver(DECODE).note_drops(1, {"no_such_cause": 1})


class _Drops:
    """A Program's drops_by_cause(), without BPF."""

    def __init__(self, by_cause: dict[str, int]) -> None:
        self.by_cause = by_cause

    def drops_by_cause(self) -> dict[str, int]:
        return dict(self.by_cause)


@pytest.mark.parametrize("name", ["map_full", "map_full_and_stash", "all_three", "stash"])
def test_the_session_passes_the_split_to_the_native_core(name):
    """Tracer._note_drops words the finding by cause with either observer."""
    _, by_cause = DROP_FIGURES[name]
    found: dict[str, list[Any]] = {}
    for which in ("python", "native"):
        tr = Tracer(native_observer=which == "native", retain=which == "python")
        tr.program = _Drops(by_cause or {})
        if which == "native":
            tr._native = native.NativeObserver(DECODE)
        got: list[Any] = []
        tr.on_finding = got.append
        tr._note_drops()
        tr._note_drops()        # once
        found[which] = [_key(f) for f in got]
        assert [_key(f) for f in tr.findings] == found[which]
        assert tr.drops == sum((by_cause or {}).values())
    assert found["native"] == found["python"]
    assert len(found["python"]) == 1
    for cause, n in (by_cause or {}).items():
        assert (f"{DROP_TEXT[cause]} ({n} when first seen)" in found["native"][0][3]) == (n > 0)


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
