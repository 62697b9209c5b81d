"""make bench's protocol: each configuration compiled and attached once,
then compared with untraced runs in alternating blocks, ABBA order
(bench/stats.py), inside one process (one VM boot for the kernel half).

A block runs every workload once (build/bench/lunatik-bench, --seconds S);
a pair is an untraced and a traced block of the same configuration, next to
each other. Per workload and configuration: the median ratio traced /
untraced over the pairs and the median time added per operation, each with
its bootstrap 95% interval.

How a configuration is switched between its blocks without a new compile
or a new attach (which under TCG takes a minute):

  - "kprobes" (kernel, kprobe-based): attached once; the untraced blocks
    run with every kprobe disarmed (/sys/kernel/debug/kprobes/enabled = 0:
    the probed functions are back to their unpatched code), the traced ones
    armed. Tracepoints a session also holds (lock:contention_*) stay on in
    both: they fire only on contention;
  - "library" (host, uprobes): attached once on build/bench/liblunatik-
    bench.so; the untraced blocks load a byte-identical copy
    (liblunatik-plain.so), another inode, which no uprobe is on;
  - "reattach" (kernel tracepoints: nothing disarms a BPF program on a
    tracepoint): compiled once, attached for each run of traced blocks and
    detached after it; in ABBA order two traced blocks are adjacent, so a
    peer process that takes ~30 s to attach (bpftrace) starts ceil(pairs/2)
    times.

The A/A configuration goes through the same switch with nothing attached:
its interval is the noise floor of the comparison.
"""
from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import stats, throughput
from .figures import Figure

KPROBES_SWITCH = Path("/sys/kernel/debug/kprobes/enabled")
LUNATIK_EVENTS = Path("/sys/kernel/tracing/events/lunatik")
PLAIN_LIBRARY = throughput.OUT / "liblunatik-plain.so"
PEER_TP_BT = Path(__file__).resolve().parent / "peer_tp.bt"

MIN_PAIRS = 15


class NotMeasured(Exception):
    """A configuration that cannot run here: the message says why."""


# ---- switches ----

def kprobes_armed(on: bool) -> None:
    KPROBES_SWITCH.write_text("1\n" if on else "0\n")


def prepare(backend: str) -> None:
    throughput.prepare(backend)
    if backend == "user":
        tmp = PLAIN_LIBRARY.with_suffix(f".tmp{os.getpid()}")
        shutil.copy2(throughput.SOURCE_LIBRARY, tmp)
        os.replace(tmp, PLAIN_LIBRARY)


# ---- our tracer ----

_PROGRAMS: dict[tuple[str, str, str], Any] = {}


def _tracer_module() -> Any:
    from lunatik_bpf import tracer as tr
    return tr


def has_lunatik_tracepoints() -> bool:
    return LUNATIK_EVENTS.is_dir()


def program(backend: str, mode: str, probes: str) -> Any:
    """Our BPF program for (backend, mode, probes), compiled once per run
    (the hit bench reuses the throughput's). Raises NotMeasured when this
    tree cannot give it."""
    key = (backend, mode, probes)
    if key in _PROGRAMS:
        return _PROGRAMS[key]
    tr = _tracer_module()
    if backend == "kernel" and probes == "tracepoint" and not has_lunatik_tracepoints():
        raise NotMeasured(f"the module has no tracepoints ({LUNATIK_EVENTS} missing)")
    build = getattr(tr, "build_program", None) or tr.compile
    if "probes" in inspect.signature(tr.Program).parameters:
        _PROGRAMS[key] = tr.Program(backend, mode, probes=probes)
        return _PROGRAMS[key]
    # the Program does not take probes= (yet): the Tracer picks the mechanism
    # at attach; its check comes first, before a minute of compile
    check = getattr(tr, "mechanism", None)
    if "probes" not in inspect.signature(tr.Tracer).parameters:
        if probes not in ("auto", _default_mechanism(backend)):
            raise NotMeasured(f"the Tracer rejects probes= (no probes parameter): "
                              f"{probes} not available")
    elif check is not None:
        try:
            check(backend, probes)
        except (NotImplementedError, ValueError) as exc:
            raise NotMeasured(f"the Tracer rejects probes={probes!r}: {exc}") from None
    _PROGRAMS[key] = build(backend, mode)
    return _PROGRAMS[key]


def close_programs() -> None:
    for p in _PROGRAMS.values():
        try:
            p.close()
        except Exception:
            pass
    _PROGRAMS.clear()


