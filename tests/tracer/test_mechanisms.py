"""The module's own tracepoints against kprobes (runs in the VM).

One compiled program serves both kernel mechanisms: raw tracepoints on the
module's lunatik:lunatik_* tracepoints, and kprobes on the functions of the
probe contract. On the same single-threaded workload they must give the
same events in the same order with the same fields (all but the times and
addresses), the same summary and the same verdicts. The tracepoints are
also usable without us, as any kernel subsystem's: ftrace, perf and
bpftrace read them from their format files.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import lunatik_bpf
from lunatik_bpf.testing.vm import BUILD, module_swapped
from lunatik_bpf.tracing.events import Create, Event
from lunatik_bpf.tracing.tracer import (MODULE_TRACEPOINTS, TRACEFS, Program, Summary,
                                        SymbolMissing, Tracer, module_tracepoints)

pytestmark = [pytest.mark.kernel, pytest.mark.root]

NAMES = ("tr_mech_a", "tr_mech_b", "tr_mech_c")
ALLOC_CHUNK = "local t = {} for i = 1, 200 do t[i] = {i, tostring(i)} end return #t"
# what differs between two runs of one workload, whatever the mechanism
VOLATILE = {"ts", "pid", "tid", "comm", "cpu", "state", "latency", "wait", "hold"}
EVENTS = TRACEFS / "events" / "lunatik"
NOTRACE_KO = BUILD / "kmod-notrace" / "lunatik.ko"      # make kmod-notrace


def workload() -> None:
    """Every kind of event but contention, in one thread: creates (one
    failing), executes (one erroring, one denied memory), lookups (a hit,
    a miss), a close, a failed close, and close_all."""
    states = lunatik_bpf.connect("kernel")
    states.close_all()
    states.new(NAMES[0], 1 << 20)
    states.new(NAMES[1], 1 << 20)
    states.new(NAMES[2], 40 << 10)
    with pytest.raises(lunatik_bpf.StateExists):
        states.new(NAMES[0], 1 << 20)
    assert states.execute(NAMES[0], ALLOC_CHUNK) == "200"
    with pytest.raises(lunatik_bpf.LuaError):
        states.execute(NAMES[1], "error('no')")
    with pytest.raises(lunatik_bpf.LuaMemoryError):      # denied past maxalloc
        states.execute(NAMES[2], "local t = {} for i = 1, 1000000 do t[i] = i end")
    assert states.lookup(NAMES[1]) is not None
    assert states.lookup("tr_mech_absent") is None
    states.close(NAMES[0])
    with pytest.raises(lunatik_bpf.NoSuchState):
        states.close(NAMES[0])
    states.close_all()
    states.disconnect()


def stable(ev: Event) -> tuple[object, ...]:
    """An event without what two runs cannot share (times, addresses)."""
    fields = dataclasses.asdict(ev)
    return (ev.kind,) + tuple((k, v) for k, v in sorted(fields.items()) if k not in VOLATILE)


def ours(events: list[Event]) -> list[Event]:
    return [e for e in events if e.name.startswith("tr_mech")]


def run(program: Program, probes: str) -> Tracer:
    with Tracer(program=program, probes=probes) as tracer:
        workload()
    assert tracer.probes == probes
    return tracer


def test_the_module_has_every_tracepoint() -> None:
    assert set(MODULE_TRACEPOINTS) <= module_tracepoints()
    fmt = (EVENTS / "lunatik_charge" / "format").read_text()
    for field in ("state", "serial", "name", "osize", "nsize", "curralloc", "maxalloc"):
        assert f" {field};" in fmt or f" {field}[" in fmt or f"> {field};" in fmt, field


def test_auto_takes_the_tracepoints(kernel_program) -> None:
    with Tracer(program=kernel_program) as tracer:
        assert tracer.probes == "tracepoint"
        assert {a.how for a in tracer.program.attached} == {"raw_tracepoint", "tracepoint"}


def test_stream_is_the_same_through_both(kernel_program) -> None:
    kp = run(kernel_program, "kprobe")
    tp = run(kernel_program, "tracepoint")
    for t in (kp, tp):
        assert [str(f) for f in t.findings] == [] and t.drops == 0
    a, b = ours(kp.events), ours(tp.events)
    assert Counter(e.kind for e in a) == Counter(e.kind for e in b)
    assert {"create", "remove", "lookup", "get", "put", "exec_begin", "exec_end", "alloc",
            "deny", "free", "lock", "unlock"} <= {e.kind for e in b}
    assert [stable(e) for e in a] == [stable(e) for e in b]
    # the failed create and the failed close name no state, in both
    assert [e.error for e in b if isinstance(e, Create) and not e.ok] == [-17]


def test_summary_is_the_same_through_both(kernel_summary_program) -> None:
    def counts(s: Summary) -> dict[str, tuple[object, ...]]:
        return {x.name: (tuple(sorted(x.counts.items())), x.lookup_miss, x.exec_errors,
                         x.alloc_bytes, x.free_bytes)
                for x in s.states if x.name.startswith("tr_mech")}

    def samples(s: Summary) -> dict[tuple[str, str], int]:
        return {(n, k): h.total for (_, n, k), h in s.histograms.items()
                if n.startswith("tr_mech") and k != "lock_wait" and k != "lock_hold"}

    kp = run(kernel_summary_program, "kprobe").summary()
    tp = run(kernel_summary_program, "tracepoint").summary()
    assert kp.drops == tp.drops == 0
    assert counts(kp) == counts(tp) and len(counts(tp)) == len(NAMES) + 1
    assert samples(kp) == samples(tp)
    for kind in ("lock_wait", "lock_hold"):
        assert kp.histogram(kind).total == tp.histogram(kind).total > 0


def test_ftrace_reads_the_tracepoints() -> None:
    """The events of one execute through ftrace alone, no BPF."""
    enable = EVENTS / "enable"
    (TRACEFS / "trace").write_text("")
    enable.write_text("1")
    try:
        states = lunatik_bpf.connect("kernel")
        states.new("tr_mech_ftrace", 1 << 16)
        assert states.execute("tr_mech_ftrace", "return 6 * 7") == "42"
        states.close("tr_mech_ftrace")
        states.disconnect()
    finally:
        enable.write_text("0")
    lines = [ln for ln in (TRACEFS / "trace").read_text().splitlines()
             if "name=tr_mech_ftrace" in ln and "lunatik_charge" not in ln]
    kinds = [ln.split(": ", 2)[1].split(":")[0].strip() for ln in lines]
    assert kinds[0] == "lunatik_create" and "lunatik_exec_end" in kinds
    assert any("lunatik_exec_end:" in ln and "status=0" in ln for ln in lines)
    assert kinds[-3:] == ["lunatik_remove", "lunatik_free", "lunatik_put"]


@pytest.mark.skipif(shutil.which("perf") is None, reason="linux-perf is not installed")
def test_perf_lists_the_tracepoints() -> None:
    out = subprocess.run(["perf", "list", "lunatik:*"], capture_output=True, text=True,
                         timeout=120).stdout
    for tp in MODULE_TRACEPOINTS:
        assert f"lunatik:{tp}" in out, out


def test_bpftrace_one_liner(tmp_path: Path) -> None:
    """The README's one-liner: executes by name and status."""
    script = tmp_path / "w.py"
    script.write_text("import lunatik_bpf\n"
                      "s = lunatik_bpf.connect('kernel')\n"
                      "s.new('tr_mech_bt', 1 << 16)\n"
                      "for _ in range(3): s.execute('tr_mech_bt', 'return 1')\n"
                      "s.close('tr_mech_bt')\n")
    prog = ("tracepoint:lunatik:lunatik_exec_end "
            "{ @[str(args->name), args->status] = count(); }")
    out = subprocess.run(["bpftrace", "-e", prog, "-c", f"{sys.executable} {script}"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "@[tr_mech_bt, 0]: 3" in out.stdout, out.stdout


def test_auto_falls_back_to_kprobes_without_tracepoints(kernel_program) -> None:
    """A build of the module without tracepoints is traced with kprobes, and
    asking for its tracepoints says what is missing."""
    assert NOTRACE_KO.is_file(), f"{NOTRACE_KO} missing: make kmod-notrace"
    lunatik_bpf.connect("kernel").close_all()
    with module_swapped(NOTRACE_KO):
        assert module_tracepoints() == set()
        with pytest.raises(SymbolMissing, match="lacks the tracepoints"):
            Tracer(program=kernel_program, probes="tracepoint").start()
        assert not kernel_program.busy
        with Tracer(program=kernel_program) as tracer:
            assert tracer.probes == "kprobe"
            workload()
        assert [str(f) for f in tracer.findings] == [] and tracer.drops == 0
        assert {"create", "remove", "exec_end", "free"} <= {e.kind for e in ours(tracer.events)}
    assert set(MODULE_TRACEPOINTS) <= module_tracepoints()
