"""Allocation failures at every call site of the module (the debug kernel,
make test-debug).

A sweep of intervals: in each run every interval-th allocation the module
makes in this process fails (bpf/failinject.bpf.c, at the failslab and
fail_page_alloc injection points), over the netlink, execute and close-all
workloads, traced. Each failure must reach the caller as its documented
error (SystemOutOfMemory for ENOMEM, LuaMemoryError inside Lua), the
tracer's checks must find nothing (curralloc stays exact), and the module
must stay usable with nothing left allocated. kmemleak checks the rest
after rmmod (the harness). The failures per call site are written to
build/results/fault-injection.txt.
"""
from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import lunatik_bpf
from lunatik_bpf.control.api import States
from lunatik_bpf.control.types import PARAMETERS
from lunatik_bpf.testing.faultinject import FaultInjector
from lunatik_bpf.testing.vm import BUILD
from lunatik_bpf.tracing.tracer import Tracer

pytestmark = [pytest.mark.kernel, pytest.mark.root, pytest.mark.skipif(
    not Path("/sys/kernel/debug/failslab").exists(),
    reason="needs the debug kernel's fault injection (make test-debug)")]

INTERVALS = (1, 2, 3, 4, 5, 7, 10, 16, 25, 40, 64)
TIMES = 40                          # failures per run at most
REPORT = BUILD / "results" / "fault-injection.txt"
# what an injected failure may look like to the caller: ENOMEM from the
# control plane, a Lua memory error inside a chunk, ENOMEM from a read of
# a live_* parameter
DOCUMENTED = (lunatik_bpf.SystemOutOfMemory, lunatik_bpf.LuaMemoryError)
OUTCOMES = {"ok", "SystemOutOfMemory", "LuaMemoryError", "ENOMEM"}
# every allocation the module makes for these workloads, by the functions
# that may hold it (static helpers are inlined or not, as the compiler
# chooses); klua.c's output buffer serves in-kernel callers only
SITES: dict[str, set[str]] = {
    "a state (states.c)": {"lunatik_create"},
    "the Lua allocator (alloc.c)": {"lunatik_realloc", "lunatik_alloc", "lunatik_alloc_build"},
    "execute's output and reply (netlink.c)": {"lunatik_nl_execute",
                                               "lunatik_nl_execute_reply"},
    "lookup's reply (netlink.c)": {"lunatik_nl_lookup"},
    "list's batch (netlink.c)": {"lunatik_nl_list"},
    "close_all's reply (netlink.c)": {"lunatik_nl_close_all"},
    "the live_* parameters (module.c)": {"lunatik_tally", "lunatik_get_live_states",
                                         "lunatik_get_live_bytes"},
}

CHUNK = ("local t = {} for i = 1, 300 do t[i] = string.rep('x', i % 40) .. i end "
         "local big = string.rep('y', 20000) return #t, #big")


def attempt(op: Callable[[], object]) -> str:
    """Runs one operation: 'ok', or the documented error it met."""
    try:
        op()
        return "ok"
    except DOCUMENTED as exc:
        return type(exc).__name__
    except OSError as exc:
        if exc.errno == errno.ENOMEM:
            return "ENOMEM"
        raise


def read_live_states() -> str:
    return PARAMETERS.joinpath("live_states").read_text()


PREPARED = "fi_prepared"


def netlink_workload(s: States, tag: str) -> list[str]:
    names = [f"fi_{tag}_{i}" for i in range(3)]
    out = [attempt(lambda n=n: s.new(n, 1 << 20)) for n in names]
    # the lookup is of PREPARED, which exists whatever failed before it: a
    # lookup that finds nothing allocates no reply
    out += [attempt(s.list), attempt(lambda: s.lookup(PREPARED)), attempt(read_live_states)]
    return out


def execute_workload(s: States, tag: str) -> list[str]:
    # first in a state made before the injection (PREPARED): an execute's
    # own allocations (its output buffer, its reply) come first there
    out = [attempt(lambda: s.execute(PREPARED, "return 1")) for _ in range(2)]
    name = f"fi_{tag}_x"
    out += [attempt(lambda: s.new(name, 1 << 20))]
    if out[-1] == "ok":
        out += [attempt(lambda: s.execute(name, CHUNK)) for _ in range(3)]
        out += [attempt(lambda: s.execute(name, "return collectgarbage('count') > 0"))]
    return out


def close_all_workload(s: States, tag: str) -> list[str]:
    out = []
    for i in range(4):
        name = f"fi_{tag}_c{i}"
        created = attempt(lambda: s.new(name, 1 << 20))
        out.append(created)
        if created == "ok":
            out.append(attempt(lambda: s.execute(name, "g = {} for i = 1, 100 do g[i] = i end")))
    out.append(attempt(s.close_all))
    return out


WORKLOADS = {"netlink": netlink_workload, "execute": execute_workload,
             "close_all": close_all_workload}


@pytest.fixture(scope="module")
def injector() -> Iterator[FaultInjector]:
    with FaultInjector("lunatik") as inj:
        yield inj


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_every_failure_is_documented(injector: FaultInjector, kernel_program,
                                     workload: str) -> None:
    states = lunatik_bpf.connect("kernel")
    states.close_all()
    failures = 0
    try:
        with Tracer(program=kernel_program, retain=False) as tracer:
            for interval in INTERVALS:
                states.new(PREPARED, 1 << 20)
                injector.arm(interval, TIMES)
                try:
                    outcomes = WORKLOADS[workload](states, f"{workload[:2]}{interval}")
                finally:
                    failures += injector.disarm()
                assert set(outcomes) <= OUTCOMES, outcomes
                states.close_all()          # no injection while cleaning up
        assert [str(f) for f in tracer.findings] == [] and tracer.drops == 0
        assert failures > 0
        # still usable, and nothing left allocated
        states.new("fi_after", 1 << 20)
        assert states.execute("fi_after", "return 6 * 7") == "42"
        states.close_all()
        assert PARAMETERS.joinpath("live_states").read_text().strip() == "0"
        assert PARAMETERS.joinpath("live_bytes").read_text().strip() == "0"
    finally:
        states.close_all()
        states.disconnect()


def test_every_allocation_site_failed(injector: FaultInjector) -> None:
    """After the sweep (the tests above ran first): each allocating
    function of the module saw a failure; the report goes to the results."""
    by_function = injector.by_function()
    lines = [f"fault injection: {injector.failed} failures injected in "
             f"{injector.seen} allocations of the module (intervals {INTERVALS})"]
    lines += [f"  {count:5d}  {site}" for site, count in sorted(injector.sites.items())]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    never = [site for site, functions in SITES.items() if not functions & set(by_function)]
    assert never == [], f"never failed: {never}"
