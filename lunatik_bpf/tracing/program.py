"""The BPF side of the tracer: compile, attach and the maps.

build_program(...) compiles bpf/lunatik.bpf.c with BCC into a Program: the
loaded BPF object, its ring buffer's callback (records go to one sink at a
time, see consume_with/set_sink), the maps a session reads (reset, drops,
drops_by_cause, summary_rows) and the attach/detach of its probes.

What a session attaches is one plan, attach_plan(backend, mode, target,
probes): an ordered list of Attachments (how, target, fn_name, point) for
every mechanism; Program.attach runs one generic loop over it and
Program.detach undoes it in reverse. The errors of the tracer and the
checks before attaching (root, BCC, headers, the library's or the module's
symbols) are here too, one definition each.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..control.types import MODULE, SYSFS
from . import preemption
from .events import BPF_DIR, Event, RawDecoder
from .layout import Layout, LayoutError, for_backend
from .summary import drop_cause_name

BPF_SOURCE = BPF_DIR / "lunatik.bpf.c"
TRACEFS = Path("/sys/kernel/tracing")
LIBRARY_PATTERN = re.compile(r"liblunatik[^/]*\.so")
RINGBUF_PAGES = 1024    # the ring buffer's default size (4 MiB), a power of two
STATES_MAX = 16384      # the states the summary maps hold by default

# The probe list, one row per function of the probe contract
# (kernel/probes.h): (symbol, entry probe, return probe, the module's
# tracepoints at that point (kernel/lunatik_trace.h)). Attach order: the
# release paths first, so that a state whose creation is seen is also seen
# going away (free, putstate, remove before getstate, create); a function's
# return before its entry. lunatik_remove's tracepoint also fires where
# lunatik_unlinked is probed, and lunatik_lookup's where stateget is.
PROBES: tuple[tuple[str, bool, bool, tuple[str, ...]], ...] = (
    ("lunatik_free", True, False, ("lunatik_free",)),
    ("lunatik_putstate", True, True, ("lunatik_put",)),
    ("lunatik_remove", True, True, ("lunatik_remove",)),
    ("lunatik_unlinked", True, False, ()),
    ("lunatik_unlock", True, False, ("lunatik_unlock",)),
    ("lunatik_lock", True, True, ("lunatik_lock",)),
    ("lunatik_deny", True, False, ("lunatik_deny",)),
    ("lunatik_charge", True, False, ("lunatik_charge",)),
    ("lunatik_execute", True, True, ("lunatik_exec_end", "lunatik_exec_begin")),
    ("lunatik_statelookup", True, True, ("lunatik_lookup",)),
    ("lunatik_stateget", True, True, ()),
    ("lunatik_getstate", True, True, ("lunatik_get",)),
    ("lunatik_create", True, True, ("lunatik_create",)),
)
SYMBOLS = tuple(p[0] for p in PROBES)
MODULE_TRACEPOINTS = tuple(tp for p in PROBES for tp in p[3])
# Summary mode reads the module's own allocation counters instead of an
# event per allocation, and counts the refcount at entry (kprobes, uprobes):
# symbol -> what it keeps of its row.
SUMMARY_SKIPS = {"lunatik_charge": (False, False, ()),
                 "lunatik_getstate": (True, False, ("lunatik_get",)),
                 "lunatik_putstate": (True, False, ("lunatik_put",))}


def probes(mode: str) -> tuple[tuple[str, bool, bool, tuple[str, ...]], ...]:
    """The rows of PROBES one mode attaches, in attach order."""
    if mode == "stream":
        return PROBES
    out = []
    for sym, entry, ret, tps in PROBES:
        entry, ret, tps = SUMMARY_SKIPS.get(sym, (entry, ret, tps))
        if entry or ret or tps:
            out.append((sym, entry, ret, tps))
    return tuple(out)


_probes = probes     # for attach_plan, whose argument of that name is the mechanism

# (tracepoint, BPF function): the kernel's own, for every kernel mechanism
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


# ---- the checks before compiling and attaching ----

def import_bcc() -> Any:
    try:
        import bcc  # Debian's python3-bpfcc (never the PyPI package "bcc")
    except ImportError as exc:
        raise BccMissing(f"BCC is not importable ({exc}); install python3-bpfcc "
                         "and use a venv with --system-site-packages") from None
    if not hasattr(bcc, "BPF"):
        raise BccMissing(f"the 'bcc' module at {getattr(bcc, '__file__', '?')} is not "
                         "BCC (the PyPI package named bcc?)")
    return bcc


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRoot(f"tracing needs root (BPF and probes); running as uid {os.geteuid()}")


def require_headers() -> None:
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


def module_identity() -> int | None:
    """The inode of /sys/module/<MODULE> (None: not loaded): a new load of
    the module makes a new sysfs directory with another inode."""
    try:
        return SYSFS.stat().st_ino
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


@dataclass(frozen=True)
class Target:
    """What a session attaches to, checked: the library's path (user) or
    the module's name (kernel)."""
    name: str
    pid: int = -1                   # uprobes: this process only (-1: every process)
    module_id: int | None = None    # kernel: the module's identity at attach


