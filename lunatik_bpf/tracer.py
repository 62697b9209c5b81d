"""The tracer: compiles bpf/lunatik.bpf.c with BCC, attaches it to the probe
contract (kernel/probes.h) and reads what it produces.

    with Tracer(backend="user") as tracer:      # uprobes on liblunatik.so
        states.new("a", 1 << 16)
    tracer.events, tracer.findings, tracer.drops, tracer.summary()

backend "user" traces the library as loaded in a process (this one unless
pid= is given; library= names the .so when it is not loaded yet or to pick
one of several); backend "kernel" traces the `lunatik` module with kprobes
plus the lock:contention_begin/end tracepoints.

mode "stream" sends every event through a BPF ring buffer of ringbuf_pages
pages, decoded and checked online by the Observer; losses are counted in BPF
and reported (tracer.drops, an events_complete finding). mode "summary" only
keeps per-state counters and log2 histograms in BPF maps, read by summary().

A kernel session ends by itself when the module is unloaded (its exit's
closes are still seen): the polling thread detaches, runs the final checks
and sets tracer.ended to the reason in one line; tracer.wait() waits for
the end of a session, whoever ended it.

Compiling takes seconds: compile(...) returns a Program that several
Tracer(program=...) sessions can reuse one after the other (the test suite
does), each attaching on enter and detaching on exit.
"""
from __future__ import annotations

import ctypes
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

from . import native
from .checks import Finding
from .events import BPF_DIR, HIST_NAMES, KIND_NAMES, Event, Histogram, RawDecoder
from .observer import Observer

KERNEL_DIR = BPF_DIR.parent / "kernel"
BPF_SOURCE = BPF_DIR / "lunatik.bpf.c"
TRACEFS = Path("/sys/kernel/tracing")
MODULE = "lunatik"
LIBRARY_PATTERN = re.compile(r"liblunatik[^/]*\.so")

# Attach order: the release paths first, so that a state whose creation is
# seen is also seen going away (free, putstate, remove before getstate, create).
# (symbol, entry probe, return probe)
PROBES: tuple[tuple[str, bool, bool], ...] = (
    ("lunatik_free", True, False),
    ("lunatik_putstate", True, True),
    ("lunatik_remove", True, True),
    ("lunatik_unlock", True, False),
    ("lunatik_lock", True, True),
    ("lunatik_deny", True, False),
    ("lunatik_charge", True, False),
    ("lunatik_execute", True, True),
    ("lunatik_statelookup", True, True),
    ("lunatik_stateget", True, True),
    ("lunatik_getstate", True, True),
    ("lunatik_create", True, True),
)
SYMBOLS = tuple(p[0] for p in PROBES)
# Summary mode reads the module's own allocation counters instead of a probe
# per allocation, and counts the refcount at entry (bpf/lunatik.bpf.c).
SUMMARY_SKIPS = {"lunatik_charge": (False, False), "lunatik_getstate": (True, False),
                 "lunatik_putstate": (True, False)}


def probes(mode: str) -> tuple[tuple[str, bool, bool], ...]:
    """The (symbol, entry, return) probes one mode attaches, in attach order."""
    if mode == "stream":
        return PROBES
    out = []
    for sym, entry, ret in PROBES:
        entry, ret = SUMMARY_SKIPS.get(sym, (entry, ret))
        if entry or ret:
            out.append((sym, entry, ret))
    return tuple(out)


TRACEPOINTS = (("lock:contention_begin", "lunatik_contention_begin"),
               ("lock:contention_end", "lunatik_contention_end"))


# ---- errors: one clear line each ----

class TracerError(Exception):
    """The tracer cannot run; the message says why in one line."""


class NotRoot(TracerError):
    pass


class BccMissing(TracerError):
    pass


class HeadersMissing(TracerError):
    pass


class LibraryNotFound(TracerError):
    pass


class ModuleNotLoaded(TracerError):
    pass


class SymbolMissing(TracerError):
    pass


class CompileError(TracerError):
    pass


class AttachError(TracerError):
    pass


