#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fails if an object, module or library contains a floating-point or SIMD
# instruction (x87, MMX, SSE, AVX: any use of %st, %mm, %xmm, %ymm, %zmm,
# %k mask registers, or an x87 mnemonic) or calls a soft-float helper
# (__adddf3 and friends), which is what a float operation compiled without
# FP registers turns into.
#
#   usage: check-nofp.sh FILE...    (e.g. kernel/lunatik.ko build/user/liblunatik.so)
set -eu

[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
status=0
for f in "$@"; do
	if [ ! -f "$f" ]; then
		echo "check-nofp: $f: no such file" >&2
		status=1
		continue
	fi
	# objdump lines: "  addr:<TAB>mnemonic operands"; x87 mnemonics all
	# start with f, and SSE/AVX ones name an xmm/ymm/zmm/k register
	insns=$(objdump -d --no-show-raw-insn "$f" | awk -F'\t' '
		/^ *[0-9a-f]+:\t/ {
			split($2, w, " "); m = w[1]
			if (m ~ /^(f[a-z0-9]+|emms|ldmxcsr|stmxcsr|fxsave|fxrstor|xsave[a-z0-9]*|xrstor[a-z0-9]*)$/ && m != "fs" ||
			    $2 ~ /%([xyz]mm[0-9]+|st(\([0-7]\))?|mm[0-7]|k[0-7])([^0-9a-z]|$)/)
				print
		}')
	softfp=$(nm -u "$f" 2>/dev/null |
		grep -E '__(add|sub|mul|div|neg|cmp|eq|ne|lt|le|gt|ge|unord|extend|trunc|fix|fixuns|float|floatun|pow)[a-z]*[sdtx]f[0-9]?\b' || true)
	n=$(objdump -d --no-show-raw-insn "$f" | grep -cE '^[[:space:]]+[0-9a-f]+:' || true)
	if [ -n "$insns" ] || [ -n "$softfp" ]; then
		echo "check-nofp: $f: FLOATING POINT FOUND" >&2
		[ -z "$insns" ] || echo "$insns" | head -20 >&2
		[ -z "$softfp" ] || echo "$softfp" >&2
		status=1
	else
		echo "check-nofp: $f: no FP/SIMD instruction in $n instructions, no soft-float call"
	fi
done
exit $status
