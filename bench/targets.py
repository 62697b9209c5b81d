"""The issue's targets, judged on a finished table: one line each,

    target: <what> : met (figures)        or        : NOT met (figures)

and "not measured" when the figures to judge are missing (a half that did
not run, a peer that could not attach). Nothing is rounded in our favour:
a ratio of 0.9499 does not meet 0.95, a tie does not beat a peer.

  - summary mode costs at most 5% of untraced throughput on the kernel
    backend: ratio >= 0.95, for each workload;
  - for the same information our overhead is lower than every peer's: our
    summary adds less time per operation than bpftrace and funclatency,
    our stream less than trace, per workload, on both backends. The time
    added (1/traced - 1/untraced, each to the untraced runs around its own
    session) is what a tracer costs per call; comparing ratios instead
    would let the baseline's drift between two sessions decide whenever
    the tracer costs far more than the call (uprobes: a ratio of 0.04);
    with one baseline the two orders agree;
  - the observer keeps up with 1e6 events/s: the best "max events/s
    without drops" figure of group observer (the offline "decode" figures
    are context: no ring buffer, nothing to drop).
"""
from __future__ import annotations

from .figures import Figure, Table, _num

SUMMARY_MIN_RATIO = 0.95
OBSERVER_MIN = 1e6
WORKLOADS = ("newclose", "exec_small", "exec_alloc", "lookup_mt")
# ours -> the peers that give the same information
SAME_INFORMATION = {"summary": ("bpftrace", "funclatency"), "stream": ("trace",)}


def _is_kernel(f: Figure) -> bool:
    return f.where.startswith("VM") or "kprobes" in f.where or "module" in f.where


def _side(f: Figure) -> str:
    return "kernel" if _is_kernel(f) else "user"


def _throughput(table: Table) -> dict[tuple[str, str, str], Figure]:
    """(backend, workload, config) -> its figure."""
    out = {}
    for f in table.figures:
        if f.group != "throughput" or " / " not in f.what:
            continue
        workload, config = f.what.split(" / ", 1)
        out[(_side(f), workload, config)] = f
    return out


def _ran(f: Figure | None) -> bool:
    return f is not None and f.value > 0


def _fmt(f: Figure) -> str:
    ratio = "" if f.ratio is None else f" = {f.ratio:.3f}"
    added = "" if f.added_us is None else f", {f.added_us:+.2f} us/op"
    return f"{_num(f.value)} {f.unit}{ratio}{added}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def judge_summary(tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    for w in WORKLOADS:
        head = f"target: kernel summary >= {SUMMARY_MIN_RATIO:.0%} of untraced, {w}"
        ours, base = tp.get(("kernel", w, "summary")), tp.get(("kernel", w, "untraced"))
        if not _ran(base):
            lines.append(f"{head} : not measured (no kernel untraced figure)")
        elif not _ran(ours) or ours.ratio is None:
            lines.append(f"{head} : NOT met (summary did not run: {ours.note if ours else 'no figure'})")
        else:
            lines.append(f"{head} : {_verdict(ours.ratio >= SUMMARY_MIN_RATIO)} "
                         f"(summary {_fmt(ours)} of untraced {base.value:,.0f})")
    return lines


def judge_peers(tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    for side in ("user", "kernel"):
        if not any(k[0] == side for k in tp):
            lines.append(f"target: ours beats peers for the same information, {side}: "
                         f"not measured (no {side} figures)")
            continue
        for w in WORKLOADS:
            for mode, peers in SAME_INFORMATION.items():
                lines.append(_one_peer_line(tp, side, w, mode, peers))
    return lines


def _one_peer_line(tp: dict[tuple[str, str, str], Figure], side: str, w: str,
                   mode: str, peers: tuple[str, ...]) -> str:
    head = f"target: our {mode} beats {' and '.join(peers)}, {side} {w}"
    ours = tp.get((side, w, mode))
    if not _ran(ours):
        return f"{head} : NOT met (our {mode} did not run)"
    assert ours is not None
    compared, missing, ok = [], [], True
    for peer in peers:
        f = tp.get((side, w, peer))
        if not _ran(f):
            missing.append(peer)
            continue
        assert f is not None
        compared.append(f"{peer} {_fmt(f)}")
        ok = ok and _beats(ours, f)
    figures = f"{mode} {_fmt(ours)}" + "".join(f" vs {c}" for c in compared)
    if missing:
        figures += f"; {', '.join(missing)} not measured"
    if not compared:
        return f"{head} : not measured ({figures})"
    verdict = _verdict(ok) + (" for the peers measured" if missing else "")
    return f"{head} : {verdict} ({figures})"


def _beats(ours: Figure, peer: Figure) -> bool:
    """Lower overhead: less time added per operation over the untraced runs
    around each session; the raw throughput only when that is missing."""
    if ours.added_us is not None and peer.added_us is not None:
        return ours.added_us < peer.added_us
    return ours.value > peer.value


def judge_observer(table: Table) -> list[str]:
    """One verdict: the observer (the same user-space consumer on both
    sides) keeps up with OBSERVER_MIN events/s in some live figure without
    drops. The best figure of each side is shown: the VM's run under
    emulation, where no producer there offers that much."""
    live = [f for f in table.figures if f.group == "observer"
            and f.what.startswith("max events/s without drops")]
    head = f"target: observer >= {OBSERVER_MIN:,.0f} events/s without drops"
    if not live:
        return [f"{head} : no observer figure"]
    best = {}
    for f in live:
        side = _side(f)
        if side not in best or f.value > best[side].value:
            best[side] = f
    top = max(best.values(), key=lambda f: f.value)
    shown = "; ".join(f"{side}: {f.what} {f.value:,.0f} {f.unit}"
                      + (" (the producer saturated first)" if "saturated" in f.note else "")
                      for side, f in sorted(best.items()))
    return [f"{head} : {_verdict(top.value >= OBSERVER_MIN)} ({shown})"]


def judge(table: Table) -> list[str]:
    tp = _throughput(table)
    return judge_summary(tp) + judge_peers(tp) + judge_observer(table)
