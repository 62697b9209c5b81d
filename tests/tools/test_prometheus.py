"""lunatik-trace --prometheus: per-state counters and histograms in the
Prometheus text format, scraped over loopback and parsed with
prometheus_client's parser, checked against a known workload."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lunatik_bpf.tracing.events import Alloc, Create, Event, ExecEnd, Lock, Lookup, Unlock
from lunatik_bpf.tracing.metrics import SummaryCollector, summary_from_events

from .helpers import Background, need_library, need_root, served_port, write_workload

# The state stays open until stdin gives a line: the test scrapes meanwhile.
WORKLOAD = """
s = lunatik_bpf.connect(sys.argv[1] if len(sys.argv) > 1 else "user")
s.new("calc", 1 << 16)
for _ in range(3):
    s.execute("calc", "return 6*7")
s.lookup("calc")
s.lookup("nosuch")
try:
    s.execute("calc", "error('on purpose')")
except lunatik_bpf.LuaError:
    pass
try:
    s.execute("calc", "local t = {} for i = 1, 1000000 do t[i] = i end")
except lunatik_bpf.LuaMemoryError:
    pass
print("workload done", file=sys.stderr, flush=True)
sys.stdin.readline()
s.close_all()
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, metric: str, **labels: str) -> float:
    want = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == metric and want <= ls]
    assert len(found) == 1, f"{metric}{labels}: {len(found)} samples"
    return found[0]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return parse(r.read().decode())


def scrape_until(port: int, ready: Callable[[Samples], bool], limit: float = 60) -> Samples:
    """Scrapes until ready (the values refresh every interval)."""
    deadline = time.monotonic() + limit
    while True:
        samples = scrape(port)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def buckets(samples: Samples, metric: str, name: str) -> list[tuple[float, float]]:
    out = [(float(dict(ls)["le"]), v) for (n, ls), v in samples.items()
           if n == f"{metric}_bucket" and ("name", name) in ls]
    return sorted(out)


def check_calc(samples: Samples) -> None:
    """The workload's numbers on state "calc" (before it closes)."""
    assert value(samples, "lunatik_tracer_up") == 1
    assert value(samples, "lunatik_tracer_drops_total") == 0
    calc = {"name": "calc"}
    assert value(samples, "lunatik_creates_total", **calc) == 1
    assert value(samples, "lunatik_executes_total", **calc) == 5
    assert value(samples, "lunatik_exec_errors_total", **calc) == 2
    assert value(samples, "lunatik_denials_total", **calc) >= 1
    allocs = value(samples, "lunatik_allocations_total", **calc)
    assert allocs > 0
    assert value(samples, "lunatik_allocated_bytes_total", **calc) > 0
    gets = value(samples, "lunatik_gets_total", **calc)
    puts = value(samples, "lunatik_puts_total", **calc)
    assert gets >= 5 and puts == gets      # every execute's reference is put back
    assert value(samples, "lunatik_lookups_total", name="calc", result="hit") >= 1
    assert value(samples, "lunatik_lookups_total", name="nosuch", result="miss") == 1
    assert value(samples, "lunatik_frees_total", **calc) == 0
    for metric, total in (("lunatik_execute_latency_seconds", 5),
                          ("lunatik_lock_wait_seconds", 5), ("lunatik_lock_hold_seconds", 5)):
        b = buckets(samples, metric, "calc")
        assert b[-1] == (float("inf"), total), metric
        assert all(x[1] <= y[1] for x, y in zip(b, b[1:])), f"{metric} not cumulative"
    sizes = buckets(samples, "lunatik_allocation_size_bytes", "calc")
    assert 0 < sizes[-1][1] <= allocs


def ready(samples: Samples) -> bool:
    try:
        return value(samples, "lunatik_executes_total", name="calc") == 5
    except AssertionError:
        return False


# ---- the collector alone ----

