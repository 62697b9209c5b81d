"""pytest plugin for regression tests on Lunatik states, traced with BPF.

Registered through the pytest11 entry point (installed with the package).

    def test_close_frees(lunatik_states, lunatik_trace):
        lunatik_states.new("a", 1 << 16)
        lunatik_states.close("a")
        # at the end of the test every state is closed (still traced) and
        # every finding of the tracer's checks fails the test

    @pytest.mark.lunatik_backend("kernel")          # or "user" (default)
    def test_on_the_module(lunatik_states): ...

    @pytest.mark.lunatik_backend("user", library="build/user-asan/liblunatik.so")

Fixtures:
  lunatik_states   a connected lunatik_bpf.States on a clean table; every
                   state is closed after the test
  lunatik_trace    a running lunatik_bpf.Tracer on that backend (uprobes on
                   the loaded library, kprobes on the module); when the test
                   body ends, the states are closed while still traced, the
                   tracer stops, and its findings fail the test with the
                   findings and their evidence as the message. The BPF
                   program is compiled once per session per backend.

Options: --lunatik-backend user|kernel (tests without the marker; default
user), --lunatik-library PATH (the user backend's library; default
$LUNATIK_LIBRARY or build/user/liblunatik.so), --lunatik-ringbuf-pages N.

Importing this module is cheap (no BCC): the tracer is imported when
lunatik_trace is first used.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from ..control.backends import BACKENDS

if TYPE_CHECKING:
    from ..control.api import States
    from ..tracing.tracer import Program, Tracer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lunatik", "Lunatik states traced with BPF")
    group.addoption("--lunatik-backend", choices=list(BACKENDS), default=None,
                    help="backend of the lunatik_states/lunatik_trace fixtures for "
                         "tests without a lunatik_backend marker (default: user)")
    group.addoption("--lunatik-library", default=None, metavar="PATH",
                    help="user backend: the liblunatik.so to load (default: "
                         "$LUNATIK_LIBRARY or build/user/liblunatik.so)")
    group.addoption("--lunatik-ringbuf-pages", type=int, default=None, metavar="N",
                    help="lunatik_trace: ring buffer size in pages (a power of two; "
                         "default: the tracer's)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lunatik_backend(name, library=None): run the lunatik_states and "
        "lunatik_trace fixtures on backend 'user' or 'kernel' (library: the "
        "user backend's liblunatik.so)")


@dataclass(frozen=True)
class Selection:
    backend: str
    library: str | None


def selection(request: pytest.FixtureRequest) -> Selection:
    """Marker first, then the command line, then "user"."""
    config = request.config
    backend = config.getoption("lunatik_backend") or "user"
    library = config.getoption("lunatik_library")
    marker = request.node.get_closest_marker("lunatik_backend")
    if marker is not None:
        backend = marker.args[0] if marker.args else marker.kwargs.get("name", backend)
        library = marker.kwargs.get("library", library)
    if backend not in BACKENDS:
        raise pytest.UsageError(f"lunatik_backend: {backend!r} is not one of "
                                f"{', '.join(BACKENDS)}")
    return Selection(backend, str(library) if library and backend == "user" else None)


class ProgramCache:
    """The compiled BPF programs of the session, one per backend (compiling
    takes seconds); a failed compile is remembered, not retried."""

    def __init__(self, ringbuf_pages: int | None) -> None:
        self.ringbuf_pages = ringbuf_pages
        self._programs: dict[str, Program] = {}
        self._errors: dict[str, Exception] = {}

    def get(self, backend: str) -> Program:
        if backend in self._errors:
            raise self._errors[backend]
        if backend not in self._programs:
            from ..tracing.tracer import RINGBUF_PAGES, Program, TracerError
            try:
                self._programs[backend] = Program(backend, "stream",
                                                  self.ringbuf_pages or RINGBUF_PAGES)
            except TracerError as err:
                self._errors[backend] = err
                raise
        return self._programs[backend]

    def close(self) -> None:
        for program in self._programs.values():
            program.close()
        self._programs.clear()


@pytest.fixture(scope="session")
def lunatik_programs(pytestconfig: pytest.Config) -> Iterator[ProgramCache]:
    """The session's compiled tracer programs (used by lunatik_trace)."""
    cache = ProgramCache(pytestconfig.getoption("lunatik_ringbuf_pages"))
    try:
        yield cache
    finally:
        cache.close()


