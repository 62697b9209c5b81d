"""Fixtures of the kernel tests: they run where the module is loaded (inside
the VM through `python -m lunatik_bpf.testing.vm`, or on a host that loads modules).
Every test marked `kernel` is also checked against the kernel log's
deny-list: a splat during a test fails that test.
"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from lunatik_bpf.control.backends.kernel import KernelBackend
from lunatik_bpf.control.types import PARAMETERS
from lunatik_bpf.testing.vm import deny_matches, loaded_ko

KO = loaded_ko()


def kernel_log() -> str:
    return subprocess.run(["dmesg"], capture_output=True, text=True,
                          errors="replace").stdout


@pytest.fixture(autouse=True)
def no_splat(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a kernel test whose run left a splat in the kernel log."""
    if request.node.get_closest_marker("kernel") is None:
        yield
        return
    before = kernel_log()
    yield
    after = kernel_log()
    new = after[len(before):] if after.startswith(before) else after
    bad = deny_matches(new)
    assert not bad, "kernel log splat during the test:\n" + "\n".join(bad)


@pytest.fixture
def kb() -> Iterator[KernelBackend]:
    """The kernel backend on a clean table, limits restored afterwards."""
    backend = KernelBackend()
    backend.close_all()
    limits = backend.limits()
    try:
        yield backend
    finally:
        backend.close_all()
        if limits is not None:
            backend.set_limits(**limits.__dict__)
        backend.disconnect()


def module_loaded() -> bool:
    return PARAMETERS.parent.exists()


def insmod(*params: str) -> None:
    subprocess.run(["insmod", str(KO), *params], check=True)


def rmmod() -> None:
    subprocess.run(["rmmod", "lunatik"], check=True)
