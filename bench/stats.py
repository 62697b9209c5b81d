"""The statistics of make bench's protocol, in pure Python (no numpy).

Configurations are compared in alternating blocks, untraced (A) and traced
(B), in ABBA order (AB BA AB BA ...): a drift of the machine's speed that is
linear over two pairs cancels out, and a configuration never runs twice as
often at one end of the run. Each pair gives one figure, and what is
reported is the median of the pairs with a percentile-bootstrap 95%
confidence interval (a fixed seed: the same data print the same interval).

  - the ratio: log(traced / untraced) per pair, the median and its interval
    taken on the logs, reported as exp(): 0.97 [0.95, 0.99];
  - the time added per operation: 1/traced - 1/untraced per pair (us when
    the rates are ops/s * 1e-6), what a tracer costs per call; peers are
    compared by it (bench/targets.py);
  - the per-hit cost (bench/hitbench.py): (traced - untraced) / hits per pair.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

SEED = 20240613
RESAMPLES = 4000
LEVEL = 0.95


def abba(pairs: int) -> Iterator[tuple[int, bool]]:
    """The block order: (pair index, traced) for AB BA AB BA ..."""
    for i in range(pairs):
        first = i % 2 == 1          # pairs 0, 2, ...: untraced first
        yield i, first
        yield i, not first


def toggles(order: Sequence[tuple[int, bool]]) -> int:
    """How many times the traced state changes along an order (from an
    untraced start): what re-attaching a tracer per block would cost."""
    n, state = 0, False
    for _, traced in order:
        if traced != state:
            n, state = n + 1, traced
    return n


def median(xs: Sequence[float]) -> float:
    if not xs:
        raise ValueError("median of nothing")
    s = sorted(xs)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def percentile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_xs:
        raise ValueError("percentile of nothing")
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], not {q}")
    pos = q * (len(sorted_xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Interval:
    """A median and its bootstrap interval, on the scale it was computed on."""
    point: float
    lo: float
    hi: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2

    def map(self, f: Callable[[float], float]) -> Interval:
        """The same interval through a monotonic increasing f (exp)."""
        return Interval(f(self.point), f(self.lo), f(self.hi), self.n)

    def below(self, other: Interval) -> bool:
        """Entirely below other: this one's upper bound under its lower."""
        return self.hi < other.lo


def bootstrap(xs: Sequence[float], stat: Callable[[Sequence[float]], float] = median,
              resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED) -> Interval:
    """Percentile bootstrap: stat of xs and the (1-level)/2, (1+level)/2
    percentiles of stat over resamples drawn with replacement."""
    if len(xs) < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 values, not {len(xs)}")
    if resamples < 1:
        raise ValueError("resamples must be positive")
    rng = random.Random(seed)
    n = len(xs)
    data = list(xs)
    stats = sorted(stat([data[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    tail = (1 - level) / 2
    return Interval(stat(data), percentile(stats, tail), percentile(stats, 1 - tail), n)


def log_ratios(pairs: Sequence[tuple[float, float]]) -> list[float]:
    """log(traced / untraced) for each (untraced, traced) pair of rates."""
    out = []
    for a, b in pairs:
        if a <= 0 or b <= 0:
            raise ValueError(f"rates must be positive: {a}, {b}")
        out.append(math.log(b / a))
    return out


def ratio_interval(pairs: Sequence[tuple[float, float]], **kw: float) -> Interval:
    """traced/untraced: exp of the median of the log ratios, and its interval."""
    return bootstrap(log_ratios(pairs), **kw).map(math.exp)   # type: ignore[arg-type]


def added_per_op(pairs: Sequence[tuple[float, float]], scale: float = 1e6) -> list[float]:
    """1/traced - 1/untraced per pair, times scale (us per op for ops/s)."""
    return [scale / b - scale / a for a, b in pairs]


def added_interval(pairs: Sequence[tuple[float, float]], scale: float = 1e6,
                   **kw: float) -> Interval:
    return bootstrap(added_per_op(pairs, scale), **kw)     # type: ignore[arg-type]


def per_hit(pairs: Sequence[tuple[float, float]], hits: float) -> list[float]:
    """(traced - untraced) / hits per (untraced, traced) pair of loop times."""
    if hits <= 0:
        raise ValueError("hits must be positive")
    return [(b - a) / hits for a, b in pairs]


def pairs_of(blocks: Sequence[tuple[int, bool, float]]) -> list[tuple[float, float]]:
    """(untraced, traced) per pair from (pair, traced, value) blocks, in pair
    order; a pair missing either block is left out."""
    got: dict[int, dict[bool, float]] = {}
    for i, traced, v in blocks:
        got.setdefault(i, {})[traced] = v
    return [(d[False], d[True]) for i, d in sorted(got.items()) if False in d and True in d]
