"""Drive Lunatik states through the Python API and print what happens.

    .venv/bin/python examples/states_quickstart.py [user|kernel]
"""
from __future__ import annotations

import sys

import lunatik_bpf


def show(label: str, value: object) -> None:
    print(f"  {label:<44} -> {value}")


def main(backend: str) -> None:
    states = lunatik_bpf.connect(backend)
    print(f"backend: {backend}")
    states.new("calc", 1 << 16)
    show('new("calc", 64 KiB); lookup', states.lookup("calc"))
    show("execute return 6*7", states.execute("calc", "return 6*7"))
    show("execute returning several values",
         states.execute("calc", "return 1, 'two', {} ~= nil"))
    states.execute("calc", "counter = (counter or 0) + 1")
    show("globals persist between executes",
         states.execute("calc", "counter = counter + 1 return counter"))

    try:
        states.execute("calc", "local t = {} for i = 1, 1000000000 do t[i] = i end")
    except lunatik_bpf.LunatikError as err:
        show("memory bomb", f"{type(err).__name__}: {err}")
    show("curralloc stays within maxalloc", states.lookup("calc"))
    try:
        states.execute("calc", "while true do end")
    except lunatik_bpf.LunatikError as err:
        show("runaway loop", f"{type(err).__name__}: {err}")
    show("the state still works", states.execute("calc", "return 'yes'"))

    for bad, why in (("", "empty name"), ("x" * 64, "name too long"),
                     ("calc", "duplicate name")):
        try:
            states.new(bad, 1 << 16)
        except lunatik_bpf.LunatikError as err:
            show(why, f"{type(err).__name__}: {err}")

    states.new("other", 1 << 20)
    show("list", [s.name for s in states.list()])
    show("close_all", states.close_all())
    show("list after close_all", states.list())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "user")
