"""The invariants the observer checks online, and the findings they produce.

Each check has a name (the ``check`` of a Finding) and a one-line meaning.
The observer (observer.py) keeps the shadow states and calls these.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .events import Alloc, Deny, Event, Free

# check name -> what it promises
CHECKS: dict[str, str] = {
    "alloc_within_limit": "curralloc <= maxalloc after every allocation",
    "curralloc_rebuilt": "curralloc rebuilt from the allocation events equals the state's own",
    "deny_only_over_limit": "a denial happens only when the limit would be crossed",
    "refcount_nonnegative": "the refcount never goes below zero",
    "refcount_zero_once": "the refcount reaches zero exactly once, when the last reference is put",
    "no_event_after_zero": "no event on a state after its refcount reached zero",
    "exec_ends": "every execute that begins ends",
    "memory_returned": "all memory comes back when a state closes (curralloc 0 at free)",
    "names_unique": "names are unique among live states",
    "events_complete": "no event was lost (ring-buffer drops make the other checks partial)",
}


@dataclass(frozen=True)
class Finding:
    """A violated invariant, with the events that prove it."""
    check: str
    state: int
    name: str
    message: str
    events: tuple[Event, ...] = field(default=())

    def __str__(self) -> str:
        ev = ", ".join(e.short() for e in self.events[-4:])
        return f"[{self.check}] {self.name!r}@{self.state:#x}: {self.message}" + (
            f" (evidence: {ev})" if ev else "")


def finding(check: str, ev: Event, message: str, *evidence: Event) -> Finding:
    assert check in CHECKS, check
    return Finding(check=check, state=ev.state, name=ev.name, message=message,
                   events=tuple(evidence) + (ev,))


def check_alloc_limit(ev: Alloc) -> Finding | None:
    if ev.maxalloc and ev.after > ev.maxalloc:
        return finding("alloc_within_limit", ev,
                       f"curralloc {ev.after} > maxalloc {ev.maxalloc} after "
                       f"charge(osize={ev.osize}, nsize={ev.nsize})")
    return None


def check_rebuilt(ev: Alloc | Deny | Free, shadow: int, *evidence: Event) -> Finding | None:
    if ev.curralloc != shadow:
        return finding("curralloc_rebuilt", ev,
                       f"state says curralloc {ev.curralloc}, the allocation events "
                       f"add up to {shadow}", *evidence)
    return None


def check_deny(ev: Deny) -> Finding | None:
    if ev.would_be <= ev.maxalloc:
        return finding("deny_only_over_limit", ev,
                       f"denied osize={ev.osize} nsize={ev.nsize} although "
                       f"{ev.curralloc}-{ev.osize}+{ev.nsize}={ev.would_be} <= "
                       f"maxalloc {ev.maxalloc}")
    return None


def check_free(ev: Free) -> Finding | None:
    if ev.curralloc != 0:
        return finding("memory_returned", ev,
                       f"curralloc {ev.curralloc} at free (expected 0)")
    return None
