"""The tracer: BPF on the probe contract, the events it reads and the
checks that judge them.

    tracer.py     the import point (Tracer, build_program, the errors, ...)
    program.py    compile, attach plan and attach/detach, maps, errors
    session.py    a session's life cycle, polling, findings, drops
    events.py     the records as dataclasses (bpf/events.h)
    observer.py   the checks online (checks.py), in Python
    native/       the same checks in C, fed by the ring buffer
    layout.py     the state's offsets the BPF text reads
    summary.py    summary mode's per-state counters and histograms
    metrics.py    statistics and the Prometheus collector
    recording.py  sessions to and from files
    replay.py     a session's calls replayed through the reference model
    render.py     events and findings as text and JSON
"""
