"""The native core on record values at or above 2**63 (sizes, curralloc,
maxalloc read from records are u64): Python's integers do not wrap, so the
reference Observer compares and adds them exactly; the native core must
find the same (check, message and evidence), not a verdict or a number of
signed 64-bit arithmetic. Hand-built records through differential.agree
(both observers), and random ones over values around 2**63 and 2**64."""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunatik_bpf.tracing import native
from lunatik_bpf.tracing.events import Alloc, Create, Deny, Event, Free, Put

from . import test_observer as hand
from .differential import agree

pytestmark = pytest.mark.skipif(not native.available(), reason="make build: no native core")

A, B = hand.A, hand.B
ev = hand.ev
H = 1 << 63                 # the first value a signed 64-bit comparison gets wrong
TOP = (1 << 64) - 1


def born(cur: int, maxalloc: int, addr: int = A) -> list[Event]:
    """A state created with cur bytes charged by its embryo allocation."""
    return [ev(Alloc, addr, osize=0, nsize=cur, curralloc=0, maxalloc=maxalloc),
            ev(Create, addr, maxalloc=maxalloc)]


def test_alloc_limit_above_2_63():
    # within a limit >= 2**63: no finding (signed, the limit was negative)
    ok = born(H, TOP) + [ev(Alloc, osize=0, nsize=100, curralloc=H, maxalloc=TOP)]
    assert agree(ok) == []
    # over it: the curralloc printed is 2**63 + 200, not a negative number
    over = born(H, H + 100) + [ev(Alloc, osize=0, nsize=200, curralloc=H, maxalloc=H + 100)]
    assert agree(over) == ["alloc_within_limit"]
    # past 2**64: signed or unsigned, 64 bits wrap to 8, under the limit
    wrap = born(TOP - 7, TOP) + [ev(Alloc, osize=0, nsize=16, curralloc=TOP - 7, maxalloc=TOP)]
    assert agree(wrap) == ["alloc_within_limit"]


def test_deny_against_a_limit_of_2_63():
    # 100 bytes would fit under 2**63: the denial is wrong (signed, the
    # limit was -2**63 and the denial looked right)
    evs = born(0, H) + [ev(Deny, osize=0, nsize=100, curralloc=0, maxalloc=H)]
    assert agree(evs) == ["deny_only_over_limit"]
    # over 2**63 and under 2**64 - 1: wrong too, and printed as such
    evs = born(H, TOP) + [ev(Deny, osize=0, nsize=8, curralloc=H, maxalloc=TOP)]
    assert agree(evs) == ["deny_only_over_limit"]
    # past 2**64: right (64 bits wrap to 8, under the limit: it looked wrong)
    evs = born(TOP, TOP) + [ev(Deny, osize=0, nsize=9, curralloc=TOP, maxalloc=TOP)]
    assert agree(evs) == []


def test_rebuilt_curralloc_does_not_wrap():
    # the events add up to -5 (more freed than charged); the state's own
    # u64 says 2**64 - 5: the same 64 bits, not the same number
    evs = born(5, 0) + [ev(Alloc, osize=10, nsize=0, curralloc=5),
                        ev(Free, curralloc=TOP - 4)]
    assert agree(evs) == ["curralloc_rebuilt", "memory_returned"]
    # and back: 2**63 rebuilt from two charges, the state agrees
    evs = born(H - 8, 0) + [ev(Alloc, osize=0, nsize=8, curralloc=H - 8),
                            ev(Alloc, osize=H, nsize=0, curralloc=H),
                            ev(Free, curralloc=0), ev(Put, count=0)]
    assert agree(evs) == []


def test_adopted_state_above_2_63():
    """A state older than the session, first seen at a curralloc >= 2**63."""
    evs = [ev(Alloc, B, "old", 3, osize=8, nsize=0, curralloc=H + 8, maxalloc=TOP),
           ev(Alloc, B, "old", 3, osize=H, nsize=0, curralloc=H, maxalloc=TOP),
           ev(Free, B, "old", 3, curralloc=0, maxalloc=TOP),
           ev(Put, B, "old", 3, count=0)]
    assert agree(evs) == []
    evs[2] = ev(Free, B, "old", 3, curralloc=H, maxalloc=TOP)
    assert agree(evs) == ["curralloc_rebuilt", "memory_returned"]


def test_failed_create_charged_2_64():
    """Two embryo charges of 2**63 each: 2**64 bytes left, which is 0 in 64 bits."""
    evs = [ev(Alloc, B, "f", 2, osize=0, nsize=H, curralloc=0, maxalloc=0),
           ev(Alloc, B, "f", 2, osize=0, nsize=H, curralloc=H, maxalloc=0),
           ev(Create, 0, "f", 2, maxalloc=0, error=-12)]
    assert agree(evs) == ["memory_returned"]


# ---- random: the sizes and limits around 2**63 and 2**64 ----

_big = st.sampled_from([0, 8, 100, H - 8, H - 1, H, H + 8, TOP - 8, TOP])
_limit = st.sampled_from([0, 1000, H - 1, H, H + 100, TOP])


@st.composite
def big_sequences(draw: Any) -> list[Event]:
    out: list[Event] = []
    for _ in range(draw(st.integers(1, 12))):
        addr = draw(st.sampled_from([A, B]))
        kind = draw(st.sampled_from(["alloc", "alloc", "deny", "free", "create", "put"]))
        kw: dict[str, Any] = {"state": addr, "tid": draw(st.integers(1, 2))}
        if kind in ("alloc", "deny"):
            cls: type[Event] = Alloc if kind == "alloc" else Deny
            kw.update(osize=draw(_big), nsize=draw(_big), curralloc=draw(_big),
                      maxalloc=draw(_limit))
        elif kind == "free":
            cls = Free
            kw.update(curralloc=draw(_big), maxalloc=draw(_limit))
        elif kind == "create":
            cls = Create
            kw.update(maxalloc=draw(_limit), error=draw(st.sampled_from([0, 0, -12])))
            if kw["error"]:
                kw["state"] = 0
        else:
            cls = Put
            kw["count"] = draw(st.sampled_from([0, 1]))
        out.append(ev(cls, **kw))
    return out


@settings(max_examples=300, deadline=None)
@given(big_sequences())
def test_random_values_around_2_63(evs):
    agree(evs)
