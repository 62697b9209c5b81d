"""lunatik-report: render a recording made by ``lunatik-trace -w FILE``.

    lunatik-report session.jsonl.gz                  # in the terminal
    lunatik-report session.jsonl.gz --html out.html  # and as a web page
    lunatik-report session.jsonl.gz --top 5          # top-5 tables

Shows the memory of each state over time against its maxalloc (from the
allocation events' curralloc), the log2 histograms of execute latency,
allocation size, lock wait and lock hold, and the top states by executes,
bytes allocated, lock wait and denials. The HTML page is self-contained:
inline SVG drawn here, no script, no external style or font.

A summary-mode recording has no events: the report then uses the BPF maps'
summary in its trailer (no memory over time; times estimated from the
histograms, marked ~).
"""
from __future__ import annotations

import argparse
import html
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ..tracing.checks import CHECKS
from ..tracing.events import HIST_UNITS, Histogram
from ..tracing.metrics import StateStats, stats_from_events, stats_from_summary, summary_from_events
from ..tracing.recording import Recording, RecordingError, read
from ..tracing.render import verdict_lines
from ..tracing.summary import Summary

HISTS: tuple[tuple[str, str, str], ...] = tuple(       # kind, title, unit
    (kind, title, HIST_UNITS[kind]) for kind, title in (
        ("exec_latency", "Execute latency"),
        ("alloc_size", "Allocation size"),
        ("lock_wait", "Lock wait"),
        ("lock_hold", "Lock hold"),
        ("contention", "Lock contention (kernel)"),
    ))


# ---- numbers for people ----

def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def fmt_ns(n: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} ns"


def fmt_value(n: float, unit: str) -> str:
    return fmt_bytes(n) if unit == "bytes" else fmt_ns(n)


def fmt_short(n: int, unit: str) -> str:
    """A compact axis label: 512, 1K, 64K, 1M (bytes) or 512ns, 1µs, 2ms."""
    if unit == "bytes":
        for suffix, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
            if n >= scale:
                return f"{n / scale:.3g}{suffix}"
        return str(n)
    for suffix, scale in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if n >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n}ns"


def fmt_seconds(v: float, span: float) -> str:
    """v seconds, with as many decimals as a span of that size needs."""
    if span >= 10:
        return f"{v:.0f}s" if v == int(v) else f"{v:.1f}s"
    if span >= 0.1:
        return f"{v:.2f}s"
    return f"{v * 1000:.1f}ms"


def percentile(h: Histogram, p: float) -> int:
    """The upper bound of the slot where the p-th fraction of the values ends."""
    total = h.total
    if not total:
        return 0
    need, seen = p * total, 0
    for slot in sorted(h.slots):
        seen += h.slots[slot]
        if seen >= need:
            return Histogram.bounds(slot)[1]
    return Histogram.bounds(max(h.slots))[1]


# ---- the model of a report ----

