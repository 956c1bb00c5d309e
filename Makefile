# nestirq build.  `make` builds build/nestirq; `make test` runs every test.
# V=1 shows the commands.

BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := x86

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)"
endif

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
NQ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -I$(BUILD) -MMD -MP
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The core: engine, trace files and outputs.  Plain C, no libbpf.
CORE_SRCS := $(sort $(wildcard src/core/*.c))
# The live side: loader, probe plan, BPF skeletons (links libbpf).
LIVE_SRCS := $(sort $(wildcard src/live/*.c))
CLI_SRCS := $(sort $(wildcard src/*.c))

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf \
	-I/usr/include/$(shell uname -m)-linux-gnu

CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
LIVE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIVE_SRCS))
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
SAN_CORE_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(CORE_SRCS))

LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
CORE_LIBS := -lz -lm

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
LIVE_TEST_SRCS := $(sort $(wildcard tests/live/*.c))
LIVE_TEST_BINS := $(patsubst tests/live/%.c,$(BUILD)/tests/live/%,$(LIVE_TEST_SRCS))
BENCH_SRCS := $(filter-out %.bpf.c,$(sort $(wildcard bench/*.c)))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
# The benchmarks' own BPF programs (a bare counter to compare against).
BENCH_BPF_SRCS := $(sort $(wildcard bench/*.bpf.c))
BENCH_SKELS := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF_SRCS))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all test unit deps format format-check fuzz bench demo run clean e2e
.DEFAULT_GOAL := all
# Keep intermediate objects (the sanitizer builds, BPF objects): no trailing
# "rm ..." after the test summary, and no rebuilds next time.
.SECONDARY:

all: $(BUILD)/nestirq

$(BUILD)/nestirq: $(CLI_OBJS) $(CORE_OBJS) $(LIVE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS) $(MHD_LIBS) $(CORE_LIBS)

# The live objects and the CLI include the skeletons.
$(LIVE_OBJS) $(CLI_OBJS): $(BPF_SKELS)

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(NQ_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $(NQ_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/nestirq/abi.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# Unit tests: the core under ASan and UBSan.
$(BUILD)/tests/%: tests/unit/%.c $(SAN_CORE_OBJS) tests/unit/check.h
	$(call msg,TEST-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $(NQ_CFLAGS) -Itests/unit -o $@ $< $(SAN_CORE_OBJS) $(CORE_LIBS)

# Live tests link the live side and libbpf.
$(BUILD)/tests/live/%: tests/live/%.c $(CORE_OBJS) $(LIVE_OBJS) $(BPF_SKELS)
	$(call msg,TEST-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(NQ_CFLAGS) -Itests/unit -o $@ $< $(CORE_OBJS) $(LIVE_OBJS) $(LIBS) $(CORE_LIBS)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BENCH_BINS): $(BENCH_SKELS)
$(BUILD)/bench/%: bench/%.c $(CORE_OBJS) $(BENCH_SKELS)
	$(call msg,BENCH-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g $(NQ_CFLAGS) -I$(BUILD)/bench -o $@ $< $(CORE_OBJS) $(LIBS) $(CORE_LIBS) -lpthread

# libFuzzer targets: clang only.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRCS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
		-Wall -Wextra -Werror -Iinclude -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

unit: $(UNIT_BINS)

test: all $(UNIT_BINS) $(LIVE_TEST_BINS) $(FUZZ_BINS) $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) bash tests/run.sh

fuzz: $(FUZZ_BINS)

bench: $(BENCH_BINS) all
	$(Q)BUILD=$(BUILD) bash bench/run.sh

demo: all
	-$(Q)$(BUILD)/nestirq replay tests/scenarios/demo.jsonl

run: all $(BUILD)/tests/live/kvm_msi
	$(Q)BUILD=$(BUILD) bash scripts/run-main.sh

# End-to-end on real KVM under QEMU TCG (nSVM) and Bochs (nVMX); E2E="qemu-6.12 ..." picks runs.
e2e: all
	$(Q)BUILD=$(BUILD) bash tests/e2e/matrix.sh $(E2E)

# Mutant KVM kernels built from Debian's linux-source-6.12, each re-introducing
# one real bug, under Bochs (docs/mutants.md); MUTANTS="v1_regression control" picks cases.
.PHONY: mutants
mutants: all
	$(Q)BUILD=$(BUILD) bash tests/mutants/run.sh $(MUTANTS)

deps:
	$(Q)bash scripts/deps.sh

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: clean"

clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