@pytest.fixture
def lunatik_states(request: pytest.FixtureRequest) -> Iterator[States]:
    """A connected States on a clean table (backend: the lunatik_backend
    marker, else --lunatik-backend, else user); all states are closed after
    the test."""
    from .. import connect
    sel = selection(request)
    options: dict[str, Any] = {"library": sel.library} if sel.library else {}
    try:
        states = connect(sel.backend, **options)
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a trace
        pytest.fail(f"lunatik_states: cannot connect to the {sel.backend} backend: "
                    f"{type(exc).__name__}: {exc}", pytrace=False)
    states.close_all()
    try:
        yield states
    finally:
        try:
            states.close_all()
        finally:
            states.disconnect()


@dataclass
class TraceSession:
    """What the plugin keeps about one test's lunatik_trace."""
    states: States
    tracer: Tracer
    t0: int
    finished: bool = False
    findings: list[Any] = field(default_factory=list)

    def finish(self) -> None:
        """Closes every state (traced: the release paths are checked too),
        stops the tracer; idempotent."""
        if self.finished:
            return
        self.finished = True
        try:
            self.states.close_all()
        finally:
            self.tracer.stop()
            self.findings = list(self.tracer.findings)


_SESSION = pytest.StashKey[TraceSession]()


def findings_message(session: TraceSession) -> str:
    """The findings with their evidence, as a failure message."""
    from ..tracing.render import event_line, verdict_lines
    tracer = session.tracer
    lines = [f"lunatik_trace: {len(session.findings)} findings on the "
             f"{tracer.backend} backend ({tracer.target}, {len(tracer.events)} "
             f"events, {tracer.drops} dropped)"]
    lines += [line for line in verdict_lines(session.findings)
              if line.startswith("FAIL")]
    for f in session.findings:
        lines.append(f"  [{f.check}] {f.name!r}@{f.state:#x}: {f.message}")
        lines += [f"      evidence {event_line(ev, session.t0)}" for ev in f.events]
    return "\n".join(lines)


@pytest.fixture
def lunatik_trace(request: pytest.FixtureRequest, lunatik_states: States,
                  lunatik_programs: ProgramCache) -> Iterator[Tracer]:
    """A running Tracer on lunatik_states' backend; its findings fail the
    test (the states are closed, traced, when the test body ends)."""
    from ..tracing.tracer import Tracer, TracerError
    backend = lunatik_states.backend.name
    library = getattr(lunatik_states.backend, "library_path", None)
    try:
        program = lunatik_programs.get(backend)
        tracer = Tracer(program=program, library=library)
        tracer.start()
    except TracerError as err:
        pytest.fail(f"lunatik_trace: cannot trace the {backend} backend: {err}",
                    pytrace=False)
    session = TraceSession(lunatik_states, tracer, time.monotonic_ns())
    request.node.stash[_SESSION] = session
    try:
        yield tracer
    finally:
        failed_body = not session.finished
        session.finish()
        node = request.node
        node.user_properties.append(("lunatik_events", len(tracer.events)))
        node.user_properties.append(("lunatik_findings", len(session.findings)))
    if session.findings and failed_body:
        # the test body raised before the plugin could judge it: the
        # findings still fail it, at teardown
        pytest.fail(findings_message(session), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """When a test body using lunatik_trace returns, finish the trace and
    fail the test on findings (so it is reported FAILED, not as an error)."""
    result = yield
    session = item.stash.get(_SESSION, None)
    if session is not None:
        session.finish()
        if session.findings:
            pytest.fail(findings_message(session), pytrace=False)
    return result
