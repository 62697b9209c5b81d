"""The observer's native core (observe.c, built by `make build` into
build/native/liblunatik-observe.so), through ctypes.

It runs the checks of observer.Observer (the reference implementation) on
raw records. Live, libbcc's ring-buffer consumer (libbpf's ring_buffer,
which observe.c opens with dlopen) hands each record to a C callback, in
batches: no Python runs per event, only per finding (rare) and per poll.
Where BCC is absent the library still loads: the offline entry points work,
open_ring fails (ring_available() says which). The record layout
comes from bpf/events.h, which observe.c includes; record_type() builds the
ctypes class from the offsets the library reports, so Python does not
restate it either.

    obs = NativeObserver()
    obs.feed_many(buffer, stride, n)      # offline: records from memory
    obs.open_ring(map_fd); obs.poll(100)  # live: the `events` ring buffer
    obs.findings, obs.events, obs.counts()
"""
from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

from ... import data
from ..checks import Finding
from ..events import DROP_CAUSES, KIND_NAMES, NAME_LEN, Event, RawDecoder, c_text

# the native core the package ships (lunatik_bpf/data; make native in a
# clone), or the one of another build tree
LIBRARY = (Path(os.environ["LUNATIK_BUILD"]) / "native" / "liblunatik-observe.so"
           if os.environ.get("LUNATIK_BUILD") else data.path("liblunatik-observe.so"))


class NativeMissing(RuntimeError):
    """The native core is not built (make build)."""


class _Field(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("offset", ctypes.c_uint32),
                ("size", ctypes.c_uint32), ("is_signed", ctypes.c_uint32),
                ("is_text", ctypes.c_uint32)]


_LIB: ctypes.CDLL | None = None
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "obs_new": (ctypes.c_void_p, []),
    "obs_free": (None, [ctypes.c_void_p]),
    "obs_feed": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]),
    "obs_feed_many": (ctypes.c_uint64, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                        ctypes.c_size_t]),
    "obs_note_drops": (None, [ctypes.c_void_p, ctypes.c_uint64,
                              ctypes.POINTER(ctypes.c_uint64), ctypes.c_uint32]),
    "obs_finish": (None, [ctypes.c_void_p]),
    "obs_ring_supported": (ctypes.c_int, []),
    "obs_ring_open": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
    "obs_ring_close": (None, [ctypes.c_void_p]),
    "obs_ring_consume": (ctypes.c_long, [ctypes.c_void_p]),
    "obs_ring_poll": (ctypes.c_long, [ctypes.c_void_p, ctypes.c_int]),
    "obs_nfindings": (ctypes.c_size_t, [ctypes.c_void_p]),
    "obs_finding_at": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t]),
    "obs_events": (ctypes.c_uint64, [ctypes.c_void_p]),
    "obs_bad": (ctypes.c_uint64, [ctypes.c_void_p]),
    "obs_count": (ctypes.c_uint64, [ctypes.c_void_p, ctypes.c_uint32]),
    "obs_error": (ctypes.c_int, [ctypes.c_void_p]),
    "obs_record_fields": (ctypes.POINTER(_Field), []),
    "obs_record_size": (ctypes.c_size_t, []),
    "obs_finding_size": (ctypes.c_size_t, []),
    "obs_finding_events_offset": (ctypes.c_size_t, []),
    "obs_finding_message_len": (ctypes.c_size_t, []),
    "obs_check_name": (ctypes.c_char_p, [ctypes.c_uint32]),
}


def available() -> bool:
    return LIBRARY.is_file()


def ring_available() -> bool:
    """The live path can work: libbcc's ring-buffer consumer loads."""
    return available() and bool(lib().obs_ring_supported())


def lib() -> ctypes.CDLL:
    global _LIB
    if _LIB is None:
        if not LIBRARY.is_file():
            raise NativeMissing(f"{LIBRARY} is missing (make build)")
        so = ctypes.CDLL(str(LIBRARY))
        for name, (res, args) in _SIGNATURES.items():
            fn = getattr(so, name)
            fn.restype, fn.argtypes = res, args
        _LIB = so
    return _LIB


