"""lunatik-check: the regression runner. Drives the built-in scenario suite
(and scenarios of your own) against the module or the user-space library
while tracing, and judges every scenario by the tracer's checks.

    lunatik-check                          # the kernel module (its tracepoints;
                                           # kprobes when unload runs)
    lunatik-check --probes kprobe          # the module through kprobes
    lunatik-check --user                   # build/user/liblunatik.so, in-process
    lunatik-check --user -L build/user-fault-put_nodec/liblunatik.so
    lunatik-check --scenario mine.py --scenario mine.lua --only mine
    lunatik-check --junit report.xml -j    # JUnit XML, JSON lines
    lunatik-check --tap                    # KTAP (kselftest, KUnit parsers)
    lunatik-check --list                   # the scenarios and the checks

A scenario file is a Python file defining `def scenario(states): ...` (states
is a lunatik_bpf.States) or a Lua script, run in a fresh state. The exit
status is 0 when every check held and every scenario ran, 1 on a violation
or a scenario error, 2 when the run could not start.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..control.api import States, connect
from ..testing.scenarios import BUILTIN, Scenario, load_scenario
from ..tracing.checks import CHECKS, Finding
from ..tracing.events import Event
from ..tracing.observer import Observer
from ..tracing.render import event_line, finding_json, verdict_lines
from ..tracing.summary import drops_text
from .ktap import ktap_report

if TYPE_CHECKING:
    from ..tracing.tracer import Program, Tracer

MARK_PREFIX = "lunatik-check.end."
MARK_WAIT = 2.0         # seconds before the end marker is sent again
MARK_TRIES = 5
RINGBUF_PAGES = 4096     # 16 MiB: about 50000 events of slack for the reader


# ---- results ----

@dataclass
class ScenarioResult:
    scenario: Scenario
    status: str = "pass"            # pass, fail, error, skip
    findings: list[Finding] = field(default_factory=list)
    events: int = 0
    seconds: float = 0.0
    t0: int = 0                     # monotonic ns at its start (event times)
    error: str = ""                 # the exception, one line
    error_detail: str = ""          # its traceback
    skip: str = ""

    @property
    def name(self) -> str:
        return self.scenario.name

    def failed_checks(self) -> list[str]:
        seen = {f.check for f in self.findings}
        return [c for c in CHECKS if c in seen]


@dataclass
class RunResult:
    backend: str
    target: str
    results: list[ScenarioResult]
    seconds: float
    compile_seconds: float
    probes: str = ""        # the mechanism the session attached

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return not any(r.status in ("fail", "error") for r in self.results)


# ---- the runner ----

class Runner:
    """Runs scenarios one after the other inside one tracing session, each
    judged by its own Observer: the events between a scenario's start and
    its end marker (a lookup of a name no state has, MARK_PREFIX + n) are
    that scenario's."""

    def __init__(self, states: States, program: Program, library: Path | None,
                 probes: str | None = None) -> None:
        self.states = states
        self.program = program
        self.library = library
        self.probes = probes
        self._lock = threading.Lock()
        self._observer: Observer | None = None
        self._findings: list[Finding] = []
        self._events = 0
        self._mark = ""
        self._mark_seen = threading.Event()
        self._drops_before: dict[str, int] = {}     # drops by cause at the scenario's start
        self.tracer: Tracer | None = None

    def _on_event(self, ev: Event) -> None:
        with self._lock:
            if ev.kind == "lookup" and self._mark and ev.name == self._mark:
                self._mark_seen.set()
                return
            if self._observer is None:
                return
            self._events += 1
            self._findings.extend(self._observer.feed(ev))

    def run(self, scenarios: list[Scenario], skipped: list[ScenarioResult]
            ) -> list[ScenarioResult]:
        from ..tracing.tracer import Tracer
        self.states.close_all()     # no state lives into the trace
        self.tracer = Tracer(program=self.program, library=self.library,
                             on_event=self._on_event, probes=self.probes)
        results: list[ScenarioResult] = []
        self.tracer.start()
        try:
            for n, sc in enumerate(scenarios):
                results.append(self._one(n, sc))
                if sc.ends_session:
                    break
        finally:
            self.tracer.stop()
        self._close_observer(results[-1] if results else None)
        return results + skipped

    def _begin(self) -> None:
        with self._lock:
            self._observer = Observer()
            self._findings = []
            self._events = 0
            self._mark = ""
            self._mark_seen.clear()

    def _one(self, n: int, sc: Scenario) -> ScenarioResult:
        assert self.tracer is not None
        self._begin()
        drops = self._drops_before = self.program.drops_by_cause()
        res = ScenarioResult(sc, t0=time.monotonic_ns())
        t = time.monotonic()
        try:
            sc.run(self.states)
        except Exception as exc:  # noqa: BLE001 - a scenario error, reported
            res.status = "error"
            res.error = f"{type(exc).__name__}: {exc}"
            res.error_detail = traceback.format_exc()
        res.seconds = time.monotonic() - t
        if sc.ends_session:
            return res      # the session ends now; _close_observer judges it
        try:
            self.states.close_all()     # traced: the release paths count too
        except Exception as exc:  # noqa: BLE001
            if res.status != "error":
                res.status = "error"
                res.error = f"close_all after the scenario: {type(exc).__name__}: {exc}"
                res.error_detail = traceback.format_exc()
        if not self._wait_mark(n):
            self._findings.append(Finding(
                "events_complete", 0, "",
                "the scenario's end marker never came through the ring buffer: "
                "its trace is incomplete"))
        self._judge(res, drops)
        return res

    def _wait_mark(self, n: int) -> bool:
        """Waits for the end marker while the reader makes progress (a slow
        reader, e.g. in a TCG VM, may be thousands of events behind); gives
        up after MARK_TRIES waits without a single new event."""
        with self._lock:
            self._mark = f"{MARK_PREFIX}{n}"
        idle = 0
        seen = -1
        while idle < MARK_TRIES:
            self.states.lookup(self._mark)
            if self._mark_seen.wait(MARK_WAIT):
                return True
            with self._lock:
                progress, seen = self._events != seen, self._events
            idle = 0 if progress else idle + 1
        return False

    def _judge(self, res: ScenarioResult, drops_before: dict[str, int]) -> None:
        with self._lock:
            observer, self._observer = self._observer, None
            findings = list(self._findings)
            res.events = self._events
        if observer is not None:
            findings.extend(observer.finish())
        dropped = {cause: n - drops_before.get(cause, 0)
                   for cause, n in self.program.drops_by_cause().items()}
        if sum(dropped.values()) > 0:
            findings.append(Finding(
                "events_complete", 0, "",
                f"{drops_text(dropped)} during the scenario: the other checks are partial"))
        res.findings = findings
        if res.status != "error" and findings:
            res.status = "fail"

    def _close_observer(self, last: ScenarioResult | None) -> None:
        """The scenario that ended the session (unload) is judged after the
        tracer stopped (its last events consumed)."""
        if last is not None and last.scenario.ends_session:
            self._judge(last, self._drops_before)


