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
PLAIN_LIBRARY_B = throughput.OUT / "liblunatik-plain-b.so"   # the A/A's other copy
PEER_TP_BT = Path(__file__).resolve().parent / "peer_tp.bt"


class NotMeasured(Exception):
    """A configuration that cannot run here: the message says why."""


# ---- switches ----

KPROBES_LIST = Path("/sys/kernel/debug/kprobes/list")


def kprobes_armed(on: bool) -> None:
    KPROBES_SWITCH.write_text("1\n" if on else "0\n")


def disabled_kprobes(symbols: tuple[str, ...] = ("lunatik_",)) -> list[str]:
    """Kprobes on our functions that are registered but [DISABLED] although
    kprobes are armed: they would not fire (6.1 leaves a kprobe created
    under a global disarm disabled), and a figure of them would read ~0."""
    try:
        text = KPROBES_LIST.read_text()
    except OSError:
        return []
    return [ln.split()[2] for ln in text.splitlines()
            if "[DISABLED]" in ln and len(ln.split()) > 2
            and any(ln.split()[2].startswith(s) for s in symbols)]


def prepare(backend: str) -> None:
    throughput.prepare(backend)
    if backend == "user":
        for plain in (PLAIN_LIBRARY, PLAIN_LIBRARY_B):
            tmp = plain.with_suffix(f".tmp{os.getpid()}")
            shutil.copy2(throughput.SOURCE_LIBRARY, tmp)
            os.replace(tmp, plain)


# ---- our tracer ----

_PROGRAMS: dict[tuple[str, str], Any] = {}


def has_lunatik_tracepoints() -> bool:
    return LUNATIK_EVENTS.is_dir()


def program(backend: str, mode: str, probes: str) -> Any:
    """Our BPF program for (backend, mode), compiled once per run: the same
    program serves both kernel mechanisms (and the hit bench reuses it).
    Raises NotMeasured when the loaded module has no tracepoints and
    probes is "tracepoint"."""
    from lunatik_bpf.tracing.tracer import build_program
    if backend == "kernel" and probes == "tracepoint" and not has_lunatik_tracepoints():
        raise NotMeasured(f"the loaded module has no tracepoints ({LUNATIK_EVENTS} missing)")
    key = (backend, mode)
    if key not in _PROGRAMS:
        _PROGRAMS[key] = build_program(backend, mode)
    return _PROGRAMS[key]


def close_programs() -> None:
    for p in _PROGRAMS.values():
        try:
            p.close()
        except Exception:
            pass
    _PROGRAMS.clear()


def attachments(tracer: Any) -> list[tuple[str, str]]:
    """(how, point) of what a started Tracer attached."""
    return [(a.how, a.point) for a in tracer.program.attached]


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
        compiled = (self.backend, self.mode) in _PROGRAMS
        self.program = program(self.backend, self.mode, self.probes)
        if not compiled:
            self.startup.append((f"compile / {self.mode}", self.program.compile_seconds,
                                 "BCC compile and load (one program for every mechanism)"))

    def start(self) -> None:
        from lunatik_bpf.tracing.tracer import Tracer
        kw: dict[str, Any] = {}
        if self.backend == "user":
            kw.update(library=throughput.LIBRARY, pid=-1)
        t0 = time.monotonic()
        self.tracer = Tracer(backend=self.backend, mode=self.mode, program=self.program,
                             retain=False, probes=self.probes, **kw)
        try:
            self.tracer.start()
        except BaseException:
            self.tracer = None
            raise
        if self.tracer.probes != self.probes:
            raise RuntimeError(f"asked for {self.probes}, the session attached {self.tracer.probes}")
        got = attachments(self.tracer)
        if not self.startup or not self.startup[-1][0].startswith("attach /"):
            self.startup.append((f"attach / {self.mode} ({self.probes})", time.monotonic() - t0,
                                 f"{len(got)} attachments: "
                                 + ", ".join(f"{n} {h}" for h, n in _count_hows(got))))

    def pause(self) -> None:
        self.stop()

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
            n = max(self.events + len(t.events), t.event_count)
            self.notes.append(f"{n:,} events, {t.drops:,} dropped, {len(t.findings)} findings")
        elif summary is not None:
            n = sum(sum(s.counts.values()) for s in summary.states)
            self.notes.append(f"{n:,} events counted, {len(summary.states)} state keys")

    def note(self) -> str:
        if not self.notes:
            return ""
        return self.notes[-1] if len(self.notes) == 1 else f"{len(self.notes)} sessions, last: {self.notes[-1]}"


