"""Nothing is left behind when the tracing process dies (SIGKILL): BCC's
uprobes are perf-event fds that die with it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO, USER_LIBRARY
from .helpers import loaded_programs, uprobe_events

pytestmark = pytest.mark.root

TRACER = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from lunatik_bpf.tracing.tracer import Tracer
t = Tracer(library={str(USER_LIBRARY)!r}, pid=-1)
t.start()
print("attached", flush=True)
time.sleep(600)
"""


def test_sigkill_leaves_no_probe_behind():
    before = set(loaded_programs())
    events_before = uprobe_events()
    proc = subprocess.Popen([sys.executable, "-c", TRACER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "attached"
        mine = set(loaded_programs()) - before
        assert mine, "the tracing child loaded no lunatik_* BPF program"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # programs are freed when their last fd (perf link) closes; the kernel
    # frees them asynchronously, so wait for it (bounded)
    deadline = time.monotonic() + 30
    while set(loaded_programs()) & mine and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(loaded_programs()) & mine
    assert uprobe_events() == events_before


KERNEL_TRACER = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from lunatik_bpf.tracing.tracer import Tracer
t = Tracer(backend="kernel", probes=sys.argv[1])
t.start()
print("attached", flush=True)
time.sleep(600)
"""


@pytest.mark.kernel
def test_sigkill_leaves_no_kprobe_behind(kernel_probes):
    """The kernel variant, on either mechanism: no lunatik BPF program left
    loaded, no kprobe left on the module (whether made through the perf PMU
    or through kprobe_events), no reference on the module left by a raw
    tracepoint, and the module still unloads (then is loaded again)."""
    from lunatik_bpf.testing.vm import insmod, loaded_ko, module_loaded, rmmod

    from .helpers import kprobe_events, module_kprobes

    assert module_loaded()
    before = set(loaded_programs())
    events_before = kprobe_events()
    assert module_kprobes() == [], "kprobes on the module before the test"
    refcnt = Path("/sys/module/lunatik/refcnt")
    held = int(refcnt.read_text())
    proc = subprocess.Popen([sys.executable, "-c", KERNEL_TRACER, kernel_probes],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "attached"
        mine = set(loaded_programs()) - before
        assert mine, "the tracing child loaded no lunatik_* BPF program"
        if kernel_probes == "kprobe":
            assert module_kprobes(), "the tracing child put no kprobe on the module"
        else:
            assert module_kprobes() == [] and int(refcnt.read_text()) > held
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 60
    while (set(loaded_programs()) & mine or module_kprobes()
           or int(refcnt.read_text()) != held) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert int(refcnt.read_text()) == held
    assert not set(loaded_programs()) & mine
    assert module_kprobes() == []
    assert kprobe_events() == events_before
    try:
        assert rmmod(), "the module does not unload after the tracer was killed"
        assert not module_loaded()
    finally:
        if not module_loaded():
            assert insmod(loaded_ko(), [])
