"""lunatik-check's verdicts in KTAP (Documentation/dev-tools/ktap.rst), the
format of the kernel's selftests and KUnit, for kselftest-style runners and
KernelCI-style parsers: one test per scenario, one subtest per check; the
evidence of a failed check as diagnostic lines before its result."""
from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ..tracing.checks import CHECKS
from ..tracing.render import event_line

if TYPE_CHECKING:
    from .check import RunResult, ScenarioResult

INDENT = "    "


def one_line(text: str) -> str:
    """A name or a directive stays on its line and keeps KTAP's '#' free."""
    return " ".join(text.replace("#", "").split())


def scenario_lines(r: ScenarioResult) -> list[str]:
    lines = ["KTAP version 1", f"# Subtest: {one_line(r.name)}"]
    if r.status == "skip":
        return lines + ["1..0"]
    lines.append(f"1..{len(CHECKS)}")
    for i, (check, meaning) in enumerate(CHECKS.items(), 1):
        found = [f for f in r.findings if f.check == check]
        for f in found:
            lines.append(f"# {check}: {one_line(str(f.message))}")
            lines += [f"#   {event_line(ev, r.t0)}" for ev in f.events]
        lines.append(f"{'not ok' if found else 'ok'} {i} {check}")
    return lines


def ktap_report(run: RunResult, out: TextIO) -> None:
    print("KTAP version 1", file=out)
    print(f"# lunatik-check: backend {run.backend}, target {one_line(run.target)}"
          + (f", probes {run.probes}" if run.probes else ""), file=out)
    print(f"1..{len(run.results)}", file=out)
    for n, r in enumerate(run.results, 1):
        for line in scenario_lines(r):
            print(INDENT + line, file=out)
        if r.status == "error":
            print(f"# {one_line(r.name)}: the scenario raised {one_line(r.error)}", file=out)
        result = "ok" if r.status in ("pass", "skip") else "not ok"
        skip = f" # SKIP {one_line(r.skip)}" if r.status == "skip" else ""
        print(f"{result} {n} {one_line(r.name)}{skip}", file=out)
    print(f"# totals: pass:{run.count('pass')} fail:{run.count('fail')} "
          f"error:{run.count('error')} skip:{run.count('skip')}", file=out)
    out.flush()
