"""The demo's workload: a few states created, used, overfilled and closed,
two threads executing on one state.

    .venv/bin/python examples/workload.py [user|kernel]

Run it under the tracer: `lunatik-trace -c '... workload.py kernel'`.
"""
from __future__ import annotations

import sys
import threading

import lunatik_bpf


def workload(states: lunatik_bpf.States) -> None:
    states.new("calc", 1 << 16)
    states.execute("calc", "x = 6*7 return x")
    states.lookup("calc")
    states.lookup("nosuch")
    try:
        states.execute("calc", "local t = {} for i = 1, 1000000 do t[i] = i end")
    except lunatik_bpf.LuaMemoryError:
        pass
    states.new("shared", 1 << 20)
    workers = [threading.Thread(target=lambda: [states.execute(
        "shared", "local s = 0 for i = 1, 2000 do s = s + i end return s")
        for _ in range(5)]) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    try:
        states.new("calc", 1 << 16)
    except lunatik_bpf.StateExists:
        pass
    states.close("calc")
    states.close_all()


if __name__ == "__main__":
    workload(lunatik_bpf.connect(sys.argv[1] if len(sys.argv) > 1 else "user"))
