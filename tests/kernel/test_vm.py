"""The VM harness's command line and the vng command it builds (host
tests; one starts the QEMU of a VM and stops it)."""
from __future__ import annotations

import fcntl
import os
import shlex
import signal
import subprocess
import sys
import time
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


def test_descendants_follow_parent_links() -> None:
    """A child and its grandchild, found from /proc, and gone once ended."""
    child = subprocess.Popen(["sh", "-c", "sleep 600 & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(vm.descendants(child.pid)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        below = vm.descendants(os.getpid())
        assert child.pid in below
        grandchildren = vm.descendants(child.pid)
        assert len(grandchildren) == 1 and vm.running(grandchildren[0])
    finally:
        child.kill()
        child.wait()
    os.kill(grandchildren[0], signal.SIGKILL)
    assert not vm.running(child.pid)        # reaped


@pytest.fixture
def vm_free() -> None:
    """A VM may boot here now: this host needs one, and none is running."""
    if vm.host_can_load(vm.default_kver()) or vm.find_vng() is None:
        pytest.skip("no VM on this host")
    with open(vm.VM_LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pytest.skip("another VM is running")
        fcntl.flock(lock, fcntl.LOCK_UN)


def qemu_under(pid: int, within: float = 60) -> list[int]:
    """The QEMU processes below pid, once one is up."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [p for p in vm.descendants(pid)
                 if Path(f"/proc/{p}/comm").read_text().startswith("qemu")]
        if found:
            return found
        time.sleep(0.2)
    return []


@pytest.mark.root
def test_terminated_harness_leaves_no_vm_running(vm_free: None) -> None:
    """SIGTERM to the host harness (CI cancelling the job, timeout(1))
    ends vng and its QEMU too, instead of leaving the guest running."""
    harness = subprocess.Popen([sys.executable, "-m", "lunatik_bpf.testing.vm", "--no-module",
                                "--", "sleep", "600"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert qemu_under(harness.pid), "the harness never started QEMU"
        started = vm.descendants(harness.pid)
        harness.terminate()
        assert harness.wait(timeout=30) == 128 + signal.SIGTERM
        assert "SIGTERM: the VM was stopped" in harness.stderr.read()
        assert [p for p in started if vm.running(p)] == []
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()


@pytest.mark.root
def test_host_stops_a_guest_past_its_deadline(vm_free: None,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    """A guest that does not end (its command stuck in the kernel, where
    the guest's own deadline cannot kill it) is stopped by the host at
    its deadline, with status 124 and nothing left running."""
    machine = vm.VM(vm.default_kver(), vng=vm.find_vng() or "vng", deadline=5)
    assert machine.run(["--no-module", "--", "sleep", "600"]) == vm.STATUS_TIMEOUT
    assert "had not ended 5 s after it was started: stopped" in capfd.readouterr().err
    left = subprocess.run(["pgrep", "-f", "qemu-system.* -name virtme-ng"],
                          capture_output=True, text=True)
    assert left.returncode == 1, left.stdout
