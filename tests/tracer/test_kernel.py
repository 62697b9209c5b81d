"""The tracer on the kernel module, through each mechanism (the module's own
tracepoints and kprobes, with the lock tracepoints): runs in the VM
(`python -m lunatik_bpf.testing.vm -- pytest -m kernel`).

Lock contention is seen at lunatik_lock: under kprobes BPF flags an
acquisition that started while another thread held the lock; under the
module's tracepoint the lock says itself that it had to spin (a failed
trylock). Either way the timestamps confirm it (the wait overlaps the
other's hold). The
lock:contention_begin/end tracepoints are attached and filtered to the locks
of live states, but on x86 they fire only on qspinlock's MCS-queue path: never
with two CPUs (owner plus one pending-bit spinner), and never in a VM without
paravirt spinlocks (virt_spin_lock() takes a test-and-set path first: a
QEMU/TCG guest, with 3 CPUs too, was checked). So their events are only
checked for consistency here."""
from __future__ import annotations

import os
import threading

import pytest

import lunatik_bpf
from lunatik_bpf.tracing import preemption
from lunatik_bpf.tracing.events import Contention, Create, Event, ExecEnd, Free, Lock, Put
from lunatik_bpf.tracing.program import Program
from lunatik_bpf.tracing.replay import replay
from lunatik_bpf.tracing.tracer import SYMBOLS, Tracer, kernel_symbols

from .helpers import contended, kind_counts, kinds, net_alloc, per_state
from .test_user import EXPECTED, script

pytestmark = [pytest.mark.kernel, pytest.mark.root]

LONG_CHUNK = "local s = 0 for i = 1, 100000 do s = s + i end return s"


@pytest.fixture
def kstates() -> lunatik_bpf.States:
    s = lunatik_bpf.connect("kernel")
    s.close_all()
    yield s
    s.close_all()


def test_every_probe_symbol_is_kprobe_able():
    """Nothing of the probe contract was inlined into the module."""
    assert set(SYMBOLS) <= kernel_symbols()


def test_kernel_scripted_workload(kstates, kernel_program, kernel_probes):
    with Tracer(program=kernel_program, probes=kernel_probes) as tracer:
        script(kstates, "tr_kbasic")
    evs = per_state(tracer.events, "tr_kbasic")
    assert kinds(evs) == EXPECTED
    assert [e.count for e in evs if isinstance(e, Put)] == [1, 0]
    assert [e.status for e in evs if isinstance(e, ExecEnd)] == [0]
    assert [e.curralloc for e in evs if isinstance(e, Free)] == [0]
    assert next(e for e in evs if isinstance(e, Create)).maxalloc == 1 << 16
    assert net_alloc(evs) == 0
    assert tracer.findings == [] and tracer.drops == 0
    report = replay(tracer.events)
    assert report.divergences == [] and report.replayed == 3


def contend(program: Program, probes: str, name: str = "tr_kcont", reps: int = 10
            ) -> tuple[Tracer, list[Event], int]:
    """Threads (one netlink socket each) executing on one state, traced:
    the tracer, the state's events, and how many executes ran."""
    main = lunatik_bpf.connect("kernel")
    main.close_all()
    nthreads = max(2, min(os.cpu_count() or 2, 4))

    def run() -> None:
        own = lunatik_bpf.connect("kernel")
        for _ in range(reps):
            own.execute(name, LONG_CHUNK)

    with Tracer(program=program, probes=probes) as tracer:
        main.new(name, 1 << 20)
        threads = [threading.Thread(target=run) for _ in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        main.close(name)
    return tracer, per_state(tracer.events, name), reps * nthreads


def test_kernel_lock_contention(kernel_program, kernel_probes):
    tracer, evs, n = contend(kernel_program, kernel_probes)
    c = kind_counts(evs)
    assert c["exec_begin"] == c["exec_end"] == c["lock"] == c["unlock"] == n, \
        (dict(c), tracer.drops, tracer.program.drops_by_cause())
    flagged = [e for e in evs if isinstance(e, Lock) and e.contended]
    assert flagged, "threads executing on one state never waited for each other"
    assert set(flagged) <= set(contended(evs))
    summary = tracer.summary()
    assert summary.histogram("lock_wait", "tr_kcont").total == n
    contention = [e for e in evs if isinstance(e, Contention)]
    assert summary.histogram("contention", "tr_kcont").total == len(contention)
    assert all(e.wait > 0 for e in contention)
    assert tracer.findings == [] and tracer.drops == 0


def test_kernel_stashes_follow_the_preemption_model(kernel_program):
    """On a fully preemptible kernel a task can be preempted inside the
    module's functions (at spin_unlock, say, with the lock's waiters
    runnable), and the next task to enter one on that CPU would overwrite a
    per-CPU entry stash: the kprobe programs must then keep them per thread.
    The program follows the running kernel's model: per-CPU slots on
    Debian's (voluntary), per thread on the debug kernel (PREEMPT full),
    where contended executes through kprobes lose no stash. (Switched to
    "full", Debian's kernel shows per-CPU slots failing at once: 11 to 24
    lost stashes in 40 executes. The test does not switch it: that changes
    the scheduler of the whole machine under the other tests, and in the
    one suite run that did, a later detach waited forever in
    synchronize_srcu; the cause is not established.)"""
    model = preemption.running_kernel()
    assert kernel_program.per_cpu_stashes == (not model.preemptible), model
    tracer, evs, n = contend(kernel_program, "kprobe", "tr_kpreempt", reps=20)
    assert kernel_program.drops_by_cause()["stash"] == 0
    assert kind_counts(evs)["exec_end"] == n
    assert tracer.findings == [] and tracer.drops == 0


def test_kernel_events_name_their_own_state(kstates, kernel_program, kernel_probes):
    """Executes alternating between states (and a name asked for in
    between): every event on a state carries that state's name, as its
    CREATE has it; the per-CPU stashes never lend one state's name to
    another's event."""
    names = [f"tr_kname{i}" for i in range(3)]
    with Tracer(program=kernel_program, probes=kernel_probes) as tracer:
        for n in names:
            kstates.new(n, 1 << 18)
        for _ in range(5):
            for n in names:
                kstates.execute(n, "local t = {} for i = 1, 20 do t[i] = {} end return #t")
                with pytest.raises(lunatik_bpf.NoSuchState):
                    kstates.execute("tr_kname_absent", "return 1")
        for n in names:
            kstates.close(n)
    created = {e.state: e.name for e in tracer.events if isinstance(e, Create) and e.ok}
    assert sorted(created.values()) == names
    on_states = [e for e in tracer.events if e.state in created]
    assert on_states and all(e.name == created[e.state] for e in on_states)
    assert kind_counts(on_states)["exec_begin"] == 15
    assert tracer.findings == [] and tracer.drops == 0
