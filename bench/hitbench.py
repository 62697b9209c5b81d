"""make bench, per-hit cost: what one probe hit costs, by mechanism, with an
empty BPF program (the floor the mechanism sets) and with our summary
program side by side, timed in a loop with no syscall around each hit.

Kernel (in the VM): build/bench/hitbench/hitbench.ko (bench/hitbench/)
runs N times lunatik_getstate(s); lunatik_putstate(s) on one state and
hitbench's own tracepoint, timed with ktime, on a write to
/sys/kernel/debug/hitbench/run. Mechanisms: kprobe at entry and kretprobe
on lunatik_getstate + lunatik_putstate, raw and classic tracepoint on
lunatik:lunatik_get + lunatik_put (hitbench:hitbench_hit, one per
iteration, shaped like lunatik_get, while the module has no tracepoints).

Host: build/bench/uhit does the same loop on the user-space library,
uprobe and uretprobe on the same two functions (untraced: the plain copy).

Each figure: 15 ABBA pairs of loops (bench/stats.py), per pair
(traced - untraced) / hits, the median and its bootstrap 95% interval.
hits = N x the probes on the loop's path (2 for get + put).
"""
from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import protocol, stats, throughput
from .figures import Figure

KO = throughput.OUT / "hitbench" / "hitbench.ko"
RUN = Path("/sys/kernel/debug/hitbench/run")
UHIT = throughput.OUT / "uhit"
LOOP_SYMBOLS = ("lunatik_getstate", "lunatik_putstate")
LOOP_TRACEPOINTS = ("lunatik_get", "lunatik_put")

PAIRS = 15
QUICK_PAIRS = 10

EMPTY = b"""
int kp_nothing(void *ctx) { return 0; }
int tp_nothing(void *ctx) { return 0; }
int raw_nothing(void *ctx) { return 0; }
"""


# ---- the loops ----

def kernel_loop(n: int) -> float:
    RUN.write_text(f"{n}\n")
    got_n, ns = RUN.read_text().split()
    if int(got_n) != n:
        raise RuntimeError(f"hitbench ran {got_n} iterations, not {n}")
    return float(ns)


def user_loop(library: Path, n: int) -> float:
    done = subprocess.run([str(UHIT), str(library), str(n)], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"uhit failed: {done.stderr.strip()}")
    got_n, ns = done.stdout.split()
    return float(ns)


# ---- arms: one attach point set, switched per block ----

@dataclass
class Arm:
    what: str                       # "kprobe (entry) / empty program"
    mechanism: str                  # "kprobe (entry)": what the floor is matched by
    on: Callable[[], None]
    off: Callable[[], None]
    hits: Callable[[], int]         # probes on the loop's path, per iteration
    where_note: str
    close: Callable[[], None] = lambda: None
    library: bool = False           # host: traced blocks load the probed copy


def _empty_bpf() -> Any:
    from bcc import BPF
    return BPF(text=EMPTY)


def _tp_names() -> tuple[str, tuple[str, ...]]:
    if protocol.has_lunatik_tracepoints():
        return "lunatik", LOOP_TRACEPOINTS
    return "hitbench", ("hitbench_hit",)


def kernel_arms(bpf: Any) -> list[Arm]:
    """The empty-program floors on the module's loop path."""
    arms = []
    switch = protocol.kprobes_armed

    def kprobes(ret: bool) -> Arm:
        how = "kretprobe" if ret else "kprobe (entry)"
        attached: list[str] = []

        def on() -> None:
            if not attached:
                for sym in LOOP_SYMBOLS:
                    if ret:
                        bpf.attach_kretprobe(event=sym.encode(), fn_name=b"kp_nothing")
                    else:
                        bpf.attach_kprobe(event=sym.encode(), fn_name=b"kp_nothing")
                    attached.append(sym)
            switch(True)

        def close() -> None:
            switch(True)
            for sym in attached:
                if ret:
                    bpf.detach_kretprobe(event=sym.encode())
                else:
                    bpf.detach_kprobe(event=sym.encode())
            attached.clear()

        return Arm(f"{how} / empty program", how, on, lambda: switch(False),
                   lambda: len(LOOP_SYMBOLS), " + ".join(LOOP_SYMBOLS), close)

    arms += [kprobes(False), kprobes(True)]
    system, events = _tp_names()

    def raw_on() -> None:
        for e in events:
            bpf.attach_raw_tracepoint(tp=e.encode(), fn_name=b"raw_nothing")

    def raw_off() -> None:
        for e in events:
            bpf.detach_raw_tracepoint(tp=e.encode())

    def tp_on() -> None:
        for e in events:
            bpf.attach_tracepoint(tp=f"{system}:{e}".encode(), fn_name=b"tp_nothing")

    def tp_off() -> None:
        for e in events:
            bpf.detach_tracepoint(tp=f"{system}:{e}".encode())

    names = " + ".join(f"{system}:{e}" for e in events)
    arms.append(Arm("raw tracepoint / empty program", "raw tracepoint", raw_on, raw_off,
                    lambda: len(events), names))
    arms.append(Arm("classic tracepoint / empty program", "classic tracepoint", tp_on, tp_off,
                    lambda: len(events), names))
    return arms


