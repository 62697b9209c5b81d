"""Events and verdicts as readable lines or JSON lines: what the tools
print, what a recording stores and what the pytest plugin reports."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Iterable

from .checks import CHECKS, Finding
from .events import Event

HEADER_FIELDS = ("ts", "pid", "tid", "comm", "cpu", "state", "name")
EVENT_HEADER = f"{'TIME(s)':<12} {'PID':<7} {'COMM':<12} {'EVENT':<10} {'STATE':<16} DETAILS"


def _value(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def details(ev: Event) -> str:
    """The kind-specific fields of an event as key=value."""
    parts = []
    for k, v in asdict(ev).items():
        if k in HEADER_FIELDS:
            continue
        v = _value(v)
        parts.append(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}")
    return " ".join(parts)


def event_line(ev: Event, t0: int) -> str:
    """time since t0, pid, comm, event, state, details."""
    return (f"{(ev.ts - t0) / 1e9:<12.6f} {ev.pid:<7} {ev.comm:<12.12} "
            f"{ev.kind:<10} {ev.name:<16.16} {details(ev)}")


def event_json(ev: Event) -> str:
    doc = {"event": ev.kind}
    doc.update({k: _value(v) for k, v in asdict(ev).items()})
    return json.dumps(doc, separators=(",", ":"))


def finding_json(f: Finding) -> str:
    return json.dumps({"finding": f.check, "state": f.state, "name": f.name,
                       "message": f.message,
                       "evidence": [json.loads(event_json(e)) for e in f.events]},
                      separators=(",", ":"))


def verdict_lines(findings: Iterable[Finding]) -> list[str]:
    """One line per check: ok or FAIL with how many findings."""
    count: dict[str, int] = {}
    for f in findings:
        count[f.check] = count.get(f.check, 0) + 1
    return [f"{'FAIL' if count.get(c) else 'ok':<5}{c:<22} {meaning}"
            + (f"  ({count[c]} findings)" if count.get(c) else "")
            for c, meaning in CHECKS.items()]
