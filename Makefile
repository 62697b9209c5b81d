# lunatik-bpf: `make demo` and `make test` are the contract (README.md).
# Each part of the build lives in its own fragment under mk/.
SHELL := /bin/bash
TOP := $(abspath .)
VENV := $(TOP)/.venv
PY := $(VENV)/bin/python
BUILD := $(TOP)/build
# The Debian kernel the module is built for and the VM boots.
KVER ?= $(shell ls /lib/modules 2>/dev/null | grep -E -- '-amd64$$' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build

.PHONY: all setup build test test-host test-vm test-debug demo bench clean
all: build

# Installs what is missing (apt, venv, pip), links headers, mounts tracefs.
setup: $(VENV)/.setup-done
$(VENV)/.setup-done: scripts/setup.sh requirements.txt pyproject.toml
	bash scripts/setup.sh
	touch $@

include mk/lua.mk
include mk/user.mk
include mk/kmod.mk
include mk/bench.mk
include mk/native.mk
include mk/debug.mk
include mk/dkms.mk

build: setup lua user kmod native

# The sanitizer and fault builds are test-only.
test: build kmod-notrace dkms-check user-asan user-tsan user-faults
	bash scripts/test.sh

demo: build
	bash scripts/demo.sh

bench: build bench-driver
	$(PY) -m bench

clean:
	rm -rf $(BUILD)
	$(MAKE) -C $(KDIR) M=$(TOP)/kernel clean >/dev/null 2>&1 || true
