"""Where the BPF programs find a state's fields.

Each build generates the offsets of lunatik_State it was compiled with
(kernel/offsets.c, the kernel's asm-offsets technique): lock debugging
makes spinlock_t, and every field after it, larger, so no fixed value fits
every kernel. The loaded module tells its own through
/sys/module/lunatik/parameters/layout; a build tree has them in
generated/lunatik_offsets.h. The compile gets them as -D flags.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import data
from ..control.types import PARAMETERS

MODULE_LAYOUT = PARAMETERS / "layout"
HEADER = "lunatik_offsets.h"
# every name the BPF text reads (bpf/lunatik.bpf.c)
NAMES = ("LUNATIK_OFF_L", "LUNATIK_OFF_LOCK", "LUNATIK_OFF_USERS", "LUNATIK_OFF_MAXALLOC",
         "LUNATIK_OFF_CURRALLOC", "LUNATIK_OFF_NAME", "LUNATIK_STATE_SIZE",
         "LUNATIK_OFF_STATS")
_LINE = re.compile(r"^(?:#define\s+)?(LUNATIK_\w+)\s+(\d+)\b", re.M)


class LayoutError(Exception):
    """No layout, or one that lacks an offset the programs read."""


@dataclass(frozen=True)
class Layout:
    offsets: tuple[tuple[str, int], ...]    # (name, value), in NAMES' order
    source: str                             # where it was read, for messages

    def __getitem__(self, name: str) -> int:
        return dict(self.offsets)[name]

    def same_offsets(self, other: Layout) -> bool:
        return self.offsets == other.offsets

    def cflags(self) -> list[str]:
        return [f"-D{name}={value}" for name, value in self.offsets]


def parse(text: str, source: str) -> Layout:
    """A layout from generated/lunatik_offsets.h ("#define NAME value")
    or the module's parameter ("NAME value" lines)."""
    found = {m.group(1): int(m.group(2)) for m in _LINE.finditer(text)}
    missing = [n for n in NAMES if n not in found]
    if missing:
        raise LayoutError(f"{source}: no {', '.join(missing)}")
    return Layout(tuple((n, found[n]) for n in NAMES), source)


def of_build(generated: Path) -> Layout:
    """The layout in a build's generated/lunatik_offsets.h (the module's
    build directory, or the library's)."""
    path = generated / HEADER
    try:
        return parse(path.read_text(), str(path))
    except OSError:
        raise LayoutError(f"{path} is missing: build it first (make kmod, make user)"
                          ) from None


def of_loaded_module(param: Path = MODULE_LAYOUT) -> Layout | None:
    """The layout of the module loaded now, if it is loaded (and new
    enough to tell)."""
    try:
        return parse(param.read_text(), str(param))
    except OSError:
        return None


def for_backend(backend: str) -> Layout:
    """The module's layout as it runs; the library's as it was built (it
    ships beside the library, in the package's data)."""
    if backend == "kernel":
        running = of_loaded_module()
        if running is None:
            raise LayoutError(f"{MODULE_LAYOUT} is missing: the lunatik module is not "
                              f"loaded (or predates its layout parameter)")
        return running
    return of_build(data.path())
