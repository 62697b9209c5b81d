"""The tracer on the user-space library (uprobes), in this process."""
from __future__ import annotations

import dataclasses
import threading

import pytest

import lunatik_bpf
from lunatik_bpf.tracing.events import (Alloc, Create, ExecBegin, ExecEnd, Free, Get, Lock, Lookup, Put,
                                        Remove)
from lunatik_bpf.tracing.replay import replay
from lunatik_bpf.tracing.tracer import Program, Tracer

from .conftest import USER_LIBRARY
from .helpers import contended, kind_counts, kinds, net_alloc, per_state, state_of

pytestmark = pytest.mark.root

EXPECTED = ["alloc", "create",                                  # new (allocations first)
            "get", "lookup", "exec_begin", "lock", "alloc", "unlock", "exec_end", "put",
            "remove", "alloc", "free", "put"]   # close: out of the table, lua_close, free, put 0


@pytest.fixture
def states() -> lunatik_bpf.States:
    assert USER_LIBRARY.is_file(), f"{USER_LIBRARY} missing: make user"
    s = lunatik_bpf.connect("user")
    s.close_all()
    yield s
    s.close_all()


def script(states: lunatik_bpf.States, name: str) -> None:
    states.new(name, 1 << 16)
    assert states.execute(name, "return 6*7") == "42"
    states.close(name)


def test_scripted_workload_yields_the_expected_events(states, user_program):
    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        script(states, "tr_basic")
    evs = per_state(tracer.events, "tr_basic")
    assert kinds(evs) == EXPECTED
    addr = state_of(tracer.events, "tr_basic")
    create = next(e for e in evs if isinstance(e, Create))
    assert (create.maxalloc, create.error, create.state) == (1 << 16, 0, addr)
    assert [e.count for e in evs if isinstance(e, Get)] == [2]
    assert [(e.via, e.users) for e in evs if isinstance(e, Lookup)] == [("stateget", 2)]
    assert [e.code for e in evs if isinstance(e, ExecBegin)] == [b"return 6*7"]
    assert [e.status for e in evs if isinstance(e, ExecEnd)] == [0]
    assert [e.count for e in evs if isinstance(e, Put)] == [1, 0]
    assert [e.curralloc for e in evs if isinstance(e, Free)] == [0]
    assert [e.ret for e in evs if isinstance(e, Remove)] == [0]
    assert net_alloc(evs) == 0
    # the allocation events chain: each one starts where the previous ended
    allocs = [e for e in evs if isinstance(e, Alloc)]
    assert allocs[0].curralloc == 0
    assert all(b.curralloc == a.after for a, b in zip(allocs, allocs[1:]))
    # the header of every event
    assert {(e.pid, e.name) for e in evs} == {(tracer.events[0].pid, "tr_basic")}
    assert all(e.comm and e.ts for e in evs)
    assert [e.ts for e in evs] == sorted(e.ts for e in evs)
    assert tracer.findings == []
    assert tracer.drops == 0


def test_counters_in_bpf_match_the_events(states, user_program):
    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        for i in range(3):
            script(states, f"tr_count{i}")
    summary = tracer.summary()
    assert summary.drops == 0
    for i in range(3):
        name = f"tr_count{i}"
        addr = state_of(tracer.events, name)
        evs = [e for e in tracer.events if e.state == addr and e.name == name]
        (st,) = [s for s in summary.state(name) if s.state == addr]
        want = kind_counts(evs)
        assert {k: v for k, v in st.counts.items() if v} == dict(want)
        assert st.alloc_bytes == st.free_bytes      # all memory came back
        assert summary.histogram("exec_latency", name).total == 1
        assert summary.histogram("lock_wait", name).total == 1
        assert summary.histogram("lock_hold", name).total == 1
        assert summary.histogram("alloc_size", name).total == sum(
            1 for e in evs if isinstance(e, Alloc) and e.nsize)


