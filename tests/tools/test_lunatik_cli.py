"""The `lunatik` command on the module (in the VM): a state driven end to
end, the REPL, each error's line and exit status, and load/unload/reload
through modprobe on a modules tree of its own (MODPROBE_OPTIONS=-d)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lunatik_bpf.cli.lunatik import EXIT_MODULE, EXIT_USAGE, size
from lunatik_bpf.testing.vm import loaded_ko, module_loaded, module_swapped

LUNATIK = Path(sys.executable).parent / "lunatik"


def lunatik(*args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    assert LUNATIK.is_file(), f"{LUNATIK} missing: pip install -e ."
    return subprocess.run([str(LUNATIK), *map(str, args)], capture_output=True, text=True,
                          input=stdin, timeout=120, env=env)


def test_sizes() -> None:
    assert [size(s) for s in ("4096", "64K", "1M", "2MiB")] == [4096, 65536, 1 << 20, 2 << 20]
    with pytest.raises(Exception, match="not a size"):
        size("lots")


def test_usage_errors() -> None:
    done = lunatik("exec", "x")
    assert done.returncode == EXIT_USAGE and "-e CODE or a FILE" in done.stderr


@pytest.mark.kernel
@pytest.mark.root
def test_a_state_end_to_end(tmp_path: Path) -> None:
    lunatik("stop", "--all")
    script = tmp_path / "counter.lua"
    script.write_text("n = 0\nfunction bump() n = n + 1 return n end\nreturn 'ready'\n")
    done = lunatik("run", script, "--maxalloc", "256K")
    assert (done.returncode, done.stdout) == (0, "ready\n"), done.stderr
    assert lunatik("exec", "counter", "-e", "return bump()").stdout == "1\n"
    more = tmp_path / "more.lua"
    more.write_text("return bump(), n * 10")
    assert lunatik("exec", "counter", more).stdout == "2\t20\n"
    rows = [json.loads(line) for line in lunatik("list", "-j").stdout.splitlines()]
    (row,) = [r for r in rows if r["name"] == "counter"]
    assert row["maxalloc"] == 256 << 10 and 0 < row["curralloc"] <= row["maxalloc"]
    table = lunatik("list").stdout.splitlines()
    assert table[0].split() == ["NAME", "USERS", "CURRALLOC", "MAXALLOC"]
    assert any(line.split()[0] == "counter" for line in table[1:])
    status = lunatik("status").stdout
    assert status.startswith("lunatik: loaded, version ") and "1 states" in status
    # errors: one line each, an exit status each
    for args, code, words in ((("run", script), 3, "already has that name"),
                              (("exec", "nope", "-e", "return 1"), 4, "no such state"),
                              (("exec", "counter", "-e", "return +"), 8, "syntax error"),
                              (("exec", "counter", "-e", "error('boom')"), 11, "boom"),
                              (("run", script, "--name", "bad name"), 5, "invalid name")):
        done = lunatik(*args)
        assert done.returncode == code, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert lunatik("stop", "counter").returncode == 0
    assert lunatik("stop", "counter").returncode == 4
    assert "closed 0 states" in lunatik("stop", "--all").stdout


@pytest.mark.kernel
@pytest.mark.root
def test_the_repl_has_a_state_of_its_own() -> None:
    done = lunatik(stdin="return 42\nx = 20\nreturn x + 1\nerror('oops')\nreturn x\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42\n21\n20\n"
    assert "oops" in done.stderr
    assert not [r for r in lunatik("list", "-j").stdout.splitlines() if "repl-" in r]


@pytest.mark.kernel
@pytest.mark.root
def test_load_unload_reload(tmp_path: Path) -> None:
    """modprobe finds the module in a tree of its own, as it would find the
    DKMS-installed one in /lib/modules."""
    release = os.uname().release
    where = tmp_path / "lib" / "modules" / release / "updates" / "dkms"
    where.mkdir(parents=True)
    shutil.copy(loaded_ko(), where / "lunatik.ko")
    subprocess.run(["depmod", "-b", str(tmp_path), release], check=True)
    env = dict(os.environ, MODPROBE_OPTIONS=f"-d {tmp_path}")
    lunatik("stop", "--all")
    with module_swapped(None):
        assert lunatik("unload", env=env).returncode == 0 and not module_loaded()
        assert lunatik("status").stdout == "lunatik: not loaded\n"
        done = lunatik("list")
        assert done.returncode == EXIT_MODULE and "not loaded" in done.stderr
        assert lunatik("load", env=env).returncode == 0 and module_loaded()
        assert lunatik("run", "/dev/null", "--name", "after_load").returncode == 0
        assert lunatik("reload", env=env).returncode == 0 and module_loaded()
        assert "0 states" in lunatik("status").stdout          # a fresh module
        broken = dict(os.environ, MODPROBE_OPTIONS=f"-d {tmp_path / 'none'}")
        assert lunatik("unload", env=env).returncode == 0
        done = lunatik("load", env=broken)
        assert done.returncode == EXIT_MODULE and "modprobe lunatik" in done.stderr
