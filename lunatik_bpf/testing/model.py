"""The reference model: what the state manager should answer, computed
without it.

Two halves:
- TableModel, a pure-Python model of the table of named states: which
  new/close/lookup/close_all succeeds, and which exception a failing one
  raises, from the rules of kernel/lunatik.h (names, maxalloc, max_states).
- LuaModel, a stock Lua 5.4.8 (lupa.lua54, the same Lua release our C
  build fetches) per state, sandboxed like the C states (base, string,
  table, utf8, coroutine only), running a chunk the way execute.c does
  (text-only load, results rendered as tostring of each joined by tabs), so
  that the results of a chunk can be compared. Lunatik's one library
  change that is not about numbers is modelled too: setmetatable refuses
  __gc (kernel/lua/README.md).

The C build is integer-only (kernel/lua/README.md): chunks compared with
the model must stay within integers, strings, tables, closures and
coroutines (no `/`, `^`, float literals, math/os/io). Memory limits and the
instruction budget are not modelled: chunks compared with the model must
stay well within both.
"""
from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from typing import Any

import lupa.lua54 as lupa54

from ..control.errors import (
    LUA_ERRRUN,
    LUA_ERRSYNTAX,
    LUA_OK,
    LunatikError,
    from_errno,
    from_lua_status,
)
from ..control.types import NAME_MAXSIZE, Limits, StateInfo, decode_text, encode_code

# The libraries lunatik_openlibs opens; everything else stock Lua 5.4 has
# at the top level is removed from a model state.
KEPT_LIBRARIES = ("coroutine", "string", "table", "utf8")
REMOVED_GLOBALS = ("debug", "io", "math", "os", "package", "require",
                   "python", "dofile", "loadfile")

# setmetatable refuses a metatable with __gc (kernel/lua/README.md, 18),
# with the C function's checks in its order and its messages: errors are
# raised at level 2 (the caller's position, none when the caller is C) and
# the original's argument errors are renamed from '?' (it is no longer a
# global, so Lua cannot name it) to 'setmetatable'. One difference is left:
# an error of a tail-called setmetatable (`return setmetatable(...)`) has
# no position here (the wrapper replaced the caller's frame).
GC_REFUSED = ("__gc metamethods are not supported: finalizers run outside "
              "the instruction budget")
_SANDBOX = """
local setmetatable, getmetatable, rawget, type, error, select, pcall =
      setmetatable, getmetatable, rawget, type, error, select, pcall
_G.setmetatable = function(...)
    local t, mt = ...
    if type(t) == "table" and select("#", ...) >= 2 and type(mt) == "table"
            and rawget(mt, "__gc") ~= nil then
        if not pcall(setmetatable, t, getmetatable(t)) then
            error("cannot change a protected metatable", 2)
        end
        error(%r, 2)
    end
    local ok, r = pcall(setmetatable, ...)
    if not ok then
        error((r:gsub("to '%%?'", "to 'setmetatable'")), 2)
    end
    return r
end
""" % GC_REFUSED

# The chunk name execute.c gives lua_load (as in luaL_loadbufferx(L, code,
# len, CHUNKNAME, "t")); error messages carry it.
CHUNKNAME = "=lunatik"

_RUNNER = """
local load, pcall, select, tostring, type = load, pcall, select, tostring, type
local concat, pack = table.concat, table.pack
local getmetatable = getmetatable
-- execute.c's message handler: strings and numbers as text, else the
-- __tostring of the object if it gives a string, else a description.
local function render_error(e)
    if type(e) == "string" or type(e) == "number" then return tostring(e) end
    local mt = getmetatable(e)
    if type(mt) == "table" and mt.__tostring then
        local s = mt.__tostring(e)
        if type(s) == "string" then return s end
    end
    return "(error object is a " .. type(e) .. " value)"
end
return function(code, chunkname)
    local f, err = load(code, chunkname, "t")
    if not f then return %(syntax)d, err end
    local res = pack(pcall(f))
    if not res[1] then return %(run)d, render_error(res[2]) end
    local out = {}
    for i = 2, res.n do out[i - 1] = tostring(res[i]) end
    return %(ok)d, concat(out, "\\t", 1, res.n - 1)
end
""" % {"syntax": LUA_ERRSYNTAX, "run": LUA_ERRRUN, "ok": LUA_OK}


