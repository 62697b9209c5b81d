"""make bench: the host half (library, uprobes) here, the kernel half
(module, kprobes) in the VM, one table, one JSON file, the targets judged.

    python -m bench [--quick] [--host-only | --vm-only]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from .figures import Table
from .targets import judge

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench"


def run_part(backend: str, quick: bool) -> Table:
    out = OUT / f"{backend}.json"
    out.unlink(missing_ok=True)
    part = [sys.executable, "-m", "bench.part", backend, "--out", str(out)]
    if quick:
        part.append("--quick")
    if backend == "kernel":
        # two CPUs: the lookups run on several threads, the tracer polls beside them
        part = [sys.executable, "-m", "lunatik_bpf.vm", "--cpus", "2", "--"] + part
    # through a pipe: the guest truncates a regular-file stdout it shares with us
    proc = subprocess.run(part, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
    args = ap.parse_args(argv)
    table = Table()
    if not args.vm_only:
        table.add(*run_part("user", args.quick).figures)
    if not args.host_only:
        table.add(*run_part("kernel", args.quick).figures)
    table.write_json(OUT / "results.json")
    print()
    print(table.render(), end="")
    print()
    for line in judge(table):
        print(line)
    print(f"\nfigures: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
