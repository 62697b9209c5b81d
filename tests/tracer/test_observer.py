"""The observer on hand-written event sequences: the real orderings it must
tolerate (embryo allocations, free inside the last put, address reuse) and
the violations it must report. No BPF needed. Each sequence also goes
through the native core, which must find the same (differential.py)."""
from __future__ import annotations

import itertools

from lunatik_bpf.tracing.events import (Alloc, Create, Deny, Event, ExecBegin, ExecEnd, Free, Get,
                                        Lookup, Put, Remove)
from lunatik_bpf.tracing.observer import Observer

from .differential import agree

_ts = itertools.count(1)
A, B = 0x1000, 0x2000


def ev(cls, state=A, name="s", tid=1, **kw) -> Event:
    return cls(ts=next(_ts), pid=1, tid=tid, comm="t", cpu=0, state=state, name=name, **kw)


def life(addr=A, name="s", tid=1, maxalloc=1000) -> list[Event]:
    """create (embryo allocations first), one execute, close."""
    return [
        ev(Alloc, addr, name, tid, osize=0, nsize=100, curralloc=0, maxalloc=maxalloc),
        ev(Alloc, addr, name, tid, osize=100, nsize=300, curralloc=100, maxalloc=maxalloc),
        ev(Create, addr, name, tid, maxalloc=maxalloc),
        ev(Get, addr, name, tid, count=2),
        ev(Lookup, addr, name, tid, via="stateget", users=2),
        ev(ExecBegin, addr, name, tid, length=1, code=b"x"),
        ev(Alloc, addr, name, tid, osize=0, nsize=50, curralloc=300, maxalloc=maxalloc),
        ev(ExecEnd, addr, name, tid, status=0),
        ev(Put, addr, name, tid, count=1),
        ev(Alloc, addr, name, tid, osize=50, nsize=0, curralloc=350, maxalloc=maxalloc),
        ev(Alloc, addr, name, tid, osize=300, nsize=0, curralloc=300, maxalloc=maxalloc),
        ev(Free, addr, name, tid, curralloc=0, maxalloc=maxalloc),
        ev(Put, addr, name, tid, count=0),
        ev(Remove, 0, name, tid, ret=0),
    ]


def run(events) -> list[str]:
    """The checks found on events; the native core, when built, must find
    the same (differential.agree)."""
    return agree(list(events))


def test_a_correct_life_and_address_reuse_are_clean():
    assert run(life() + life() + life(name="t")) == []


def test_two_states_interleaved():
    a, b = life(A, "a", 1), life(B, "b", 2)
    mixed = [e for pair in itertools.zip_longest(a, b) for e in pair if e]
    assert run(mixed) == []


def test_failed_create_drops_its_embryo():
    evs = [ev(Alloc, B, "f", 2, osize=0, nsize=100, curralloc=0, maxalloc=120),
           ev(Deny, B, "f", 2, osize=0, nsize=200, curralloc=100, maxalloc=120),
           ev(Alloc, B, "f", 2, osize=100, nsize=0, curralloc=100, maxalloc=120),
           ev(Create, 0, "f", 2, maxalloc=120, error=-122)]
    assert run(evs + life()) == []
    assert run(evs[:2] + evs[3:]) == ["memory_returned"]


def test_put_without_decrement():
    evs = life()
    evs[8] = ev(Put, count=2)
    evs[12] = ev(Put, count=2)
    del evs[10:12]          # never freed
    assert "refcount_zero_once" in run(evs)


def test_zero_twice_and_events_after_zero():
    evs = life()
    assert run(evs + [ev(Put, count=0)]) == ["no_event_after_zero"]
    early = life()
    early[8] = ev(Put, count=0)     # zero while the table still holds its reference
    assert run(early)[0] == "refcount_zero_once"
    assert run(evs + [ev(ExecBegin, length=1, code=b"x")])[0] == "no_event_after_zero"
    assert run(evs + [ev(Get, count=0)]) == []      # a dying state may be asked


def test_negative_count():
    evs = life()
    evs[8] = ev(Put, count=-1)
    assert "refcount_nonnegative" in run(evs)


