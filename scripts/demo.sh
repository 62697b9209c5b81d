#!/usr/bin/env bash
# A live tracing session on the real module: in a VM booted on Debian's
# kernel when this kernel cannot load it (the harness decides), with the
# fresh kernel/lunatik.ko inserted. The same session then runs on the
# user-space library here, traced with uprobes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=$top/.venv/bin/python

echo "== the kernel module, traced with kprobes =="
"$PY" -m lunatik_bpf.vm -- "$PY" examples/trace_session.py kernel

echo
echo "== the user-space library in this process, traced with uprobes =="
"$PY" examples/trace_session.py user
