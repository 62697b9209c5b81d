#!/usr/bin/env bash
# A live tracing session on the real module (through its tracepoints;
# lunatik-trace says which mechanism it attached): lunatik-trace runs the
# examples' workload and prints the event stream (allocations are counted in
# the summary, not printed), the per-state summary with its histograms, and
# the verdict of every check. The module runs in a VM booted on Debian's
# kernel when this kernel cannot load it (the harness decides). Then the same
# session on the user-space library here, traced with uprobes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=$top/.venv/bin/python
TRACE=$top/.venv/bin/lunatik-trace
KINDS=(create remove lookup get put exec_begin exec_end deny free lock unlock contention)
EVENTS=("${KINDS[@]/#/-e}")

echo "== the kernel module, traced through its own tracepoints (raw tracepoints) =="
"$PY" -m lunatik_bpf.testing.vm -- "$TRACE" "${EVENTS[@]}" \
	-c "$PY examples/workload.py kernel" 2>&1 | cat	# pipes: see test.sh

echo
echo "== the user-space library, traced with uprobes =="
"$TRACE" --user "${EVENTS[@]}" -c "$PY examples/workload.py user"