MECHANISM_OF = {"kprobe": "kprobe (entry)", "kretprobe": "kretprobe",
                "raw_tracepoint": "raw tracepoint", "tracepoint": "classic tracepoint",
                "uprobe": "uprobe (entry)", "uretprobe": "uretprobe"}


def _loop_points(got: list[tuple[str, str]]) -> list[tuple[str, str]]:
    ends = LOOP_SYMBOLS + LOOP_TRACEPOINTS
    return [(h, pt) for h, pt in got if pt.split(":")[-1] in ends]


def ours_arm(backend: str, probes: str) -> Arm:
    """Our summary program on the loop's path: the Tracer started once (a
    kprobes switch) or per traced run (tracepoints, uprobes: per block
    the library copy decides)."""
    ours = protocol.Ours(backend, "summary", probes)
    ours.compile()          # the throughput's program, when it ran
    state: dict[str, Any] = {"mech": None, "hits": 0}
    reattach = backend == "kernel" and probes != "kprobe"

    def start() -> None:
        ours.start()
        pts = _loop_points(protocol.attachments(ours.tracer))
        state["hits"] = len(pts)
        hows = sorted({h for h, _ in pts})
        state["mech"] = " + ".join(MECHANISM_OF.get(h, h) for h in hows) or None

    if reattach:
        on, off = start, ours.stop
        close = ours.stop
    elif backend == "kernel":
        def on() -> None:
            if ours.tracer is None:
                start()
            protocol.kprobes_armed(True)

        def off() -> None:
            protocol.kprobes_armed(False)

        def close() -> None:
            protocol.kprobes_armed(True)
            ours.stop()
    else:
        def on() -> None:
            if ours.tracer is None:
                start()
        off = lambda: None      # noqa: E731
        close = ours.stop
    arm = Arm(f"? / our summary ({probes})", "?", on, off, lambda: state["hits"],
              "the summary's probes on the loop path", close, library=backend == "user")
    arm.state = state       # type: ignore[attr-defined]
    return arm


def user_arms(bpf: Any) -> list[Arm]:
    lib = str(throughput.LIBRARY).encode()
    arms = []
    for ret in (False, True):
        how = "uretprobe" if ret else "uprobe (entry)"
        attached: list[str] = []

        def on(ret: bool = ret, attached: list[str] = attached) -> None:
            if not attached:
                for sym in LOOP_SYMBOLS:
                    attach = bpf.attach_uretprobe if ret else bpf.attach_uprobe
                    attach(name=lib, sym=sym.encode(), fn_name=b"kp_nothing")
                    attached.append(sym)

        def close(ret: bool = ret, attached: list[str] = attached) -> None:
            for sym in attached:
                detach = bpf.detach_uretprobe if ret else bpf.detach_uprobe
                detach(name=lib, sym=sym.encode())
            attached.clear()

        arms.append(Arm(f"{how} / empty program", how, on, lambda: None,
                        lambda: len(LOOP_SYMBOLS), " + ".join(LOOP_SYMBOLS) + " (library)",
                        close, library=True))
    return arms


# ---- the run ----

def measure(arm: Arm, loop: Callable[[bool], float], n: int, pairs: int) -> list[tuple[int, bool, float]]:
    # attached first, with kprobes armed: a kprobe created while they are
    # globally disarmed stays disabled when they are armed again (6.1's
    # enable_kprobe leaves KPROBE_FLAG_DISABLED set), and would never fire
    arm.on()
    blocks = []
    traced_now: bool | None = True
    for i, traced in stats.abba(pairs):
        if traced != traced_now:
            (arm.on if traced else arm.off)()
            traced_now = traced
            off = protocol.disabled_kprobes(LOOP_SYMBOLS) if traced else []
            if off:
                raise RuntimeError(f"kprobes armed but disabled (they would not fire): "
                                   f"{', '.join(off)}")
        blocks.append((i, traced, loop(traced)))
    if traced_now:
        arm.off()       # once: detaching a tracepoint twice fails
    return blocks


