"""make bench, throughput: the state API on the same workload, untraced,
traced by us (summary and stream mode) and traced for the same information
by peers (bpftrace, BCC funclatency, BCC trace). Figures only, nothing
asserts.

    throughput.run("user", where)     # host: the library, uprobes
    throughput.run("kernel", where)   # in the VM: the module, kprobes

The load is build/bench/lunatik-bench (bench/driver.c), one process per
measurement: newclose, exec_small, exec_alloc, lookup_mt (2 threads). Each
configuration is attached once, the four workloads run under it (several
repetitions, the median), then it is detached. Untraced runs first, and
again after each configuration: a figure's ratio is to the untraced runs of
the same workload just before and after it (pooled, the median), and the
untraced figures' notes give the drift from the first to the last. Peers
are subprocesses, waited for until they report they are attached (their
"to attached" startup figure) and stopped with SIGINT.

On the host the traced library is a private copy (build/bench/liblunatik-
bench.so): uprobes for every process are on that file only, so nobody
else's use of build/user/liblunatik.so is traced or slowed, and nobody
else's calls show up in our figures.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lunatik_bpf.tracing import layout

from .figures import Figure

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench"
DRIVER = OUT / "lunatik-bench"
SOURCE_LIBRARY = REPO / "build" / "user" / "liblunatik.so"
LIBRARY = OUT / "liblunatik-bench.so"
PEER_BT = Path(__file__).resolve().parent / "peer.bt"
BPFTRACE = "bpftrace"
FUNCLATENCY = "/usr/sbin/funclatency-bpfcc"
TRACE = "/usr/sbin/trace-bpfcc"

WORKLOADS = ("newclose", "exec_small", "exec_alloc", "lookup_mt")
OURS = ("summary", "stream")
# the summary's probes with empty programs: what attaching costs by itself,
# the floor under any tracer on these probes
FLOOR = ("probes-only",)
PEERS = ("bpftrace", "funclatency", "trace")
CONFIGS = ("untraced",) + OURS + FLOOR + PEERS

# The probe contract (kernel/probes.h): (symbol, its arguments for trace's
# format, return value format or None for void).
CONTRACT: tuple[tuple[str, str, str | None], ...] = (
    ("lunatik_create", '"maxalloc=%lu name=%s", arg1, arg2', '"state=%llx", retval'),
    ("lunatik_remove", '"name=%s", arg1', '"ret=%d", retval'),
    ("lunatik_statelookup", '"name=%s", arg1', '"state=%llx", retval'),
    ("lunatik_stateget", '"name=%s", arg1', '"state=%llx", retval'),
    ("lunatik_getstate", '"state=%llx name=%s", arg1, arg1+48', '"count=%d", retval'),
    ("lunatik_putstate", '"state=%llx name=%s", arg1, arg1+48', '"count=%d", retval'),
    ("lunatik_execute", '"state=%llx name=%s len=%lu code=%s", arg1, arg1+48, arg3, arg2',
     '"ret=%d", retval'),
    ("lunatik_charge", '"state=%llx name=%s osize=%lu nsize=%lu", arg1, arg1+48, arg2, arg3',
     None),
    ("lunatik_deny", '"state=%llx name=%s osize=%lu nsize=%lu", arg1, arg1+48, arg2, arg3',
     None),
    ("lunatik_lock", '"state=%llx name=%s", arg1, arg1+48', '""'),
    ("lunatik_unlock", '"state=%llx name=%s", arg1, arg1+48', None),
    ("lunatik_free", '"state=%llx name=%s", arg1, arg1+48', None),
)
SYMBOL_RE = "^(" + "|".join(sym for sym, _, _ in CONTRACT) + ")$"

SEES = {
    "summary": "sees: per-state counters of every event kind, log2 histograms of alloc size "
               "(the module's own counters, copied at create/unlock/free), exec latency, "
               "lock wait/hold{contention} (BPF maps)",
    "stream": "sees: every event with its arguments (ring buffer), decoded and checked "
              "online by the Observer",
    "probes-only": "sees nothing: the summary's probes, each running an empty BPF program "
                   "(the probe mechanism's own cost, the floor under any tracer on them)",
    "bpftrace": "sees (bench/peer.bt): per-state counts of every contract function, lookup "
                "misses, exec errors, the same log2 histograms; allocations from the module's "
                "counters at unlock/free, as the summary has them",
    "funclatency": "sees (-F -l 4): per-function call counts and latency histograms of the "
                   "12 contract functions; not per state, no alloc sizes, no lock hold",
    "trace": "sees: a line per call and return of every contract function with its "
             "arguments; no online checks",
}


@dataclass
class Params:
    seconds: float
    reps: int
    attach_timeout: float
    stop_timeout: float


def params(backend: str, quick: bool) -> Params:
    # The VM runs under TCG: a BCC compile takes ~15 s there on a quiet host,
    # minutes on a busy one; a peer gets that long to attach.
    slow = backend == "kernel"
    attach, stop = (900.0, 300.0) if slow else (180.0, 90.0)
    if quick:
        return Params(0.3, 3, attach, stop)
    return Params(1.0, 5, attach, stop)


# ---- the driver ----

def prepare(backend: str) -> None:
    if not DRIVER.is_file():
        raise SystemExit(f"bench: {DRIVER} is missing (make bench-driver)")
    if backend == "user":
        if not SOURCE_LIBRARY.is_file():
            raise SystemExit(f"bench: {SOURCE_LIBRARY} is missing (make user)")
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = LIBRARY.with_suffix(f".tmp{os.getpid()}")
        shutil.copy2(SOURCE_LIBRARY, tmp)
        os.replace(tmp, LIBRARY)


def drive(backend: str, workload: str, seconds: float,
          library: Path | None = None) -> dict[str, Any]:
    cmd = [str(DRIVER), "--backend", backend]
    if backend == "user":
        cmd += ["--library", str(library or LIBRARY)]
    cmd += ["--workload", workload, "--seconds", f"{seconds:g}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 20 + 60)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"lunatik-bench {workload} failed ({done.returncode}): {why}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@dataclass
class Measured:
    ops_per_s: float
    errors: int
    samples: list[float]
    failure: str = ""
    seconds: float = 0.0


def measure(backend: str, workload: str, p: Params,
            between: Any = None) -> Measured:
    samples: list[float] = []
    errors = 0
    for _ in range(p.reps):
        try:
            r = drive(backend, workload, p.seconds)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return Measured(0.0, errors, samples, str(exc), p.seconds)
        samples.append(float(r["ops_per_s"]))
        errors += int(r["errors"])
        if between is not None:
            between()
    return Measured(statistics.median(samples), errors, samples, "", p.seconds)


# ---- configurations ----

@dataclass
class Session:
    """One attached configuration: what it saw, its startup figures."""
    name: str
    startup: list[tuple[str, float, str]] = field(default_factory=list)  # (what, s, note)
    failure: str = ""

    def start(self) -> None:
        raise NotImplementedError

    def between(self) -> None:
        """After each driver run (our stream mode frees decoded events here)."""

    def stop(self) -> str:
        """Detaches; returns a note on what it saw."""
        return ""


class Untraced(Session):
    def start(self) -> None:
        pass


class Ours(Session):
    def __init__(self, name: str, backend: str) -> None:
        super().__init__(name)
        self.backend = backend
        self.tracer: Any = None
        self.events = 0

    def start(self) -> None:
        from lunatik_bpf.tracing import tracer as tr
        t0 = time.monotonic()
        program = tr.build_program(self.backend, self.name)
        # retain=False: decoded and checked, but not kept (a bench is long)
        kw: dict[str, Any] = {"retain": False}
        if self.backend == "user":
            kw.update(library=LIBRARY, pid=-1)
        else:
            kw["probes"] = "kprobe"     # this (older, sequential) bench's configurations
        self.tracer = tr.Tracer(backend=self.backend, mode=self.name, program=program, **kw)
        self._own = program
        self.tracer.start()
        ready = time.monotonic() - t0
        self.startup = [(f"compile / {self.name}", program.compile_seconds, "BCC compile and load"),
                        (f"attach / {self.name}", self.tracer.attach_seconds,
                         f"{len(self.tracer.program.attached)} probes"),
                        (f"to attached / {self.name}", ready, "compile + attach, in-process")]

    def between(self) -> None:
        if self.tracer is not None and self.name == "stream":
            # kept events (a tracer without retain=) would pile up: count, free them
            self.events += len(self.tracer.events)
            self.tracer.events.clear()

    def stop(self) -> str:
        if self.tracer is None:
            return ""
        summary = None
        try:
            if self.name == "summary":
                summary = self.tracer.summary()
        finally:
            self.tracer.stop()
            self._own.close()
        drops = self.tracer.drops
        if self.name == "stream":
            self.events += len(self.tracer.events)
            self.tracer.events.clear()
            self.events = max(self.events, self.tracer.event_count)
            return (f"{self.events:,} events decoded, {drops:,} dropped, "
                    f"{len(self.tracer.findings)} findings")
        events = sum(sum(s.counts.values()) for s in summary.states) if summary else 0
        return f"{events:,} events counted, {len(summary.states) if summary else 0} state keys"


class Floor(Session):
    """The summary mode's probes, attached with a program that returns 0."""

    def __init__(self, name: str, backend: str) -> None:
        super().__init__(name)
        self.backend = backend
        self.bpf: Any = None

    def start(self) -> None:
        from bcc import BPF
        from lunatik_bpf.tracing.tracer import probes
        t0 = time.monotonic()
        self.bpf = BPF(text=b"int nothing(void *ctx) { return 0; }")
        n = 0
        for sym, entry, ret, _ in probes("summary"):
            for wanted, kind in ((ret, "ret"), (entry, "")):
                if not wanted:
                    continue
                if self.backend == "user":
                    attach = self.bpf.attach_uretprobe if kind else self.bpf.attach_uprobe
                    attach(name=str(LIBRARY).encode(), sym=sym.encode(), fn_name=b"nothing")
                else:
                    attach = self.bpf.attach_kretprobe if kind else self.bpf.attach_kprobe
                    attach(event=sym.encode(), fn_name=b"nothing")
                n += 1
        self.startup = [("attach / probes-only", time.monotonic() - t0, f"{n} probes")]

    def stop(self) -> str:
        if self.bpf is not None:
            self.bpf.cleanup()
        return ""


