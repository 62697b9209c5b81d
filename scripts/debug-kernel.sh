#!/usr/bin/env bash
# Builds the debug kernel of `make test-debug` once per machine and prints
# its tree: Debian's linux-source (the same version as linux-image-amd64),
# virtme-ng's guest config, plus kernel/debug/debug.config. The tree is
# cached outside the work tree, under a key of the source version and the
# config, so that a clean clone reuses it:
#   ${XDG_CACHE_HOME:-~/.cache}/lunatik-bpf/debug-kernel/<version>-<key>/
# Progress goes to stderr; the tree's path is the only line on stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'debug-kernel: %s\n' "$*" >&2; }

fragment=$top/kernel/debug/debug.config
tarball=/usr/src/linux-source-6.1.tar.xz
need=(linux-source-6.1 dwarves flex bison bc libelf-dev libssl-dev rsync)

missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
vng_version=$("$top/.venv/bin/vng" --version 2>/dev/null || echo unknown)
key=$( { cat "$fragment"; echo "$vng_version"; } | sha256sum | cut -c1-12)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lunatik-bpf/debug-kernel
dir=$cache/$version-$key
tree=$dir/linux-source-6.1

if [ -f "$dir/.done" ]; then
	say "cached: $tree"
	echo "$tree"
	exit 0
fi

# One builder at a time; a second waits for the first and reuses its tree.
mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	say "another build is running; waiting for it"
	flock 9
	[ -f "$dir/.done" ] && { echo "$tree"; exit 0; }
fi

rm -rf "$dir"
mkdir -p "$dir"
say "unpacking $tarball ($version) into $dir"
tar -C "$dir" -xf "$tarball"
cd "$tree"
say "configuring: vng --kconfig, then $fragment"
PATH=$top/.venv/bin:$PATH vng --kconfig >"$dir/config.log" 2>&1
scripts/kconfig/merge_config.sh -m .config "$fragment" >>"$dir/config.log" 2>&1
make olddefconfig >>"$dir/config.log" 2>&1
# Every option the fragment asks for must have survived olddefconfig (a
# missing dependency drops an option silently).
bad=0
while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	opt=${line%%=*} want=${line#*=}
	if [ "$want" = n ]; then
		grep -q "^$opt=" .config && { say "$opt is set, wanted off"; bad=1; }
	else
		grep -qx "$opt=$want" .config || { say "$opt: wanted $want, got: $(grep "^$opt=\|$opt is not set" .config)"; bad=1; }
	fi
done <"$fragment"
[ $bad -eq 0 ] || { say "the config lacks options (see above); $dir/config.log"; exit 1; }

jobs=$(nproc)
say "building bzImage and modules with -j$jobs (about 20 min on 2 cores); log: $dir/build.log"
start=$(date +%s)
make -j"$jobs" >"$dir/build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 30
	kill -0 "$pid" 2>/dev/null || break
	say "$(( ($(date +%s) - start) / 60 )) min, $(grep -c '^  CC' "$dir/build.log" || true) files compiled"
done
if ! wait "$pid"; then
	tail -n 30 "$dir/build.log" >&2
	say "build failed; $dir/build.log"
	exit 1
fi
took=$(( $(date +%s) - start ))
say "built in $((took / 60)) min $((took % 60)) s: $(make -s kernelrelease)"
echo "$took" >"$dir/build-seconds"
touch "$dir/.done"
echo "$tree"
