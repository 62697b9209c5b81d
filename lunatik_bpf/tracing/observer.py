"""The observer: a shadow of every live state, checked online event by event.

Real orderings it tolerates:
- a new state's allocations (lunatik_charge) happen before create returns:
  they are kept as an "embryo" of that address (and thread) and attributed
  when the CREATE event arrives; a failed create frees its embryo;
- the FREE of a state happens inside its last put, before that put's return
  (the PUT with count 0) on the same thread;
- addresses are reused after free: a CREATE (or a fresh embryo allocation,
  curralloc 0) on a dead address starts a new incarnation;
- tracing may start while states live: an unknown address is adopted, with
  the checks that need a baseline (refcount arithmetic) off;
- a state leaves the table (REMOVE, with its state, for close and close_all
  alike) before its table reference is put; a put by a thread that took no
  reference of its own is the table's, and from it on the state is
  unpublished too (names_unique no longer counts it), which also covers a
  session whose REMOVE was lost.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .checks import (CHECKS, Finding, check_alloc_limit, check_deny, check_free,
                     check_rebuilt, finding)
from .events import (Alloc, Contention, Create, Deny, Event, ExecBegin, ExecEnd,
                     Free, Get, Lock, Lookup, Put, Remove, Unlock)

EVIDENCE = 16


@dataclass
class Shadow:
    """What the observer believes about one incarnation of a state."""
    addr: int
    name: str
    maxalloc: int = 0
    curralloc: int | None = 0       # rebuilt from ALLOC events (None: unknown yet)
    users: int | None = 1           # from create/get/put (None: adopted, unknown)
    adopted: bool = False
    published: bool = True
    freed_by: int | None = None     # tid of the FREE, the state's last moment
    zeroed: bool = False
    allocs: int = 0
    recent: deque[Event] = field(default_factory=lambda: deque(maxlen=EVIDENCE))
    reported: dict[str, int] = field(default_factory=dict)  # check -> occurrences
    held: dict[int, int] = field(default_factory=dict)      # tid -> references it took


@dataclass
class Embryo:
    tid: int
    events: list[Event] = field(default_factory=list)


class Observer:
    """Feed it events in ring-buffer order; it returns the findings of each."""

    def __init__(self) -> None:
        self.live: dict[int, Shadow] = {}
        self.dead: dict[int, Shadow] = {}
        self.embryos: dict[int, Embryo] = {}
        self.names: dict[str, int] = {}             # published name -> address
        self.open_exec: dict[int, ExecBegin] = {}   # tid -> execute in flight
        self.last_by_tid: dict[int, Event] = {}
        self.findings: list[Finding] = []
        self.drops_reported = 0
        self._handlers = {cls: getattr(self, "_on_" + cls.kind) for cls in _KINDS}

    # ---- entry points ----

    def feed(self, ev: Event) -> list[Finding]:
        out: list[Finding] = []
        handler = self._handlers.get(type(ev))
        if handler is None:
            handler = getattr(self, "_on_" + ev.kind)
        handler(ev, out)
        self.last_by_tid[ev.tid] = ev
        if out:
            self.findings.extend(out)
        return out

    def note_drops(self, drops: int, by_cause: dict[str, int] | None = None) -> list[Finding]:
        """Reports lost events once (the first time any are counted): the checks
        are partial from then on. The running total is the tracer's drops;
        by_cause, its split by cause (events.DROP_CAUSES), words the finding
        cause by cause (without it, the total is the ring buffer's)."""
        if drops <= 0 or self.drops_reported:
            return []
        self.drops_reported = drops
        from .summary import drop_parts, drop_text
        lost = "; ".join(f"{drop_text(cause)} ({n} when first seen)"
                         for cause, n in drop_parts(by_cause or {}, drops))
        f = Finding("events_complete", 0, "",
                    f"{lost}: findings may be missing or spurious")
        self.findings.append(f)
        return [f]

    def finish(self) -> list[Finding]:
        """End of session: executes still open never ended."""
        out: list[Finding] = []
        for tid, begin in sorted(self.open_exec.items()):
            sh = self.live.get(begin.state)
            self._report(out, sh, finding("exec_ends", begin,
                         f"execute began on tid {tid} and never ended"))
        self.open_exec.clear()
        self.findings.extend(out)
        return out

    # ---- shadows ----

    def _report(self, out: list[Finding], sh: Shadow | None, f: Finding) -> None:
        """One finding per check and incarnation; repeats are only counted."""
        if sh is not None:
            n = sh.reported.get(f.check, 0)
            sh.reported[f.check] = n + 1
            if n:
                return
        out.append(f)

    def _shadow(self, ev: Event, out: list[Finding]) -> Shadow | None:
        """The live shadow of ev.state; adopts unknown addresses; flags an event
        on a dead one and returns None (the handler then ignores the event)."""
        sh = self.live.get(ev.state)
        if sh is not None:
            if sh.freed_by is not None and not (isinstance(ev, Put) and ev.tid == sh.freed_by):
                self._report(out, sh, finding("no_event_after_zero", ev,
                             "event after the state was freed", *list(sh.recent)[-3:]))
            sh.recent.append(ev)
            return sh
        dead = self.dead.get(ev.state)
        if dead is not None and not (isinstance(ev, Get) and ev.count == 0):
            self._report(out, dead, finding("no_event_after_zero", ev,
                         "event after the refcount reached zero", *list(dead.recent)[-3:]))
            dead.recent.append(ev)
            return None
        if dead is not None:
            return None
        emb = self.embryos.pop(ev.state, None)
        sh = Shadow(addr=ev.state, name=ev.name, users=None, adopted=True,
                    curralloc=None)
        self.live[ev.state] = sh
        for e in emb.events if emb else []:
            self._account(sh, e, out)
        sh.recent.append(ev)
        return sh

    def _account(self, sh: Shadow, ev: Event, out: list[Finding]) -> None:
        """Applies one allocation event to a shadow, with its checks.
        (The hot path of the observer: the checks' conditions are tested here
        first, the findings built only when one fails.)"""
        sh.recent.append(ev)
        cls = type(ev)
        if cls is Alloc or cls is Deny or isinstance(ev, Alloc | Deny):
            if ev.maxalloc:
                sh.maxalloc = ev.maxalloc
        elif not isinstance(ev, Free):
            return
        if sh.curralloc is None:
            sh.curralloc = ev.curralloc
        if ev.curralloc != sh.curralloc:
            f = check_rebuilt(ev, sh.curralloc, *list(sh.recent)[-4:-1])
            if f:
                self._report(out, sh, f)
                sh.curralloc = ev.curralloc     # resync, report each drift once
        if cls is Alloc or isinstance(ev, Alloc):
            sh.allocs += 1
            sh.curralloc = sh.curralloc - ev.osize + ev.nsize
            if ev.maxalloc and ev.curralloc - ev.osize + ev.nsize > ev.maxalloc:
                f = check_alloc_limit(ev)
                if f:
                    self._report(out, sh, f)
        elif isinstance(ev, Deny):
            f = check_deny(ev)
            if f:
                self._report(out, sh, f)

    # ---- handlers, one per kind ----

    def _on_create(self, ev: Create, out: list[Finding]) -> None:
        if not ev.ok:
            # a create that failed after allocating closed its Lua state
            # unpublished (no FREE): every block must have come back
            for addr in [a for a, e in self.embryos.items() if e.tid == ev.tid]:
                emb = self.embryos.pop(addr)
                left = sum(e.nsize - e.osize for e in emb.events if isinstance(e, Alloc))
                if left:
                    out.append(Finding("memory_returned", addr, ev.name,
                                       f"create failed ({ev.error}) with {left} bytes "
                                       f"still charged", tuple(emb.events[-3:]) + (ev,)))
            return
        self.dead.pop(ev.state, None)
        old = self.live.pop(ev.state, None)
        emb = self.embryos.pop(ev.state, None)
        sh = Shadow(addr=ev.state, name=ev.name, maxalloc=ev.maxalloc)
        if old is not None and old.adopted:     # adopted from its embryo's events
            sh.curralloc, sh.allocs, sh.reported = old.curralloc, old.allocs, old.reported
            sh.recent.extend(old.recent)
        for e in emb.events if emb else []:
            self._account(sh, e, out)
        sh.recent.append(ev)
        prev = self.names.get(ev.name)
        if prev is not None and prev != ev.state and prev in self.live \
                and self.live[prev].published and self.live[prev].name == ev.name:
            self._report(out, sh, finding("names_unique", ev,
                         f"created while state {prev:#x} of the same name is live",
                         *list(self.live[prev].recent)[:1]))
        self.names[ev.name] = ev.state
        self.live[ev.state] = sh

    def _on_remove(self, ev: Remove, out: list[Finding]) -> None:
        if ev.ret != 0:
            return
        addr = self.names.pop(ev.name, None)
        sh = self.live.get(addr) if addr is not None else None
        if sh is not None:
            sh.published = False
            sh.recent.append(ev)

    def _on_lookup(self, ev: Lookup, out: list[Finding]) -> None:
        if not ev.hit:
            return
        sh = self._shadow(ev, out)
        if sh is None or ev.via != "stateget" or sh.users is None:
            return
        prev = self.last_by_tid.get(ev.tid)
        if isinstance(prev, Get) and prev.state == ev.state and prev.count > 0:
            return      # stateget took its reference through lunatik_getstate
        sh.users += 1
        sh.held[ev.tid] = sh.held.get(ev.tid, 0) + 1

    def _on_get(self, ev: Get, out: list[Finding]) -> None:
        sh = self._shadow(ev, out)
        if sh is None:
            return
        if ev.count < 0:
            self._report(out, sh, finding("refcount_nonnegative", ev,
                         f"getstate returned count {ev.count}"))
        if ev.count > 0:
            sh.held[ev.tid] = sh.held.get(ev.tid, 0) + 1
            if sh.users is not None:
                sh.users += 1

    def _on_put(self, ev: Put, out: list[Finding]) -> None:
        sh = self._shadow(ev, out)
        if sh is None:
            return
        if sh.users is not None:
            sh.users -= 1
        if sh.held.get(ev.tid):
            sh.held[ev.tid] -= 1
        else:
            # a put by a thread that took no reference: the table's, put by
            # a close or close_all after unpublishing the state (its REMOVE
            # came first, unless it was lost)
            self._unpublish(sh)
        if ev.count < 0 or (sh.users is not None and sh.users < 0):
            self._report(out, sh, finding("refcount_nonnegative", ev,
                         f"putstate returned count {ev.count}, references counted "
                         f"{sh.users}", *list(sh.recent)[-4:-1]))
        if ev.count == 0:
            if sh.zeroed:
                self._report(out, sh, finding("refcount_zero_once", ev,
                             "refcount reached zero a second time"))
            elif sh.users is not None and sh.users > 0:
                self._report(out, sh, finding("refcount_zero_once", ev,
                             f"refcount reached zero with {sh.users} references "
                             f"still counted", *list(sh.recent)[-4:-1]))
            sh.zeroed = True
            if ev.state in self.live and self.live[ev.state] is sh:
                del self.live[ev.state]
                self.dead[ev.state] = sh
            self._unpublish(sh)     # the name must not follow a reused address
        elif sh.users == 0 and not sh.zeroed:
            self._report(out, sh, finding("refcount_zero_once", ev,
                         f"the last reference was put but the refcount is {ev.count}: "
                         f"the state is never freed", *list(sh.recent)[-5:-1]))

    def _unpublish(self, sh: Shadow) -> None:
        sh.published = False
        if self.names.get(sh.name) == sh.addr:
            del self.names[sh.name]

    def _on_exec_begin(self, ev: ExecBegin, out: list[Finding]) -> None:
        if self._shadow(ev, out) is None:
            return
        prev = self.open_exec.get(ev.tid)
        if prev is not None:
            self._report(out, self.live.get(prev.state), finding(
                "exec_ends", prev, "execute began and never ended (the same thread "
                "began another)", ev))
        self.open_exec[ev.tid] = ev

    def _on_exec_end(self, ev: ExecEnd, out: list[Finding]) -> None:
        self._shadow(ev, out)
        begin = self.open_exec.get(ev.tid)
        if begin is not None and begin.state == ev.state:
            del self.open_exec[ev.tid]

    def _on_alloc(self, ev: Alloc, out: list[Finding]) -> None:
        # the common case first, inline: a live state, the curralloc rebuilt
        # so far matches the state's own, within its limit (what _account
        # does then, without a finding); anything else takes the full path
        sh = self.live.get(ev.state)
        if sh is not None and sh.freed_by is None and sh.curralloc == ev.curralloc:
            after = ev.curralloc - ev.osize + ev.nsize
            limit = ev.maxalloc
            if not limit or after <= limit:
                sh.recent.append(ev)
                if limit:
                    sh.maxalloc = limit
                sh.allocs += 1
                sh.curralloc = after
                return
        self._alloc_or_deny(ev, out)

    def _on_deny(self, ev: Deny, out: list[Finding]) -> None:
        self._alloc_or_deny(ev, out)

    def _alloc_or_deny(self, ev: Alloc | Deny, out: list[Finding]) -> None:
        sh = self.live.get(ev.state)
        if sh is not None:
            if sh.freed_by is None:     # _shadow's path for a live state, inline
                self._account(sh, ev, out)
                return
            sh = self._shadow(ev, out)
            if sh is not None:
                sh.recent.pop()
                self._account(sh, ev, out)
            return
        emb = self.embryos.get(ev.state)
        if emb is not None and emb.tid == ev.tid:
            emb.events.append(ev)
            return
        if ev.state in self.dead and ev.curralloc != 0:
            self._shadow(ev, out)   # reports no_event_after_zero
            return
        if ev.curralloc != 0:
            # a state older than the session (a new one starts at 0), e.g.
            # its lua_close: adopt it, from this curralloc on
            sh = self._shadow(ev, out)
            if sh is not None:
                sh.recent.pop()
                self._account(sh, ev, out)
            return
        # a new state being built (its CREATE comes when create returns)
        self.embryos[ev.state] = Embryo(tid=ev.tid, events=[ev])

    def _on_free(self, ev: Free, out: list[Finding]) -> None:
        emb = self.embryos.pop(ev.state, None)
        if emb is not None and ev.state not in self.live:
            # a create that failed after allocating: its embryo must be empty
            sh = Shadow(addr=ev.state, name=ev.name, users=None)
            for e in emb.events:
                self._account(sh, e, out)
            self._account(sh, ev, out)
            f = check_free(ev)
            if f:
                out.append(f)
            return
        sh = self._shadow(ev, out)
        if sh is None:
            return
        sh.recent.pop()
        self._account(sh, ev, out)
        f = check_free(ev)
        if f:
            self._report(out, sh, f)
        for tid, begin in list(self.open_exec.items()):
            if begin.state == ev.state:
                del self.open_exec[tid]
                self._report(out, sh, finding("exec_ends", begin,
                             "execute began and never ended before the state was freed",
                             ev))
        sh.freed_by = ev.tid

    def _on_lock(self, ev: Lock, out: list[Finding]) -> None:
        self._shadow(ev, out)

    def _on_unlock(self, ev: Unlock, out: list[Finding]) -> None:
        self._shadow(ev, out)

    def _on_contention(self, ev: Contention, out: list[Finding]) -> None:
        self._shadow(ev, out)


# the event classes whose handlers feed looks up by class ("_on_" + kind otherwise)
_KINDS = (Create, Remove, Lookup, Get, Put, ExecBegin, ExecEnd, Alloc, Deny, Free, Lock,
          Unlock, Contention)

__all__ = ["Observer", "Shadow", "CHECKS"]