def test_alloc_checks():
    evs = life()
    evs[6] = ev(Alloc, osize=0, nsize=800, curralloc=300, maxalloc=1000)
    assert "alloc_within_limit" in run(evs[:7])
    evs = life()
    evs[9] = ev(Alloc, osize=50, nsize=0, curralloc=400, maxalloc=1000)  # drifted
    assert "curralloc_rebuilt" in run(evs)
    evs = life()
    evs.insert(7, ev(Deny, osize=0, nsize=10, curralloc=350, maxalloc=1000))
    assert run(evs) == ["deny_only_over_limit"]
    evs[7] = ev(Deny, osize=0, nsize=700, curralloc=350, maxalloc=1000)
    assert run(evs) == []


def test_memory_not_returned():
    evs = life()
    evs[11] = ev(Free, curralloc=300, maxalloc=1000)
    del evs[10]
    assert "memory_returned" in run(evs)


def test_execute_without_end():
    evs = life()
    del evs[7]
    assert run(evs) == ["exec_ends"]                # reported at the free
    assert run(evs[:8]) == ["exec_ends"]            # or at the end of the session


def test_names_unique_among_live_states():
    dup = [ev(Create, B, "s", 2, maxalloc=1000)]
    assert run(life()[:3] + dup) == ["names_unique"]
    assert run(life()[:-1] + [ev(Remove, 0, "s", ret=0)] + dup) == []


def test_unpublished_unseen_is_no_duplicate():
    """close_all unpublishes with no REMOVE: its put, by a thread that took
    no reference, is the table's. A new state of the name while an execute
    still holds the old one is no duplicate; a put of the execute's own
    reference leaves the old one published, and then it is one."""
    held = life()[:3] + [ev(Get, A, "s", 2, count=2)]
    new = [ev(Create, B, "s", 4, maxalloc=1000)]
    assert run(held + [ev(Put, A, "s", 3, count=1)] + new) == []
    assert run(held + [ev(Put, A, "s", 2, count=1)] + new) == ["names_unique"]


def test_reused_address_does_not_keep_its_old_name():
    """A state closed by close_all (no REMOVE) and freed; its address is
    reused by a state of another name: a new state of the first name is
    no duplicate."""
    gone = life()[:3] + [ev(Alloc, A, "s", 3, osize=300, nsize=0, curralloc=300,
                            maxalloc=1000),
                         ev(Free, A, "s", 3, curralloc=0, maxalloc=1000),
                         ev(Put, A, "s", 3, count=0)]
    reused = [ev(Alloc, A, "t", 5, osize=0, nsize=100, curralloc=0, maxalloc=1000),
              ev(Create, A, "t", 5, maxalloc=1000)]
    assert run(gone + reused + [ev(Create, B, "s", 4, maxalloc=1000)]) == []


def test_state_older_than_the_session_is_adopted_at_its_close():
    """Tracing began while the state lived: its lua_close frees blocks it
    was never seen to allocate (the module's exit at rmmod does that to
    every state left). Adopted from the first curralloc seen, no finding."""
    close = [ev(Put, A, "old", 3, count=1),
             ev(Alloc, A, "old", 3, osize=200, nsize=0, curralloc=500, maxalloc=1000),
             ev(Alloc, A, "old", 3, osize=300, nsize=0, curralloc=300, maxalloc=1000),
             ev(Free, A, "old", 3, curralloc=0, maxalloc=1000),
             ev(Put, A, "old", 3, count=0)]
    assert run(close) == []
    assert run(close[1:]) == []         # close_all puts nothing before lua_close
    leak = close[:2] + [ev(Free, A, "old", 3, curralloc=300, maxalloc=1000)]
    assert run(leak) == ["memory_returned"]


def test_drops_are_one_finding():
    obs = Observer()
    assert obs.note_drops(0) == []
    assert [f.check for f in obs.note_drops(5)] == ["events_complete"]
    assert obs.note_drops(9) == []
    assert [f.check for f in obs.findings] == ["events_complete"]
