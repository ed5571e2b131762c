# skiff: plain GNU make build (see README.md).
#
#   make                 build every binary into $(B)/bin
#   make check           unit tests (Check) + integration tests (prove t/);
#                        t/helpers/*.c are programs those tests run
#   make check SANITIZE=1  the same, built with ASan+UBSan into build-san/
#   make install PREFIX=/usr/local DESTDIR=
#   make bench | run | format | format-check | clean
#
# Build dependencies are checked (and installed, as root) by scripts/deps
# before anything is compiled; their flags come from pkg-config and are
# cached in $(B)/config.mk.

SANITIZE ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
# libFuzzer build of the fuzz targets (make fuzz): clang only.
B ?= build-fuzz
CC := clang
SAN_FLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_MAIN :=
FUZZ_LDFLAGS := -fsanitize=fuzzer
else ifeq ($(SANITIZE),1)
B ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
B ?= build
SAN_FLAGS :=
endif

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/skiff
SYSCONFDIR ?= /etc

PKGS := libseccomp libcap libmnl inih jansson yaml-0.1 libnftables libarchive libcrypto
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Werror -I. $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS) \
	-MMD -MP
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

# Link order: dependencies point cmd -> modules -> lib.
MODULES := kubelet ctrl sched api net runtime store lib
BUILT_MODULES := $(foreach m,$(MODULES),$(if $(wildcard $(m)/*.c),$(m)))
MODULE_LIBS := $(foreach m,$(BUILT_MODULES),$(B)/libskiff-$(m).a)

BINS := skiff skiffd skiff-runtime skiff-monitor skiff-image
BIN_PATHS := $(addprefix $(B)/bin/,$(BINS))
UNIT_SRCS := $(wildcard t/unit/test_*.c)
UNIT_BINS := $(patsubst t/unit/%.c,$(B)/t/unit/%,$(UNIT_SRCS))
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard t/unit/*.c))
HELPER_SRCS := $(wildcard t/helpers/*.c)
HELPER_BINS := $(patsubst t/helpers/%.c,$(B)/t/helpers/%,$(HELPER_SRCS))
FUZZ_SRCS := $(wildcard t/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst t/fuzz/%.c,$(B)/t/fuzz/%,$(FUZZ_SRCS))
FUZZ_MAIN ?= $(B)/t/fuzz/replay.o
FUZZ_SECONDS ?= 30
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
INTEGRATION_TESTS := $(sort $(wildcard t/t[0-9][0-9][0-9][0-9]-*.sh))

NODEPS_GOALS := clean format format-check deps man-check
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
include $(B)/config.mk
endif

.PHONY: all check unit integration install bench run clean format format-check deps man-check \
	fuzz fuzz-run fuzz-replay run-clean
.DEFAULT_GOAL := all
# Keep intermediate objects so a rebuild does not recompile everything.
.SECONDARY:

all: $(BIN_PATHS) $(BENCH_BINS) $(HELPER_BINS) $(FUZZ_BINS)

deps:
	@scripts/deps

$(B)/config.mk: scripts/deps Makefile
	@scripts/deps
	@mkdir -p $(B)
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; \
	   echo "CHECK_CFLAGS := $$(pkg-config --cflags check)"; \
	   echo "CHECK_LIBS := $$(pkg-config --libs check)"; } > $@.tmp && mv $@.tmp $@

$(B)/%.o: %.c $(B)/config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

define module_rule
$(B)/libskiff-$(1).a: $$(patsubst %.c,$(B)/%.o,$$(wildcard $(1)/*.c))
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach m,$(BUILT_MODULES),$(eval $(call module_rule,$(m))))

# --as-needed (gcc's default on Debian, not clang's): skiffd references
# neither libarchive nor libcrypto (the importers in skiff-image and
# skiff-runtime do), and each mapped library costs the agent resident
# memory (bench/README.md, agent memory).
LINK_LIBS = -Wl,--as-needed -Wl,--start-group $(MODULE_LIBS) -Wl,--end-group $(PKG_LIBS) -lm

$(B)/bin/%: $(B)/cmd/%.o $(MODULE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_LIBS)

# skiff-runtime is exec'd once or twice for each container it starts
# (the re-exec that closes CVE-2019-5736): linked statically it skips the
# dynamic loader's work, about 0.8 ms of a 5 ms run here (bench/runtime).
# Not under the sanitizers (ASan needs the dynamic runtime); the static
# libraries come with Debian's -dev packages. RUNTIME_STATIC=0 turns it off.
RUNTIME_STATIC ?= $(if $(SAN_FLAGS),0,1)
# With it, on x86_64 and aarch64, bin/skiff-runtime is a launcher without
# libc (runtime/launcher/skiff-runtime.c) in front of libexec/skiff-runtime:
# glibc's start-up costs ~0.55 ms of CPUID traps on a VM per image, and the
# first image only re-executes the second from a read-only view.
RUNTIME_LAUNCHER ?= $(if $(filter x86_64-% aarch64-%,$(shell $(CC) -dumpmachine)),$(RUNTIME_STATIC),0)
RUNTIME_REAL := $(if $(filter 1,$(RUNTIME_LAUNCHER)),$(B)/libexec/skiff-runtime,$(B)/bin/skiff-runtime)
ifeq ($(RUNTIME_STATIC),1)
$(RUNTIME_REAL): $(B)/cmd/skiff-runtime.o $(MODULE_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -static -o $@ $< -Wl,--start-group $(MODULE_LIBS) -Wl,--end-group \
		-lseccomp -lcap -ljansson -lm
endif
ifeq ($(RUNTIME_LAUNCHER),1)
$(B)/bin/skiff-runtime: runtime/launcher/skiff-runtime.c $(RUNTIME_REAL)
	@mkdir -p $(@D)
	$(CC) -O2 -static -nostdlib -fno-stack-protector -fno-builtin -o $@ $<
endif

$(B)/t/unit/%.o: t/unit/%.c $(B)/config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(B)/t/unit/test_%: $(B)/t/unit/test_%.o $(patsubst %.c,$(B)/%.o,$(UNIT_HELPERS)) $(MODULE_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(CHECK_LIBS)

$(B)/bench/%: $(B)/bench/%.o $(MODULE_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_LIBS)

# Test helper programs (drivers and checkers the shell tests run).
$(B)/t/helpers/%: $(B)/t/helpers/%.o $(MODULE_LIBS)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LINK_LIBS)

# Fuzz targets (t/fuzz/fuzz_*.c): every build links them with a replay
# driver, and `make check` runs the saved corpus t/fuzz/corpus/<name>/
# through them; `make fuzz` builds them with libFuzzer (clang) and fuzzes
# each for FUZZ_SECONDS, new inputs going to build-fuzz/corpus/.
$(B)/t/fuzz/fuzz_%: $(B)/t/fuzz/fuzz_%.o $(FUZZ_MAIN) $(MODULE_LIBS)
	$(CC) $(ALL_LDFLAGS) $(FUZZ_LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS)

fuzz-replay: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	    n=$${f##*/fuzz_}; echo "== fuzz corpus $$n"; \
	    $$f t/fuzz/corpus/$$n || exit 1; \
	done

fuzz:
	$(MAKE) FUZZ=1 fuzz-run

fuzz-run: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	    n=$${f##*/fuzz_}; mkdir -p $(B)/corpus/$$n; echo "== fuzz $$n for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	        -print_final_stats=1 $(B)/corpus/$$n t/fuzz/corpus/$$n >$(B)/corpus/$$n.log 2>&1 || \
	        { tail -n 60 $(B)/corpus/$$n.log; exit 1; }; \
	    grep -E "^stat::(number_of_executed_units|new_units_added)" $(B)/corpus/$$n.log; \
	done

check: unit fuzz-replay integration

# Each unit suite is its own program; every one runs even if one fails.
unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	    echo "== $$t"; $$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "unit tests FAILED" >&2; exit 1; fi

integration: $(BIN_PATHS) $(HELPER_BINS)
	@if [ -n "$(INTEGRATION_TESTS)" ]; then \
	    SKIFF_BUILD=$(abspath $(B)) prove $(PROVE_FLAGS) $(INTEGRATION_TESTS); \
	fi

bench: all
	@for b in bench/*; do \
	    [ -f "$$b" ] && [ -x "$$b" ] || continue; \
	    SKIFF_BUILD=$(abspath $(B)) "$$b" $(BENCH_FLAGS) || exit 1; \
	done

run: all
	@scripts/run-demo

# Remove what make run left: its state, bridge, routes and nftables table.
run-clean:
	@scripts/run-demo clean

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 755 $(B)/bin/skiff $(DESTDIR)$(BINDIR)/skiff
	install -m 755 $(B)/bin/skiffd $(DESTDIR)$(SBINDIR)/skiffd
	install -m 755 $(B)/bin/skiff-runtime $(DESTDIR)$(SBINDIR)/skiff-runtime
ifeq ($(RUNTIME_LAUNCHER),1)
	install -d $(DESTDIR)$(SBINDIR)/../libexec
	install -m 755 $(B)/libexec/skiff-runtime $(DESTDIR)$(SBINDIR)/../libexec/skiff-runtime
endif
	install -m 755 $(B)/bin/skiff-monitor $(DESTDIR)$(SBINDIR)/skiff-monitor
	install -m 755 $(B)/bin/skiff-image $(DESTDIR)$(SBINDIR)/skiff-image
	for page in man/*.[1-8]; do \
	    sec=$${page##*.}; \
	    install -d $(DESTDIR)$(MANDIR)/man$$sec; \
	    install -m 644 $$page $(DESTDIR)$(MANDIR)/man$$sec/; \
	done
	cp -R etc/. $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in skiffd-server skiffd-agent; do \
	    sed 's|/usr/local/sbin/|$(SBINDIR)/|g' etc/$$u.service \
	        >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u.service && \
	    chmod 644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$u.service || exit 1; \
	done
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 etc/bash_completion.d/skiff \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/skiff
	install -d $(DESTDIR)$(SYSCONFDIR)/skiff
	[ -e $(DESTDIR)$(SYSCONFDIR)/skiff/skiffd.conf ] || \
	    install -m 644 etc/skiffd.conf $(DESTDIR)$(SYSCONFDIR)/skiff/skiffd.conf

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

# Manual pages must be free of mandoc warnings (style notes such as
# "referenced manual not found" for uninstalled pages are allowed).
man-check:
	mandoc -T lint -W warning man/*.[1-8]

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
