"""The package as a user installs it: the wheel built from this tree,
installed into a new venv (with Debian's BCC visible) in a directory
outside the repository, and every entry point run from there."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.root

WORKLOAD = ("import lunatik_bpf; s = lunatik_bpf.connect('user'); s.new('whl', 1 << 16); "
            "assert s.execute('whl', 'return 6 * 7') == '42'; s.close('whl')")


def run(argv: list[str | Path], cwd: Path, timeout: float = 600,
        pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """argv with nothing of this tree in the environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LUNATIK_LIBRARY", "LUNATIK_BUILD", "PYTHONPATH", "VIRTUAL_ENV")}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("installed")
    assert REPO not in where.parents
    wheels = where / "wheels"
    done = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                "-w", wheels, REPO], cwd=where)
    assert done.returncode == 0, done.stderr
    (wheel,) = wheels.glob("lunatik_bpf-*.whl")
    env = where / "venv"
    assert run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", env],
               cwd=where).returncode == 0
    done = run([env / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel],
               cwd=where)
    assert done.returncode == 0, done.stderr
    return env


def test_it_imports_from_the_venv(venv: Path) -> None:
    done = run([venv / "bin" / "python", "-c", "import lunatik_bpf, lunatik_bpf.data as d; "
                "print(lunatik_bpf.__file__); print(d.path('liblunatik.so'))"], cwd=venv.parent)
    module, library = done.stdout.split()
    assert Path(module).is_relative_to(venv) and Path(library).is_relative_to(venv)
    assert Path(library).is_file() and not Path(library).is_symlink()


def test_lunatik_trace_user(venv: Path) -> None:
    done = run([venv / "bin" / "lunatik-trace", "--user", "-j", "-c",
                f"{venv / 'bin' / 'python'} -c \"{WORKLOAD}\""], cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    kinds = {json.loads(line).get("event") for line in done.stdout.splitlines()
             if line.startswith("{")}
    assert {"create", "exec_end", "remove", "free"} <= kinds, done.stdout[-2000:]


def test_lunatik_check_and_report(venv: Path) -> None:
    done = run([venv / "bin" / "lunatik-check", "--user"], cwd=venv.parent)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("PASS"), done.stdout[-2000:]
    recording = venv.parent / "session.jsonl.gz"
    done = run([venv / "bin" / "lunatik-trace", "--user", "-q", "-w", recording, "-c",
                f"{venv / 'bin' / 'python'} -c \"{WORKLOAD}\""], cwd=venv.parent)
    assert done.returncode == 0, done.stderr
    done = run([venv / "bin" / "lunatik-report", recording], cwd=venv.parent)
    assert done.returncode == 0 and "whl" in done.stdout, done.stderr


def test_lunatik_without_the_module(venv: Path) -> None:
    done = run([venv / "bin" / "lunatik", "status"], cwd=venv.parent)
    assert done.returncode == 0 and "lunatik: " in done.stdout


def test_the_pytest_plugin_in_a_project(venv: Path) -> None:
    project = venv.parent / "project"
    project.mkdir()
    (project / "test_states.py").write_text(textwrap.dedent("""
        def test_close_frees(lunatik_states, lunatik_trace):
            lunatik_states.new("p", 1 << 16)
            assert lunatik_states.execute("p", "return 1 + 1") == "2"
            lunatik_states.close("p")
        """))
    done = run([venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
               cwd=project)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def test_the_wrong_bcc_is_named(venv: Path, tmp_path: Path) -> None:
    """The PyPI package called bcc shadowing Debian's: one clear line."""
    (tmp_path / "bcc").mkdir()
    (tmp_path / "bcc" / "__init__.py").write_text("# not BCC\n")
    done = run([venv / "bin" / "lunatik-trace", "--user", "-c", "true"], cwd=tmp_path,
               timeout=60, pythonpath=tmp_path)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "PyPI package named bcc" in done.stderr, done.stderr
