"""Each check proves it can fail: the fault variants of the library (built by
`make user`, see tests/c/faults/) run in a workload process, traced by pid,
and each is reported by its check; the correct library, same harness, is not."""
from __future__ import annotations

import pytest

from lunatik_bpf.tracing.tracer import Tracer

from .conftest import USER_LIBRARY, fault_library

pytestmark = pytest.mark.root

FAULTS = {
    "put_nodec": "refcount_zero_once",      # putstate forgets to decrement
    "alloc_nosub": "curralloc_rebuilt",     # charge forgets to subtract osize
    "exec_skip_end": "exec_ends",           # execute leaves by longjmp
}


def trace_workload(workload, user_program, library, by_library: bool):
    w = workload(library)
    kwargs = {"library": library} if by_library else {}
    with Tracer(program=user_program, pid=w.pid, **kwargs) as tracer:
        w.run()
    w.close()
    return tracer


def test_correct_library_has_no_findings(workload, user_program):
    tracer = trace_workload(workload, user_program, USER_LIBRARY, by_library=False)
    assert tracer.events and tracer.findings == []
    assert tracer.target == str(USER_LIBRARY.resolve())


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_reported_by_its_check(workload, user_program, fault):
    library = fault_library(fault)
    assert library.is_file(), f"{library} missing: make user"
    tracer = trace_workload(workload, user_program, library, by_library=True)
    checks = {f.check for f in tracer.findings}
    assert FAULTS[fault] in checks, [str(f) for f in tracer.findings]
    found = next(f for f in tracer.findings if f.check == FAULTS[fault])
    assert found.events and found.state and found.name == "w"
    assert "events_complete" not in checks


def test_library_replaced_on_disk_is_traced_where_mapped(workload, user_program, tmp_path):
    """A rebuild replaces liblunatik.so under a running process: the process
    still maps the old inode, and that is where the uprobes must go."""
    copy = tmp_path / "liblunatik.so"
    copy.write_bytes(USER_LIBRARY.read_bytes())
    w = workload(copy)
    copy.unlink()
    copy.write_bytes(USER_LIBRARY.read_bytes())     # a new inode at the same path
    with Tracer(program=user_program, pid=w.pid) as tracer:
        w.run()
    w.close()
    assert "/map_files/" in tracer.target
    assert {e.name for e in tracer.events} == {"w"}
    assert [e.kind for e in tracer.events].count("free") == 1
    assert tracer.findings == []


def test_library_replaced_on_disk_given_by_path(workload, user_program, tmp_path):
    copy = tmp_path / "liblunatik.so"
    copy.write_bytes(USER_LIBRARY.read_bytes())
    w = workload(copy)
    copy.unlink()
    copy.write_bytes(USER_LIBRARY.read_bytes())
    with Tracer(program=user_program, pid=w.pid, library=copy) as tracer:
        w.run()
    w.close()
    assert "/map_files/" in tracer.target
    assert [e.kind for e in tracer.events].count("free") == 1
    assert tracer.findings == []
