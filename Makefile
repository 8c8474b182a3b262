# libtrace: one non-recursive Makefile.
#   make            build build/libtrace.so and build/libtrace (installs deps)
#   make test       build, then run every test
#   make demo       trace a shipped sample and print its report
#   make install    PREFIX=/usr/local DESTDIR=
#   make V=1        show full commands
# User CFLAGS/LDFLAGS/CPPFLAGS are added to ours, never replaced.

VERSION  := 0.1
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
DESTDIR  ?=
BUILD    ?= build

CC       ?= cc
CFLAGS   ?= -O2 -g
PKG_CONFIG ?= pkg-config

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wwrite-strings -Wformat=2 -fno-common
BASE_CFLAGS := -std=gnu11 $(WARNINGS) -Iinclude -MMD -MP -D_GNU_SOURCE

UNWIND_CFLAGS = $(shell $(PKG_CONFIG) --cflags libunwind 2>/dev/null)
UNWIND_LIBS   = $(shell $(PKG_CONFIG) --libs libunwind 2>/dev/null || echo -lunwind)
DW_LIBS       = $(shell $(PKG_CONFIG) --libs libdw 2>/dev/null || echo -ldw -lelf)
CMOCKA_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
LZ4_LIBS      = $(shell $(PKG_CONFIG) --libs liblz4 2>/dev/null || echo -llz4)

ifneq ($(V),1)
Q     := @
msg    = @printf '  %-7s %s\n' $(1) $(2);
else
Q     :=
msg    =
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all deps test unit integration demo install clean check-exports samples faults programs shim-tests export-tests

all: $(BUILD)/libtrace.so $(BUILD)/libtrace samples

# ---- dependencies -----------------------------------------------------------
# Debian packages the build and the tests need; installed only when missing.
deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok: tools/deps.sh | $(BUILD)
	$(Q)sh tools/deps.sh
	$(Q)touch $@
# The viewers only the export tests use (go, valgrind, chromium: large).  A
# failed install does not stop the tests: theirs then say "skipped".
$(BUILD)/.deps-test-ok: tools/deps.sh | $(BUILD)
	$(Q)if sh tools/deps.sh test; then touch $@; else \
	    echo "libtrace: export viewers not installed; their tests will say skipped" >&2; fi

