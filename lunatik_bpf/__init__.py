"""lunatik-bpf: drive Lunatik's Lua states and trace them with BPF.

    states = lunatik_bpf.connect("user")        # or "kernel"
    states.new("a", 1 << 16)
    states.execute("a", "return 6*7")           # '42'

    with lunatik_bpf.Tracer(backend="user") as tracer:
        ...
    tracer.events, tracer.findings, tracer.drops

The tracer is imported on first use, so that the API works where BCC is
not installed.
"""
from __future__ import annotations

from typing import Any

from .control.api import States, connect
from .control.errors import (
    BudgetExceeded,
    CodeTooLarge,
    InvalidLimit,
    InvalidName,
    LuaError,
    LuaMemoryError,
    LuaSyntaxError,
    LunatikError,
    NoSuchState,
    ResultTooLarge,
    StateExists,
    SystemOutOfMemory,
    TooManyStates,
)
from .control.types import StateInfo

__all__ = [
    "connect", "States", "StateInfo", "Tracer",
    "LunatikError", "StateExists", "NoSuchState", "InvalidName",
    "InvalidLimit", "TooManyStates", "CodeTooLarge", "ResultTooLarge",
    "SystemOutOfMemory", "LuaError", "LuaSyntaxError", "LuaMemoryError",
    "BudgetExceeded",
]


def __getattr__(name: str) -> Any:
    if name == "Tracer":
        from .tracing.tracer import Tracer
        return Tracer
    raise AttributeError(f"module 'lunatik_bpf' has no attribute {name!r}")
