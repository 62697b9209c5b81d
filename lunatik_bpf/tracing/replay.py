"""Replays the API calls a tracing session observed through the reference
model (testing/model.py) and reports where the state manager and the model differ.

What is replayed, in event order:
- CREATE (name, maxalloc, ok or -errno) -> TableModel.new_errno;
- REMOVE (name, 0 or -errno) -> TableModel.close;
- EXEC_BEGIN/EXEC_END pairs (same thread) -> the state's LuaModel, status
  compared, when the whole chunk was captured (events.CODE_MAX bytes).
Not modelled, hence skipped: EDQUOT/ENOMEM creates (memory), executes that
ended in LUA_ERRMEM, budget errors or any LUA_ERRRUN (the model has no
instruction budget, so a runaway chunk would not stop), truncated code.
"""
from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from typing import Iterable

from ..control.errors import LUA_ERRSYNTAX, LUA_OK
from ..control.types import Limits, encode_name
from .events import Create, Event, ExecBegin, ExecEnd, Remove

REPLAYED_STATUSES = (LUA_OK, LUA_ERRSYNTAX)
DEFAULT_LIMITS = Limits(max_maxalloc=64 << 20, max_states=1024, budget=1000000,
                        max_code=64 << 10)


@dataclass(frozen=True)
class Divergence:
    op: str             # "new", "close", "execute"
    name: str
    observed: object
    expected: object
    events: tuple[Event, ...]

    def __str__(self) -> str:
        return (f"{self.op} {self.name!r}: state manager gave {self.observed!r}, "
                f"model {self.expected!r}")


@dataclass
class ReplayReport:
    replayed: int = 0
    skipped: int = 0
    divergences: list[Divergence] = field(default_factory=list)


def _errno_of(ret: int) -> int | None:
    return -ret if ret < 0 else None


def replay(events: Iterable[Event], limits: Limits = DEFAULT_LIMITS) -> ReplayReport:
    from ..testing.model import LuaModel, TableModel   # lupa only when replaying

    table = TableModel(limits=limits, with_lua=False)
    luas: dict[bytes, LuaModel] = {}
    begins: dict[int, ExecBegin] = {}
    rep = ReplayReport()
    for ev in events:
        raw = encode_name(ev.name)
        if isinstance(ev, Create):
            observed = _errno_of(ev.error)
            if observed in (_errno.EDQUOT, _errno.ENOMEM):
                rep.skipped += 1
                continue
            expected = table.new_errno(raw, ev.maxalloc)
            rep.replayed += 1
            if expected is None:
                table.new(raw, ev.maxalloc)
                luas[raw] = LuaModel()
            if observed != expected:
                rep.divergences.append(Divergence("new", ev.name, observed, expected, (ev,)))
                if expected is None and observed is not None:
                    table.states.pop(raw, None)     # follow the state manager
        elif isinstance(ev, Remove):
            observed = _errno_of(ev.ret)
            try:
                table.close(raw)
                expected = None
            except Exception as exc:  # LunatikError with its errno
                expected = getattr(exc, "errno", None)
            rep.replayed += 1
            if expected is None:
                luas.pop(raw, None)
            if observed != expected:
                rep.divergences.append(Divergence("close", ev.name, observed, expected, (ev,)))
        elif isinstance(ev, ExecBegin):
            begins[ev.tid] = ev
        elif isinstance(ev, ExecEnd):
            begin = begins.pop(ev.tid, None)
            lua = luas.get(raw)
            if (begin is None or begin.state != ev.state or not begin.complete_code
                    or lua is None or ev.status not in REPLAYED_STATUSES):
                rep.skipped += 1
                continue
            status, _text = lua.run(begin.code)
            rep.replayed += 1
            if status != ev.status:
                rep.divergences.append(Divergence("execute", ev.name, ev.status, status,
                                                  (begin, ev)))
    return rep
