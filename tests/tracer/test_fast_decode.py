"""The consumer's fast path gives what the plain path gives: records decoded
from their bytes with the struct.Struct derived from BCC's ctypes class equal
decode() of the ctypes record; the observer's inline allocation path finds
what its full path finds; retain=False keeps no events and checks the same."""
from __future__ import annotations

import ctypes
import itertools
import random

import pytest

import lunatik_bpf
from lunatik_bpf.tracing.events import (CODE_MAX, KINDS, LOCK_CONTENDED, LOOKUP_STATEGET, Alloc,
                                        Create, Deny, Free, Put, UnknownEvent, decode, struct_format)
from lunatik_bpf.tracing.observer import Observer
from lunatik_bpf.tracing.tracer import Tracer

from .conftest import USER_LIBRARY

pytestmark = pytest.mark.root


def record_class(program) -> type:
    probe = ctypes.create_string_buffer(4096)
    return type(program.bpf[b"events"].event(ctypes.addressof(probe)))


def records(cls: type) -> list:
    rnd = random.Random(7)
    out = []
    codes = [b"", b"return 1", b"a\0b", b"x" * (CODE_MAX - 1), b"y" * CODE_MAX]
    names = [b"", b"s", b"n" * 63, b"\xff\xfebad", "é".encode()]
    for kind, code, name in itertools.product(sorted(KINDS.values()), codes, names):
        r = cls()
        r.kind, r.ts, r.state = kind, rnd.getrandbits(63), rnd.getrandbits(47)
        r.pid, r.tid, r.cpu = rnd.getrandbits(22), rnd.getrandbits(22), rnd.getrandbits(3)
        r.comm, r.name = b"python3", name
        r.ret = rnd.choice([0, -17, -2, 3, 1 << 40])
        r.maxalloc, r.curralloc = rnd.getrandbits(30), rnd.getrandbits(30)
        r.osize, r.nsize, r.len = rnd.getrandbits(16), rnd.getrandbits(16), len(code) + 3
        r.latency, r.count = rnd.getrandbits(40), rnd.choice([-1, 0, 1, 2, 1 << 33])
        r.flags = rnd.choice([0, LOOKUP_STATEGET, LOCK_CONTENDED, 3])
        r.code_len = rnd.choice([len(code), len(code) + 10, 0])
        r.code = code
        out.append(r)
    return out


def test_struct_format_covers_the_record(user_program):
    cls = record_class(user_program)
    fmt, names = struct_format(cls)
    assert names == tuple(f[0] for f in cls._fields_)
    assert user_program.decoder.size == ctypes.sizeof(cls)


def test_fast_decode_equals_decode(user_program):
    cls = record_class(user_program)
    for r in records(cls):
        want = decode(r)
        raw = bytes(r)
        for got in (user_program.decode(raw),
                    user_program.decode((ctypes.c_char * len(raw)).from_buffer_copy(raw))):
            assert type(got) is type(want)
            assert got == want and vars(got) == vars(want)
    r = cls()
    r.kind = 999
    with pytest.raises(UnknownEvent):
        user_program.decode(bytes(r))


class FullPathObserver(Observer):
    """Every allocation through the general path (no inline fast path)."""

    def _on_alloc(self, ev, out):
        self._alloc_or_deny(ev, out)


def ev(cls, state, tid=1, **kw):
    return cls(ts=0, pid=1, tid=tid, comm="t", cpu=0, state=state, name=f"s{state}", **kw)


def test_inline_alloc_path_finds_what_the_full_path_finds():
    rnd = random.Random(3)
    for trial in range(200):
        evs, cur = [], {1: 0, 2: 0}
        for _ in range(60):
            st = rnd.choice([1, 2])
            roll = rnd.random()
            if roll < 0.7:
                o, n = rnd.choice([0, 8, 16]), rnd.choice([0, 16, 64])
                c = cur[st] + rnd.choice([0, 0, 0, 0, 8])        # drift sometimes
                evs.append(ev(Alloc, st, osize=o, nsize=n, curralloc=c,
                              maxalloc=rnd.choice([0, 100, 1000])))
                cur[st] = c - o + n
            elif roll < 0.8:
                evs.append(ev(Create, st, maxalloc=1000))
            elif roll < 0.85:
                evs.append(ev(Deny, st, osize=0, nsize=50, curralloc=cur[st], maxalloc=60))
            elif roll < 0.92:
                evs.append(ev(Free, st, curralloc=cur[st], maxalloc=1000))
            else:
                evs.append(ev(Put, st, count=rnd.choice([0, 1])))
        a, b = Observer(), FullPathObserver()
        assert [a.feed(e) for e in evs] == [b.feed(e) for e in evs], trial
        assert a.findings == b.findings
        assert {k: (s.curralloc, s.allocs, s.maxalloc, list(s.recent))
                for k, s in a.live.items()} == {
            k: (s.curralloc, s.allocs, s.maxalloc, list(s.recent)) for k, s in b.live.items()}


def test_retain_false_keeps_no_events(user_program):
    assert USER_LIBRARY.is_file()
    states = lunatik_bpf.connect("user")
    runs = []
    for retain in (True, False):
        seen = []
        with Tracer(program=user_program, library=states.backend.library_path,
                    retain=retain, on_event=seen.append) as tracer:
            states.new("tr_retain", 1 << 20)
            states.execute("tr_retain", "local t = {} for i = 1, 50 do t[i] = {} end return #t")
            states.close("tr_retain")
        assert tracer.event_count == len(seen) > 0
        assert tracer.events == (seen if retain else [])
        assert tracer.summary().events == tracer.event_count
        assert tracer.findings == [] and tracer.drops == 0
        runs.append([e.kind for e in seen])
    assert runs[0] == runs[1]