# ---- printing ----

def text_report(run: RunResult, out: TextIO) -> None:
    print(f"lunatik-check: {run.backend} backend, {run.target} "
          f"(BPF compiled in {run.compile_seconds:.1f} s"
          + (f", attached {run.probes}s" if run.probes else "") + ")", file=out)
    for r in run.results:
        print(f"\n== {r.name}: {r.scenario.doc}", file=out)
        if r.status == "skip":
            print(f"-> {r.name}: SKIPPED ({r.skip})", file=out)
            continue
        for line in verdict_lines(r.findings):
            print(line, file=out)
        for f in r.findings:
            print(f"     {f.check}: {f.name!r}@{f.state:#x}: {f.message}", file=out)
            for ev in f.events:
                print(f"       evidence {event_line(ev, r.t0)}", file=out)
        if r.status == "error":
            print(f"   ERROR: the scenario raised {r.error}", file=out)
        label = {"pass": "ok", "fail": "FAIL", "error": "ERROR"}[r.status]
        print(f"-> {r.name}: {label} ({len(r.findings)} findings, {r.events} events, "
              f"{r.seconds:.2f} s)", file=out)
    print(f"\n== overall: {len(run.results)} scenarios: {run.count('pass')} passed, "
          f"{run.count('fail')} failed, {run.count('error')} errors, "
          f"{run.count('skip')} skipped ({run.seconds:.1f} s)", file=out)
    for line in verdict_lines(run.findings):
        print(line, file=out)
    failed = [c for c in CHECKS if any(f.check == c for f in run.findings)]
    errors = [r.name for r in run.results if r.status == "error"]
    if failed:
        print(f"FAILED checks: {', '.join(failed)}", file=out)
    if errors:
        print(f"scenario errors: {', '.join(errors)}", file=out)
    print("PASS" if run.ok else "FAIL", file=out, flush=True)