def figure(where: str, arm: Arm, blocks: list[tuple[int, bool, float]], n: int) -> Figure:
    hits = arm.hits()
    what = arm.what
    state = getattr(arm, "state", None)
    if state is not None:
        mech = state["mech"] or "no probe on the loop"
        what = arm.what.replace("?", mech, 1)
        arm.mechanism = mech
    pairs = stats.pairs_of(blocks)
    if hits <= 0:
        return Figure(where, "per-hit", what, 0.0, "ns/hit", None,
                      "not measured: no probe of it is on the loop's path")
    ci = stats.bootstrap(stats.per_hit(pairs, hits * n))
    base = stats.median([a for a, _ in pairs]) / n
    note = (f"{len(pairs)} ABBA pairs of {n:,} iterations; {hits} hits per iteration on "
            f"{arm.where_note}; untraced loop {base:,.1f} ns per iteration; "
            f"95% CI [{ci.lo:,.1f}, {ci.hi:,.1f}] ns")
    return Figure(where, "per-hit", what, round(ci.point, 1), "ns/hit", None, note,
                  round(ci.point / 1e3, 4), pairs=len(pairs), added_lo=round(ci.lo / 1e3, 4),
                  added_hi=round(ci.hi / 1e3, 4))


def _guarded(where: str, what: str, fn: Callable[[], Figure]) -> Figure:
    try:
        return fn()
    except protocol.NotMeasured as exc:
        return Figure(where, "per-hit", what, 0.0, "ns/hit", None, f"not measured: {exc}")
    except Exception as exc:
        return Figure(where, "per-hit", what, 0.0, "ns/hit", None,
                      f"not measured: {type(exc).__name__}: {exc}")


def run(backend: str, where: str, quick: bool = False, pairs: int = PAIRS) -> list[Figure]:
    t0 = time.monotonic()
    print(f"bench: per-hit {backend}", flush=True)
    if backend == "kernel":
        if not KO.is_file():
            return [Figure(where, "per-hit", "all mechanisms", 0.0, "ns/hit", None,
                           f"not measured: {KO} missing (make bench-hitbench)")]
        done = subprocess.run(["insmod", str(KO)], capture_output=True, text=True)
        if done.returncode != 0:
            return [Figure(where, "per-hit", "all mechanisms", 0.0, "ns/hit", None,
                           f"not measured: insmod hitbench.ko: {done.stderr.strip()}")]
        n = 5_000 if quick else 10_000
        def loop(traced: bool) -> float: return kernel_loop(n)
    else:
        if not UHIT.is_file():
            return [Figure(where, "per-hit", "all mechanisms", 0.0, "ns/hit", None,
                           f"not measured: {UHIT} missing (make bench-hitbench)")]
        n = 100_000 if quick else 200_000
        def loop(traced: bool) -> float:
            return user_loop(throughput.LIBRARY if traced else protocol.PLAIN_LIBRARY, n)
    figures: list[Figure] = []
    try:
        t = time.monotonic()
        bpf = _empty_bpf()
        figures.append(Figure(where, "startup", "compile / empty programs",
                              round(time.monotonic() - t, 3), "s", None, "BCC compile and load"))
        arms = kernel_arms(bpf) if backend == "kernel" else user_arms(bpf)
        for arm in arms:
            def one(arm: Arm = arm) -> Figure:
                try:
                    return figure(where, arm, measure(arm, loop, n, pairs), n)
                finally:
                    arm.close()
            figures.append(_guarded(where, arm.what, one))
        for probes in (("kprobe", "tracepoint") if backend == "kernel" else ("uprobe",)):
            def ours(probes: str = probes) -> Figure:
                arm = ours_arm(backend, probes)
                try:
                    return figure(where, arm, measure(arm, loop, n, pairs), n)
                finally:
                    arm.close()
            figures.append(_guarded(where, f"our summary ({probes})", ours))
        bpf.cleanup()
    finally:
        if backend == "kernel":
            subprocess.run(["rmmod", "hitbench"])
    print(f"bench: per-hit {backend}: {time.monotonic() - t0:.0f} s", flush=True)
    return figures
