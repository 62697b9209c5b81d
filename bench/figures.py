"""One figure of the benchmark table, and the table itself (text and JSON)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    where: str          # "host (user-space library, uprobes)" or "VM (module, kprobes)"
    group: str          # "throughput", "observer", "startup"
    what: str           # e.g. "exec_small / summary"
    value: float
    unit: str           # "ops/s", "events/s", "s", "MiB"
    ratio: float | None = None      # to the baseline of its row group (untraced), if any
    note: str = ""
    # throughput only: time each operation gains over that baseline, in us
    # (1/value - 1/baseline): what a tracer costs per call, which is what
    # tracers are compared by (bench/targets.py)
    added_us: float | None = None
    # the ABBA protocol (bench/protocol.py): how many untraced/traced pairs,
    # the bootstrap 95% interval of the ratio and of the time added
    pairs: int = 0
    ratio_lo: float | None = None
    ratio_hi: float | None = None
    added_lo: float | None = None
    added_hi: float | None = None


@dataclass
class Table:
    figures: list[Figure] = field(default_factory=list)

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)

    def render(self, note_width: int = 160) -> str:
        """The table as text; notes cut at note_width (the JSON has them whole)."""
        head = ("where", "group", "what", "value", "unit", "n", "ratio [95% CI]",
                "+us/op [95% CI]", "note")
        rows = [head] + [(f.where, f.group, f.what, _num(f.value), f.unit,
                          str(f.pairs) if f.pairs else "", ratio_text(f), added_text(f),
                          _cut(f.note, note_width))
                         for f in self.figures]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
        out = []
        for r in rows:
            cells = [c.rjust(w) if i in (3, 5, 6, 7) else c.ljust(w)
                     for i, (c, w) in enumerate(zip(r, widths))]
            out.append("  ".join(cells + [r[-1]]).rstrip())
        return "\n".join(out) + "\n"

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([asdict(f) for f in self.figures], indent=1) + "\n")

    @classmethod
    def read_json(cls, path: Path) -> Table:
        return cls([Figure(**d) for d in json.loads(path.read_text())])


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def ratio_text(f: Figure) -> str:
    if f.ratio is None:
        return ""
    if f.ratio_lo is None or f.ratio_hi is None:
        return f"{f.ratio:.3f}"
    return f"{f.ratio:.3f} [{f.ratio_lo:.3f}, {f.ratio_hi:.3f}]"


def added_text(f: Figure) -> str:
    if f.added_us is None:
        return ""
    if f.added_lo is None or f.added_hi is None:
        return f"{f.added_us:.2f}"
    return f"{f.added_us:.2f} [{f.added_lo:.2f}, {f.added_hi:.2f}]"


def _num(v: float) -> str:
    if v >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:.3g}"


def per_hit_table(figures: list[Figure]) -> str:
    """The per-hit figures side by side: per mechanism, the empty program
    (the mechanism's floor) and our summary program, ns per hit [95% CI]."""
    rows: dict[tuple[str, str], dict[str, Figure]] = {}
    for f in figures:
        if f.group != "per-hit" or " / " not in f.what:
            continue
        mech, prog = f.what.split(" / ", 1)
        side = "VM" if f.where.startswith("VM") else "host"
        rows.setdefault((side, mech), {})["empty" if prog == "empty program" else "ours"] = f
    if not rows:
        return ""

    def cell(f: Figure | None) -> str:
        if f is None:
            return "-"
        if f.value == 0 and f.note.startswith("not measured"):
            return "not measured"
        lo, hi = (f.added_lo or 0) * 1e3, (f.added_hi or 0) * 1e3
        return f"{f.value:,.0f} [{lo:,.0f}, {hi:,.0f}]"

    head = ("where", "mechanism", "empty program ns/hit", "our summary ns/hit", "ours / empty")
    out = [head]
    for (side, mech), d in rows.items():
        e, o = d.get("empty"), d.get("ours")
        x = f"x{o.value / e.value:.2f}" if e and o and e.value > 0 and o.value > 0 else "-"
        out.append((side, mech, cell(e), cell(o), x))
    widths = [max(len(r[i]) for r in out) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in out) + "\n"
