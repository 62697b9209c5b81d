# The user-space build of the state manager: the same kernel/*.c as the
# module, behind the <linux/...> stand-ins of kernel/user/include.
#
#   make user          build/user/liblunatik.so + build/user/lunatik-ctest
#                      + build/user/lunatik-stress
#   make user-asan     build/user-asan/ (AddressSanitizer + LeakSanitizer)
#   make user-tsan     build/user-tsan/ (ThreadSanitizer)
#   make user-faults   build/user-fault-<name>/liblunatik.so, test-only
#                      libraries with one deliberate bug (tests/c/faults/)
#   make user-check    builds and runs the C test and the stress program
#
# Everything (Lua included) is compiled with -mgeneral-regs-only: a floating
# point instruction anywhere is a build error. liblunatik.so exports every
# symbol with default visibility (the tracer uprobes the probe functions by
# name); callers must call lunatik_states_init() once before anything else.
# TOP, BUILD and the LUA_* variables come from the top Makefile and mk/lua.mk.

USER_SM := states alloc execute control klua
USER_SM_SRCS := $(addprefix $(TOP)/kernel/,$(addsuffix .c,$(USER_SM))) \
	$(TOP)/kernel/user/shim.c
# the layout of lunatik_State the tracer reads (kernel/offsets.c), made as
# Kbuild makes it for the module; every variant has the user shims' layout
USER_GENERATED := $(BUILD)/user/generated
USER_OFFSETS := $(USER_GENERATED)/lunatik_offsets.h
# headers are tracked by -MMD; these make every object rebuild on a change
# of the flags
USER_MK := $(TOP)/mk/user.mk $(TOP)/mk/lua.mk
USER_HDRS := $(USER_MK) $(USER_OFFSETS)
USER_CC ?= $(CC)
USER_CFLAGS := -MMD -MP -O2 -g -Wall -fPIC -fno-strict-overflow -fno-strict-aliasing \
	-I$(TOP)/kernel/user/include -I$(TOP)/kernel -I$(USER_GENERATED) $(LUA_USER_CFLAGS) \
	-DKBUILD_MODNAME='"lunatik"'
USER_TEST_CFLAGS := -O1 -g -Wall -I$(TOP)/kernel/user/include -I$(TOP)/kernel \
	-I$(USER_GENERATED) -I$(LUA_PORT) -I$(LUA_DIR) -DKBUILD_MODNAME='"lunatik-test"'
USER_LDLIBS := -lpthread

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer

USER_FAULTS := put_nodec alloc_nosub exec_skip_end
# A fault build makes every probe function weak, so that the one strong
# definition in tests/c/faults/<name>.c replaces it.
USER_FAULT_CFLAGS := -D'LUNATIK_PROBE=__attribute__((__noipa__, __weak__))'
# exec_skip_end also replaces lunatik_ctl_execute, to hold the setjmp that
# its lunatik_execute longjmps back to.
USER_FAULT_WEAKEN_exec_skip_end := lunatik_ctl_execute

# The package's data (lunatik_bpf/data) links to the library and its layout:
# the default library of the user backend, shipped in the wheel.
PKG_DATA := $(TOP)/lunatik_bpf/data

.PHONY: user user-asan user-tsan user-faults user-check
user: $(BUILD)/user/liblunatik.so $(BUILD)/user/lunatik-ctest \
	$(BUILD)/user/lunatik-stress $(PKG_DATA)/liblunatik.so $(PKG_DATA)/lunatik_offsets.h

$(PKG_DATA)/liblunatik.so: $(BUILD)/user/liblunatik.so
	ln -sfrn $< $@
$(PKG_DATA)/lunatik_offsets.h: $(USER_OFFSETS)
	ln -sfrn $< $@
user-asan: $(BUILD)/user-asan/liblunatik.so $(BUILD)/user-asan/lunatik-ctest \
	$(BUILD)/user-asan/lunatik-stress
user-tsan: $(BUILD)/user-tsan/liblunatik.so $(BUILD)/user-tsan/lunatik-ctest \
	$(BUILD)/user-tsan/lunatik-stress
user-faults: $(foreach f,$(USER_FAULTS),$(BUILD)/user-fault-$(f)/liblunatik.so)

user-check: user
	$(BUILD)/user/lunatik-ctest
	$(BUILD)/user/lunatik-stress

