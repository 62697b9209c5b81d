"""What the state manager promises about running code: maxalloc is enforced
exactly, runaway code is stopped, bombs fail cleanly and leave the state
usable, binary chunks are refused, nothing is kept after close."""
from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import lupa.lua54 as lupa54
import pytest

from lunatik_bpf.control.api import States
from lunatik_bpf.control.errors import (
    BUDGET_PREFIX,
    BudgetExceeded,
    LuaError,
    LuaMemoryError,
    LuaSyntaxError,
)

KIB = 1024
SMALL = 64 * KIB


def curralloc(states: States, name: str) -> int:
    info = states.lookup(name)
    assert info is not None
    return info.curralloc


def settled(states: States, name: str) -> int:
    """curralloc after full collections, as seen by lookup. Several: each
    later one frees the chunk of the one before, and Lua gives back its
    grown string table and CallInfo list by halves, one step per cycle."""
    for _ in range(6):
        states.execute(name, "collectgarbage()")
    return curralloc(states, name)


# What Lua may keep after a burst, at most: a grown string table, Lua stack
# or CallInfo list (given back by halves, one step per collection), the
# metatable of luaL_Buffer boxes (made on first use, kept in the registry).
SLACK = 2 * KIB
CALLINFO = 64    # sizeof(CallInfo) in Lua 5.4 on 64-bit


def assert_settles(states: States, name: str, empty: int) -> int:
    """After a collection the state is back to its empty size, give or
    take what Lua legitimately keeps; returns that size."""
    after = settled(states, name)
    assert empty <= after <= empty + SLACK, (empty, after)
    return after


def assert_no_growth(states: States, name: str, code: str,
                     error: type[LuaError] = LuaError) -> None:
    """Failing again and again accumulates nothing: after a few rounds
    (Lua's caches reach their size), more rounds leave the same size."""
    def rounds(n: int) -> int:
        for _ in range(n):
            with pytest.raises(error):
                states.execute(name, code)
            assert curralloc(states, name) <= states.lookup(name).maxalloc
        return settled(states, name)
    warm = rounds(3)
    # luaE_shrinkCI frees every other spare CallInfo (64 bytes) per
    # collection, so one spare stays or goes with the collections' timing
    assert rounds(5) <= warm + CALLINFO


def assert_alive(states: States, name: str) -> None:
    assert states.execute(name, "local t = {} for i = 1, 10 do t[i] = i end "
                          "return #t, 'alive'") == "10\talive"


def test_empty_state_is_within_limit(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, SMALL)
    assert 0 < curralloc(backend, fresh_name) <= SMALL


MEMORY_BOMBS = {
    "table": "local t = {} local i = 0 while true do i = i + 1 t[i] = i end",
    "doubling": "local s = 'x' while true do s = s .. s end",
    "rep": "return string.rep('x', 1 << 30)",
    "rep_sep": "return #string.rep('ab', 1 << 28, ',')",
    "strings": "local t = {} for i = 1, 1 << 40 do t[i] = tostring(i) .. 'pad' end",
    "closures": "local t = {} local i = 0 while true do i = i + 1 "
                "t[i] = function() return i end end",
    "coroutines": "local t = {} local i = 0 while true do i = i + 1 "
                  "t[i] = coroutine.create(function() end) end",
    "concat": "local t = {} for i = 1, 1 << 20 do t[i] = 'abcdefgh' end "
              "return #table.concat(t)",
    "nested": "local t = {} while true do t = {t} end",
    "gsub": "local s = string.rep('a', 1000) while true do "
            "s = s:gsub('a', 'aa') end",
}


@pytest.mark.parametrize("bomb", sorted(MEMORY_BOMBS))
def test_memory_bomb(backend: States, fresh_name: str, bomb: str) -> None:
    """A state that allocates without end gets LUA_ERRMEM, never goes above
    maxalloc, gives everything back after a collection, and still works."""
    backend.new(fresh_name, SMALL)
    empty = settled(backend, fresh_name)
    with pytest.raises(LuaMemoryError) as exc:
        backend.execute(fresh_name, MEMORY_BOMBS[bomb])
    assert exc.value.status == 4
    assert exc.value.message == "not enough memory"
    assert curralloc(backend, fresh_name) <= SMALL
    assert_settles(backend, fresh_name, empty)
    assert_alive(backend, fresh_name)
    assert_no_growth(backend, fresh_name, MEMORY_BOMBS[bomb], LuaMemoryError)


