"""The tracer on the kernel module (kprobes, lock tracepoints): runs in the VM
(`python -m lunatik_bpf.vm -- pytest -m kernel`)."""
from __future__ import annotations

import threading

import pytest

import lunatik_bpf
from lunatik_bpf.events import Contention, Create, ExecEnd, Free, Put
from lunatik_bpf.tracer import Tracer

from .helpers import kind_counts, kinds, net_alloc, per_state
from .test_user import EXPECTED, script

pytestmark = [pytest.mark.kernel, pytest.mark.root]

LONG_CHUNK = "local s = 0 for i = 1, 100000 do s = s + i end return s"


@pytest.fixture
def kstates() -> lunatik_bpf.States:
    s = lunatik_bpf.connect("kernel")
    s.close_all()
    yield s
    s.close_all()


def test_kernel_scripted_workload(kstates, kernel_program):
    with Tracer(program=kernel_program) as tracer:
        script(kstates, "tr_kbasic")
    evs = per_state(tracer.events, "tr_kbasic")
    assert kinds(evs) == EXPECTED
    assert [e.count for e in evs if isinstance(e, Put)] == [1, 0]
    assert [e.status for e in evs if isinstance(e, ExecEnd)] == [0]
    assert [e.curralloc for e in evs if isinstance(e, Free)] == [0]
    assert next(e for e in evs if isinstance(e, Create)).maxalloc == 1 << 16
    assert net_alloc(evs) == 0
    assert tracer.findings == [] and tracer.drops == 0


def test_kernel_lock_contention(kernel_program):
    main = lunatik_bpf.connect("kernel")
    main.close_all()
    main.new("tr_kcont", 1 << 20)

    def run() -> None:
        own = lunatik_bpf.connect("kernel")     # one netlink socket per thread
        for _ in range(10):
            own.execute("tr_kcont", LONG_CHUNK)

    with Tracer(program=kernel_program) as tracer:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        main.close("tr_kcont")
    evs = per_state(tracer.events, "tr_kcont")
    c = kind_counts(evs)
    assert c["exec_begin"] == c["exec_end"] == 20
    contention = [e for e in evs if isinstance(e, Contention)]
    assert contention, "two threads executing on one state never contended"
    assert all(e.wait > 0 for e in contention)
    assert tracer.summary().histogram("contention", "tr_kcont").total == len(contention)
    assert tracer.findings == [] and tracer.drops == 0
