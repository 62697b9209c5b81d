"""The API suites again, in a child Python that loads the AddressSanitizer
(+UBSan) and ThreadSanitizer builds of the library (build/user-asan,
build/user-tsan) with the sanitizer runtime preloaded: every API call, bomb
and race of the suites then runs under the sanitizers, and any report
aborts the child."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def runtime(name: str) -> str | None:
    """The path of the sanitizer runtime (libasan.so, libtsan.so)."""
    try:
        out = subprocess.run(["gcc", f"-print-file-name={name}"], text=True,
                             capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return out if os.path.isabs(out) and os.path.exists(out) else None


def run_suite(build: str, lib: str, env_extra: dict[str, str],
              args: list[str]) -> None:
    library = REPO / "build" / build / "liblunatik.so"
    preload = runtime(lib)
    if not library.is_file() or preload is None:
        pytest.skip(f"no {library} or {lib} (make user-asan / user-tsan)")
    env = dict(os.environ, LD_PRELOAD=preload,
               LUNATIK_LIBRARY=str(library), **env_extra)
    check = subprocess.run(
        [sys.executable, "-c", "import lunatik_bpf; "
         "print(lunatik_bpf.connect('user').backend.library_path)"],
        env=env, text=True, capture_output=True, cwd=REPO)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == str(library.resolve())     # build/ may be a link
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-m", "not kernel",
         "-p", "no:cacheprovider", *args],
        env=env, text=True, capture_output=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_api_under_asan() -> None:
    # Python itself does not free everything at exit: no leak check here
    # (statemgr's C programs run LeakSanitizer on the library).
    run_suite("user-asan", "libasan.so",
              {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"},
              ["tests/test_api.py", "tests/test_functional.py",
               "tests/test_concurrency.py", "-k",
               "not finalizers and not c_loops and not endless_finalizer"])


def test_concurrency_under_tsan() -> None:
    run_suite("user-tsan", "libtsan.so",
              {"TSAN_OPTIONS": "halt_on_error=1"},
              ["tests/test_concurrency.py"])
