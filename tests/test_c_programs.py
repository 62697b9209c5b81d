"""The C-level tests of the state manager (tests/c/): the API test program and
the pthread stress program, built plainly, with AddressSanitizer (+ leak and
undefined-behaviour sanitizers) and with ThreadSanitizer, plus checks of the
build itself (no floating point, exported symbols, the fault variants).

Every build goes through the make targets of mk/user.mk.
"""
from __future__ import annotations

import ctypes
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[1]
BUILD = TOP / "build"
KERNEL = TOP / "kernel"

# The state manager's files: one set for both builds.
STATEMGR_SOURCES = ["states.c", "alloc.c", "execute.c", "control.c", "klua.c"]

PROBE_SYMBOLS = [
    "lunatik_create", "lunatik_remove", "lunatik_statelookup",
    "lunatik_stateget", "lunatik_getstate", "lunatik_putstate",
    "lunatik_execute", "lunatik_charge", "lunatik_deny",
    "lunatik_lock", "lunatik_unlock", "lunatik_free",
]
API_SYMBOLS = [
    "lunatik_newstate", "lunatik_close", "lunatik_statelookup",
    "klua_states_init", "klua_states_exit", "klua_state_create",
    "klua_state_destroy", "klua_state_lookup", "klua_state_list",
    "klua_state_destroy_all", "klua_execute",
    "lunatik_states_init", "lunatik_states_exit", "lunatik_ctl_new",
    "lunatik_ctl_close", "lunatik_ctl_close_all", "lunatik_ctl_info",
    "lunatik_ctl_list", "lunatik_ctl_execute",
]

SANITIZER_REPORTS = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|"
    r"runtime error:|LeakSanitizer has encountered|ThreadSanitizer: "
)

_built: set[str] = set()


def make(target: str) -> None:
    """Builds a make target once per session; fails the test on error."""
    if target in _built:
        return
    proc = subprocess.run(["make", "-C", str(TOP), "-j2", target],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"make {target} failed:\n{proc.stderr[-4000:]}"
    _built.add(target)


@dataclass(frozen=True)
class Variant:
    target: str      # make target
    directory: str   # under build/
    stress: tuple[str, ...]  # arguments of lunatik-stress: threads, iterations

    def program(self, name: str) -> Path:
        return BUILD / self.directory / f"lunatik-{name}"


VARIANTS = [
    Variant("user", "user", ("8", "20000")),
    Variant("user-asan", "user-asan", ("6", "4000")),
    Variant("user-tsan", "user-tsan", ("4", "2000")),
]


def run_program(path: Path, *args: str, timeout: int = 600) \
        -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=23"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    env["TSAN_OPTIONS"] = "halt_on_error=0:exitcode=66"
    return subprocess.run([str(path), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    report = SANITIZER_REPORTS.search(proc.stderr)
    assert report is None, f"sanitizer report:\n{proc.stderr[-6000:]}"
    assert "FAIL " not in proc.stderr, proc.stderr[-6000:]
    assert "WARNING:" not in proc.stderr, proc.stderr[-6000:]
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr[-6000:]}"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.target)
def test_ctest(variant: Variant) -> None:
    make(variant.target)
    proc = run_program(variant.program("ctest"))
    assert_clean(proc)
    assert "0 failures" in proc.stderr
    assert "curralloc of an empty state:" in proc.stdout


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.target)
def test_stress(variant: Variant) -> None:
    make(variant.target)
    proc = run_program(variant.program("stress"), *variant.stress)
    assert_clean(proc)
    assert "0 failures" in proc.stderr


def test_empty_state_fits_its_own_curralloc() -> None:
    """The smallest maxalloc that builds a state is close to what an empty
    state holds (building peaks only a little above it)."""
    make("user")
    proc = run_program(VARIANTS[0].program("ctest"))
    empty = int(re.search(r"empty state: (\d+)", proc.stdout).group(1))
    smallest = int(re.search(r"builds a state: (\d+)", proc.stdout).group(1))
    assert 0 < empty <= smallest <= empty + 1024


def _objects(directory: str) -> list[Path]:
    objs = sorted((BUILD / directory / "obj").rglob("*.o"))
    assert objs, f"no objects in build/{directory}/obj"
    return objs


def test_no_floating_point_in_the_library() -> None:
    """-mgeneral-regs-only makes any FP use a build error; the disassembly
    of every object of the library confirms: no SSE/AVX/x87 register."""
    make("user")
    fp = re.compile(r"%[xyz]mm\d|%st\b|^\s*[0-9a-f]+:\s+f[a-z]+\s")
    for obj in _objects("user"):
        dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(obj)],
                             capture_output=True, text=True, check=True).stdout
        hits = [line for line in dis.splitlines() if fp.search(line)]
        assert not hits, f"{obj.name}: {hits[:5]}"


def test_one_source_for_both_builds() -> None:
    """The state manager compiles unchanged in both builds: no
    kernel/user switch inside its files."""
    for name in STATEMGR_SOURCES:
        text = (KERNEL / name).read_text()
        assert "__KERNEL__" not in text, name
        assert "LUNATIK_USER" not in text, name
        assert "#ifdef" not in text and "#if " not in text, name