class Peer(Session):
    """A peer tool as a subprocess: started, waited for until it reports it
    is attached, stopped with SIGINT."""

    ready_re: re.Pattern[str] = re.compile(r"$^")

    def __init__(self, name: str, backend: str, p: Params) -> None:
        super().__init__(name)
        self.backend = backend
        self.p = p
        self.proc: subprocess.Popen[str] | None = None
        self.lines = 0
        self.head: list[str] = []
        self.tail: list[str] = []
        self.lost = 0
        self.ready = threading.Event()
        self.expected_fds = 0
        self.drain: threading.Thread | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def on_line(self, line: str) -> None:
        m = self.ready_re.search(line)
        if m:
            self.on_ready(m)
        if "lost" in line.lower():
            n = re.search(r"lost (\d+)", line, re.I)
            self.lost += int(n.group(1)) if n else 1

    def on_ready(self, m: re.Match[str]) -> None:
        self.ready.set()

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines += 1
            if len(self.head) < 40:
                self.head.append(line.rstrip())
            else:
                self.tail = (self.tail + [line.rstrip()])[-20:]
            self.on_line(line)

    def perf_fds(self) -> int:
        assert self.proc is not None
        fd_dir = Path(f"/proc/{self.proc.pid}/fd")
        n = 0
        try:
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) == "anon_inode:[perf_event]":
                        n += 1
                except OSError:
                    pass
        except OSError:
            pass
        return n

    def start(self) -> None:
        argv = self.argv()
        tool = argv[0]
        if shutil.which(tool) is None:
            self.failure = f"{tool} not found"
            return
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, errors="replace",
                                     env=self.env(), cwd=OUT, start_new_session=True)
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()
        deadline = t0 + self.p.attach_timeout
        while not self.ready.is_set() and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            self.ready.wait(0.05)
        # the tool's own line may come before its probes are in (bpftrace):
        # wait for one perf event per probe as well
        while (self.ready.is_set() and self.perf_fds() < self.expected_fds
               and time.monotonic() < deadline and self.proc.poll() is None):
            time.sleep(0.02)
        took = time.monotonic() - t0
        if not self.ready.is_set() or self.proc.poll() is not None:
            self.drain.join(2)
            out = " | ".join(ln for ln in self.head + self.tail if ln.strip())[-300:]
            self.failure = (f"did not attach within {self.p.attach_timeout:.0f} s "
                            f"(exit {self.proc.poll()}): {out}")
            self._kill()
            return
        self.startup = [(f"to attached / {self.name}", took,
                         f"process start to attached ({self.perf_fds()} perf events)")]

    def _kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self) -> str:
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(self.p.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        if self.drain is not None:
            self.drain.join(10)
        left = leftover_probes()
        note = f"{self.lines:,} lines of output"
        if self.lost:
            note += f", {self.lost:,} events lost"
        if left:
            note += f"; LEFT ATTACHED: {left}"
        return note


class Bpftrace(Peer):
    ready_re = re.compile(r"Attaching (\d+) probes")

    def script(self) -> Path:
        text = PEER_BT.read_text()
        for name, offset in layout.for_backend(self.backend).offsets:
            text = text.replace(f"@{name}@", str(offset))
        if self.backend == "user":
            text = text.replace("@E@", f"uprobe:{LIBRARY}:").replace("@R@", f"uretprobe:{LIBRARY}:")
            lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//kernel:")]
        else:
            text = text.replace("@E@", "kprobe:").replace("@R@", "kretprobe:")
            lines = [ln.lstrip().removeprefix("//kernel:").lstrip(" ")
                     if ln.lstrip().startswith("//kernel:") else ln for ln in text.splitlines()]
        out = OUT / f"peer-{self.backend}.bt"
        out.write_text("\n".join(lines) + "\n")
        return out

    def argv(self) -> list[str]:
        return [BPFTRACE, str(self.script())]

    def env(self) -> dict[str, str]:
        # maps with a key per state: newclose makes thousands of states
        return dict(os.environ, BPFTRACE_MAP_KEYS_MAX="65536")

    def on_ready(self, m: re.Match[str]) -> None:
        self.expected_fds = int(m.group(1))
        self.ready.set()


class Funclatency(Peer):
    ready_re = re.compile(r"Tracing (\d+) functions")

    def argv(self) -> list[str]:
        pattern = SYMBOL_RE if self.backend == "kernel" else f"{LIBRARY}:{SYMBOL_RE}"
        return [FUNCLATENCY, "-F", "-l", "4", "-r", pattern]

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONUNBUFFERED="1")

    def on_line(self, line: str) -> None:
        super().on_line(line)
        if "0 functions matched" in line:
            self.failure = line.strip()


