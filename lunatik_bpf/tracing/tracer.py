"""The tracer: compiles bpf/lunatik.bpf.c with BCC, attaches it to the probe
contract (kernel/probes.h) and reads what it produces.

    with Tracer(backend="user") as tracer:      # uprobes on liblunatik.so
        states.new("a", 1 << 16)
    tracer.events, tracer.findings, tracer.drops, tracer.summary()

backend "user" traces the library as loaded in a process (this one unless
pid= is given; library= names the .so when it is not loaded yet or to pick
one of several); backend "kernel" traces the `lunatik` module with kprobes
plus the lock:contention_begin/end tracepoints.

mode "stream" sends every event through a BPF ring buffer of ringbuf_pages
pages, decoded and checked online by the Observer; losses are counted in BPF
by cause and reported (tracer.drops, tracer.drops_by_cause, an
events_complete finding). mode "summary" only keeps per-state counters and
log2 histograms in BPF maps, read by summary().

A kernel session ends by itself when the module is unloaded (its exit's
closes are still seen): the polling thread detaches, runs the final checks
and sets tracer.ended to the reason in one line; tracer.wait() waits for
the end of a session, whoever ended it.

Compiling takes seconds: build_program(...) returns a Program that several
Tracer(program=...) sessions can reuse one after the other (the test suite
does), each attaching on enter and detaching on exit.

This module is the stable import point; the parts live in
    program.py   compile, attach plan and attach/detach, maps, errors, checks
    session.py   the Tracer: a session's life cycle, polling, findings, drops
    summary.py   the Summary data, its rendering, the drop wording
"""
from __future__ import annotations

from ..control.types import MODULE
from .program import (BPF_SOURCE, LIBRARY_PATTERN, MECHANISMS, MODULE_TRACEPOINTS, PROBES,
                      RINGBUF_PAGES, STATES_MAX, SUMMARY_SKIPS, SYMBOLS, TRACEFS, TRACEPOINTS,
                      UNLOAD_NOTE, AttachError, Attachment, BccMissing, CompileError,
                      HeadersMissing, LibraryNotFound, ModuleNotLoaded, NotRoot, Program,
                      ProgramKey, SymbolMissing, Target, TracerError, attach_plan,
                      build_program, find_loaded_library, kernel_symbols, library_symbols,
                      mapped_as_deleted, mechanism, module_identity, module_tracepoints, probes,
                      resolve_library, resolve_mechanism, resolve_target)
from .session import Tracer
from .summary import StateSummary, Summary, summary_from_rows

__all__ = ["Tracer", "Program", "ProgramKey", "build_program", "Summary", "StateSummary",
           "summary_from_rows", "TracerError", "NotRoot", "BccMissing", "HeadersMissing",
           "LibraryNotFound", "ModuleNotLoaded", "SymbolMissing", "CompileError",
           "AttachError", "Attachment", "attach_plan", "mechanism", "MECHANISMS", "Target",
           "resolve_target", "PROBES", "SYMBOLS", "SUMMARY_SKIPS", "TRACEPOINTS", "probes",
           "MODULE", "TRACEFS", "BPF_SOURCE", "LIBRARY_PATTERN",
           "find_loaded_library", "mapped_as_deleted", "resolve_library", "library_symbols",
           "kernel_symbols", "module_identity", "MODULE_TRACEPOINTS", "UNLOAD_NOTE",
           "module_tracepoints", "resolve_mechanism", "RINGBUF_PAGES", "STATES_MAX"]
