"""The summary of a session: per-state counters and log2 histograms, as the
BPF maps hold them (Tracer.summary()), as a recording keeps them, or as
folded from a stream of events (metrics.summary_from_events).

This module is plain data: no BCC, no tracer. summary_from_rows builds a
Summary from the rows of the maps (the tracer's Program reads them), and
the drop wording (one phrase per cause of bpf/events.h) is here, for every
place that reports losses.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .events import DROP_CAUSES, HIST_NAMES, HIST_UNITS, KIND_NAMES, Histogram, c_text

# ---- drops, by cause ----

# what each cause of enum lunatik_drop_cause lost, said after a count
DROP_TEXT: dict[str, str] = {
    "ringbuf": "events dropped by a full ring buffer",
    "map_full": "state counts not kept by a full summary map",
    "stash": "entry probes whose stash was lost before their return",
}
assert set(DROP_TEXT) == set(DROP_CAUSES), "a cause of events.h without its wording"
DROP_CAUSE_NAMES: dict[int, str] = {v: k for k, v in DROP_CAUSES.items()}


def drop_cause_name(index: int) -> str:
    """The name of one index of the drops array (a cause events.h does not
    name yet reads as cause<N>)."""
    return DROP_CAUSE_NAMES.get(index, f"cause{index}")


def drop_text(cause: str) -> str:
    return DROP_TEXT.get(cause, f"losses of {cause}")


def drop_parts(by_cause: Mapping[str, int], total: int = 0) -> list[tuple[str, int]]:
    """(cause, count) of the causes that lost anything, in the order of
    events.h. Without per-cause figures (an empty mapping), a total > 0 is
    the ring buffer's, as the drops array's only entry used to count."""
    parts = [(c, int(n)) for c, n in by_cause.items() if n]
    if not parts and total > 0:
        parts = [("ringbuf", total)]
    order = {c: i for i, c in enumerate(DROP_CAUSES)}
    return sorted(parts, key=lambda p: (order.get(p[0], len(order)), p[0]))


def drops_text(by_cause: Mapping[str, int], total: int = 0) -> str:
    """One line of the losses, cause by cause: "3 events dropped by a full
    ring buffer; 2 state counts not kept by a full summary map"; "" when
    nothing was lost."""
    return "; ".join(f"{n} {drop_text(c)}" for c, n in drop_parts(by_cause, total))


# ---- the summary ----

@dataclass(frozen=True)
class StateSummary:
    state: int
    name: str
    counts: dict[str, int]          # event kind -> how many
    lookup_miss: int = 0
    exec_errors: int = 0
    alloc_bytes: int = 0
    free_bytes: int = 0
    contended: int = 0              # lock acquisitions that had to wait for another thread


@dataclass
class Summary:
    drops: int
    events: int
    findings: int
    states: list[StateSummary] = field(default_factory=list)
    # (state, name, histogram kind) -> Histogram
    histograms: dict[tuple[int, str, str], Histogram] = field(default_factory=dict)
    # drop cause (events.DROP_CAUSES) -> how many; empty: not known by cause
    drops_by_cause: dict[str, int] = field(default_factory=dict)

    def state(self, name: str) -> list[StateSummary]:
        return [s for s in self.states if s.name == name]

    def slot(self, state: int, name: str, kind: str, slot: int, n: int) -> None:
        """Adds n to one log2 slot of a state's histogram (while reading the maps)."""
        h = self.histograms.setdefault((state, name, kind), Histogram(kind))
        h.slots[slot] = h.slots.get(slot, 0) + n

    def histogram(self, kind: str, name: str | None = None) -> Histogram:
        """One histogram of that kind, summed over states (or that name's)."""
        total = Histogram(kind)
        for (_, n, k), h in self.histograms.items():
            if k == kind and (name is None or n == name):
                for slot, c in h.slots.items():
                    total.slots[slot] = total.slots.get(slot, 0) + c
        return total

    def render(self) -> str:
        lines = [f"drops: {self.drops}  events: {self.events}  findings: {self.findings}"]
        if self.drops:
            lines.append(f"  lost: {drops_text(self.drops_by_cause, self.drops)}")
        for s in sorted(self.states, key=lambda s: (s.name, s.state)):
            counts = " ".join(f"{k}={v}" for k, v in s.counts.items() if v)
            if s.contended:
                counts += f" contended_locks={s.contended}"
            lines.append(f"  {s.name!r}@{s.state:#x}: {counts}")
        for kind, unit in HIST_UNITS.items():
            h = self.histogram(kind)
            if h.total:
                lines.append(h.render(unit).rstrip())
        return "\n".join(lines) + "\n"