def check_names() -> list[str]:
    """The checks the native core knows, in its order."""
    out, i = [], 0
    while (name := lib().obs_check_name(i)) is not None:
        out.append(name.decode())
        i += 1
    return out


_RECORD: type[ctypes.Structure] | None = None
_FINDING: type[ctypes.Structure] | None = None


def record_type() -> type[ctypes.Structure]:
    """ctypes class of struct lunatik_event, from the offsets observe.c was
    compiled with (bpf/events.h), explicit padding where C has it."""
    global _RECORD
    if _RECORD is None:
        so, fields, pos, i = lib(), [], 0, 0
        ptr = so.obs_record_fields()
        while ptr[i].name is not None:
            f = ptr[i]
            if f.offset > pos:
                fields.append((f"_pad{pos}", ctypes.c_char * (f.offset - pos)))
            if f.is_text:
                ctype: Any = ctypes.c_char * f.size
            else:
                ctype = {(8, 0): ctypes.c_uint64, (8, 1): ctypes.c_int64,
                         (4, 0): ctypes.c_uint32, (4, 1): ctypes.c_int32}[(f.size, f.is_signed)]
            fields.append((f.name.decode(), ctype))
            pos = f.offset + f.size
            i += 1
        size = so.obs_record_size()
        if size > pos:
            fields.append((f"_pad{pos}", ctypes.c_char * (size - pos)))
        cls = type("lunatik_event", (ctypes.Structure,), {"_fields_": fields})
        if ctypes.sizeof(cls) != size:
            raise NativeMissing(f"record layout mismatch: {ctypes.sizeof(cls)} != {size}")
        _RECORD = cls
    return _RECORD


def finding_type() -> type[ctypes.Structure]:
    """ctypes class of struct obs_finding (checked against the library's sizes)."""
    global _FINDING
    if _FINDING is None:
        so, rec = lib(), record_type()
        head, msg = so.obs_finding_events_offset(), so.obs_finding_message_len()
        nev = (so.obs_finding_size() - head) // ctypes.sizeof(rec)
        cls = type("obs_finding", (ctypes.Structure,), {"_fields_": [
            ("check", ctypes.c_char * 32), ("state", ctypes.c_uint64),
            ("name", ctypes.c_char * NAME_LEN), ("message", ctypes.c_char * msg),
            ("nevents", ctypes.c_uint32), ("events", rec * nev)]})
        if (ctypes.sizeof(cls), cls.events.offset) != (so.obs_finding_size(), head):
            raise NativeMissing("struct obs_finding layout mismatch")
        _FINDING = cls
    return _FINDING


def _drop_cause_index(cause: str) -> int:
    """The index of the drops array a cause names: events.DROP_CAUSES, or
    "cause<N>" (summary.drop_cause_name of an index events.h does not name)."""
    if cause in DROP_CAUSES:
        return DROP_CAUSES[cause]
    m = re.fullmatch(r"cause(0|[1-9][0-9]*)", cause)
    if m is None or int(m[1]) in DROP_CAUSES.values():
        raise ValueError(f"drop cause {cause!r}: not one of {sorted(DROP_CAUSES)} "
                         "nor cause<N>")
    return int(m[1])


def _drop_counts(by_cause: Mapping[str, int]) -> list[int]:
    """by_cause as counts in the order of enum lunatik_drop_cause (0 where a
    cause is absent); [] when no cause lost anything."""
    nonzero = {_drop_cause_index(c): int(n) for c, n in by_cause.items() if n}
    if not nonzero:
        return []
    counts = [0] * (max(nonzero) + 1)
    for i, n in nonzero.items():
        if n < 0:
            raise ValueError(f"drop count {n} < 0")
        counts[i] = n
    return counts


