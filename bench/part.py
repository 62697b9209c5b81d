"""One half of make bench, run where its figures come from:

    python -m bench.part user   --out FILE   # host: the library, uprobes
    python -m bench.part kernel --out FILE   # VM: the module, kprobes and tracepoints

Throughput first, every configuration against interleaved untraced blocks
(bench/protocol.py), with the per-hit bench (bench/hitbench.py) once our
summary program is compiled (after the last summary configuration, reusing
it); then
the observer's figures (host always; in the VM only with --observer: under
TCG they take minutes of a VM that others wait for)."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import hitbench, protocol
from .figures import Figure, Table

# the hit bench runs after these (our summary compiled, nothing attached)
LAST_SUMMARY = ("summary (kprobe)", "summary")
WHERE = {"user": "host (library, uprobes)", "kernel": "VM (module, kprobes/tracepoints)"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.part")
    ap.add_argument("backend", choices=sorted(WHERE))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quick", action="store_true", help="shorter blocks, fewer pairs")
    ap.add_argument("--pairs", type=int, default=None,
                    help="pairs of every configuration (default: protocol.plan())")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds for the throughput protocol (default: 19 min in the VM, "
                         "6.5 with --quick)")
    ap.add_argument("--configs", default="", help="comma-separated configuration names")
    ap.add_argument("--no-hitbench", action="store_true")
    ap.add_argument("--observer", action="store_true", help="the observer's figures in the VM too")
    args = ap.parse_args(argv)
    table = Table()
    where = WHERE[args.backend]
    names = tuple(n.strip() for n in args.configs.split(",") if n.strip()) or None
    hit_done = False

    def after(cfg: protocol.Config) -> None:
        nonlocal hit_done
        if cfg.name in LAST_SUMMARY and not args.no_hitbench and not hit_done:
            hit_done = True
            table.add(*hitbench.run(args.backend, where, quick=args.quick, pairs=hit_pairs))

    hit_pairs = args.pairs or (hitbench.QUICK_PAIRS if args.quick else hitbench.PAIRS)
    if args.budget is not None:
        budget = args.budget
    elif args.backend == "kernel":
        budget = (6.5 if args.quick else 19) * 60.0
    else:
        budget = (8 if args.quick else 20) * 60.0
    try:
        table.add(*protocol.run(args.backend, where, quick=args.quick, pairs=args.pairs,
                                budget=budget, names=names, after=after))
        if not hit_done and not args.no_hitbench:
            table.add(*hitbench.run(args.backend, where, quick=args.quick, pairs=hit_pairs))
    finally:
        protocol.close_programs()
    if args.backend == "user" or args.observer:
        from . import observer
        try:
            table.add(*observer.run(args.backend, where, quick=args.quick))
        except Exception as exc:     # another part of the tree mid-change: a figure, not a lost half
            table.add(Figure(where, "observer", "all observer figures", 0.0, "events/s", None,
                             f"not measured: the observer bench failed: {type(exc).__name__}: {exc}"))
    table.write_json(args.out)
    print(table.render(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
