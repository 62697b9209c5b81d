"""Helpers of the tracer suite: per-state event sequences and counts."""
from __future__ import annotations

import ctypes
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from lunatik_bpf.tracing.events import Alloc, Create, Event, Lock, Unlock


def state_of(events: Iterable[Event], name: str) -> int:
    """The address of the (last) state created under that name."""
    addrs = [e.state for e in events if isinstance(e, Create) and e.ok and e.name == name]
    assert addrs, f"no CREATE of {name!r}"
    return addrs[-1]


def per_state(events: Iterable[Event], name: str) -> list[Event]:
    """The events of one state: on its address, or naming it with no address
    (REMOVE, failed CREATE, lookup miss)."""
    evs = list(events)
    addr = state_of(evs, name)
    return [e for e in evs if e.state == addr or (e.state == 0 and e.name == name)]


def kinds(events: Sequence[Event]) -> list[str]:
    """The kinds in order, runs of allocations collapsed to one 'alloc'."""
    out: list[str] = []
    for e in events:
        if e.kind == "alloc" and out and out[-1] == "alloc":
            continue
        out.append(e.kind)
    return out


def kind_counts(events: Iterable[Event]) -> Counter[str]:
    return Counter(e.kind for e in events)


def net_alloc(events: Iterable[Event]) -> int:
    return sum(e.nsize - e.osize for e in events if isinstance(e, Alloc))


def contended(evs: Iterable[Event]) -> list[Lock]:
    """Acquisitions whose wait window overlaps another thread's hold, from the
    timestamps alone (LOCK at lunatik_lock's return, UNLOCK at unlock's entry)."""
    evs = list(evs)
    holds = [(u.ts - u.hold, u.ts, u.tid) for u in evs if isinstance(u, Unlock) and u.hold]
    return [lk for lk in evs if isinstance(lk, Lock)
            if any(tid != lk.tid and h0 < lk.ts and lk.ts - lk.wait < h1
                   for h0, h1, tid in holds)]


# ---- loaded BPF programs (for the crash test), through libbpf ----

class _ProgInfo(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("id", ctypes.c_uint32),
                ("tag", ctypes.c_uint8 * 8), ("jited_prog_len", ctypes.c_uint32),
                ("xlated_prog_len", ctypes.c_uint32), ("jited_prog_insns", ctypes.c_uint64),
                ("xlated_prog_insns", ctypes.c_uint64), ("load_time", ctypes.c_uint64),
                ("created_by_uid", ctypes.c_uint32), ("nr_map_ids", ctypes.c_uint32),
                ("map_ids", ctypes.c_uint64), ("name", ctypes.c_char * 16),
                ("pad", ctypes.c_uint8 * 256)]


def loaded_programs(prefix: str = "lunatik_") -> dict[int, str]:
    """id -> name of every loaded BPF program whose name starts with prefix."""
    libbpf = ctypes.CDLL("libbpf.so.1", use_errno=True)
    out: dict[int, str] = {}
    cur = ctypes.c_uint32(0)
    while libbpf.bpf_prog_get_next_id(cur, ctypes.byref(cur)) == 0:
        fd = libbpf.bpf_prog_get_fd_by_id(cur)
        if fd < 0:
            continue
        info = _ProgInfo()
        size = ctypes.c_uint32(ctypes.sizeof(info))
        try:
            if libbpf.bpf_obj_get_info_by_fd(fd, ctypes.byref(info), ctypes.byref(size)) == 0:
                name = info.name.decode(errors="replace")
                if name.startswith(prefix):
                    out[int(cur.value)] = name
        finally:
            os.close(fd)
    return out


def uprobe_events() -> list[str]:
    path = Path("/sys/kernel/tracing/uprobe_events")
    return [line for line in path.read_text().splitlines() if "lunatik" in line]


def kprobe_events() -> list[str]:
    """Lines of tracefs' kprobe_events naming lunatik (kprobes made through
    that file; BCC's perf-PMU kprobes are not listed there)."""
    path = Path("/sys/kernel/tracing/kprobe_events")
    return [line for line in path.read_text().splitlines() if "lunatik" in line]


def module_kprobes(module: str = "lunatik") -> list[str]:
    """Every registered kprobe on the module's code, however it was made
    (debugfs' kprobes/list: `ADDR  k|r  SYMBOL+0xOFF  MODULE [FLAGS]`, or
    `ADDR  k|r  SYMBOL+0xOFF/0xSIZE [MODULE]` from %pS)."""
    path = Path("/sys/kernel/debug/kprobes/list")
    return [line for line in path.read_text().splitlines()
            if module in line.split() or f"[{module}]" in line.split()]


def freed_incarnations(events: Iterable[Event]) -> tuple[int, list[str]]:
    """Pairs every successful CREATE with the FREE of that address: returns
    how many states were created, and what is wrong (a state never freed,
    a FREE with curralloc not 0, a FREE of nothing). A close may free a
    state before its creator's CREATE is seen (the state is published
    inside create, the event comes at create's return): that FREE waits
    for its CREATE."""
    from lunatik_bpf.tracing.events import Free
    live: dict[int, Create] = {}
    early: dict[int, Free] = {}
    created, problems = 0, []
    for e in events:
        if isinstance(e, Create) and e.ok:
            created += 1
            if e.state in early:
                del early[e.state]
            elif e.state in live:
                problems.append(f"{e.short()}: created again before its free")
            else:
                live[e.state] = e
        elif isinstance(e, Free):
            if e.curralloc != 0:
                problems.append(f"{e.short()}: curralloc {e.curralloc} at free")
            if live.pop(e.state, None) is None:
                early[e.state] = e
    problems += [f"{c.short()}: never freed" for c in live.values()]
    problems += [f"{f.short()}: free of no state created" for f in early.values()]
    return created, problems