@dataclass
class Report:
    rec: Recording
    summary: Summary                 # from the events (stream), else the recorded maps
    stats: list[StateStats]          # one per (state, name), state 0 (misses) included
    from_events: bool

    @property
    def states(self) -> list[StateStats]:
        return [s for s in self.stats if s.state]

    def histogram(self, kind: str) -> Histogram:
        return self.summary.histogram(kind)

    def duration_ns(self) -> int:
        return max(self.rec.end_ts - self.rec.start_ts, 0)

    def window(self) -> tuple[int, int]:
        """First and last event (the activity), else the session."""
        if self.rec.events:
            ts = [e.ts for e in self.rec.events]
            lo, hi = min(ts), max(ts)
            pad = max((hi - lo) // 50, 1)
            return lo - pad, hi + pad
        return self.rec.start_ts, self.rec.end_ts


def build(rec: Recording) -> Report:
    if rec.events:
        summary = summary_from_events(rec.events, rec.drops, len(rec.findings))
        stats = stats_from_events(sorted(rec.events, key=lambda e: e.ts))
        return Report(rec, summary, list(stats.values()), True)
    summary = rec.summary or Summary(drops=rec.drops, events=0, findings=len(rec.findings))
    return Report(rec, summary, list(stats_from_summary(summary).values()), False)


# top tables: title, the value, how to show it
TOPS: tuple[tuple[str, Callable[[StateStats], int], Callable[[int], str]], ...] = (
    ("executes", lambda s: s.executes, str),
    ("bytes allocated", lambda s: s.alloc_bytes, fmt_bytes),
    ("lock wait", lambda s: s.lock_wait_ns, fmt_ns),
    ("denials", lambda s: s.denials, str),
)


def top(report: Report, value: Callable[[StateStats], int], n: int) -> list[StateStats]:
    ranked = sorted(report.states, key=lambda s: (-value(s), s.name, s.state))
    return [s for s in ranked if value(s) > 0][:n]


# ---- terminal ----

def sparkline(points: Sequence[tuple[int, int]], t0: int, t1: int, top: int,
              width: int = 48) -> str:
    """curralloc over [t0, t1] as block characters scaled to top (maxalloc)."""
    if not points or top <= 0:
        return ""
    blocks = " ▁▂▃▄▅▆▇█"
    cols = [-1] * width
    span = max(t1 - t0, 1)
    for ts, v in points:
        c = min(max((ts - t0) * width // span, 0), width - 1)
        cols[c] = max(cols[c], v)
    out, last = [], 0
    for v in cols:
        if v < 0:
            v = last        # no allocation in that column: unchanged
        last = v
        out.append(blocks[min(8, (v * 8 + top - 1) // top)])
    return "".join(out)


def render_text(report: Report, n: int, out: TextIO) -> None:
    rec, h = report.rec, report.rec.header
    w = out.write
    w(f"Lunatik session: {h.get('backend')} backend, {h.get('mode')} mode, "
      f"target {h.get('target') or '?'}\n")
    w(f"host {h.get('host')} ({h.get('kernel')}), started {h.get('start')}, "
      f"{report.duration_ns() / 1e9:.3f} s\n")
    counts = Counter(e.kind for e in rec.events)
    w(f"{len(rec.events)} events, {rec.drops} dropped, {len(rec.findings)} findings"
      f"{'' if rec.complete else ' (recording cut short: no trailer)'}\n")
    if counts:
        w("  " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())) + "\n")
    if not report.from_events:
        w("(summary-mode recording: no events; times estimated from histograms, ~)\n")

    w("\nStates:\n")
    w(f"  {'NAME':<16} {'STATE':<14} {'EXEC':>6} {'ERR':>4} {'ALLOCS':>7} {'ALLOCATED':>11} "
      f"{'PEAK':>11} {'MAXALLOC':>11} {'DENY':>5} {'LOCK WAIT':>10}\n")
    for s in sorted(report.states, key=lambda s: (s.name, s.state)):
        w(f"  {s.name:<16.16} {s.state:<#14x} {s.executes:>6} {s.exec_errors:>4} "
          f"{s.allocs:>7} {fmt_bytes(s.alloc_bytes):>11} "
          f"{fmt_bytes(s.peak) if report.from_events else '-':>11} "
          f"{fmt_bytes(s.maxalloc) if s.maxalloc else '-':>11} {s.denials:>5} "
          f"{('~' if s.approx else '') + fmt_ns(s.lock_wait_ns):>10}\n")
    misses = [s for s in report.stats if not s.state and s.lookup_miss]
    if misses:
        w("  lookup misses: " + ", ".join(f"{s.name!r} x{s.lookup_miss}" for s in misses) + "\n")

    if report.from_events:
        w("\nMemory over time (curralloc / maxalloc):\n")
        for s in sorted(report.states, key=lambda s: -s.peak)[:max(n, 1) * 2]:
            if not s.memory:
                continue
            top_ = s.maxalloc or s.peak
            w(f"  {s.name:<16.16} |{sparkline(s.memory, *report.window(), top_)}| "
              f"peak {fmt_bytes(s.peak)} of {fmt_bytes(s.maxalloc) if s.maxalloc else '?'}"
              f"{f', {s.denials} denied' if s.denials else ''}\n")

    for title, value, show in TOPS:
        rows = top(report, value, n)
        if rows:
            w(f"\nTop {len(rows)} by {title}:\n")
            for i, s in enumerate(rows, 1):
                w(f"  {i:>2}. {s.name:<16.16} {s.state:#x}  "
                  f"{'~' if s.approx and title == 'lock wait' else ''}{show(value(s))}\n")

    for kind, title, unit in HISTS:
        hist = report.histogram(kind)
        if hist.total:
            w(f"\n{title}: {hist.total} samples, p50 <= {fmt_value(percentile(hist, .5), unit)}, "
              f"p99 <= {fmt_value(percentile(hist, .99), unit)}\n")
            w(hist.render(unit))
    if report.from_events or rec.findings:
        w("\nChecks:\n")
        w("\n".join(verdict_lines(rec.findings)) + "\n")
        for f in rec.findings:
            w(f"  finding: {f}\n")


# ---- SVG ----

PALETTE = ("#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#475569")
FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ceiling(v: float) -> float:
    """1, 2, 2.5, 5 x 10^k at or above v."""
    if v <= 0:
        return 1.0
    exp = 1.0
    while exp * 10 <= v:
        exp *= 10
    while exp > v:
        exp /= 10
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v:
            return m * exp
    return 10 * exp


def byte_axis(top_: float) -> tuple[float, float, int, str]:
    """(ymax, step, unit scale, unit) for a byte axis reaching top_, with
    4 to 6 round steps in B, KiB or MiB."""
    scale, unit = 1, "B"
    for s, u in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if top_ >= 2 * s:
            scale, unit = s, u
            break
    v = max(top_ / scale, 1.0)
    step = nice_ceiling(v / 5)
    ymax = step * -(-v // step)
    return ymax * scale, step * scale, scale, unit


def downsample(points: Sequence[tuple[float, float]], columns: int) -> list[tuple[float, float]]:
    """A step line through points, at most ~4 points per column (first, min,
    max, last of each), so peaks and valleys survive."""
    if len(points) <= columns * 4:
        return list(points)
    t0, t1 = points[0][0], points[-1][0]
    span = (t1 - t0) or 1.0
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    col = 0
    for p in points:
        c = min(int((p[0] - t0) / span * columns), columns - 1)
        if c != col and bucket:
            out.extend(_summarise(bucket))
            bucket = []
        col = c
        bucket.append(p)
    out.extend(_summarise(bucket))
    return out


def _summarise(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    lo = min(bucket, key=lambda p: p[1])
    hi = max(bucket, key=lambda p: p[1])
    keep = sorted({bucket[0], lo, hi, bucket[-1]}, key=lambda p: p[0])
    return keep


def memory_chart(s: StateStats, t0: int, t1: int, color: str,
                 width: int = 600, height: int = 230) -> str:
    """curralloc over time (a step line), maxalloc as a dashed red line,
    denials as red crosses."""
    ml, mr, mt, mb = 64, 24, 30, 34
    pw, ph = width - ml - mr, height - mt - mb
    span = max(t1 - t0, 1)
    ymax, ystep, yscale, yunit = byte_axis(max(s.maxalloc, s.peak, 1) * 1.06)

    def x(ts: float) -> float:
        return ml + (ts - t0) / span * pw

    def y(v: float) -> float:
        return mt + ph - v / ymax * ph

    parts = [f'<svg class="mem" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="memory of {_e(s.name)}" data-state="{_e(s.name)}" '
             f'data-peak="{s.peak}" data-maxalloc="{s.maxalloc}" data-denials="{s.denials}">']
    parts.append(f'<text x="{ml}" y="18" style="{FONT};font-size:14px;font-weight:600" '
                 f'fill="#111827">{_e(s.name)} <tspan fill="#6b7280" font-weight="400" '
                 f'font-size="12">{s.state:#x} · peak {_e(fmt_bytes(s.peak))}'
                 f'{" of " + _e(fmt_bytes(s.maxalloc)) if s.maxalloc else ""}'
                 f'{f" · {s.denials} denied" if s.denials else ""}</tspan></text>')
    steps = round(ymax / ystep)
    for i in range(steps + 1):    # y grid and labels
        v = ystep * i
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     f'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{ml - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
                     f'style="{FONT};font-size:11px" fill="#6b7280">'
                     f'{v / yscale:g} {yunit}</text>')
    for i in range(6):            # x labels: time since t0
        ts = t0 + span * i / 5
        parts.append(f'<text x="{x(ts):.1f}" y="{mt + ph + 16}" '
                     f'text-anchor="{"end" if i == 5 else "start" if i == 0 else "middle"}" '
                     f'style="{FONT};font-size:11px" fill="#6b7280">'
                     f'{fmt_seconds((ts - t0) / 1e9, span / 1e9)}</text>')
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#9ca3af"/>')
    pts = downsample([(float(ts), float(v)) for ts, v in s.memory], pw)
    if pts:
        d, prev = [], None
        for ts, v in pts:
            if prev is None:
                d.append(f"M{x(ts):.1f},{y(0):.1f} L{x(ts):.1f},{y(v):.1f}")
            else:
                d.append(f"L{x(ts):.1f},{y(prev):.1f} L{x(ts):.1f},{y(v):.1f}")
            prev = v
        area = " ".join(d) + f" L{x(pts[-1][0]):.1f},{y(0):.1f} Z"
        parts.append(f'<path d="{area}" fill="{color}" fill-opacity="0.12" stroke="none"/>')
        parts.append(f'<path class="curralloc" d="{" ".join(d)}" fill="none" stroke="{color}" '
                     f'stroke-width="1.6" stroke-linejoin="round"/>')
    if s.maxalloc:
        parts.append(f'<line class="maxalloc" x1="{ml}" x2="{ml + pw}" y1="{y(s.maxalloc):.1f}" '
                     f'y2="{y(s.maxalloc):.1f}" stroke="#dc2626" stroke-width="1.4" '
                     f'stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{ml + pw - 4}" y="{y(s.maxalloc) - 5:.1f}" text-anchor="end" '
                     f'style="{FONT};font-size:11px" fill="#dc2626">maxalloc '
                     f'{_e(fmt_bytes(s.maxalloc))}</text>')
    for ts, _would in s.denied_at[:500]:
        cx, cy = x(ts), y(s.maxalloc or s.peak)
        parts.append(f'<path class="deny" d="M{cx - 4:.1f},{cy - 4:.1f} l8,8 m0,-8 l-8,8" '
                     f'stroke="#dc2626" stroke-width="1.8"/>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_chart(h: Histogram, title: str, unit: str, color: str,
                    width: int = 600, height: int = 240) -> str:
    ml, mr, mt, mb = 56, 12, 30, 52
    pw, ph = width - ml - mr, height - mt - mb
    parts = [f'<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_e(title)}" data-kind="{_e(h.kind)}" data-total="{h.total}">']
    parts.append(f'<text x="{ml}" y="18" style="{FONT};font-size:14px;font-weight:600" '
                 f'fill="#111827">{_e(title)} <tspan fill="#6b7280" font-weight="400" '
                 f'font-size="12">{h.total} samples'
                 + (f' · p50 ≤ {_e(fmt_value(percentile(h, .5), unit))} · p99 ≤ '
                    f'{_e(fmt_value(percentile(h, .99), unit))}' if h.total else "")
                 + '</tspan></text>')
    if not h.total:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                     f'style="{FONT};font-size:13px" fill="#9ca3af">no samples</text></svg>')
        return "".join(parts)
    lo, hi = min(h.slots), max(h.slots)
    slots = list(range(lo, hi + 1))
    peak = max(h.slots.values())
    ymax = nice_ceiling(peak)
    bw = pw / len(slots)
    for i in range(5):
        v = ymax * i / 4
        yy = mt + ph - v / ymax * ph
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{ml - 6}" y="{yy + 4:.1f}" text-anchor="end" '
                     f'style="{FONT};font-size:11px" fill="#6b7280">{v:g}</text>')
    step = max(1, (len(slots) + 15) // 16)       # at most ~16 axis labels
    for i, slot in enumerate(slots):
        n = h.slots.get(slot, 0)
        bh = n / ymax * ph
        bx = ml + i * bw
        b_lo, b_hi = Histogram.bounds(slot)
        parts.append(f'<rect class="bar" x="{bx + 1:.1f}" y="{mt + ph - bh:.1f}" '
                     f'width="{max(bw - 2, 1):.1f}" height="{bh:.1f}" fill="{color}" rx="2" '
                     f'data-slot="{slot}" data-count="{n}"><title>{_e(fmt_short(b_lo, unit))}–'
                     f'{_e(fmt_short(b_hi, unit))}: {n}</title></rect>')
        if n and bw >= 18:
            parts.append(f'<text x="{bx + bw / 2:.1f}" y="{mt + ph - bh - 3:.1f}" '
                         f'text-anchor="middle" style="{FONT};font-size:10px" '
                         f'fill="#374151">{n}</text>')
        if i % step == 0:
            lx, ly = bx + bw / 2, mt + ph + 12
            parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="end" '
                         f'transform="rotate(-35 {lx:.1f} {ly:.1f})" style="{FONT};font-size:10px" '
                         f'fill="#6b7280">{_e(fmt_short(b_lo, unit))}</text>')
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" stroke="#9ca3af"/>')
    parts.append("</svg>")
    return "".join(parts)


# ---- HTML ----

CSS = """
body{margin:0;background:#f3f4f6;color:#111827;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}
main{max-width:1260px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.sub{color:#6b7280;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{flex:1 1 0;background:#fff;border-radius:10px;padding:12px 16px;min-width:96px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:22px}.card span{color:#6b7280;font-size:12px}
.card.bad b{color:#dc2626}.card.good b{color:#16a34a}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));gap:14px}
.panel{background:#fff;border-radius:10px;padding:8px;box-shadow:0 1px 2px #0001;overflow:hidden}
table{border-collapse:collapse;background:#fff;border-radius:10px;overflow:hidden;
 box-shadow:0 1px 2px #0001;font-size:13px}
th,td{padding:6px 8px;text-align:right;border-bottom:1px solid #f1f5f9;white-space:nowrap}
th{background:#f9fafb;color:#374151;font-weight:600}
td.l,th.l{text-align:left}tr:last-child td{border-bottom:0}
.tops{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:14px}
.tops table{width:100%}.tops caption{text-align:left;font-weight:600;padding:4px 2px}
.ok{color:#16a34a;font-weight:600}.fail{color:#dc2626;font-weight:600}
.meter{display:inline-block;width:56px;height:8px;background:#e5e7eb;border-radius:4px;
 vertical-align:middle;margin-left:6px;overflow:hidden}
.meter i{display:block;height:100%;background:#2563eb}.meter i.hot{background:#dc2626}
.scroll{overflow-x:auto}
code{background:#f3f4f6;padding:1px 4px;border-radius:4px}
"""


def _card(value: object, label: str, cls: str = "") -> str:
    return f'<div class="card {cls}"><b>{_e(value)}</b><span>{_e(label)}</span></div>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], left: int = 1,
           caption: str = "", cls: str = "") -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{_e(h)}</th>'
                 for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(
        f'<td class="{"l" if i < left else ""}">{c if isinstance(c, Raw) else _e(c)}</td>'
        for i, c in enumerate(r)) + "</tr>" for r in rows)
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<table class="{cls}">{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


class Raw(str):
    """Already-escaped HTML for a table cell."""


def _meter(v: int, top_: int) -> Raw:
    if not top_:
        return Raw("")
    frac = min(v / top_, 1.0)
    return Raw(f'<span class="meter"><i class="{"hot" if frac >= .9 else ""}" '
               f'style="width:{frac * 100:.0f}%"></i></span>')


def render_html(report: Report, n: int) -> str:
    rec, h = report.rec, report.rec.header
    colors = {(s.state, s.name): PALETTE[i % len(PALETTE)]
              for i, s in enumerate(sorted(report.states, key=lambda s: (s.name, s.state)))}
    start = h.get("start", "")
    try:
        start = datetime.fromisoformat(start).strftime("%Y-%m-%d %H:%M:%S %Z")
    except (TypeError, ValueError):
        pass
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<title>Lunatik session report: {_e(h.get("target") or h.get("backend"))}</title>',
           f"<style>{CSS}</style></head><body><main>",
           "<h1>Lunatik session report</h1>",
           f'<div class="sub">{_e(h.get("backend"))} backend · {_e(h.get("mode"))} mode · '
           f'target <code>{_e(h.get("target") or "?")}</code> · host {_e(h.get("host"))} '
           f'({_e(h.get("kernel"))}) · started {_e(start)}'
           + (f' · command <code>{_e(h["command"])}</code>' if h.get("command") else "")
           + "</div>"]
    if not rec.complete:
        out.append('<p class="fail">This recording was cut short (no trailer): '
                   'the tracer did not finish.</p>')
    if not report.from_events:
        out.append('<p class="sub">Summary-mode recording: no events, so no memory over '
                   'time; times are estimated from the histograms (~).</p>')
    total_exec = sum(s.executes for s in report.states)
    out.append('<div class="cards">'
               + _card(f"{report.duration_ns() / 1e9:.2f} s", "duration")
               + _card(len(report.states), "states")
               + _card(len(rec.events) if report.from_events else report.summary.events,
                       "events")
               + _card(total_exec, "executes")
               + _card(fmt_bytes(sum(s.alloc_bytes for s in report.states)), "allocated")
               + _card(sum(s.denials for s in report.states), "denials")
               + _card(rec.drops, "dropped", "bad" if rec.drops else "good")
               + _card(len(rec.findings), "findings", "bad" if rec.findings else "good")
               + "</div>")

    mem = [s for s in sorted(report.states, key=lambda s: (-s.peak, s.name)) if s.memory]
    if mem:
        out.append("<h2>Memory per state over time</h2>")
        out.append('<p class="sub">curralloc after each allocation (step line), the state\'s '
                   'maxalloc (dashed red), denied allocations (red ×). Time since the '
                   'first event.</p><div class="grid">')
        t0, t1 = report.window()
        for s in mem:
            chart = memory_chart(s, t0, t1, colors[(s.state, s.name)])
            out.append(f'<div class="panel">{chart}</div>')
        out.append("</div>")

    out.append("<h2>Distributions</h2>")
    out.append('<p class="sub">log2 histograms over all states: a bar counts the '
               'values from its label up to the next one.</p><div class="grid">')
    for i, (kind, title, unit) in enumerate(HISTS):
        hist = report.histogram(kind)
        if kind == "contention" and not hist.total:
            continue
        out.append(f'<div class="panel">{histogram_chart(hist, title, unit, PALETTE[i])}</div>')
    out.append("</div>")

    out.append("<h2>Top states</h2><div class=\"tops\">")
    for title, value, show in TOPS:
        rows = top(report, value, n)
        approx = "~" if title == "lock wait" and not report.from_events else ""
        out.append(_table(["#", "state", title],
                          [[i, s.name, approx + show(value(s))] for i, s in enumerate(rows, 1)]
                          or [["", "(none)", ""]],
                          left=2, caption=f"by {title}", cls=f"top top-{title.replace(' ', '-')}"))
    out.append("</div>")

    out.append("<h2>States</h2>")
    rows = []
    for s in sorted(report.states, key=lambda s: (s.name, s.state)):
        rows.append([s.name, f"{s.state:#x}", s.executes, s.exec_errors,
                     fmt_ns(s.exec_ns / s.executes) if s.executes else "-",
                     s.allocs, fmt_bytes(s.alloc_bytes),
                     Raw(_e(fmt_bytes(s.peak)) + str(_meter(s.peak, s.maxalloc)))
                     if report.from_events else "-",
                     fmt_bytes(s.maxalloc) if s.maxalloc else "-", s.denials,
                     s.lookups, f"{s.gets}/{s.puts}", f"{s.contended}/{s.locks}",
                     ("~" if s.approx else "") + fmt_ns(s.lock_wait_ns),
                     ("~" if s.approx else "") + fmt_ns(s.lock_hold_ns),
                     "freed" if s.freed else "live"])
    out.append('<div class="scroll">')
    out.append(_table(["name", "state", "executes", "errors", "mean exec", "allocs",
                       "allocated", "peak", "maxalloc", "denials", "lookups", "gets/puts", "contended",
                       "lock wait", "lock hold", "end"], rows, left=2, cls="states"))
    out.append("</div>")
    lat_rows = []
    for s in sorted(report.states, key=lambda s: (s.name, s.state)):
        row: list[object] = [s.name, f"{s.state:#x}"]
        for kind, _title, unit in HISTS[:4]:
            hist = _state_hist(report, s, kind)
            row += ([fmt_value(percentile(hist, .5), unit), fmt_value(percentile(hist, .99), unit)]
                    if hist.total else ["-", "-"])
        lat_rows.append(row)
    if lat_rows:
        out.append('<h2>Per-state distributions</h2><p class="sub">upper bounds of the log2 '
                   'slot holding the median and the 99th percentile.</p>')
        out.append(_table(["name", "state", "exec p50", "exec p99", "alloc p50", "alloc p99",
                           "wait p50", "wait p99", "hold p50", "hold p99"], lat_rows, left=2,
                          cls="latency"))
    misses = [s for s in report.stats if not s.state and s.lookup_miss]
    if misses:
        out.append('<p class="sub">Lookup misses: '
                   + ", ".join(f"<code>{_e(s.name)}</code> ×{s.lookup_miss}" for s in misses)
                   + "</p>")

    if report.from_events or rec.findings:
        out.append("<h2>Checks</h2>")
        count = Counter(f.check for f in rec.findings)
        out.append(_table(["verdict", "check", "meaning", "findings"],
                          [[Raw('<span class="fail">FAIL</span>' if count[c]
                                else '<span class="ok">ok</span>'), c, meaning, count[c] or ""]
                           for c, meaning in CHECKS.items()], left=3, cls="checks"))
        if rec.findings:
            out.append("<ul>" + "".join(f"<li><code>{_e(f)}</code></li>"
                                        for f in rec.findings[:200]) + "</ul>")
    out.append("</main></body></html>\n")
    return "\n".join(out)


def _state_hist(report: Report, s: StateStats, kind: str) -> Histogram:
    return report.summary.histograms.get((s.state, s.name, kind), Histogram(kind))


# ---- command line ----

def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="lunatik-report", description="Render a recording made by lunatik-trace -w.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1])
    p.add_argument("recording", type=Path, help="the file lunatik-trace -w wrote")
    p.add_argument("--html", type=Path, metavar="OUT.html",
                   help="also write a self-contained HTML page")
    p.add_argument("--top", type=int, default=5, metavar="N",
                   help="rows of the top-states tables (default 5)")
    args = p.parse_args(argv)
    if args.top <= 0:
        p.error("--top must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        report = build(read(args.recording))
    except RecordingError as err:
        print(f"lunatik-report: {err}", file=sys.stderr)
        return 1
    try:
        render_text(report, args.top, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    if args.html is not None:
        try:
            args.html.write_text(render_html(report, args.top), encoding="utf-8")
        except OSError as exc:
            print(f"lunatik-report: {args.html}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
