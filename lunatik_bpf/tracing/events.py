"""Events of the tracer as dataclasses, one per kind.

The layout of a record lives only in bpf/events.h: BCC generates the ctypes
class from it (``bpf["events"].event(data)``), and the kind numbers are read
from the same header here. This module only says what each kind's fields
mean (see the comments of ``enum lunatik_event_kind``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from .. import data

# the BPF text and its headers, as package data (lunatik_bpf/data)
BPF_DIR = data.path()
EVENTS_H = BPF_DIR / "events.h"


def parse_enum(text: str, enum: str) -> dict[str, int]:
    """Values of a C enum (explicit ``= n`` or sequential) from header text."""
    m = re.search(r"enum\s+" + re.escape(enum) + r"\s*\{(.*?)\}", text, re.S)
    if not m:
        raise ValueError(f"enum {enum} not found")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    values: dict[str, int] = {}
    nxt = 0
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, val = item.partition("=")
        nxt = int(val.strip(), 0) if val.strip() else nxt
        values[name.strip()] = nxt
        nxt += 1
    return values


def parse_define(text: str, name: str) -> int:
    m = re.search(r"#define\s+" + re.escape(name) + r"\s+(\d+)", text)
    if not m:
        raise ValueError(f"#define {name} not found")
    return int(m.group(1))


_HEADER = EVENTS_H.read_text()
KINDS: dict[str, int] = {k.removeprefix("LUNATIK_EV_").lower(): v
                         for k, v in parse_enum(_HEADER, "lunatik_event_kind").items()
                         if k != "LUNATIK_EV_MAX"}
HISTS: dict[str, int] = {k.removeprefix("LUNATIK_HIST_").lower(): v
                         for k, v in parse_enum(_HEADER, "lunatik_hist_kind").items()
                         if k != "LUNATIK_HIST_MAX"}
# why an event or a count was lost: the index of the BPF `drops` array
DROP_CAUSES: dict[str, int] = {k.removeprefix("LUNATIK_DROP_").lower(): v
                               for k, v in parse_enum(_HEADER, "lunatik_drop_cause").items()
                               if k != "LUNATIK_DROP_MAX"}
KIND_NAMES: dict[int, str] = {v: k for k, v in KINDS.items()}
HIST_NAMES: dict[int, str] = {v: k for k, v in HISTS.items()}
# the unit of each histogram's values (enum lunatik_hist_kind's comments)
HIST_UNITS: dict[str, str] = {"alloc_size": "bytes", "exec_latency": "ns",
                              "lock_wait": "ns", "lock_hold": "ns", "contention": "ns"}
assert set(HIST_UNITS) == set(HISTS), "a histogram of events.h without its unit"
LOOKUP_STATEGET = parse_define(_HEADER, "LUNATIK_LOOKUP_STATEGET")
LOCK_CONTENDED = parse_define(_HEADER, "LUNATIK_LOCK_CONTENDED")
CODE_MAX = parse_define(_HEADER, "LUNATIK_CODE_MAX")
NAME_LEN = parse_define(_HEADER, "LUNATIK_EV_NAME_LEN")


def c_text(raw: bytes) -> str:
    """A C char array as text: up to its first NUL, bytes that are not
    UTF-8 replaced (names and comms are shown, never sent back)."""
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")


@dataclass(frozen=True)
class Event:
    """The common header of every event."""
    kind: ClassVar[str] = "event"
    ts: int
    pid: int
    tid: int
    comm: str
    cpu: int
    state: int          # lunatik_State address (0: none)
    name: str           # the state's name, or the name asked for

    def short(self) -> str:
        return f"{self.kind}({self.name!r}@{self.state:#x} tid={self.tid})"


@dataclass(frozen=True)
class Create(Event):
    kind: ClassVar[str] = "create"
    maxalloc: int = 0
    error: int = 0      # 0, or -errno when create failed (state is 0 then)
    latency: int = 0

    @property
    def ok(self) -> bool:
        return self.error == 0 and self.state != 0


@dataclass(frozen=True)
class Remove(Event):
    kind: ClassVar[str] = "remove"
    ret: int = 0


@dataclass(frozen=True)
class Lookup(Event):
    kind: ClassVar[str] = "lookup"
    via: str = "statelookup"    # or "stateget" (which takes a reference)
    users: int = 0              # stateget hit: users read at its return

    @property
    def hit(self) -> bool:
        return self.state != 0


@dataclass(frozen=True)
class Get(Event):
    kind: ClassVar[str] = "get"
    count: int = 0      # users after; 0: the state was dying, no reference


@dataclass(frozen=True)
class Put(Event):
    kind: ClassVar[str] = "put"
    count: int = 0      # users after; 0: the state was freed in this put


@dataclass(frozen=True)
class ExecBegin(Event):
    kind: ClassVar[str] = "exec_begin"
    length: int = 0
    code: bytes = b""   # the first CODE_MAX bytes

    @property
    def complete_code(self) -> bool:
        return len(self.code) == self.length


@dataclass(frozen=True)
class ExecEnd(Event):
    kind: ClassVar[str] = "exec_end"
    status: int = 0     # Lua status, or -errno
    latency: int = 0
    length: int = 0


@dataclass(frozen=True)
class Alloc(Event):
    kind: ClassVar[str] = "alloc"
    osize: int = 0
    nsize: int = 0
    curralloc: int = 0  # the state's own curralloc before this charge
    maxalloc: int = 0

    @property
    def after(self) -> int:
        return self.curralloc - self.osize + self.nsize


@dataclass(frozen=True)
class Deny(Event):
    kind: ClassVar[str] = "deny"
    osize: int = 0
    nsize: int = 0
    curralloc: int = 0
    maxalloc: int = 0

    @property
    def would_be(self) -> int:
        return self.curralloc - self.osize + self.nsize


@dataclass(frozen=True)
class Free(Event):
    kind: ClassVar[str] = "free"
    curralloc: int = 0
    maxalloc: int = 0


@dataclass(frozen=True)
class Lock(Event):
    kind: ClassVar[str] = "lock"
    wait: int = 0
    contended: bool = False     # another thread held the lock when this one asked


@dataclass(frozen=True)
class Unlock(Event):
    kind: ClassVar[str] = "unlock"
    hold: int = 0       # 0 when the matching lock return was not seen


@dataclass(frozen=True)
class Contention(Event):
    kind: ClassVar[str] = "contention"
    wait: int = 0


def _header(r: Any) -> dict[str, Any]:
    return dict(ts=int(r.ts), pid=int(r.pid), tid=int(r.tid), comm=c_text(r.comm),
                cpu=int(r.cpu), state=int(r.state), name=c_text(r.name))


_DECODERS: dict[int, Callable[[Any], Event]] = {
    KINDS["create"]: lambda r: Create(**_header(r), maxalloc=int(r.maxalloc),
                                      error=int(r.ret), latency=int(r.latency)),
    KINDS["remove"]: lambda r: Remove(**_header(r), ret=int(r.ret)),
    KINDS["lookup"]: lambda r: Lookup(
        **_header(r), via="stateget" if r.flags == LOOKUP_STATEGET else "statelookup",
        users=int(r.count)),
    KINDS["get"]: lambda r: Get(**_header(r), count=int(r.count)),
    KINDS["put"]: lambda r: Put(**_header(r), count=int(r.count)),
    KINDS["exec_begin"]: lambda r: ExecBegin(
        **_header(r), length=int(r.len), code=bytes(r.code[:min(int(r.code_len), CODE_MAX)])),
    KINDS["exec_end"]: lambda r: ExecEnd(**_header(r), status=int(r.ret),
                                         latency=int(r.latency), length=int(r.len)),
    KINDS["alloc"]: lambda r: Alloc(**_header(r), osize=int(r.osize), nsize=int(r.nsize),
                                    curralloc=int(r.curralloc), maxalloc=int(r.maxalloc)),
    KINDS["deny"]: lambda r: Deny(**_header(r), osize=int(r.osize), nsize=int(r.nsize),
                                  curralloc=int(r.curralloc), maxalloc=int(r.maxalloc)),
    KINDS["free"]: lambda r: Free(**_header(r), curralloc=int(r.curralloc),
                                  maxalloc=int(r.maxalloc)),
    KINDS["lock"]: lambda r: Lock(**_header(r), wait=int(r.latency),
                                  contended=bool(r.flags & LOCK_CONTENDED)),
    KINDS["unlock"]: lambda r: Unlock(**_header(r), hold=int(r.latency)),
    KINDS["contention"]: lambda r: Contention(**_header(r), wait=int(r.latency)),
}
assert set(_DECODERS) == set(KINDS.values()), "events.py lags behind bpf/events.h"


class UnknownEvent(ValueError):
    pass


def decode(record: Any) -> Event:
    """One BCC ring-buffer record (the ctypes struct lunatik_event) -> Event."""
    try:
        return _DECODERS[int(record.kind)](record)
    except KeyError:
        raise UnknownEvent(f"unknown event kind {record.kind}") from None


# ---- the fast path: records as bytes, one struct.Struct ----
#
# The tracer's consumer decodes the raw bytes of each ring-buffer record with
# one precompiled struct.Struct. Its format is derived from the ctypes class
# BCC generated from bpf/events.h (RawDecoder(ctypes_class)), so that header
# stays the only definition of the layout; the per-kind functions below are
# generated once from the dataclasses' fields and give exactly what decode()
# gives for the same record (tests/tracer/test_fast_decode.py).

# field of the event -> expression over the record's fields (r_<field>)
_RAW_FIELDS: dict[str, dict[str, str]] = {
    "create": {"maxalloc": "r_maxalloc", "error": "r_ret", "latency": "r_latency"},
    "remove": {"ret": "r_ret"},
    "lookup": {"via": "'stateget' if r_flags == LOOKUP_STATEGET else 'statelookup'",
               "users": "r_count"},
    "get": {"count": "r_count"},
    "put": {"count": "r_count"},
    "exec_begin": {"length": "r_len",
                   "code": "r_code[:min(r_code_len, CODE_MAX)].split(b'\\0', 1)[0]"},
    "exec_end": {"status": "r_ret", "latency": "r_latency", "length": "r_len"},
    "alloc": {"osize": "r_osize", "nsize": "r_nsize", "curralloc": "r_curralloc",
              "maxalloc": "r_maxalloc"},
    "deny": {"osize": "r_osize", "nsize": "r_nsize", "curralloc": "r_curralloc",
             "maxalloc": "r_maxalloc"},
    "free": {"curralloc": "r_curralloc", "maxalloc": "r_maxalloc"},
    "lock": {"wait": "r_latency", "contended": "bool(r_flags & LOCK_CONTENDED)"},
    "unlock": {"hold": "r_latency"},
    "contention": {"wait": "r_latency"},
}
_HEADER_FIELDS = {"ts": "r_ts", "pid": "r_pid", "tid": "r_tid",
                  "comm": "(texts_get(r_comm) or text(r_comm))", "cpu": "r_cpu",
                  "state": "r_state", "name": "(texts_get(r_name) or text(r_name))"}
_CLASSES: dict[str, type[Event]] = {c.kind: c for c in (
    Create, Remove, Lookup, Get, Put, ExecBegin, ExecEnd, Alloc, Deny, Free, Lock,
    Unlock, Contention)}
assert set(_RAW_FIELDS) == set(KINDS) == set(_CLASSES), "events.py lags behind bpf/events.h"

_SIGNED = {1: "b", 2: "h", 4: "i", 8: "q"}


def struct_format(ctype: Any) -> tuple[str, tuple[str, ...]]:
    """The struct format ('=' sizes, explicit padding) and field names of a
    flat ctypes Structure of scalars and char arrays (what BCC generates for
    a ring-buffer record). Char arrays become bytes of their full length."""
    import ctypes
    fmt, names, pos = "=", [], 0
    for fname, ftype, *_ in ctype._fields_:
        off = getattr(ctype, fname).offset
        if off < pos:
            raise ValueError(f"{fname}: overlapping or bit fields are not supported")
        fmt += "x" * (off - pos)
        size = ctypes.sizeof(ftype)
        if issubclass(ftype, ctypes.Array):
            if ftype._type_ is not ctypes.c_char:
                raise ValueError(f"{fname}: only char arrays are supported")
            fmt += f"{size}s"
        else:
            code = getattr(ftype, "_type_", None)
            if not isinstance(code, str) or size not in _SIGNED:
                raise ValueError(f"{fname}: {ftype} is not a scalar")
            c = _SIGNED[size]
            fmt += c.upper() if code in "BHILQNP" else c
        names.append(fname)
        pos = off + size
    fmt += "x" * (ctypes.sizeof(ctype) - pos)
    return fmt, tuple(names)


class RawDecoder:
    """bytes of one record (struct lunatik_event) -> Event, the same Event as
    decode(ctypes record) gives. Built from BCC's ctypes class of the record."""

    TEXT_CACHE = 4096       # distinct comm/name byte strings kept decoded

    def __init__(self, ctype: Any) -> None:
        import ctypes
        import struct
        fmt, names = struct_format(ctype)
        self.struct = struct.Struct(fmt)
        if self.struct.size != ctypes.sizeof(ctype):
            raise ValueError(f"struct format {fmt} is {self.struct.size} bytes, the record "
                             f"{ctypes.sizeof(ctype)}")
        missing = {f[2:] for k in _RAW_FIELDS.values() for v in k.values()
                   for f in re.findall(r"\br_\w+", v)} | {"kind"} | {
                   v[2:] for v in re.findall(r"\br_\w+", " ".join(_HEADER_FIELDS.values()))}
        missing -= set(names)
        if missing:
            raise ValueError(f"the record lacks fields {sorted(missing)}")
        self.size = self.struct.size
        self.kind_index = names.index("kind")
        self._texts: dict[bytes, str] = {}
        unpack = self.struct.unpack_from
        ns: dict[str, Any] = {"new": object.__new__, "text": self._text,
                              "texts_get": self._texts.get,
                              "LOOKUP_STATEGET": LOOKUP_STATEGET, "CODE_MAX": CODE_MAX,
                              "LOCK_CONTENDED": LOCK_CONTENDED, "UnknownEvent": UnknownEvent}
        params = ", ".join("r_" + n for n in names)
        src = []
        for kind, extra in _RAW_FIELDS.items():
            cls = _CLASSES[kind]
            ns[f"C_{kind}"] = cls
            exprs = {**_HEADER_FIELDS, **extra}
            fields = [f.name for f in __import__("dataclasses").fields(cls)]
            assert set(fields) == set(exprs), (kind, fields)
            body = "\n".join(f"    d[{f!r}] = {exprs[f]}" for f in fields)
            src.append(f"def d_{kind}({params}):\n    o = new(C_{kind})\n"
                       f"    d = o.__dict__\n{body}\n    return o\n")
        exec("\n".join(src), ns)  # noqa: S102 - generated from the tables above
        self._by_kind = {KINDS[k]: ns[f"d_{k}"] for k in _RAW_FIELDS}
        by_kind, ki = self._by_kind, self.kind_index

        def decode_raw(raw: Any) -> Event:
            v = unpack(raw)
            try:
                return by_kind[v[ki]](*v)
            except KeyError:
                raise UnknownEvent(f"unknown event kind {v[ki]}") from None
        self.decode = decode_raw

    def _text(self, raw: bytes) -> str:
        s = self._texts.get(raw)
        if s is None:
            s = c_text(raw)
            if len(self._texts) >= self.TEXT_CACHE:
                self._texts.clear()
            self._texts[raw] = s
        return s


@dataclass
class Histogram:
    """A log2 histogram: slot -> count; slot s > 0 holds [2^(s-1), 2^s), slot 0 holds 0
    (BCC's bpf_log2l)."""
    kind: str
    slots: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.slots.values())

    @staticmethod
    def bounds(slot: int) -> tuple[int, int]:
        """The smallest and largest value counted in slot."""
        return (0, 0) if slot == 0 else (1 << (slot - 1), (1 << slot) - 1)

    def render(self, unit: str = "") -> str:
        if not self.slots:
            return f"{self.kind}: (empty)\n"
        width = max(self.slots.values())
        lines = [f"{self.kind}{' (' + unit + ')' if unit else ''}:"]
        for s in range(min(self.slots), max(self.slots) + 1):
            n = self.slots.get(s, 0)
            lo, hi = self.bounds(s)
            bar = "*" * (40 * n // width) if width else ""
            lines.append(f"  {lo:>12} -> {hi:<12} : {n:<8} |{bar:<40}|")
        return "\n".join(lines) + "\n"