def _count_hows(got: list[tuple[str, str]]) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for how, _ in got:
        out[how] = out.get(how, 0) + 1
    return sorted(out.items())


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
        self.killed = 0

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

    def pause(self) -> None:
        """Between blocks (reattach): SIGKILL, not SIGINT. bpftrace prints
        its maps at SIGINT, which under TCG took minutes per stop (a map
        key per state); what it costs while attached is what the blocks
        measure, its final print is the last session's (teardown)."""
        if self.proc is not None:
            self.proc._kill()
            self.proc = None
            self.killed += 1

    def stop(self) -> None:
        if self.proc is not None:
            self.notes.append(self.proc.stop())
            self.proc = None

    def note(self) -> str:
        note = "; ".join(n for n in self.notes[-1:] if n)
        if self.killed:
            note = (f"{self.killed} sessions killed between blocks (no exit print)"
                    + (f"; the last stopped with SIGINT: {note}" if note else ""))
        return note


class Nothing:
    startup: list[tuple[str, float, str]] = []

    def compile(self) -> None: ...
    def start(self) -> None: ...
    def between(self) -> None: ...
    def pause(self) -> None: ...
    def stop(self) -> None: ...
    def note(self) -> str: return ""


# ---- configurations ----

@dataclass
class Config:
    name: str               # "summary (tracepoint)", the row's configuration
    sees: str               # "summary", ...: the key of throughput.SEES
    switch: str             # "kprobes", "library", "reattach", "module"
    session: Any
    group: str = ""         # configurations of one group run interleaved, round by round
    precise: bool = False   # long blocks (plan()): the comparisons the 2%/5% targets judge
    failure: str = ""
    traced: bool = False
    seconds: float = 0.0
    pairs: int = 0
    blocks: int = 0

    def setup(self) -> None:
        # attached while kprobes are armed: one created while they are
        # disarmed stays disabled when they are armed again (6.1)
        if self.switch == "kprobes":
            kprobes_armed(True)
        self.session.compile()
        if self.switch == "module":
            self.traced = True          # kernel/lunatik.ko, loaded by the harness
            return
        if self.switch not in ("reattach",):
            self.session.start()
            self.traced = True
            self.set(False)

    def set(self, traced: bool) -> None:
        if traced == self.traced:
            return
        if self.switch == "kprobes":
            kprobes_armed(traced)
            off = disabled_kprobes() if traced else []
            if off:
                raise RuntimeError(f"kprobes armed but disabled: {', '.join(off[:4])}")
        elif self.switch == "reattach":
            if traced:
                self.session.start()
            else:
                self.session.pause()
        elif self.switch == "module":
            swap_module(WITH_TRACEPOINTS if traced else WITHOUT_TRACEPOINTS)
        self.traced = traced

    def park(self) -> None:
        """Leaves the machine as the other configurations of its group expect
        it: nothing of ours attached or armed, the module with tracepoints."""
        self.set(self.switch == "module")

    def library(self, traced: bool) -> Path | None:
        """The library a block loads (host). The A/A's B blocks load a
        second plain copy, not the probed one: interleaved with the summary,
        whose uprobes stay on the probed copy for the whole group, they
        would be traced."""
        if self.switch != "library":
            return None
        if not traced:
            return PLAIN_LIBRARY
        return throughput.LIBRARY if self.sees else PLAIN_LIBRARY_B

    def teardown(self) -> str:
        try:
            if self.switch == "module":
                self.set(True)
                return ""
            if self.switch == "kprobes":
                kprobes_armed(True)
            self.session.stop()
        finally:
            self.traced = self.switch == "module"
        return self.session.note()


