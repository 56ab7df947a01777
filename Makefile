# lrokit - see README.md.  `make` builds, `make check` runs the TAP suite
# under prove (installing missing packages first with `make deps`).
#
#   make SANITIZE=1 check   build in build-san/ with ASan+UBSan and test that
#   make CC=clang           any C11 compiler; clean under gcc and clang
#   make DEVELOPER=1        warnings are errors (development and CI builds)
#
# Sources are found by directory: every .c in lib/ lro_ref/ analyzers/
# collectors/ schema/ reports/ testbed/ goes into build/liblrokit.a, cli/*.c
# makes the lrokit binary, tests/t-*.c are TAP unit-test programs and
# tests/t-*.sh TAP scripts, bench/*.c benchmark programs ($(BUILD)/bench/NAME,
# run by bench/perf-*.sh), fuzz/fuzz-*.c libFuzzer targets (clang only).

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

PKGS := libpcap sqlite3 libgcrypt zlib libzstd liblzma liburing
HAVE_XENSTAT := $(shell $(PKG_CONFIG) --exists xenstat 2>/dev/null && echo 1)
ifeq ($(HAVE_XENSTAT),1)
PKGS += xenstat
XEN_CFLAGS := -DLK_HAVE_XENSTAT=1
endif

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT     ?= -O1
else
BUILD   ?= build
OPT     ?= -O2
endif

CFLAGS  ?= $(OPT) -g
# Link-time optimisation of the lrokit binary with gcc (not under the
# sanitizers; LTO=0 turns it off): measured 7% fewer instructions per packet
# in `lrokit analyze` (make perf-analyze). Objects carry both LTO bytecode and
# ordinary code (-ffat-lto-objects): lrokit links with -flto, the test and
# bench programs link the ordinary code, as without LTO.
IS_GCC := $(shell $(CC) -v 2>&1 | grep -q '^gcc version' && echo 1)
ifneq ($(SANITIZE),1)
ifeq ($(IS_GCC),1)
LTO ?= 1
endif
endif
ifeq ($(LTO),1)
LTO_CFLAGS := -flto=auto -ffat-lto-objects
LTO_LINK := -flto=auto
NO_LTO_LINK := -fno-lto
endif
# Warnings are errors only in development and CI builds (git's DEVELOPER=1
# pattern): a user building a release with a newer compiler is not stopped by
# a warning that compiler invented. .ci/run sets DEVELOPER=1.
WFLAGS  := -std=c11 -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes
ifeq ($(DEVELOPER),1)
WFLAGS  += -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -I. $(XEN_CFLAGS) \
	    $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm -lpthread
ALLCFLAGS = $(WFLAGS) $(CFLAGS) $(SANFLAGS)

LIB_DIRS := lib lro_ref analyzers collectors schema reports testbed
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
# The version (lk_version, declared in lib/version.h) is defined in one
# generated file, rewritten at a make only when `git describe` changed, so a
# relink after a commit cannot keep objects that name an older version.
VERSION_C := $(BUILD)/gen/version.c
VERSION_LINE := const char lk_version[] = "$(VERSION)";
ifneq ($(MAKECMDGOALS),clean)
$(shell mkdir -p $(BUILD)/gen && { [ "$$(cat $(VERSION_C) 2>/dev/null)" = '$(VERSION_LINE)' ] || \
	printf '%s\n' '$(VERSION_LINE)' > $(VERSION_C); })
endif
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/version.o
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard tests/t-*.c)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(wildcard fuzz/fuzz-*.c)
FUZZ_BINS := $(FUZZ_SRCS:%.c=build-fuzz/%)
LIBA := $(BUILD)/liblrokit.a

.PHONY: all check test deps install clean fuzz perf perf-analyze perf-lro \
	perf-testbed perf-collectors bench
.DEFAULT_GOAL := all
# keep test objects (they are intermediate files of a pattern chain)
.SECONDARY:

all: $(BUILD)/lrokit $(TEST_BINS) $(HELPER_BINS) $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(OBJ_LTO) -MMD -MP -c -o $@ $<

$(LIB_OBJS) $(CLI_OBJS): OBJ_LTO := $(LTO_CFLAGS)

$(BUILD)/gen/version.o: $(VERSION_C)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(OBJ_LTO) -include lib/version.h -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/lrokit: $(CLI_OBJS) $(LIBA)
	$(CC) $(ALLCFLAGS) $(LTO_LINK) -o $@ $(CLI_OBJS) $(LIBA) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBA)
	$(CC) $(ALLCFLAGS) $(NO_LTO_LINK) -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBA)
	$(CC) $(ALLCFLAGS) $(NO_LTO_LINK) -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_BINS:=.d) $(HELPER_BINS:=.d) $(BENCH_BINS:=.d)

