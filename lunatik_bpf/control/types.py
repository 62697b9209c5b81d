"""The values of the control plane (kernel/lunatik.h), shared by the API and
the backends: a state's info, the limits, and how names, code and text
cross to C and back. The backends import these, never the API.

    encode_name("a")      # b'a': the bytes C sees (refuses an embedded NUL)
    decode_text(b"a")     # 'a': names and results, lossless for any bytes
"""
from __future__ import annotations

import errno as _errno
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidLimit, InvalidName, not_a_c_string

NAME_MAXSIZE = 64           # LUNATIK_NAME_MAXSIZE, the NUL included
SIZE_MAX = (1 << 64) - 1    # the largest maxalloc a size_t holds

# The kernel module, and where it shows its parameters (the limits among
# them): what the kernel backend, the tracer and the tools look at.
MODULE = "lunatik"
SYSFS = Path("/sys/module") / MODULE
PARAMETERS = SYSFS / "parameters"


@dataclass(frozen=True)
class StateInfo:
    """One state as the control plane reports it."""
    name: str
    maxalloc: int
    curralloc: int
    users: int


@dataclass(frozen=True)
class Limits:
    """The state manager's limits (struct lunatik_limits)."""
    max_maxalloc: int
    max_states: int
    budget: int
    max_code: int


def decode_text(raw: bytes) -> str:
    """The str for bytes read back from C, names and results alike
    (surrogateescape keeps any bytes: encode_name gives them back)."""
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str | bytes) -> bytes:
    """The bytes C sees for a name; refuses what cannot be a C string."""
    if isinstance(name, str):
        try:
            raw = name.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            raise InvalidName(f"invalid name {name!r}: not encodable ({exc})",
                              errno=_errno.EINVAL) from None
    elif isinstance(name, (bytes, bytearray, memoryview)):
        raw = bytes(name)
    else:
        raise TypeError(f"a state name is str or bytes, not "
                        f"{type(name).__name__}")
    if b"\0" in raw:
        raise not_a_c_string(raw)
    return raw


def encode_code(code: str | bytes) -> bytes:
    """The bytes of a chunk (str as UTF-8, as decode_text reads it back)."""
    if isinstance(code, str):
        return code.encode("utf-8", "surrogateescape")
    if isinstance(code, (bytes, bytearray, memoryview)):
        return bytes(code)
    raise TypeError(f"code is str or bytes, not {type(code).__name__}")


def check_maxalloc(maxalloc: int, name: bytes) -> int:
    """maxalloc must be an int that fits a size_t; the rest is C's call."""
    if isinstance(maxalloc, bool) or not isinstance(maxalloc, int):
        raise TypeError(f"maxalloc is an int, not {type(maxalloc).__name__}")
    if not 0 <= maxalloc <= SIZE_MAX:
        raise InvalidLimit(f"new {name!r}: maxalloc {maxalloc} does not fit "
                           "a size_t", errno=_errno.EINVAL, name=name)
    return maxalloc
