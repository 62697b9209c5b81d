# The benchmark's workload driver (bench/driver.c): build/bench/lunatik-bench.
#   make bench-driver   build it (`make bench` depends on it)
# It dlopens the user-space library at run time (--library), so it links
# against nothing of ours; kernel/netlink.h gives it the family's numbers.
#
# The per-hit bench (bench/hitbench/, bench/hitbench.py), make bench only,
# never make test:
#   make bench-hitbench  build/bench/hitbench/hitbench.ko (a copy of
#                        bench/hitbench built by Kbuild against the KDIR of
#                        kernel/, with lunatik.ko's Module.symvers) and
#                        build/bench/uhit (its host half, uprobes)
#   make kmod-notrace    (mk/kmod.mk) build/kmod-notrace/lunatik.ko, the
#                        module without tracepoints: the untraced A/B of
#                        bench/protocol.py swaps it with kernel/lunatik.ko
# TOP, BUILD and KDIR come from the top Makefile.

BENCH_DRIVER := $(BUILD)/bench/lunatik-bench
BENCH_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter
HITBENCH_DIR := $(BUILD)/bench/hitbench
HITBENCH_KO := $(HITBENCH_DIR)/hitbench.ko
HITBENCH_SRC := $(addprefix $(TOP)/bench/hitbench/,Kbuild hitbench.c hitbench_trace.h)
UHIT := $(BUILD)/bench/uhit

.PHONY: bench-driver bench-hitbench
bench-driver: $(BENCH_DRIVER)

$(BENCH_DRIVER): $(TOP)/bench/driver.c $(TOP)/kernel/netlink.h $(TOP)/mk/bench.mk
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -ldl -pthread

bench-hitbench: $(UHIT)
	@if [ ! -f "$(KDIR)/Makefile" ] || [ ! -f "$(TOP)/kernel/Module.symvers" ]; then \
		echo "bench-hitbench: no kernel build tree at $(KDIR) or no kernel/Module.symvers: skipping hitbench.ko"; \
	else \
		mkdir -p $(HITBENCH_DIR) && cp $(HITBENCH_SRC) $(HITBENCH_DIR)/ && \
		$(MAKE) -C "$(KDIR)" M="$(HITBENCH_DIR)" \
			KBUILD_EXTRA_SYMBOLS="$(TOP)/kernel/Module.symvers" modules; \
	fi

$(UHIT): $(TOP)/bench/hitbench/uhit.c $(TOP)/mk/bench.mk
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -ldl

# `make bench` (top Makefile) builds these too: the hit bench, and the module
# without tracepoints (mk/kmod.mk) for the untraced tracepoints/none A/B
bench: bench-hitbench kmod-notrace