def _import_bcc() -> Any:
    try:
        import bcc  # Debian's python3-bpfcc (never the PyPI package "bcc")
    except ImportError as exc:
        raise BccMissing(f"BCC is not importable ({exc}); install python3-bpfcc "
                         "and use a venv with --system-site-packages") from None
    if not hasattr(bcc, "BPF"):
        raise BccMissing(f"the 'bcc' module at {getattr(bcc, '__file__', '?')} is not "
                         "BCC (the PyPI package named bcc?)")
    return bcc


def _require_root() -> None:
    if os.geteuid() != 0:
        raise NotRoot(f"tracing needs root (BPF and probes); running as uid {os.geteuid()}")


def _require_headers() -> None:
    build = Path("/lib/modules") / os.uname().release / "build"
    if not (build / "include").is_dir() and not Path("/sys/kernel/kheaders.tar.xz").exists():
        raise HeadersMissing(f"kernel headers missing: {build} (BCC compiles against them)")


def find_loaded_library(pid: int) -> Path | None:
    """The liblunatik*.so mapped in process pid, if exactly one is.

    A library replaced on disk after it was loaded shows as "(deleted)": the
    uprobes must go on the inode the process maps, reached through
    /proc/pid/map_files/<range> (a path to the mapped file itself)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError as exc:
        raise LibraryNotFound(f"cannot read /proc/{pid}/maps: {exc.strerror}") from None
    found: dict[str, str] = {}      # path as mapped -> one address range
    for line in maps.splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6 and LIBRARY_PATTERN.search(fields[5]):
            found.setdefault(fields[5].strip(), fields[0])
    if len(found) > 1:
        raise LibraryNotFound(f"process {pid} maps several Lunatik libraries "
                              f"({', '.join(sorted(found))}); pass library=")
    if not found:
        return None
    path, span = found.popitem()
    if path.endswith(" (deleted)"):
        return Path(f"/proc/{pid}/map_files/{span}")
    return Path(path)


def mapped_as_deleted(path: Path, pid: int) -> Path | None:
    """/proc/pid/map_files/<range> when pid maps path's former inode (the file
    was replaced on disk after it was loaded), else None."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6 and fields[5].strip() == f"{path} (deleted)":
            return Path(f"/proc/{pid}/map_files/{fields[0]}")
    return None


def resolve_library(library: str | os.PathLike[str] | None, pid: int) -> Path:
    if library is not None:
        path = Path(library)
        if not str(path).startswith("/proc/"):
            path = path.resolve()
            if pid != -1:
                path = mapped_as_deleted(path, pid) or path
        if not path.is_file():
            raise LibraryNotFound(f"library {path} does not exist (make user?)")
        return path
    path = find_loaded_library(pid)
    if path is None:
        raise LibraryNotFound(f"no liblunatik*.so is loaded in process {pid}; "
                              "pass library=path")
    return path


def library_symbols(bcc: Any, path: Path) -> set[str]:
    found = bcc.BPF.get_user_functions_and_addresses(str(path).encode(), b"^lunatik_")
    return {name.decode() if isinstance(name, bytes) else name for name, _ in found}


def _module_identity() -> int | None:
    """The inode of /sys/module/<MODULE> (None: not loaded): a new load of
    the module makes a new sysfs directory with another inode."""
    try:
        return os.stat(f"/sys/module/{MODULE}").st_ino
    except OSError:
        return None


def kernel_symbols() -> set[str]:
    """Probe-able symbols of the module (available_filter_functions, else kallsyms)."""
    names: set[str] = set()
    try:
        with open(TRACEFS / "available_filter_functions") as f:
            for line in f:
                if f"[{MODULE}]" in line:
                    names.add(line.split()[0])
        return names
    except OSError:
        pass
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and parts[3] == f"[{MODULE}]" and parts[1] in "tT":
                names.add(parts[2])
    return names


# ---- the compiled program ----

@dataclass(frozen=True)
class ProgramKey:
    backend: str
    mode: str
    ringbuf_pages: int


