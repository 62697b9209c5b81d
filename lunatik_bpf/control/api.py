"""The Python API: connect() to a backend, then drive named Lua states.

    states = connect("user")                 # ctypes on build/user/liblunatik.so
    states = connect("user", library=path)   # another build (fault, ASan, ...)
    states = connect("kernel")               # the module, over generic netlink
    states.new("a", 1 << 16)
    states.execute("a", "return 6*7")        # '42'
    states.lookup("a")                       # StateInfo(name='a', ...) or None
    states.list(); states.close("a"); states.close_all()

Names are str (sent as UTF-8) or bytes (sent as they are). The state
manager decides which names are valid and the errors come back as the
exceptions of errors.py; only a name with an embedded NUL byte is refused
here (types.encode_name), since C cannot see past it.

A States object holds its backend and nothing else: there is no module-level
state in this package beyond what the C library itself holds (the user
library's table of states is process-global, so two connect("user") calls on
the same library see the same states, as two netlink sockets see the same
module).
"""
from __future__ import annotations

import errno as _errno
from types import TracebackType
from typing import Any

from .backends import Backend, open_backend
from .errors import InvalidLimit, InvalidName
from .types import Limits, StateInfo, check_maxalloc, decode_text, encode_code, encode_name


class States:
    """The named Lua states of one backend."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def backend(self) -> Backend:
        return self._backend

    def new(self, name: str | bytes, maxalloc: int) -> None:
        """Creates a state; raises StateExists, InvalidName, InvalidLimit,
        TooManyStates."""
        raw = encode_name(name)
        check_maxalloc(maxalloc, raw)
        try:
            self._backend.new(raw, maxalloc)
        except InvalidLimit as exc:
            if exc.errno != _errno.EINVAL:
                raise
            self._blame_name(raw, exc)
            raise

    def _blame_name(self, raw: bytes, exc: InvalidLimit) -> None:
        """new's EINVAL is about the name or about maxalloc: ask the control
        plane about the name alone (info refuses bad names with EINVAL or
        ENAMETOOLONG), and raise InvalidName if it is the name's fault."""
        try:
            self._backend.info(raw)
        except InvalidName as name_exc:
            raise InvalidName(f"new {raw!r}: invalid name (empty, or a "
                              "byte outside 0x21..0x7e)", errno=name_exc.errno,
                              name=raw) from exc

    def lookup(self, name: str | bytes) -> StateInfo | None:
        """The state's info, or None when no state has that name."""
        return self._backend.info(encode_name(name))

    def execute(self, name: str | bytes, code: str | bytes) -> str:
        """Runs a text chunk in the state; returns tostring of each result
        joined by tabs. Raises NoSuchState, CodeTooLarge, or a LuaError
        (LuaSyntaxError, LuaMemoryError, BudgetExceeded)."""
        out = self._backend.execute(encode_name(name), encode_code(code))
        return decode_text(out)

    def list(self) -> list[StateInfo]:
        """Every live state."""
        return self._backend.list()

    def close(self, name: str | bytes) -> None:
        """Closes the state (it is freed when its last user is gone)."""
        self._backend.close(encode_name(name))

    def close_all(self) -> int:
        """Closes every state; returns how many were closed."""
        return self._backend.close_all()

    def limits(self) -> Limits | None:
        """The state manager's limits, when the backend can read them."""
        return self._backend.limits()

    def disconnect(self) -> None:
        """Lets go of the backend (the states themselves live on)."""
        self._backend.disconnect()

    def __enter__(self) -> States:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.disconnect()

    def __repr__(self) -> str:
        return f"States({self._backend!r})"


def connect(backend: str = "user", **options: Any) -> States:
    """States on the named backend ("user" or "kernel").

    user options: library= path of a liblunatik.so (default: the one under
    build/user of this checkout, or $LUNATIK_LIBRARY).
    """
    return States(open_backend(backend, **options))
