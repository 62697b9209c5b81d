# The observer's native core (lunatik_bpf/tracing/native/observe.c):
# build/native/liblunatik-observe.so, loaded with ctypes by
# lunatik_bpf/tracing/native/__init__.py. It includes bpf/events.h, the record
# layout the BPF text (bpf/lunatik.bpf.c) uses. libbcc (its ring-buffer
# consumer) is opened with dlopen at run time, not linked: the library
# loads, and replays records offline, where BCC is absent.
#   make native
# TOP and BUILD come from the top Makefile.

NATIVE_OBSERVE := $(BUILD)/native/liblunatik-observe.so
NATIVE_CFLAGS := -O2 -g -Wall -Wextra -fPIC -shared -I$(TOP)/bpf
NATIVE_LDLIBS := -ldl -lpthread

.PHONY: native
native: $(NATIVE_OBSERVE) $(TOP)/lunatik_bpf/data/liblunatik-observe.so

# linked into the package's data (lunatik_bpf/data), shipped in the wheel
$(TOP)/lunatik_bpf/data/liblunatik-observe.so: $(NATIVE_OBSERVE)
	ln -sfrn $< $@

$(NATIVE_OBSERVE): $(TOP)/lunatik_bpf/tracing/native/observe.c $(TOP)/bpf/events.h $(TOP)/mk/native.mk
	@mkdir -p $(@D)
	$(CC) $(NATIVE_CFLAGS) -o $@ $< $(NATIVE_LDLIBS)
