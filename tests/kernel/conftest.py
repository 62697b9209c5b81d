"""Fixtures of the kernel tests: they run where the module is loaded (inside
the VM through `python -m lunatik_bpf.testing.vm`, or on a host that loads modules).
(tests/conftest.py checks every test marked `kernel` against the kernel
log's deny-list.)
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from lunatik_bpf.control.backends.kernel import KernelBackend


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

