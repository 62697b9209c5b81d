#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Measures the kernel stack that Lua recursion uses (kernel/lua/README.md):
# builds the test-only module lmeasure.ko (measure.c + our Lua build) in
# build/lmeasure and inserts it in a virtme-ng VM. For each scenario the
# module runs a fresh Lua state in a kthread whose stack it paints below its
# frame, then reports the deepest overwritten byte; it runs every scenario
# twice, the second time after using 3000 bytes of stack first, and then
# refuses to stay loaded (-EAGAIN). Output: build/lmeasure/result.txt.
#
#   kernel/lua/measure/run.sh [KVER]     (needs `make lua` first)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
KVER=${1:-6.1.0-56-amd64}
OUT=$TOP/build/lmeasure
SRC=$OUT/src

rm -rf "$SRC"
mkdir -p "$SRC"
cp "$TOP/kernel/lua/measure/measure.c" "$TOP/kernel/lua/measure/Kbuild" "$SRC/"
cp -rL "$TOP/kernel/lua" "$SRC/lua"
rm -rf "$SRC/lua/measure" "$SRC/lua/smoke"
make -C "/lib/modules/$KVER/build" M="$SRC" modules
cp "$SRC/lmeasure.ko" "$OUT/"

PATH=$TOP/.venv/bin:$PATH
vng --run "/boot/vmlinuz-$KVER" --disable-kvm --cpus 2 --memory 2G \
	--rwdir "$OUT" --exec "insmod $OUT/lmeasure.ko; dmesg | grep lmeasure: > $OUT/result.txt" || true
cat "$OUT/result.txt"
