#!/usr/bin/env bash
# Installs what is missing on a Debian bookworm machine (run as root):
# apt packages, the venv (with Debian's BCC visible), the pinned pip
# packages, kernel headers for the running kernel, and tracefs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
say() { printf 'setup: %s\n' "$*"; }

APT_PACKAGES=(
	build-essential bc flex bison libelf-dev libssl-dev kmod pkg-config patch
	python3 python3-venv python3-dev python3-bpfcc bpfcc-tools bpftrace
	linux-headers-amd64 linux-image-amd64
	qemu-system-x86 busybox-static udev iproute2 ca-certificates
	chromium linux-perf dkms linux-source-6.1
)

install_apt() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	say "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The newest Debian kernel installed: the module is built for it and the VM
# boots it.
debian_kver() {
	ls /lib/modules | grep -E -- '-amd64$' | sort -V | tail -n 1
}

# BCC compiles against /lib/modules/$(uname -r)/build. A host kernel that
# ships no headers of its own gets the Debian headers instead: enough for
# uprobes and tracepoints, which read no kernel structures.
link_headers() {
	local run kver dir
	run=$(uname -r)
	dir=/lib/modules/$run
	[ -e "$dir/build/Makefile" ] && return
	kver=$(debian_kver)
	say "the running kernel $run has no headers; linking $dir/build and" \
	    "$dir/source to the Debian $kver headers (for BCC's uprobes and tracepoints)"
	mkdir -p "$dir"
	local build common
	build=$(readlink -f "/lib/modules/$kver/build")
	# Debian splits the headers: the arch-specific tree includes the
	# common one, which is the "source" tree BCC looks for.
	common=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$build/Makefile" | head -n 1)
	[ -d "$common" ] || common=$build
	ln -sfn "$build" "$dir/build"
	ln -sfn "$common" "$dir/source"
}

mount_tracefs() {
	if [ ! -e /sys/kernel/tracing/trace_pipe ]; then
		say "mounting tracefs on /sys/kernel/tracing"
		mount -t tracefs nodev /sys/kernel/tracing || true
	fi
	if [ ! -e /sys/kernel/debug/tracing ] && [ -d /sys/kernel/debug ] &&
	   ! mountpoint -q /sys/kernel/debug; then
		mount -t debugfs nodev /sys/kernel/debug 2>/dev/null || true
	fi
}

make_venv() {
	if [ ! -x .venv/bin/python ]; then
		say "creating .venv (with Debian's system packages, for BCC)"
		/usr/bin/python3 -m venv --system-site-packages .venv
	fi
	say "installing pinned Python packages"
	.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
	.venv/bin/pip install -q --disable-pip-version-check -e . 
	.venv/bin/python -c 'import bcc' 2>/dev/null ||
		{ echo "setup: BCC's Python bindings are not importable" >&2; exit 1; }
}

[ "$(id -u)" -eq 0 ] || { echo "setup: run as root (apt, headers, tracefs)" >&2; exit 1; }
install_apt
link_headers
mount_tracefs
make_venv
say "done"
