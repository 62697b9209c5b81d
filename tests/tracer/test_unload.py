"""The module unloaded under a kernel tracing session (runs in the VM).

Under kprobes, rmmod with a tracer attached works (kprobes do not pin a
module) and runs the module's exit under the probes: the states still live
are closed there, and the observer must see those closes as ordinary ones.
Then the probes fire no more; the session must notice by itself, detach,
run its final checks and say why it ended, and lunatik-trace must print
that, its summary and its verdicts, and exit 0.

Under the module's tracepoints, the raw tracepoints hold a reference on the
module: rmmod answers "in use" while the session is attached, and works
once it has ended. The module is inserted again afterwards, so later tests
find it as they expect.
"""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lunatik_bpf
from lunatik_bpf.control.types import MODULE, SYSFS
from lunatik_bpf.testing.vm import insmod, loaded_ko, module_loaded, rmmod
from lunatik_bpf.tracing.checks import CHECKS
from lunatik_bpf.tracing.events import Create, Free, Remove
from lunatik_bpf.tracing.tracer import Tracer

from .helpers import freed_incarnations, module_kprobes

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.helpers import Background  # noqa: E402

pytestmark = [pytest.mark.kernel, pytest.mark.root]

KO = loaded_ko()
ENDED = "module 'lunatik' was unloaded"
OLD = [f"old{i}" for i in range(2)]        # live before the session began
NAMES = [f"unl{i}" for i in range(3)]      # made during the session
FILL = "t = {} for i = 1, 200 do t[i] = tostring(i) .. 'x' end return #t"


@pytest.fixture
def reloaded() -> Iterator[None]:
    """The module is loaded again (with its defaults) after the test, with
    no state left."""
    assert module_loaded()
    lunatik_bpf.connect("kernel").close_all()
    yield
    if not module_loaded():
        assert insmod(KO, []), "insmod after the test failed"
    lunatik_bpf.connect("kernel").close_all()


def populate(names: list[str]) -> None:
    """States left live for the module's exit to close."""
    states = lunatik_bpf.connect("kernel")
    for name in names:
        states.new(name, 1 << 20)
        assert states.execute(name, FILL) == "200"
    states.disconnect()


def test_rmmod_ends_the_session(kernel_program, reloaded) -> None:
    populate(OLD)
    tracer = Tracer(program=kernel_program, probes="kprobe")
    tracer.start()
    try:
        populate(NAMES)
        assert module_kprobes(), "the session put no kprobe on the module"
        assert rmmod()
        assert tracer.wait(120), "the session did not notice that the module went"
        assert tracer.ended == ENDED
        assert not kernel_program.busy          # released by the session itself
    finally:
        tracer.stop()                            # a no-op once it ended
    assert tracer.ended == ENDED
    assert [str(f) for f in tracer.findings] == [] and tracer.drops == 0
    # the exit's closes were seen: every state created left the table
    # (REMOVE, before its lua_close) and was freed, empty; the older states
    # too (adopted at their close)
    evs = [e for e in tracer.events if e.name in NAMES]
    created, problems = freed_incarnations(evs)
    assert created == len(NAMES) and problems == []
    frees = [e for e in tracer.events if isinstance(e, Free)]
    assert sorted(e.name for e in frees) == sorted(OLD + NAMES)
    assert all(e.curralloc == 0 for e in frees)
    removes = [e for e in tracer.events if isinstance(e, Remove)]
    assert sorted(e.name for e in removes) == sorted(OLD + NAMES)
    assert all(e.ret == 0 and e.state for e in removes)
    summary = tracer.summary()
    assert {s.name for s in summary.states} >= set(NAMES)
    # the module comes back; a new session on the same Program traces it
    assert insmod(KO, [])
    with Tracer(program=kernel_program, probes="kprobe") as again:
        states = lunatik_bpf.connect("kernel")
        states.new("after", 1 << 16)
        states.close("after")
        states.disconnect()
    assert again.ended is None
    assert [e.name for e in again.events if isinstance(e, Create)] == ["after"]
    assert again.findings == []
    assert module_kprobes() == []


def test_lunatik_trace_ends_with_the_module(reloaded) -> None:
    populate(OLD)
    bg = Background("lunatik-trace", "-q", "--probes", "kprobe")
    bg.wait_for("Attached kprobes")
    try:
        populate(NAMES)
        assert rmmod()
    finally:
        status, out, err = bg.stop(signal_it=False)    # it ends by itself
    assert status == 0, ([line for line in out.splitlines() if "FINDING" in line], err)
    assert f"Tracing ended: {ENDED}" in err
    assert "Attached kprobes: kprobes do not pin the module" in err
    assert "Traceback" not in err
    assert "drops: 0" in out
    for name in OLD + NAMES:
        assert f"'{name}'@" in out          # the final summary's per-state lines
    verdicts = [line for line in out.splitlines()
                if line.startswith(("ok ", "FAIL "))]
    assert len(verdicts) == len(CHECKS) and all(v.startswith("ok ") for v in verdicts), out
    assert out.rstrip().endswith(" 0 dropped, 0 findings")
    assert module_kprobes() == []


def module_refcount() -> int:
    return int((SYSFS / "refcnt").read_text())


def test_tracepoint_session_holds_the_module(kernel_program, reloaded) -> None:
    """Raw tracepoints hold the module: rmmod answers 'in use' while the
    session is attached, and works once it has ended."""
    before = module_refcount()
    with Tracer(program=kernel_program, probes="tracepoint") as tracer:
        assert tracer.probes == "tracepoint"
        assert module_kprobes() == []
        assert module_refcount() > before
        busy = subprocess.run(["rmmod", MODULE], capture_output=True, text=True)
        assert busy.returncode != 0 and "in use" in busy.stderr, busy
        assert module_loaded()
        populate(NAMES)
        lunatik_bpf.connect("kernel").close_all()
    assert tracer.ended is None            # the module never went
    assert [str(f) for f in tracer.findings] == [] and tracer.drops == 0
    assert sorted(e.name for e in tracer.events if isinstance(e, Remove)) == sorted(NAMES)
    assert module_refcount() == before
    assert rmmod()
    assert not module_loaded()


def test_lunatik_trace_says_tracepoints_hold_the_module(reloaded) -> None:
    bg = Background("lunatik-trace", "-q")     # auto: the module has tracepoints
    bg.wait_for("Attached tracepoints")
    try:
        busy = subprocess.run(["rmmod", MODULE], capture_output=True, text=True)
        populate(NAMES)
    finally:
        status, out, err = bg.stop()
    assert status == 0, err
    assert ("Attached tracepoints: raw tracepoints hold a reference on the module: "
            "rmmod answers 'in use' until this session ends.") in err
    assert busy.returncode != 0 and "in use" in busy.stderr, busy
    assert out.rstrip().endswith(" 0 dropped, 0 findings")