# ---- from the maps ----

Row = tuple[Any, Any]     # (key, value) of a BCC table, as items() gives them


def summary_from_rows(*, counters: Iterable[Row], counts: Iterable[Row],
                      named: Iterable[Any], hists: Iterable[Row], allocs: Iterable[Row],
                      drops: int, drops_by_cause: Mapping[str, int] | None = None,
                      events: int = 0, findings: int = 0) -> Summary:
    """A Summary from the rows of the BPF maps (bpf/lunatik.bpf.c): counters
    (serial -> struct lunatik_counters), counts (serial -> struct
    lunatik_counts per CPU), named (the values of the named map, struct
    lunatik_counters), hists (struct hist_key -> count) and, in summary
    mode, allocs (serial -> struct lunatik_stats; empty otherwise)."""
    summary = Summary(drops=drops, events=events, findings=findings,
                      drops_by_cause=dict(drops_by_cause or {}))
    # summary mode: the allocation figures are the module's own, as
    # copied at the state's last create, unlock or free
    by_serial = {int(k.value): v for k, v in allocs}
    identity: dict[int, tuple[int, str]] = {}
    per_state = {int(k.value): [sum(int(cpu.n[i]) for cpu in per_cpu)
                                for i in range(len(per_cpu[0].n))]
                 for k, per_cpu in counts}
    for k, v in counters:
        serial = int(k.value)
        identity[serial] = (int(v.state), c_text(v.name))
        summary.states.append(_state_summary(v, per_state.get(serial, [0] * len(v.n)),
                                             by_serial.get(serial)))
    summary.states += [_state_summary(v, None, None) for v in named]
    for k, v in hists:
        state, name = identity.get(int(k.serial), (0, ""))
        summary.slot(state, name, HIST_NAMES.get(int(k.hist), str(k.hist)),
                     int(k.slot), int(v.value))
    for serial, a in by_serial.items():
        state, name = identity.get(serial, (0, ""))
        for k, n in enumerate(a.sizes):
            if n:
                summary.slot(state, name, "alloc_size", k, int(n))
    return summary


def _state_summary(c: Any, n: list[int] | None, allocs: Any | None) -> StateSummary:
    """One row of the summary from struct lunatik_counters, a state's event
    counts n (its struct lunatik_counts added up over the CPUs; None: the
    counters' own, as `named` keeps them) and, in summary mode, the
    module's struct lunatik_stats of that state."""
    counts = {KIND_NAMES[i]: int(c.n[i] if n is None else n[i]) for i in KIND_NAMES}
    grown, shrunk = int(c.alloc_bytes), int(c.free_bytes)
    if allocs is not None:
        counts["alloc"] += int(allocs.charges)
        grown += int(allocs.grown)
        shrunk += int(allocs.shrunk)
    return StateSummary(state=int(c.state), name=c_text(c.name), counts=counts,
                        lookup_miss=int(c.lookup_miss), exec_errors=int(c.exec_errors),
                        alloc_bytes=grown, free_bytes=shrunk, contended=int(c.contended))


__all__ = ["StateSummary", "Summary", "summary_from_rows", "DROP_TEXT", "drop_text",
           "drop_parts", "drops_text", "drop_cause_name"]