# ---- the module swap: the untraced cost of having tracepoints ----

WITH_TRACEPOINTS = throughput.REPO / "kernel" / "lunatik.ko"
WITHOUT_TRACEPOINTS = throughput.REPO / "build" / "kmod-notrace" / "lunatik.ko"


def swap_module(ko: Path) -> None:
    """rmmod lunatik; insmod ko (nothing may hold the module: no raw
    tracepoint session, no hitbench.ko)."""
    for argv in (["rmmod", "lunatik"], ["insmod", str(ko)]):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")


class ModuleCheck(Nothing):
    """The A/B of the two builds: stands for the session, checks the build."""

    def compile(self) -> None:
        if not WITHOUT_TRACEPOINTS.is_file():
            raise NotMeasured(f"{WITHOUT_TRACEPOINTS} missing (make kmod-notrace)")
        if not has_lunatik_tracepoints():
            raise NotMeasured("the loaded module has no tracepoints: nothing to compare")


def configs(backend: str, p: throughput.Params, names: tuple[str, ...] | None = None) -> list[Config]:
    """The configurations of one half, in run order. Those of a group
    ("precise") run interleaved, one ABBA pair each per round; the others
    one after the other, each with its own blocks."""
    out: list[Config] = []
    if backend == "kernel":
        kp = "kprobes"
        out.append(Config("A/A", "", kp, Nothing(), group="precise", precise=True))
        out.append(Config("untraced: tracepoints / none", "", "module", ModuleCheck(),
                          group="precise", precise=True))
        out.append(Config("summary (tracepoint)", "summary", "reattach",
                          Ours(backend, "summary", "tracepoint"), group="precise", precise=True))
        out.append(Config("summary (kprobe)", "summary", kp, Ours(backend, "summary", "kprobe")))
        out.append(Config("stream (tracepoint)", "stream", "reattach",
                          Ours(backend, "stream", "tracepoint")))
        out.append(Config("funclatency", "funclatency", kp,
                          Peer(backend, "funclatency", lambda: throughput.Funclatency("funclatency", backend, p))))
        out.append(Config("bpftrace (kprobe)", "bpftrace", kp,
                          Peer(backend, "bpftrace", lambda: throughput.Bpftrace("bpftrace", backend, p))))
        out.append(Config("bpftrace (tracepoint)", "bpftrace", "reattach",
                          Peer(backend, "bpftrace", lambda: BpftraceTp("bpftrace", backend, p))))
        # last: its output floods the VM
        out.append(Config("trace", "trace", kp,
                          Peer(backend, "trace", lambda: throughput.Trace("trace", backend, p))))
    else:
        lib = "library"
        out.append(Config("A/A", "", lib, Nothing(), group="precise", precise=True))
        out.append(Config("summary", "summary", lib, Ours(backend, "summary", "uprobe"),
                          group="precise", precise=True))
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


@dataclass(frozen=True)
class Plan:
    """Block length and pairs: the precise group (A/A, the module A/B, our
    summary) long enough for a ~2% interval, the rest (effects of tens of
    percent, peers compared by time added) shorter."""
    precise_seconds: float
    precise_pairs: int
    other_seconds: float
    other_pairs: int
    warmup_seconds: float


def plan(backend: str, quick: bool, pairs: int | None = None) -> Plan:
    if backend == "kernel":
        # measured in the VM (TCG, 2 vCPUs on a shared 2-core host): the sd
        # of log(B/A) of two adjacent untraced runs was 8-45% at 0.5 s,
        # 8-13% at 1 s, 17-50% at 2 s, 3-15% at 4 s: bursts of the host's
        # load, not a noise that longer blocks average out; the interval
        # narrows with more pairs (1/sqrt(n)), so short blocks, many pairs
        p = Plan(0.3, 12, 0.3, 5, 1.0) if quick else Plan(0.5, 24, 0.5, 8, 1.0)
    else:
        p = Plan(0.3, 12, 0.3, 6, 0.5) if quick else Plan(0.5, 30, 0.5, 10, 1.0)
    if pairs:
        p = Plan(p.precise_seconds, pairs, p.other_seconds, pairs, p.warmup_seconds)
    return p


