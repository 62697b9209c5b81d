"""The native observer (lunatik_bpf/tracing/native) against the Python Observer, the
reference: agree(events) feeds the same records to both and asserts the same
findings (check, state, name, message, evidence events) and the same counts
per kind. Without the native core built, only the reference runs."""
from __future__ import annotations

import ctypes
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Callable

from lunatik_bpf.tracing import native
from lunatik_bpf.tracing.events import _RAW_FIELDS, KINDS, Event, ExecBegin, Lock, Lookup, RawDecoder
from lunatik_bpf.tracing.observer import Observer

# event field -> the record field it is stored in, where events.py reads it
# plainly ("r_<field>"); the others are encoded below
_STORED: dict[str, dict[str, str]] = {
    kind: {f: e[2:] for f, e in fields.items() if re.fullmatch(r"r_\w+", e)}
    for kind, fields in _RAW_FIELDS.items()}
_decode: Callable[[bytes], Event] | None = None


def decode(raw: bytes) -> Event:
    global _decode
    if _decode is None:
        _decode = RawDecoder(native.record_type()).decode
    return _decode(raw)


def encode(ev: Event) -> bytes:
    """The record (struct lunatik_event) that decodes to ev."""
    r = native.record_type()()
    r.kind = KINDS[ev.kind]
    for f in ("ts", "pid", "tid", "cpu", "state"):
        setattr(r, f, getattr(ev, f))
    r.comm, r.name = ev.comm.encode(), ev.name.encode()
    for f, rf in _STORED[ev.kind].items():
        setattr(r, rf, getattr(ev, f))
    if isinstance(ev, Lookup):
        r.flags = int(ev.via == "stateget")
    elif isinstance(ev, ExecBegin):
        r.code, r.code_len = ev.code, len(ev.code)
    elif isinstance(ev, Lock):
        r.flags = int(ev.contended)
    return ctypes.string_at(ctypes.addressof(r), ctypes.sizeof(r))


def key(f: Any) -> tuple[Any, ...]:
    return (f.check, f.state, f.name, f.message, f.events)


def python_side(evs: Sequence[Event], drops: int = 0) -> tuple[list[tuple[Any, ...]], Counter]:
    obs = Observer()
    for e in evs:
        obs.feed(e)
    obs.note_drops(drops)
    obs.finish()
    return [key(f) for f in obs.findings], Counter(e.kind for e in evs)


def native_side(raws: Sequence[bytes], drops: int = 0, batch: bool = True
                ) -> tuple[list[tuple[Any, ...]], Counter]:
    obs = native.NativeObserver(decode)
    if batch and raws:
        obs.feed_many(b"".join(raws), len(raws[0]), len(raws))
    else:
        for r in raws:
            obs.feed(r)
    obs.note_drops(drops)
    obs.finish()
    assert obs.bad == 0 and obs.events == len(raws)
    return [key(f) for f in obs.findings], Counter(obs.counts())


def agree(evs: Sequence[Event], drops: int = 0) -> list[str]:
    """The checks the reference finds on evs; the native core, when built,
    must find exactly the same (fed in one batch and record by record)."""
    py, py_counts = python_side(evs, drops)
    if native.available():
        raws = [encode(e) for e in evs]
        assert [decode(r) for r in raws] == list(evs)   # the encoding is exact
        nat, nat_counts = native_side(raws, drops)
        assert nat == py
        assert nat_counts == py_counts
        assert native_side(raws, drops, batch=False)[0] == py
    return [k[0] for k in py]
