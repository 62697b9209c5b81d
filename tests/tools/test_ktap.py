"""lunatik-check --tap, read by a KTAP parser nobody here wrote: the
kernel's own tools/testing/kunit/kunit_parser.py, from Debian's
linux-source-6.1 (the version of the kernel the module is built for)."""
from __future__ import annotations

import importlib
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from lunatik_bpf.tracing.checks import CHECKS

from .test_check_cli import BUILD, USER_BUILTIN, USER_LIBRARY, lunatik_check, need_root

SOURCE = Path("/usr/src/linux-source-6.1.tar.xz")
KUNIT = "linux-source-6.1/tools/testing/kunit/"


@pytest.fixture(scope="module")
def kunit_parser(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    assert SOURCE.is_file(), f"{SOURCE} missing: apt install linux-source-6.1 (make setup)"
    where = tmp_path_factory.mktemp("kunit")
    with tarfile.open(SOURCE) as tar:
        for name in ("kunit_parser.py", "kunit_printer.py"):
            member = tar.getmember(KUNIT + name)
            member.name = name
            tar.extract(member, where)
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module("kunit_parser")
    finally:
        sys.path.remove(str(where))


def parse(kunit_parser: ModuleType, text: str):  # -> kunit_parser.Test
    return kunit_parser.parse_run_tests(text.splitlines())


@pytest.mark.root
def test_correct_library_reads_as_passed(kunit_parser: ModuleType) -> None:
    need_root()
    done = lunatik_check("--user", "-L", USER_LIBRARY, "--tap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("KTAP version 1\n")
    test = parse(kunit_parser, done.stdout)
    ok = kunit_parser.TestStatus
    assert test.status == ok.SUCCESS and test.counts.errors == 0
    by_name = {t.name: t for t in test.subtests}
    for name in USER_BUILTIN:
        assert by_name[name].status == ok.SUCCESS, name
        assert [c.name for c in by_name[name].subtests] == list(CHECKS)
    skipped = [t for t in test.subtests if t.name not in USER_BUILTIN]
    assert skipped and all(t.status == ok.SKIPPED for t in skipped)


@pytest.mark.root
def test_fault_reads_as_the_failed_check(kunit_parser: ModuleType, tmp_path: Path) -> None:
    need_root()
    library = BUILD / "user-fault-put_nodec" / "liblunatik.so"
    tap = tmp_path / "run.ktap"
    done = lunatik_check("--user", "-L", library, "--tap", tap)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("FAIL")          # the text report as well
    test = parse(kunit_parser, tap.read_text())
    status = kunit_parser.TestStatus
    assert test.status == status.FAILURE and test.counts.errors == 0
    failed = {(t.name, c.name) for t in test.subtests for c in t.subtests
              if c.status == status.FAILURE}
    assert failed and {check for _, check in failed} == {"refcount_zero_once"}
    # the evidence goes with the failed check, as diagnostic lines
    assert "# refcount_zero_once:" in tap.read_text()


def test_tap_to_stdout_and_json_conflict() -> None:
    done = lunatik_check("--user", "-j", "--tap")
    assert done.returncode == 2 and "--tap" in done.stderr