class LuaModel:
    """One stock Lua 5.4.8 state, sandboxed like a Lunatik state."""

    def __init__(self, chunkname: str = CHUNKNAME) -> None:
        self._chunkname = chunkname
        self._lua = lupa54.LuaRuntime(register_eval=False,
                                      register_builtins=False,
                                      encoding=None)
        self._lua.execute("".join(f"{name} = nil " for name in
                                  REMOVED_GLOBALS))
        self._lua.execute(_SANDBOX)
        self._runner = self._lua.execute(_RUNNER)

    def run(self, code: str | bytes) -> tuple[int, bytes]:
        """(status, text): LUA_OK with the results, or a Lua status with
        the error message."""
        status, text = self._runner(encode_code(code), self._chunkname.encode())
        return int(status), bytes(text)

    def execute(self, code: str | bytes) -> str:
        """Like States.execute: the results, or a LuaError."""
        status, text = self.run(code)
        if status != LUA_OK:
            raise from_lua_status(status, text.decode("utf-8", "replace"))
        return decode_text(text)

    def globals(self) -> list[str]:
        """The sorted names of the global table."""
        return sorted(k.decode() if isinstance(k, bytes) else str(k)
                      for k in self._lua.globals().keys())


def name_errno(name: bytes) -> int | None:
    """The errno the control plane gives a name, or None if it is valid:
    empty or not printable non-space ASCII (a byte outside 0x21..0x7e) ->
    EINVAL; 64 bytes or more -> ENAMETOOLONG (checked before the bytes)."""
    if len(name) >= NAME_MAXSIZE:
        return _errno.ENAMETOOLONG
    if not name or any(not 0x21 <= b <= 0x7e for b in name):
        return _errno.EINVAL
    return None


@dataclass
class ModelState:
    name: bytes
    maxalloc: int
    lua: LuaModel | None = None


@dataclass
class TableModel:
    """The table of named states, as lunatik.h describes it.

    min_maxalloc is the smallest maxalloc with which a state can be built
    (below it: EDQUOT); it depends on the build, so the caller measures it
    or leaves it 0 to not model EDQUOT. with_lua=True gives each state a
    LuaModel for execute().
    """
    limits: Limits
    min_maxalloc: int = 0
    with_lua: bool = False
    states: dict[bytes, ModelState] = field(default_factory=dict)

    def new_errno(self, name: bytes, maxalloc: int) -> int | None:
        """The errno new(name, maxalloc) gets, in the order the checks are
        made: name, maxalloc, EEXIST, ENOSPC (all before building the
        state), then EDQUOT (while building it)."""
        err = name_errno(name)
        if err is not None:
            return err
        if maxalloc == 0 or maxalloc > self.limits.max_maxalloc:
            return _errno.EINVAL
        if name in self.states:
            return _errno.EEXIST
        if len(self.states) >= self.limits.max_states:
            return _errno.ENOSPC
        if maxalloc < self.min_maxalloc:
            return _errno.EDQUOT
        return None

    def new(self, name: bytes, maxalloc: int) -> None:
        err = self.new_errno(name, maxalloc)
        if err is not None:
            raise self.error(err, "new", name, maxalloc)
        self.states[name] = ModelState(
            name, maxalloc, LuaModel() if self.with_lua else None)

    def close(self, name: bytes) -> None:
        err = name_errno(name)
        if err is None and name not in self.states:
            err = _errno.ENOENT
        if err is not None:
            raise self.error(err, "close", name)
        del self.states[name]

    def close_all(self) -> int:
        n = len(self.states)
        self.states.clear()
        return n

    def lookup(self, name: bytes) -> ModelState | None:
        err = name_errno(name)
        if err is not None:
            raise self.error(err, "info", name)
        return self.states.get(name)

    def execute(self, name: bytes, code: bytes) -> str:
        state = self.lookup(name)
        if state is None:
            raise self.error(_errno.ENOENT, "execute", name)
        if len(code) > self.limits.max_code:
            raise self.error(_errno.E2BIG, "execute", name)
        if state.lua is None:
            state.lua = LuaModel()
        return state.lua.execute(code)

    def names(self) -> list[str]:
        return sorted(decode_text(n) for n in self.states)

    @staticmethod
    def error(err: int, op: str, name: bytes,
              maxalloc: int | None = None) -> LunatikError:
        """The exception the API raises for that errno (with new's EINVAL
        already told apart, as control.api.States.new does)."""
        if op == "new" and err == _errno.EINVAL and name_errno(name):
            op = "info"     # the name's fault: from_errno gives InvalidName
        return from_errno(err, op=op, name=name, maxalloc=maxalloc)

    def matches(self, infos: list[StateInfo]) -> bool:
        """Whether a list() agrees with the model (names and maxalloc)."""
        got = sorted((i.name, i.maxalloc) for i in infos)
        want = sorted((decode_text(s.name), s.maxalloc)
                      for s in self.states.values())
        return got == want


def run_model(code: str | bytes, chunkname: str = CHUNKNAME) -> tuple[int, str]:
    """(status, text) of code in a fresh model state."""
    status, text = LuaModel(chunkname).run(code)
    return status, decode_text(text)


def as_outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    """("ok", value) or (exception class name, errno or status): what a
    differential test compares between the backend and the model."""
    try:
        return ("ok", fn(*args))
    except LunatikError as exc:
        detail = getattr(exc, "status", None) or exc.errno
        return (type(exc).__name__, detail)
