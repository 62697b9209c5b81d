"""The exception tree, and the one mapping from the state manager's answers
(a negative errno from the control plane, or a Lua status with its message)
to exceptions. Both backends use it, so both raise the same exception for
the same answer.

    LunatikError                      errno (or None), name
    ├── StateExists                   EEXIST
    ├── NoSuchState                   ENOENT
    ├── InvalidName   (ValueError)    EINVAL (for a name), ENAMETOOLONG,
    │                                 or a name that is not a C string
    ├── InvalidLimit  (ValueError)    EINVAL (for maxalloc), EDQUOT
    ├── TooManyStates                 ENOSPC
    ├── CodeTooLarge  (ValueError)    E2BIG
    ├── SystemOutOfMemory (MemoryError)  ENOMEM
    └── LuaError                      status, message
        ├── LuaSyntaxError            LUA_ERRSYNTAX (also: binary chunks)
        ├── LuaMemoryError            LUA_ERRMEM (the state hit maxalloc)
        └── BudgetExceeded            the instruction budget ran out
"""
from __future__ import annotations

import errno as _errno
import os
import re

# Lua 5.4 thread status codes (lua.h).
LUA_OK = 0
LUA_YIELD = 1
LUA_ERRRUN = 2
LUA_ERRSYNTAX = 3
LUA_ERRMEM = 4
LUA_ERRERR = 5

LUA_STATUS_NAMES = {
    LUA_OK: "LUA_OK", LUA_YIELD: "LUA_YIELD", LUA_ERRRUN: "LUA_ERRRUN",
    LUA_ERRSYNTAX: "LUA_ERRSYNTAX", LUA_ERRMEM: "LUA_ERRMEM",
    LUA_ERRERR: "LUA_ERRERR",
}

BUDGET_PREFIX = "instruction budget"
# The budget error may carry Lua's "chunkname:line: " position prefix.
_BUDGET_RE = re.compile(r"^(?:.*?:\d+: )?" + re.escape(BUDGET_PREFIX))


class LunatikError(Exception):
    """Base of every error the API raises."""

    def __init__(self, message: str, *, errno: int | None = None,
                 name: bytes | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.name = name


class StateExists(LunatikError):
    """A live state already has that name (EEXIST)."""


class NoSuchState(LunatikError):
    """No live state has that name (ENOENT)."""


class InvalidName(LunatikError, ValueError):
    """The name is empty, too long, unprintable or not a C string."""


class InvalidLimit(LunatikError, ValueError):
    """maxalloc is 0, above the limit, or too small to build a state."""


class TooManyStates(LunatikError):
    """max_states states are alive already (ENOSPC)."""


class CodeTooLarge(LunatikError, ValueError):
    """The chunk is larger than max_code (E2BIG)."""


class SystemOutOfMemory(LunatikError, MemoryError):
    """The system itself (not the state's maxalloc) is out of memory."""


class LuaError(LunatikError):
    """Lua reported an error: status is the Lua status, message its text."""

    def __init__(self, message: str, *, status: int, name: bytes | None = None
                 ) -> None:
        super().__init__(message, name=name)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        label = LUA_STATUS_NAMES.get(self.status, str(self.status))
        return f"{label}: {self.message}"


class LuaSyntaxError(LuaError):
    """The chunk did not compile (or was a binary chunk)."""


class LuaMemoryError(LuaError):
    """The state hit its maxalloc (LUA_ERRMEM)."""


class BudgetExceeded(LuaError):
    """The chunk ran out of its instruction budget."""


class ResultTooLarge(LunatikError):
    """The results of a chunk are longer than a reply carries (EMSGSIZE)."""


# The most result text an execute returns, on every backend: what one
# netlink reply of the module carries (LUNATIK_NL_RESULT_MAX in
# kernel/netlink.h). The chunk has run; only its results are lost.
RESULT_MAX = 65000


def result_too_large(full: int, name: bytes | None) -> ResultTooLarge:
    return ResultTooLarge(f"execute{_show(name)}: the results have {full} bytes, "
                          f"more than an execute returns ({RESULT_MAX})",
                          errno=_errno.EMSGSIZE, name=name)


def _show(name: bytes | None) -> str:
    return "" if name is None else f" {name!r}"


def from_errno(err: int, *, op: str, name: bytes | None = None,
               maxalloc: int | None = None) -> LunatikError:
    """The exception for a control-plane errno (positive or negative).

    op is what was asked ("new", "close", "info", "execute", "list", ...).
    For "new", EINVAL may be about the name or about maxalloc; this maps it
    to InvalidLimit, and api.States.new asks the backend about the name
    alone to tell the two apart (so both backends agree).
    """
    err = abs(err)
    where = f"{op}{_show(name)}"
    if err == _errno.EEXIST:
        return StateExists(f"{where}: a state with this name exists",
                           errno=err, name=name)
    if err == _errno.ENOENT:
        return NoSuchState(f"{where}: no state with this name",
                           errno=err, name=name)
    if err == _errno.ENAMETOOLONG:
        return InvalidName(f"{where}: name too long", errno=err, name=name)
    if err == _errno.EINVAL:
        if op == "new":
            return InvalidLimit(f"{where}: invalid maxalloc {maxalloc}",
                                errno=err, name=name)
        return InvalidName(f"{where}: invalid name (empty, or a byte "
                           "outside 0x21..0x7e)", errno=err, name=name)
    if err == _errno.EDQUOT:
        return InvalidLimit(
            f"{where}: maxalloc {maxalloc} too small to build a state",
            errno=err, name=name)
    if err == _errno.ENOSPC:
        return TooManyStates(f"{where}: too many states", errno=err,
                             name=name)
    if err == _errno.E2BIG:
        return CodeTooLarge(f"{where}: chunk too large", errno=err,
                            name=name)
    if err == _errno.ENOMEM:
        return SystemOutOfMemory(f"{where}: out of memory", errno=err,
                                 name=name)
    return LunatikError(f"{where}: {os.strerror(err)} (errno {err})",
                        errno=err, name=name)


def not_a_c_string(name: bytes) -> InvalidName:
    """The API refuses a name with an embedded NUL before any backend sees
    it: C would read only the part before the NUL."""
    return InvalidName(f"invalid name {name!r}: embedded NUL byte (a name "
                       "is a C string)", errno=_errno.EINVAL, name=name)


def from_lua_status(status: int, message: str, *, name: bytes | None = None
                    ) -> LuaError:
    """The exception for a Lua status other than LUA_OK."""
    if status == LUA_ERRMEM:
        return LuaMemoryError(message, status=status, name=name)
    if status == LUA_ERRSYNTAX:
        return LuaSyntaxError(message, status=status, name=name)
    if status == LUA_ERRRUN and _BUDGET_RE.match(message):
        return BudgetExceeded(message, status=status, name=name)
    return LuaError(message, status=status, name=name)


def raise_for(result: int, *, op: str, name: bytes | None = None,
              maxalloc: int | None = None) -> int:
    """Raise for a negative control-plane result; return it otherwise."""
    if result < 0:
        raise from_errno(result, op=op, name=name, maxalloc=maxalloc)
    return result
