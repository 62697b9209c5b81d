# The kernel module: kernel/lunatik.ko, built by Kbuild (kernel/Kbuild,
# which lists the state manager, Lua and module.o netlink.o) against the
# headers in KDIR. Needs the Lua sources (target `lua`).
#   make kmod        build the module (skipped, with a message, without KDIR)
#   make kmod-notrace  the same module without its tracepoints, in
#                    build/kmod-notrace/ (a tree of links to kernel/): the
#                    untraced baseline of the bench, and the module that only
#                    kprobes can trace (the kernel suite's fallback test)
#   make kmod-clean  remove Kbuild's outputs in kernel/
# TOP, KVER and KDIR come from the top Makefile.

KMOD := $(TOP)/kernel/lunatik.ko

KMOD_NOTRACE_DIR := $(BUILD)/kmod-notrace
KMOD_NOTRACE := $(KMOD_NOTRACE_DIR)/lunatik.ko

.PHONY: kmod kmod-notrace kmod-clean
kmod: lua
	@if [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "kmod: no kernel build tree at $(KDIR) (KVER=$(KVER)): skipping the module"; \
	else \
		$(MAKE) -C "$(KDIR)" M="$(TOP)/kernel" modules; \
	fi

kmod-clean:
	@if [ -f "$(KDIR)/Makefile" ]; then \
		$(MAKE) -C "$(KDIR)" M="$(TOP)/kernel" clean; \
	fi

# Kbuild writes its objects next to the sources: the variant gets a tree of
# its own, of links to kernel/'s sources only (never to its objects: the
# compiler would write through them).
KMOD_SOURCES = $(shell cd $(TOP)/kernel && find . -path ./user -prune -o \
	\( -name '*.[chS]' -o -name Kbuild -o -name Makefile -o -name dkms.conf \) \
	! -name '*.mod.c' ! -path './generated/*' -print)

# $(call kmod_links,<dir>): shell commands making that tree in <dir>
kmod_links = for f in $(KMOD_SOURCES); do \
		mkdir -p "$(1)/$$(dirname $$f)" && ln -sfn "$(TOP)/kernel/$$f" "$(1)/$$f"; \
	done && ln -sfn "$(BUILD)/lua" "$(1)/lua/upstream"

kmod-notrace: lua
	@if [ ! -f "$(KDIR)/Makefile" ]; then \
		echo "kmod-notrace: no kernel build tree at $(KDIR) (KVER=$(KVER)): skipping"; \
	else \
		$(call kmod_links,$(KMOD_NOTRACE_DIR)) && \
		$(MAKE) -C "$(KDIR)" M="$(KMOD_NOTRACE_DIR)" LUNATIK_NO_TRACEPOINTS=1 modules; \
	fi