def resolve_target(backend: str, library: str | os.PathLike[str] | None = None,
                   pid: int | None = None, bcc: Any = None,
                   how: str = "kprobe") -> Target:
    """The target of a session of that backend, once the checks passed: the
    library mapped in pid (this process when None) or library=, with every
    probe symbol; the module loaded, with every probe symbol probe-able
    (how "kprobe") or every tracepoint of the contract (how "tracepoint")."""
    if backend == "user":
        bcc = bcc or import_bcc()
        pid = pid if pid is not None else os.getpid()
        if pid == -1 and library is None:
            raise LibraryNotFound("pid=-1 (every process) needs library=path")
        path = resolve_library(library, pid)
        missing = [s for s in SYMBOLS if s not in library_symbols(bcc, path)]
        if missing:
            raise SymbolMissing(f"{path} lacks probe symbols: {', '.join(missing)}")
        return Target(str(path), pid)     # pid -1: every process using that library
    if not SYSFS.is_dir():
        raise ModuleNotLoaded(f"kernel module '{MODULE}' is not loaded (insmod kernel/lunatik.ko)")
    if how == "tracepoint":
        missing = [t for t in MODULE_TRACEPOINTS if t not in module_tracepoints()]
        if missing:
            raise SymbolMissing(f"module '{MODULE}' lacks the tracepoints "
                                f"{', '.join(missing)} (a build without them? "
                                f"probes='kprobe' traces it)")
        return Target(MODULE, module_id=module_identity())
    avail = kernel_symbols()
    missing = [s for s in SYMBOLS if s not in avail]
    if missing:
        raise SymbolMissing(f"module '{MODULE}' lacks probe-able symbols "
                            f"(inlined or not in available_filter_functions): "
                            f"{', '.join(missing)}")
    return Target(MODULE, module_id=module_identity())


# ---- the attach plan ----

@dataclass(frozen=True)
class Attachment:
    """One probe or tracepoint of a session.

    how: "uprobe", "uretprobe", "kprobe", "kretprobe", "tracepoint" or
    "raw_tracepoint"; target: what it goes on (the library's path for
    uprobes, MODULE for the module's probes, "kernel" for the kernel's own
    tracepoints); fn_name: the BPF function; point: the symbol (probes) or
    the tracepoint (as BCC's attach_<how> takes it)."""
    how: str
    target: str
    fn_name: str
    point: str


# backend -> the mechanisms it can trace with; "auto" picks the first the
# target offers
MECHANISMS = {"user": ("uprobe",), "kernel": ("tracepoint", "kprobe")}
MODES = ("stream", "summary")


def check_backend_mode(backend: str, mode: str) -> None:
    """Refuses a backend or a mode the tracer does not have (a Program's
    and a session's arguments alike)."""
    if backend not in MECHANISMS:
        raise ValueError(f"backend is 'user' or 'kernel', not {backend!r}")
    if mode not in MODES:
        raise ValueError(f"mode is 'stream' or 'summary', not {mode!r}")

# What each mechanism means for the module's unloading, in one line.
UNLOAD_NOTE = {
    "tracepoint": "raw tracepoints hold a reference on the module: rmmod answers "
                  "'in use' until this session ends",
    "kprobe": "kprobes do not pin the module: rmmod works, and this session "
              "ends by itself when the module goes",
    "uprobe": "uprobes on the library: the session ends when its process does",
}


def module_tracepoints() -> set[str]:
    """The module's own tracepoints (tracefs events/lunatik/), empty when it
    is not loaded or was built without them."""
    try:
        return {p.name for p in (TRACEFS / "events" / MODULE).iterdir() if p.is_dir()}
    except OSError:
        return set()


