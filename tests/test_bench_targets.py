"""make bench's verdicts (bench/targets.py) on hand-made tables: which
figures a target is judged by, and that nothing is rounded in our favour."""
from __future__ import annotations

from bench.figures import Figure, Table
from bench.targets import judge

HOST = "host (library, uprobes)"
VM = "VM (module, kprobes)"


def tp(where: str, what: str, value: float, base: float) -> Figure:
    ratio = value / base
    return Figure(where, "throughput", what, value, "ops/s", ratio, "",
                  None if ratio == 1 else 1e6 / value - 1e6 / base)


def lines(*figures: Figure, about: str) -> list[str]:
    return [ln for ln in judge(Table(list(figures))) if about in ln]


def test_peers_are_compared_by_time_added_not_by_ratio() -> None:
    # ours: 1/27k - 1/665k = 35.5 us added; the peer's session had a slower
    # baseline, so its ratio is higher (0.050 > 0.041) while it adds more
    # time per call (36.6 us): the lower overhead is ours
    got = lines(tp(HOST, "exec_small / summary", 27_286, 665_000),
                tp(HOST, "exec_small / bpftrace", 25_952, 519_000),
                tp(HOST, "exec_small / funclatency", 3_044, 600_000),
                about="summary beats bpftrace and funclatency, user exec_small")
    assert len(got) == 1 and ": met (" in got[0], got


def test_a_peer_adding_less_time_wins() -> None:
    got = lines(tp(HOST, "newclose / summary", 31_864, 52_000),
                tp(HOST, "newclose / bpftrace", 33_140, 45_000),
                tp(HOST, "newclose / funclatency", 201, 50_000),
                about="user newclose")
    assert len(got) == 2
    assert ": NOT met (" in next(ln for ln in got if "summary" in ln)


def test_summary_target_is_the_ratio_and_a_near_miss_fails() -> None:
    got = lines(tp(VM, "lookup_mt / untraced", 40_000, 40_000),
                tp(VM, "lookup_mt / summary", 37_996, 40_000),   # 0.9499
                about="kernel summary >= 95% of untraced, lookup_mt")
    assert len(got) == 1 and ": NOT met (" in got[0], got
    got = lines(tp(VM, "lookup_mt / untraced", 40_000, 40_000),
                tp(VM, "lookup_mt / summary", 38_000, 40_000),
                about="kernel summary >= 95% of untraced, lookup_mt")
    assert ": met (" in got[0], got


def test_a_tie_does_not_beat_a_peer() -> None:
    got = lines(tp(VM, "exec_small / stream", 3_000, 3_700),
                tp(VM, "exec_small / trace", 3_000, 3_700),
                about="stream beats trace, kernel exec_small")
    assert ": NOT met (" in got[0], got


def test_the_observer_is_judged_by_its_best_live_figure_without_drops() -> None:
    def obs(where: str, what: str, value: float, note: str = "") -> Figure:
        return Figure(where, "observer", what, value, "events/s", None, note)
    slow = [obs(HOST, "max events/s without drops (live)", 57_909, "the producer saturated"),
            obs(VM, "max events/s without drops (live, native)", 196_021, "the producer saturated"),
            obs(HOST, "decode events/s (offline, native)", 28e6)]
    got = lines(*slow, about="target: observer")
    assert len(got) == 1 and ": NOT met (" in got[0], got
    got = lines(*slow, obs(HOST, "max events/s without drops (live, native, bench producer)",
                           1_000_000), about="target: observer")
    assert ": met (" in got[0] and "bench producer" in got[0], got
