"""The module as DKMS builds it (make dkms-check, against the installed
Debian headers) loads and serves states, and says its version."""
from __future__ import annotations

import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

import lunatik_bpf
from lunatik_bpf.testing.vm import BUILD, module_swapped

pytestmark = [pytest.mark.kernel, pytest.mark.root]

DKMS_TREE = BUILD / "dkms" / "tree" / "lunatik"


def dkms_module() -> Path:
    built = sorted(DKMS_TREE.glob(f"*/{os.uname().release}/x86_64/module/lunatik.ko"))
    assert built, f"no DKMS build for {os.uname().release} under {DKMS_TREE}: make dkms-check"
    return built[-1]


def test_the_dkms_module_loads_and_serves() -> None:
    ko = dkms_module()
    assert subprocess.run(["modinfo", "-F", "version", str(ko)], capture_output=True,
                          text=True, check=True).stdout.strip() == version("lunatik-bpf")
    lunatik_bpf.connect("kernel").close_all()
    with module_swapped(ko):
        assert Path("/sys/module/lunatik/version").read_text().strip() == version("lunatik-bpf")
        states = lunatik_bpf.connect("kernel")
        states.new("dkms_state", 1 << 16)
        assert states.execute("dkms_state", "return 6 * 7") == "42"
        states.close("dkms_state")
        states.disconnect()