def test_collector_own_registry() -> None:
    H = dict(pid=1, tid=1, comm="t", cpu=0)
    evs: list[Event] = [Create(ts=1, state=0x10, name="a", maxalloc=1024, **H),
                        Lookup(ts=2, state=0x10, name="a", **H),
                        Lookup(ts=2, state=0, name="b", **H),
                        Lock(ts=3, state=0x10, name="a", wait=1500, **H),
                        Alloc(ts=4, state=0x10, name="a", nsize=100, maxalloc=1024, **H),
                        Alloc(ts=5, state=0x10, name="a", nsize=3000, maxalloc=1024, **H),
                        Unlock(ts=6, state=0x10, name="a", hold=2_000_000, **H),
                        ExecEnd(ts=7, state=0x10, name="a", status=2, latency=2_000_100, **H)]
    collector = SummaryCollector()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)    # type: ignore[arg-type]
    s = parse(generate_latest(registry).decode())
    assert value(s, "lunatik_tracer_up") == 0
    collector.update(summary_from_events(evs))
    s = parse(generate_latest(registry).decode())
    assert value(s, "lunatik_executes_total", name="a", state="0x10") == 1
    assert value(s, "lunatik_exec_errors_total", name="a") == 1
    assert value(s, "lunatik_allocated_bytes_total", name="a") == 3100
    assert value(s, "lunatik_lookups_total", name="b", result="miss") == 1
    assert value(s, "lunatik_lookups_total", name="a", result="hit") == 1
    # 100 B is in slot 7 (64..127): le=127; 3000 B in slot 12 (2048..4095): le=4095
    sizes = dict(buckets(s, "lunatik_allocation_size_bytes", "a"))
    assert sizes[63.0] == 0 and sizes[127.0] == 1 and sizes[2047.0] == 1 and sizes[4095.0] == 2
    lat = dict(buckets(s, "lunatik_execute_latency_seconds", "a"))
    # 2.0001 ms: slot 21 (2^20..2^21-1 ns)
    assert lat[(2**20 - 1) / 1e9] == 0 and lat[(2**21 - 1) / 1e9] == 1
    # nothing leaked into the global registry
    assert "lunatik_executes" not in {m.name for m in REGISTRY.collect()}


# ---- live ----

@pytest.mark.root
def test_scrape_user_library(tmp_path: Path) -> None:
    need_root()
    need_library()
    cmd = write_workload(tmp_path, WORKLOAD)
    bg = Background("lunatik-trace", "--user", "--prometheus", "127.0.0.1:0", "-c", cmd, "0.5")
    try:
        port = served_port(bg.wait_for("Serving"))
        bg.wait_for("workload done")
        samples = scrape_until(port, ready)
        check_calc(samples)
        assert {dict(ls)["state"] for (n, ls), _ in samples.items()
                if n == "lunatik_creates_total"} != {"0x0"}
    finally:
        code, out, err = bg.stop(signal_it=False)  # stdin closes: the workload ends
    assert code == 0, err
    assert "calc" in out                           # the interval summaries still print


@pytest.mark.root
def test_scrape_stream_mode(tmp_path: Path) -> None:
    """Without an interval the events still stream; /metrics refreshes every second."""
    need_root()
    need_library()
    cmd = write_workload(tmp_path, WORKLOAD)
    bg = Background("lunatik-trace", "--user", "-q", "--prometheus", "127.0.0.1:0", "-c", cmd)
    try:
        port = served_port(bg.wait_for("Serving"))
        bg.wait_for("workload done")
        check_calc(scrape_until(port, ready))
    finally:
        code, out, err = bg.stop(signal_it=False)
    assert code == 0, err
    assert "0 findings" in out


@pytest.mark.kernel
@pytest.mark.root
def test_scrape_module(tmp_path: Path) -> None:
    need_root()
    script = tmp_path / "kworkload.py"
    script.write_text("import sys\nimport lunatik_bpf\n" + WORKLOAD)
    bg = Background("lunatik-trace", "--prometheus", "127.0.0.1:0", "0.5")
    work = None
    try:
        port = served_port(bg.wait_for("Serving"))
        work = subprocess.Popen([sys.executable, str(script), "kernel"], stdin=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert work.stderr is not None
        while "workload done" not in (line := work.stderr.readline()):
            assert line, "the workload ended early"
        check_calc(scrape_until(port, ready))
    finally:
        if work is not None:
            work.communicate(input="\n", timeout=120)
        code, _, err = bg.stop()
    assert code == 0, err
