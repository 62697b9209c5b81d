"""make bench, the observer: how fast the consumer decodes and checks events,
when the ring buffer starts to drop, what it costs in memory, and how long
BCC takes to compile and attach. Figures only, nothing asserts.

    observer.run("user", where)     # host: the library, uprobes (this process traces)
    observer.run("kernel", where)   # in the VM: the module, kprobes

The load is a separate process: build/bench/lunatik-bench (bench/driver.c)
when it is built, else the allocation-heavy Lua chunk below run through
lunatik_bpf.connect(backend) by this module (``python -m bench.observer
load ...``). Either waits for a line on stdin before it starts, so that the
tracer is attached (with that pid on the host) first.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

from .figures import Figure

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "build" / "bench" / "lunatik-bench"
LIBRARY = Path(os.environ.get("LUNATIK_LIBRARY", REPO / "build" / "user" / "liblunatik.so"))
GROUP = "observer"
MIB = 1 << 20
BATCH = 256             # records per bench-producer hit (LUNATIK_BENCH_BATCH at most)
TEMPLATES = 65536       # LUNATIK_BENCH_TEMPLATES of bench/producer.bpf.c
PRODUCER = Path(__file__).resolve().parent / "producer.bpf.c"

# the fallback load: one execute allocates ~OBJECTS tables (an ALLOC event
# each, another when the collector frees them), a few LOCK/EXEC events more
OBJECTS = 200
CHUNK = f"local t = {{}} for i = 1, {OBJECTS} do t[i] = {{}} end return #t"


# ---- the load process ----

def paced(rate: float, seconds: float, step: Callable[[], int], nap: float,
          total: int = 0) -> tuple[int, float]:
    """Calls step() (it returns the units it did) for seconds, keeping to
    rate units per second (0: unpaced), sleeping at most nap at a time;
    total > 0: until that many units are done instead. Returns (units done,
    seconds elapsed)."""
    done = 0
    t0 = time.monotonic()
    end = t0 + seconds
    while True:
        now = time.monotonic()
        if (total and done >= total) or (not total and now >= end):
            break
        if rate and done > (now - t0) * rate:
            time.sleep(max(0.0, min(done / rate - (now - t0), nap,
                                    end - now if not total else nap)))
            continue
        done += step()
    return done, time.monotonic() - t0


def _load_main(argv: list[str]) -> int:
    """python -m bench.observer load BACKEND LIBRARY RATE SECONDS
    (RATE: executes per second, 0 unpaced). Prints the driver's JSON line."""
    backend, library, rate, seconds = argv[0], argv[1], float(argv[2]), float(argv[3])
    sys.path.insert(0, str(REPO))
    import lunatik_bpf
    states = (lunatik_bpf.connect("user", library=library) if backend == "user"
              else lunatik_bpf.connect("kernel"))
    name = f"obsbench{os.getpid()}"
    states.new(name, 64 << 20)
    print("ready", flush=True)
    sys.stdin.readline()
    errors = 0

    def one() -> int:
        nonlocal errors
        try:
            states.execute(name, CHUNK)
        except Exception:
            errors += 1
        return 1
    ops, elapsed = paced(rate, seconds, one, 0.01)
    states.close(name)
    print(json.dumps({"workload": "observer_alloc", "backend": backend, "threads": 1,
                      "ops": ops, "seconds": elapsed, "ops_per_s": ops / elapsed,
                      "errors": errors}), flush=True)
    return 0


