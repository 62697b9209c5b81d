"""The module's life cycle: rmmod with live states succeeds and gives every
byte back; parameters given to insmod are in force.

Leaks are measured honestly without kmemleak (not in Debian's kernel): the
states' memory is kmalloc'd, so it shows in the kernel's own accounting
(/proc/meminfo: slab plus pages not in any cache). Each round fills states
with tens of MiB, checks the module's own count of it (live_bytes), that
the system's "used" grew by at least most of it (so the measure sees the
states at all), then rmmods with the states live; after the rounds, "used"
must be back near where it started: a leak of even one round would be
several times the slack.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from lunatik_bpf.control.backends.kernel import KernelBackend
from lunatik_bpf.control.types import PARAMETERS
from lunatik_bpf.testing import vm

pytestmark = pytest.mark.kernel

MIB = 1 << 20
STATES = 6
FILL = 4 * MIB          # Lua data per state
ROUNDS = 3
SLACK = 8 * MIB         # noise allowed in "used" across the rounds


def used_bytes() -> int:
    """Memory in use that is not page cache or reclaimable slab."""
    info = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        info[key] = int(value.split()[0]) * 1024
    return (info["MemTotal"] - info["MemFree"] - info["Buffers"]
            - info["Cached"] - info["SReclaimable"])


def settle() -> int:
    """used_bytes() once deferred frees (RCU, per-CPU caches) are done."""
    Path("/proc/sys/vm/drop_caches").write_text("3\n")
    time.sleep(0.5)
    return used_bytes()


@pytest.fixture
def reloaded():
    """Leaves the module loaded with its defaults whatever the test did."""
    assert vm.module_loaded()
    yield
    if vm.module_loaded():
        assert vm.rmmod()
    assert vm.insmod(vm.loaded_ko(), [])


def fill(kb: KernelBackend, name: bytes) -> None:
    kb.new(name, FILL + 2 * MIB)
    kb.execute(name, b"t = {} for i = 1, %d do t[i] = string.rep('x', 1000)"
               b" .. i end" % (FILL // 1024))


def test_rmmod_with_live_states_frees_everything(reloaded: None) -> None:
    baseline = settle()
    for _ in range(ROUNDS):
        kb = KernelBackend()
        for i in range(STATES):
            fill(kb, f"live{i}".encode())
        states, live = kb.live()
        assert states == STATES
        assert live == sum(i.curralloc for i in kb.list())
        assert live >= STATES * FILL
        grown = used_bytes() - baseline
        assert grown >= live * 3 // 4, (grown, live)
        kb.disconnect()
        assert vm.rmmod()               # the states are still there
        assert not vm.module_loaded()
        assert vm.insmod(vm.loaded_ko(), [])
    after = settle()            # a fresh module, as at the baseline
    assert after - baseline < SLACK, (
        f"{(after - baseline) / MIB:.1f} MiB still used after {ROUNDS} "
        f"rounds of {STATES * FILL / MIB:.0f} MiB")


def test_insmod_parameters(reloaded: None) -> None:
    assert vm.rmmod()
    assert vm.insmod(vm.loaded_ko(), ["max_states=2", "budget=5000", "default_maxalloc=3000000",
                                   "max_code=4096"])
    kb = KernelBackend()
    limits = kb.limits()
    assert limits is not None
    assert (limits.max_states, limits.budget, limits.max_code) == \
        (2, 5000, 4096)
    assert int((PARAMETERS / "default_maxalloc").read_text()) == 3000000
    kb.new(b"a", MIB)
    kb.new(b"b", MIB)
    with pytest.raises(Exception) as full:
        kb.new(b"c", MIB)
    assert getattr(full.value, "errno", None) == 28     # ENOSPC
    kb.disconnect()


def test_rmmod_while_executing(reloaded: None) -> None:
    """rmmod waits for a running chunk (the family is unregistered first),
    then closes the state: no splat, module gone."""
    import threading

    kb = KernelBackend()
    kb.new(b"busy", 4 * MIB)
    outcome: list[object] = []

    def spin() -> None:
        try:
            outcome.append(kb.execute(b"busy",
                                      b"local n = 0 for i = 1, 900000 do "
                                      b"n = n + i end return n"))
        except Exception as exc:  # noqa: BLE001 - the budget may stop it
            outcome.append(exc)

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    assert vm.rmmod()
    t.join()
    assert not vm.module_loaded()
    assert len(outcome) == 1
