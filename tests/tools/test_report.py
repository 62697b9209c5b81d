"""Recordings and lunatik-report: the file format round trip, then a real
profiling session (examples/profile_session.py: lunatik-trace -w, then
lunatik-report --html) checked in the terminal output, in the HTML's
structure against the recording, and rendered by headless chromium."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from lunatik_bpf.tracing import recording
from lunatik_bpf.tracing.checks import Finding
from lunatik_bpf.tracing.events import Alloc, Create, Deny, Event, ExecBegin, ExecEnd, Free, Lock, Unlock
from lunatik_bpf.tracing.metrics import summary_from_events

from .helpers import (CHROMIUM, REPO, Background, need_library, need_root, png_pixels,
                      run_tool, screenshot)

EXAMPLE = REPO / "examples" / "profile_session.py"
HDR = dict(pid=10, tid=11, comm="w", cpu=0)


def synthetic() -> list[Event]:
    """A small session: one state grows, is denied, shrinks and is freed."""
    s, t = 0x1000, 1_000_000
    evs: list[Event] = [Create(ts=t, state=s, name="a", maxalloc=4096, latency=5, **HDR),
                        ExecBegin(ts=t + 1, state=s, name="a", length=3,
                                  code=b"x=\xe2\x82", **HDR),     # cut inside a character
                        Lock(ts=t + 2, state=s, name="a", wait=700, **HDR)]
    cur = 0
    for i, n in enumerate((1000, 2000, 1000)):
        evs.append(Alloc(ts=t + 10 + i, state=s, name="a", osize=0, nsize=n, curralloc=cur,
                         maxalloc=4096, **HDR))
        cur += n
    evs.append(Deny(ts=t + 20, state=s, name="a", osize=0, nsize=500, curralloc=cur,
                    maxalloc=4096, **HDR))
    evs.append(Unlock(ts=t + 30, state=s, name="a", hold=25_000, **HDR))
    evs.append(ExecEnd(ts=t + 31, state=s, name="a", status=4, latency=30_000, length=3,
                       **HDR))
    evs.append(Alloc(ts=t + 40, state=s, name="a", osize=cur, nsize=0, curralloc=cur,
                     maxalloc=4096, **HDR))
    evs.append(Free(ts=t + 50, state=s, name="a", curralloc=0, maxalloc=4096, **HDR))
    return evs


# ---- the format ----

@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    evs = synthetic()
    f = Finding("exec_ends", 0x1000, "a", "made up", (evs[1],))
    path = tmp_path / f"r{suffix}"
    w = recording.Writer(path, backend="user", mode="stream", target="lib.so", pid=10,
                         start_ts=evs[0].ts - 1)
    for ev in evs:
        w.event(ev)
    w.finding(f)
    w.close(summary_from_events(evs), drops=0)
    assert (path.read_bytes()[:2] == recording.GZIP_MAGIC) == suffix.endswith(".gz")
    rec = recording.read(path)
    assert rec.events == evs                    # the same dataclasses, bytes exact
    assert rec.findings == [f]
    assert rec.complete and rec.header["target"] == "lib.so"
    assert rec.trailer is not None and rec.trailer["counts"] == dict(Counter(e.kind for e in evs))
    assert rec.summary == summary_from_events(evs)
    assert rec.start_ts == evs[0].ts - 1


def test_cut_short_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    w = recording.Writer(path, backend="user", mode="stream")
    for ev in synthetic():
        w.event(ev)
    w._out.flush()                  # the tracer was killed: no trailer, a partial line
    text = path.read_text()
    path.write_text(text + '{"event":"alloc","ts":1')
    rec = recording.read(path)
    assert not rec.complete and rec.events == synthetic()

    gz = tmp_path / "cut.gz"       # a gzip stream cut short
    data = gzip.compress(text.encode())
    gz.write_bytes(data[:len(data) * 2 // 3])
    assert len(recording.read(gz).events) < len(synthetic())

    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps({"format": recording.FORMAT, "version": recording.VERSION + 1})
                     + "\n")
    with pytest.raises(recording.RecordingError, match="version"):
        recording.read(newer)
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(recording.RecordingError, match="not a"):
        recording.read(other)
    proc = run_tool("lunatik-report", str(other), check=False)
    assert proc.returncode == 1 and "not a lunatik-recording" in proc.stderr


def test_report_of_synthetic_and_summary_mode(tmp_path: Path) -> None:
    evs = synthetic()
    path = tmp_path / "s.jsonl"
    with recording.Writer(path, backend="user", mode="stream") as w:
        for ev in evs:
            w.event(ev)
    page = tmp_path / "s.html"
    proc = run_tool("lunatik-report", str(path), "--html", str(page))
    assert f"{len(evs)} events, 0 dropped, 0 findings" in proc.stdout
    assert "peak 3.9 KiB of 4.0 KiB, 1 denied" in proc.stdout
    doc = parse_html(page.read_text())
    (mem,) = doc.svgs("mem")
    assert mem["data-state"] == "a" and int(mem["data-peak"]) == 4000
    assert int(mem["data-maxalloc"]) == 4096 and int(mem["data-denials"]) == 1

    summary_only = tmp_path / "summary.jsonl"
    w = recording.Writer(summary_only, backend="user", mode="summary")
    w.close(summary_from_events(evs))
    proc = run_tool("lunatik-report", str(summary_only), "--html", str(page))
    assert "summary-mode recording" in proc.stdout
    doc = parse_html(page.read_text())
    assert doc.svgs("mem") == []
    hists = {h["data-kind"]: int(h["data-total"]) for h in doc.svgs("hist")}
    assert hists["exec_latency"] == 1 and hists["alloc_size"] == 3


# ---- HTML structure ----

class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "table":
            self._table = a.get("class", "")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def svgs(self, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == "svg" and a.get("class") == cls]

    def count(self, tag: str, cls: str) -> int:
        return sum(1 for t, a in self.elements if t == tag and a.get("class") == cls)


def parse_html(text: str) -> Page:
    p = Page()
    p.feed(text)
    return p


def check_page(text: str, rec: recording.Recording) -> Page:
    """The page against the recording it was made from."""
    doc = parse_html(text)
    assert not [t for t, _ in doc.elements if t in ("script", "link", "img", "iframe")]
    assert "src=" not in text and "@import" not in text and "url(" not in text
    assert "https://" not in text and text.count("http://") == text.count(
        'xmlns="http://www.w3.org/2000/svg"')
    live = {e.name for e in rec.events if isinstance(e, Create) and e.ok}
    for name in live:
        assert f">{name}<" in text or f'"{name}"' in text
    # memory: one chart per state that allocated, peak/maxalloc/denials from the events
    charts = {a["data-state"]: a for a in doc.svgs("mem")}
    assert set(charts) == {e.name for e in rec.events if isinstance(e, Alloc) and e.state}
    for name, a in charts.items():
        allocs = [e for e in rec.events if isinstance(e, Alloc) and e.name == name]
        denies = [e for e in rec.events if isinstance(e, Deny) and e.name == name]
        assert int(a["data-peak"]) == max(e.after for e in allocs)
        assert int(a["data-maxalloc"]) == allocs[-1].maxalloc
        assert int(a["data-denials"]) == len(denies)
    assert doc.count("path", "curralloc") == len(charts)
    assert doc.count("line", "maxalloc") == len(charts)
    assert doc.count("path", "deny") == sum(1 for e in rec.events if isinstance(e, Deny))
    # histograms: totals and bars from the events
    hists = {a["data-kind"]: int(a["data-total"]) for a in doc.svgs("hist")}
    assert hists["exec_latency"] == sum(1 for e in rec.events if isinstance(e, ExecEnd))
    assert hists["alloc_size"] == sum(1 for e in rec.events if isinstance(e, Alloc) and e.nsize)
    assert hists["lock_wait"] == sum(1 for e in rec.events if isinstance(e, Lock))
    assert hists["lock_hold"] == sum(1 for e in rec.events if isinstance(e, Unlock) and e.hold)
    bars = [int(a["data-count"]) for t, a in doc.elements if t == "rect" and a.get("class") == "bar"]
    assert sum(bars) == sum(hists.values())
    # tables
    execs = Counter(e.name for e in rec.events if isinstance(e, ExecEnd))
    top = doc.tables["top top-executes"]
    assert top[1][1] == execs.most_common(1)[0][0]
    assert int(top[1][2]) == execs.most_common(1)[0][1]
    states = {row[0]: row for row in doc.tables["states"][1:]}
    assert set(states) == live
    for name, row in states.items():
        assert int(row[2]) == execs[name]
    checks = doc.tables["checks"][1:]
    assert len(checks) == 10
    return doc


# ---- a real session ----

@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    need_root()
    need_library()
    out = tmp_path_factory.mktemp("profile")
    proc = subprocess.run([sys.executable, str(EXAMPLE), str(out)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "session.jsonl.gz", out / "report.html", proc


@pytest.mark.root
def test_profile_session_recording(profiled: tuple[Path, Path, Any]) -> None:
    path, _, _ = profiled
    rec = recording.read(path)
    assert rec.complete and rec.drops == 0 and rec.findings == []
    names = {e.name for e in rec.events if isinstance(e, Create) and e.ok}
    assert names == {"cache", "calc", "shared", "parser"}
    assert any(isinstance(e, Deny) and e.name == "cache" for e in rec.events)
    execs = Counter(e.name for e in rec.events if isinstance(e, ExecEnd))
    assert execs["shared"] == 75 and execs["parser"] == 10


@pytest.mark.root
def test_report_terminal(profiled: tuple[Path, Path, Any]) -> None:
    path, _, _ = profiled
    rec = recording.read(path)
    proc = run_tool("lunatik-report", str(path), "--top", "2")
    text = proc.stdout
    execs = Counter(e.name for e in rec.events if isinstance(e, ExecEnd))
    first = execs.most_common(1)[0]
    assert "Top 2 by executes:" in text
    block = text.split("Top 2 by executes:")[1].splitlines()
    assert block[1].split()[1] == first[0] and block[1].split()[-1] == str(first[1])
    assert "Top 1 by denials:" in text         # only cache is ever denied
    for title in ("Execute latency", "Allocation size", "Lock wait", "Lock hold"):
        assert f"{title}: " in text
    assert f"{len(rec.events)} events, 0 dropped, 0 findings" in text
    assert "Memory over time" in text and "peak 192.0 KiB of 192.0 KiB" in text


@pytest.mark.root
def test_report_html(profiled: tuple[Path, Path, Any]) -> None:
    path, page, _ = profiled
    check_page(page.read_text(), recording.read(path))


@pytest.mark.root
def test_report_in_headless_chromium(profiled: tuple[Path, Path, Any], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    _, page, _ = profiled
    png = tmp_path / "report.png"
    screenshot(page, png, tmp_path)
    assert png.exists(), "chromium wrote no screenshot"
    data = png.read_bytes()
    assert len(data) > 20_000
    width, height, bpp, px = png_pixels(data)
    assert (width, height) == (1280, 2000)
    colours = Counter(px[i:i + 3] for i in range(0, len(px), bpp * 7))
    assert len(colours) > 50, "the page rendered (nearly) uniform"
    # the charts' colours are on screen: the memory line of the first state
    # (blue), the maxalloc line (red #dc2626)
    assert sum(n for c, n in colours.items() if c[2] > 180 and c[0] < 120) > 100
    assert sum(n for c, n in colours.items() if c[0] > 180 and c[1] < 80 and c[2] < 80) > 10


# ---- the module (VM) ----

@pytest.mark.kernel
@pytest.mark.root
def test_kernel_profile_report(tmp_path: Path) -> None:
    need_root()
    out = tmp_path / "kernel.jsonl.gz"
    bg = Background("lunatik-trace", "-q", "--ringbuf-pages", "4096", "-w", str(out))
    subprocess.run([sys.executable, str(EXAMPLE), "--workload", "kernel"], check=True,
                   timeout=600)
    code, _, stderr = bg.stop()
    assert code == 0, stderr
    rec = recording.read(out)
    assert rec.complete and rec.drops == 0 and rec.header["backend"] == "kernel"
    page = tmp_path / "kernel.html"
    run_tool("lunatik-report", str(out), "--html", str(page))
    check_page(page.read_text(), rec)
