"""Fixtures of the API suite: one functional suite, parametrized over the
backends. The host runs `-m "not kernel"` (the user-space library); the VM
runs `-m kernel` (the module). Every test marked `kernel`, wherever it is,
is checked against the kernel log's deny-list: a splat during a test fails
that test (the harness checks the whole run as well).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

import lunatik_bpf
from lunatik_bpf.control.api import States
from lunatik_bpf.testing.vm import deny_matches, kernel_log_during

CORPUS = Path(__file__).parent / "lua_corpus"

BACKENDS = ["user", pytest.param("kernel", marks=pytest.mark.kernel)]


@pytest.fixture(autouse=True)
def no_splat(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a kernel test whose run left a splat in the kernel log."""
    if request.node.get_closest_marker("kernel") is None:
        yield
        return
    with kernel_log_during() as lines:
        yield
    bad = deny_matches("\n".join(lines))
    assert not bad, "kernel log splat during the test:\n" + "\n".join(bad)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[States]:
    """A connected States on a clean table; every state is closed after the
    test (the table of the user library is process-global)."""
    states = lunatik_bpf.connect(request.param)
    states.close_all()
    try:
        yield states
    finally:
        states.close_all()
        states.disconnect()


@pytest.fixture
def user_states() -> Iterator[States]:
    """States on the user-space library only (C-level and limit tests)."""
    states = lunatik_bpf.connect("user")
    states.close_all()
    try:
        yield states
    finally:
        states.close_all()
        states.disconnect()


_counter = itertools.count()


@pytest.fixture
def fresh_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A valid state name unique to this test."""
    base = "".join(c if c.isalnum() else "_" for c in request.node.name)
    yield f"t{next(_counter)}_{base}"[:40]
