"""lunatik: the module's states from the shell, with the verbs of upstream
Lunatik's own command. The states live in the kernel and outlive the
command.

    lunatik                                 # a REPL on a state of its own
    lunatik run SCRIPT.lua [--name N] [--maxalloc 64K]
    lunatik exec NAME -e CODE | lunatik exec NAME FILE.lua
    lunatik stop NAME | lunatik stop --all
    lunatik list [-j]
    lunatik status
    lunatik load | unload | reload          # the module installed here (DKMS)

Each error is one line on stderr, with an exit status of its own (EXIT).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..control import errors
from ..control.api import States, connect
from ..control.types import MODULE, PARAMETERS, SYSFS

DEFAULT_MAXALLOC = 1 << 20

# exit status by exception, most specific first: a script can tell them apart
EXIT: tuple[tuple[type[BaseException], int, str], ...] = (
    (errors.StateExists, 3, "a state already has that name"),
    (errors.NoSuchState, 4, "no such state"),
    (errors.InvalidName, 5, "invalid name"),
    (errors.InvalidLimit, 5, "invalid maxalloc"),
    (errors.CodeTooLarge, 5, "code too large"),
    (errors.TooManyStates, 6, "too many states"),
    (errors.SystemOutOfMemory, 7, "the kernel is out of memory"),
    (errors.LuaSyntaxError, 8, "Lua syntax error"),
    (errors.LuaMemoryError, 9, "the state ran out of memory (maxalloc)"),
    (errors.BudgetExceeded, 10, "the instruction budget ran out"),
    (errors.LuaError, 11, "Lua error"),
)
EXIT_USAGE = 2
EXIT_MODULE = 12            # the module is not loaded, or cannot be (un)loaded
EXIT_OTHER = 1


class ModuleError(Exception):
    """The module is not there, or modprobe/rmmod failed."""


def size(text: str) -> int:
    """64K, 1M, 4096: bytes."""
    m = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 65536, 64K, 1M)")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]


def module_loaded() -> bool:
    return SYSFS.exists()


def states() -> States:
    if not module_loaded():
        raise ModuleError("the lunatik module is not loaded (lunatik load)")
    return connect("kernel")


def show(result: str, out: TextIO) -> None:
    if result:
        print(result, file=out)


# ---- the verbs ----

def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    code = Path(args.script).read_bytes()
    name = args.name or Path(args.script).stem
    s = states()
    s.new(name, args.maxalloc)
    show(s.execute(name, code), out)
    return 0


def cmd_exec(args: argparse.Namespace, out: TextIO) -> int:
    if (args.e is None) == (args.file is None):
        raise UsageError("exec takes -e CODE or a FILE, one of them")
    code = args.e.encode() if args.e is not None else Path(args.file).read_bytes()
    show(states().execute(args.name, code), out)
    return 0


def cmd_stop(args: argparse.Namespace, out: TextIO) -> int:
    if args.all == (args.name is not None):
        raise UsageError("stop takes a NAME or --all, one of them")
    s = states()
    if args.all:
        print(f"closed {s.close_all()} states", file=out)
    else:
        s.close(args.name)
    return 0


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    infos = sorted(states().list(), key=lambda i: i.name)
    if args.json:
        for i in infos:
            print(json.dumps({"name": i.name, "users": i.users, "curralloc": i.curralloc,
                              "maxalloc": i.maxalloc}), file=out)
        return 0
    width = max([len(i.name) for i in infos] + [4])
    print(f"{'NAME':<{width}}  {'USERS':>5}  {'CURRALLOC':>10}  {'MAXALLOC':>10}", file=out)
    for i in infos:
        print(f"{i.name:<{width}}  {i.users:>5}  {i.curralloc:>10}  {i.maxalloc:>10}",
              file=out)
    return 0


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    if not module_loaded():
        print("lunatik: not loaded", file=out)
        return 0
    version = (SYSFS / "version").read_text().strip() if (SYSFS / "version").exists() else "?"
    live = (PARAMETERS / "live_states").read_text().strip()
    print(f"lunatik: loaded, version {version}, {live} states", file=out)
    return 0


def modprobe(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise ModuleError(f"{' '.join(argv)}: {why}")


def cmd_load(args: argparse.Namespace, out: TextIO) -> int:
    if module_loaded():
        print("lunatik: already loaded", file=out)
        return 0
    modprobe("modprobe", MODULE)
    return 0


def cmd_unload(args: argparse.Namespace, out: TextIO) -> int:
    if not module_loaded():
        print("lunatik: not loaded", file=out)
        return 0
    modprobe("modprobe", "-r", MODULE)
    return 0


def cmd_reload(args: argparse.Namespace, out: TextIO) -> int:
    cmd_unload(args, out)
    return cmd_load(args, out)


def repl(args: argparse.Namespace, out: TextIO) -> int:
    """A state of its own for the session, closed on exit."""
    try:
        import readline  # noqa: F401 - line editing for input()
    except ImportError:
        pass
    name = f"repl-{os.getpid()}"
    s = states()
    s.new(name, args.maxalloc)
    interactive = sys.stdin.isatty()
    try:
        while True:
            try:
                line = input("> " if interactive else "")
            except EOFError:
                break
            if not line.strip():
                continue
            try:
                show(s.execute(name, line), out)
            except errors.LuaError as exc:
                print(one_line(exc), file=sys.stderr)
    finally:
        s.close(name)
    return 0


# ---- the command line ----

class UsageError(Exception):
    pass


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="lunatik", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--maxalloc", type=size, default=DEFAULT_MAXALLOC,
                   help="the REPL state's memory limit (default 1M)")
    sub = p.add_subparsers(dest="verb")
    run = sub.add_parser("run", help="create a state and run a script in it")
    run.add_argument("script")
    run.add_argument("--name", help="the state's name (default: the script's)")
    run.add_argument("--maxalloc", type=size, default=DEFAULT_MAXALLOC)
    ex = sub.add_parser("exec", help="run more code in a state")
    ex.add_argument("name")
    ex.add_argument("file", nargs="?")
    ex.add_argument("-e", metavar="CODE")
    stop = sub.add_parser("stop", help="close a state, or every state")
    stop.add_argument("name", nargs="?")
    stop.add_argument("--all", action="store_true")
    ls = sub.add_parser("list", help="the live states")
    ls.add_argument("-j", "--json", action="store_true", help="JSON lines")
    for verb, what in (("status", "whether the module is loaded, its version, its states"),
                       ("load", "modprobe the module installed here"),
                       ("unload", "remove the module"), ("reload", "unload, then load")):
        sub.add_parser(verb, help=what)
    return p.parse_args(argv)


VERBS: dict[str | None, Callable[[argparse.Namespace, TextIO], int]] = {
    None: repl, "run": cmd_run, "exec": cmd_exec, "stop": cmd_stop, "list": cmd_list,
    "status": cmd_status, "load": cmd_load, "unload": cmd_unload, "reload": cmd_reload,
}


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        return VERBS[args.verb](args, sys.stdout)
    except UsageError as exc:
        print(f"lunatik: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleError as exc:
        print(f"lunatik: {exc}", file=sys.stderr)
        return EXIT_MODULE
    except errors.LunatikError as exc:
        for kind, status, meaning in EXIT:
            if isinstance(exc, kind):
                print(f"lunatik: {meaning}: {one_line(exc)}", file=sys.stderr)
                return status
        print(f"lunatik: {one_line(exc)}", file=sys.stderr)
        return EXIT_OTHER
    except OSError as exc:
        print(f"lunatik: {exc.filename or ''}: {exc.strerror}", file=sys.stderr)
        return EXIT_OTHER
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