def _produce_main(argv: list[str]) -> int:
    """python -m bench.observer produce RATE SECONDS CYCLE (RATE: records
    per second, 0 unpaced): calls obs_bench_trigger(BATCH) of the native
    observer's library, on which the bench program's uprobe writes BATCH
    template records per call into the ring buffer. It writes whole cycles
    of the CYCLE templates (the stream ends after whole lives): paced, the
    cycles that RATE fills in SECONDS, rounded up; unpaced, SECONDS long and
    then the rest of the cycle. Prints a JSON line."""
    rate, seconds, cycle = float(argv[0]), float(argv[1]), int(argv[2])
    so = ctypes.CDLL(str(_native_library()))
    so.obs_bench_trigger.argtypes = [ctypes.c_uint32]
    trigger = so.obs_bench_trigger
    print("ready", flush=True)
    sys.stdin.readline()
    total = -(-int(rate * seconds) // cycle) * cycle if rate else 0
    records = 0

    def eight() -> int:     # fewer clock reads per record at high rates
        nonlocal records
        n = 0
        for _ in range(8):
            left = total - records - n if total else BATCH
            if left <= 0:
                break
            n += trigger(min(left, BATCH))
        records += n
        return n
    records, elapsed = paced(rate, seconds, eight, 0.001, total)
    rest = -records % cycle
    while rest:             # unpaced: the rest of the cycle, as fast
        rest -= trigger(min(rest, BATCH))
    print(json.dumps({"workload": "bench_producer", "ops": records // BATCH,
                      "records": records, "seconds": elapsed}), flush=True)
    return 0


def _native_library() -> Path:
    from lunatik_bpf.tracing import native
    return native.LIBRARY


class Load:
    """The load process, started waiting; go() lets it run, wait() its JSON line."""

    def __init__(self, backend: str, rate: float, seconds: float, threads: int = 1,
                 producer: int = 0) -> None:
        """producer: the bench producer's cycle (templates loaded), 0: none."""
        if producer:
            cmd = [sys.executable, "-m", "bench.observer", "produce", f"{rate:g}",
                   f"{seconds:g}", str(producer)]
            self.how = (f"bench producer ({BATCH} template records per uprobe hit "
                        f"on obs_bench_trigger)")
            self.threads = 1
        elif DRIVER.is_file():
            cmd = [str(DRIVER), "--backend", backend]
            if backend == "user":
                cmd += ["--library", str(LIBRARY)]
            cmd += ["--workload", "exec_alloc", "--seconds", f"{seconds:g}",
                    "--threads", str(threads)]
            if rate:
                cmd += ["--rate", f"{rate:.0f}"]
            # the shell waits for the go line, then becomes the driver (same pid)
            cmd = ["sh", "-c", 'read go && exec "$@"', "sh"] + cmd
            self.how = "lunatik-bench exec_alloc"
            self.threads = threads
        else:
            cmd = [sys.executable, "-m", "bench.observer", "load", backend, str(LIBRARY),
                   f"{rate:g}", f"{seconds:g}"]
            self.how = f"python load ({OBJECTS} tables per execute)"
            self.threads = 1
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        if producer or not DRIVER.is_file():
            line = self.proc.stdout.readline()
            if line.strip() != "ready":
                self.proc.kill()
                raise RuntimeError(f"the load process did not start: {line!r}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self) -> dict[str, Any]:
        out, _ = self.proc.communicate(timeout=600)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if self.proc.returncode != 0 or not lines:
            raise RuntimeError(f"the load process failed ({self.proc.returncode}): {out[-400:]!r}")
        return json.loads(lines[-1])


# ---- sessions ----

def _tracer(prog: Any, backend: str, pid: int, **kw: Any) -> Any:
    from lunatik_bpf.tracing.tracer import Tracer
    if backend == "user":
        return Tracer(program=prog, library=LIBRARY, pid=pid, **kw)
    return Tracer(program=prog, **kw)


def _count(tracer: Any) -> int:
    return max(int(tracer.event_count), len(tracer.events))


def session(prog: Any, backend: str, rate: float, seconds: float,
            capture: list[bytes] | None = None, threads: int = 1,
            producer: bool = False, **kw: Any) -> dict[str, Any]:
    """One traced run of the load: events decoded, drops, rates, and the CPU
    time this process (the tracer's polling thread, mostly) spent. producer:
    the load is the bench producer (its uprobe attached for that session)."""
    cycle = 0
    if producer:
        ctl = prog.bpf[b"bench_ctl"]
        cycle = int(ctl[ctypes.c_int(0)].value)
        ctl[ctypes.c_int(1)] = ctypes.c_uint64(0)   # each session from the first template
    load = Load(backend, rate, seconds, threads, producer=cycle)
    if producer:
        # the tracer attaches its probes on the library as usual (the
        # producer never calls it); the records come from the bench uprobe
        from lunatik_bpf.tracing.tracer import Tracer
        tracer = Tracer(program=prog, library=LIBRARY, pid=load.pid, **kw)
    else:
        tracer = _tracer(prog, backend, load.pid, **kw)
    tracer.start()
    if producer:
        prog.bpf.attach_uprobe(name=str(_native_library()).encode(),
                               sym=b"obs_bench_trigger", fn_name=b"lunatik_bench_produce",
                               pid=-1)  # only the producer calls it; by pid, the
                                        # detach could not resolve it once it exited
    cpu0 = time.process_time()
    poll_cpu = None
    try:
        if capture is not None:
            sink = prog.sink

            def tap(raw: Any) -> None:
                capture.append(raw if isinstance(raw, bytes) else bytes(raw))
                sink(raw)
            prog.set_sink(tap)      # until the session's end clears it
        load.go()
        res = load.wait()
        poll_cpu = _thread_cpu(tracer)
    finally:
        if producer:
            prog.bpf.detach_uprobe(name=str(_native_library()).encode(),
                                   sym=b"obs_bench_trigger", pid=-1)
        tracer.stop()
    cpu = time.process_time() - cpu0 if poll_cpu is None else poll_cpu
    events, drops = _count(tracer), tracer.drops
    secs = float(res["seconds"]) or seconds
    return {"how": load.how, "ops": res["ops"], "seconds": secs, "events": events,
            "drops": drops, "decoded_per_s": events / secs,
            "offered_per_s": (events + drops) / secs, "attach": tracer.attach_seconds,
            "findings": len(tracer.findings), "tracer": tracer, "cpu": cpu,
            "threads": load.threads}


def _thread_cpu(tracer: Any) -> float | None:
    """CPU seconds of the tracer's polling thread so far (None: unknown)."""
    thread = getattr(tracer, "_thread", None)
    tid = getattr(thread, "native_id", None)
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


# ---- offline: the consumer alone, on records from memory ----

def replay(prog: Any, raws: list[bytes], **kw: Any) -> tuple[float, Any]:
    """Feeds the captured records, from memory, to the Python callback the
    ring buffer calls (Program.on_record, with the record's address as BCC
    gives it): decode, retention, observer checks; only the C-to-Python
    transition of the ctypes callback is not in it. Returns (seconds, tracer)."""
    from lunatik_bpf.tracing.tracer import Tracer
    size = max(len(r) for r in raws)
    block = ctypes.create_string_buffer(b"".join(r.ljust(size, b"\0") for r in raws))
    base = ctypes.addressof(block)
    addrs = [base + i * size for i in range(len(raws))]
    tracer = Tracer(program=prog, **kw)
    on_record = prog.on_record
    with prog.consume_with(tracer.feed_record):
        t0, c0 = time.perf_counter(), time.thread_time()
        for a in addrs:
            on_record(None, a, size)
        dt, cpu = time.perf_counter() - t0, time.thread_time() - c0
    tracer.replay_cpu = cpu
    return dt, tracer


def _replay_memory(prog: Any, raws: list[bytes], **kw: Any) -> float:
    """Bytes still allocated (tracemalloc) after a replay, per event."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        _, tracer = replay(prog, raws, **kw)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del tracer
    return used / len(raws) * 1e6 / MIB     # MiB per million events


def _observer_memory(prog: Any, raws: list[bytes]) -> float:
    """The observer's own state (shadows, findings), bytes per event."""
    evs = [prog.decode(r) for r in raws]
    from lunatik_bpf.tracing.observer import Observer
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        obs = Observer()
        for e in evs:
            obs.feed(e)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del obs
    return used / len(raws) * 1e6 / MIB     # MiB per million events


def _rss() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _probes(backend: str) -> int:
    from lunatik_bpf.tracing.tracer import PROBES, TRACEPOINTS
    n = sum(int(entry) + int(ret) for _, entry, ret, _tps in PROBES)
    return n + (len(TRACEPOINTS) if backend == "kernel" else 0)


def _retain_kw() -> dict[str, Any]:
    """Not every event kept: the checks still see each one."""
    return {"retain": False}


# ---- the figures ----

def run(backend: str, where: str, quick: bool = False) -> list[Figure]:
    from lunatik_bpf.tracing.tracer import Program
    figs: list[Figure] = []

    def fig(what: str, value: float, unit: str, note: str = "") -> None:
        f = Figure(where, GROUP, what, float(value), unit, note=note)
        figs.append(f)
        print(f"  observer: {what} = {f.value:.4g} {unit}  {note}", file=sys.stderr, flush=True)

    prog = Program(backend, "stream", 1024)
    try:
        fig("BCC compile (stream program)", prog.compile_seconds, "s",
            f"{backend} backend, 4 MiB ring buffer")
        # a real session, every record kept as bytes; paced low so that none drops
        raws: list[bytes] = []
        cap = session(prog, backend, rate=5 if quick else 20, seconds=1.0 if quick else 2.0,
                      capture=raws)
        fig("BCC attach (probes)", cap["attach"], "s",
            f"{_probes(backend)} probes and tracepoints (attach_seconds of one session)")
        per_op = (cap["events"] + cap["drops"]) / max(cap["ops"], 1)
        if not raws:
            raise RuntimeError("the captured session produced no records")
        # offline: decode + checks from memory, best of a few passes
        n = len(raws)
        reps = max(1, (100_000 if quick else 300_000) // n + 1)
        sample = (raws * reps)[: max(n, 100_000 if quick else 300_000)]
        def offline(**kw: Any) -> tuple[float, float]:
            """(events/s wall, events per CPU-second), the best of a few passes."""
            walls, cpus = [], []
            for _ in range(2 if quick else 3):
                wall, tracer = replay(prog, sample, **kw)
                walls.append(wall)
                cpus.append(tracer.replay_cpu)
                del tracer
                gc.collect()
            return len(sample) / min(walls), len(sample) / max(min(cpus), 1e-9)

        wall, cpu = offline()
        fig("decode events/s (offline)", wall, "events/s",
            f"{n} records captured from a real session ({cap['how']}, "
            f"{cap['drops']} dropped), {len(sample)} replayed from memory through the "
            f"live consumer's Program.on_record: decode, tracer.events, observer checks; "
            f"{cpu:,.0f} per CPU-second")
        kw = _retain_kw()
        if kw:
            wall, cpu = offline(**kw)
            fig("decode events/s (offline, retain=False)", wall, "events/s",
                f"the same, not keeping tracer.events; {cpu:,.0f} per CPU-second")
        # memory
        msample = sample[:100_000 if quick else 300_000]
        fig("tracer memory per million events", _replay_memory(prog, msample), "MiB",
            "tracemalloc, after a replay: tracer.events + observer; grows without bound "
            "in a long session (every event is kept)")
        if kw:
            fig("tracer memory per million events (retain=False)",
                _replay_memory(prog, msample, **kw), "MiB",
                "tracemalloc: observer state only")
        fig("observer memory per million events", _observer_memory(prog, msample), "MiB",
            "tracemalloc: shadows, embryos, findings (the events themselves not counted)")
        native_kw = _native_kw()
        if native_kw:
            wall, cpu = offline_native(prog, sample)
            fig("decode events/s (offline, native)", wall, "events/s",
                f"the same {len(sample)} records through the native core "
                f"(lunatik_bpf/tracing/native/observe.c, obs_feed_many from one buffer in "
                f"memory): the observer checks, per-kind counts, no Event objects; "
                f"{cpu:,.0f} per CPU-second")
        # live: the event rate stepped up until the ring buffer drops
        steps = ([50e3, 200e3, 800e3, 0] if quick else
                 [25e3, 50e3, 100e3, 200e3, 400e3, 800e3, 1.6e6, 0])
        seconds = 1.0 if quick else 3.0
        rss0 = _rss()
        py_kw = {**kw, "native_observer": False} if native_kw else kw
        live(fig, prog, backend, per_op, steps, seconds, py_kw, "")
        rss = _rss() - rss0
        fig("tracer RSS growth over the live steps", rss / MIB, "MiB",
            "retain=False" if kw else "every event kept in tracer.events")
        if native_kw:
            live(fig, prog, backend, per_op, steps, seconds, native_kw, ", native")
    finally:
        prog.close()
    if native_kw:
        # the bench producer is a uprobe program (on the native library):
        # in the VM too, where kprobes on the module cannot offer this much
        producer_figures(fig, raws, quick)
    return figs


def offline_native(prog: Any, sample: list[bytes]) -> tuple[float, float]:
    """(events/s wall, events per CPU-second) of the native core on sample,
    the best of a few passes, each a fresh observer over one buffer."""
    from lunatik_bpf.tracing.native import NativeObserver
    size = max(len(r) for r in sample)
    block = ctypes.create_string_buffer(b"".join(r.ljust(size, b"\0") for r in sample))
    walls, cpus = [], []
    for _ in range(5):
        obs = NativeObserver(prog.decode)
        t0, c0 = time.perf_counter(), time.thread_time()
        obs.feed_many(block, size, len(sample))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
        assert obs.events == len(sample), (obs.events, obs.bad)
        obs.close()
    return len(sample) / min(walls), len(sample) / max(min(cpus), 1e-9)


def _native_kw() -> dict[str, Any]:
    """The native observer's Tracer options, when it is built."""
    try:
        from lunatik_bpf.tracing import native
    except ImportError:
        return {}
    return {"retain": False, "native_observer": True} if native.available() else {}


def live(fig: Callable[..., None], prog: Any, backend: str, per_op: float,
         steps: list[float], seconds: float, kw: dict[str, Any], label: str,
         producer: bool = False) -> None:
    """The live figures of one consumer (kw) and load: the rate stepped up
    until the ring buffer drops (down, when the first step drops already)."""
    best_clean: dict[str, Any] | None = None
    first_drop: dict[str, Any] | None = None
    top: dict[str, Any] | None = None
    plan = [(t, 1) for t in steps] + ([(0, 2)] if DRIVER.is_file() and not producer else [])
    # the first step drops already (a slow consumer, as under emulation):
    # step down instead, a quarter each time, until one does not
    down = [(steps[0] / 4 ** i, 1) for i in range(1, 4)]
    while plan:
        target, threads = plan.pop(0)
        ops = target if producer else (target / per_op if target else 0)
        r = session(prog, backend, rate=ops, seconds=seconds, threads=threads,
                    producer=producer, **kw)
        r.pop("tracer")
        step = (f"{target:,.0f} events/s" if target else "unpaced") + (
            f", {threads} threads" if threads > 1 else "")
        print(f"  observer: live{label} step {step}: offered {r['offered_per_s']:,.0f}/s, "
              f"decoded {r['decoded_per_s']:,.0f}/s, drops {r['drops']}, findings "
              f"{r['findings']}, polling thread CPU "
              f"{r['cpu'] / max(r['events'], 1) * 1e6:.3f} us/event",
              file=sys.stderr, flush=True)
        top = r if top is None or r["offered_per_s"] > top["offered_per_s"] else top
        if r["drops"] == 0:
            if best_clean is None or r["decoded_per_s"] > best_clean["decoded_per_s"]:
                best_clean = r
            if down and first_drop is not None:
                break           # stepped down to a clean rate
        else:
            if first_drop is None or r["offered_per_s"] < first_drop["offered_per_s"]:
                first_drop = r
            if best_clean is None and down:
                plan = [down.pop(0)]
            else:
                break
    how = top["how"] if top else "?"
    fig(f"max events/s without drops (live{label})",
        best_clean["decoded_per_s"] if best_clean else 0.0, "events/s",
        f"{how}, {seconds:g} s steps, 4 MiB ring buffer" + (
            f", polling thread CPU {best_clean['cpu'] / max(best_clean['events'], 1) * 1e6:.3f} "
            f"us/event, {best_clean['findings']} findings" if best_clean
            else "; every step dropped"))
    if first_drop is not None:
        fig(f"drops begin at events/s (live{label})", first_drop["offered_per_s"], "events/s",
            f"offered (decoded + dropped); decoded {first_drop['decoded_per_s']:,.0f}/s, "
            f"{first_drop['drops']} of {first_drop['events'] + first_drop['drops']} dropped"
            f" ({first_drop['threads']} load thread(s))")
    else:
        assert top is not None
        fig(f"drops begin at events/s (live{label})", 0.0, "events/s",
            f"no drops: the producer saturated first (unpaced"
            f"{'' if producer else ' and 2 threads'} offered no more), at "
            f"{top['offered_per_s']:,.0f} events/s at most")


def templates_of(raws: list[bytes]) -> list[bytes] | None:
    """The records the bench producer copies, cyclically: the captured
    session cut after its last REMOVE that fits (whole lives: create to
    close), so that the cycle is a correct stream again and again; None
    when no whole life fits."""
    from lunatik_bpf.tracing.events import KINDS
    from lunatik_bpf.tracing.native import record_type
    kind_at = record_type().kind.offset
    remove = KINDS["remove"]
    ends = [i for i, r in enumerate(raws[:TEMPLATES])
            if int.from_bytes(r[kind_at:kind_at + 4], "little") == remove]
    return raws[:ends[-1] + 1] if ends else None


def producer_figures(fig: Callable[..., None], raws: list[bytes], quick: bool) -> None:
    """Live figures with the bench producer (bench/producer.bpf.c), for the
    native core and for the Python observer: the same records, faster than
    any uprobe can produce them."""
    from lunatik_bpf.tracing.tracer import Program
    prog = Program("user", "stream", 1024, extra_source=PRODUCER)
    try:
        _producer_figures(fig, prog, raws, quick)
    except Exception as exc:     # a TracerError, or BCC's bare Exception
        # e.g. 6.1's verifier (the VM) refuses the producer's loop that
        # 6.18's (the host) loads: one figure says why, the bench goes on
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        fig("max events/s without drops (live, native, bench producer)", 0, "events/s",
            f"not measured: the bench producer failed here ({lines[-1][:200]})")
    finally:
        prog.close()


def _producer_figures(fig: Callable[..., None], prog: Any, raws: list[bytes],
                      quick: bool) -> None:
    tpl = templates_of(raws)
    if tpl is None:
        # the capture is one life longer than the templates map: capture
        # a shorter one (the quick bench's) for them
        short: list[bytes] = []
        session(prog, "user", rate=5, seconds=1.0, capture=short)
        tpl = templates_of(short)
    if tpl is None:
        fig("bench producer templates", 0, "records",
            "no whole life of the captured sessions fits the templates map: "
            "no bench-producer figures")
        return
    table = prog.bpf[b"bench_templates"]
    for i, r in enumerate(tpl):
        table[ctypes.c_int(i)] = table.Leaf.from_buffer_copy(r)
    ctl = prog.bpf[b"bench_ctl"]
    ctl[ctypes.c_int(0)] = ctypes.c_uint64(len(tpl))
    ctl[ctypes.c_int(1)] = ctypes.c_uint64(0)
    fig("bench producer templates", len(tpl), "records",
        f"the first {len(tpl)} records of a captured session (whole lives: "
        f"create to close, no finding), copied cyclically into the ring buffer by lunatik_bench_produce, "
        f"a uprobe on obs_bench_trigger(n) writing {BATCH} records per hit with "
        f"bpf_ringbuf_output in a bounded loop, called in a paced loop by a "
        f"separate process")
    seconds = 1.0 if quick else 2.0
    steps = [250e3, 500e3, 1e6, 2e6, 4e6, 0] if quick else \
        [250e3, 500e3, 1e6, 1.5e6, 2e6, 3e6, 4e6, 6e6, 0]
    live(fig, prog, "user", 1.0, steps, seconds, _native_kw(),
         ", native, bench producer", producer=True)
    live(fig, prog, "user", 1.0, [50e3, 100e3, 200e3, 400e3, 800e3, 0], seconds,
         {"retain": False, "native_observer": False}, ", Python, bench producer",
         producer=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        raise SystemExit(_load_main(sys.argv[2:]))
    if sys.argv[1:2] == ["produce"]:
        raise SystemExit(_produce_main(sys.argv[2:]))
    be = sys.argv[1] if len(sys.argv) > 1 else "user"
    for f in run(be, "host" if be == "user" else "VM", quick="--quick" in sys.argv):
        print(f)