def _default_mechanism(backend: str) -> str:
    return "uprobe" if backend == "user" else "kprobe"


def attachments(tracer: Any) -> list[tuple[str, str]]:
    """(how, point) of what a Tracer attached, old (tuples) or new API."""
    out = []
    for a in getattr(tracer, "_attached", []) or []:
        if hasattr(a, "how"):
            out.append((str(a.how), str(a.point)))
        else:
            out.append((str(a[0]), str(a[-1])))
    return out


class Ours:
    """Our tracer in one mode and mechanism: compiled once, each start() a
    new Tracer session on the same program."""

    def __init__(self, backend: str, mode: str, probes: str) -> None:
        self.backend, self.mode, self.probes = backend, mode, probes
        self.tracer: Any = None
        self.program: Any = None
        self.events = 0
        self.notes: list[str] = []
        self.startup: list[tuple[str, float, str]] = []

    def compile(self) -> None:
        t0 = time.monotonic()
        self.program = program(self.backend, self.mode, self.probes)
        took = getattr(self.program, "compile_seconds", time.monotonic() - t0)
        self.startup.append((f"compile / {self.mode} ({self.probes})", took, "BCC compile and load"))

    def start(self) -> None:
        tr = _tracer_module()
        kw: dict[str, Any] = {"retain": False}
        if self.backend == "user":
            kw.update(library=throughput.LIBRARY, pid=-1)
        if "probes" in inspect.signature(tr.Tracer).parameters:
            kw["probes"] = self.probes
        t0 = time.monotonic()
        try:
            self.tracer = tr.Tracer(backend=self.backend, mode=self.mode,
                                    program=self.program, **kw)
            self.tracer.start()
        except (NotImplementedError, ValueError, TypeError) as exc:
            self.tracer = None
            raise NotMeasured(f"the Tracer rejects probes={self.probes!r}: {exc}") from None
        got = attachments(self.tracer)
        self.startup.append((f"attach / {self.mode} ({self.probes})", time.monotonic() - t0,
                             f"{len(got)} probes: " + ", ".join(sorted({h for h, _ in got}))))

    def between(self) -> None:
        if self.tracer is not None and self.mode == "stream" and self.tracer.events:
            self.events += len(self.tracer.events)
            self.tracer.events.clear()

    def stop(self) -> None:
        if self.tracer is None:
            return
        t = self.tracer
        summary = None
        try:
            if self.mode == "summary":
                summary = t.summary()
        finally:
            t.stop()
        self.tracer = None
        if self.mode == "stream":
            n = max(self.events + len(t.events), int(getattr(t, "event_count", 0)))
            self.notes.append(f"{n:,} events, {t.drops:,} dropped, {len(t.findings)} findings")
        elif summary is not None:
            n = sum(sum(s.counts.values()) for s in summary.states)
            self.notes.append(f"{n:,} events counted, {len(summary.states)} state keys")

    def note(self) -> str:
        if not self.notes:
            return ""
        return self.notes[-1] if len(self.notes) == 1 else f"{len(self.notes)} sessions, last: {self.notes[-1]}"


# ---- peers ----

class BpftraceTp(throughput.Bpftrace):
    def script(self) -> Path:
        return PEER_TP_BT


class Peer:
    """A peer tool: each start() a new process, waited for until attached."""

    def __init__(self, backend: str, name: str, make: Callable[[], throughput.Peer]) -> None:
        self.backend, self.name, self.make = backend, name, make
        self.proc: throughput.Peer | None = None
        self.notes: list[str] = []
        self.startup: list[tuple[str, float, str]] = []

    def compile(self) -> None:
        pass

    def start(self) -> None:
        p = self.make()
        p.start()
        if p.failure:
            raise NotMeasured(f"{self.name} did not attach: {p.failure}")
        self.proc = p
        self.startup += p.startup

    def between(self) -> None:
        pass

    def stop(self) -> None:
        if self.proc is not None:
            self.notes.append(self.proc.stop())
            self.proc = None

    def note(self) -> str:
        return "; ".join(n for n in self.notes[-1:] if n)


class Nothing:
    startup: list[tuple[str, float, str]] = []

    def compile(self) -> None: ...
    def start(self) -> None: ...
    def between(self) -> None: ...
    def stop(self) -> None: ...
    def note(self) -> str: return ""


# ---- configurations ----

