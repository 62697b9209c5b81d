"""Numbers about states: the tracer's Summary rebuilt from events, per-state
statistics for the report, and a Prometheus collector over the latest Summary.

summary_from_events(events) computes, from a recorded event stream, what the
BPF maps count in the same session (tracer.Summary): the same counters and
the same log2 histograms (slot = value.bit_length(), bpf_log2l's slot), so a
recording and the live maps can be compared.

SummaryCollector is a prometheus_client Collector: update(summary) at every
interval, and each scrape reads the latest one. It is registered in a
CollectorRegistry of its own (serve() makes one), never the global registry.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .events import (KINDS, Alloc, Contention, Deny, Event, ExecEnd, Histogram, Lock,
                     Lookup, Unlock)
from .summary import StateSummary, Summary


def log2_slot(value: int) -> int:
    """bpf_log2l's slot: 0 for 0, else s with 2^(s-1) <= value < 2^s."""
    return max(int(value), 0).bit_length()


def hist_values(ev: Event) -> Iterator[tuple[str, int]]:
    """The histogram samples one event makes, as the BPF program counts them."""
    if isinstance(ev, ExecEnd):
        yield "exec_latency", ev.latency
    elif isinstance(ev, Alloc) and ev.nsize:
        yield "alloc_size", ev.nsize
    elif isinstance(ev, Lock):
        yield "lock_wait", ev.wait
    elif isinstance(ev, Unlock) and ev.hold:
        yield "lock_hold", ev.hold
    elif isinstance(ev, Contention):
        yield "contention", ev.wait


def summary_from_events(events: Iterable[Event], drops: int = 0,
                        findings: int = 0) -> Summary:
    """What the BPF maps hold after a session that produced these events."""
    counters: dict[tuple[int, str], dict[str, int]] = {}
    extra: dict[tuple[int, str], list[int]] = {}    # lookup_miss, exec_errors, alloc, free,
    #                                                 contended
    hists: dict[tuple[int, str, str], Histogram] = {}
    n = 0
    for ev in events:
        n += 1
        key = (ev.state, ev.name)
        c = counters.setdefault(key, {k: 0 for k in KINDS})
        x = extra.setdefault(key, [0, 0, 0, 0, 0])
        c[ev.kind] += 1
        if isinstance(ev, Lookup) and not ev.hit:
            x[0] += 1
        elif isinstance(ev, ExecEnd) and ev.status != 0:
            x[1] += 1
        elif isinstance(ev, Alloc):
            if ev.nsize > ev.osize:
                x[2] += ev.nsize - ev.osize
            else:
                x[3] += ev.osize - ev.nsize
        elif isinstance(ev, Lock) and ev.contended:
            x[4] += 1
        for kind, value in hist_values(ev):
            h = hists.setdefault((ev.state, ev.name, kind), Histogram(kind))
            slot = log2_slot(value)
            h.slots[slot] = h.slots.get(slot, 0) + 1
    s = Summary(drops=drops, events=n, findings=findings, histograms=hists)
    for key, c in counters.items():
        x = extra[key]
        s.states.append(StateSummary(state=key[0], name=key[1], counts=c, lookup_miss=x[0],
                                     exec_errors=x[1], alloc_bytes=x[2], free_bytes=x[3],
                                     contended=x[4]))
    return s


# ---- per-state statistics (the report) ----

@dataclass
class StateStats:
    """One state (address, name) over a session. Totals of times are exact
    when built from events; from a summary alone they are estimated from the
    log2 histograms (approx True)."""
    state: int
    name: str
    creates: int = 0
    executes: int = 0
    exec_errors: int = 0
    exec_ns: int = 0
    allocs: int = 0
    alloc_bytes: int = 0
    free_bytes: int = 0
    denials: int = 0
    lookups: int = 0
    lookup_miss: int = 0
    gets: int = 0
    puts: int = 0
    locks: int = 0
    contended: int = 0          # lock acquisitions that found the lock held
    lock_wait_ns: int = 0
    lock_hold_ns: int = 0
    maxalloc: int = 0
    peak: int = 0               # the highest curralloc seen
    freed: bool = False
    approx: bool = False
    # (ts, curralloc after) for every allocation, and the ts of each denial
    memory: list[tuple[int, int]] = field(default_factory=list)
    denied_at: list[tuple[int, int]] = field(default_factory=list)   # (ts, would_be)

    @property
    def label(self) -> str:
        return self.name if self.state else f"{self.name} (no state)"