class Program:
    """The BPF text compiled for one (backend, mode, ring size); reusable by
    one Tracer session at a time."""

    def __init__(self, backend: str = "user", mode: str = "stream",
                 ringbuf_pages: int = 1024, states_max: int = 16384,
                 defines: tuple[str, ...] = ()) -> None:
        """states_max: how many states (address and name) the summary maps
        hold; an update past that counts as a drop. defines: more -D
        flags (NAME=VALUE), e.g. the bench's LUNATIK_BENCH_PRODUCER=1."""
        if backend not in ("user", "kernel"):
            raise ValueError(f"backend is 'user' or 'kernel', not {backend!r}")
        if mode not in ("stream", "summary"):
            raise ValueError(f"mode is 'stream' or 'summary', not {mode!r}")
        if ringbuf_pages < 1 or ringbuf_pages & (ringbuf_pages - 1):
            raise ValueError(f"ringbuf_pages must be a power of two, not {ringbuf_pages}")
        if states_max < 1:
            raise ValueError(f"states_max must be positive, not {states_max}")
        self.key = ProgramKey(backend, mode, ringbuf_pages)
        bcc = _import_bcc()
        _require_root()
        _require_headers()
        cflags = [f"-I{BPF_DIR}", f"-I{KERNEL_DIR}",
                  f"-DLUNATIK_USER={1 if backend == 'user' else 0}",
                  f"-DLUNATIK_STREAM={1 if mode == 'stream' else 0}",
                  f"-DLUNATIK_RINGBUF_PAGES={ringbuf_pages}",
                  f"-DLUNATIK_STATES_MAX={states_max}",
                  "-Wno-macro-redefined"] + [f"-D{d}" for d in defines]
        t0 = time.monotonic()
        try:
            self.bpf = bcc.BPF(src_file=str(BPF_SOURCE).encode(), cflags=cflags)
        except Exception as exc:  # BCC raises bare Exception
            raise CompileError(f"BPF compile/load failed: {exc}") from None
        self.compile_seconds = time.monotonic() - t0
        # the session's consumer: called with each record, a ctypes char
        # array over the ring buffer's memory, valid during the call only
        self._sink: Callable[[Any], None] | None = None
        self.busy = False
        self.decoder: RawDecoder | None = None
        if mode == "stream":
            ring = self.bpf[b"events"]
            # BCC's ctypes class of struct lunatik_event (from bpf/events.h)
            # gives the one struct.Struct the records are decoded with
            probe = ctypes.create_string_buffer(4096)
            self.decoder = RawDecoder(type(ring.event(ctypes.addressof(probe))))
            self._record_at = (ctypes.c_char * self.decoder.size).from_address
            self._open_ring(ring)

    def _open_ring(self, ring: Any) -> None:
        """Registers _on_record as the ring buffer's callback, straight as
        the ctypes callback when this BCC allows (its open_ring_buffer adds a
        Python wrapper per record), else through open_ring_buffer."""
        cb_type = getattr(getattr(_import_bcc(), "libbcc", None), "_RINGBUF_CB_TYPE", None)
        if cb_type is not None and hasattr(self.bpf, "_open_ring_buffer"):
            self._ring_cb = cb_type(self._on_record)        # referenced while open
            self.bpf._open_ring_buffer(ring.map_fd, self._ring_cb, None)
        else:
            ring.open_ring_buffer(self._on_record)

    def _on_record(self, _ctx: Any, data: Any, size: int) -> int:
        """One ring-buffer record at address data, to the session (no copy:
        the sink decodes it before it returns)."""
        sink = self._sink
        if sink is not None:
            if size == self.decoder.size:   # type: ignore[union-attr]
                sink(self._record_at(data))
            else:
                sink((ctypes.c_char * size).from_address(data))
        return 0

    def decode(self, raw: Any) -> Event:
        """The Event of one record (its bytes, or any buffer over them)."""
        assert self.decoder is not None, "a summary program has no records"
        return self.decoder.decode(raw)

    def reset(self) -> None:
        """Clears the maps a session reads (counters, histograms, drops, stashes)."""
        names = ["counters", "counts", "named", "hists", "stashes", "contending"]
        if self.key.backend == "kernel":
            names.append("slots")
        if self.key.mode == "summary":
            names.append("allocs")
        for name in names:
            self.bpf[name.encode()].clear()
        self.bpf[b"drops"].clearitem(ctypes.c_int(0))

    def drops(self) -> int:
        return int(sum(self.bpf[b"drops"][ctypes.c_int(0)]))

    def close(self) -> None:
        self.bpf.cleanup()