class Trace(Peer):
    ready_re = re.compile(r"PID\s+TID\s+COMM\s+FUNC")

    def argv(self) -> list[str]:
        where = f"{LIBRARY}" if self.backend == "user" else ""
        specs = []
        for sym, args, ret in CONTRACT:
            specs.append(f"p:{where}:{sym} {args}")
            if ret is not None:
                specs.append(f"r:{where}:{sym} {ret}")
        return [TRACE, "-t", *specs]


def leftover_probes() -> str:
    """Kprobe/uprobe events on our functions still registered in tracefs."""
    found = []
    for name in ("kprobe_events", "uprobe_events"):
        try:
            text = Path("/sys/kernel/tracing", name).read_text()
        except OSError:
            continue
        found += [ln.split()[0] for ln in text.splitlines()
                  if "lunatik_" in ln and (name == "kprobe_events" or str(LIBRARY) in ln)]
    return ", ".join(found)


def session(name: str, backend: str, p: Params) -> Session:
    if name == "untraced":
        return Untraced(name)
    if name in OURS:
        return Ours(name, backend)
    if name in FLOOR:
        return Floor(name, backend)
    return {"bpftrace": Bpftrace, "funclatency": Funclatency, "trace": Trace}[name](
        name, backend, p)


# ---- the run ----

