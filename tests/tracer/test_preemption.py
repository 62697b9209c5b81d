"""The preemption model the kprobe programs are compiled for
(lunatik_bpf/tracing/preemption.py), read from each source a kernel offers.
The texts are what 6.1 kernels print; the model's effect on the stashes is
tested on the module (test_kernel.py)."""
from __future__ import annotations

import gzip

import pytest

from lunatik_bpf.tracing import preemption


@pytest.mark.parametrize(("text", "expected"), [
    ("none (voluntary) full\n", False),     # Debian's default
    ("none voluntary (full)\n", True),      # CONFIG_PREEMPT's default, or preempt=full
    ("(none) voluntary full\n", False),
    ("", None),
])
def test_sched_debug_mode(text, expected):
    assert preemption.from_sched_debug(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("BOOT_IMAGE=/vmlinuz root=/dev/sda1 preempt=full quiet", True),
    ("preempt=voluntary", False),
    ("preempt=none console=ttyS0", False),
    ("console=ttyS0 nopreempt=full", None),
    ("console=ttyS0", None),
])
def test_cmdline_mode(text, expected):
    assert preemption.from_cmdline(text) is expected


@pytest.mark.parametrize(("lines", "expected"), [
    (["CONFIG_PREEMPT_BUILD=y", "# CONFIG_PREEMPT_VOLUNTARY is not set", "CONFIG_PREEMPT=y",
      "CONFIG_PREEMPT_COUNT=y", "CONFIG_PREEMPT_DYNAMIC=y"], True),   # the debug kernel
    (["CONFIG_PREEMPT_VOLUNTARY=y", "# CONFIG_PREEMPT is not set", "CONFIG_PREEMPT_COUNT=y",
      "CONFIG_PREEMPT_DYNAMIC=y"], False),                                # Debian's
    (["CONFIG_PREEMPT_RT=y"], True),
    (["CONFIG_PREEMPT_NONE=y"], False),
    (["CONFIG_PREEMPT_COUNT=y", "CONFIG_PREEMPT_NOTIFIERS=y"], None),
])
def test_config(lines, expected):
    assert preemption.from_config("\n".join(lines) + "\n") is expected


@pytest.mark.parametrize(("version", "expected"), [
    ("#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)", None),
    ("#1 SMP PREEMPT Sat Jan 1 00:00:00 UTC 2026", True),
    ("#1 SMP PREEMPT_RT Debian 6.1.158-1", True),
    ("#1 SMP Debian 4.19.0", False),
])
def test_uname_version(version, expected):
    assert preemption.from_version(version) is expected


def test_running_kernel_names_its_source():
    """This machine's answer comes from the first source that has one."""
    found = preemption.running_kernel()
    assert found.source
    if found.source == str(preemption.PROC_CONFIG):
        with gzip.open(preemption.PROC_CONFIG, "rt") as f:
            assert preemption.from_config(f.read()) is found.preemptible
