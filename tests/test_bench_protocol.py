"""make bench's protocol (bench/protocol.py) without a tracer: the round
by round interleaving of a group, the ABBA order each configuration keeps
in it, parking between configurations, and the untraced tracepoints/none
rule (bench/targets.py)."""
from __future__ import annotations

from typing import Any

import pytest

from bench import protocol, stats, throughput
from bench.figures import Figure, Table
from bench.targets import judge, notrace_rule


class Recorder(protocol.Nothing):
    def __init__(self) -> None:
        self.startup: list[tuple[str, float, str]] = []


def fake(monkeypatch: pytest.MonkeyPatch, log: list[tuple[str, ...]]) -> dict[str, bool]:
    """drive() and the switches recorded; returns the machine's state."""
    state = {"armed": True, "module_tp": True}

    def drive(backend: str, w: str, seconds: float, library: Any = None) -> dict[str, Any]:
        log.append(("drive", w, str(state["armed"]), str(state["module_tp"])))
        return {"ops_per_s": 1000.0, "errors": 0}

    def armed(on: bool) -> None:
        state["armed"] = on
        log.append(("armed", str(on)))

    def swap(ko: Any) -> None:
        state["module_tp"] = ko == protocol.WITH_TRACEPOINTS
        log.append(("swap", str(state["module_tp"])))

    monkeypatch.setattr(throughput, "drive", drive)
    monkeypatch.setattr(protocol, "kprobes_armed", armed)
    monkeypatch.setattr(protocol, "swap_module", swap)
    return state


def test_a_group_runs_round_by_round_each_in_abba_order(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, ...]] = []
    state = fake(monkeypatch, log)
    a = protocol.Config("A/A", "", "kprobes", Recorder(), group="g")
    m = protocol.Config("untraced: tracepoints / none", "", "module", Recorder(), group="g")
    for c in (a, m):
        c.pairs, c.seconds = 4, 0.1
    a.setup()
    m.traced = True
    got = protocol.run_group([a, m], "kernel", ("w",), deadline=float("inf"))
    for c in (a, m):
        blocks = got[c.name].values["w"]
        assert [(i, t) for i, t, _ in blocks] == list(stats.abba(4))
    # per round: A/A's pair, then the module's: rounds interleave
    drives = [d for d in log if d[0] == "drive"]
    assert len(drives) == 16
    # the module A/B: untraced blocks ran on the module without tracepoints
    # and the A/A always with the tracepoints module, kprobes parked disarmed
    # before the module's blocks
    for i, d in enumerate(drives):
        rnd, k = divmod(i, 4)
        if k >= 2:                      # the module's two blocks of this round
            first_untraced = rnd % 2 == 0
            traced = (k == 3) if first_untraced else (k == 2)
            assert d[3] == str(traced), (i, d)
        else:
            assert d[3] == "True", (i, d)
    assert state["module_tp"] and not state["armed"]


def test_a_failing_configuration_leaves_the_others_running(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, ...]] = []
    fake(monkeypatch, log)

    class Breaks(Recorder):
        n = 0

        def start(self) -> None:
            Breaks.n += 1
            if Breaks.n == 2:
                raise RuntimeError("attach failed")

    ok = protocol.Config("A/A", "", "kprobes", Recorder(), group="g")
    bad = protocol.Config("summary (tracepoint)", "summary", "reattach", Breaks(), group="g")
    for c in (ok, bad):
        c.pairs, c.seconds = 4, 0.1
    got = protocol.run_group([ok, bad], "kernel", ("w",), deadline=float("inf"))
    assert len(got["A/A"].values["w"]) == 8
    assert "attach failed" in bad.failure
    assert 2 <= len(got[bad.name].values["w"]) < 8


def test_the_budget_stops_a_group_at_a_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, ...]] = []
    fake(monkeypatch, log)
    c = protocol.Config("A/A", "", "kprobes", Recorder())
    c.pairs, c.seconds = 5, 0.1
    got = protocol.run_group([c], "kernel", ("w",), deadline=0.0)
    assert got["A/A"].values["w"] == []
    assert "time budget" in got["A/A"].failures["w"]


def test_plans_fit_their_budgets() -> None:
    """Blocks alone (no attach, compile or driver start) within the VM
    half's budget: full 19 min, quick 7 (protocol.estimate)."""
    full = protocol.estimate("kernel", quick=False)
    quick = protocol.estimate("kernel", quick=True)
    assert full < 19 * 60 * 0.6, full
    assert quick < 7 * 60 * 0.6, quick


@pytest.mark.parametrize("lo,hi,why", [(0.98, 1.01, "interval contains 1"),
                                       (0.991, 0.998, "lower bound >= 0.99"),
                                       (1.001, 1.02, "lower bound >= 0.99"), (0.97, 0.989, ""),
                                       (0.95, 0.985, "")])
def test_notrace_rule(lo: float, hi: float, why: str) -> None:
    assert notrace_rule(lo, hi) == why


def test_a_cost_above_one_percent_is_not_met() -> None:
    f = Figure("VM (module, kprobes/tracepoints)", "throughput",
               "exec_small / untraced: tracepoints / none", 3900, "ops/s", 0.975,
               "24 ABBA pairs x 0.5 s, without tracepoints 4,000 ops/s", 6.4, pairs=24,
               ratio_lo=0.96, ratio_hi=0.985, added_lo=3.0, added_hi=9.0)
    got = [ln for ln in judge(Table([f])) if "tracepoints / without" in ln and "exec_small" in ln]
    assert len(got) == 1 and ": NOT met (" in got[0], got


@pytest.mark.parametrize("pairs", [1, 2, 3, 10])
def test_the_hit_bench_detaches_each_attach_once(pairs: int) -> None:
    from bench import hitbench
    attached = {"n": 0}

    def on() -> None:
        assert attached["n"] == 0, "attached twice"
        attached["n"] = 1

    def off() -> None:
        assert attached["n"] == 1, "detached while not attached"
        attached["n"] = 0

    arm = hitbench.Arm("raw tracepoint / empty program", "raw tracepoint", on, off,
                       lambda: 2, "x")
    blocks = hitbench.measure(arm, lambda traced: 100.0 + traced, 10, pairs)
    assert attached["n"] == 0
    assert [(i, t) for i, t, _ in blocks] == list(stats.abba(pairs))


def test_the_host_aa_never_loads_the_probed_library() -> None:
    aa = protocol.Config("A/A", "", "library", Recorder(), group="precise")
    ours = protocol.Config("summary", "summary", "library", Recorder(), group="precise")
    assert {aa.library(False), aa.library(True)} == {protocol.PLAIN_LIBRARY,
                                                     protocol.PLAIN_LIBRARY_B}
    assert ours.library(True) == throughput.LIBRARY
    assert ours.library(False) == protocol.PLAIN_LIBRARY