def _sees(name: str, backend: str) -> str:
    return SEES.get(name, "").replace("{contention}", ", contention" if backend == "kernel" else "")


def _untraced(backend: str, p: Params) -> dict[str, Measured]:
    return {w: measure(backend, w, p) for w in WORKLOADS}


def _configured(backend: str, name: str, p: Params) -> tuple[Session, dict[str, Measured], str]:
    """Attaches one configuration, runs the workloads under it, detaches."""
    s = session(name, backend, p)
    results: dict[str, Measured] = {}
    note = ""
    try:
        s.start()
    except Exception as exc:    # a tracer error: one line, the bench goes on
        s.failure = f"{type(exc).__name__}: {exc}"
    if s.failure:
        if isinstance(s, Ours) and s.tracer is not None:
            try:
                s.stop()
            except Exception:
                pass
        return s, results, note
    try:
        for w in WORKLOADS:
            results[w] = measure(backend, w, p, s.between)
    finally:
        try:
            note = s.stop()
        except Exception as exc:
            note = f"stopping failed: {type(exc).__name__}: {exc}"
    return s, results, note


def run(backend: str, where: str, quick: bool = False) -> list[Figure]:
    """Untraced, then each configuration in turn with untraced runs between
    them: a configuration's ratio is to the untraced runs just before and
    after it (their samples pooled), so that a machine whose speed drifts
    (a shared host, an emulated VM) does not bias the later configurations.
    The untraced figures are the first runs; their notes give the drift to
    the last ones."""
    p = params(backend, quick)
    prepare(backend)
    t_start = time.monotonic()
    print(f"bench: throughput {backend}: untraced", flush=True)
    first = _untraced(backend, p)
    figures = [_figure(where, backend, "untraced", w, first[w], None, "", None) for w in WORKLOADS]
    before = first
    for name in OURS + FLOOR + PEERS:
        print(f"bench: throughput {backend}: {name}", flush=True)
        s, results, note = _configured(backend, name, p)
        print(f"bench: throughput {backend}: untraced after {name}", flush=True)
        after = _untraced(backend, p)
        for what, value, extra in s.startup:
            figures.append(Figure(where, "startup", what, round(value, 4), "s", None, extra))
        for w in WORKLOADS:
            pooled = before[w].samples + after[w].samples
            base = statistics.median(pooled) if pooled else None
            figures.append(_figure(where, backend, name, w, results.get(w), s, note, base))
        before = after
    for i, w in enumerate(WORKLOADS):
        f, end = figures[i], before[w]
        if f.value and end.ops_per_s:
            figures[i] = Figure(f.where, f.group, f.what, f.value, f.unit, f.ratio,
                                f"{f.note}; last untraced runs {end.ops_per_s:,.0f} ops/s "
                                f"(drift {end.ops_per_s / f.value - 1:+.1%})")
    took = time.monotonic() - t_start
    print(f"bench: throughput {backend}: {took:.0f} s", flush=True)
    return figures


