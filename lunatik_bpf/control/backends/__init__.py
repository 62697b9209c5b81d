"""Backends: what api.States drives.

A backend speaks the control plane of kernel/lunatik.h (lunatik_ctl_*) in
its own way: "user" calls the user-space library through ctypes, "kernel"
talks generic netlink to the module. Both take names as bytes (already
checked by the API to be C strings), raise the exceptions of errors.py
through errors.from_errno / errors.from_lua_status, and return
types.StateInfo for the info they read back. They import types.py and
errors.py, never the API.

Backends are imported on first use, so that the user backend works where
pyroute2 is missing and the kernel backend where no .so was built.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..types import Limits, StateInfo


@runtime_checkable
class Backend(Protocol):
    """The control plane, one method per lunatik_ctl_* entry."""

    name: str   # "user", "kernel"

    def new(self, name: bytes, maxalloc: int) -> None:
        """lunatik_ctl_new; raises on a negative errno."""

    def close(self, name: bytes) -> None:
        """lunatik_ctl_close; raises on a negative errno."""

    def close_all(self) -> int:
        """lunatik_ctl_close_all: how many states were closed."""

    def info(self, name: bytes) -> StateInfo | None:
        """lunatik_ctl_info: None for ENOENT, raises on other errnos."""

    def list(self) -> list[StateInfo]:
        """lunatik_ctl_list, all pages."""

    def execute(self, name: bytes, code: bytes) -> bytes:
        """lunatik_ctl_execute: the whole text of the results on LUA_OK;
        raises a LuaError for a Lua status, and on a negative errno."""

    def limits(self) -> Limits | None:
        """The limits in force, or None if this backend cannot read them."""

    def disconnect(self) -> None:
        """Releases the connection (sockets, ...); the states live on."""


# name -> (module relative to this package, its factory(**options) -> Backend)
BACKENDS: dict[str, tuple[str, str]] = {
    "user": (".user", "connect_user"),
    "kernel": (".kernel", "connect_kernel"),
}


def open_backend(name: str, **options: Any) -> Backend:
    """A new connection to the named backend."""
    try:
        module_name, factory_name = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; known: "
                         f"{', '.join(sorted(BACKENDS))}") from None
    factory = getattr(importlib.import_module(module_name, __name__), factory_name)
    backend: Backend = factory(**options)
    return backend
