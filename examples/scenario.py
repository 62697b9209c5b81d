"""A user-supplied scenario for lunatik-check: a counter state shared by
several threads, each taking turns to bump it.

    lunatik-check --user --scenario examples/scenario.py --only scenario.py

lunatik-check calls scenario(states) while tracing (states is a
lunatik_bpf.States on the backend under test) and judges what the state
manager did with every check; an exception raised here is a scenario error.
The runner closes every state afterwards, still tracing.
"""
from __future__ import annotations

import threading

import lunatik_bpf


def scenario(states: lunatik_bpf.States) -> None:
    """A counter state bumped by four threads, then read back."""
    states.new("counter", 1 << 18)
    states.execute("counter", "n = 0 function bump(k) n = n + k return n end")

    def worker() -> None:
        for _ in range(50):
            states.execute("counter", "return bump(1)")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = states.execute("counter", "return n")
    if total != "200":      # each execute runs under the state's lock
        raise AssertionError(f"counter is {total}, want 200")
    states.close("counter")
