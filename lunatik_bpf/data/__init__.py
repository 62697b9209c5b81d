"""The files the package reads at run time, shipped as package data and
found through importlib.resources:

- the BPF text and the headers it includes: lunatik.bpf.c, events.h (the
  one definition of every event), probes.h (the probe contract),
  failinject.bpf.c; in the source tree these are links to bpf/ and
  kernel/, and the wheel carries their contents;
- what the build compiles (make user, make native; setup.py runs them for
  a wheel): liblunatik.so, the user-space library, with
  lunatik_offsets.h, its layout (kernel/offsets.c), and
  liblunatik-observe.so, the observer's native core.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(name: str = "") -> Path:
    """A file of the package's data (its directory without a name)."""
    root = files(__name__)
    if not isinstance(root, Path):
        raise RuntimeError(f"lunatik_bpf is installed as an archive ({root}); "
                           "BCC and ctypes need it unpacked")
    return root / name if name else root