def compile(backend: str = "user", mode: str = "stream",  # noqa: A001
            ringbuf_pages: int = 1024, states_max: int = 16384) -> Program:
    return Program(backend, mode, ringbuf_pages, states_max)


# ---- summary ----

@dataclass(frozen=True)
class StateSummary:
    state: int
    name: str
    counts: dict[str, int]          # event kind -> how many
    lookup_miss: int = 0
    exec_errors: int = 0
    alloc_bytes: int = 0
    free_bytes: int = 0
    contended: int = 0              # lock acquisitions that had to wait for another thread


@dataclass
class Summary:
    drops: int
    events: int
    findings: int
    states: list[StateSummary] = field(default_factory=list)
    # (state, name, histogram kind) -> Histogram
    histograms: dict[tuple[int, str, str], Histogram] = field(default_factory=dict)

    def state(self, name: str) -> list[StateSummary]:
        return [s for s in self.states if s.name == name]

    def slot(self, state: int, name: str, kind: str, slot: int, n: int) -> None:
        """Adds n to one log2 slot of a state's histogram (while reading the maps)."""
        h = self.histograms.setdefault((state, name, kind), Histogram(kind))
        h.slots[slot] = h.slots.get(slot, 0) + n

    def histogram(self, kind: str, name: str | None = None) -> Histogram:
        """One histogram of that kind, summed over states (or that name's)."""
        total = Histogram(kind)
        for (_, n, k), h in self.histograms.items():
            if k == kind and (name is None or n == name):
                for slot, c in h.slots.items():
                    total.slots[slot] = total.slots.get(slot, 0) + c
        return total

    def render(self) -> str:
        lines = [f"drops: {self.drops}  events: {self.events}  findings: {self.findings}"]
        for s in sorted(self.states, key=lambda s: (s.name, s.state)):
            counts = " ".join(f"{k}={v}" for k, v in s.counts.items() if v)
            if s.contended:
                counts += f" contended_locks={s.contended}"
            lines.append(f"  {s.name!r}@{s.state:#x}: {counts}")
        for kind, unit in (("alloc_size", "bytes"), ("exec_latency", "ns"),
                           ("lock_wait", "ns"), ("lock_hold", "ns"), ("contention", "ns")):
            h = self.histogram(kind)
            if h.total:
                lines.append(h.render(unit).rstrip())
        return "\n".join(lines) + "\n"


def _state_summary(c: Any, n: list[int] | None, allocs: Any | None) -> StateSummary:
    """One row of the summary from struct lunatik_counters, a state's event
    counts n (its struct lunatik_counts added up over the CPUs; None: the
    counters' own, as `named` keeps them) and, in summary mode, the
    module's struct lunatik_stats of that state."""
    counts = {KIND_NAMES[i]: int(c.n[i] if n is None else n[i]) for i in KIND_NAMES}
    grown, shrunk = int(c.alloc_bytes), int(c.free_bytes)
    if allocs is not None:
        counts["alloc"] += int(allocs.charges)
        grown += int(allocs.grown)
        shrunk += int(allocs.shrunk)
    return StateSummary(state=int(c.state), name=_text(c.name), counts=counts,
                        lookup_miss=int(c.lookup_miss), exec_errors=int(c.exec_errors),
                        alloc_bytes=grown, free_bytes=shrunk, contended=int(c.contended))


def _text(raw: bytes) -> str:
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")


# ---- the session ----