def _dynamic_symbols(lib: Path) -> dict[str, str]:
    out = subprocess.run(["nm", "-D", "--defined-only", str(lib)],
                         capture_output=True, text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = parts[1]
    return symbols


def test_exports() -> None:
    """Every probe, API and control symbol is a defined, exported function
    (the tracer uprobes them by name), and lunatik_limits is data."""
    make("user")
    symbols = _dynamic_symbols(BUILD / "user" / "liblunatik.so")
    for name in PROBE_SYMBOLS + API_SYMBOLS:
        assert symbols.get(name) == "T", name
    assert symbols.get("lunatik_limits") in ("D", "B")
    assert symbols.get("lunatik_user_warn_count") in ("D", "B")


class CInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("maxalloc", ctypes.c_uint64),
                ("curralloc", ctypes.c_uint64), ("users", ctypes.c_uint32),
                ("pad", ctypes.c_uint32)]


def _load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    lib.lunatik_stateget.restype = ctypes.c_void_p
    lib.lunatik_stateget.argtypes = [ctypes.c_char_p]
    lib.lunatik_putstate.argtypes = [ctypes.c_void_p]
    lib.lunatik_execute.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                    ctypes.c_size_t, ctypes.c_char_p,
                                    ctypes.POINTER(ctypes.c_size_t)]
    lib.lunatik_ctl_new.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.lunatik_ctl_execute.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                        ctypes.c_size_t, ctypes.c_char_p,
                                        ctypes.POINTER(ctypes.c_size_t)]
    assert lib.lunatik_states_init() == 0
    return lib


def _execute(lib: ctypes.CDLL, name: bytes, code: bytes) -> tuple[int, str]:
    out = ctypes.create_string_buffer(256)
    n = ctypes.c_size_t(256)
    ret = lib.lunatik_ctl_execute(name, code, len(code), out, ctypes.byref(n))
    return ret, out.value.decode()


def _info(lib: ctypes.CDLL, name: bytes) -> CInfo:
    info = CInfo()
    assert lib.lunatik_ctl_info(name, ctypes.byref(info)) == 0
    return info


def _fault_lib(name: str) -> Path:
    make("user-faults")
    return BUILD / f"user-fault-{name}" / "liblunatik.so"


def test_fault_put_nodec() -> None:
    """putstate does not decrement: the count it returns does not go down."""
    make("user")
    good, bad = _load(BUILD / "user" / "liblunatik.so"), _load(_fault_lib("put_nodec"))
    for lib, expected in ((good, 1), (bad, 2)):
        assert lib.lunatik_ctl_new(b"fault_put", 1 << 20) == 0
        s = lib.lunatik_stateget(b"fault_put")
        assert s
        assert lib.lunatik_putstate(s) == expected
        assert _info(lib, b"fault_put").users == expected
        assert lib.lunatik_ctl_close(b"fault_put") == 0
    assert _dynamic_symbols(_fault_lib("put_nodec"))["lunatik_putstate"] == "T"


def test_fault_alloc_nosub() -> None:
    """charge does not subtract osize: curralloc only grows."""
    make("user")
    good, bad = _load(BUILD / "user" / "liblunatik.so"), _load(_fault_lib("alloc_nosub"))
    sizes = []
    for lib in (good, bad):
        assert lib.lunatik_ctl_new(b"fault_alloc", 1 << 20) == 0
        before = _info(lib, b"fault_alloc").curralloc
        assert _execute(lib, b"fault_alloc",
                        b"local t = {} for i = 1, 100 do t[i] = {} end "
                        b"t = nil collectgarbage() return 1") == (0, "1")
        sizes.append((before, _info(lib, b"fault_alloc").curralloc))
        assert lib.lunatik_ctl_close(b"fault_alloc") == 0
    (good_before, good_after), (bad_before, bad_after) = sizes
    assert bad_before > good_before
    assert good_after <= good_before + 1024
    assert bad_after > bad_before + 4096


def test_fault_exec_skip_end() -> None:
    """execute longjmps back to ctl_execute: same results, no deadlock."""
    bad = _load(_fault_lib("exec_skip_end"))
    assert bad.lunatik_ctl_new(b"fault_exec", 1 << 20) == 0
    for _ in range(3):
        assert _execute(bad, b"fault_exec", b"return 1 + 1") == (0, "2")
    assert _execute(bad, b"fault_exec", b"error('x', 0)") == (2, "x")
    assert _execute(bad, b"nosuch", b"return 1")[0] == -2
    s = bad.lunatik_stateget(b"fault_exec")
    out = ctypes.create_string_buffer(64)
    n = ctypes.c_size_t(64)
    assert bad.lunatik_execute(s, b"return 3", 8, out, ctypes.byref(n)) == 0
    assert out.value == b"3"
    assert bad.lunatik_putstate(s) == 1
    assert _info(bad, b"fault_exec").users == 1
    assert bad.lunatik_ctl_close(b"fault_exec") == 0
    symbols = _dynamic_symbols(_fault_lib("exec_skip_end"))
    assert symbols["lunatik_execute"] == "T"
    assert symbols["lunatik_ctl_execute"] == "T"
