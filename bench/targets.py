"""The issue's targets, judged on a finished table: one line each,

    target: <what> : met | NOT met | unresolved | not measured (figures)

Every throughput figure comes from the ABBA protocol (bench/protocol.py):
a median over pairs with a bootstrap 95% interval. Nothing is rounded in
our favour: a bound of 0.9499 does not meet 0.95, a tie does not beat a
peer, and a comparison whose intervals overlap is "unresolved", not met.

  - A/A (untraced against untraced, the same protocol): the noise floor;
    the half-width of its ratio interval <= 2%, per workload, or the line
    says it is not (the other verdicts of that workload are then weaker
    than they read);
  - with nothing attached, the module's tracepoints cost one static-key
    branch each: the untraced A/B of kernel/lunatik.ko (tracepoints) against
    build/kmod-notrace/lunatik.ko (none), same boot, modules swapped between
    blocks; met when the ratio's interval contains 1 or its lower bound is
    >= 0.99 (the line says which);
  - kernel summary mode on tracepoints costs at most 5%: the lower bound of
    the traced/untraced interval >= 0.95 for newclose, exec_small,
    exec_alloc (summary on kprobes alongside, as context);
  - lookup_mt: our summary adds less time per operation than every peer,
    and our summary program's cost per hit is at most twice the
    empty-program floor of its mechanism (bench/hitbench.py);
  - for the same information ours adds less time per operation than the
    peers, per workload, on both backends: summary against bpftrace and
    funclatency, stream against trace. "Less": the upper bound of our
    interval under the peer's lower bound; medians the other way round:
    NOT met; otherwise unresolved. Time added (1/traced - 1/untraced per
    pair) is what a tracer costs per call, comparable across peers whose
    baselines are their own blocks;
  - the observer keeps up with 1e6 events/s: the best "max events/s
    without drops" figure of group observer.
"""
from __future__ import annotations

from .figures import Figure, Table, _num, added_text, ratio_text

SUMMARY_MIN_RATIO = 0.95
AA_MAX_HALF_WIDTH = 0.02
PER_HIT_MAX_FACTOR = 2.0
NOTRACE_MIN_RATIO = 0.99
NOTRACE_CONFIG = "untraced: tracepoints / none"
OBSERVER_MIN = 1e6
WORKLOADS = ("newclose", "exec_small", "exec_alloc", "lookup_mt")
RATIO_WORKLOADS = ("newclose", "exec_small", "exec_alloc")
# ours -> the peers that give the same information, per backend
SAME_INFORMATION = {
    "kernel": {"summary (tracepoint)": ("bpftrace (tracepoint)", "bpftrace (kprobe)", "funclatency"),
               "summary (kprobe)": ("bpftrace (kprobe)", "funclatency"),
               "stream (tracepoint)": ("trace",)},
    "user": {"summary": ("bpftrace", "funclatency"), "stream": ("trace",)},
}
# our summary on lookup_mt against every peer
EVERY_PEER = {"kernel": ("bpftrace (tracepoint)", "bpftrace (kprobe)", "funclatency", "trace"),
              "user": ("bpftrace", "funclatency", "trace")}
OUR_SUMMARY = {"kernel": "summary (tracepoint)", "user": "summary"}


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


def _measured(f: Figure | None) -> bool:
    return f is not None and f.value > 0 and f.ratio is not None


def _why_not(f: Figure | None) -> str:
    if f is None:
        return "no figure"
    return f.note.removeprefix("not measured: ") or "did not run"


def _fmt(f: Figure) -> str:
    return f"{_num(f.value)} {f.unit}, ratio {ratio_text(f)}, {added_text(f)} us/op, n={f.pairs}"


def _few(f: Figure) -> str:
    """The protocol's note says when a figure has fewer pairs than planned."""
    i = f.note.find("ONLY ")
    return "; " + f.note[i:].split(";")[0].lower() if i >= 0 else ""


def _blocks(f: Figure) -> str:
    """"15 ABBA pairs x 2 s" from the protocol's note."""
    return f.note.split(",")[0] if "ABBA pairs" in f.note else f"{f.pairs} pairs"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# ---- the rules, on plain numbers (tests/test_bench_stats.py) ----

def ratio_rule(lo: float, minimum: float = SUMMARY_MIN_RATIO) -> bool:
    """The interval's lower bound at or above the minimum."""
    return lo >= minimum


