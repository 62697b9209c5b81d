"""A traced workload in its own process (for fault variants and crash tests).

    python workload.py LIBRARY SCENARIO

Loads LIBRARY through lunatik_bpf.connect("user", library=...), prints
"ready", waits for a line on stdin, runs SCENARIO, prints "done" and the
outcome, then waits for stdin to close before exiting. A faulty library
may make a scenario raise: the outcome line says so, the process still
waits.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lunatik_bpf  # noqa: E402

CHUNK_GROW = "local t = {} for i = 1, 200 do t[i] = ('x'):rep(i) end return #t"


def basic(states: lunatik_bpf.States) -> None:
    states.new("w", 1 << 20)
    states.execute("w", "return 6*7")
    states.execute("w", CHUNK_GROW)
    states.close("w")


SCENARIOS = {"basic": basic}


def main() -> int:
    library, scenario = sys.argv[1], sys.argv[2]
    states = lunatik_bpf.connect("user", library=library)
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        SCENARIOS[scenario](states)
        print("done ok", flush=True)
    except Exception as exc:  # a fault variant may break the API's promises
        print(f"done {type(exc).__name__}: {exc}", flush=True)
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
