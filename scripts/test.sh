#!/usr/bin/env bash
# The whole suite: the host part (user-space library, uprobes) here, the
# kernel part (module, kprobes) inside the VM, or here when this kernel can
# load modules itself. Fails if either part fails.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=$top/.venv/bin/python
mkdir -p build/results

# Lua's own smoke checks, and no floating-point instruction in either build.
make -s lua-check lua-nofp || exit 1

"$PY" -m pytest -m "not kernel" --junitxml=build/results/host.xml tests
host=$?

# A hung test would otherwise hold CI until its own deadline: past 40 min
# the harness shows the hung tasks' kernel stacks and kills them.
# Through a pipe: with stdout or stderr on a regular file, the guest (which shares
# this filesystem) reopens that file and truncates what the host wrote.
"$PY" -m lunatik_bpf.testing.vm --timeout 2400 -- "$PY" -m pytest -m kernel \
	--junitxml=build/results/kernel.xml tests 2>&1 | cat
kern=$?

printf '\nhost suite: %s, kernel suite: %s\n' \
	"$([ $host -eq 0 ] && echo passed || echo "FAILED ($host)")" \
	"$([ $kern -eq 0 ] && echo passed || echo "FAILED ($kern)")"
[ $host -eq 0 ] && [ $kern -eq 0 ]