# The lro_ref engine broken on purpose (-DLRO_TEST_BREAK_CSUM: it merges
# without verifying checksums) linked into copies of the engine tests in
# $(BUILD)/broken/, for tests/t-lro-checker.sh, which proves the checker
# (tests/helpers/lro-check.h) catches it. Never in liblrokit.a or a shipped
# binary: the broken object comes first, so the library's lro.o is not linked.
BROKEN_BINS := $(BUILD)/broken/t-lro-engine $(BUILD)/broken/t-lro-selftest
all: $(BROKEN_BINS)
$(BUILD)/broken/lro.o: lro_ref/lro.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DLRO_TEST_BREAK_CSUM $(ALLCFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/broken/t-lro-engine: $(BUILD)/tests/t-lro-engine.o $(BUILD)/broken/lro.o $(LIBA)
	$(CC) $(ALLCFLAGS) $(NO_LTO_LINK) -o $@ $(BUILD)/broken/lro.o $< $(LIBA) $(LDFLAGS) $(LDLIBS)
$(BUILD)/broken/t-lro-selftest: $(BUILD)/tests/t-lro-selftest.o $(BUILD)/broken/lro.o $(LIBA)
	$(CC) $(ALLCFLAGS) $(NO_LTO_LINK) -o $@ $(BUILD)/broken/lro.o $< $(LIBA) $(LDFLAGS) $(LDLIBS)
-include $(BUILD)/broken/lro.d

# Installs missing Debian packages (idempotent; does nothing when all are there).
# `make deps` installs everything (build, tests, fuzzing); `make bench` only
# what the benchmark needs (tools/deps.sh bench).
deps:
	@./tools/deps.sh all

# The test suite: TAP under prove. Root-only tests skip with a reason elsewhere.
# Every skip goes through tests/skip-check: under CI (CI=true, as root) a skip
# not listed in tests/allowed-skips fails its test. The suite ends with the
# list of skips ($(BUILD)/skips.log); the exit status is prove's.
check: deps
	@$(MAKE) --no-print-directory all
	@$(RUN_TESTS)

test: all
	@$(RUN_TESTS)

define RUN_TESTS
rm -f $(BUILD)/skips.log; \
echo "LK_BUILD=$(BUILD) prove $(PROVE_FLAGS) $(TEST_BINS) $(wildcard tests/t-*.sh)"; \
LK_BUILD=$(BUILD) LK_SKIP_LOG=$(CURDIR)/$(BUILD)/skips.log prove $(PROVE_FLAGS) $(TEST_BINS) $(wildcard tests/t-*.sh); \
rc=$$?; ./tests/skip-check --summary $(BUILD)/skips.log; exit $$rc
endef

# libFuzzer targets: clang with ASan+UBSan; FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build-fuzz/fuzz/%: fuzz/%.c $(LIB_SRCS) $(VERSION_C)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(WFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(VERSION_C) $(LDLIBS)
fuzz: $(FUZZ_BINS)
	@./tools/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# Benchmarks (never part of `make check`): medians of several runs.
perf: perf-analyze perf-lro
perf-analyze: all
	LK_BUILD=$(BUILD) ./bench/perf-analyze.sh
perf-lro: all
	LK_BUILD=$(BUILD) ./bench/perf-lro.sh
perf-testbed: all
	LK_BUILD=$(BUILD) ./bench/perf-testbed.sh
perf-collectors: all
	LK_BUILD=$(BUILD) ./bench/perf-collectors.sh

# The main job: measure every configuration into one results folder
# (results/DATE-TIME-PID: lrokit.db, captures/, report/). Installs only the
# packages bench needs, builds only the lrokit binary (a sub-make:
# pkg-config must see the packages just installed). BENCH_ARGS are passed
# on, e.g. make bench BENCH_ARGS="--profile paper".
bench:
	@./tools/deps.sh bench
	@$(MAKE) --no-print-directory $(BUILD)/lrokit
	@out=results/$$(date +%Y%m%d-%H%M%S)-$$$$; \
	echo "$(BUILD)/lrokit bench --out $$out $(BENCH_ARGS)"; \
	$(BUILD)/lrokit bench --out $$out $(BENCH_ARGS); rc=$$?; \
	if [ -d $$out ]; then echo "results: $(CURDIR)/$$out (report: $(CURDIR)/$$out/report/report.html)"; fi; \
	exit $$rc

install: $(BUILD)/lrokit
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/lrokit $(DESTDIR)$(PREFIX)/bin/lrokit


clean:
	rm -rf build build-san build-fuzz
