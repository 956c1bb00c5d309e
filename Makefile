# nestirq build.  `make` builds build/nestirq; `make test` runs every test.
# V=1 shows the commands.
#
# Rooms along the data path (README "Layout"):
#   bpf/ -> src/live/ -> src/trace/ -> src/engine/ -> src/report/ -> src/serve/, src/cmd/
# The "core" (trace, engine, report, netaddr) is plain C with no libbpf; the
# unit tests, fuzzers and the replay benchmark link only the core.

BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
ARCH := x86
PREFIX ?= /usr/local

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)"
endif

# A target whose recipe fails is removed, never left half-written.
.DELETE_ON_ERROR:

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
NQ_CPPFLAGS := -D_GNU_SOURCE -Iinclude -Isrc -I$(BUILD) $(CPPFLAGS)
NQ_CFLAGS := -std=c11 $(WARN) -MMD -MP
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# The parts of serve that need no library beyond libc: address parsing and
# the structured violation records, unit-tested with the core.
SERVE_CORE_SRCS := src/serve/netaddr.c src/serve/vrecord.c src/serve/vring.c
CORE_SRCS := $(sort $(wildcard src/common/*.c src/trace/*.c src/engine/*.c src/report/*.c)) \
	$(SERVE_CORE_SRCS)
SERVE_SRCS := $(filter-out $(SERVE_CORE_SRCS),$(sort $(wildcard src/serve/*.c)))
LIVE_SRCS := $(sort $(wildcard src/live/*.c))
CMD_SRCS := $(sort $(wildcard src/cmd/*.c))

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS = -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf \
	-I/usr/include/$(shell uname -m)-linux-gnu -MMD -MP

CORE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
SERVE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SERVE_SRCS))
LIVE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIVE_SRCS))
CMD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CMD_SRCS))
SAN_CORE_OBJS := $(patsubst %.c,$(BUILD)/san/%.o,$(CORE_SRCS))

# Recursive (=), not immediate (:=): pkg-config runs when a link runs, so
# `make deps all` links against what `deps` has just installed.
BPF_LIBS = $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf) -lelf -lz
MHD_LIBS = $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)
# serve: sd_journal_send, the --web.config.file YAML, bcrypt via crypt_rn,
# and GnuTLS (already libmicrohttpd's) to check the certificate and key.
SERVE_LIBS = $(shell $(PKG_CONFIG) --libs libsystemd yaml-0.1 libxcrypt gnutls 2>/dev/null || \
	echo -lsystemd -lyaml -lcrypt -lgnutls)
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

.PHONY: all test unit deps format format-check fuzz bench demo run clean e2e check-libs
.DEFAULT_GOAL := all
# Keep intermediate objects (the sanitizer builds, BPF objects): no trailing
# "rm ..." after the test summary, and no rebuilds next time.
.SECONDARY:

all: $(BUILD)/nestirq

# One clear line instead of a compiler or linker error when a -dev package
# is missing (a fresh machine that has not run `make deps`).
check-libs:
	$(Q)missing=; \
	for p in libbpf libmicrohttpd libelf zlib libsystemd yaml-0.1 libxcrypt gnutls; do \
		$(PKG_CONFIG) --exists $$p 2>/dev/null || missing="$$missing $$p"; \
	done; \
	command -v $(CLANG) >/dev/null || missing="$$missing clang"; \
	command -v $(BPFTOOL) >/dev/null || missing="$$missing bpftool"; \
	if [ -n "$$missing" ]; then \
		echo "nestirq: missing build dependencies:$$missing (run: make deps)" >&2; exit 1; \
	fi

$(BUILD)/nestirq: $(CMD_OBJS) $(SERVE_OBJS) $(LIVE_OBJS) $(CORE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(BPF_LIBS) $(MHD_LIBS) $(SERVE_LIBS) $(CORE_LIBS)

# The live objects and the commands include the skeletons.
$(LIVE_OBJS) $(CMD_OBJS): $(BPF_SKELS)
$(BPF_OBJS) $(CMD_OBJS) $(SERVE_OBJS): | check-libs

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(NQ_CPPFLAGS) $(NQ_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) $(NQ_CPPFLAGS) $(NQ_CFLAGS) -c $< -o $@

# -MMD: the object tracks every header it includes (probes.h, abi.h, the
# CO-RE flavours), so the skeleton and the loader never drift apart.
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
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
	$(Q)$(CC) $(SAN_FLAGS) $(NQ_CPPFLAGS) $(NQ_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< \
		$(SAN_CORE_OBJS) $(CORE_LIBS)

# Live tests link the live side and libbpf.
$(BUILD)/tests/live/%: tests/live/%.c $(CORE_OBJS) $(LIVE_OBJS) $(BPF_SKELS)
	$(call msg,TEST-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(NQ_CPPFLAGS) $(NQ_CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< \
		$(CORE_OBJS) $(LIVE_OBJS) $(BPF_LIBS) $(CORE_LIBS)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BENCH_BINS): $(BENCH_SKELS)
$(BUILD)/bench/accept_cost: $(BPF_SKELS) # drives nestirq's own accept program
$(BUILD)/bench/%: bench/%.c $(CORE_OBJS) $(BENCH_SKELS)
	$(call msg,BENCH-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g $(NQ_CPPFLAGS) $(NQ_CFLAGS) -I$(BUILD)/bench $(LDFLAGS) -o $@ $< \
		$(CORE_OBJS) $(BPF_LIBS) $(CORE_LIBS) -lpthread

# libFuzzer targets: clang only.  -MMD tracks the headers of the one-step
# build, so a changed trace.h or trace_internal.h rebuilds the fuzzer.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRCS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 $(NQ_CPPFLAGS) \
		-Wall -Wextra -Werror -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< $(CORE_SRCS) $(CORE_LIBS)

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

# ---- Install (README "Install") ----
# make install [PREFIX=/usr/local] [DESTDIR=staging]; make uninstall with the same.
VERSION := $(shell sed -n 's/^\#define NESTIRQ_VERSION "\(.*\)"/\1/p' include/nestirq/version.h)
SCDOC ?= scdoc
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/nestirq
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install
INSTALLED := $(BINDIR)/nestirq $(MANDIR)/man8/nestirq.8 $(COMPLETIONDIR)/nestirq \
	$(SYSTEMDUNITDIR)/nestirq.service $(DATADIR)/nestirq-alerts.yml $(DATADIR)/nestirq-dashboard.json

.PHONY: man install uninstall
man: $(BUILD)/man/nestirq.8

# The man page's one source is man/nestirq.8.scd; tests/cli/install.sh
# checks it names every flag each command's --help shows.
$(BUILD)/man/nestirq.8: man/nestirq.8.scd include/nestirq/version.h
	$(call msg,SCDOC,$@)
	$(Q)command -v $(SCDOC) >/dev/null || { echo "nestirq: scdoc is missing (run: make deps)" >&2; exit 1; }
	$(Q)mkdir -p $(@D)
	$(Q)sed 's/@VERSION@/$(VERSION)/' $< | $(SCDOC) > $@

install: all man
	$(Q)$(INSTALL) -Dm755 $(BUILD)/nestirq $(DESTDIR)$(BINDIR)/nestirq
	$(Q)$(INSTALL) -Dm644 $(BUILD)/man/nestirq.8 $(DESTDIR)$(MANDIR)/man8/nestirq.8
	$(Q)$(INSTALL) -Dm644 contrib/bash-completion/nestirq $(DESTDIR)$(COMPLETIONDIR)/nestirq
	$(Q)$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	$(Q)sed 's|/usr/local/bin/nestirq|$(BINDIR)/nestirq|g' contrib/systemd/nestirq.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/nestirq.service
	$(Q)chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/nestirq.service
	$(Q)$(INSTALL) -Dm644 contrib/prometheus/nestirq-alerts.yml $(DESTDIR)$(DATADIR)/nestirq-alerts.yml
	$(Q)$(INSTALL) -Dm644 contrib/grafana/nestirq-dashboard.json $(DESTDIR)$(DATADIR)/nestirq-dashboard.json
	$(Q)printf '  %-8s %s\n' $(foreach f,$(INSTALLED),INSTALL $(DESTDIR)$(f))

uninstall:
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(DESTDIR)$(DATADIR) 2>/dev/null || true
