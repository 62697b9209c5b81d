"""The VM harness's command line and the vng command it builds (host
tests: nothing is booted here)."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lunatik_bpf.testing import vm


def test_parse_and_guest_options() -> None:
    args = vm.parse(["--cpus", "3", "--param", "max_states=8", "--",
                     "pytest", "-m", "kernel"])
    assert args.cpus == 3 and args.command == ["pytest", "-m", "kernel"]
    opts = vm.guest_options(args)
    assert opts[-4:] == ["--", "pytest", "-m", "kernel"]
    assert ["--param", "max_states=8"] == opts[2:4]
    assert Path(opts[1]).is_absolute()


def test_vng_command_line() -> None:
    machine = vm.VM("6.1.0-56-amd64", cpus=2, memory="2G", kvm=False)
    argv = machine.vng_argv(["/bin/sh", "-c", "exit 3"])
    assert argv[:3] == ["vng", "--run", "/boot/vmlinuz-6.1.0-56-amd64"]
    assert "--disable-kvm" in argv
    assert "clocksource=tsc" in argv[argv.index("--append") + 1].split()
    assert argv[argv.index("--rwdir") + 1] == str(vm.BUILD)
    assert argv[argv.index("--cpus") + 1] == "2"
    assert shlex.split(argv[argv.index("--exec") + 1]) == \
        ["/bin/sh", "-c", "exit 3"]
    with_kvm = vm.VM("6.1.0-56-amd64", kvm=True).vng_argv(["true"])
    assert "--disable-kvm" not in with_kvm and "--append" not in with_kvm


def test_guest_run_reports_status(tmp_path: Path) -> None:
    """The guest side without a module: the command's status comes back,
    through the status file too."""
    status = tmp_path / "status"
    run = vm.GuestRun([sys.executable, "-c", "raise SystemExit(7)"],
                      module=None, status_file=status)
    assert run.check_log("", 7) == 7
    assert vm.GuestRun.check_log("[ 1.0] BUG: oops", 0) == 1
    assert vm.GuestRun.check_log("[ 1.0] BUG: oops", 5) == 5
    assert run.command_status() == 7


def test_guest_run_kills_a_hung_command(capfd: pytest.CaptureFixture[str]) -> None:
    """Past its deadline the command and its children are killed, with
    their kernel stacks shown first, and the run says 124."""
    script = "import subprocess, time; subprocess.Popen(['sleep', '600']); time.sleep(600)"
    run = vm.GuestRun([sys.executable, "-c", script], module=None, timeout=2)
    assert run.command_status() == vm.STATUS_TIMEOUT
    err = capfd.readouterr().err
    assert "ran past its 2 s deadline" in err
    assert "(sleep):" in err and "(python" in err      # both tasks, by name
    leftover = subprocess.run(["pgrep", "-f", "^sleep 600$"], capture_output=True)
    assert leftover.returncode == 1, leftover.stdout       # nothing left behind


@pytest.mark.kernel
def test_guest_clock_is_not_emulated_hpet() -> None:
    """Inside the VM: timestamps come from the TSC (TCG, see vm.VM.vng_argv)
    or kvm-clock, never from the HPET, whose reads would dominate every
    traced figure."""
    current = Path("/sys/devices/system/clocksource/clocksource0/current_clocksource")
    assert current.read_text().strip() in ("tsc", "kvm-clock")


@pytest.mark.skipif(not os.access("/dev/kmsg", os.W_OK), reason="needs root's /dev/kmsg")
def test_kernel_log_during_sees_only_the_body() -> None:
    """The per-test splat check reads what the body printed, from
    /dev/kmsg: not what came before, and every line of it."""
    def printk(text: str) -> None:
        with open("/dev/kmsg", "w") as kmsg:
            kmsg.write(text + "\n")

    tag = f"lunatik-test-{os.getpid()}"
    printk(f"{tag}: before, BUG: not ours")
    with vm.kernel_log_during() as lines:
        printk(f"{tag}: first")
        printk(f"{tag}: Call Trace:")
    ours = [line for line in lines if line.startswith(tag)]
    assert ours == [f"{tag}: first", f"{tag}: Call Trace:"]
    assert vm.deny_matches("\n".join(ours)) == [f"{tag}: Call Trace:"]