def test_memory_bomb_caught_in_lua(backend: States, fresh_name: str) -> None:
    """pcall catches the memory error inside the chunk; the state goes on."""
    backend.new(fresh_name, SMALL)
    out = backend.execute(fresh_name, "local ok, err = pcall(string.rep, 'x', "
                          "1 << 30) return ok, err")
    assert out == "false\tnot enough memory"
    assert curralloc(backend, fresh_name) <= SMALL
    assert_alive(backend, fresh_name)


@pytest.mark.parametrize("maxalloc", [32 * KIB, SMALL, 1 << 20])
def test_maxalloc_exact(backend: States, fresh_name: str, maxalloc: int) -> None:
    """All of maxalloc is usable and not a byte more: a chunk that grows a
    list of small tables until refused leaves the state within the size of
    one small block of its limit."""
    backend.new(fresh_name, maxalloc)
    empty = settled(backend, fresh_name)
    with pytest.raises(LuaMemoryError):
        backend.execute(fresh_name, "local head = false "
                        "while true do head = {head} end")
    full = curralloc(backend, fresh_name)
    assert maxalloc - 256 < full <= maxalloc
    assert settled(backend, fresh_name) == empty
    assert_alive(backend, fresh_name)


def test_full_state_can_be_closed(backend: States, fresh_name: str) -> None:
    """A state filled by live data cannot even load a chunk any more (not
    enough memory), but lookup, list and close still work."""
    backend.new(fresh_name, SMALL)
    with pytest.raises(LuaMemoryError):
        backend.execute(fresh_name, "head = false while true do "
                        "head = {head} end")
    for _ in range(3):
        try:
            backend.execute(fresh_name, "head = false")
        except LuaMemoryError:
            pass
        assert curralloc(backend, fresh_name) <= SMALL
    assert [i.name for i in backend.list()] == [fresh_name]
    backend.close(fresh_name)
    assert backend.list() == []
    backend.new(fresh_name, SMALL)
    assert_alive(backend, fresh_name)


@pytest.mark.parametrize("maxalloc", [48 * KIB, SMALL, 1 << 20])
def test_curralloc_tracks_allocation(backend: States, fresh_name: str,
                                     maxalloc: int) -> None:
    backend.new(fresh_name, maxalloc)
    backend.execute(fresh_name, "keep = false")     # the global exists
    empty = settled(backend, fresh_name)
    backend.execute(fresh_name, "keep = string.rep('y', 10000)")
    grown = curralloc(backend, fresh_name)
    assert grown >= empty + 10000
    backend.execute(fresh_name, "keep = false")
    after = assert_settles(backend, fresh_name, empty)
    for _ in range(5):
        backend.execute(fresh_name, "keep = string.rep('y', 10000)")
        backend.execute(fresh_name, "keep = false")
    assert settled(backend, fresh_name) == after


def test_runaway_loop(backend: States, fresh_name: str) -> None:
    backend.new(fresh_name, SMALL)
    with pytest.raises(BudgetExceeded) as exc:
        backend.execute(fresh_name, "while true do end")
    assert exc.value.message.startswith(BUDGET_PREFIX)
    assert_alive(backend, fresh_name)


