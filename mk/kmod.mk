# The kernel module: kernel/lunatik.ko, built by Kbuild (kernel/Kbuild,
# which lists the state manager, Lua and module.o netlink.o) against the
# headers in KDIR. Needs the Lua sources (target `lua`).
#   make kmod        build the module (skipped, with a message, without KDIR)
#   make kmod-clean  remove Kbuild's outputs in kernel/
# TOP, KVER and KDIR come from the top Makefile.

KMOD := $(TOP)/kernel/lunatik.ko

.PHONY: kmod kmod-clean
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
