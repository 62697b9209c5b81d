"""The pytest plugin (lunatik_bpf.testing.pytest_plugin, entry point pytest11), run
the way a user runs it: pytester writes a small test file and runs pytest on
it in a subprocess (each run loads its own library and compiles its own BPF
program), once on the correct library and once against fault variants."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LUNATIK_BUILD", REPO / "build"))
USER_LIBRARY = BUILD / "user" / "liblunatik.so"


def fault_library(name: str) -> Path:
    library = BUILD / f"user-fault-{name}" / "liblunatik.so"
    assert library.is_file(), f"{library} missing: make user"
    return library


TESTS = '''
import pytest

def test_traced(lunatik_states, lunatik_trace):
    lunatik_states.new("p", 1 << 16)
    assert lunatik_states.execute("p", "return 6*7") == "42"
    assert lunatik_states.lookup("p") is not None
    lunatik_states.close("p")
    lunatik_states.new("left_open", 1 << 16)    # the fixture closes it, traced

def test_states_only(lunatik_states):
    assert lunatik_states.backend.name == "{backend}"
    lunatik_states.new("q", 1 << 16)
    assert [s.name for s in lunatik_states.list()] == ["q"]
'''


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the plugin's lunatik_trace needs root (BPF)")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", *args,
                                         timeout=300)


def test_import_is_cheap():
    """The plugin is loaded by every pytest run in this venv: importing it
    must not import BCC or the tracer."""
    code = ("import sys, lunatik_bpf.testing.pytest_plugin; "
            "print(sorted(m for m in sys.modules if m == 'bcc' or "
            "m.startswith('lunatik_bpf.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=True)
    loaded = eval(done.stdout)  # a printed list of str
    assert "bcc" not in loaded and "lunatik_bpf.tracing.tracer" not in loaded, loaded


def test_registered_by_entry_point(pytester):
    """A bare pytest run knows the marker and the options (no -p needed)."""
    markers = run(pytester, "--markers")
    assert "@pytest.mark.lunatik_backend(name, library=None)" in markers.stdout.str()
    helptext = run(pytester, "--help").stdout.str()
    for option in ("--lunatik-backend", "--lunatik-library", "--lunatik-ringbuf-pages"):
        assert option in helptext


def test_unknown_backend_in_marker_is_an_error(pytester):
    pytester.makepyfile('''
        import pytest
        @pytest.mark.lunatik_backend("nosuch")
        def test_x(lunatik_states):
            pass
    ''')
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'nosuch' is not one of user, kernel*"])


@pytest.mark.root
def test_passing_run_on_the_correct_library(pytester):
    need_root()
    pytester.makepyfile(TESTS.format(backend="user"))
    result = run(pytester, f"--lunatik-library={USER_LIBRARY}")
    result.assert_outcomes(passed=2)


@pytest.mark.root
def test_failing_run_names_the_check_with_evidence(pytester):
    """--lunatik-library on a fault variant: the traced test FAILS with the
    tracer's findings (check, state, evidence) as its message; the untraced
    test still passes."""
    need_root()
    library = fault_library("put_nodec")
    pytester.makepyfile(TESTS.format(backend="user"))
    result = run(pytester, f"--lunatik-library={library}")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["FAILED *::test_traced*"])
    assert "lunatik_trace: 2 findings on the user backend" in out
    assert f"({library.resolve()}," in out
    assert "FAIL refcount_zero_once" in out
    assert "[refcount_zero_once] 'p'@0x" in out
    assert "[refcount_zero_once] 'left_open'@0x" in out    # closed by the fixture
    assert "      evidence " in out and " put " in out


@pytest.mark.root
def test_marker_selects_the_library(pytester):
    """The lunatik_backend marker's library wins over the default; one
    session traces two libraries (two Tracer sessions on one Program); a test
    body that fails still gets its findings, at teardown."""
    need_root()
    skip_end = fault_library("exec_skip_end")
    pytester.makepyfile(f'''
        import pytest

        def test_default_library(lunatik_states, lunatik_trace):
            lunatik_states.new("d", 1 << 16)
            assert lunatik_states.execute("d", "return 1") == "1"

        @pytest.mark.lunatik_backend("user", library={str(skip_end)!r})
        def test_fault_library(lunatik_states, lunatik_trace):
            lunatik_states.new("f", 1 << 16)
            assert lunatik_states.execute("f", "return 1") == "1"

        @pytest.mark.lunatik_backend("user", library={str(skip_end)!r})
        def test_body_fails_too(lunatik_states, lunatik_trace):
            lunatik_states.new("g", 1 << 16)
            lunatik_states.execute("g", "return 1")
            assert False, "the body's own failure"
    ''')
    result = run(pytester, f"--lunatik-library={USER_LIBRARY}")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines_random([
        "FAILED *::test_fault_library*",
        "FAILED *::test_body_fails_too*",
        "ERROR *::test_body_fails_too*",
        "*ERROR at teardown of test_body_fails_too*",
        "E       AssertionError: the body's own failure",
    ])
    out = result.stdout.str()
    # one report per traced test that had findings, in its own section (the
    # short summary repeats the message, cut to the terminal's width unless CI
    # is set: count the sections' lines only)
    reports = [line for line in out.splitlines()
               if line.startswith("lunatik_trace: 1 findings on the user backend")]
    assert len(reports) == 2
    assert "[exec_ends] 'f'@0x" in out and "[exec_ends] 'g'@0x" in out
    assert "PASSED test_marker_selects_the_library.py::test_default_library" in out


@pytest.mark.kernel
@pytest.mark.root
def test_kernel_backend_by_option(pytester):
    """--lunatik-backend kernel: the module over netlink, traced with kprobes."""
    need_root()
    pytester.makepyfile(TESTS.format(backend="kernel"))
    result = run(pytester, "--lunatik-backend=kernel")
    result.assert_outcomes(passed=2)
