# The module installed as other out-of-tree modules are (README: Install):
#   make dkms-source  its sources, Lua's included, in DKMS_SOURCE (default
#                     /usr/src/lunatik-<version>), where dkms finds them
#   make install      dkms add, build and install for KVER (on a machine that
#                     loads modules; then `modprobe lunatik`)
#   make uninstall    dkms remove
#   make dkms-check   a DKMS build against the Debian headers, in build/dkms/
#                     with trees of its own (the kernel suite loads its module)
# TOP, BUILD, KVER and KMOD_SOURCES come from the top Makefile and mk/kmod.mk.

DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/kernel/dkms.conf)
DKMS_SOURCE ?= /usr/src/lunatik-$(DKMS_VERSION)
DKMS_CHECK := $(BUILD)/dkms
DKMS_CHECK_TREES := --sourcetree $(DKMS_CHECK)/src --dkmstree $(DKMS_CHECK)/tree
DKMS_CHECK_KO := $(DKMS_CHECK)/tree/lunatik/$(DKMS_VERSION)/$(KVER)/x86_64/module/lunatik.ko

.PHONY: dkms-source install uninstall dkms-check
dkms-source: lua
	@rm -rf "$(DKMS_SOURCE)" && mkdir -p "$(DKMS_SOURCE)/lua/upstream"
	@cd $(TOP)/kernel && for f in $(KMOD_SOURCES); do \
		install -D -m 644 "$$f" "$(DKMS_SOURCE)/$$f"; done
	@cp $(BUILD)/lua/*.[ch] "$(DKMS_SOURCE)/lua/upstream/"
	@echo "dkms-source: $(DKMS_SOURCE)"

install: setup
	$(MAKE) dkms-source
	-dkms remove -m lunatik -v $(DKMS_VERSION) --all >/dev/null 2>&1
	dkms add -m lunatik -v $(DKMS_VERSION)
	dkms install -m lunatik -v $(DKMS_VERSION) -k $(KVER)

uninstall:
	dkms remove -m lunatik -v $(DKMS_VERSION) --all

dkms-check: lua
	@rm -rf "$(DKMS_CHECK)" && mkdir -p "$(DKMS_CHECK)/tree"
	$(MAKE) -s dkms-source DKMS_SOURCE=$(DKMS_CHECK)/src/lunatik-$(DKMS_VERSION)
	dkms add -m lunatik -v $(DKMS_VERSION) $(DKMS_CHECK_TREES)
	dkms build -m lunatik -v $(DKMS_VERSION) -k $(KVER) $(DKMS_CHECK_TREES)
	@test -f "$(DKMS_CHECK_KO)" && echo "dkms-check: $(DKMS_CHECK_KO)"
