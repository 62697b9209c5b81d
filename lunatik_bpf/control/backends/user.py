"""The user backend: ctypes on the user-space build of the state manager
(build/user/liblunatik.so, `make user`), the same C as the module.

    connect("user")                        # build/user/liblunatik.so
    connect("user", library="build/user-fault-put_nodec/liblunatik.so")

$LUNATIK_LIBRARY overrides the default path. A library is loaded once per
process and lunatik_states_init() is called once for it: its table of
states is process-global C state, shared by every connection to it
(_LOADED below mirrors the dynamic loader, which also opens a path once).
Different paths are different libraries, each with its own table (ctypes
opens them RTLD_LOCAL, so their symbols do not mix).
"""
from __future__ import annotations

import ctypes
import errno
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from ... import data
from ..errors import LUA_OK, RESULT_MAX, from_lua_status, raise_for, result_too_large
from ..types import NAME_MAXSIZE, Limits, StateInfo, decode_text

# the library the package ships (lunatik_bpf/data; make user in a clone)
DEFAULT_LIBRARY = data.path("liblunatik.so")
LIBRARY_ENV = "LUNATIK_LIBRARY"

LIST_PAGE = 64              # infos per lunatik_ctl_list call


class CInfo(ctypes.Structure):
    """struct lunatik_info."""
    _fields_ = [
        ("name", ctypes.c_char * NAME_MAXSIZE),
        ("maxalloc", ctypes.c_uint64),
        ("curralloc", ctypes.c_uint64),
        ("users", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
    ]

    def to_info(self) -> StateInfo:
        return StateInfo(name=decode_text(self.name), maxalloc=self.maxalloc,
                         curralloc=self.curralloc, users=self.users)


class CLimits(ctypes.Structure):
    """struct lunatik_limits."""
    _fields_ = [
        ("max_maxalloc", ctypes.c_size_t),
        ("max_states", ctypes.c_uint),
        ("budget", ctypes.c_uint),
        ("max_code", ctypes.c_size_t),
    ]


def _declare(lib: ctypes.CDLL) -> None:
    c_int, c_char_p, c_size_t = ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t
    sigs: dict[str, tuple[object, list[object]]] = {
        "lunatik_states_init": (c_int, []),
        "lunatik_states_exit": (None, []),
        "lunatik_ctl_new": (c_int, [c_char_p, c_size_t]),
        "lunatik_ctl_close": (c_int, [c_char_p]),
        "lunatik_ctl_close_all": (c_int, []),
        "lunatik_ctl_info": (c_int, [c_char_p, ctypes.POINTER(CInfo)]),
        "lunatik_ctl_list": (c_int, [ctypes.POINTER(CInfo), ctypes.c_uint,
                                     ctypes.c_uint]),
        "lunatik_ctl_execute": (c_int, [c_char_p, c_char_p, c_size_t,
                                        ctypes.c_void_p,
                                        ctypes.POINTER(c_size_t)]),
        # The KLua generation (for tests of the C-level API).
        "klua_state_create": (ctypes.c_void_p, [c_size_t, c_char_p]),
        "klua_state_destroy": (c_int, [c_char_p]),
        "klua_state_lookup": (ctypes.c_void_p, [c_char_p]),
        "klua_state_list": (None, []),
        "klua_state_destroy_all": (None, []),
        "klua_execute": (None, [c_char_p, c_char_p]),
        # The Lunatik generation.
        "lunatik_newstate": (ctypes.c_void_p, [c_size_t, c_char_p]),
        "lunatik_close": (c_int, [c_char_p]),
        "lunatik_statelookup": (ctypes.c_void_p, [c_char_p]),
    }
    for symbol, (restype, argtypes) in sigs.items():
        fn = getattr(lib, symbol, None)
        if fn is None:
            continue
        fn.restype = restype
        fn.argtypes = argtypes


@dataclass
class Library:
    """One loaded liblunatik.so, initialised once."""
    path: Path
    lib: ctypes.CDLL

    @property
    def limits(self) -> CLimits:
        return CLimits.in_dll(self.lib, "lunatik_limits")


_LOADED: dict[Path, Library] = {}
_LOADED_LOCK = threading.Lock()


def load(path: str | os.PathLike[str] | None = None) -> Library:
    """The library at path (default: $LUNATIK_LIBRARY or build/user/),
    loaded and initialised on first use."""
    if path is None:
        path = os.environ.get(LIBRARY_ENV) or DEFAULT_LIBRARY
    real = Path(path).resolve()
    with _LOADED_LOCK:
        found = _LOADED.get(real)
        if found is not None:
            return found
        if not real.is_file():
            raise FileNotFoundError(
                f"{real}: no user-space library (build it with `make user`)")
        lib = ctypes.CDLL(str(real))
        _declare(lib)
        err = lib.lunatik_states_init()
        raise_for(err, op="states_init")
        found = Library(path=real, lib=lib)
        _LOADED[real] = found
        return found


class UserBackend:
    """The control plane of one liblunatik.so, through ctypes."""

    name = "user"

    def __init__(self, library: str | os.PathLike[str] | None = None) -> None:
        self._library = load(library)

    @property
    def library_path(self) -> Path:
        """The .so in use (where the tracer attaches its uprobes)."""
        return self._library.path

    @property
    def lib(self) -> ctypes.CDLL:
        """The raw library, for C-level tests (klua_*, lunatik_newstate)."""
        return self._library.lib

    def new(self, name: bytes, maxalloc: int) -> None:
        raise_for(self.lib.lunatik_ctl_new(name, maxalloc), op="new",
                  name=name, maxalloc=maxalloc)

    def close(self, name: bytes) -> None:
        raise_for(self.lib.lunatik_ctl_close(name), op="close", name=name)

    def close_all(self) -> int:
        return raise_for(self.lib.lunatik_ctl_close_all(), op="close_all")

    def info(self, name: bytes) -> StateInfo | None:
        cinfo = CInfo()
        err = self.lib.lunatik_ctl_info(name, ctypes.byref(cinfo))
        if err == -errno.ENOENT:
            return None
        raise_for(err, op="info", name=name)
        return cinfo.to_info()

    def list(self) -> list[StateInfo]:
        """One call with room for max_states entries is one snapshot of the
        table (lunatik_ctl_list holds the table lock); pages only if the
        limit was raised meanwhile."""
        size = max(LIST_PAGE, self._library.limits.max_states)
        page = (CInfo * size)()
        infos: list[StateInfo] = []
        while True:
            n = raise_for(self.lib.lunatik_ctl_list(page, size, len(infos)),
                          op="list")
            infos.extend(page[i].to_info() for i in range(n))
            if n < size:
                return infos

    def execute(self, name: bytes, code: bytes) -> bytes:
        """Runs code once; results longer than RESULT_MAX raise
        ResultTooLarge, as on the kernel backend (running the chunk again
        with a larger buffer would repeat its side effects)."""
        out = ctypes.create_string_buffer(RESULT_MAX + 1)
        outlen = ctypes.c_size_t(RESULT_MAX + 1)       # the NUL included
        status = self.lib.lunatik_ctl_execute(name, code, len(code), out,
                                              ctypes.byref(outlen))
        raise_for(status, op="execute", name=name)
        text = out.raw[:min(outlen.value, RESULT_MAX)]
        if status != LUA_OK:
            raise from_lua_status(status, text.decode("utf-8", "replace"),
                                  name=name)
        if outlen.value > RESULT_MAX:
            raise result_too_large(outlen.value, name)
        return text

    def limits(self) -> Limits:
        c = self._library.limits
        return Limits(max_maxalloc=c.max_maxalloc, max_states=c.max_states,
                      budget=c.budget, max_code=c.max_code)

    def set_limits(self, **changes: int) -> Limits:
        """Changes the library's limits (process-global); returns the old
        ones, for restoring them."""
        old = self.limits()
        new = replace(old, **changes)
        c = self._library.limits
        c.max_maxalloc = new.max_maxalloc
        c.max_states = new.max_states
        c.budget = new.budget
        c.max_code = new.max_code
        return old

    def disconnect(self) -> None:
        """Nothing to release: the library stays loaded for the process."""

    def __repr__(self) -> str:
        return f"UserBackend({str(self._library.path)!r})"


def connect_user(library: str | os.PathLike[str] | None = None) -> UserBackend:
    """open_backend's factory for "user"."""
    return UserBackend(library)
