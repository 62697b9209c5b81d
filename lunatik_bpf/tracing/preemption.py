"""Whether the running kernel can preempt a task inside the module's code.

The kprobe programs keep the entry-to-return stash of most of the module's
functions in one slot per CPU (bpf/lunatik.bpf.c, STASH_PER_CPU): those
functions do not sleep, so on a kernel that preempts only where a task
sleeps or calls cond_resched() (PREEMPT_NONE, PREEMPT_VOLUNTARY) nothing
else enters them on that CPU before they return. On a fully preemptible
kernel (PREEMPT, PREEMPT_RT, or PREEMPT_DYNAMIC in its "full" mode) a task
can be preempted between entry and spin_lock, and the next one to enter
overwrites its slot; there the stashes must be per thread.

The answer is read at load time, most specific source first:
  /sys/kernel/debug/sched/preempt   PREEMPT_DYNAMIC's current mode, "(full)"
  /proc/cmdline preempt=            the mode PREEMPT_DYNAMIC booted in
  the kernel's config               /proc/config.gz or /boot/config-<release>
  uname -v                          " PREEMPT " or "PREEMPT_RT" when built in
Unknown counts as preemptible: per-thread stashes are correct everywhere,
per-CPU slots only cost less. A PREEMPT_DYNAMIC mode switched to "full"
during a session is not followed; its overwritten slots still count as
stash drops, so the session reports them.
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path

SCHED_PREEMPT = Path("/sys/kernel/debug/sched/preempt")
CMDLINE = Path("/proc/cmdline")
PROC_CONFIG = Path("/proc/config.gz")
BOOT = Path("/boot")

_CMDLINE_MODE = re.compile(r"(?:^|\s)preempt=(none|voluntary|full)(?:\s|$)")
_CONFIG_LINE = re.compile(r"^CONFIG_(PREEMPT_RT|PREEMPT|PREEMPT_VOLUNTARY|PREEMPT_NONE|"
                          r"PREEMPT_DYNAMIC)=y$", re.M)


@dataclass(frozen=True)
class Preemption:
    preemptible: bool
    source: str         # where the answer came from, for messages and tests


def from_sched_debug(text: str) -> bool | None:
    """PREEMPT_DYNAMIC's modes, the current one in parentheses:
    "none (voluntary) full"."""
    m = re.search(r"\((none|voluntary|full)\)", text)
    return None if m is None else m.group(1) == "full"


def from_cmdline(text: str) -> bool | None:
    m = _CMDLINE_MODE.search(text)
    return None if m is None else m.group(1) == "full"


def from_config(text: str) -> bool | None:
    """CONFIG_PREEMPT or PREEMPT_RT preempt; NONE or VOLUNTARY do not. With
    PREEMPT_DYNAMIC, CONFIG_PREEMPT is only the boot default, which
    preempt= or debugfs would have told already, so it is still the answer."""
    found = set(_CONFIG_LINE.findall(text))
    if found & {"PREEMPT_RT", "PREEMPT"}:
        return True
    if found & {"PREEMPT_VOLUNTARY", "PREEMPT_NONE"}:
        return False
    return None


def from_version(version: str) -> bool | None:
    """uname -v names the model built in: "SMP PREEMPT_RT", "SMP PREEMPT",
    "SMP PREEMPT_DYNAMIC" (which tells nothing of the mode), or neither
    (NONE or VOLUNTARY)."""
    words = version.split()
    if "PREEMPT_RT" in words or "PREEMPT" in words:
        return True
    if "PREEMPT_DYNAMIC" in words:
        return None
    return False


def _read(path: Path) -> str | None:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt") as f:
                return f.read()
        return path.read_text()
    except OSError:
        return None


def running_kernel() -> Preemption:
    """The running kernel's preemption model (module docstring)."""
    uname = os.uname()
    sources = [(SCHED_PREEMPT, from_sched_debug), (CMDLINE, from_cmdline),
               (PROC_CONFIG, from_config), (BOOT / f"config-{uname.release}", from_config)]
    for path, parse in sources:
        text = _read(path)
        answer = None if text is None else parse(text)
        if answer is not None:
            return Preemption(answer, str(path))
    answer = from_version(uname.version)
    if answer is not None:
        return Preemption(answer, "uname -v")
    return Preemption(True, "unknown: assumed preemptible")


__all__ = ["Preemption", "running_kernel", "from_sched_debug", "from_cmdline",
           "from_config", "from_version"]
