# The module under the kernel's own bug finders (kernel/debug/debug.config):
#   make debug-kernel  build the debug kernel once per machine (cached under
#                      ~/.cache/lunatik-bpf/, about 20 min on 2 cores)
#   make kmod-debug    the module built against it, in build/kmod-debug/
#   make test-debug    the kernel suite in the VM on that kernel (scripts/test-debug.sh)
# TOP and BUILD come from the top Makefile; kmod_links from mk/kmod.mk.

KMOD_DEBUG_DIR := $(BUILD)/kmod-debug

.PHONY: debug-kernel kmod-debug test-debug
debug-kernel: setup
	@bash $(TOP)/scripts/debug-kernel.sh >/dev/null

kmod-debug: lua debug-kernel
	@tree=$$(bash $(TOP)/scripts/debug-kernel.sh 2>/dev/null) && \
	$(call kmod_links,$(KMOD_DEBUG_DIR)) && \
	$(MAKE) -C "$$tree" M="$(KMOD_DEBUG_DIR)" modules

test-debug: build kmod-debug
	bash $(TOP)/scripts/test-debug.sh
