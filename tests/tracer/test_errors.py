"""Attach robustness: every way of not being able to trace is one clear line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lunatik_bpf.tracing.tracer import (LibraryNotFound, ModuleNotLoaded, SymbolMissing, Tracer,
                                        TracerError)

from .conftest import REPO, USER_LIBRARY

pytestmark = pytest.mark.root


def _one_line(exc: BaseException) -> None:
    assert isinstance(exc, TracerError)
    msg = str(exc)
    assert msg and "\n" not in msg


def test_library_path_missing(user_program):
    with pytest.raises(LibraryNotFound) as info:
        Tracer(program=user_program, library="/nonexistent/liblunatik.so").start()
    _one_line(info.value)
    assert not user_program.busy


def test_library_not_loaded_in_that_process(user_program):
    proc = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(LibraryNotFound) as info:
            Tracer(program=user_program, pid=proc.pid).start()
        _one_line(info.value)
        assert str(proc.pid) in str(info.value)
    finally:
        proc.kill()
        proc.wait()


def test_symbols_missing(user_program):
    libc = next(p for p in (Path("/lib/x86_64-linux-gnu/libc.so.6"), Path("/usr/lib/libc.so.6"))
                if p.exists())
    with pytest.raises(SymbolMissing) as info:
        Tracer(program=user_program, library=libc).start()
    _one_line(info.value)
    assert "lunatik_create" in str(info.value)


@pytest.mark.skipif(Path("/sys/module/lunatik").exists(), reason="the module is loaded here")
def test_module_not_loaded():
    with pytest.raises(ModuleNotLoaded) as info:
        Tracer(backend="kernel").start()
    _one_line(info.value)


def _in_child(prelude: str) -> str:
    """Starts a Tracer in a child python after prelude; its one-line outcome."""
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n{prelude}\n"
            "from lunatik_bpf.tracing.tracer import Tracer, TracerError\n"
            "try:\n"
            f"    Tracer(library={str(USER_LIBRARY)!r}).start()\n"
            "    print('started')\n"
            "except TracerError as exc:\n"
            "    print(type(exc).__name__ + ': ' + str(exc))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_not_root():
    line = _in_child("import os; os.setgid(65534); os.setuid(65534)")
    assert line.startswith("NotRoot: ") and "\n" not in line


def test_no_bcc():
    line = _in_child("sys.modules['bcc'] = None   # as if python3-bpfcc were absent")
    assert line.startswith("BccMissing: ") and "\n" not in line


def test_no_kernel_headers():
    line = _in_child("import os; r = os.uname(); os.uname = lambda: os.uname_result("
                     "(r.sysname, r.nodename, '0.0.0-no-such-kernel', r.version, r.machine))")
    assert line.startswith("HeadersMissing: ") and "0.0.0-no-such-kernel" in line