class Tracer:
    """A tracing session: attach on enter, a polling thread, detach on exit."""

    def __init__(self, backend: str = "user", mode: str = "stream",
                 library: str | os.PathLike[str] | None = None, pid: int | None = None,
                 ringbuf_pages: int = 1024, program: Program | None = None,
                 interval: float = 0.1,
                 on_event: Callable[[Event], None] | None = None,
                 on_finding: Callable[[Finding], None] | None = None,
                 on_summary: Callable[[Summary], None] | None = None,
                 retain: bool = True, native_observer: bool | None = None) -> None:
        """native_observer: check the stream in the native core (observe.c),
        which consumes the ring buffer itself with no Python per event. It
        needs retain=False and no on_event (no Event objects per event);
        None: use it then when it is built, else the Python Observer."""
        if program is not None and program.key != ProgramKey(backend, mode, ringbuf_pages):
            # the program decides: backend/mode/ring size follow it
            backend, mode, ringbuf_pages = (program.key.backend, program.key.mode,
                                            program.key.ringbuf_pages)
        if backend not in ("user", "kernel"):
            raise ValueError(f"backend is 'user' or 'kernel', not {backend!r}")
        if mode not in ("stream", "summary"):
            raise ValueError(f"mode is 'stream' or 'summary', not {mode!r}")
        self.backend = backend
        self.mode = mode
        self.library = library
        self.pid = pid
        self.ringbuf_pages = ringbuf_pages
        self.interval = interval
        self.on_event = on_event
        self.on_finding = on_finding
        self.on_summary = on_summary     # summary mode: called every interval
        self.program = program
        self._own_program = program is None
        self.observer = Observer()
        # every event of the session (stream mode); retain=False keeps none
        # (a long live session: memory stays flat, on_event and the observer
        # still see each one, event_count counts them)
        self.retain = retain
        self.events: list[Event] = []
        self.event_count = 0
        self._feed = self.observer.feed
        self.native_observer = native_observer
        self._native: native.NativeObserver | None = None
        self._decode: Callable[[bytes], Event] | None = (
            program.decoder.decode if program is not None and program.decoder else None)
        self.drops = 0
        self.attach_seconds = 0.0
        self.target = ""
        self._attached: list[tuple[str, str, str]] = []   # (how, where, symbol or tp)
        self._pid_filter = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_summary: Summary | None = None
        # why the session ended by itself (None: it runs, or stop() ended it)
        self.ended: str | None = None
        self._module_id: int | None = None
        self._module_checked = 0.0
        self._finish_lock = threading.Lock()
        self._finished = threading.Event()
        self._running = False           # this session holds the program

    @property
    def findings(self) -> list[Finding]:
        return self._native.findings if self._native is not None else self.observer.findings

    def _use_native(self) -> bool:
        wanted = self.native_observer
        can = not self.retain and self.on_event is None
        if wanted and not can:
            raise ValueError("native_observer=True needs retain=False and no on_event")
        if wanted is None:
            wanted = can and native.available()
        return bool(wanted)

    # ---- enter / exit ----

    def __enter__(self) -> Tracer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        bcc = _import_bcc()
        _require_root()
        if self.backend == "user":
            pid = self.pid if self.pid is not None else os.getpid()
            if pid == -1 and self.library is None:
                raise LibraryNotFound("pid=-1 (every process) needs library=path")
            path = resolve_library(self.library, pid)
            missing = [s for s in SYMBOLS if s not in library_symbols(bcc, path)]
            if missing:
                raise SymbolMissing(f"{path} lacks probe symbols: {', '.join(missing)}")
            self.target = str(path)
            self._pid_filter = pid      # -1: every process using that library
        else:
            if not Path(f"/sys/module/{MODULE}").is_dir():
                raise ModuleNotLoaded(f"kernel module '{MODULE}' is not loaded (insmod kernel/lunatik.ko)")
            avail = kernel_symbols()
            missing = [s for s in SYMBOLS if s not in avail]
            if missing:
                raise SymbolMissing(f"module '{MODULE}' lacks probe-able symbols "
                                    f"(inlined or not in available_filter_functions): "
                                    f"{', '.join(missing)}")
            self.target = MODULE
            self._module_id = _module_identity()
        if self.program is None:
            self.program = Program(self.backend, self.mode, self.ringbuf_pages)
        if self.program.busy:
            raise TracerError("this Program is in use by another Tracer session")
        self.program.busy = True
        self._running = True
        try:
            self.program.reset()
            if self.mode == "stream":
                assert self.program.decoder is not None
                self._decode = self.program.decoder.decode
                self._feed = self.observer.feed
                self._native = None
                if self._use_native():
                    # the records go to the native core straight from the
                    # ring buffer's memory; BCC's callback is never polled
                    self._native = native.NativeObserver(self.program.decoder.decode)
                    self._native.open_ring(self.program.bpf[b"events"].map_fd)
                else:
                    self.program._sink = self._on_record
            t0 = time.monotonic()
            self._attach()
            self.attach_seconds = time.monotonic() - t0
        except BaseException:
            self._detach()
            self.program._sink = None
            self.program.busy = False
            self._running = False
            raise
        self._stop.clear()
        self._finished.clear()
        self.ended = None
        self._thread = threading.Thread(target=self._poll, name="lunatik-tracer",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ends the session: detaches, drains the ring buffer, runs the final
        checks. A no-op once the session ended (by itself or by stop)."""
        if self.program is None:
            return
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._thread = None
        self._finish()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until the session has ended (by itself, see `ended`, or by
        stop()); returns whether it has."""
        return self._finished.wait(timeout)

    def _finish(self) -> None:
        """The end of the session, once, from stop() or from the polling
        thread when the target went away."""
        with self._finish_lock:
            if self.program is None or not self._running:
                return
            self._running = False
            self._detach()
            try:
                if self._native is not None:
                    self._native_found(self._native.consume())  # what is left
                elif self.mode == "stream":
                    self.program.bpf.ring_buffer_consume()      # what is left
                self._note_drops()
                self._last_summary = self._read_summary()
                if self.mode == "stream":
                    obs = self._native if self._native is not None else self.observer
                    for f in obs.finish():
                        self._found(f)
            finally:
                if self._native is not None:
                    self._native.close_ring()
                self.program._sink = None
                self.program.busy = False
                if self._own_program:
                    self.program.close()
                self._finished.set()

    def _attach(self) -> None:
        assert self.program is not None
        b = self.program.bpf
        try:
            for sym, entry, ret in probes(self.mode):
                if self.backend == "user":
                    name = self.target.encode()
                    if ret:     # the return before the entry: no entry without return
                        b.attach_uretprobe(name=name, sym=sym.encode(),
                                           fn_name=f"{sym}_return".encode(),
                                           pid=self._pid_filter)
                        self._attached.append(("uretprobe", self.target, sym))
                    if entry:
                        b.attach_uprobe(name=name, sym=sym.encode(),
                                        fn_name=f"{sym}_entry".encode(),
                                        pid=self._pid_filter)
                        self._attached.append(("uprobe", self.target, sym))
                else:
                    if ret:
                        b.attach_kretprobe(event=sym.encode(), fn_name=f"{sym}_return".encode())
                        self._attached.append(("kretprobe", MODULE, sym))
                    if entry:
                        b.attach_kprobe(event=sym.encode(), fn_name=f"{sym}_entry".encode())
                        self._attached.append(("kprobe", MODULE, sym))
            if self.backend == "kernel":
                for tp, fn in TRACEPOINTS:
                    b.attach_tracepoint(tp=tp.encode(), fn_name=fn.encode())
                    self._attached.append(("tracepoint", tp, fn))
        except Exception as exc:
            if isinstance(exc, TracerError):
                raise
            raise AttachError(f"attaching to {self.target} failed: {exc}") from None

    def _detach(self) -> None:
        """Detaches everything, the acquiring paths first (the reverse of the
        attach order). Each uprobe release waits for the kernel (~0.1 s)."""
        if self.program is None or not self._attached:
            return
        b = self.program.bpf
        pid = self._pid_filter

        def one(item: tuple[str, str, str]) -> None:
            how, where, what = item
            try:
                if how == "uprobe":
                    b.detach_uprobe(name=where.encode(), sym=what.encode(), pid=pid)
                elif how == "uretprobe":
                    b.detach_uretprobe(name=where.encode(), sym=what.encode(), pid=pid)
                elif how == "kprobe":
                    b.detach_kprobe(event=what.encode())
                elif how == "kretprobe":
                    b.detach_kretprobe(event=what.encode())
                elif how == "tracepoint":
                    b.detach_tracepoint(tp=where.encode())
            except Exception:
                pass    # best effort: the fds die with the process anyway

        for item in reversed(self._attached):
            one(item)
        self._attached.clear()

    # ---- polling ----

    def _poll(self) -> None:
        assert self.program is not None
        while not self._stop.is_set():
            if self._native is not None:
                self._native_found(self._native.poll(int(self.interval * 1000)))
            elif self.mode == "stream":
                self.program.bpf.ring_buffer_poll(int(self.interval * 1000))
            else:
                self._stop.wait(self.interval)
                self._last_summary = self._read_summary()
                if self.on_summary is not None:
                    self.on_summary(self._last_summary)
            self._note_drops()
            if self._module_gone():
                # its exit ran under the probes (its last closes are in the
                # ring buffer); they fire no more: end the session by itself
                self.ended = f"module '{MODULE}' was unloaded"
                self._finish()
                return

    def _module_gone(self) -> bool:
        """Kernel backend: the module traced is no longer loaded (gone, or
        another load of it: its sysfs directory is not the one of the
        attach). Checked at most every interval."""
        if self._module_id is None:
            return False
        now = time.monotonic()
        if now - self._module_checked < self.interval:
            return False
        self._module_checked = now
        return _module_identity() != self._module_id

    def _on_record(self, raw: Any) -> None:
        """One record (a buffer over its bytes): decoded, kept, checked (the
        polling thread)."""
        ev = self._decode(raw)
        self.event_count += 1
        if self.retain:
            self.events.append(ev)
        if self.on_event is not None:
            self.on_event(ev)
        out = self._feed(ev)
        if out:
            for f in out:
                self._found(f)

    def _native_found(self, found: list[Finding]) -> None:
        assert self._native is not None
        self.event_count = self._native.events
        for f in found:
            self._found(f)

    def _found(self, f: Finding) -> None:
        if self.on_finding is not None:
            self.on_finding(f)

    def _note_drops(self) -> None:
        assert self.program is not None
        self.drops = self.program.drops()
        obs = self._native if self._native is not None else self.observer
        for f in obs.note_drops(self.drops):
            self._found(f)

    # ---- summary ----

    def _read_summary(self) -> Summary:
        assert self.program is not None
        b = self.program.bpf
        summary = Summary(drops=self.program.drops(), events=self.event_count,
                          findings=len(self.findings))
        # summary mode: the allocation figures are the module's own, as
        # copied at the state's last create, unlock or free
        allocs = ({int(k.value): v for k, v in b[b"allocs"].items()}
                  if self.program.key.mode == "summary" else {})
        identity: dict[int, tuple[int, str]] = {}
        counts = {int(k.value): [sum(int(cpu.n[i]) for cpu in per_cpu)
                                 for i in range(len(per_cpu[0].n))]
                  for k, per_cpu in b[b"counts"].items()}
        for k, v in b[b"counters"].items():
            serial = int(k.value)
            identity[serial] = (int(v.state), _text(v.name))
            summary.states.append(_state_summary(v, counts.get(serial, [0] * len(v.n)),
                                                 allocs.get(serial)))
        summary.states += [_state_summary(v, None, None) for v in b[b"named"].values()]
        for k, v in b[b"hists"].items():
            state, name = identity.get(int(k.serial), (0, ""))
            summary.slot(state, name, HIST_NAMES.get(int(k.hist), str(k.hist)),
                         int(k.slot), int(v.value))
        for serial, a in allocs.items():
            state, name = identity.get(serial, (0, ""))
            for k, n in enumerate(a.sizes):
                if n:
                    summary.slot(state, name, "alloc_size", k, int(n))
        return summary

    def summary(self) -> Summary:
        """Counters and histograms: read now while attached, else the last read."""
        with self._finish_lock:     # not while the session ends by itself
            if self.program is not None and self._running:
                s = self._read_summary()
                self.drops = s.drops
                return s
        if self._last_summary is None:
            raise TracerError("no summary: the session never ran")
        return self._last_summary


__all__ = ["Tracer", "Program", "compile", "Summary", "StateSummary", "TracerError",
           "NotRoot", "BccMissing", "HeadersMissing", "LibraryNotFound",
           "ModuleNotLoaded", "SymbolMissing", "CompileError", "AttachError"]