def _figure(where: str, backend: str, name: str, w: str, m: Measured | None,
            s: Session | None, note: str, base: float | None) -> Figure:
    what = f"{w} / {name}"
    if (s is not None and s.failure) or m is None:
        why = s.failure if s is not None and s.failure else "not measured"
        return Figure(where, "throughput", what, 0.0, "ops/s", None,
                      f"{name} did not run: {why}")
    if m.failure:
        return Figure(where, "throughput", what, 0.0, "ops/s", None,
                      f"driver failed: {m.failure}")
    parts = [f"median of {len(m.samples)} x {m.seconds:g} s {_spread(m.samples)}"]
    if name == "untraced":
        ratio: float | None = 1.0
    else:
        ratio = m.ops_per_s / base if base else None
        parts.append(f"to untraced around it: {base:,.0f} ops/s" if base else "no untraced baseline")
    if m.errors:
        parts.append(f"{m.errors} op errors")
    if name != "untraced":
        parts.append(_sees(name, backend))
        if note:
            parts.append(f"session: {note}")
    added = None
    if name != "untraced" and base and m.ops_per_s:
        added = round(1e6 / m.ops_per_s - 1e6 / base, 3)
    return Figure(where, "throughput", what, round(m.ops_per_s, 1), "ops/s",
                  None if ratio is None else round(ratio, 4), "; ".join(parts), added)


def _spread(samples: list[float]) -> str:
    if not samples:
        return "-"
    lo, hi = min(samples), max(samples)
    mid = statistics.median(samples)
    return f"(spread {(hi - lo) / mid:.0%})" if mid else "-"