def test_failures_are_events_too(states, user_program):
    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        states.new("tr_fail", 1 << 16)
        with pytest.raises(lunatik_bpf.StateExists):
            states.new("tr_fail", 1 << 16)
        with pytest.raises(lunatik_bpf.NoSuchState):
            states.execute("tr_nope", "return 1")
        with pytest.raises(lunatik_bpf.LuaError):
            states.execute("tr_fail", "return +")
        states.close("tr_fail")
        with pytest.raises(lunatik_bpf.NoSuchState):
            states.close("tr_fail")
    creates = [(e.name, e.error) for e in tracer.events if isinstance(e, Create)]
    assert creates == [("tr_fail", 0), ("tr_fail", -17)]           # EEXIST
    assert [(e.name, e.hit) for e in tracer.events if isinstance(e, Lookup)] == [
        ("tr_nope", False), ("tr_fail", True)]
    assert [e.status for e in tracer.events if isinstance(e, ExecEnd)] == [3]  # LUA_ERRSYNTAX
    assert [(e.name, e.ret) for e in tracer.events if isinstance(e, Remove)] == [
        ("tr_fail", 0), ("tr_fail", -2)]                             # ENOENT
    assert tracer.findings == []


def test_statelookup_is_seen(states, user_program):
    lib = states.backend.lib
    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        states.new("tr_lookup", 1 << 16)
        assert lib.lunatik_statelookup(b"tr_lookup")
        assert not lib.lunatik_statelookup(b"tr_absent")
        states.close("tr_lookup")
    looks = [(e.name, e.via, e.hit) for e in tracer.events if isinstance(e, Lookup)]
    assert looks == [("tr_lookup", "statelookup", True), ("tr_absent", "statelookup", False)]
    assert tracer.findings == []


def test_summary_mode_aggregates_without_events(states, user_summary_program):
    reports: list = []
    with Tracer(program=user_summary_program, library=states.backend.library_path,
                interval=0.05, on_summary=reports.append) as tracer:
        script(states, "tr_sum")
        live = tracer.summary()
        while not reports:      # the polling thread reads the maps every interval
            threading.Event().wait(0.05)
    assert tracer.events == []
    assert all(r.drops == 0 for r in reports)
    final = tracer.summary()
    for summary in (live, final):
        (st,) = [s for s in summary.state("tr_sum") if s.state]
        assert st.counts["create"] == 1 and st.counts["free"] == 1
        assert (st.counts["exec_begin"], st.counts["exec_end"]) == (1, 1)
        assert (st.counts["get"], st.counts["put"]) == (1, 2)
        assert st.counts["alloc"] > 0 and st.alloc_bytes == st.free_bytes
    assert final.drops == 0
    assert "exec_latency" in final.render()


def test_concurrent_executes_on_one_state(states, user_program):
    def run() -> None:
        for _ in range(20):
            states.execute("tr_conc", "local s = 0 for i = 1, 20000 do s = s + i end return s")

    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        states.new("tr_conc", 1 << 20)
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        states.close("tr_conc")
    assert tracer.drops == 0
    evs = per_state(tracer.events, "tr_conc")
    c = kind_counts(evs)
    assert c["exec_begin"] == c["exec_end"] == c["lock"] == c["unlock"] == 40
    assert c["get"] == 40 and c["put"] == 41 and c["free"] == 1
    assert len({e.tid for e in evs if isinstance(e, ExecBegin)}) == 2
    # contention: flagged in BPF (held by the other thread at lunatik_lock entry)
    # and confirmed by the timestamps (the wait overlaps the other's hold)
    flagged = [e for e in evs if isinstance(e, Lock) and e.contended]
    assert flagged
    assert set(flagged) <= set(contended(evs))
    (st,) = [s for s in tracer.summary().state("tr_conc") if s.state]
    assert st.contended == len(flagged)
    assert tracer.findings == [] and tracer.drops == 0


