"""lunatik-trace: a live tracing session on Lunatik states.

    lunatik-trace                     # the kernel module, every event
    lunatik-trace --user -p PID       # the user-space library in PID
    lunatik-trace --user -c 'CMD'     # run CMD and trace it until it exits
    lunatik-trace -c 'CMD'            # the module, while CMD runs
    lunatik-trace -j                  # JSON lines
    lunatik-trace -n calc -e exec_end # only some states and event kinds
    lunatik-trace 1 5                 # summary mode: 5 reports, 1 s apart
    lunatik-trace -q -w s.jsonl.gz    # record the session (see lunatik-report)
    lunatik-trace --prometheus :9464 1  # serve /metrics, refreshed every second
    lunatik-trace --probes kprobe     # kprobes instead of the module's tracepoints

The module is traced through its own tracepoints when it has them (raw
tracepoints: the cheapest hook, and they hold the module, so rmmod answers
"in use" until the session ends), else with kprobes (they do not hold it);
stderr says which in one line. Ctrl-C or SIGTERM detaches and prints the
final summary and the verdict of every check; so does the session's own end
when the module is unloaded under kprobes (after "Tracing ended: module
'lunatik' was unloaded" on stderr). The exit status is 1 when a check failed.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from ..control.backends.user import DEFAULT_LIBRARY
from ..tracing.checks import Finding
from ..tracing.events import KINDS, Event
from ..tracing.metrics import SummaryCollector, parse_addr, serve
from ..tracing.recording import Writer
from ..tracing.render import EVENT_HEADER, event_json, event_line, finding_json, verdict_lines
from ..tracing.summary import Summary, drops_text
from ..tracing.tracer import MODULE, UNLOAD_NOTE, Tracer, TracerError, resolve_library



def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="lunatik-trace", description="Trace Lunatik's Lua states with BPF.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1])
    p.add_argument("--user", action="store_true",
                   help="trace the user-space library (uprobes), not the module")
    target = p.add_mutually_exclusive_group()
    target.add_argument("-p", "--pid", type=int, help="trace this process (with --user)")
    target.add_argument("-c", "--command",
                        help="run this command, trace until it exits (with --user: only its calls)")
    p.add_argument("-L", "--library", type=Path,
                   help=f"the library to trace (default: as loaded in PID, else {DEFAULT_LIBRARY})")
    p.add_argument("-n", "--name", action="append", default=[],
                   help="only states of this name (repeatable)")
    p.add_argument("-e", "--event", action="append", default=[], choices=sorted(KINDS),
                   metavar="KIND", help=f"only these event kinds (repeatable): {', '.join(sorted(KINDS))}")
    p.add_argument("-j", "--json", action="store_true", help="JSON lines")
    p.add_argument("-w", "--write", type=Path, metavar="FILE",
                   help="record the session to FILE (JSON lines, gzip'd if FILE ends in .gz; "
                        "every event, whatever -n/-e show): see lunatik-report")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not print events (findings and the final summary still)")
    p.add_argument("--prometheus", metavar="ADDR:PORT",
                   help="serve per-state counters and histograms at http://ADDR:PORT/metrics "
                        "(Prometheus text format), refreshed every INTERVAL (default 1 s)")
    p.add_argument("--probes", choices=("auto", "tracepoint", "kprobe"), default="auto",
                   help="the module's tracepoints (raw tracepoints, the cheapest; they hold "
                        "the module while attached) or kprobes; auto: its tracepoints when "
                        "it has them")
    p.add_argument("--ringbuf-pages", type=int, default=1024,
                   help="ring buffer size in pages (stream mode)")
    p.add_argument("interval", nargs="?", type=float,
                   help="summary mode: report every INTERVAL seconds")
    p.add_argument("count", nargs="?", type=int, help="number of reports")
    args = p.parse_args(argv)
    if args.pid is not None and not args.user:
        p.error("-p traces the user-space library in PID: add --user")
    if args.user and args.probes != "auto":
        p.error("--probes chooses how the module is traced; the library is traced "
                "with uprobes")
    if args.interval is not None and args.interval <= 0:
        p.error("interval must be positive")
    if args.count is not None and args.count <= 0:
        p.error("count must be positive")
    if args.ringbuf_pages <= 0 or args.ringbuf_pages & (args.ringbuf_pages - 1):
        p.error("--ringbuf-pages must be a power of two")
    if args.prometheus is not None:
        try:
            args.prometheus = parse_addr(args.prometheus)
        except ValueError as exc:
            p.error(f"--prometheus: {exc}")
    return args


@dataclass
class Printer:
    """Prints the events and findings a session selects."""
    out: TextIO
    names: frozenset[str]
    kinds: frozenset[str]
    json: bool
    t0: int

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def header(self) -> None:
        if not self.json:
            self._write(EVENT_HEADER)

    def event(self, ev: Event) -> None:
        if self.names and ev.name not in self.names:
            return
        if self.kinds and ev.kind not in self.kinds:
            return
        self._write(event_json(ev) if self.json else event_line(ev, self.t0))

    def finding(self, f: Finding) -> None:
        self._write(finding_json(f) if self.json else f"FINDING {f}")

    def _write(self, text: str) -> None:
        with self._lock:
            print(text, file=self.out, flush=True)


def start_gated(command: str) -> tuple[subprocess.Popen[bytes], int]:
    """Starts COMMAND held before exec until the gate fd is written, so that
    the probes are attached before its first instruction (the pid does not
    change across the exec)."""
    argv = shlex.split(command)
    if not argv:
        raise TracerError("-c: empty command")
    r, w = os.pipe()
    gate = 'read -r _ <&3; exec 3<&-; exec "$0" "$@"'
    try:
        child = subprocess.Popen(["/bin/sh", "-c", gate, *argv], pass_fds=(r,),
                                 preexec_fn=lambda: os.dup2(r, 3))
    finally:
        os.close(r)
    return child, w


def report_summary(summary: Summary, names: frozenset[str], out: TextIO) -> None:
    if names:
        summary = replace(summary, states=[s for s in summary.states if s.name in names],
                          histograms={k: h for k, h in summary.histograms.items()
                                      if k[1] in names})
    print(time.strftime("%H:%M:%S"), file=out)
    print(summary.render(), file=out, flush=True)


def run(args: argparse.Namespace, out: TextIO) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    summary_mode = args.interval is not None
    printer = Printer(out, frozenset(args.name), frozenset(args.event), args.json,
                      time.monotonic_ns())
    child, gate = None, -1
    pid, library = None, args.library
    if args.command:
        # the module is traced whoever calls it; the library in CMD only
        child, gate = start_gated(args.command)
    if args.user:
        if child is not None:
            pid, library = child.pid, library or DEFAULT_LIBRARY
        elif args.pid is not None:
            pid = args.pid
        else:
            pid, library = -1, library or DEFAULT_LIBRARY
    backend, mode = "user" if args.user else "kernel", "summary" if summary_mode else "stream"
    writer: Writer | None = None
    collector: SummaryCollector | None = None
    server = None

    def on_event(ev: Event) -> None:
        if writer is not None:
            writer.event(ev)
        if not args.quiet:
            printer.event(ev)

    def on_finding(f: Finding) -> None:
        if writer is not None:
            writer.finding(f)
        printer.finding(f)

    tracer = Tracer(backend=backend, mode=mode,
                    library=library, pid=pid, ringbuf_pages=args.ringbuf_pages,
                    probes=None if args.user else args.probes,
                    # -q without -w needs no Event per event: the native checks then
                    on_event=None if summary_mode or (args.quiet and args.write is None)
                    else on_event,
                    on_finding=on_finding,
                    retain=False)   # a live session may run for hours: on_event sees each
    try:
        if args.write is not None:
            try:
                writer = Writer(args.write, backend=backend, mode=mode, pid=pid,
                                command=args.command, target=target_of(backend, library, pid))
            except OSError as exc:
                raise TracerError(f"-w {args.write}: {exc.strerror}") from None
        tracer.start()
        if args.prometheus is not None:
            collector = SummaryCollector()
            try:
                server, _ = serve(collector, *args.prometheus)
            except OSError as exc:
                raise TracerError(f"--prometheus {args.prometheus[0]}:{args.prometheus[1]}: "
                                  f"{exc.strerror}") from None
            collector.update(tracer.summary())
    except BaseException:
        tracer.stop()
        if writer is not None:
            writer.close()
        if child is not None:
            child.kill()
            child.wait()
        raise
    printer.t0 = time.monotonic_ns()     # times count from the attach
    try:
        if not summary_mode and not args.quiet:
            printer.header()
        print(f"Tracing {tracer.target}"
              + (f" (pid {pid})" if pid not in (None, -1) else "")
              + "... Ctrl-C to end.", file=sys.stderr, flush=True)
        print(f"Attached {tracer.probes}s: {UNLOAD_NOTE[tracer.probes]}.",
              file=sys.stderr, flush=True)
        if gate >= 0:
            os.write(gate, b"go\n")
            os.close(gate)
        if server is not None:
            print(f"Serving http://{args.prometheus[0]}:{server.server_port}/metrics",
                  file=sys.stderr, flush=True)
        reports = 0
        refresh = args.interval or 1.0
        last_refresh = time.monotonic()
        while not stop.is_set():
            if child is not None and child.poll() is not None:
                break
            if tracer.ended is not None:
                break       # the module went away: the session is over
            stop.wait(args.interval if summary_mode else 0.2)
            if summary_mode and not stop.is_set():
                summary = tracer.summary()
                if writer is not None:
                    writer.summary(summary)
                if collector is not None:
                    collector.update(summary)
                report_summary(summary, printer.names, out)
                reports += 1
                if args.count is not None and reports >= args.count:
                    break
            elif collector is not None and time.monotonic() - last_refresh >= refresh:
                collector.update(tracer.summary())
                last_refresh = time.monotonic()
    finally:
        tracer.stop()
        if server is not None:
            server.shutdown()
            server.server_close()
        if child is not None and child.poll() is None:
            child.terminate()
            child.wait()
        if writer is not None:
            writer.close(last_summary(tracer), tracer.drops)
    return final_report(tracer, printer, summary_mode, out)


def target_of(backend: str, library: Path | None, pid: int | None) -> str:
    """What the tracer will attach to (for a recording's header)."""
    if backend == "kernel":
        return MODULE
    try:
        return str(resolve_library(library, pid if pid is not None else os.getpid()))
    except TracerError:
        return ""


def last_summary(tracer: Tracer) -> Summary | None:
    try:
        return tracer.summary()
    except TracerError:
        return None     # the session never ran


def final_report(tracer: Tracer, printer: Printer, summary_mode: bool, out: TextIO) -> int:
    summary = tracer.summary()
    if tracer.ended is not None:
        print(f"Tracing ended: {tracer.ended}", file=sys.stderr, flush=True)
    if printer.json:
        by_cause = json.dumps(tracer.drops_by_cause, separators=(",", ":"))
        print(f'{{"summary":{{"events":{tracer.event_count},"drops":{tracer.drops},'
              f'"drops_by_cause":{by_cause},'
              f'"findings":{len(tracer.findings)}}}}}', file=out, flush=True)
    else:
        print(file=out)
        report_summary(summary, printer.names, out)
        if summary_mode:
            print("checks: not run in summary mode (they need the event stream)", file=out)
        else:
            print("\n".join(verdict_lines(tracer.findings)), file=out)
        if tracer.drops:
            print(f"lost: {drops_text(tracer.drops_by_cause, tracer.drops)}", file=out)
        print(f"{tracer.event_count} events, {tracer.drops} dropped, "
              f"{len(tracer.findings)} findings", file=out, flush=True)
    return 1 if tracer.findings else 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        return run(args, sys.stdout)
    except TracerError as err:
        print(f"lunatik-trace: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