@dataclass
class Config:
    name: str               # "summary (tracepoint)", the row's configuration
    sees: str               # "summary", ...: the key of throughput.SEES
    switch: str             # "kprobes", "library", "reattach"
    session: Any
    failure: str = ""
    traced: bool = False
    seconds: float = 0.0
    blocks: int = 0

    def setup(self) -> None:
        # attached while kprobes are armed: one created while they are
        # disarmed stays disabled when they are armed again (6.1)
        if self.switch == "kprobes":
            kprobes_armed(True)
        self.session.compile()
        if self.switch != "reattach":
            self.session.start()
            self.traced = True
            self.set(False)

    def set(self, traced: bool) -> None:
        if traced == self.traced:
            return
        if self.switch == "kprobes":
            kprobes_armed(traced)
        elif self.switch == "reattach":
            if traced:
                self.session.start()
            else:
                self.session.stop()
        self.traced = traced

    def library(self, traced: bool) -> Path | None:
        if self.switch == "library":
            return throughput.LIBRARY if traced else PLAIN_LIBRARY
        return None

    def teardown(self) -> str:
        try:
            if self.switch == "kprobes":
                kprobes_armed(True)
            self.session.stop()
        finally:
            self.traced = False
        return self.session.note()


def configs(backend: str, p: throughput.Params, names: tuple[str, ...] | None = None) -> list[Config]:
    """The configurations of one half, in run order (most wanted first)."""
    out: list[Config] = []
    if backend == "kernel":
        kp = "kprobes"
        out.append(Config("A/A", "", kp, Nothing()))
        out.append(Config("summary (tracepoint)", "summary", "reattach",
                          Ours(backend, "summary", "tracepoint")))
        out.append(Config("summary (kprobe)", "summary", kp, Ours(backend, "summary", "kprobe")))
        out.append(Config("stream", "stream", kp, Ours(backend, "stream", "kprobe")))
        out.append(Config("funclatency", "funclatency", kp,
                          Peer(backend, "funclatency", lambda: throughput.Funclatency("funclatency", backend, p))))
        out.append(Config("bpftrace (kprobe)", "bpftrace", kp,
                          Peer(backend, "bpftrace", lambda: throughput.Bpftrace("bpftrace", backend, p))))
        # last of the kprobe peers: its output floods the VM (minutes of blocks)
        out.append(Config("trace", "trace", kp,
                          Peer(backend, "trace", lambda: throughput.Trace("trace", backend, p))))
        out.append(Config("bpftrace (tracepoint)", "bpftrace", "reattach",
                          Peer(backend, "bpftrace", lambda: BpftraceTp("bpftrace", backend, p))))
    else:
        lib = "library"
        out.append(Config("A/A", "", lib, Nothing()))
        out.append(Config("summary", "summary", lib, Ours(backend, "summary", "uprobe")))
        out.append(Config("stream", "stream", lib, Ours(backend, "stream", "uprobe")))
        out.append(Config("funclatency", "funclatency", lib,
                          Peer(backend, "funclatency", lambda: throughput.Funclatency("funclatency", backend, p))))
        out.append(Config("trace", "trace", lib,
                          Peer(backend, "trace", lambda: throughput.Trace("trace", backend, p))))
        out.append(Config("bpftrace", "bpftrace", lib,
                          Peer(backend, "bpftrace", lambda: throughput.Bpftrace("bpftrace", backend, p))))
    if names:
        out = [c for c in out if c.name in names or c.name.split(" ")[0] in names]
    return out


# ---- the run ----