# ---- flags stamp: a change of compiler or flags rebuilds everything --------
FLAGS_NOW := $(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(BASE_CFLAGS)
$(BUILD)/.flags: FORCE | $(BUILD)
	$(Q)echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
.PHONY: FORCE
FORCE:

# ---- the shim ----------------------------------------------------------------
SHIM_SRC := $(wildcard interposer/*.c)
SHIM_OBJ := $(SHIM_SRC:%.c=$(BUILD)/%.o)
SHIM_CFLAGS := -fPIC -fvisibility=hidden -ftls-model=initial-exec \
               -fno-omit-frame-pointer $(UNWIND_CFLAGS)

# The wrappers read the caller's stack pointer from the CFA, and malloc's
# and free's counting paths save no frame pointer (see hooks.c).
$(BUILD)/interposer/hooks.o: SHIM_CFLAGS += -fomit-frame-pointer

$(BUILD)/interposer/%.o: interposer/%.c $(BUILD)/.flags $(BUILD)/.deps-ok | $(BUILD)/interposer
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(SHIM_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libtrace.so: $(SHIM_OBJ) interposer/libtrace.map Makefile
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,--version-script=interposer/libtrace.map \
	    -Wl,-z,now -Wl,-z,nodelete -Wl,-z,defs -o $@ $(SHIM_OBJ) $(LDFLAGS) $(UNWIND_LIBS) $(LZ4_LIBS) -lm -ldl -lpthread

# ---- the analyzer ------------------------------------------------------------
ANA_SRC := $(wildcard analyzer/*.c)
ANA_OBJ := $(ANA_SRC:%.c=$(BUILD)/%.o)
ANA_LIB_OBJ := $(filter-out $(BUILD)/analyzer/main.o,$(ANA_OBJ))

$(BUILD)/analyzer/%.o: analyzer/%.c $(BUILD)/.flags $(BUILD)/.deps-ok | $(BUILD)/analyzer
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libtrace: $(ANA_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $(ANA_OBJ) $(LDFLAGS) $(DW_LIBS) $(LZ4_LIBS) -lz -lstdc++ -lpthread

# ---- samples -----------------------------------------------------------------
# Built with frame pointers and without inlining across the functions whose
# call sites the tests name.
SAMPLE_SRC := $(wildcard samples/*.c)
SAMPLE_BIN := $(SAMPLE_SRC:samples/%.c=$(BUILD)/samples/%)
SAMPLE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fno-inline -fno-builtin -pthread

samples: $(SAMPLE_BIN)
$(BUILD)/samples/%: samples/%.c $(BUILD)/.flags | $(BUILD)/samples
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -Wall -Wextra -Iinclude $(SAMPLE_CFLAGS) $(CPPFLAGS) -o $@ $< $(LDFLAGS)

# ---- tests -------------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%.o: tests/unit/%.c $(BUILD)/.flags $(BUILD)/.deps-ok | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -Ianalyzer -Iinterposer $(UNWIND_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Each unit test links the objects of the module it tests: tests/unit/test_X.mk
# adds them as prerequisites, e.g.  $(BUILD)/tests/test_fmt: $(BUILD)/analyzer/fmt.o
$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LDFLAGS) $(CMOCKA_LIBS) $(DW_LIBS) $(UNWIND_LIBS) $(LZ4_LIBS) -lz -lstdc++ -ldl -lpthread
-include $(wildcard tests/unit/*.mk)

unit: $(UNIT_BIN)
	$(Q)sh tests/unit/run.sh $(UNIT_BIN)

integration: all
	$(Q)sh tests/integration/run.sh $(BUILD)

shim-tests: all $(BUILD)/.deps-test-ok
	$(Q)sh tests/shim/run.sh $(BUILD)

faults: all
	$(Q)bash tests/faults/run.sh $(BUILD)

programs: all
	$(Q)bash tests/programs/run.sh $(BUILD)

export-tests: all $(BUILD)/.deps-test-ok
	$(Q)bash tests/exports/run.sh $(BUILD)

test: all unit integration check-exports shim-tests fuzz-replay faults programs export-tests

# Budgets, diff, JUnit, the in-process API, install and the cmocka example.
.PHONY: check-tests
check-tests: all
	$(Q)bash tests/integration/check.sh $(BUILD)
test: check-tests

# libtrace threads: samples' own answers per site, ThreadSanitizer, snapshots.
.PHONY: threads-tests
threads-tests: all
	$(Q)bash tests/integration/threads.sh $(BUILD)
test: threads-tests

# libtrace top, peak and leaks: escape classes against the samples' answers.
.PHONY: escape-tests
escape-tests: all
	$(Q)bash tests/integration/escape.sh $(BUILD)
test: escape-tests

check-exports: $(BUILD)/libtrace.so
	$(Q)sh tests/check-exports.sh $(BUILD)/libtrace.so

demo: all
	$(Q)$(BUILD)/libtrace run -- $(BUILD)/samples/churn

# Benchmarks beside heaptrack (make bench; never part of make test): installs
# what it runs (bench/setup.sh), prints medians and writes bench/RESULTS.md.
# BENCH_RUNS=N, BENCH_ONLY=micro,python,... (bench/run.py says the rest).
.PHONY: bench
BENCH_WORK ?= $(BUILD)/bench/work
bench: all $(BUILD)/bench/micro
	$(Q)sh bench/setup.sh $(BENCH_WORK)
	$(Q)/usr/bin/python3 bench/run.py $(BUILD) $(BENCH_WORK) bench/RESULTS.md
$(BUILD)/bench/micro: bench/micro.c $(BUILD)/.flags
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 $(WARNINGS) $(CFLAGS) -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls \
	    -pthread $(CPPFLAGS) -o $@ $< $(LDFLAGS)

# Fuzzing (make fuzz, fuzz-smoke, fuzz-replay): tests/fuzz/fuzz.mk
include tests/fuzz/fuzz.mk
# Sanitizer builds (make asan, ubsan, tsan): tests/sanitize.mk
include tests/sanitize.mk

# ---- install -----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/libtrace
	install -m 0755 $(BUILD)/libtrace $(DESTDIR)$(BINDIR)/libtrace
	install -m 0755 $(BUILD)/libtrace.so $(DESTDIR)$(LIBDIR)/libtrace.so
	install -m 0644 include/libtrace/*.h $(DESTDIR)$(INCDIR)/libtrace/
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	    -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' tools/libtrace.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/libtrace.pc

clean:
	rm -rf $(BUILD)

# ---- directories -------------------------------------------------------------
$(BUILD) $(BUILD)/interposer $(BUILD)/analyzer $(BUILD)/samples $(BUILD)/tests:
	$(Q)mkdir -p $@

-include $(wildcard $(BUILD)/*/*.d)
