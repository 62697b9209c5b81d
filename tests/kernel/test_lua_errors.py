"""Lua errors unwind with a longjmp over C frames of the module
(kernel/lua/setjmp_64.S). With KASAN, the frames it skips keep their
poisoned redzones in the shadow unless the jump clears them
(lunatik_unpoison_jump in kernel/lua/include/setjmp.h); a checked read of
that stack afterwards, such as the unwinder's when perf samples kernel
call chains, is then reported as stack-out-of-bounds. This storm of deep
errors under call-chain sampling must leave the kernel log clean (the
no_splat fixture and the harness check it; on the debug kernel KASAN is
on, elsewhere the test still checks the errors' results)."""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import lunatik_bpf

pytestmark = [pytest.mark.kernel, pytest.mark.root]

# An error at the bottom of nested C calls (gsub calling back into Lua),
# caught by pcall at the top: one longjmp over every level. The depth
# stays within the module's C-stack guard (kernel/lua/lualibs.c).
DEPTH = 4
DEEP_ERRORS = f"""
local function deep(n)
  if n == 0 then error('bottom') end
  return (string.gsub('a', 'a', function() return deep(n - 1) end))
end
local caught, last = 0, nil
for i = 1, 40 do
  local ok, err = pcall(deep, {DEPTH})
  last = tostring(err)
  if not ok and last:find('bottom') then caught = caught + 1 end
end
return caught, last
"""


def sample_call_chains(seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """perf sampling every CPU's kernel call chains (its unwinder reads the
    interrupted task's stack with checked reads)."""
    if shutil.which("perf") is None:
        return None
    # no build-id collection afterwards: under emulation it takes minutes
    return subprocess.Popen(["perf", "record", "-a", "-g", "-e", "cpu-clock", "-F", "999",
                             "--no-buildid", "--no-buildid-cache",
                             "-o", str(out), "--", "sleep", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_deep_error_storm_under_sampling(tmp_path: Path) -> None:
    states = lunatik_bpf.connect("kernel")
    states.close_all()
    states.new("lua_err_storm", 8 << 20)
    perf = sample_call_chains(20, tmp_path / "perf.data")
    try:
        deadline = time.monotonic() + 15
        rounds = 0
        while time.monotonic() < deadline:
            assert states.execute("lua_err_storm", DEEP_ERRORS).startswith("40\t")
            with pytest.raises(lunatik_bpf.LuaError, match="bottom"):
                states.execute("lua_err_storm", "local function f(n) if n == 0 then "
                               "error('bottom') end return (string.gsub('a', 'a', "
                               f"function() return f(n - 1) end)) end return f({DEPTH})")
            rounds += 1
        assert rounds > 0
    finally:
        if perf is not None:
            perf.send_signal(signal.SIGINT)     # perf record stops and writes
            perf.wait(timeout=300)
        states.close_all()
        states.disconnect()
