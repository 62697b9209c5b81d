"""The native core's live path: libbcc's ring-buffer consumer (opened with
dlopen, not linked) hands each record of a BPF ring buffer to obs_feed.

Here without the Tracer: a small BCC program of its own writes records
into its own ring buffer from a uprobe on obs_bench_trigger(n), n records
per call; the native observer consumes them. The Tracer's native sessions
are in test_native_observer.py."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lunatik_bpf.tracing import native
from lunatik_bpf.tracing.events import KINDS

pytestmark = pytest.mark.skipif(not native.available(), reason="make build: no native core")

REPO = Path(__file__).resolve().parents[2]


def test_the_library_loads_without_libbcc():
    """No link to libbcc: a process that never loads BCC replays records
    offline, and libbcc is still not in it afterwards."""
    code = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from lunatik_bpf.tracing import native
obs = native.NativeObserver()
rec = native.record_type()()
rec.kind, rec.state, rec.tid = {KINDS["lock"]}, 0x1000, 1
obs.feed(bytes(rec))
assert obs.events == 1 and obs.findings == [], (obs.events, obs.findings)
maps = open("/proc/self/maps").read()
assert "libbcc" not in maps, "libbcc is loaded"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_ring_calls_need_an_open_ring():
    obs = native.NativeObserver()
    with pytest.raises(OSError):
        obs.consume()
    with pytest.raises(OSError):
        obs.poll(0)
    r, w = os.pipe()
    try:
        if native.ring_available():
            with pytest.raises(OSError):
                obs.open_ring(r)        # not a ring buffer map
    finally:
        os.close(r)
        os.close(w)
        obs.close()


# ---- a ring buffer of our own ----

PROGRAM = r"""
#include <uapi/linux/ptrace.h>
#include "events.h"

BPF_RINGBUF_OUTPUT(ring, 1024);     /* 4 MiB: 13000 records, all that a test writes */

int produce(struct pt_regs *ctx)
{
    u32 n = (u32)PT_REGS_PARM1(ctx), i;
    struct lunatik_event ev = {};

    ev.kind = LUNATIK_EV_LOCK;
    ev.tid = 7;
    for (i = 0; i < 64 && i < n; i++) {
        ev.state = 0x1000 + (i & 3) * 0x100;
        ev.ts = i;
        if (ring.ringbuf_output(&ev, sizeof(ev), 0))
            break;
    }
    /* one record of another size: the observer counts it bad */
    if (n > 64)
        ring.ringbuf_output(&ev, 8, 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def ring_program() -> Iterator[object]:
    if os.geteuid() != 0:
        pytest.fail("needs root (BPF, uprobes)")
    if not native.ring_available():
        pytest.skip("libbcc's ring-buffer consumer does not load")
    import bcc
    b = bcc.BPF(text=PROGRAM.encode(), cflags=[f"-I{REPO / 'bpf'}"])
    b.attach_uprobe(name=str(native.LIBRARY).encode(), sym=b"obs_bench_trigger",
                    fn_name=b"produce", pid=os.getpid())
    yield b
    b.cleanup()


def _trigger() -> object:
    so = ctypes.CDLL(str(native.LIBRARY))
    so.obs_bench_trigger.argtypes = [ctypes.c_uint32]
    return so.obs_bench_trigger


@pytest.mark.root
def test_records_of_a_ring_buffer(ring_program):
    trigger = _trigger()
    obs = native.NativeObserver()
    obs.open_ring(ring_program[b"ring"].map_fd)
    try:
        assert obs.poll(0) == [] and obs.events == 0
        for _ in range(100):
            trigger(64)
        trigger(65)             # 64 records and one of 8 bytes
        seen = 0
        for _ in range(50):
            obs.poll(100)
            seen = obs.events + obs.bad
            if seen >= 101 * 64 + 1:
                break
        assert (obs.events, obs.bad) == (101 * 64, 1)
        assert obs.counts() == {"lock": 101 * 64}
        assert obs.findings == []
        trigger(3)
        assert obs.consume() == [] and obs.events == 101 * 64 + 3
    finally:
        obs.close_ring()
    trigger(5)                  # closed: nothing more reaches it
    with pytest.raises(OSError):
        obs.consume()
    assert obs.events == 101 * 64 + 3
    obs.close()


@pytest.mark.root
def test_two_observers_one_after_the_other(ring_program):
    """open_ring again on a fresh observer: what the first left unread is
    the second's (the ring's consumer position is the map's, not ours)."""
    trigger = _trigger()
    first = native.NativeObserver()
    first.open_ring(ring_program[b"ring"].map_fd)
    first.consume()
    first.close()               # closes its ring too
    trigger(10)
    second = native.NativeObserver()
    second.open_ring(ring_program[b"ring"].map_fd)
    try:
        second.poll(100)
        assert second.events == 10
    finally:
        second.close()
