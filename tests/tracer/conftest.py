"""Fixtures of the tracer suite: real BPF, as root, on the real library.

Compiling the BPF text takes about a second here (5-15 s on slow hosts), so
each Program is compiled once per session and reused by the Tracer
sessions of the tests (attach on enter, detach on exit).
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LUNATIK_BUILD", REPO / "build"))   # another build tree
USER_LIBRARY = BUILD / "user" / "liblunatik.so"
WORKLOAD = Path(__file__).resolve().parent / "workload.py"


def fault_library(name: str) -> Path:
    return BUILD / f"user-fault-{name}" / "liblunatik.so"


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the tracer suite needs root (BPF, uprobes)")


def _program(backend: str, mode: str) -> Iterator[object]:
    _need_root()
    from lunatik_bpf.tracing.tracer import Program
    prog = Program(backend, mode, 1024)
    yield prog
    prog.close()


@pytest.fixture(scope="session")
def user_program() -> Iterator[object]:
    yield from _program("user", "stream")


@pytest.fixture(scope="session")
def user_summary_program() -> Iterator[object]:
    yield from _program("user", "summary")


@pytest.fixture(scope="session")
def kernel_program() -> Iterator[object]:
    yield from _program("kernel", "stream")


@pytest.fixture(scope="session")
def kernel_summary_program() -> Iterator[object]:
    yield from _program("kernel", "summary")


@pytest.fixture(params=["tracepoint", "kprobe"])
def kernel_probes(request: pytest.FixtureRequest) -> str:
    """Each kernel mechanism in turn: the module's tracepoints (raw
    tracepoints) and kprobes, through the same compiled program."""
    return str(request.param)


class Workload:
    """A workload process (workload.py) on some library, driven by the test."""

    def __init__(self, library: Path, scenario: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKLOAD), str(library), scenario],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"workload did not start: {line!r}"
        self.outcome = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def run(self) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self.outcome = self.proc.stdout.readline().strip()
        return self.outcome

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def workload() -> Iterator[object]:
    started: list[Workload] = []

    def start(library: Path, scenario: str = "basic") -> Workload:
        w = Workload(library, scenario)
        started.append(w)
        return w

    yield start
    for w in started:
        w.close()
