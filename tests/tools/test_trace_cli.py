"""lunatik-trace run as a user runs it: a subprocess tracing a workload script
(--user -c) or the module (kernel, in the VM), checked through its JSON lines,
its recording (-w) and its exit status."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lunatik_bpf.tracing import recording
from lunatik_bpf.tracing.metrics import summary_from_events
from lunatik_bpf.tracing.render import event_json

from .helpers import Background, need_library, need_root, run_tool, write_workload

# Prints nothing on stdout: the -j stream stays pure JSON lines.
WORKLOAD = """
s = lunatik_bpf.connect(sys.argv[1] if len(sys.argv) > 1 else "user")
s.new("calc", 1 << 16)
for _ in range(3):
    assert s.execute("calc", "return 6*7") == "42"
assert s.lookup("calc") is not None
assert s.lookup("nosuch") is None
try:
    s.execute("calc", "error('on purpose')")
except lunatik_bpf.LuaError:
    pass
try:
    s.execute("calc", "local t = {} for i = 1, 1000000 do t[i] = i end")
except lunatik_bpf.LuaMemoryError:
    pass
s.close("calc")
print("workload done", file=sys.stderr, flush=True)
"""
LUA_OK, LUA_ERRRUN, LUA_ERRMEM = 0, 2, 4


def parse_lines(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every line is JSON: events (and findings), then one summary line last."""
    lines = stdout.splitlines()
    assert lines, "no output"
    docs = []
    for i, line in enumerate(lines):
        try:
            docs.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"line {i + 1} is not JSON: {line!r}")
    assert "summary" in docs[-1], f"last line is not the summary: {lines[-1]!r}"
    assert all("summary" not in d for d in docs[:-1])
    return docs[:-1], docs[-1]["summary"]


