"""lunatik-check as a user runs it: the installed script in a subprocess, its
output, its JUnit XML and its exit status, on the correct library (exit 0),
on each fault variant (non-zero, the right check named, with evidence) and
on the module (in the VM, `-m kernel`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lunatik_bpf.cli.check import HELD, mechanism_for, parse, select
from lunatik_bpf.testing.scenarios import BUILTIN
from lunatik_bpf.tracing.checks import CHECKS

REPO = Path(__file__).resolve().parents[2]
CHECK = Path(sys.executable).parent / "lunatik-check"
BUILD = Path(os.environ.get("LUNATIK_BUILD", REPO / "build"))
USER_LIBRARY = BUILD / "user" / "liblunatik.so"
EXAMPLES = REPO / "examples"

FAULTS = {
    "put_nodec": "refcount_zero_once",      # putstate forgets to decrement
    "alloc_nosub": "curralloc_rebuilt",     # charge forgets to subtract osize
    "exec_skip_end": "exec_ends",           # execute leaves by longjmp
}
USER_BUILTIN = [sc.name for sc in BUILTIN if sc.skip_reason("user") is None]


def lunatik_check(*args: str | Path, timeout: float = 300
                  ) -> subprocess.CompletedProcess[str]:
    assert CHECK.is_file(), f"{CHECK} missing: pip install -e ."
    return subprocess.run([str(CHECK), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("lunatik-check traces with BPF: needs root")


def junit(path: Path) -> tuple[ET.Element, dict[tuple[str, str], ET.Element]]:
    """The testsuite element and its testcases by (scenario, name)."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {}
    for case in suite.findall("testcase"):
        scenario = case.get("classname", "").removeprefix("lunatik-check.")
        cases[(scenario, case.get("name", ""))] = case
    return suite, cases


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---- without tracing ----

def test_list_names_every_scenario_and_check():
    done = lunatik_check("--user", "--list", "--scenario", EXAMPLES / "scenario.py",
                         "--scenario", EXAMPLES / "scenario.lua")
    assert done.returncode == 0, done.stderr
    for sc in BUILTIN:
        assert f"  {sc.name} " in done.stdout
    assert "scenario.py" in done.stdout and "scenario.lua" in done.stdout
    assert "[skipped: needs the kernel backend" in done.stdout     # unload on user
    for check in CHECKS:
        assert f"  {check} " in done.stdout


@pytest.mark.parametrize("args, message", [
    (["--user", "--only", "nosuch"], "--only nosuch: no such scenario"),
    (["--user", "--scenario", "/nonexistent.py"], "no such scenario file"),
    (["--user", "-L", "/nonexistent/liblunatik.so"], "no such library"),
    (["-L", "x.so"], "add --user"),
])
def test_usage_errors_exit_2(args, message):
    done = lunatik_check(*args)
    assert done.returncode == 2
    assert message in done.stderr


def test_kernel_backend_without_the_module_exits_2():
    if Path("/sys/module/lunatik").is_dir():
        pytest.skip("the module is loaded here")
    done = lunatik_check("--only", "create")
    assert done.returncode == 2
    assert "is the module loaded?" in done.stderr


# ---- the user-space library, traced ----

@pytest.mark.root
def test_correct_library_passes_with_user_scenarios(tmp_path):
    need_root()
    report = tmp_path / "report.xml"
    done = lunatik_check("--user", "-L", USER_LIBRARY, "--junit", report,
                         "--scenario", EXAMPLES / "scenario.py",
                         "--scenario", EXAMPLES / "scenario.lua")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for name in USER_BUILTIN + ["scenario.py", "scenario.lua"]:
        assert f"-> {name}: ok (0 findings" in out
    assert "-> unload: SKIPPED (needs the kernel backend" in out
    assert "FAIL" not in out.replace("\nPASS", "")
    assert out.rstrip().endswith("PASS")
    # one verdict per check in the overall block
    overall = out[out.index("== overall"):]
    for check in CHECKS:
        assert f"ok   {check}" in overall

    suite, cases = junit(report)
    scenarios = len(BUILTIN) + 2
    assert int(suite.get("tests")) == scenarios * (len(CHECKS) + 1)
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    assert int(suite.get("skipped")) == len(CHECKS) + 1       # unload
    for name in USER_BUILTIN + ["scenario.py", "scenario.lua"]:
        for check in CHECKS:
            case = cases[(name, check)]
            assert list(case) == [], (name, check)             # passed
    assert cases[("unload", "run")].find("skipped") is not None
    assert "kernel backend" in cases[("unload", "refcount_zero_once")].find(
        "skipped").get("message")


