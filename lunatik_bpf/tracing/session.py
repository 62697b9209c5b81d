"""A tracing session: the life cycle of a Tracer.

start() checks the target, compiles a Program unless one is given, resets
its maps, routes its records (to the Python Observer through feed_record,
or to the native core straight from the ring buffer), attaches the plan
and starts the polling thread; stop() (or the session's own end when the
traced module is unloaded) detaches, drains what is left, reads the drops
and the last summary and runs the final checks, once (_finish).
"""
from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import Any, Callable

from ..control.types import MODULE
from . import native
from .checks import Finding
from .events import Event
from .layout import of_loaded_module
from .observer import Observer
from .program import (RINGBUF_PAGES, Program, Target, TracerError, attach_plan,
                      check_backend_mode, import_bcc, mechanism, module_identity,
                      require_root, resolve_mechanism, resolve_target)
from .summary import Summary, summary_from_rows


class Tracer:
    """A tracing session: attach on enter, a polling thread, detach on exit."""

    def __init__(self, backend: str = "user", mode: str = "stream",
                 library: str | os.PathLike[str] | None = None, pid: int | None = None,
                 ringbuf_pages: int = RINGBUF_PAGES, program: Program | None = None,
                 interval: float = 0.1,
                 on_event: Callable[[Event], None] | None = None,
                 on_finding: Callable[[Finding], None] | None = None,
                 on_summary: Callable[[Summary], None] | None = None,
                 retain: bool = True, native_observer: bool | None = None,
                 probes: str | None = None) -> None:
        """native_observer: check the stream in the native core (observe.c),
        which consumes the ring buffer itself with no Python per event. It
        needs retain=False and no on_event (no Event objects per event);
        None: use it then when it is built, else the Python Observer.
        probes: the attach mechanism: "auto" (None), "tracepoint" or
        "kprobe" for the module, "uprobe" for the library; "auto" takes
        the module's tracepoints when it has them (program.resolve_mechanism),
        and self.probes says which once the session has started."""
        if program is not None:
            # the program decides: backend/mode/ring size follow it
            backend, mode, ringbuf_pages = (program.key.backend, program.key.mode,
                                            program.key.ringbuf_pages)
        check_backend_mode(backend, mode)
        self.backend = backend
        self.mode = mode
        self.probes = mechanism(backend, probes)   # "auto" until start()
        self.library = library
        self.pid = pid
        self.ringbuf_pages = ringbuf_pages
        self.interval = interval
        self.on_event = on_event
        self.on_finding = on_finding
        self.on_summary = on_summary     # summary mode: called every interval
        self.program = program
        self._own_program = program is None
        self.observer = Observer()
        # every event of the session (stream mode); retain=False keeps none
        # (a long live session: memory stays flat, on_event and the observer
        # still see each one, event_count counts them)
        self.retain = retain
        self.events: list[Event] = []
        self.event_count = 0
        self._feed = self.observer.feed
        self.native_observer = native_observer
        self._native: native.NativeObserver | None = None
        self._decode: Callable[[bytes], Event] | None = (
            program.decoder.decode if program is not None and program.decoder else None)
        self.drops = 0                              # every cause
        self.drops_by_cause: dict[str, int] = {}    # events.DROP_CAUSES -> how many
        self.attach_seconds = 0.0
        self.target = ""
        self._pid_filter = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_summary: Summary | None = None
        # why the session ended by itself (None: it runs, or stop() ended it)
        self.ended: str | None = None
        self._module_id: int | None = None
        self._module_checked = 0.0
        self._finish_lock = threading.Lock()
        self._finished = threading.Event()
        self._running = False           # this session holds the program

    @property
    def findings(self) -> list[Finding]:
        return self._native.findings if self._native is not None else self.observer.findings

    def _use_native(self) -> bool:
        wanted = self.native_observer
        can = not self.retain and self.on_event is None
        if wanted and not can:
            raise ValueError("native_observer=True needs retain=False and no on_event")
        if wanted is None:
            wanted = can and native.available()
        return bool(wanted)

    # ---- enter / exit ----

    def __enter__(self) -> Tracer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        bcc = import_bcc()
        require_root()
        how = resolve_mechanism(self.backend, self.probes)
        target: Target = resolve_target(self.backend, self.library, self.pid, bcc, how)
        self.probes = how
        self.target = target.name
        self._pid_filter = target.pid
        self._module_id = target.module_id
        if self.program is None:
            self.program = Program(self.backend, self.mode, self.ringbuf_pages)
        if self.program.busy:
            raise TracerError("this Program is in use by another Tracer session")
        running = of_loaded_module() if self.backend == "kernel" else None
        if running is not None and not running.same_offsets(self.program.layout):
            raise TracerError(f"this Program reads states with the layout of "
                              f"{self.program.layout.source}; the loaded module's "
                              f"differs ({running.source}): compile a new one")
        self.program.busy = True
        self._running = True
        try:
            self.program.reset()
            if self.mode == "stream":
                assert self.program.decoder is not None
                self._decode = self.program.decoder.decode
                self._feed = self.observer.feed
                self._native = None
                if self._use_native():
                    # the records go to the native core straight from the
                    # ring buffer's memory; BCC's callback is never polled
                    self._native = native.NativeObserver(self.program.decoder.decode)
                    self._native.open_ring(self.program.bpf[b"events"].map_fd)
                else:
                    self.program.set_sink(self.feed_record)
            t0 = time.monotonic()
            self.program.attach(attach_plan(self.backend, self.mode, self.target, self.probes),
                                self._pid_filter, self.target)
            self.attach_seconds = time.monotonic() - t0
        except BaseException:
            self.program.detach()
            self.program.clear_sink()
            self.program.busy = False
            self._running = False
            raise
        self._stop.clear()
        self._finished.clear()
        self.ended = None
        self._thread = threading.Thread(target=self._poll, name="lunatik-tracer",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ends the session: detaches, drains the ring buffer, runs the final
        checks. A no-op once the session ended (by itself or by stop)."""
        if self.program is None:
            return
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._thread = None
        self._finish()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until the session has ended (by itself, see `ended`, or by
        stop()); returns whether it has."""
        return self._finished.wait(timeout)

    def _finish(self) -> None:
        """The end of the session, once, from stop() or from the polling
        thread when the target went away."""
        with self._finish_lock:
            if self.program is None or not self._running:
                return
            self._running = False
            self.program.detach()
            try:
                if self._native is not None:
                    self._native_found(self._native.consume())  # what is left
                elif self.mode == "stream":
                    self.program.bpf.ring_buffer_consume()      # what is left
                self._note_drops()
                self._last_summary = self._read_summary()
                if self.mode == "stream":
                    obs = self._native if self._native is not None else self.observer
                    for f in obs.finish():
                        self._found(f)
            finally:
                if self._native is not None:
                    self._native.close_ring()
                self.program.clear_sink()
                self.program.busy = False
                if self._own_program:
                    self.program.close()
                self._finished.set()

    # ---- polling ----

    def _poll(self) -> None:
        assert self.program is not None
        while not self._stop.is_set():
            if self._native is not None:
                self._native_found(self._native.poll(int(self.interval * 1000)))
            elif self.mode == "stream":
                self.program.bpf.ring_buffer_poll(int(self.interval * 1000))
            else:
                self._stop.wait(self.interval)
                # every map read whole: only for someone who listens (the
                # session's end and summary() read them anyway); on a small
                # machine the reads take the CPU the traced code runs on
                if self.on_summary is not None:
                    self._last_summary = self._read_summary()
                    self.on_summary(self._last_summary)
            self._note_drops()
            if self._module_gone():
                # its exit ran under the probes (its last closes are in the
                # ring buffer); they fire no more: end the session by itself
                self.ended = f"module '{MODULE}' was unloaded"
                self._finish()
                return

    def _module_gone(self) -> bool:
        """Kernel backend: the module traced is no longer loaded (gone, or
        another load of it: its sysfs directory is not the one of the
        attach). Checked at most every interval."""
        if self._module_id is None:
            return False
        now = time.monotonic()
        if now - self._module_checked < self.interval:
            return False
        self._module_checked = now
        return module_identity() != self._module_id

    # ---- records ----

    def feed_record(self, raw: Any) -> None:
        """One record (its bytes, or a buffer over them, as the ring buffer
        gives it): decoded, kept, checked. The session's sink of its
        Program's records (the polling thread); a caller with records of its
        own (a replay from memory) feeds them here, with
        program.consume_with(tracer.feed_record) or directly."""
        ev = self._decode(raw)  # type: ignore[misc]
        self.event_count += 1
        if self.retain:
            self.events.append(ev)
        if self.on_event is not None:
            self.on_event(ev)
        out = self._feed(ev)
        if out:
            for f in out:
                self._found(f)

    def _native_found(self, found: list[Finding]) -> None:
        assert self._native is not None
        self.event_count = self._native.events
        for f in found:
            self._found(f)

    def _found(self, f: Finding) -> None:
        if self.on_finding is not None:
            self.on_finding(f)

    def _note_drops(self) -> None:
        assert self.program is not None
        self.drops_by_cause = self.program.drops_by_cause()
        self.drops = sum(self.drops_by_cause.values())
        if self._native is not None:
            # the same finding, worded cause by cause (observe.c)
            found = self._native.note_drops(self.drops, self.drops_by_cause)
        else:
            found = self.observer.note_drops(self.drops, self.drops_by_cause)
        for f in found:
            self._found(f)

    # ---- summary ----

    def _read_summary(self) -> Summary:
        assert self.program is not None
        by_cause = self.program.drops_by_cause()
        return summary_from_rows(**self.program.summary_rows(),
                                 drops=sum(by_cause.values()), drops_by_cause=by_cause,
                                 events=self.event_count, findings=len(self.findings))

    def summary(self) -> Summary:
        """Counters and histograms: read now while attached, else the last read."""
        with self._finish_lock:     # not while the session ends by itself
            if self.program is not None and self._running:
                s = self._read_summary()
                self.drops = s.drops
                self.drops_by_cause = dict(s.drops_by_cause)
                return s
        if self._last_summary is None:
            raise TracerError("no summary: the session never ran")
        return self._last_summary


__all__ = ["Tracer"]