@pytest.mark.parametrize("code", [
    "local i = 0 repeat i = i + 1 until false",
    "local function f() return f() end return f()",     # endless tail calls
    "::top:: goto top",
    "for i = 1, 1 << 62 do end",
    "local co = coroutine.wrap(function() while true do coroutine.yield() end end) "
    "while true do co() end",
    "local t = setmetatable({}, {__index = function(t, k) return k end}) "
    "while true do local _ = t.x end",
    "table.sort({3, 2, 1, 5, 4}, function(a, b) while true do end end)",
    "local s = string.rep('a', 100) s:gsub('.', function() while true do end end)",
    "return tostring(setmetatable({}, {__tostring = function() while true do end end}))",
    "return setmetatable({}, {__tostring = function() while true do end end})",
])
def test_runaway_variants(backend: States, fresh_name: str, code: str) -> None:
    """Loops in every place Lua code can run: the budget stops them all
    (the last one loops in the __tostring of a result)."""
    backend.new(fresh_name, SMALL)
    with pytest.raises(BudgetExceeded):
        backend.execute(fresh_name, code)
    assert_alive(backend, fresh_name)


def run_guarded(setup: list[str], code: str, budget: int | None = None,
                timeout: float = 300) -> str:
    """Runs setup chunks then code on a fresh state of the user library in
    a child process, so that a chunk that escapes the budget hangs the
    child, not the suite. Returns the exception class name (or "ok")."""
    script = textwrap.dedent(f"""
        import lunatik_bpf
        from lunatik_bpf.control.errors import LuaError
        s = lunatik_bpf.connect("user")
        if {budget!r} is not None:
            s.backend.set_limits(budget={budget!r})
        s.new("guarded", 1 << 20)
        for chunk in {setup!r}:
            s.execute("guarded", chunk)
        try:
            s.execute("guarded", {code!r})
            print("ok")
        except LuaError as exc:
            print(type(exc).__name__)
        assert s.execute("guarded", "return 1") == "1"
        s.close_all()
    """)
    try:
        proc = subprocess.run([sys.executable, "-c", script], text=True,
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{code!r} ran for {timeout} s: it escaped the "
                    "instruction budget")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_budget_not_caught_by_pcall(user_states: States) -> None:
    """A pcall inside the chunk must not let the chunk outlive its
    budget: after the budget error, the loop around the pcall is stopped
    too."""
    code = "while true do pcall(function() while true do end end) end"
    assert run_guarded([], code) == "BudgetExceeded"


def test_budget_covers_coroutines(user_states: States) -> None:
    """Instructions run in coroutines count against the execute's budget:
    fresh coroutines that each stay just under the budget must not let the
    chunk run for budget * budget instructions."""
    budget = 1_000_000
    code = (f"local function burn() for i = 1, {budget} - 1000 do end end "
            "while true do coroutine.wrap(burn)() end")
    assert run_guarded([], code, budget=budget, timeout=120) == \
        "BudgetExceeded"


def test_budget_old_coroutine(user_states: States) -> None:
    """A coroutine made by an earlier execute is stopped by the budget of
    the execute that resumes it."""
    setup = ["spin = coroutine.wrap(function() while true do end end)"]
    assert run_guarded(setup, "spin()") == "BudgetExceeded"


def test_budget_covers_finalizers(user_states: States) -> None:
    """A finalizer that never returns, run by a collection inside execute
    (in the kernel: a CPU spinning with the state's spinlock held). Lua runs
    finalizers with hooks off, so setmetatable refuses __gc."""
    code = ("setmetatable({}, {__gc = function() while true do end end}) "
            "collectgarbage()")
    assert run_guarded([], code, timeout=5) in ("BudgetExceeded", "LuaError")