def stats_from_events(events: Iterable[Event]) -> dict[tuple[int, str], StateStats]:
    out: dict[tuple[int, str], StateStats] = {}
    for ev in events:
        st = out.get((ev.state, ev.name))
        if st is None:
            st = out[(ev.state, ev.name)] = StateStats(ev.state, ev.name)
        kind = ev.kind
        if kind == "create":
            st.creates += 1
            st.maxalloc = st.maxalloc or getattr(ev, "maxalloc", 0)
        elif isinstance(ev, ExecEnd):
            st.executes += 1
            st.exec_ns += ev.latency
            st.exec_errors += ev.status != 0
        elif isinstance(ev, Alloc):
            st.allocs += 1
            if ev.nsize > ev.osize:
                st.alloc_bytes += ev.nsize - ev.osize
            else:
                st.free_bytes += ev.osize - ev.nsize
            st.maxalloc = ev.maxalloc or st.maxalloc
            st.peak = max(st.peak, ev.after)
            st.memory.append((ev.ts, ev.after))
        elif isinstance(ev, Deny):
            st.denials += 1
            st.maxalloc = ev.maxalloc or st.maxalloc
            st.denied_at.append((ev.ts, ev.would_be))
        elif isinstance(ev, Lookup):
            st.lookups += 1
            st.lookup_miss += not ev.hit
        elif kind == "get":
            st.gets += 1
        elif kind == "put":
            st.puts += 1
        elif isinstance(ev, Lock):
            st.locks += 1
            st.contended += ev.contended
            st.lock_wait_ns += ev.wait
        elif isinstance(ev, Unlock):
            st.lock_hold_ns += ev.hold
        elif kind == "free":
            st.freed = True
            st.maxalloc = st.maxalloc or getattr(ev, "maxalloc", 0)
    return out