def aa_rule(lo: float, hi: float, limit: float = AA_MAX_HALF_WIDTH) -> bool:
    """The A/A ratio interval's half-width within the limit."""
    return (hi - lo) / 2 <= limit


def beats(ours: tuple[float, float, float], peer: tuple[float, float, float]) -> str:
    """Time added per op, (median, lo, hi) each: "met" when ours lies
    entirely below the peer's interval, "NOT met" when our median is not
    below the peer's, else "unresolved"."""
    if ours[2] < peer[1]:
        return "met"
    if ours[0] >= peer[0]:
        return "NOT met"
    return "unresolved"


def notrace_rule(lo: float, hi: float, minimum: float = NOTRACE_MIN_RATIO) -> str:
    """The untraced tracepoints/none ratio: "contains 1", "lower bound >=
    0.99" (an effect, but below 1%), or "" (not met)."""
    if lo <= 1.0 <= hi:
        return "interval contains 1"
    if lo >= minimum:
        return f"lower bound >= {minimum:g}"
    return ""


def per_hit_rule(ours_ns: float, floor_ns: float, factor: float = PER_HIT_MAX_FACTOR) -> bool:
    """Our program's cost per hit at most factor times the empty program's."""
    return ours_ns <= factor * floor_ns


def combine(verdicts: list[str]) -> str:
    """All met: met; any NOT met: NOT met; otherwise unresolved."""
    if any(v == "NOT met" for v in verdicts):
        return "NOT met"
    if all(v == "met" for v in verdicts):
        return "met"
    return "unresolved"


def _triple(f: Figure) -> tuple[float, float, float]:
    assert f.added_us is not None
    lo = f.added_us if f.added_lo is None else f.added_lo
    hi = f.added_us if f.added_hi is None else f.added_hi
    return f.added_us, lo, hi


# ---- the targets ----