# C library loops that run between two instructions (the count hook cannot
# fire there), each with no allocation to stop it: kernel/lua/patches/
# budget.patch charges their steps to the budget.
C_LOOPS = [
    # a backtracking pattern of cubic cost on a 20000-byte subject
    "local s = string.rep('a', 20000) return s:find('.-.-.-b')",
    # the same, greedy: every backtrack rescans the subject
    "local s = string.rep('a', 20000) return s:find('.*.*.*b')",
    # '%b' rescans the subject from every position
    "return string.rep('(', 20000):find('.-%b()x')",
    # plain find: every candidate compares 50000 bytes
    "return string.rep('a', 100000):find(string.rep('a', 50000) .. 'b', "
    "1, true)",
    # 2^62 nils moved: lua_seti of nil on an absent key allocates nothing
    "return #table.move({}, 1, 1 << 62, 1, {})",
    # insert/remove shift 2^62 absent elements of a table with a __len
    "local t = setmetatable({}, {__len = function() return 1 << 62 end}) "
    "table.insert(t, 1, 1)",
    "local t = setmetatable({}, {__len = function() return 1 << 62 end}) "
    "return table.remove(t, 1)",
    # 2^40 empty strings, each made by a C function (__index)
    "return table.concat(setmetatable({}, {__index = table.concat}), '', "
    "1, 1 << 40)",
    # a pcall'ed runaway pattern again and again: the budget stays spent
    "while true do pcall(string.find, string.rep('a', 20000), '.-.-.-b') end",
]
C_LOOP_IDS = ["pattern", "pattern_greedy", "balance", "plain_find",
              "move_nils", "insert", "remove", "concat", "pcall_pattern"]


@pytest.mark.parametrize("code", [
    *C_LOOPS,
    # 2^62 empty copies: no memory, no instruction, one call
    "return #string.rep('', 1 << 62)",
], ids=[*C_LOOP_IDS, "rep_empty"])
def test_budget_covers_c_loops(user_states: States, code: str) -> None:
    """One call of a library function must not run for ever (in the
    kernel: a CPU spinning with the state's spinlock held). string.rep of
    an empty string returns "" at once, as stock Lua's loop would after
    2^62 empty copies."""
    assert run_guarded([], code, timeout=5) in ("BudgetExceeded", "LuaError",
                                                "ok")


@pytest.mark.parametrize("code", C_LOOPS, ids=C_LOOP_IDS)
def test_budget_stops_c_loops(backend: States, fresh_name: str,
                              code: str) -> None:
    """The same C loops in both builds: stopped by the budget, with its
    message, and the state stays usable."""
    backend.new(fresh_name, 1 << 20)
    with pytest.raises(BudgetExceeded) as exc:
        backend.execute(fresh_name, code)
    assert exc.value.message.startswith(BUDGET_PREFIX)
    assert_alive(backend, fresh_name)


def test_budget_rep_of_empty_strings(backend: States, fresh_name: str) -> None:
    """string.rep of nothing, 2^62 times, is "" (as in stock Lua) at once."""
    backend.new(fresh_name, SMALL)
    assert backend.execute(fresh_name, "return #string.rep('', 1 << 62), "
                           "#string.rep('', 1 << 62, ''), "
                           "string.rep('', 3, '') == ''") == "0\t0\ttrue"


GC_REFUSED = "__gc metamethods are not supported"


@pytest.mark.parametrize("code", [
    "setmetatable({}, {__gc = function() while true do end end}) "
    "collectgarbage()",
    # Lua marks the object when __gc has any value but nil, then calls
    # whatever __gc holds at collection time
    "local mt = {__gc = false} setmetatable({}, mt) "
    "mt.__gc = function() while true do end end collectgarbage()",
    "local t = {} setmetatable(t, {}) setmetatable(t, {__gc = print})",
])
def test_budget_refuses_gc_metamethods(backend: States, fresh_name: str,
                                       code: str) -> None:
    """Finalizers run with hooks off (and lua_close runs them with no
    budget at all): setmetatable refuses a metatable with __gc."""
    backend.new(fresh_name, SMALL)
    with pytest.raises(LuaError) as exc:
        backend.execute(fresh_name, code)
    assert GC_REFUSED in exc.value.message
    assert_alive(backend, fresh_name)


