"""Recordings of tracing sessions: ``lunatik-trace -w FILE`` writes one,
``lunatik-report FILE`` (and read()) reads it back.

Format "lunatik-recording", version 1: JSON lines (UTF-8), gzip-compressed
when the file name ends in ".gz" (read() recognises gzip by its magic bytes,
whatever the name). Each line is one JSON object; the first key says what it is:

    {"format":"lunatik-recording","version":1,"backend":"user","mode":"stream",
     "target":"/.../liblunatik.so","pid":123,"command":"...","host":"h",
     "kernel":"6.1.0","start":"2026-11-23T11:30:00.123456+00:00",
     "start_unix":1795000000.12,"start_ts":12929856640873}       first line
    {"event":"alloc","ts":...,"pid":...,...}      one per event: render.event_json,
                                                   i.e. "event" (the kind) and the
                                                   dataclass fields (asdict)
    {"finding":"alloc_within_limit",...}          one per finding: render.finding_json
    {"summary":{...},"ts":...}                     summary mode: one per interval
    {"trailer":{"end":"...","end_ts":...,"events":N,"drops":D,"findings":F,
                "counts":{"alloc":N,...},"summary":{...}}}      last line

ts and start_ts/end_ts are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns), so
``ev.ts - start_ts`` is the time into the session. An ExecBegin's code is
text; when its bytes are not valid UTF-8 (a chunk cut inside a character)
the line also carries "code_hex", the exact bytes. A "summary" object is
{"drops","events","findings","states":[{state,name,counts,lookup_miss,
exec_errors,alloc_bytes,free_bytes,contended}],"histograms":[{state,name,kind,
slots:{slot:count}}]}, plus "drops_by_cause":{cause:count} when any were
lost (events.DROP_CAUSES), i.e. summary.Summary. A recording cut short (the
tracer killed) has no trailer: read() still returns its events, with
complete False. Readers refuse a newer version.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .checks import Finding
from .events import Event, ExecBegin, Histogram
from .render import event_json, finding_json
from .summary import StateSummary, Summary

FORMAT = "lunatik-recording"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"

EVENT_CLASSES: dict[str, type[Event]] = {cls.kind: cls for cls in Event.__subclasses__()}


class RecordingError(ValueError):
    """The file is not a (readable) recording; the message says why."""


# ---- events, findings, summaries <-> JSON objects ----

def event_doc(ev: Event) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(event_json(ev))
    if isinstance(ev, ExecBegin):
        try:
            ev.code.decode("utf-8")
        except UnicodeDecodeError:
            doc["code_hex"] = ev.code.hex()
    return doc


def event_from_doc(doc: dict[str, Any]) -> Event:
    kind = doc.get("event")
    cls = EVENT_CLASSES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise RecordingError(f"unknown event kind {kind!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in doc:
            values[f.name] = doc[f.name]
    if cls is ExecBegin:
        values["code"] = (bytes.fromhex(doc["code_hex"]) if "code_hex" in doc
                          else str(doc.get("code", "")).encode("utf-8"))
    try:
        return cls(**values)
    except TypeError as exc:
        raise RecordingError(f"bad {kind} event: {exc}") from None


def finding_from_doc(doc: dict[str, Any]) -> Finding:
    return Finding(check=doc["finding"], state=int(doc["state"]), name=str(doc["name"]),
                   message=str(doc["message"]),
                   events=tuple(event_from_doc(e) for e in doc.get("evidence", ())))


def summary_doc(s: Summary) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "drops": s.drops, "events": s.events, "findings": s.findings,
        "states": [asdict(st) for st in s.states],
        "histograms": [{"state": k[0], "name": k[1], "kind": k[2],
                        "slots": {str(slot): n for slot, n in sorted(h.slots.items())}}
                       for k, h in s.histograms.items()],
    }
    if any(s.drops_by_cause.values()):
        doc["drops_by_cause"] = dict(s.drops_by_cause)
    return doc


def summary_from_doc(doc: dict[str, Any]) -> Summary:
    s = Summary(drops=int(doc.get("drops", 0)), events=int(doc.get("events", 0)),
                findings=int(doc.get("findings", 0)),
                drops_by_cause={str(k): int(v)
                                for k, v in doc.get("drops_by_cause", {}).items()})
    known = {f.name for f in fields(StateSummary)}
    for st in doc.get("states", ()):
        values = {k: v for k, v in st.items() if k in known}    # fields added later: default
        values["counts"] = {k: int(v) for k, v in st.get("counts", {}).items()}
        s.states.append(StateSummary(**values))
    for h in doc.get("histograms", ()):
        key = (int(h["state"]), str(h["name"]), str(h["kind"]))
        s.histograms[key] = Histogram(key[2], {int(k): int(v) for k, v in h["slots"].items()})
    return s


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


# ---- writing ----

def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


class Writer:
    """Writes one recording; thread-safe (the tracer's callbacks come from its
    polling thread). Use as a context manager or call close(tracer)."""

    def __init__(self, path: str | os.PathLike[str], *, backend: str, mode: str,
                 target: str = "", pid: int | None = None, command: str | None = None,
                 start_ts: int | None = None) -> None:
        self.path = Path(path)
        raw: IO[bytes] = open(self.path, "wb")
        self._out: IO[str]
        if self.path.suffix == ".gz":
            self._out = io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="wb"),
                                         encoding="utf-8")
            self._raw: IO[bytes] | None = raw
        else:
            self._out = io.TextIOWrapper(raw, encoding="utf-8")
            self._raw = None
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.findings = 0
        self.closed = False
        self.header: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "backend": backend, "mode": mode,
            "target": target, "pid": pid, "command": command,
            "host": socket.gethostname(), "kernel": os.uname().release,
            "start": _now_iso(), "start_unix": time.time(),
            "start_ts": time.monotonic_ns() if start_ts is None else start_ts,
        }
        self._line(self.header)

    def _line(self, doc: dict[str, Any]) -> None:
        with self._lock:
            if self.closed:
                return
            self._out.write(_dumps(doc) + "\n")

    def event(self, ev: Event) -> None:
        self._line(event_doc(ev))
        self.counts[ev.kind] += 1

    def finding(self, f: Finding) -> None:
        doc = json.loads(finding_json(f))
        doc["evidence"] = [event_doc(e) for e in f.events]     # exact code bytes
        self._line(doc)
        self.findings += 1

    def summary(self, s: Summary) -> None:
        self._line({"summary": summary_doc(s), "ts": time.monotonic_ns()})

    def close(self, summary: Summary | None = None, drops: int = 0) -> None:
        """Writes the trailer (with the final summary, if any) and closes."""
        if self.closed:
            return
        trailer = {"end": _now_iso(), "end_ts": time.monotonic_ns(),
                   "events": sum(self.counts.values()), "drops": drops,
                   "findings": self.findings, "counts": dict(self.counts),
                   "summary": summary_doc(summary) if summary is not None else None}
        self._line({"trailer": trailer})
        with self._lock:
            self.closed = True
            self._out.close()
            if self._raw is not None:
                self._raw.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- reading ----

@dataclass
class Recording:
    header: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    snapshots: list[tuple[int, Summary]] = field(default_factory=list)   # (ts, summary)
    trailer: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        return self.trailer is not None

    @property
    def start_ts(self) -> int:
        return int(self.header.get("start_ts") or (self.events[0].ts if self.events else 0))

    @property
    def end_ts(self) -> int:
        if self.trailer and self.trailer.get("end_ts"):
            return int(self.trailer["end_ts"])
        return self.events[-1].ts if self.events else self.start_ts

    @property
    def drops(self) -> int:
        return int(self.trailer.get("drops", 0)) if self.trailer else 0

    @property
    def summary(self) -> Summary | None:
        """The BPF maps' summary at the end of the session (trailer), else the
        last interval's."""
        if self.trailer and self.trailer.get("summary"):
            return summary_from_doc(self.trailer["summary"])
        return self.snapshots[-1][1] if self.snapshots else None


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == GZIP_MAGIC:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read(path: str | os.PathLike[str]) -> Recording:
    path = Path(path)
    try:
        f = _open_text(path)
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror}") from None
    with f:
        rec: Recording | None = None
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError as exc:
                    if rec is not None and not line.endswith("\n"):
                        break       # the last line of a recording cut short
                    raise RecordingError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
                if rec is None:
                    rec = _header(path, doc)
                elif "event" in doc:
                    rec.events.append(event_from_doc(doc))
                elif "finding" in doc:
                    rec.findings.append(finding_from_doc(doc))
                elif "summary" in doc:
                    rec.snapshots.append((int(doc.get("ts", 0)), summary_from_doc(doc["summary"])))
                elif "trailer" in doc:
                    rec.trailer = doc["trailer"]
                # other keys: from a later minor addition; ignored
        except (EOFError, gzip.BadGzipFile):
            pass    # a gzip stream cut short: keep what was read
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RecordingError):
                raise
            raise RecordingError(f"{path}:{lineno}: bad line ({exc})") from None
    if rec is None:
        raise RecordingError(f"{path}: empty, not a recording")
    return rec


def _header(path: Path, doc: dict[str, Any]) -> Recording:
    if doc.get("format") != FORMAT:
        raise RecordingError(f"{path}: not a {FORMAT} file")
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise RecordingError(f"{path}: {FORMAT} version {version!r}; this reader knows "
                             f"up to {VERSION}")
    return Recording(header=doc)


__all__ = ["FORMAT", "VERSION", "Writer", "Recording", "RecordingError", "read",
           "event_doc", "event_from_doc", "finding_from_doc", "summary_doc",
           "summary_from_doc"]
