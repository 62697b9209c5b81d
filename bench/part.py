"""One half of make bench, run where its figures come from:

    python -m bench.part user   --out FILE   # host: the library, uprobes
    python -m bench.part kernel --out FILE   # VM: the module, kprobes

Throughput figures first (they want a quiet machine), then the observer's."""
from __future__ import annotations

import argparse
from pathlib import Path

from . import observer, throughput
from .figures import Table

WHERE = {"user": "host (library, uprobes)", "kernel": "VM (module, kprobes)"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.part")
    ap.add_argument("backend", choices=sorted(WHERE))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--quick", action="store_true", help="shorter runs (a smoke test of the bench)")
    args = ap.parse_args(argv)
    table = Table()
    where = WHERE[args.backend]
    table.add(*throughput.run(args.backend, where, quick=args.quick))
    table.add(*observer.run(args.backend, where, quick=args.quick))
    table.write_json(args.out)
    print(table.render(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