def json_report(run: RunResult, out: TextIO) -> None:
    def emit(doc: dict[str, Any]) -> None:
        print(json.dumps(doc, separators=(",", ":")), file=out)

    for r in run.results:
        for f in r.findings:
            emit({"scenario": r.name, **json.loads(finding_json(f))})
        emit({"scenario": r.name, "status": r.status, "doc": r.scenario.doc,
              "source": r.scenario.source, "events": r.events,
              "seconds": round(r.seconds, 6), "error": r.error or None,
              "skipped": r.skip or None,
              "checks": {c: ("skip" if r.status == "skip" else
                             "fail" if c in r.failed_checks() else "ok")
                         for c in CHECKS}})
    emit({"overall": {"backend": run.backend, "target": run.target,
                      "ok": run.ok, "scenarios": len(run.results),
                      "passed": run.count("pass"), "failed": run.count("fail"),
                      "errors": run.count("error"), "skipped": run.count("skip"),
                      "failed_checks": [c for c in CHECKS
                                        if any(f.check == c for f in run.findings)],
                      "findings": len(run.findings),
                      "seconds": round(run.seconds, 3)}})
    out.flush()


def evidence_text(f: Finding, t0: int) -> str:
    lines = [str(f.message), "evidence:"]
    lines += [f"  {event_line(ev, t0)}" for ev in f.events] or ["  (none)"]
    return "\n".join(lines)


def junit_tree(run: RunResult) -> ET.ElementTree:
    """JUnit XML: one testsuite per run, one testcase per scenario x check
    (failure elements carry the evidence), plus one `run` testcase per
    scenario for its errors and skips."""
    tests = failures = errors = skipped = 0
    suite = ET.Element("testsuite", name=f"lunatik-check.{run.backend}",
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       hostname=socket.gethostname())
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="backend", value=run.backend)
    ET.SubElement(props, "property", name="target", value=run.target)
    for r in run.results:
        classname = f"lunatik-check.{r.name}"
        case = ET.SubElement(suite, "testcase", classname=classname, name="run",
                             time=f"{r.seconds:.3f}")
        tests += 1
        if r.status == "skip":
            ET.SubElement(case, "skipped", message=r.skip)
            skipped += 1
        elif r.status == "error":
            err = ET.SubElement(case, "error", message=r.error,
                                type=r.error.split(":", 1)[0])
            err.text = r.error_detail
            errors += 1
        for check, meaning in CHECKS.items():
            case = ET.SubElement(suite, "testcase", classname=classname, name=check,
                                 time="0")
            tests += 1
            if r.status == "skip":
                ET.SubElement(case, "skipped", message=r.skip)
                skipped += 1
                continue
            found = [f for f in r.findings if f.check == check]
            if found:
                fail = ET.SubElement(case, "failure", type=check,
                                     message=f"{meaning}: {found[0].message}"
                                     + (f" (+{len(found) - 1} more)" if len(found) > 1 else ""))
                fail.text = "\n\n".join(f"{f.name!r}@{f.state:#x}: " + evidence_text(f, r.t0)
                                        for f in found)
                failures += 1
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{run.seconds:.3f}")
    root = ET.Element("testsuites", name="lunatik-check", tests=str(tests),
                      failures=str(failures), errors=str(errors), skipped=str(skipped),
                      time=f"{run.seconds:.3f}")
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


# ---- the command ----

def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="lunatik-check",
        description="Run the scenario suite against Lunatik while tracing it, "
                    "and judge it by the tracer's checks.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1])
    p.add_argument("--user", action="store_true",
                   help="the user-space library, loaded in this process (default: "
                        "the kernel module)")
    p.add_argument("-L", "--library", type=Path,
                   help="with --user: the liblunatik.so to load (default: "
                        "$LUNATIK_LIBRARY or build/user/liblunatik.so)")
    p.add_argument("--scenario", action="append", default=[], type=Path,
                   metavar="FILE", help="a scenario file (.py with scenario(states), "
                                        "or .lua); repeatable")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run only this scenario (repeatable)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    p.add_argument("--tap", nargs="?", const="-", metavar="FILE",
                   help="KTAP, the kernel selftests' format: to FILE, or instead of the "
                        "text report when no FILE is given")
    p.add_argument("-j", "--json", action="store_true", help="JSON lines")
    p.add_argument("--list", action="store_true",
                   help="list the scenarios and the checks, then exit")
    p.add_argument("--ringbuf-pages", type=int, default=RINGBUF_PAGES,
                   help="ring buffer size in pages (a power of two)")
    p.add_argument("--probes", choices=("auto", "tracepoint", "kprobe"), default="auto",
                   help="how the module is traced: its tracepoints, or kprobes; auto: its "
                        "tracepoints, or kprobes when a scenario unloads the module (raw "
                        "tracepoints hold it)")
    args = p.parse_args(argv)
    if args.library is not None and not args.user:
        p.error("-L picks a user-space library: add --user")
    if args.user and args.probes != "auto":
        p.error("--probes chooses how the module is traced; the library is traced "
                "with uprobes")
    if args.json and args.tap == "-":
        p.error("-j and --tap without a FILE both want stdout: give --tap a FILE")
    if args.ringbuf_pages <= 0 or args.ringbuf_pages & (args.ringbuf_pages - 1):
        p.error("--ringbuf-pages must be a power of two")
    return args