def estimate(backend: str, quick: bool, pairs: int | None = None) -> float:
    """Seconds of blocks alone (every workload, both halves of every pair),
    without compiles, attaches, switches and the driver's start: what the
    plan spends for sure."""
    pl = plan(backend, quick, pairs)
    n = len(throughput.WORKLOADS) * 2
    total = n * pl.warmup_seconds / 2
    for c in configs(backend, throughput.params(backend, quick)):
        total += (pl.precise_pairs * pl.precise_seconds if c.precise
                  else pl.other_pairs * pl.other_seconds) * n
    return total


# ---- the run ----

@dataclass
class Blocks:
    """What one configuration's blocks measured: workload -> (pair, traced, ops/s)."""
    values: dict[str, list[tuple[int, bool, float]]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def _block(cfg: Config, got: Blocks, backend: str, workloads: tuple[str, ...], i: int,
           traced: bool, deadline: float) -> None:
    cfg.set(traced)
    cfg.blocks += 1
    for w in workloads:
        if w in got.failures:
            continue
        if time.monotonic() > deadline:
            got.failures[w] = f"time budget spent in pair {i}"
            continue
        try:
            r = throughput.drive(backend, w, cfg.seconds, cfg.library(traced))
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            got.failures[w] = str(exc)
            continue
        got.values[w].append((i, traced, float(r["ops_per_s"])))
        got.errors[w] = got.errors.get(w, 0) + int(r["errors"])
        cfg.session.between()


def run_group(cfgs: list[Config], backend: str, workloads: tuple[str, ...],
              deadline: float) -> dict[str, Blocks]:
    """Round after round, each configuration one ABBA pair (its AB or BA of
    that round), then parked: drift over the run is shared by all of them.
    A configuration that fails is dropped from the rounds, said so."""
    got = {c.name: Blocks({w: [] for w in workloads}) for c in cfgs}
    rounds = max(c.pairs for c in cfgs)
    for i in range(rounds):
        live = [c for c in cfgs if not c.failure and i < c.pairs]
        if not live:
            break
        if time.monotonic() > deadline:
            for c in live:
                for w in workloads:
                    got[c.name].failures.setdefault(w, f"time budget spent after {i} pairs")
            break
        for c in live:
            try:
                for j, traced in stats.abba(i + 1):
                    if j == i:
                        _block(c, got[c.name], backend, workloads, i, traced, deadline)
                if len(live) > 1:
                    c.park()
            except NotMeasured as exc:
                c.failure = str(exc)
            except Exception as exc:
                c.failure = f"{type(exc).__name__}: {exc}"
    return got


def run_blocks(cfg: Config, backend: str, workloads: tuple[str, ...], pairs: int,
               seconds: float, deadline: float) -> Blocks:
    """One configuration alone (tests, and the old entry point)."""
    cfg.pairs, cfg.seconds = pairs, seconds
    return run_group([cfg], backend, workloads, deadline)[cfg.name]


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
        base = "without tracepoints" if cfg.switch == "module" else "untraced"
        parts = [f"{len(pairs)} ABBA pairs x {cfg.seconds:g} s, {base} {untraced:,.0f} ops/s",
                 f"switch: {SWITCH_TEXT[cfg.switch]}"]
        if cfg.group:
            parts.append(f"interleaved round by round with the {cfg.group} group")
        if len(pairs) < cfg.pairs:
            why = got.failures.get(w, "")
            parts.append(f"ONLY {len(pairs)} of {cfg.pairs} pairs" + (f" ({why})" if why else ""))
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


SWITCH_TEXT = {"kprobes": "kprobes disarmed/armed", "library": "plain/probed library copy",
               "reattach": "attached per traced run", "module": "rmmod/insmod between blocks"}


def warm_up(backend: str, workloads: tuple[str, ...], seconds: float) -> None:
    """One unrecorded run of every workload (caches, the allocator, page
    faults of a first run)."""
    for w in workloads:
        try:
            throughput.drive(backend, w, seconds,
                             throughput.LIBRARY if backend == "user" else None)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass


def _not_measured(where: str, cfg: Config, why: str) -> list[Figure]:
    return [Figure(where, "throughput", f"{w} / {cfg.name}", 0.0, "ops/s", None,
                   f"not measured: {why}") for w in throughput.WORKLOADS]


def run(backend: str, where: str, quick: bool = False, pairs: int | None = None,
        budget: float = 11 * 60.0, names: tuple[str, ...] | None = None,
        after: Callable[[Config], None] | None = None) -> list[Figure]:
    """Every configuration of one half through the protocol: the precise
    group first, interleaved, then the others one by one. budget: seconds
    for the whole half; a configuration that would start past it is not
    measured (said so), one running past it stops at the pair it reached.
    after(cfg) runs once a configuration is torn down (the hit bench goes
    there, to reuse the programs compiled so far)."""
    p = throughput.params(backend, quick)
    pl = plan(backend, quick, pairs)
    prepare(backend)
    t_start = time.monotonic()
    deadline = t_start + budget
    figures: list[Figure] = []
    workloads = throughput.WORKLOADS
    warm_up(backend, workloads, pl.warmup_seconds)
    steps: list[list[Config]] = []
    for cfg in configs(backend, p, names):
        cfg.seconds, cfg.pairs = ((pl.precise_seconds, pl.precise_pairs) if cfg.precise
                                  else (pl.other_seconds, pl.other_pairs))
        if cfg.group and steps and steps[-1][0].group == cfg.group:
            steps[-1].append(cfg)
        else:
            steps.append([cfg])
    for step in steps:
        label = " + ".join(c.name for c in step)
        left = deadline - time.monotonic()
        print(f"bench: protocol {backend}: {label} ({left:.0f} s of budget left)", flush=True)
        if left <= 0:
            for cfg in step:
                figures += _not_measured(where, cfg,
                                         f"the half's time budget ({budget:.0f} s) was spent")
            continue
        t0 = time.monotonic()
        got: dict[str, Blocks] = {}
        live = []
        for cfg in step:
            try:
                cfg.setup()
                cfg.park() if len(step) > 1 else None
                live.append(cfg)
            except NotMeasured as exc:
                cfg.failure = str(exc)
            except Exception as exc:        # a tracer error: one line, the bench goes on
                cfg.failure = f"{type(exc).__name__}: {exc}"
        try:
            if live:
                got = run_group(live, backend, workloads, deadline)
        finally:
            notes = {}
            for cfg in step:
                try:
                    notes[cfg.name] = cfg.teardown()
                except Exception as exc:
                    notes[cfg.name] = f"stopping failed: {type(exc).__name__}: {exc}"
        for cfg in step:
            seen = set()
            for what, value, extra in cfg.session.startup:
                if what not in seen:
                    seen.add(what)
                    figures.append(Figure(where, "startup", what, round(value, 4), "s", None, extra))
            if cfg.failure and not any(got.get(cfg.name, Blocks()).values.values()):
                figures += _not_measured(where, cfg, cfg.failure)
            else:
                note = notes[cfg.name]
                if cfg.failure:
                    note = f"stopped early: {cfg.failure}" + (f"; {note}" if note else "")
                figures += figures_of(cfg, backend, where, got[cfg.name], note)
            print(f"bench: protocol {backend}: {cfg.name}: {cfg.blocks} blocks of "
                  f"{cfg.seconds:g} s{': ' + cfg.failure if cfg.failure else ''}", flush=True)
        print(f"bench: protocol {backend}: {label}: {time.monotonic() - t0:.0f} s", flush=True)
        if after is not None:
            for cfg in step:
                after(cfg)
    print(f"bench: protocol {backend}: {time.monotonic() - t_start:.0f} s", flush=True)
    return figures
