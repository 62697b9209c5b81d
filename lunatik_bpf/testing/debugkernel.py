"""The guest side of `make test-debug`: proof that the debug kernel's
checkers are on, and kmemleak around the run.

The checkers report in the kernel log, which the harness already checks
against its deny-list (vm.DENY_LIST); what this adds is the proof that
they ran (their boot lines) and a leak scan after the module is gone.
"""
from __future__ import annotations

import time
from pathlib import Path

KMEMLEAK = Path("/sys/kernel/debug/kmemleak")
# the boot line of each checker (kernel/debug/debug.config)
CHECKERS: dict[str, str] = {
    "KASAN": "KernelAddressSanitizer initialized",
    "lockdep": "Lock dependency validator",
    "kmemleak": "Kernel memory leak detector initialized",
}
# kmemleak reports an object unreferenced through two scans, and none
# younger than its min age (5 s)
KMEMLEAK_MIN_AGE = 5.5


def checkers_on(boot_log: str) -> tuple[dict[str, str], list[str]]:
    """The boot line proving each checker on, and the checkers with none."""
    found: dict[str, str] = {}
    for name, text in CHECKERS.items():
        line = next((ln for ln in boot_log.splitlines() if text in ln), None)
        if line is not None:
            found[name] = line.strip()
    return found, [name for name in CHECKERS if name not in found]


def kmemleak_clear() -> bool:
    """Forget what kmemleak suspects already (the kernel's own boot-time
    objects), so that a later report is about this run."""
    try:
        KMEMLEAK.write_text("scan")
        KMEMLEAK.write_text("clear")
        return True
    except OSError:
        return False


def kmemleak_scan() -> str:
    """The leaks suspected since kmemleak_clear(), after the scans that
    settle them; empty when there are none."""
    time.sleep(KMEMLEAK_MIN_AGE)
    for _ in range(2):
        KMEMLEAK.write_text("scan")
    return KMEMLEAK.read_text()
