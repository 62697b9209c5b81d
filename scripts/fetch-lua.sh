#!/bin/bash
# Fetches Lua 5.4.8 from the lupa==2.8 sdist (third-party/lua54), checks the
# tarball's sha256 and copies the core and the libraries we use into
# build/lua/. Our luaconf.h (kernel/lua/luaconf.h) replaces upstream's, so
# luaconf.h is not copied; nor are the standalone programs, linit.c and the
# libraries we do not open (io, os, package, math, debug). The patches in
# kernel/lua/patches/*.patch (float-only code our integer-only build cannot
# compile; the instruction budget's hooks in C library loops) are applied
# to the copy.
#
# Usage: scripts/fetch-lua.sh [BUILD_DIR]   (default: <repo>/build)
# A tarball already present in BUILD_DIR/dl (or named by LUPA_TARBALL) is
# reused after its checksum is verified; otherwise pip downloads it.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$TOP/build}
DL=$BUILD/dl
OUT=$BUILD/lua
NAME=lupa-2.8
SHA256=d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08
TARBALL=$DL/$NAME.tar.gz

SOURCES="lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject
	lopcodes lparser lstate lstring ltable ltm lundump lvm lzio
	lauxlib lbaselib lstrlib ltablib lutf8lib lcorolib"
HEADERS="lapi lauxlib lcode lctype ldebug ldo lfunc lgc ljumptab llex
	llimits lmem lobject lopcodes lopnames lparser lprefix lstate lstring
	ltable ltm lua lualib lundump lvm lzio"

die() { echo "fetch-lua: $*" >&2; exit 1; }

mkdir -p "$DL"
if [ ! -f "$TARBALL" ] && [ -n "${LUPA_TARBALL:-}" ]; then
	cp "$LUPA_TARBALL" "$TARBALL"
fi
if [ ! -f "$TARBALL" ]; then
	PIP="python3 -m pip"
	[ -x "$TOP/.venv/bin/python" ] && PIP="$TOP/.venv/bin/python -m pip"
	echo "fetch-lua: downloading $NAME sdist"
	# pip prepares the sdist's metadata, and lupa's setup.py then builds
	# its two bundled LuaJITs (minutes): LUPA_NO_LUAJIT skips them, and
	# without build isolation pip does not build setuptools from source.
	# If that fails (no setuptools here), the plain command does it all.
	LUPA_NO_LUAJIT=true $PIP download --quiet --no-deps --no-binary :all: \
		--no-build-isolation --dest "$DL" lupa==2.8 ||
	$PIP download --quiet --no-deps --no-binary :all: --dest "$DL" \
		lupa==2.8 || die "pip download of lupa==2.8 failed"
fi
[ -f "$TARBALL" ] || die "$TARBALL not found after download"

got=$(sha256sum "$TARBALL" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
	echo "fetch-lua: CHECKSUM MISMATCH for $TARBALL" >&2
	echo "fetch-lua:   expected $SHA256" >&2
	echo "fetch-lua:   got      $got" >&2
	exit 1
fi

tmp=$(mktemp -d "$BUILD/.fetch-lua.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$TARBALL" -C "$tmp" "$NAME/third-party/lua54" ||
	die "cannot extract third-party/lua54 from $TARBALL"
src=$tmp/$NAME/third-party/lua54
grep -q 'LUA_VERSION_RELEASE[[:space:]]*"8"' "$src/lua.h" ||
	die "$TARBALL does not hold Lua 5.4.8"

rm -rf "$OUT.new"
mkdir -p "$OUT.new"
for f in $SOURCES; do cp "$src/$f.c" "$OUT.new/"; done
for f in $HEADERS; do cp "$src/$f.h" "$OUT.new/"; done
for p in "$TOP"/kernel/lua/patches/*.patch; do
	[ -e "$p" ] || continue
	patch --quiet --forward -p0 -d "$OUT.new" < "$p" ||
		die "patch $p does not apply"
done
# Every hook of patches/budget.patch must have landed: a C loop without one
# escapes the instruction budget (in the kernel: a lockup under a spinlock).
for f in lstrlib.c:6 ltablib.c:6 ldo.c:1; do
	n=$(grep -c 'luai_budgetstep(' "$OUT.new/${f%%:*}" || true)
	[ "$n" = "${f##*:}" ] ||
		die "${f%%:*} has $n budget hooks, expected ${f##*:}"
done
grep -q 'if (n <= 0 || l + lsep == 0)' "$OUT.new/lstrlib.c" ||
	die "lstrlib.c: string.rep of empty strings is not patched"
rm -rf "$OUT"
mv "$OUT.new" "$OUT"
echo "fetch-lua: Lua 5.4.8 in $OUT ($(ls "$OUT" | wc -l) files)"
