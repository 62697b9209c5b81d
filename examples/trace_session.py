"""A live tracing session: a small workload on Lunatik states, traced with BPF.

    .venv/bin/python examples/trace_session.py [user|kernel]

With "user" the tracer attaches uprobes to the user-space library loaded in
this process; with "kernel" kprobes to the loaded module (run it in the VM:
`make demo` does). Prints the event stream, the per-state summary and the
verdict of every check.
"""
from __future__ import annotations

import sys

import lunatik_bpf
from lunatik_bpf.tracing.render import EVENT_HEADER, event_line, verdict_lines
from workload import workload


def main(backend: str) -> int:
    states = lunatik_bpf.connect(backend)
    with lunatik_bpf.Tracer(backend=backend, mode="stream") as tracer:
        workload(states)
    events = tracer.events
    t0 = events[0].ts if events else 0
    print(EVENT_HEADER)
    for ev in events:
        if ev.kind != "alloc":      # allocations are summarised below
            print(event_line(ev, t0))
    allocs = sum(1 for ev in events if ev.kind == "alloc")
    print(f"... and {allocs} allocation events\n")
    print(tracer.summary().render())
    print("\n".join(verdict_lines(tracer.findings)))
    for f in tracer.findings:
        print(f"  finding: {f}")
    print(f"\n{len(events)} events, {tracer.drops} dropped, "
          f"{len(tracer.findings)} findings")
    return 1 if tracer.findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "user"))