def _hist_estimate(h: Histogram | None) -> int:
    """A total of the values counted in h: each slot at its middle."""
    if h is None:
        return 0
    return sum(((lo + hi) // 2) * n for s, n in h.slots.items()
               for lo, hi in [Histogram.bounds(s)])


def stats_from_summary(s: Summary) -> dict[tuple[int, str], StateStats]:
    out: dict[tuple[int, str], StateStats] = {}
    for ss in s.states:
        c = ss.counts
        out[(ss.state, ss.name)] = StateStats(
            ss.state, ss.name, creates=c.get("create", 0), executes=c.get("exec_end", 0),
            exec_errors=ss.exec_errors, allocs=c.get("alloc", 0), alloc_bytes=ss.alloc_bytes,
            free_bytes=ss.free_bytes, denials=c.get("deny", 0), lookups=c.get("lookup", 0),
            lookup_miss=ss.lookup_miss, gets=c.get("get", 0), puts=c.get("put", 0),
            locks=c.get("lock", 0), contended=ss.contended, freed=bool(c.get("free", 0)),
            approx=True)
    for (state, name, kind), h in s.histograms.items():
        st = out.setdefault((state, name), StateStats(state, name, approx=True))
        if kind == "exec_latency":
            st.exec_ns += _hist_estimate(h)
        elif kind == "lock_wait":
            st.lock_wait_ns += _hist_estimate(h)
        elif kind == "lock_hold":
            st.lock_hold_ns += _hist_estimate(h)
    return out


# ---- Prometheus ----

# metric (without the _total suffix) -> (help, how to read it off a StateSummary)
COUNTERS: dict[str, tuple[str, Any]] = {
    "lunatik_creates": ("States created (lunatik_create returns)", lambda s: s.counts.get("create", 0)),
    "lunatik_removes": ("Removes by name", lambda s: s.counts.get("remove", 0)),
    "lunatik_executes": ("Executes that returned", lambda s: s.counts.get("exec_end", 0)),
    "lunatik_exec_errors": ("Executes that returned an error status", lambda s: s.exec_errors),
    "lunatik_allocations": ("Allocator calls charged to the state", lambda s: s.counts.get("alloc", 0)),
    "lunatik_denials": ("Allocations denied by maxalloc", lambda s: s.counts.get("deny", 0)),
    "lunatik_allocated_bytes": ("Bytes of growing allocations (nsize - osize)", lambda s: s.alloc_bytes),
    "lunatik_freed_bytes": ("Bytes of shrinking allocations and frees (osize - nsize)", lambda s: s.free_bytes),
    "lunatik_gets": ("References taken (getstate)", lambda s: s.counts.get("get", 0)),
    "lunatik_puts": ("References put (putstate)", lambda s: s.counts.get("put", 0)),
    "lunatik_frees": ("States freed", lambda s: s.counts.get("free", 0)),
    "lunatik_locks": ("State lock acquisitions", lambda s: s.counts.get("lock", 0)),
    "lunatik_contended_locks": ("Lock acquisitions that found the lock held by another thread",
                                lambda s: s.contended),
}
# histogram kind -> (metric, help, divisor to the metric's unit, first and last
# log2 slot given a bucket of its own). The buckets are the same for every
# state and every scrape, so series aggregate (sum by (le)).
HISTOGRAMS: dict[str, tuple[str, str, int, int, int]] = {
    "exec_latency": ("lunatik_execute_latency_seconds", "Execute latency", 10**9, 10, 36),
    "alloc_size": ("lunatik_allocation_size_bytes", "Allocation sizes (nsize > 0)", 1, 3, 28),
    "lock_wait": ("lunatik_lock_wait_seconds", "Time waiting for the state lock", 10**9, 8, 36),
    "lock_hold": ("lunatik_lock_hold_seconds", "Time holding the state lock", 10**9, 8, 36),
    "contention": ("lunatik_lock_contention_seconds", "Lock contention (kernel)", 10**9, 8, 36),
}
LABELS = ("name", "state")


def _labels(state: int, name: str) -> list[str]:
    return [name, f"{state:#x}"]


def histogram_buckets(h: Histogram, divisor: int = 1, first: int = 0,
                      last: int = 64) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets of a log2 histogram: slot s holds integer
    values up to 2^s - 1, so its bucket is le = (2^s - 1) / divisor, for the
    slots first..last (the first bucket also counts the slots below it); then
    +Inf counts everything."""
    buckets: list[tuple[str, float]] = []
    below = sum(n for s, n in h.slots.items() if s < first)
    total = below
    for slot in range(first, last + 1):
        total += h.slots.get(slot, 0)
        buckets.append((repr(Histogram.bounds(slot)[1] / divisor), float(total)))
    buckets.append(("+Inf", float(h.total)))
    return buckets


class SummaryCollector:
    """A prometheus_client collector over the latest tracer Summary."""

    def __init__(self, summary: Summary | None = None) -> None:
        self._lock = threading.Lock()
        self._summary = summary
        self.updates = 0

    def update(self, summary: Summary) -> None:
        with self._lock:
            self._summary = summary
            self.updates += 1

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                            HistogramMetricFamily)
        with self._lock:
            s = self._summary
        up = GaugeMetricFamily("lunatik_tracer_up", "1 once the tracer has produced a summary")
        up.add_metric([], 1.0 if s is not None else 0.0)
        yield up
        if s is None:
            return
        drops = CounterMetricFamily("lunatik_tracer_drops",
                                    "Events and counts lost by the tracer, every cause")
        drops.add_metric([], float(s.drops))
        yield drops
        if s.drops_by_cause:
            by_cause = CounterMetricFamily("lunatik_tracer_drops_by_cause",
                                           "Losses by cause (ringbuf, map_full, stash)",
                                           labels=("cause",))
            for cause, n in s.drops_by_cause.items():
                by_cause.add_metric([cause], float(n))
            yield by_cause
        states = [st for st in s.states if st.state]
        for metric, (doc, get) in COUNTERS.items():
            fam = CounterMetricFamily(metric, doc, labels=LABELS)
            for st in states:
                fam.add_metric(_labels(st.state, st.name), float(get(st)))
            yield fam
        lookups = CounterMetricFamily("lunatik_lookups", "Lookups by name (hit: a state found)",
                                      labels=(*LABELS, "result"))
        for st in s.states:
            miss = st.lookup_miss
            hit = st.counts.get("lookup", 0) - miss
            if hit:
                lookups.add_metric([*_labels(st.state, st.name), "hit"], float(hit))
            if miss:
                lookups.add_metric([*_labels(st.state, st.name), "miss"], float(miss))
        yield lookups
        for kind, (metric, doc, divisor, first, last) in HISTOGRAMS.items():
            fam = HistogramMetricFamily(metric, doc, labels=LABELS)
            for (state, name, k), h in sorted(s.histograms.items()):
                if k == kind and h.slots:
                    fam.add_metric(_labels(state, name),
                                   histogram_buckets(h, divisor, first, last), None)
            yield fam


def serve(collector: SummaryCollector, addr: str, port: int) -> tuple[Any, Any]:
    """Serves collector on http://addr:port/metrics from a registry of its own;
    returns (server, thread): server.shutdown() stops it."""
    from prometheus_client import CollectorRegistry, start_http_server
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    return start_http_server(port, addr=addr, registry=registry)


def parse_addr(text: str) -> tuple[str, int]:
    """ADDR:PORT (or :PORT, or [v6]:PORT) -> (addr, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected ADDR:PORT, not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


__all__ = ["summary_from_events", "stats_from_events", "stats_from_summary", "StateStats",
           "SummaryCollector", "serve", "parse_addr", "histogram_buckets", "log2_slot"]
