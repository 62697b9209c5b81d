# Lua 5.4.8 sources (fetched, never committed) and the integer-only port.
#   make lua        build/lua/ (sources) + kernel/lua/upstream symlink
#   make lua-check  user-space smoke test of the port (build/lua-smoke),
#                   compiled with -mgeneral-regs-only: any FP use fails to build
#   make lua-nofp   disassembles kernel/lunatik.ko and build/user/liblunatik.so
#                   (those that exist, at least one) and fails on any x87/SSE/
#                   AVX instruction or soft-float call
# TOP and BUILD come from the top Makefile.

LUA_DIR := $(BUILD)/lua
LUA_STAMP := $(LUA_DIR)/.stamp
LUA_LINK := $(TOP)/kernel/lua/upstream
LUA_PORT := $(TOP)/kernel/lua

# The Lua objects both builds compile (kernel/Kbuild lists the same names).
LUA_CORE := lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject \
	lopcodes lparser lstate lstring ltable ltm lundump lvm lzio \
	lauxlib lbaselib lstrlib ltablib lutf8lib lcorolib

# For user-space builds of Lua (mk/user.mk uses these): the sources,
# including our lualibs.c, and the flags. Our luaconf.h is found first.
LUA_USER_SRCS := $(addprefix $(LUA_DIR)/,$(addsuffix .c,$(LUA_CORE))) \
	$(LUA_PORT)/lualibs.c
LUA_USER_CFLAGS := -I$(LUA_PORT) -I$(LUA_DIR) -mgeneral-regs-only \
	-DLUNATIK_USER

.PHONY: lua lua-check lua-nofp
lua: $(LUA_STAMP) $(LUA_LINK)

$(LUA_STAMP): $(TOP)/scripts/fetch-lua.sh $(wildcard $(TOP)/kernel/lua/patches/*.patch)
	bash $(TOP)/scripts/fetch-lua.sh $(BUILD)
	touch $@

$(LUA_LINK): | $(LUA_STAMP)
	ln -sfn ../../build/lua $@

LUA_SMOKE := $(BUILD)/lua-smoke
$(LUA_SMOKE): $(LUA_PORT)/smoke/lua-smoke.c $(LUA_PORT)/luaconf.h \
		$(LUA_PORT)/lualibs.c $(LUA_STAMP)
	$(CC) -O2 -g -Wall -Wextra -Wno-unused-parameter $(LUA_USER_CFLAGS) \
		-DLUNATIK_NOBUDGET -o $@ $< $(LUA_USER_SRCS) -pthread

lua-check: $(LUA_SMOKE)
	$(LUA_SMOKE)

LUA_NOFP_FILES = $(wildcard $(TOP)/kernel/lunatik.ko $(BUILD)/user/liblunatik.so)
lua-nofp:
	@test -n "$(LUA_NOFP_FILES)" || { echo "lua-nofp: nothing built yet" >&2; exit 1; }
	sh $(TOP)/kernel/lua/check-nofp.sh $(LUA_NOFP_FILES)
