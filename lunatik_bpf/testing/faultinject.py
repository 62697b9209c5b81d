"""Allocation failures at the module's own call sites (bpf/failinject.bpf.c),
for the debug kernel's fault-injection sweep.

    with FaultInjector(module="lunatik") as inj:
        inj.arm(interval=3, times=10)    # every 3rd allocation of ours fails
        ...workload...
        inj.disarm()
    inj.sites    # failures by call site ("function+0xoff" in the module)
"""
from __future__ import annotations

import ctypes
import os
from collections import Counter
from pathlib import Path
from types import TracebackType

from ..control.types import MODULE
from ..tracing.events import BPF_DIR
from ..tracing.program import TracerError, import_bcc, require_root

SOURCE = BPF_DIR / "failinject.bpf.c"
CFG_TEXT_START, CFG_TEXT_END, CFG_TGID, CFG_INTERVAL, CFG_TIMES = range(5)


class InjectionUnsupported(TracerError):
    """This kernel cannot inject (no failslab, or no BPF_KPROBE_OVERRIDE)."""


def module_range(name: str) -> tuple[int, int]:
    """[start, end) of the module's core (text and data), from /proc/modules."""
    for line in Path("/proc/modules").read_text().splitlines():
        fields = line.split()
        if fields[0] == name:
            start, size = int(fields[5], 16), int(fields[1])
            if not start:
                raise TracerError("/proc/modules hides addresses: run as root")
            return start, start + size
    raise TracerError(f"module {name} is not loaded")


def module_symbols(name: str) -> list[tuple[int, str]]:
    """(address, function) of the module's text symbols, sorted."""
    out = []
    for line in Path("/proc/kallsyms").read_text().splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[3] == f"[{name}]" and fields[1] in "tT":
            out.append((int(fields[0], 16), fields[2]))
    return sorted(out)


def symbolize(ip: int, symbols: list[tuple[int, str]]) -> str:
    best = None
    for addr, fn in symbols:
        if addr > ip:
            break
        best = (addr, fn)
    return f"{best[1]}+{ip - best[0]:#x}" if best else f"{ip:#x}"


class FaultInjector:
    """Fails the module's allocations on demand, in this process only."""

    def __init__(self, module: str = MODULE, tgid: int | None = None) -> None:
        bcc = import_bcc()
        require_root()
        self.module = module
        self.symbols = module_symbols(module)
        start, end = module_range(module)
        try:
            self.bpf = bcc.BPF(src_file=str(SOURCE).encode())
        except Exception as exc:  # BCC raises bare Exception
            raise InjectionUnsupported(f"cannot attach the injector: {exc}") from None
        self._set(CFG_TEXT_START, start)
        self._set(CFG_TEXT_END, end)
        self._set(CFG_TGID, os.getpid() if tgid is None else tgid)
        self.sites: Counter[str] = Counter()     # over every run
        self.seen = 0
        self.failed = 0

    def _set(self, key: int, value: int) -> None:
        self.bpf[b"config"][ctypes.c_int(key)] = ctypes.c_uint64(value)

    def arm(self, interval: int, times: int) -> None:
        if interval < 1 or times < 0:
            raise ValueError(f"interval must be >= 1 and times >= 0, not {interval}, {times}")
        for table in (b"seen", b"failed"):
            self.bpf[table][ctypes.c_int(0)] = ctypes.c_uint64(0)
        self.bpf[b"sites"].clear()
        self._set(CFG_TIMES, times)
        self._set(CFG_INTERVAL, interval)

    def disarm(self) -> int:
        """Stops injecting; returns how many failures this run injected."""
        self._set(CFG_INTERVAL, 0)
        seen = self.bpf[b"seen"][ctypes.c_int(0)].value
        failed = self.bpf[b"failed"][ctypes.c_int(0)].value
        for ip, count in self.bpf[b"sites"].items():
            self.sites[symbolize(ip.value, self.symbols)] += count.value
        self.seen += seen
        self.failed += failed
        return failed

    def by_function(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for site, count in self.sites.items():
            out[site.split("+")[0]] += count
        return out

    def close(self) -> None:
        self._set(CFG_INTERVAL, 0)
        self.bpf.cleanup()

    def __enter__(self) -> FaultInjector:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
