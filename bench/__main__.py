"""make bench: the host half (library, uprobes) here, the kernel half
(module, kprobes and tracepoints) in one VM boot, one table, one JSON file,
the targets judged (bench/targets.py). The protocol: bench/protocol.py.

    python -m bench [--quick] [--host-only | --vm-only] [--pairs N]
                    [--configs A/A,summary,...] [--vm-observer]

Only one VM may run at a time on this machine: the harness
(lunatik_bpf.testing.vm) waits for any other boot to end. The VM half takes
~20-25 min (--quick: under ~10), the host half ~10 (--quick: ~4).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .figures import Table, per_hit_table
from .targets import judge

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench"


def run_part(backend: str, quick: bool, extra: list[str] | None = None) -> Table:
    out = OUT / f"{backend}.json"
    out.unlink(missing_ok=True)
    part = [sys.executable, "-m", "bench.part", backend, "--out", str(out)]
    if quick:
        part.append("--quick")
    part += extra or []
    if backend == "kernel":
        # two CPUs: the lookups run on several threads, the tracer polls beside them
        part = [sys.executable, "-m", "lunatik_bpf.testing.vm", "--cpus", "2", "--"] + part
    # through a pipe: the guest truncates a regular-file stdout it shares with us
    proc = subprocess.run(part, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    sys.stderr.write(proc.stdout)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"bench: the {backend} half failed (exit {proc.returncode})")
    return Table.read_json(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--host-only", action="store_true")
    only.add_argument("--vm-only", action="store_true")
    ap.add_argument("--pairs", type=int, default=None)
    ap.add_argument("--configs", default="")
    ap.add_argument("--no-hitbench", action="store_true")
    ap.add_argument("--vm-observer", action="store_true")
    ap.add_argument("--report", action="store_true",
                    help="no run: the table and verdicts of the last halves' JSON files")
    args = ap.parse_args(argv)
    extra = []
    if args.pairs:
        extra += ["--pairs", str(args.pairs)]
    if args.configs:
        extra += ["--configs", args.configs]
    if args.no_hitbench:
        extra.append("--no-hitbench")
    table = Table()
    if args.report:
        for half in ("user", "kernel"):
            if (OUT / f"{half}.json").exists():
                table.add(*Table.read_json(OUT / f"{half}.json").figures)
    elif not args.vm_only:
        table.add(*run_part("user", args.quick, extra).figures)
    if not args.host_only and not args.report:
        table.add(*run_part("kernel", args.quick,
                            extra + (["--observer"] if args.vm_observer else [])).figures)
    table.write_json(OUT / "results.json")
    print()
    print(table.render(), end="")
    hits = per_hit_table(table.figures)
    if hits:
        print("\nper hit (bench/hitbench.py):")
        print(hits, end="")
    print()
    for line in judge(table):
        print(line)
    print(f"\nfigures: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