class NativeObserver:
    """The native observer of one session. decode turns the bytes of an
    evidence record into its Event (the tracer passes its Program's)."""

    def __init__(self, decode: Callable[[bytes], Event] | None = None) -> None:
        self._lib = lib()
        self._ftype = finding_type()
        self._size = ctypes.sizeof(record_type())
        self._decode = decode or RawDecoder(record_type()).decode
        self._obs = self._lib.obs_new()
        if not self._obs:
            raise MemoryError("obs_new")
        self.findings: list[Finding] = []
        self._ring_open = False

    # ---- feeding ----

    def feed(self, raw: bytes) -> list[Finding]:
        """One record (its bytes)."""
        self._lib.obs_feed(self._obs, raw, len(raw))
        return self._collect()

    def feed_many(self, buf: Any, stride: int, n: int) -> list[Finding]:
        """n records stride bytes apart in buf (bytes, or a ctypes buffer)."""
        self._lib.obs_feed_many(self._obs, buf, stride, n)
        return self._collect()

    def open_ring(self, map_fd: int) -> None:
        err = self._lib.obs_ring_open(self._obs, map_fd)
        if err:
            raise OSError(-err, f"opening the ring buffer (fd {map_fd}) with libbcc's "
                          f"consumer: {os.strerror(-err)}")
        self._ring_open = True

    def close_ring(self) -> None:
        if self._ring_open:
            self._lib.obs_ring_close(self._obs)
            self._ring_open = False

    def consume(self) -> list[Finding]:
        """Every record in the ring buffer now (none waited for)."""
        self._ring_result(self._lib.obs_ring_consume(self._obs))
        return self._collect()

    def poll(self, timeout_ms: int) -> list[Finding]:
        """What is in the ring buffer, waiting up to timeout_ms when it is empty
        (the GIL is released meanwhile: ctypes calls run without it)."""
        self._ring_result(self._lib.obs_ring_poll(self._obs, timeout_ms))
        return self._collect()

    @staticmethod
    def _ring_result(n: int) -> None:
        if n < 0:
            raise OSError(-n, f"ring buffer: {os.strerror(-n)}")

    def note_drops(self, drops: int, by_cause: Mapping[str, int] | None = None
                   ) -> list[Finding]:
        """Reports lost events once, as Observer.note_drops: drops is the
        total, by_cause its split by cause (events.DROP_CAUSES names, or
        summary.drop_cause_name's "cause<N>" for an index events.h does not
        name), passed to observe.c in the order of enum lunatik_drop_cause.
        Without it, the total is the ring buffer's."""
        if drops > 0:
            counts = _drop_counts(by_cause or {})
            arr = (ctypes.c_uint64 * len(counts))(*counts) if counts else None
            self._lib.obs_note_drops(self._obs, drops, arr, len(counts))
        return self._collect()

    def finish(self) -> list[Finding]:
        self._lib.obs_finish(self._obs)
        return self._collect()

    # ---- results ----

    @property
    def events(self) -> int:
        """Records checked (bad ones not counted)."""
        return int(self._lib.obs_events(self._obs))

    @property
    def bad(self) -> int:
        """Records of another size or an unknown kind, skipped."""
        return int(self._lib.obs_bad(self._obs))

    def counts(self) -> dict[str, int]:
        """Records checked per kind (kinds seen only)."""
        out = {}
        for k, name in KIND_NAMES.items():
            n = int(self._lib.obs_count(self._obs, k))
            if n:
                out[name] = n
        return out

    def _collect(self) -> list[Finding]:
        if self._lib.obs_error(self._obs):
            raise MemoryError("the native observer ran out of memory: checks are partial")
        n = self._lib.obs_nfindings(self._obs)
        new = [self._finding(i) for i in range(len(self.findings), n)]
        self.findings.extend(new)
        return new

    def _finding(self, i: int) -> Finding:
        f = self._ftype.from_address(self._lib.obs_finding_at(self._obs, i))
        evs = tuple(self._decode(ctypes.string_at(ctypes.addressof(f.events[j]), self._size))
                    for j in range(f.nevents))
        return Finding(check=f.check.decode(), state=int(f.state), name=c_text(f.name),
                       message=f.message.decode("utf-8", "replace"), events=evs)

    def close(self) -> None:
        if self._obs:
            self._lib.obs_free(self._obs)
            self._obs = None
            self._ring_open = False

    def __del__(self) -> None:
        self.close()


__all__ = ["NativeObserver", "NativeMissing", "available", "ring_available", "record_type",
           "check_names"]
