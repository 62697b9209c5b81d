"""The virtme-ng harness: runs a command where the lunatik module is loaded.

    python -m lunatik_bpf.testing.vm [--kernel VER] [--cpus N] [--memory 2G] \\
        [--param max_states=8] [--no-module] -- CMD...

On a host that can load modules and has kprobes, and runs the kernel the
module was built for, the command runs here. Otherwise the harness boots
/boot/vmlinuz-<VER> in a virtme-ng VM (TCG when /dev/kvm cannot run a guest)
that shares the host's filesystem, with build/ writable, and runs the
command inside as root. Around the command, in either place:

  - tracefs and debugfs are mounted,
  - kernel/lunatik.ko (the fresh build) is inserted with the given
    parameters, and removed afterwards (a failing rmmod fails the run),
  - the kernel log written during the run is shown and checked against a
    deny-list of splats (WARNING:, BUG:, Oops, lockdep, ...): a match fails
    the run even if the command passed.

The exit status is the command's (or 1 for a splat or a failed rmmod,
124 when it ran past --timeout, 125 when the guest never reported one: it
crashed or did not boot). The
guest writes it to a file under build/vm/, which the host reads back.

Nothing outlives the run: past --timeout the guest kills the command (after
showing its tasks' kernel stacks) and goes on even if a task stuck in the
kernel does not die; the host stops a guest still running GUEST_OVERHEAD
seconds after that deadline (124); SIGTERM or SIGHUP to the host side ends
vng and QEMU with it.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..control.types import MODULE, SYSFS
from . import debugkernel

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
VM_DIR = BUILD / "vm"
KO = REPO / "kernel" / "lunatik.ko"     # the fresh build
KO_ENV = "LUNATIK_KO"                   # tells the command which .ko was loaded
DEFAULT_KVER = "6.1.0-56-amd64"

# Kernel-log lines that fail a run (after libbpf's CI).
DENY_LIST: tuple[str, ...] = (
    r"WARNING:", r"BUG:", r"Oops", r"lockdep(?! checking is enabled)",
    r"possible recursive locking",
    r"possible circular locking", r"scheduling while atomic",
    r"refcount_t:", r"KASAN", r"UBSAN", r"hung task", r"blocked for more than",
    r"Call Trace", r"general protection fault", r"kernel panic",
    r"stack-protector", r"list_add corruption", r"list_del corruption",
)
_DENY_RE = re.compile("|".join(DENY_LIST))

STATUS_NO_REPORT = 125
STATUS_TIMEOUT = 124        # as timeout(1)


def deny_matches(log: str) -> list[str]:
    """The kernel-log lines that match the deny-list."""
    return [line for line in log.splitlines() if _DENY_RE.search(line)]


def default_kver() -> str:
    """The newest Debian -amd64 kernel with headers (as the Makefile)."""
    mods = Path("/lib/modules")
    found = sorted((p.name for p in mods.glob("*-amd64")
                    if (p / "build").exists()),
                   key=lambda v: [int(x) if x.isdigit() else x
                                  for x in re.split(r"[.-]", v)])
    return found[-1] if found else DEFAULT_KVER


def kvm_usable() -> bool:
    """Can /dev/kvm run a guest? It needs the device and hardware
    virtualisation (a nested host may offer /dev/kvm without vmx/svm, and
    then a guest hangs)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    return bool(flags and {"vmx", "svm"} & set(flags.group(1).split()))