def judge_aa(tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    for side in ("user", "kernel"):
        for w in WORKLOADS:
            head = f"target: A/A noise floor, {side} {w}: ratio interval half-width <= {AA_MAX_HALF_WIDTH:.0%}"
            f = tp.get((side, w, "A/A"))
            if not _measured(f):
                if any(k[0] == side for k in tp):
                    lines.append(f"{head} : not measured ({_why_not(f)})")
                continue
            assert f is not None
            if f.ratio_lo is None or f.ratio_hi is None:
                lines.append(f"{head} : not measured (no interval)")
                continue
            half = (f.ratio_hi - f.ratio_lo) / 2
            ok = aa_rule(f.ratio_lo, f.ratio_hi)
            why = "" if ok else (f"; with {_blocks(f)} blocks the untraced blocks of this "
                                 "emulated (TCG) guest still differ by more than that: verdicts "
                                 "on this workload can only resolve larger effects")
            lines.append(f"{head} : {_verdict(ok)} (half-width {half:.1%}: {_fmt(f)}{_few(f)}{why})")
    return lines


def judge_notrace(tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    for w in WORKLOADS:
        head = (f"target: untraced, module with tracepoints / without (static keys only), {w}: "
                f"interval contains 1 or lower bound >= {NOTRACE_MIN_RATIO:g}")
        f = tp.get(("kernel", w, NOTRACE_CONFIG))
        if not _measured(f):
            if any(k[0] == "kernel" for k in tp):
                lines.append(f"{head} : not measured ({_why_not(f)})")
            continue
        assert f is not None and f.ratio_lo is not None and f.ratio_hi is not None
        why = notrace_rule(f.ratio_lo, f.ratio_hi)
        lines.append(f"{head} : {_verdict(bool(why))} ({why + ': ' if why else ''}{_fmt(f)}{_few(f)})")
    return lines


def judge_summary(tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    for config, context in (("summary (tracepoint)", ""), ("summary (kprobe)", " [context]")):
        for w in RATIO_WORKLOADS:
            head = (f"target: kernel {config} >= {SUMMARY_MIN_RATIO:.0%} of untraced "
                    f"(95% CI lower bound), {w}{context}")
            f = tp.get(("kernel", w, config))
            if not _measured(f):
                lines.append(f"{head} : not measured ({_why_not(f)})")
                continue
            assert f is not None
            lo = f.ratio if f.ratio_lo is None else f.ratio_lo
            assert lo is not None
            lines.append(f"{head} : {_verdict(ratio_rule(lo))} ({_fmt(f)}{_few(f)})")
    return lines


def _compare(tp: dict[tuple[str, str, str], Figure], side: str, w: str, ours_name: str,
             peers: tuple[str, ...], head: str) -> str:
    ours = tp.get((side, w, ours_name))
    if not _measured(ours):
        return f"{head} : not measured (ours: {_why_not(ours)})"
    assert ours is not None
    verdicts, shown, missing = [], [], []
    for peer in peers:
        f = tp.get((side, w, peer))
        if not _measured(f) or f is None or f.added_us is None:
            missing.append(f"{peer} ({_why_not(f)[:80]})")
            continue
        v = beats(_triple(ours), _triple(f))
        verdicts.append(v)
        shown.append(f"{peer} {added_text(f)}: {v}")
    figures = f"{ours_name} {added_text(ours)} us/op" + "".join(f"; vs {s}" for s in shown)
    if missing:
        figures += "; not measured: " + ", ".join(missing)
    if not verdicts:
        return f"{head} : not measured ({figures})"
    verdict = combine(verdicts) + (" for the peers measured" if missing else "")
    return f"{head} : {verdict} ({figures})"


def judge_peers(tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    for side in ("user", "kernel"):
        if not any(k[0] == side for k in tp):
            lines.append(f"target: ours adds less time per op than the peers, {side}: "
                         f"not measured (no {side} figures)")
            continue
        for w in WORKLOADS:
            for ours, peers in SAME_INFORMATION[side].items():
                head = f"target: our {ours} adds less time/op than {', '.join(peers)}, {side} {w}"
                lines.append(_compare(tp, side, w, ours, peers, head))
    return lines


def judge_lookup_mt(table: Table, tp: dict[tuple[str, str, str], Figure]) -> list[str]:
    lines = []
    ours = OUR_SUMMARY["kernel"]
    head = f"target: kernel lookup_mt, our {ours} adds less time/op than every peer"
    lines.append(_compare(tp, "kernel", "lookup_mt", ours, EVERY_PEER["kernel"], head))
    lines += judge_per_hit(table)
    return lines


def judge_per_hit(table: Table) -> list[str]:
    """Our summary program per hit <= twice its mechanism's empty program."""
    hits = [f for f in table.figures if f.group == "per-hit" and " / " in f.what]
    floors = {(_side(f), f.what.split(" / ")[0]): f for f in hits
              if f.what.endswith("/ empty program") and f.value > 0}
    lines = []
    for f in hits:
        if "our summary" not in f.what:
            continue
        mech = f.what.split(" / ")[0]
        head = (f"target: per hit, {_side(f)} {f.what} <= {PER_HIT_MAX_FACTOR:g}x the empty "
                f"program on {mech}")
        if f.value <= 0:
            lines.append(f"{head} : not measured ({_why_not(f)})")
            continue
        floor = floors.get((_side(f), mech))
        if floor is None:
            lines.append(f"{head} : not measured (no empty-program figure for {mech})")
            continue
        ok = per_hit_rule(f.value, floor.value)
        lines.append(f"{head} : {_verdict(ok)} (ours {f.value:,.0f} ns/hit "
                     f"[{(f.added_lo or 0) * 1e3:,.0f}, {(f.added_hi or 0) * 1e3:,.0f}], "
                     f"empty {floor.value:,.0f} ns/hit, x{f.value / floor.value:.2f})")
    if not any("our summary" in f.what for f in hits):
        lines.append("target: per hit, our summary <= 2x the empty program : not measured "
                     "(no per-hit figures)")
    return lines


def judge_observer(table: Table) -> list[str]:
    """One verdict: the observer (the same user-space consumer on both
    sides) keeps up with OBSERVER_MIN events/s in some live figure without
    drops. The best figure of each side is shown."""
    live = [f for f in table.figures if f.group == "observer"
            and f.what.startswith("max events/s without drops")]
    head = f"target: observer >= {OBSERVER_MIN:,.0f} events/s without drops"
    if not live:
        failed = [f for f in table.figures if f.group == "observer" and f.value == 0]
        why = f" ({failed[0].note})" if failed else ""
        return [f"{head} : no observer figure{why}"]
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
    return (judge_aa(tp) + judge_notrace(tp) + judge_summary(tp) + judge_lookup_mt(table, tp)
            + judge_peers(tp) + judge_observer(table))
