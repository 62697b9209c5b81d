"""make bench's verdicts (bench/targets.py) on hand-made tables: which
figures a target is judged by, with their intervals, and that nothing is
rounded in our favour."""
from __future__ import annotations

from bench.figures import Figure, Table
from bench.targets import judge

HOST = "host (library, uprobes)"
VM = "VM (module, kprobes/tracepoints)"


def tp(where: str, what: str, value: float, base: float, ratio_ci: tuple[float, float] | None = None,
       added_ci: tuple[float, float] | None = None, pairs: int = 15) -> Figure:
    ratio = value / base
    added = 1e6 / value - 1e6 / base
    rlo, rhi = ratio_ci or (ratio, ratio)
    alo, ahi = added_ci or (added, added)
    return Figure(where, "throughput", what, value, "ops/s", ratio, "", added,
                  pairs=pairs, ratio_lo=rlo, ratio_hi=rhi, added_lo=alo, added_hi=ahi)


def lines(*figures: Figure, about: str) -> list[str]:
    return [ln for ln in judge(Table(list(figures))) if about in ln]


def test_peers_are_compared_by_time_added_not_by_ratio() -> None:
    # ours: 1/27k - 1/665k = 35.5 us added; the peer's blocks had a slower
    # baseline, so its ratio is higher (0.050 > 0.041) while it adds more
    # time per call (36.6 us): the lower overhead is ours
    got = lines(tp(HOST, "exec_small / summary", 27_286, 665_000),
                tp(HOST, "exec_small / bpftrace", 25_952, 519_000),
                tp(HOST, "exec_small / funclatency", 3_044, 600_000),
                about="our summary adds less time/op than bpftrace, funclatency, user exec_small")
    assert len(got) == 1 and ": met (" in got[0], got


def test_overlapping_intervals_are_unresolved_not_met() -> None:
    got = lines(tp(HOST, "newclose / summary", 30_000, 50_000, added_ci=(10.0, 16.0)),
                tp(HOST, "newclose / bpftrace", 29_000, 50_000, added_ci=(12.0, 20.0)),
                tp(HOST, "newclose / funclatency", 201, 50_000),
                about="our summary adds less time/op than bpftrace, funclatency, user newclose")
    assert len(got) == 1 and ": unresolved (" in got[0], got


def test_a_peer_adding_less_time_wins() -> None:
    got = lines(tp(HOST, "newclose / summary", 31_864, 52_000),
                tp(HOST, "newclose / bpftrace", 33_140, 45_000),
                tp(HOST, "newclose / funclatency", 201, 50_000),
                about="our summary adds less time/op than bpftrace, funclatency, user newclose")
    assert ": NOT met (" in got[0], got


def test_summary_target_is_the_interval_lower_bound() -> None:
    about = "kernel summary (tracepoint) >= 95% of untraced (95% CI lower bound), exec_small"
    got = lines(tp(VM, "exec_small / summary (tracepoint)", 39_000, 40_000, ratio_ci=(0.9499, 0.99)),
                about=about)
    assert len(got) == 1 and ": NOT met (" in got[0], got
    got = lines(tp(VM, "exec_small / summary (tracepoint)", 39_000, 40_000, ratio_ci=(0.95, 0.99)),
                about=about)
    assert ": met (" in got[0], got


def test_a_missing_configuration_says_why() -> None:
    missing = Figure(VM, "throughput", "newclose / summary (tracepoint)", 0.0, "ops/s", None,
                     "not measured: the module has no tracepoints (/sys/kernel/tracing/events/lunatik missing)")
    got = lines(missing, tp(VM, "newclose / A/A", 40_000, 40_000),
                about="kernel summary (tracepoint) >= 95% of untraced (95% CI lower bound), newclose")
    assert ": not measured (the module has no tracepoints" in got[0], got


def test_aa_half_width() -> None:
    got = lines(tp(VM, "lookup_mt / A/A", 40_000, 40_000, ratio_ci=(0.985, 1.015)),
                tp(VM, "exec_small / A/A", 40_000, 40_000, ratio_ci=(0.95, 1.03)),
                about="A/A noise floor, kernel")
    assert ": met (half-width 1.5%" in next(ln for ln in got if "lookup_mt" in ln)
    bad = next(ln for ln in got if "exec_small" in ln)
    assert ": NOT met (half-width 4.0%" in bad and "only resolve larger effects" in bad


def test_a_tie_does_not_beat_a_peer() -> None:
    got = lines(tp(VM, "exec_small / stream (tracepoint)", 3_000, 3_700),
                tp(VM, "exec_small / trace", 3_000, 3_700),
                about="our stream (tracepoint) adds less time/op than trace, kernel exec_small")
    assert ": NOT met (" in got[0], got


def test_lookup_mt_against_every_peer_and_per_hit_floor() -> None:
    figs = [tp(VM, "lookup_mt / summary (tracepoint)", 9_000, 10_000, added_ci=(9.0, 12.0)),
            tp(VM, "lookup_mt / bpftrace (kprobe)", 7_000, 10_000, added_ci=(35.0, 50.0)),
            tp(VM, "lookup_mt / funclatency", 6_000, 10_000, added_ci=(60.0, 70.0)),
            tp(VM, "lookup_mt / trace", 1_000, 10_000, added_ci=(800.0, 950.0))]
    got = lines(*figs, about="kernel lookup_mt, our summary (tracepoint) adds less")
    assert ": met for the peers measured (" in got[0] and "bpftrace (tracepoint)" in got[0], got

    def hit(what: str, ns: float) -> Figure:
        return Figure(VM, "per-hit", what, ns, "ns/hit", None, "", ns / 1e3, pairs=15,
                      added_lo=ns / 1e3 * 0.9, added_hi=ns / 1e3 * 1.1)
    got = lines(hit("raw tracepoint / empty program", 300), hit("raw tracepoint / our summary (tracepoint)", 650),
                hit("kprobe (entry) / empty program", 900), hit("kprobe (entry) / our summary (kprobe)", 1500),
                about="target: per hit")
    assert len(got) == 2
    assert ": NOT met (ours 650 ns/hit" in next(ln for ln in got if "raw tracepoint" in ln)
    assert ": met (ours 1,500 ns/hit" in next(ln for ln in got if "kprobe (entry)" in ln)


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
