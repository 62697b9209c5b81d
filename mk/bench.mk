# The benchmark's workload driver (bench/driver.c): build/bench/lunatik-bench.
#   make bench-driver   build it (`make bench` depends on it)
# It dlopens the user-space library at run time (--library), so it links
# against nothing of ours; kernel/netlink.h gives it the family's numbers.
# TOP and BUILD come from the top Makefile.

BENCH_DRIVER := $(BUILD)/bench/lunatik-bench
BENCH_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter

.PHONY: bench-driver
bench-driver: $(BENCH_DRIVER)

$(BENCH_DRIVER): $(TOP)/bench/driver.c $(TOP)/kernel/netlink.h $(TOP)/mk/bench.mk
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -ldl -pthread