# offsets.s carries "->NAME value expression" markers (linux/kbuild.h);
# the sed is Kbuild's sed-offsets (scripts/Makefile.lib).
$(BUILD)/user/offsets.s: $(TOP)/kernel/offsets.c $(USER_MK) | lua
	@mkdir -p $(@D)
	$(USER_CC) $(filter-out -MMD -MP -g,$(USER_CFLAGS)) -S -o $@ $<

$(USER_OFFSETS): $(BUILD)/user/offsets.s
	@mkdir -p $(@D)
	{ echo '#ifndef LUNATIK_OFFSETS_H'; echo '#define LUNATIK_OFFSETS_H'; \
	  sed -ne 's:^[[:space:]]*\.ascii[[:space:]]*"->\([^ ]*\) [$$#]*\([^ ]*\) \(.*\)".*:#define \1 \2 /* \3 */:p' $<; \
	  echo '#endif'; } > $@.tmp && mv $@.tmp $@

# The Lua sources appear once `lua` has fetched them (so that the pattern
# rules below apply in a fresh tree).
$(addprefix $(LUA_DIR)/,$(addsuffix .c,$(LUA_CORE))): | $(LUA_STAMP) ;

# $(call user_variant,<dir>,<extra cflags>): objects of the state manager and
# Lua in build/<dir>/obj, the library and the two C programs.
define user_variant
$(BUILD)/$(1)/obj/sm/%.o: $(TOP)/kernel/%.c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(2) -c -o $$@ $$<

$(BUILD)/$(1)/obj/sm/shim.o: $(TOP)/kernel/user/shim.c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(2) -c -o $$@ $$<

$(BUILD)/$(1)/obj/lua/%.o: $(LUA_DIR)/%.c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(2) -c -o $$@ $$<

$(BUILD)/$(1)/obj/lua/lualibs.o: $(LUA_PORT)/lualibs.c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(2) -c -o $$@ $$<

$(1)_OBJS := $(addprefix $(BUILD)/$(1)/obj/sm/,$(addsuffix .o,$(USER_SM) shim)) \
	$(addprefix $(BUILD)/$(1)/obj/lua/,$(addsuffix .o,$(LUA_CORE) lualibs))

$(BUILD)/$(1)/liblunatik.so: $$($(1)_OBJS)
	$(USER_CC) $(2) -shared -o $$@ $$^ $(USER_LDLIBS)

$(BUILD)/$(1)/lunatik-%: $(TOP)/tests/c/%.c $(BUILD)/$(1)/liblunatik.so \
		$(TOP)/tests/c/ctest.h $(wildcard $(TOP)/kernel/*.h) $(USER_HDRS)
	$(USER_CC) $(USER_TEST_CFLAGS) $(2) -o $$@ $$< \
		-L$(BUILD)/$(1) -Wl,-rpath,'$$$$ORIGIN' -llunatik $(USER_LDLIBS)
endef

$(eval $(call user_variant,user,))
$(eval $(call user_variant,user-asan,$(ASAN_FLAGS)))
$(eval $(call user_variant,user-tsan,$(TSAN_FLAGS)))

# $(call user_fault,<name>): the state manager with weak probes plus the
# fault file, over the Lua objects of build/user.
define user_fault
$(BUILD)/user-fault-$(1)/obj/%.o: $(TOP)/kernel/%.c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(USER_FAULT_CFLAGS) -c -o $$@ $$<
	$(if $(USER_FAULT_WEAKEN_$(1)),objcopy $(addprefix --weaken-symbol=,$(USER_FAULT_WEAKEN_$(1))) $$@)

$(BUILD)/user-fault-$(1)/obj/shim.o: $(TOP)/kernel/user/shim.c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(USER_FAULT_CFLAGS) -c -o $$@ $$<

$(BUILD)/user-fault-$(1)/obj/fault.o: $(TOP)/tests/c/faults/$(1).c $(USER_HDRS) | lua
	@mkdir -p $$(@D)
	$(USER_CC) $(USER_CFLAGS) $(USER_FAULT_CFLAGS) -c -o $$@ $$<

$(BUILD)/user-fault-$(1)/liblunatik.so: \
		$(addprefix $(BUILD)/user-fault-$(1)/obj/,$(addsuffix .o,$(USER_SM) shim fault)) \
		$(addprefix $(BUILD)/user/obj/lua/,$(addsuffix .o,$(LUA_CORE) lualibs))
	$(USER_CC) -shared -o $$@ $$^ $(USER_LDLIBS)
endef

$(foreach f,$(USER_FAULTS),$(eval $(call user_fault,$(f))))

-include $(wildcard $(BUILD)/user*/obj/*.d $(BUILD)/user*/obj/*/*.d)