@dataclass
class Blocks:
    """What one configuration's blocks measured: workload -> (pair, traced, ops/s)."""
    values: dict[str, list[tuple[int, bool, float]]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def run_blocks(cfg: Config, backend: str, workloads: tuple[str, ...], pairs: int,
               seconds: float, deadline: float) -> Blocks:
    got = Blocks({w: [] for w in workloads})
    for i, traced in stats.abba(pairs):
        if time.monotonic() > deadline:
            for w in workloads:
                got.failures.setdefault(w, f"time budget spent after {i} pairs")
            break
        cfg.set(traced)
        cfg.blocks += 1
        for w in workloads:
            if w in got.failures:
                continue
            if time.monotonic() > deadline:
                got.failures[w] = f"time budget spent in pair {i}"
                continue
            try:
                r = throughput.drive(backend, w, seconds, cfg.library(traced))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                got.failures[w] = str(exc)
                continue
            got.values[w].append((i, traced, float(r["ops_per_s"])))
            got.errors[w] = got.errors.get(w, 0) + int(r["errors"])
            cfg.session.between()
    return got


def figures_of(cfg: Config, backend: str, where: str, got: Blocks, note: str) -> list[Figure]:
    out = []
    for w, blocks in got.values.items():
        what = f"{w} / {cfg.name}"
        pairs = stats.pairs_of(blocks)
        if len(pairs) < 2:
            why = got.failures.get(w, "fewer than 2 pairs")
            out.append(Figure(where, "throughput", what, 0.0, "ops/s", None,
                              f"not measured: {why}"))
            continue
        r = stats.ratio_interval(pairs)
        a = stats.added_interval(pairs)
        untraced = stats.median([x for x, _ in pairs])
        traced = stats.median([y for _, y in pairs])
        parts = [f"{len(pairs)} ABBA pairs x {cfg.seconds:g} s, untraced {untraced:,.0f} ops/s",
                 f"switch: {cfg.switch}"]
        if len(pairs) < MIN_PAIRS:
            why = got.failures.get(w, "")
            parts.append(f"ONLY {len(pairs)} pairs" + (f" ({why})" if why else ""))
        if got.errors.get(w):
            parts.append(f"{got.errors[w]} op errors")
        if cfg.sees and w == next(iter(got.values)):
            parts.append(throughput._sees(cfg.sees, backend))
        if note:
            parts.append(f"session: {note}")
        out.append(Figure(where, "throughput", what, round(traced, 1), "ops/s",
                          round(r.point, 4), "; ".join(parts), round(a.point, 3),
                          pairs=len(pairs), ratio_lo=round(r.lo, 4), ratio_hi=round(r.hi, 4),
                          added_lo=round(a.lo, 3), added_hi=round(a.hi, 3)))
    return out


def run(backend: str, where: str, quick: bool = False, pairs: int = MIN_PAIRS,
        budget: float = 11 * 60.0, names: tuple[str, ...] | None = None,
        after: Callable[[Config], None] | None = None) -> list[Figure]:
    """Every configuration of one half through the protocol. budget: seconds
    for the whole half; a configuration that would start past it is not
    measured (said so), one running past it stops at the pair it reached.
    after(cfg) runs once a configuration is torn down (the hit bench goes
    there, to reuse the programs compiled so far)."""
    p = throughput.params(backend, quick)
    prepare(backend)
    seconds = 0.2 if quick else (0.3 if backend == "kernel" else 0.5)
    t_start = time.monotonic()
    deadline = t_start + budget
    figures: list[Figure] = []
    workloads = throughput.WORKLOADS
    for cfg in configs(backend, p, names):
        cfg.seconds = seconds
        left = deadline - time.monotonic()
        print(f"bench: protocol {backend}: {cfg.name} ({left:.0f} s of budget left)", flush=True)
        if left <= 0:
            figures += [Figure(where, "throughput", f"{w} / {cfg.name}", 0.0, "ops/s", None,
                               f"not measured: the half's time budget ({budget:.0f} s) was spent")
                        for w in workloads]
            continue
        t0 = time.monotonic()
        note = ""
        try:
            cfg.setup()
            got = run_blocks(cfg, backend, workloads, pairs, seconds, deadline)
        except NotMeasured as exc:
            cfg.failure = str(exc)
        except Exception as exc:        # a tracer error: one line, the bench goes on
            cfg.failure = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                note = cfg.teardown()
            except Exception as exc:
                note = f"stopping failed: {type(exc).__name__}: {exc}"
        for what, value, extra in getattr(cfg.session, "startup", []):
            figures.append(Figure(where, "startup", what, round(value, 4), "s", None, extra))
        if cfg.failure:
            figures += [Figure(where, "throughput", f"{w} / {cfg.name}", 0.0, "ops/s", None,
                               f"not measured: {cfg.failure}") for w in workloads]
        else:
            figures += figures_of(cfg, backend, where, got, note)
        print(f"bench: protocol {backend}: {cfg.name}: {time.monotonic() - t0:.0f} s, "
              f"{cfg.blocks} blocks{': ' + cfg.failure if cfg.failure else ''}", flush=True)
        if after is not None:
            after(cfg)
    print(f"bench: protocol {backend}: {time.monotonic() - t_start:.0f} s", flush=True)
    return figures