def test_replay_through_the_model(states, user_program):
    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        states.new("tr_rep", 1 << 20)
        states.execute("tr_rep", "x = 20")
        states.execute("tr_rep", "return x + 22, 'a' .. 'b'")
        with pytest.raises(lunatik_bpf.LuaError):
            states.execute("tr_rep", "return )")
        with pytest.raises(lunatik_bpf.StateExists):
            states.new("tr_rep", 1 << 20)
        with pytest.raises(lunatik_bpf.InvalidName):
            states.new("tr rep", 1 << 20)
        states.close("tr_rep")
        with pytest.raises(lunatik_bpf.NoSuchState):
            states.close("tr_rep")
    report = replay(tracer.events)
    assert report.divergences == []
    assert report.replayed == 8       # 3 creates, 3 executes, 2 closes
    # and it can fail: the same session with one status changed
    doctored = [dataclasses.replace(e, status=3) if isinstance(e, ExecEnd) and e.status == 0
                else e for e in tracer.events]
    bad = replay(doctored)
    assert [d.op for d in bad.divergences] == ["execute", "execute"]


def test_tiny_ring_buffer_reports_drops(states):
    prog = Program("user", "stream", 1)       # one page: a dozen records
    try:
        with Tracer(program=prog, library=states.backend.library_path) as tracer:
            states.new("tr_burst", 8 << 20)
            states.execute("tr_burst", "local t = {} for i = 1, 20000 do t[i] = {} end "
                                       "return #t")
            states.close("tr_burst")
        assert tracer.drops > 0
        assert tracer.summary().drops == tracer.drops
        assert [f.check for f in tracer.findings if f.check == "events_complete"] == [
            "events_complete"]
    finally:
        prog.close()


def test_full_summary_maps_report_drops(states):
    """More states than the summary maps hold: the counts that found no room
    are drops, reported like the ring buffer's, never silently lost."""
    prog = Program("user", "summary", 1, states_max=4)
    try:
        with Tracer(program=prog, library=states.backend.library_path) as tracer:
            for i in range(8):
                states.new(f"tr_full{i}", 1 << 16)
                states.close(f"tr_full{i}")
                with pytest.raises(lunatik_bpf.LunatikError):
                    states.close(f"tr_full{i}")     # no such state: counted by name
        summary = tracer.summary()
        # 4 states by serial, and 4 names in the counters of failed closes
        assert len([s for s in summary.states if s.state]) == 4
        assert len([s for s in summary.states if not s.state]) == 4
        assert tracer.drops > 0 and summary.drops == tracer.drops
        # the counts of 4 states and 4 names found no room: a full map, nothing else
        assert tracer.drops_by_cause["map_full"] == tracer.drops
        assert [f.check for f in tracer.findings] == ["events_complete"]
    finally:
        prog.close()


def test_sessions_reuse_one_program(states, user_program):
    for i in range(3):
        with Tracer(program=user_program, library=states.backend.library_path) as tracer:
            script(states, f"tr_reuse{i}")
        assert kinds(per_state(tracer.events, f"tr_reuse{i}")) == EXPECTED
        assert {e.name for e in tracer.events} == {f"tr_reuse{i}"}
    # detached: nothing is recorded outside a session
    script(states, "tr_after")
    assert all(e.name != "tr_after" for e in tracer.events)


def test_close_all_shows_each_state_leaving_the_table(states, user_program):
    """close_all unpublishes every state: each has its REMOVE, with its
    state, before its lua_close (the frees) and its free, so a name is seen
    free again at once and names_unique is judged online; a state created
    again under that name right after is no finding."""
    names = ["tr_all0", "tr_all1", "tr_all2"]
    with Tracer(program=user_program, library=states.backend.library_path) as tracer:
        for n in names:
            states.new(n, 1 << 16)
        assert states.close_all() == len(names)
        states.new(names[0], 1 << 16)
        states.close(names[0])
    assert [str(f) for f in tracer.findings] == []
    evs = [e for e in tracer.events if e.name in names]
    creates = [i for i, e in enumerate(evs) if isinstance(e, Create) and e.ok]
    assert [evs[i].name for i in creates] == names + names[:1]
    for c in creates:
        addr = evs[c].state
        r = next(i for i in range(c, len(evs)) if evs[i].kind == "remove"
                 and evs[i].state == addr)
        f = next(i for i in range(c, len(evs)) if evs[i].kind == "free"
                 and evs[i].state == addr)
        closing = [e for e in evs[r:f] if isinstance(e, Alloc) and e.nsize == 0]
        assert r < f and closing, [e.kind for e in evs[c:f + 1]]   # lua_close between