@pytest.mark.root
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_variant_fails_naming_its_check(tmp_path, fault):
    need_root()
    library = BUILD / f"user-fault-{fault}" / "liblunatik.so"
    assert library.is_file(), f"{library} missing: make user"
    report = tmp_path / "report.xml"
    done = lunatik_check("--user", "-L", library, "--junit", report)
    check = FAULTS[fault]
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert str(library.resolve()) in out.splitlines()[0]
    failed_line = next(line for line in out.splitlines()
                       if line.startswith("FAILED checks:"))
    assert check in failed_line
    assert "events_complete" not in failed_line
    overall = out[out.index("== overall"):]
    assert f"FAIL {check}" in overall
    assert out.rstrip().endswith("FAIL")
    # the evidence: the finding's events, printed under the verdicts
    assert f"     {check}: '" in out
    assert "       evidence " in out

    suite, cases = junit(report)
    assert int(suite.get("failures")) >= 1
    failures = [(key, case.find("failure")) for key, case in cases.items()
                if case.find("failure") is not None]
    assert {key[1] for key, _ in failures} >= {check}
    for (scenario, name), failure in failures:
        assert failure.get("type") == name
        assert CHECKS[name] in failure.get("message")
        assert "evidence:" in failure.text and "@0x" in failure.text


@pytest.mark.root
def test_json_lines_and_scenario_errors(tmp_path):
    """-j: a finding line per finding, a line per scenario, an overall line;
    a Python scenario that raises and a Lua script that errors are scenario
    errors (exit 1, JUnit error elements), the other scenarios still run."""
    need_root()
    broken_py = tmp_path / "broken.py"
    broken_py.write_text("def scenario(states):\n"
                         "    states.new('b', 1 << 16)\n"
                         "    raise RuntimeError('scenario broke')\n")
    broken_lua = tmp_path / "broken.lua"
    broken_lua.write_text("-- a script with a runtime error\nerror('lua broke')\n")
    report = tmp_path / "report.xml"
    done = lunatik_check("--user", "-j", "--junit", report,
                         "--scenario", broken_py, "--scenario", broken_lua,
                         "--only", "broken.py", "--only", "broken.lua",
                         "--only", "execute")
    assert done.returncode == 1, done.stdout + done.stderr
    docs = json_lines(done.stdout)
    runs = {d["scenario"]: d for d in docs if "status" in d}
    assert set(runs) == {"execute", "broken.py", "broken.lua"}
    assert runs["execute"]["status"] == "pass" and runs["execute"]["events"] > 0
    assert set(runs["execute"]["checks"].values()) == {"ok"}
    assert runs["broken.py"]["status"] == "error"
    assert "RuntimeError: scenario broke" in runs["broken.py"]["error"]
    assert runs["broken.lua"]["status"] == "error"
    assert "lua broke" in runs["broken.lua"]["error"]
    assert not [d for d in docs if "finding" in d]      # the states were closed
    (overall,) = [d["overall"] for d in docs if "overall" in d]
    assert overall["ok"] is False and overall["errors"] == 2
    assert overall["failed_checks"] == []

    suite, cases = junit(report)
    assert suite.get("errors") == "2" and suite.get("failures") == "0"
    error = cases[("broken.py", "run")].find("error")
    assert error is not None and "scenario broke" in error.get("message")
    assert "Traceback" in error.text
    assert cases[("broken.lua", "run")].find("error") is not None


# ---- the module (inside the VM) ----

@pytest.mark.kernel
@pytest.mark.root
def test_kernel_module_passes_every_scenario_with_unload(tmp_path):
    need_root()
    report = tmp_path / "report.xml"
    done = lunatik_check("--junit", report, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    # raw tracepoints would hold the module: auto traces a run that unloads
    # it with kprobes, and says so
    assert "attached kprobes)" in done.stdout.splitlines()[0]
    for sc in BUILTIN:
        assert f"-> {sc.name}: ok (0 findings" in done.stdout
    suite, cases = junit(report)
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == \
        ("0", "0", "0")
    assert Path("/sys/module/lunatik").is_dir()     # loaded again after unload


def test_the_mechanism_follows_the_unload_scenario():
    """Raw tracepoints hold the module: a kernel run that unloads it is
    traced with kprobes under auto, and under --probes tracepoint the unload
    scenario is skipped with its reason."""
    run, _ = select(parse([]), "kernel")
    assert run[-1].ends_session and mechanism_for(parse([]), run) == "kprobe"
    only = parse(["--only", "create"])
    assert mechanism_for(only, select(only, "kernel")[0]) == "auto"
    tp = parse(["--probes", "tracepoint"])
    run, skipped = select(tp, "kernel")
    assert not any(sc.ends_session for sc in run)
    assert [(r.name, r.skip) for r in skipped] == [("unload", HELD)]
    assert mechanism_for(tp, run) == "tracepoint"
    assert mechanism_for(parse(["--user"]), select(parse(["--user"]), "user")[0]) is None