def host_can_load(kver: str) -> bool:
    """Can this host insert the module itself: root, the kernel the module
    was built for, module loading on, kprobes present?"""
    if os.geteuid() != 0 or platform.release() != kver:
        return False
    try:
        if Path("/proc/sys/kernel/modules_disabled").read_text().strip() != "0":
            return False
    except OSError:
        return False
    tracing = [Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing")]
    has_kprobes = any((t / "kprobe_events").exists() for t in tracing)
    return Path("/proc/modules").exists() and has_kprobes


# ---------------------------------------------------------------- guest side
@dataclass
class GuestRun:
    """What runs around the command where the module can be loaded."""
    command: list[str]
    module: Path | None = KO
    params: list[str] = field(default_factory=list)
    status_file: Path | None = None
    timeout: float | None = None    # seconds; past it the command is killed
    debug: bool = False             # the debug kernel: prove its checkers, kmemleak

    def run(self) -> int:
        mount_tracing()
        before = kernel_log()
        inserted = False
        status = 1
        try:
            if self.debug and not self.debug_ready(before):
                return status
            if self.module is not None:
                inserted = insmod(self.module, self.params)
                if not inserted:
                    return status
            status = self.command_status()
        finally:
            if inserted and module_loaded() and not rmmod():
                status = status or 1
            if self.debug:
                status = self.check_leaks(status)
            log = kernel_log()
            status = self.check_log(log[len(before):] if log.startswith(
                before) else log, status)
            if self.status_file is not None:
                self.status_file.write_text(f"{status}\n")
        return status

    @staticmethod
    def debug_ready(boot_log: str) -> bool:
        """The debug kernel's checkers are on (their boot lines, shown),
        and what they found before the module came is the kernel's own."""
        found, missing = debugkernel.checkers_on(boot_log)
        for name, line in found.items():
            print(f"vm: {name} is on: {line}", flush=True)
        if missing:
            print(f"vm: not a debug kernel: no {', '.join(missing)} in its boot log",
                  file=sys.stderr)
            return False
        own = deny_matches(boot_log)
        if own:
            print(f"vm: before the module was loaded the kernel reported {len(own)} "
                  f"lines of its own (not counted), first: {own[0]}", flush=True)
        if not debugkernel.kmemleak_clear():
            print("vm: kmemleak cannot be cleared", file=sys.stderr)
            return False
        return True

    @staticmethod
    def check_leaks(status: int) -> int:
        leaks = debugkernel.kmemleak_scan()
        if not leaks.strip():
            print("vm: kmemleak: no leak after rmmod and a forced scan", flush=True)
            return status
        print(f"---- kmemleak ----\n{leaks.rstrip()}\n---- end of kmemleak ----",
              flush=True)
        print(f"vm: kmemleak suspects {leaks.count('unreferenced object')} leaks",
              file=sys.stderr)
        return status or 1

    def command_status(self) -> int:
        env = {**os.environ, KO_ENV: str(self.module or ""), "LUNATIK_VM": "1"}
        try:
            proc = subprocess.Popen(self.command, env=env, start_new_session=True)
        except OSError as exc:
            print(f"vm: cannot run {self.command[0]}: {exc}", file=sys.stderr)
            return 127
        try:
            return proc.wait(timeout=self.timeout)
        except KeyboardInterrupt:       # its own session: pass ^C on
            os.killpg(proc.pid, signal.SIGINT)
            return proc.wait()
        except subprocess.TimeoutExpired:
            self.report_hang(proc)
            return STATUS_TIMEOUT

    def report_hang(self, proc: subprocess.Popen[bytes]) -> None:
        """Past the deadline: what each of the command's tasks is doing in
        the kernel (a hung syscall shows there, not in Python), then kill
        them all. The kernel log check that follows shows sysrq's report of
        the blocked tasks."""
        print(f"vm: the command ran past its {self.timeout:.0f} s deadline; "
              f"the kernel stacks of its tasks:", file=sys.stderr, flush=True)
        for task in sorted(Path("/proc").glob("[0-9]*/task/[0-9]*")):
            try:
                if os.getsid(int(task.parent.parent.name)) != proc.pid:
                    continue
                comm = (task / "comm").read_text().strip()
                stack = (task / "stack").read_text()
            except (OSError, ValueError):
                continue
            print(f"  task {task.name} ({comm}):\n{stack}", file=sys.stderr)
        for what in ("w", "l"):         # blocked tasks, then each CPU's backtrace
            with contextlib.suppress(OSError):
                Path("/proc/sysrq-trigger").write_text(what)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:   # SIGKILL waits for the kernel
            print("vm: the command does not die: a task is stuck in the kernel "
                  "(its stack is above); the run goes on without it", file=sys.stderr)

    @staticmethod
    def check_log(log: str, status: int) -> int:
        if log.strip():
            print("---- kernel log during the run ----", flush=True)
            print(log.rstrip(), flush=True)
            print("---- end of kernel log ----", flush=True)
        bad = deny_matches(log)
        if bad:
            print(f"vm: the kernel log matches the deny-list "
                  f"({len(bad)} lines), first: {bad[0]}", file=sys.stderr)
            return status or 1
        return status


def mount_tracing() -> None:
    """tracefs and debugfs, where the tracer looks for them."""
    for fstype, where in (("tracefs", "/sys/kernel/tracing"),
                          ("debugfs", "/sys/kernel/debug")):
        if os.path.ismount(where):
            continue
        subprocess.call(["mount", "-t", fstype, fstype, where],
                        stderr=subprocess.DEVNULL)


def loaded_ko() -> Path:
    """In the command: the .ko the harness loaded, else the fresh build."""
    return Path(os.environ.get(KO_ENV) or KO)


def kernel_log() -> str:
    out = subprocess.run(["dmesg"], capture_output=True, text=True,
                         errors="replace")
    return out.stdout


@contextlib.contextmanager
def kernel_log_during() -> Iterator[list[str]]:
    """The kernel-log lines printed during the body, in the list it yields
    (filled on exit). Read from /dev/kmsg rather than by running dmesg:
    forking a large Python process costs up to a second under emulation,
    and this runs around every kernel test."""
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    lines: list[str] = []
    try:
        os.lseek(fd, 0, os.SEEK_END)
        yield lines
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:         # no more records
                break
            except BrokenPipeError:         # overwritten before read: go on
                lines.append("vm: kernel log records lost (ring buffer overwritten)")
                continue
            # "prio,seq,usec,flags;text\n" then " KEY=value" lines
            text = record.decode(errors="replace").partition(";")[2]
            lines.append(text.split("\n", 1)[0])
    finally:
        os.close(fd)


def module_loaded() -> bool:
    return SYSFS.exists()


def insmod(module: Path, params: list[str]) -> bool:
    if module_loaded() and not rmmod():
        return False
    if not module.is_file():
        print(f"vm: {module}: no module (build it with `make kmod`)",
              file=sys.stderr)
        return False
    done = subprocess.run(["insmod", str(module), *params])
    return done.returncode == 0


def rmmod() -> bool:
    done = subprocess.run(["rmmod", MODULE])
    if done.returncode != 0:
        print(f"vm: rmmod {MODULE} failed", file=sys.stderr)
    return done.returncode == 0


@contextlib.contextmanager
def module_swapped(module: Path | None) -> Iterator[None]:
    """In the command: `module` loaded in place of the harness's for the
    body (None: the body loads and unloads on its own), and the harness's
    own .ko loaded again afterwards, whatever the body left behind. The
    harness's, not the fresh build: on the debug kernel only its build
    loads."""
    if module is not None and not (rmmod() and insmod(module, [])):
        raise RuntimeError(f"could not load {module} in place of {loaded_ko()}")
    try:
        yield
    finally:
        if module_loaded() and not rmmod():
            raise RuntimeError(f"could not unload {MODULE} to restore {loaded_ko()}")
        if not insmod(loaded_ko(), []):
            raise RuntimeError(f"could not load {loaded_ko()} again")


# ----------------------------------------------------------------- host side
VM_LOCK = Path("/tmp/lunatik-vm.lock")
GUEST_OVERHEAD = 900.0      # s: a debug boot (~130-170), Python's start, kmemleak


@contextlib.contextmanager
def one_vm_at_a_time() -> Iterator[None]:
    """Holds VM_LOCK for one boot: two emulated guests on a small host have
    soft-locked it, so a second run waits (and says so) until the first is
    done."""
    with open(VM_LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"vm: another VM is running; waiting for {VM_LOCK}", file=sys.stderr,
                  flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _stat(pid: int | str) -> list[str]:
    """/proc/<pid>/stat's fields after the command name (state, ppid, ...);
    none when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def descendants(pid: int) -> list[int]:
    """Every process under pid (children first), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        fields = _stat(proc.name)
        if fields:
            children.setdefault(int(fields[1]), []).append(int(proc.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def running(pid: int) -> bool:
    """pid exists and is not a zombie."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def stop_descendants() -> None:
    """SIGTERM to every process this one started, then SIGKILL to what is
    still there 10 s later."""
    pids = descendants(os.getpid())
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while (pids := [p for p in pids if running(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)


@contextlib.contextmanager
def ending_descendants_on(*signums: signal.Signals) -> Iterator[None]:
    """For the body: a signal that would end this process (CI cancelling a
    job, timeout(1), a closed terminal) first ends what it started: vng
    runs QEMU as its own child, and killing vng alone leaves the guest
    running, holding a CPU and the VM lock's reason to exist. SIGKILL
    cannot be caught; ^C reaches the whole foreground group already."""
    def end(signum: int, _frame: object) -> None:
        stop_descendants()
        print(f"vm: {signal.Signals(signum).name}: the VM was stopped", file=sys.stderr)
        raise SystemExit(128 + signum)

    before = {s: signal.signal(s, end) for s in signums}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@dataclass
class VM:
    """One virtme-ng boot running one command."""
    kver: str
    cpus: int = 2
    memory: str = "2G"
    kvm: bool | None = None     # None: kvm_usable()
    vng: str = "vng"
    verbose: bool = False       # show the guest's console (kernel log)
    tree: Path | None = None    # a built kernel tree to boot instead of /boot's
    append: tuple[str, ...] = ()    # more kernel command line
    # seconds after which the host stops the guest, whatever it is doing:
    # the command's own deadline in the guest cannot end a guest whose
    # tasks are stuck in the kernel
    deadline: float | None = None

    def vng_argv(self, inner: list[str]) -> list[str]:
        kernel = self.tree or Path(f"/boot/vmlinuz-{self.kver}")
        use_kvm = kvm_usable() if self.kvm is None else self.kvm
        argv = [self.vng, "--run", str(kernel), "--cpus", str(self.cpus),
                "--memory", self.memory, "--rwdir", str(BUILD),
                "--cwd", str(Path.cwd())]
        append = list(self.append)
        if not use_kvm:
            # Under TCG the guest's clocksource watchdog drops the TSC and
            # falls back to the HPET, whose every read is an emulated MMIO
            # access of microseconds: each timestamp (ktime in the BPF
            # programs, the scheduler's clock) would cost what no real
            # machine pays. The emulated TSC is monotonic across vCPUs.
            argv.append("--disable-kvm")
            append = ["tsc=reliable", "clocksource=tsc", *append]
        if append:
            argv += ["--append", " ".join(append)]
        if self.verbose:
            argv.append("--verbose")
        argv += ["--exec", shlex.join(inner)]
        return argv

    def run(self, guest_argv: list[str]) -> int:
        with one_vm_at_a_time():
            return self._run(guest_argv)

    def _run(self, guest_argv: list[str]) -> int:
        VM_DIR.mkdir(parents=True, exist_ok=True)
        status_file = VM_DIR / f"status-{uuid.uuid4().hex}"
        inner = [sys.executable, "-m", "lunatik_bpf.testing.vm", "--guest",
                 "--status-file", str(status_file),
                 "--t0", repr(time.time()), *guest_argv]
        argv = self.vng_argv(inner)
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
        print(f"vm: {shlex.join(argv)}", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=REPO, env=env)
        with ending_descendants_on(signal.SIGTERM, signal.SIGHUP):
            try:
                vng_status = proc.wait(timeout=self.deadline)
            except subprocess.TimeoutExpired:
                stop_descendants()
                print(f"vm: the guest had not ended {self.deadline:.0f} s after it "
                      f"was started: stopped", file=sys.stderr)
                return STATUS_TIMEOUT
        took = time.monotonic() - t0
        try:
            status = int(status_file.read_text())
        except (OSError, ValueError):
            print(f"vm: the guest reported no status (vng exited "
                  f"{vng_status}): crashed or did not boot (--verbose shows "
                  f"its console)", file=sys.stderr)
            return STATUS_NO_REPORT
        finally:
            status_file.unlink(missing_ok=True)
        if status != vng_status:
            print(f"vm: note: vng exited {vng_status}, the guest reported "
                  f"{status}", file=sys.stderr)
        print(f"vm: done in {took:.1f} s, status {status}", file=sys.stderr)
        return status


def find_vng() -> str | None:
    here = Path(sys.executable).parent / "vng"
    return str(here) if here.exists() else shutil.which("vng")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m lunatik_bpf.testing.vm",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--kernel", default=None, help="kernel version to boot "
                   "(default: the newest -amd64 with headers)")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--memory", default="2G")
    kvm = p.add_mutually_exclusive_group()
    kvm.add_argument("--kvm", dest="kvm", action="store_true", default=None)
    kvm.add_argument("--no-kvm", dest="kvm", action="store_false")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--vm", dest="direct", action="store_false",
                       default=None, help="always boot a VM")
    where.add_argument("--direct", dest="direct", action="store_true",
                       help="run here (the host must load modules)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="show the guest's console, kernel messages included")
    p.add_argument("--module", type=Path, default=KO)
    p.add_argument("--no-module", action="store_true",
                   help="do not insert the module")
    p.add_argument("--param", action="append", default=[],
                   help="module parameter name=value (repeatable)")
    p.add_argument("--kernel-tree", type=Path, default=None, metavar="DIR",
                   help="boot this built kernel tree (make test-debug's)")
    p.add_argument("--append", action="append", default=[], metavar="ARG",
                   help="more kernel command line (repeatable)")
    p.add_argument("--debug", action="store_true",
                   help="the debug kernel: show that KASAN, lockdep and kmemleak are "
                   "on, report every KASAN finding, scan for leaks after rmmod")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="kill the command past this many seconds, after showing "
                   "its tasks' kernel stacks (exit status 124)")
    p.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--status-file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        p.error("no command (put it after --)")
    return args


def guest_options(args: argparse.Namespace) -> list[str]:
    out = []
    if args.no_module:
        out.append("--no-module")
    else:
        out += ["--module", str(args.module.resolve())]
    for param in args.param:
        out += ["--param", param]
    if args.timeout is not None:
        out += ["--timeout", repr(args.timeout)]
    if args.debug:
        out.append("--debug")
    return out + ["--", *args.command]


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    module = None if args.no_module else args.module.resolve()
    if args.guest:
        if args.t0 is not None:
            print(f"vm: guest up {time.time() - args.t0:.1f} s after the "
                  f"host started it", file=sys.stderr, flush=True)
        return GuestRun(args.command, module, args.param,
                        args.status_file, args.timeout, args.debug).run()
    kver = args.kernel or default_kver()
    if args.kernel_tree is not None:
        direct = False          # a kernel of our own boots only in the VM
    else:
        direct = host_can_load(kver) if args.direct is None else args.direct
    if direct:
        return GuestRun(args.command, module, args.param,
                        timeout=args.timeout, debug=args.debug).run()
    vng = find_vng()
    if vng is None:
        print("vm: virtme-ng (vng) not found", file=sys.stderr)
        return 127
    # without multi-shot KASAN reports only its first finding
    append = (("kasan_multi_shot",) if args.debug else ()) + tuple(args.append)
    # the guest's deadline, plus its boot and what follows the command
    # (rmmod, kmemleak's scans, the log) on the slowest (debug) kernel
    deadline = None if args.timeout is None else args.timeout + GUEST_OVERHEAD
    return VM(kver, args.cpus, args.memory, args.kvm, vng, args.verbose,
              args.kernel_tree, append, deadline).run(guest_options(args))


if __name__ == "__main__":
    sys.exit(main())
