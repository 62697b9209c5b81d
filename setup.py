"""The package build compiles what the package loads with ctypes (and
uprobes): the user-space library with its layout header, and the
observer's native core. `make user native` builds them and links them into
lunatik_bpf/data, whose files the wheel then carries (pyproject.toml)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TOP = Path(__file__).resolve().parent


class BuildWithLibraries(build_py):
    def run(self) -> None:
        if not self.editable_mode:      # an editable install uses the tree's make
            subprocess.run(["make", "-C", str(TOP), "-s", "user", "native"], check=True)
        super().run()


setup(cmdclass={"build_py": BuildWithLibraries})