def mechanism(backend: str, probes: str | None = None) -> str:
    """The mechanism asked for, checked: None and "auto" are "auto", which
    the session resolves when it starts (resolve_mechanism)."""
    if backend not in MECHANISMS:
        raise ValueError(f"backend is 'user' or 'kernel', not {backend!r}")
    if probes is None or probes == "auto":
        return "auto"
    if probes not in MECHANISMS[backend]:
        raise ValueError(f"the {backend} backend traces with "
                         f"{' or '.join(map(repr, ('auto',) + MECHANISMS[backend]))}, "
                         f"not {probes!r}")
    return probes


def resolve_mechanism(backend: str, probes: str | None = None) -> str:
    """The mechanism a session attaches with: "auto" is the module's
    tracepoints when the loaded module has them all, else kprobes (a build
    without tracepoints); the library is always traced with uprobes."""
    how = mechanism(backend, probes)
    if how != "auto":
        return how
    if backend == "user":
        return "uprobe"
    return "tracepoint" if set(MODULE_TRACEPOINTS) <= module_tracepoints() else "kprobe"


def attach_plan(backend: str, mode: str, target: str,
                probes: str | None = None) -> list[Attachment]:
    """Every attachment of a session, in attach order (detach: the reverse).

    The rows of PROBES in order (the release paths first): for uprobes and
    kprobes each function's return before its entry (no entry is seen
    without its return); for "tracepoint" the module's tracepoints of the
    row, through raw tracepoint programs (<tracepoint>_rawtp). The kernel's
    lock:contention tracepoints last. target: the library's path (user)."""
    how = resolve_mechanism(backend, probes)
    plan: list[Attachment] = []
    if how in ("uprobe", "kprobe"):
        where, ret_how = (target, "uretprobe") if how == "uprobe" else (MODULE, "kretprobe")
        for sym, entry, ret, _ in _probes(mode):
            if ret:
                plan.append(Attachment(ret_how, where, f"{sym}_return", sym))
            if entry:
                plan.append(Attachment(how, where, f"{sym}_entry", sym))
    elif how == "tracepoint":
        plan += [Attachment("raw_tracepoint", MODULE, f"{tp}_rawtp", tp)
                 for _, _, _, tps in _probes(mode) for tp in tps]
    if backend == "kernel":
        plan += [Attachment("tracepoint", "kernel", fn, tp) for tp, fn in TRACEPOINTS]
    return plan


def _attach_one(b: Any, a: Attachment, pid: int) -> None:
    fn = a.fn_name.encode()
    if a.how == "uprobe":
        b.attach_uprobe(name=a.target.encode(), sym=a.point.encode(), fn_name=fn, pid=pid)
    elif a.how == "uretprobe":
        b.attach_uretprobe(name=a.target.encode(), sym=a.point.encode(), fn_name=fn, pid=pid)
    elif a.how == "kprobe":
        b.attach_kprobe(event=a.point.encode(), fn_name=fn)
    elif a.how == "kretprobe":
        b.attach_kretprobe(event=a.point.encode(), fn_name=fn)
    elif a.how == "tracepoint":
        b.attach_tracepoint(tp=a.point.encode(), fn_name=fn)
    elif a.how == "raw_tracepoint":
        b.attach_raw_tracepoint(tp=a.point.encode(), fn_name=fn)
    else:
        raise ValueError(f"no way to attach {a.how!r}")


def _detach_one(b: Any, a: Attachment, pid: int) -> None:
    if a.how == "uprobe":
        b.detach_uprobe(name=a.target.encode(), sym=a.point.encode(), pid=pid)
    elif a.how == "uretprobe":
        b.detach_uretprobe(name=a.target.encode(), sym=a.point.encode(), pid=pid)
    elif a.how == "kprobe":
        b.detach_kprobe(event=a.point.encode())
    elif a.how == "kretprobe":
        b.detach_kretprobe(event=a.point.encode())
    elif a.how == "tracepoint":
        b.detach_tracepoint(tp=a.point.encode())
    elif a.how == "raw_tracepoint":
        b.detach_raw_tracepoint(tp=a.point.encode())


# ---- the compiled program ----

@dataclass(frozen=True)
class ProgramKey:
    backend: str
    mode: str
    ringbuf_pages: int
    layout: tuple[tuple[str, int], ...]


Sink = Callable[[Any], None]