def check_workload(events: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """What WORKLOAD must produce on state "calc", whatever the backend."""
    calc = [e for e in events if e.get("name") == "calc"]
    kinds = Counter(e["event"] for e in calc)
    assert kinds["create"] == 1
    assert kinds["exec_begin"] == kinds["exec_end"] == 5
    assert kinds["lock"] == kinds["unlock"] == 5
    assert kinds["deny"] >= 1
    assert kinds["alloc"] > 0
    assert kinds["free"] == 1
    assert kinds["remove"] == 1
    assert sorted(e["status"] for e in calc if e["event"] == "exec_end") == \
        [LUA_OK] * 3 + [LUA_ERRRUN, LUA_ERRMEM]
    create = next(e for e in calc if e["event"] == "create")
    assert create["error"] == 0 and create["maxalloc"] == 1 << 16 and create["state"] != 0
    assert any(e["event"] == "lookup" and e["state"] == create["state"] for e in calc)
    misses = [e for e in events if e["event"] == "lookup" and e["name"] == "nosuch"]
    assert len(misses) == 1 and misses[0]["state"] == 0
    for e in calc:
        if e["event"] == "alloc":
            assert e["curralloc"] - e["osize"] + e["nsize"] <= e["maxalloc"] == 1 << 16
    free = next(e for e in calc if e["event"] == "free")
    assert free["curralloc"] == 0
    assert summary["events"] == len([e for e in events if "event" in e])
    assert summary["drops"] == 0
    assert summary["findings"] == 0
    assert not [e for e in events if "finding" in e]


def check_recording(rec: recording.Recording, events: list[dict[str, Any]],
                    backend: str) -> None:
    """The recording holds the same events as the -j stream, and its trailer's
    summary (read from the BPF maps) matches the events."""
    assert rec.header["format"] == recording.FORMAT
    assert rec.header["version"] == recording.VERSION
    assert rec.header["backend"] == backend and rec.header["mode"] == "stream"
    assert rec.complete and rec.drops == 0 and rec.findings == []
    assert [json.loads(event_json(e)) for e in rec.events] == events
    assert rec.trailer is not None
    assert rec.trailer["events"] == len(events)
    assert rec.trailer["counts"] == dict(Counter(e["event"] for e in events))
    maps, rebuilt = rec.summary, summary_from_events(rec.events)
    assert maps is not None

    def counters(s: Any) -> dict[tuple[int, str], tuple[Any, ...]]:
        return {(x.state, x.name): (x.counts, x.lookup_miss, x.exec_errors, x.alloc_bytes,
                                    x.free_bytes) for x in s.states}

    # BPF counts every probe hit; the ring buffer carried each as an event
    assert counters(maps) == counters(rebuilt)
    assert {k: h.slots for k, h in maps.histograms.items()} == \
        {k: h.slots for k, h in rebuilt.histograms.items()}
    assert all(rec.start_ts <= e.ts <= rec.end_ts for e in rec.events)


# ---- the user-space library ----

@pytest.fixture(scope="module")
def user_session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    need_root()
    need_library()
    tmp = tmp_path_factory.mktemp("trace")
    cmd = write_workload(tmp, WORKLOAD)
    out = tmp / "session.jsonl.gz"
    proc = run_tool("lunatik-trace", "--user", "-j", "-w", str(out), "-c", cmd)
    assert "workload done" in proc.stderr
    return proc, out


@pytest.mark.root
def test_json_lines(user_session: tuple[Any, Path]) -> None:
    proc, _ = user_session
    assert proc.returncode == 0
    events, summary = parse_lines(proc.stdout)
    check_workload(events, summary)
    pids = {e["pid"] for e in events}
    assert len(pids) == 1, "only the -c process is traced"


@pytest.mark.root
def test_recording_matches_stream(user_session: tuple[Any, Path]) -> None:
    proc, path = user_session
    assert path.read_bytes()[:2] == recording.GZIP_MAGIC      # .gz: compressed
    events, _ = parse_lines(proc.stdout)
    rec = recording.read(path)
    check_recording(rec, events, "user")
    assert rec.header["target"].endswith("liblunatik.so")
    assert rec.header["pid"] == events[0]["pid"]


@pytest.mark.root
def test_quiet_summary_mode_recording(tmp_path: Path) -> None:
    """Summary mode: periodic reports, -w keeps the interval summaries and the
    final maps; -q does not silence the summaries."""
    need_root()
    need_library()
    cmd = write_workload(tmp_path, WORKLOAD + "import time\ntime.sleep(0.6)\n")
    out = tmp_path / "summary.jsonl"
    proc = run_tool("lunatik-trace", "--user", "-q", "-w", str(out), "-c", cmd, "0.2")
    assert proc.stdout.count("drops: ") >= 2         # interval reports + the final one
    assert "checks: not run in summary mode" in proc.stdout
    rec = recording.read(out)
    assert rec.header["mode"] == "summary" and rec.events == [] and rec.complete
    assert rec.snapshots, "no interval summaries recorded"
    final = rec.summary
    assert final is not None
    calc = [s for s in final.state("calc") if s.state]     # remove is keyed by name only
    assert len(calc) == 1
    assert calc[0].counts["exec_end"] == 5 and calc[0].exec_errors == 2
    assert calc[0].counts["create"] == 1 and calc[0].counts["deny"] >= 1
    assert final.histogram("exec_latency", "calc").total == 5


def test_bad_arguments() -> None:
    proc = run_tool("lunatik-trace", "-p", "1", check=False)
    assert proc.returncode == 2 and "--user" in proc.stderr
    proc = run_tool("lunatik-trace", "--prometheus", "nonsense", check=False)
    assert proc.returncode == 2 and "ADDR:PORT" in proc.stderr


@pytest.mark.root
def test_unwritable_recording(tmp_path: Path) -> None:
    need_root()
    need_library()
    proc = run_tool("lunatik-trace", "--user", "-w", str(tmp_path / "no" / "such.jsonl"),
                    "-c", "true", check=False)
    assert proc.returncode == 1
    assert "lunatik-trace: -w" in proc.stderr


# ---- the module (VM) ----

@pytest.mark.kernel
@pytest.mark.root
def test_kernel_json_lines_and_recording(tmp_path: Path) -> None:
    need_root()
    out = tmp_path / "kernel.jsonl"
    bg = Background("lunatik-trace", "-j", "-w", str(out))
    script = tmp_path / "kworkload.py"
    script.write_text("import sys\nimport lunatik_bpf\n" + WORKLOAD)
    subprocess.run([sys.executable, str(script), "kernel"], check=True, timeout=300)
    code, stdout, stderr = bg.stop()
    assert code == 0, stderr
    events, summary = parse_lines(stdout)
    check_workload(events, summary)
    check_recording(recording.read(out), events, "kernel")
