"""make bench's statistics (bench/stats.py) and verdict rules
(bench/targets.py) on constructed data: real computations, no timing."""
from __future__ import annotations

import math
import random

import pytest

from bench import stats
from bench.targets import aa_rule, beats, combine, per_hit_rule, ratio_rule


def test_abba_alternates_pairs_and_starts_untraced() -> None:
    order = list(stats.abba(4))
    assert order == [(0, False), (0, True), (1, True), (1, False),
                     (2, False), (2, True), (3, True), (3, False)]
    # every pair has one block of each kind
    for i in range(4):
        assert sorted(t for j, t in order if j == i) == [False, True]
    # traced blocks come two by two: a tracer re-attached per run of traced
    # blocks starts ceil(pairs/2) times, not once per pair
    for n in (4, 15):
        o = list(stats.abba(n))
        starts = sum(1 for k, (_, t) in enumerate(o) if t and (k == 0 or not o[k - 1][1]))
        assert starts == (n + 1) // 2
    assert stats.toggles(order) == 4


def test_abba_cancels_a_linear_drift_that_ab_order_does_not() -> None:
    true_ratio = 0.97
    def rate(t: int, traced: bool) -> float:    # the machine speeds up by 1% per block
        return 1000.0 * (1 + 0.01 * t) * (true_ratio if traced else 1.0)
    abba = [(i, tr, rate(t, tr)) for t, (i, tr) in enumerate(stats.abba(16))]
    ab = [(i, tr, rate(2 * i + tr, tr)) for i in range(16) for tr in (False, True)]
    got = math.exp(stats.median(stats.log_ratios(stats.pairs_of(abba))))
    biased = math.exp(stats.median(stats.log_ratios(stats.pairs_of(ab))))
    assert got == pytest.approx(true_ratio, abs=1e-4)
    assert biased > true_ratio + 0.005        # AB order reads the drift as a lower cost


def test_median_and_percentile() -> None:
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5
    s = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert stats.percentile(s, 0) == 1 and stats.percentile(s, 1) == 5
    assert stats.percentile(s, 0.5) == 3
    assert stats.percentile(s, 0.125) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        stats.median([])
    with pytest.raises(ValueError):
        stats.percentile(s, 1.5)


def test_bootstrap_is_deterministic_and_brackets_the_median() -> None:
    rng = random.Random(1)
    xs = [rng.gauss(0.0, 1.0) for _ in range(15)]
    a = stats.bootstrap(xs)
    assert a == stats.bootstrap(xs)                 # fixed seed
    assert a.n == 15 and a.lo <= a.point <= a.hi
    assert a.point == stats.median(xs)
    wide = stats.bootstrap(xs, level=0.99)
    assert wide.lo <= a.lo and wide.hi >= a.hi
    # constant data: no spread, the interval is the point
    c = stats.bootstrap([0.5] * 15)
    assert (c.lo, c.point, c.hi) == (0.5, 0.5, 0.5) and c.half_width == 0
    with pytest.raises(ValueError):
        stats.bootstrap([1.0])


def test_bootstrap_interval_covers_the_true_median_about_95_percent() -> None:
    rng = random.Random(7)
    covered = 0
    trials = 200
    for k in range(trials):
        xs = [rng.gauss(0.0, 1.0) for _ in range(15)]
        ci = stats.bootstrap(xs, resamples=2000, seed=k)
        covered += ci.lo <= 0.0 <= ci.hi
    # the percentile bootstrap of a median of 15 is roughly nominal
    assert 0.88 * trials <= covered <= trials


def test_bootstrap_interval_narrows_with_more_pairs() -> None:
    rng = random.Random(3)
    small = stats.bootstrap([rng.gauss(0, 1) for _ in range(15)])
    large = stats.bootstrap([rng.gauss(0, 1) for _ in range(240)])
    assert large.half_width < small.half_width / 2


def test_ratio_and_added_time_of_pairs() -> None:
    pairs = [(1000.0, 900.0)] * 15
    r = stats.ratio_interval(pairs)
    assert r.point == pytest.approx(0.9) and r.lo == pytest.approx(0.9) and r.hi == pytest.approx(0.9)
    a = stats.added_interval([(1e6, 5e5)] * 15)       # 1 us -> 2 us per op
    assert a.point == pytest.approx(1.0)
    assert stats.added_per_op([(2.0, 1.0)], scale=1.0) == [0.5]
    with pytest.raises(ValueError):
        stats.log_ratios([(0.0, 1.0)])


def test_ratio_interval_maps_through_exp() -> None:
    pairs = [(1000.0, 1000.0 * f) for f in (0.90, 0.92, 0.95, 0.97, 0.99, 1.0, 1.01)]
    r = stats.ratio_interval(pairs)
    logs = stats.bootstrap(stats.log_ratios(pairs))
    assert r.point == pytest.approx(math.exp(logs.point))
    assert (r.lo, r.hi) == (pytest.approx(math.exp(logs.lo)), pytest.approx(math.exp(logs.hi)))
    assert r.point == pytest.approx(0.97)


def test_per_hit_and_pairs_of() -> None:
    blocks = [(0, False, 1000.0), (0, True, 3000.0), (1, True, 3100.0), (1, False, 1100.0),
              (2, False, 1000.0)]                       # pair 2 has no traced block
    pairs = stats.pairs_of(blocks)
    assert pairs == [(1000.0, 3000.0), (1100.0, 3100.0)]
    assert stats.per_hit(pairs, hits=2) == [1000.0, 1000.0]
    with pytest.raises(ValueError):
        stats.per_hit(pairs, hits=0)


def test_verdict_rules() -> None:
    # the 5% target: the lower bound, nothing rounded up
    assert ratio_rule(0.95) and not ratio_rule(0.9499)
    # the A/A half-width
    assert aa_rule(0.981, 1.019) and not aa_rule(0.97, 1.0101)
    # ours against a peer: time added per op, (median, lo, hi)
    assert beats((1.0, 0.8, 1.2), (2.0, 1.5, 2.5)) == "met"
    assert beats((1.0, 0.8, 1.6), (2.0, 1.5, 2.5)) == "unresolved"
    assert beats((2.0, 1.9, 2.1), (2.0, 1.9, 2.1)) == "NOT met"     # a tie
    assert beats((3.0, 2.0, 4.0), (2.0, 1.0, 3.0)) == "NOT met"
    assert per_hit_rule(200.0, 100.0) and not per_hit_rule(200.1, 100.0)
    assert combine(["met", "met"]) == "met"
    assert combine(["met", "unresolved"]) == "unresolved"
    assert combine(["unresolved", "NOT met"]) == "NOT met"