class Program:
    """The BPF text compiled for one (backend, mode, ring size); reusable by
    one Tracer session at a time."""

    def __init__(self, backend: str = "user", mode: str = "stream",
                 ringbuf_pages: int = RINGBUF_PAGES, states_max: int = STATES_MAX,
                 defines: tuple[str, ...] = (),
                 extra_source: Path | None = None,
                 layout: Layout | None = None) -> None:
        """states_max: how many states (address and name) the summary maps
        hold; an update past that counts as a drop. defines: more -D
        flags (NAME=VALUE). extra_source: BPF text compiled after the
        product's, with its maps and helpers in scope (the bench's producer,
        bench/producer.bpf.c). layout: the offsets of a state's fields
        (default: the loaded module's, or the library's build; layout.py)."""
        check_backend_mode(backend, mode)
        if ringbuf_pages < 1 or ringbuf_pages & (ringbuf_pages - 1):
            raise ValueError(f"ringbuf_pages must be a power of two, not {ringbuf_pages}")
        if states_max < 1:
            raise ValueError(f"states_max must be positive, not {states_max}")
        try:
            self.layout = layout or for_backend(backend)
        except LayoutError as exc:
            raise TracerError(str(exc)) from None
        self.key = ProgramKey(backend, mode, ringbuf_pages, self.layout.offsets)
        # the module's kprobe stashes: per CPU only where it cannot be
        # preempted inside them (preemption.py); the library's are per thread
        self.preemption = preemption.running_kernel() if backend == "kernel" else None
        bcc = import_bcc()
        require_root()
        require_headers()
        cflags = [f"-I{BPF_DIR}",
                  f"-DLUNATIK_USER={1 if backend == 'user' else 0}",
                  f"-DLUNATIK_STREAM={1 if mode == 'stream' else 0}",
                  f"-DLUNATIK_RINGBUF_PAGES={ringbuf_pages}",
                  f"-DLUNATIK_STATES_MAX={states_max}",
                  f"-DLUNATIK_PREEMPTIBLE={0 if self.per_cpu_stashes else 1}",
                  "-Wno-macro-redefined"] + self.layout.cflags() + [f"-D{d}" for d in defines]
        t0 = time.monotonic()
        try:
            if extra_source is None:
                self.bpf = bcc.BPF(src_file=str(BPF_SOURCE).encode(), cflags=cflags)
            else:
                text = BPF_SOURCE.read_text() + "\n" + Path(extra_source).read_text()
                self.bpf = bcc.BPF(text=text.encode(), cflags=cflags)
        except Exception as exc:  # BCC raises bare Exception
            raise CompileError(f"BPF compile/load failed: {exc}") from None
        self.compile_seconds = time.monotonic() - t0
        # the consumer of the records: called with each one, a ctypes char
        # array over the ring buffer's memory, valid during the call only
        # (set_sink / consume_with)
        self._sink: Sink | None = None
        self.busy = False
        # what attach() attached, in order, and the pid filter of its uprobes
        self.attached: list[Attachment] = []
        self._attach_pid = -1
        self.decoder: RawDecoder | None = None
        if mode == "stream":
            ring = self.bpf[b"events"]
            # BCC's ctypes class of struct lunatik_event (from bpf/events.h)
            # gives the one struct.Struct the records are decoded with
            probe = ctypes.create_string_buffer(4096)
            self.decoder = RawDecoder(type(ring.event(ctypes.addressof(probe))))
            self._record_at = (ctypes.c_char * self.decoder.size).from_address
            self._open_ring(ring)

    @property
    def per_cpu_stashes(self) -> bool:
        """The module's kprobe stashes are per CPU (bpf/lunatik.bpf.c's
        slots), not per thread."""
        return self.preemption is not None and not self.preemption.preemptible

    # ---- records ----

    def _open_ring(self, ring: Any) -> None:
        """Registers on_record as the ring buffer's callback, straight as
        the ctypes callback when this BCC allows (its open_ring_buffer adds a
        Python wrapper per record), else through open_ring_buffer."""
        cb_type = getattr(getattr(import_bcc(), "libbcc", None), "_RINGBUF_CB_TYPE", None)
        if cb_type is not None and hasattr(self.bpf, "_open_ring_buffer"):
            self._ring_cb = cb_type(self.on_record)         # referenced while open
            self.bpf._open_ring_buffer(ring.map_fd, self._ring_cb, None)
        else:
            ring.open_ring_buffer(self.on_record)

    def on_record(self, _ctx: Any, data: Any, size: int) -> int:
        """The ring buffer's callback (BCC's signature): the record of size
        bytes at address data, to the sink (no copy: the sink decodes it
        before it returns). A caller replaying records from memory calls it
        the same way, with each one's address."""
        sink = self._sink
        if sink is not None:
            if size == self.decoder.size:   # type: ignore[union-attr]
                sink(self._record_at(data))
            else:
                sink((ctypes.c_char * size).from_address(data))
        return 0

    @property
    def sink(self) -> Sink | None:
        """The consumer of the records now (None: they are discarded)."""
        return self._sink

    def set_sink(self, sink: Sink | None) -> Sink | None:
        """Sends the records to sink from now on (None: discards them);
        returns the sink it replaces (to chain a tap in front of it)."""
        previous, self._sink = self._sink, sink
        return previous

    def clear_sink(self) -> None:
        self._sink = None

    @contextlib.contextmanager
    def consume_with(self, sink: Sink) -> Iterator[Program]:
        """The records go to sink inside the block, to the previous sink after."""
        previous = self.set_sink(sink)
        try:
            yield self
        finally:
            self._sink = previous

    def decode(self, raw: Any) -> Event:
        """The Event of one record (its bytes, or any buffer over them)."""
        assert self.decoder is not None, "a summary program has no records"
        return self.decoder.decode(raw)

    # ---- attach ----

    def attach(self, plan: list[Attachment], pid: int = -1, where: str = "") -> None:
        """Attaches the plan in order (pid: the uprobes' process filter, -1:
        every process); what attached is in self.attached, for detach()
        (also after a failure). where: the target named in an AttachError."""
        self._attach_pid = pid
        try:
            for a in plan:
                _attach_one(self.bpf, a, pid)
                self.attached.append(a)
        except Exception as exc:
            if isinstance(exc, TracerError):
                raise
            raise AttachError(f"attaching to {where or plan[0].target} failed: {exc}") from None

    def detach(self) -> None:
        """Detaches everything attached, the acquiring paths first (the
        reverse of the attach order). Each uprobe release waits for the
        kernel (~0.1 s)."""
        for a in reversed(self.attached):
            try:
                _detach_one(self.bpf, a, self._attach_pid)
            except Exception:
                pass    # best effort: the fds die with the process anyway
        self.attached.clear()

    # ---- maps ----

    def reset(self) -> None:
        """Clears the maps a session reads (counters, histograms, drops, stashes)."""
        names = ["counters", "counts", "named", "hists", "stashes", "contending"]
        if self.per_cpu_stashes:
            names.append("slots")
        if self.key.mode == "summary":
            names.append("allocs")
        for name in names:
            self.bpf[name.encode()].clear()
        drops = self.bpf[b"drops"]
        for i in range(len(drops)):
            drops.clearitem(ctypes.c_int(i))

    def drops_by_cause(self) -> dict[str, int]:
        """What was lost, by cause (events.DROP_CAUSES: "ringbuf",
        "map_full", "stash"), summed over the CPUs: one entry per entry of
        the drops array, however many it has."""
        table = self.bpf[b"drops"]
        return {drop_cause_name(i): int(sum(table[ctypes.c_int(i)]))
                for i in range(len(table))}

    def drops(self) -> int:
        """Everything lost, every cause and CPU."""
        return sum(self.drops_by_cause().values())

    def summary_rows(self) -> dict[str, list[Any]]:
        """The rows of the maps a summary is made of, for
        summary.summary_from_rows (allocs: summary mode only)."""
        b = self.bpf
        return {"allocs": (list(b[b"allocs"].items()) if self.key.mode == "summary" else []),
                "counts": list(b[b"counts"].items()),
                "counters": list(b[b"counters"].items()),
                "named": list(b[b"named"].values()),
                "hists": list(b[b"hists"].items())}

    def close(self) -> None:
        self.bpf.cleanup()


def build_program(backend: str = "user", mode: str = "stream",
                  ringbuf_pages: int = RINGBUF_PAGES, states_max: int = STATES_MAX) -> Program:
    """Compiles and loads the BPF program of one (backend, mode, ring size)."""
    return Program(backend, mode, ringbuf_pages, states_max)


__all__ = ["Program", "ProgramKey", "build_program", "Attachment", "attach_plan",
           "mechanism", "resolve_mechanism", "module_tracepoints", "MODULE_TRACEPOINTS",
           "UNLOAD_NOTE", "MECHANISMS", "MODES", "RINGBUF_PAGES", "STATES_MAX",
           "check_backend_mode", "Target", "resolve_target", "PROBES", "SYMBOLS", "TRACEPOINTS",
           "probes", "TracerError", "NotRoot", "BccMissing", "HeadersMissing",
           "LibraryNotFound", "ModuleNotLoaded", "SymbolMissing", "CompileError",
           "AttachError", "import_bcc", "require_root", "require_headers",
           "resolve_library", "library_symbols", "kernel_symbols", "module_identity"]