class UsageError(Exception):
    pass


HELD = ("raw tracepoints hold the module, so it cannot be unloaded under "
        "--probes tracepoint (auto or kprobe traces it with kprobes)")


def mechanism_for(args: argparse.Namespace, scenarios: list[Scenario]) -> str | None:
    """The session's probes: the library's uprobes (None); for the module
    what --probes says, auto being kprobes when a scenario unloads it."""
    if args.user:
        return None
    if args.probes == "auto" and any(sc.ends_session for sc in scenarios):
        return "kprobe"
    return args.probes


def select(args: argparse.Namespace, backend: str
           ) -> tuple[list[Scenario], list[ScenarioResult]]:
    """The scenarios to run (in order: built-in, user files, then those that
    end the session) and the skipped ones, as results."""
    user: list[Scenario] = []
    for path in args.scenario:
        try:
            user.append(load_scenario(path))
        except Exception as exc:  # noqa: BLE001 - a bad file is a usage error
            raise UsageError(f"scenario {path}: {type(exc).__name__}: {exc}") from None
    every = list(BUILTIN) + user
    names = [sc.name for sc in every]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise UsageError(f"two scenarios named {', '.join(sorted(dup))}")
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            raise UsageError(f"--only {', '.join(unknown)}: no such scenario "
                             f"(known: {', '.join(names)})")
        every = [sc for sc in every if sc.name in args.only]
    run, skipped = [], []
    for sc in every:
        reason = sc.skip_reason(backend)
        if not reason and sc.ends_session and args.probes == "tracepoint":
            reason = HELD
        if reason:
            skipped.append(ScenarioResult(sc, status="skip", skip=reason))
        else:
            run.append(sc)
    run.sort(key=lambda sc: sc.ends_session)    # stable: unload last
    return run, skipped


def list_scenarios(args: argparse.Namespace, out: TextIO) -> None:
    backend = "user" if args.user else "kernel"
    run, skipped = select(args, backend)
    print(f"scenarios ({backend} backend):", file=out)
    for sc in run:
        print(f"  {sc.name:<12} {sc.doc}" + ("" if sc.source == "builtin"
                                             else f"  [{sc.source}]"), file=out)
    for r in skipped:
        print(f"  {r.name:<12} {r.scenario.doc}  [skipped: {r.skip}]", file=out)
    print("checks:", file=out)
    for check, meaning in CHECKS.items():
        print(f"  {check:<22} {meaning}", file=out)


def execute(args: argparse.Namespace, out: TextIO) -> int:
    from ..tracing.tracer import Program
    backend = "user" if args.user else "kernel"
    scenarios, skipped = select(args, backend)
    t = time.monotonic()
    options: dict[str, Any] = {}
    if args.user and args.library is not None:
        if not args.library.is_file():
            raise UsageError(f"{args.library}: no such library (make user?)")
        options["library"] = args.library
    states = connect(backend, **options)
    library: Path | None = None
    if backend == "user":
        library = Path(states.backend.library_path)     # type: ignore[attr-defined]
    program = Program(backend, "stream", args.ringbuf_pages)
    try:
        runner = Runner(states, program, library, mechanism_for(args, scenarios))
        results = runner.run(scenarios, skipped) if scenarios else list(skipped)
        target = runner.tracer.target if runner.tracer else str(library or "lunatik")
        probes = runner.tracer.probes if runner.tracer else ""
    finally:
        program.close()
        try:
            states.close_all()
        except Exception:  # noqa: BLE001 - e.g. the module went away
            pass
        states.disconnect()
    run = RunResult(backend, target, results, time.monotonic() - t, program.compile_seconds,
                    probes)
    if args.json:
        json_report(run, out)
    elif args.tap == "-":
        ktap_report(run, out)
    else:
        text_report(run, out)
    if args.tap not in (None, "-"):
        with open(args.tap, "w", encoding="utf-8") as tap:
            ktap_report(run, tap)
    if args.junit is not None:
        junit_tree(run).write(args.junit, encoding="utf-8", xml_declaration=True)
    return 0 if run.ok else 1


def main(argv: list[str] | None = None) -> int:
    from ..control.errors import LunatikError
    from ..tracing.tracer import TracerError
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        if args.list:
            list_scenarios(args, sys.stdout)
            return 0
        return execute(args, sys.stdout)
    except (UsageError, TracerError, LunatikError, OSError) as err:
        print(f"lunatik-check: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