def test_budget_setmetatable_otherwise_stock(backend: States,
                                             fresh_name: str) -> None:
    """Without __gc, setmetatable is the stock one: it returns its table,
    accepts nil, keeps __metatable protection and its argument errors, and
    a __gc added to the metatable later is never called (Lua did not mark
    the object)."""
    backend.new(fresh_name, SMALL)
    code = textwrap.dedent("""
        local t = {}
        local mt = {__index = function(_, k) return k end}
        assert(setmetatable(t, mt) == t and t.x == 'x')
        assert(setmetatable(t, nil) == t and getmetatable(t) == nil)
        local u = setmetatable({}, mt)
        mt.__gc = function() while true do end end
        u = nil
        collectgarbage()
        local p = setmetatable({}, {__metatable = 'locked'})
        local ok, e1 = pcall(setmetatable, p, {})
        local _, e2 = pcall(setmetatable, 1, {})
        local _, e3 = pcall(setmetatable, {}, 1)
        return ok, e1, e2, e3
    """)
    out = backend.execute(fresh_name, code).split("\t")
    stock = lupa54.LuaRuntime().execute(code.replace("collectgarbage()", ""))
    assert out == ["false", *stock[1:]]
    assert out[1] == "cannot change a protected metatable"


def test_close_with_endless_finalizer(user_states: States) -> None:
    """Closing a state whose finalizer loops must still return: the
    finalizer is refused when it is set, and close returns."""
    script = textwrap.dedent("""
        import lunatik_bpf
        from lunatik_bpf.control.errors import LuaError
        s = lunatik_bpf.connect("user")
        s.new("gc_loop", 1 << 20)
        try:
            s.execute("gc_loop", "x = setmetatable({}, {__gc = function() "
                      "while true do end end})")
        except LuaError as exc:
            assert "__gc metamethods are not supported" in exc.message, exc
        else:
            raise AssertionError("__gc accepted")
        s.close("gc_loop")
        print("closed")
    """)
    try:
        proc = subprocess.run([sys.executable, "-c", script], text=True,
                              capture_output=True, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("close did not return: the finalizer runs forever")
    assert proc.stdout.strip() == "closed", proc.stderr


def test_budget_is_per_execute(backend: States, fresh_name: str) -> None:
    """Many short executes are not stopped by the budget of one."""
    backend.new(fresh_name, SMALL)
    for _ in range(200):
        assert backend.execute(fresh_name, "local s = 0 for i = 1, 100 do "
                               "s = s + i end return s") == "5050"


@pytest.mark.parametrize("code", [
    "local function f() return 1 + f() end return f()",
    "local function f(...) return 1 + f(1, 2, 3, ...) end return f()",
    "local function f() return coroutine.wrap(f)() end return f()",
    "local function f() local co = coroutine.create(f) "
    "local ok, e = coroutine.resume(co) error(e, 0) end return f()",
    "local t = setmetatable({}, {}) getmetatable(t).__index = function(s, k) "
    "return s[k] end return t.x",
    "local s = string.rep('(', 1000) .. '1' .. string.rep(')', 1000) "
    "return load('return ' .. s)()",
    "return load(string.rep('do ', 1000) .. string.rep('end ', 1000))()",
    "return string.rep('x', 1 << 62, 'yy')",
    "return ('x'):rep(100):gsub('.', function() error('in gsub') end)",
    "return table.concat({}, '', 1, 1 << 40)",
    "return table.unpack({}, 1, 1 << 30)",
    "return string.format('%099999d', 1)",
    "return select('#', table.unpack({}, 1, 1000000))",
])
def test_bombs_fail_cleanly(backend: States, fresh_name: str, code: str) -> None:
    """Deep recursion, C-stack bombs, string bombs: an error (not a crash),
    memory within the limit, and the state still works."""
    backend.new(fresh_name, SMALL)
    empty = settled(backend, fresh_name)
    try:
        backend.execute(fresh_name, code)
    except LuaError:
        pass
    else:
        pytest.fail(f"no error from {code!r}")
    assert curralloc(backend, fresh_name) <= SMALL
    assert_alive(backend, fresh_name)
    assert_settles(backend, fresh_name, empty)
    assert_no_growth(backend, fresh_name, code)


def test_deep_recursion_with_room(backend: States, fresh_name: str) -> None:
    """With plenty of memory the recursion bomb hits Lua's stack limit or
    the budget: a Lua error either way."""
    backend.new(fresh_name, 8 << 20)
    with pytest.raises(LuaError):
        backend.execute(fresh_name,
                        "local function f() return 1 + f() end return f()")
    assert_alive(backend, fresh_name)


def test_binary_chunk_from_the_state(backend: States, fresh_name: str) -> None:
    """The state's own string.dump output is refused by execute."""
    backend.new(fresh_name, SMALL)
    try:
        dumped = backend.execute(fresh_name,
                                 "return string.dump(function() return 1 end)")
    except LuaError:
        pytest.skip("string.dump is not available")
    code = dumped.encode("utf-8", "surrogateescape")
    assert code.startswith(b"\x1bLua")
    with pytest.raises(LuaSyntaxError) as exc:
        backend.execute(fresh_name, code)
    assert "binary chunk" in exc.value.message
    assert_alive(backend, fresh_name)


@pytest.mark.parametrize("code", [
    b"\x1bLua",
    b"\x1bLua\x54\x00\x19\x93\r\n\x1a\n",
    b"\x1b",
])
def test_binary_chunk_refused(backend: States, fresh_name: str,
                              code: bytes) -> None:
    backend.new(fresh_name, SMALL)
    with pytest.raises(LuaSyntaxError, match="binary chunk"):
        backend.execute(fresh_name, code)
    assert_alive(backend, fresh_name)


def test_stock_lua_dump_refused(backend: States, fresh_name: str) -> None:
    """A real Lua 5.4 binary chunk from stock Lua (lupa) is refused too."""
    lua = lupa54.LuaRuntime(encoding=None)
    dumped = lua.eval(b"string.dump(function() return 42 end)")
    backend.new(fresh_name, SMALL)
    with pytest.raises(LuaSyntaxError, match="binary chunk"):
        backend.execute(fresh_name, bytes(dumped))


def test_no_leak_across_new_close(backend: States, fresh_name: str) -> None:
    """Closing and recreating a state many times gives the same empty
    curralloc every time (nothing carried over, nothing shared)."""
    backend.new(fresh_name, SMALL)
    first = curralloc(backend, fresh_name)
    backend.close(fresh_name)
    for i in range(100):
        backend.new(fresh_name, SMALL)
        assert curralloc(backend, fresh_name) == first
        backend.execute(fresh_name, f"garbage = string.rep('g', {i * 97})")
        backend.close(fresh_name)
    assert backend.list() == []


def test_close_all_many(backend: States) -> None:
    for round_ in range(5):
        for i in range(20):
            backend.new(f"r{round_}_{i}", SMALL)
            backend.execute(f"r{round_}_{i}", f"x = {i}")
        assert backend.close_all() == 20
        assert backend.list() == []


def test_memory_error_in_error_handling(backend: States,
                                        fresh_name: str) -> None:
    """Memory bombs inside pcall and coroutines, then the error message
    itself needs memory: still a clean error."""
    backend.new(fresh_name, SMALL)
    empty = settled(backend, fresh_name)
    code = ("local t = {} local function fill() local i = 0 while true do "
            "i = i + 1 t[i] = {} end end "
            "local co = coroutine.create(fill) local ok, e = coroutine.resume(co) "
            "error(tostring(e) .. string.rep('!', 100000))")
    with pytest.raises(LuaError):
        backend.execute(fresh_name, code)
    assert curralloc(backend, fresh_name) <= SMALL
    assert_settles(backend, fresh_name, empty)
    assert_alive(backend, fresh_name)


def test_sandbox_libraries(backend: States, fresh_name: str) -> None:
    """Only base, string, table, utf8 and coroutine are there."""
    backend.new(fresh_name, SMALL)
    present = backend.execute(fresh_name, "return type(string), type(table), "
                              "type(utf8), type(coroutine), type(print)")
    assert present == "table\ttable\ttable\ttable\tfunction"
    absent = backend.execute(fresh_name, "return io, os, debug, package, "
                             "require, math")
    assert absent == "nil\tnil\tnil\tnil\tnil\tnil"


# ---- the C-level API generations, through ctypes on the user library ----

def _state_fields(ptr: int) -> tuple[int, int, int, bytes]:
    """users, maxalloc, curralloc and name of a lunatik_State (offsets of
    kernel/probes.h)."""
    users = ctypes.c_uint32.from_address(ptr + 28).value
    maxalloc = ctypes.c_size_t.from_address(ptr + 32).value
    curr = ctypes.c_size_t.from_address(ptr + 40).value
    name = ctypes.string_at(ptr + 48)
    return users, maxalloc, curr, name


def test_klua_generation(user_states: States, capfd: pytest.CaptureFixture[str]
                         ) -> None:
    lib = user_states.backend.lib       # type: ignore[attr-defined]
    s = lib.klua_state_create(SMALL, b"klua_one")
    assert s
    assert lib.klua_state_create(SMALL, b"klua_one") is None   # exists
    assert lib.klua_state_create(0, b"klua_bad") is None
    assert lib.klua_state_create(SMALL, b"") is None
    assert lib.klua_state_lookup(b"klua_one") == s
    assert lib.klua_state_lookup(b"klua_none") is None
    users, maxalloc, curr, name = _state_fields(s)
    assert (maxalloc, name) == (SMALL, b"klua_one")
    info = user_states.lookup("klua_one")
    assert info is not None
    assert (info.maxalloc, info.curralloc, info.users) == (maxalloc, curr, users)

    assert lib.klua_state_create(2 * SMALL, b"klua_two")
    capfd.readouterr()
    lib.klua_state_list()
    listed = capfd.readouterr()
    text = listed.out + listed.err
    assert "klua_one" in text and "klua_two" in text

    lib.klua_execute(b"klua_one", b"x = 6 * 7")
    assert user_states.execute("klua_one", "return x") == "42"
    lib.klua_execute(b"klua_none", b"return 1")     # no state: no crash
    lib.klua_execute(b"klua_one", b"error('from klua')")
    capfd.readouterr()

    assert lib.klua_state_destroy(b"klua_one") == 0
    assert lib.klua_state_destroy(b"klua_one") != 0
    assert user_states.lookup("klua_one") is None
    lib.klua_state_destroy_all()
    assert user_states.list() == []
    capfd.readouterr()
    lib.klua_state_list()
    listed = capfd.readouterr()
    assert "klua_two" not in listed.out + listed.err


def test_lunatik_generation(user_states: States) -> None:
    lib = user_states.backend.lib       # type: ignore[attr-defined]
    s = lib.lunatik_newstate(SMALL, b"gen_one")
    assert s
    assert lib.lunatik_newstate(SMALL, b"gen_one") is None
    assert lib.lunatik_newstate(SMALL, b"x" * 64) is None
    assert lib.lunatik_statelookup(b"gen_one") == s
    assert lib.klua_state_lookup(b"gen_one") == s    # one table, two APIs
    assert lib.lunatik_statelookup(b"gen_none") is None
    assert _state_fields(s)[1:] == (SMALL, _state_fields(s)[2], b"gen_one")
    assert [i.name for i in user_states.list()] == ["gen_one"]
    assert lib.lunatik_close(b"gen_one") == 0
    assert lib.lunatik_close(b"gen_one") != 0
    assert lib.lunatik_statelookup(b"gen_one") is None
    assert user_states.list() == []


def test_user_limits_roundtrip(user_states: States) -> None:
    backend = user_states.backend
    limits = user_states.limits()
    assert limits is not None
    assert limits.max_states > 0 and limits.budget > 0
    assert limits.max_maxalloc > 0 and limits.max_code > 0
    old = backend.set_limits(budget=1000)       # type: ignore[attr-defined]
    try:
        user_states.new("budget_small", SMALL)
        with pytest.raises(BudgetExceeded):
            user_states.execute("budget_small",
                                "local s = 0 for i = 1, 100000 do s = s + i end")
        assert user_states.execute("budget_small", "return 1") == "1"
    finally:
        backend.set_limits(budget=old.budget)   # type: ignore[attr-defined]
    assert user_states.limits() == limits
