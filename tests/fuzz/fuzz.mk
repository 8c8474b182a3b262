# libFuzzer targets over the analyzer, their regression replay, and the
# runs (included by the top Makefile).
#   make fuzz            every target for FUZZ_TIME seconds each (default 300)
#   make fuzz-smoke      every target for FUZZ_SMOKE seconds each (CI: ~1 min)
#   make fuzz-replay     every committed input through the ordinary build
# Targets build with clang into build-fuzz/ (ASan + UBSan + libFuzzer).  New
# inputs go to build-fuzz/corpus/, crashes to build-fuzz/crashes/; a crash is
# fixed, then its input is copied into tests/fuzz/regress/CORPUS/, where
# fuzz-replay (part of `make test`) keeps it fixed.
#
#   dump     reader, model, every report mode; modules never opened (fast)
#   report   the same with symbols from the files the dump names (libdw)
#   budget   the budget-file parser (once analyzer/budget.c exists)

FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 300
FUZZ_SMOKE   ?= 20
# Inputs stay small enough that a slow path shows as a timeout; one
# allocation beyond 64 MiB, or 1.5 GiB resident, is a finding: the reader's
# memory must follow the input's real size, never a size field.
FUZZ_OPTS    ?= -max_len=65536 -timeout=20 -malloc_limit_mb=64 -rss_limit_mb=1536 \
                -print_final_stats=1
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer

FUZZ_TARGETS := dump report $(if $(wildcard analyzer/budget.c),budget)
fuzz_src_dump   := tests/fuzz/fuzz_dump.c
fuzz_def_dump   := -DFUZZ_NO_SYMBOLS
fuzz_ld_dump    := -Wl,--wrap=lt_sym_add_module
fuzz_corpus_dump := dump
fuzz_src_report := tests/fuzz/fuzz_dump.c
fuzz_corpus_report := dump
fuzz_src_budget := tests/fuzz/fuzz_budget.c
fuzz_corpus_budget := budget

FUZZ_ANA_OBJ := $(ANA_LIB_OBJ:$(BUILD)/%=$(FUZZ_BUILD)/%)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# Objects are kept between runs (pattern-rule intermediates otherwise go).
.SECONDARY: $(FUZZ_ANA_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%.o)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-replay
fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/analyzer/%.o: analyzer/%.c $(BUILD)/.deps-ok | $(FUZZ_BUILD)/analyzer
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -g -O1 \
	    $(CPPFLAGS) -c -o $@ $<

# Static patterns: the dependency files beside them must match no rule.
.SECONDEXPANSION:
$(FUZZ_BIN:%=%.o): $(FUZZ_BUILD)/fuzz_%.o: $$(fuzz_src_$$*) | $(FUZZ_BUILD)
	$(call msg,CC,$@)
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) -Ianalyzer $(fuzz_def_$*) $(FUZZ_SAN) \
	    -fsanitize=fuzzer-no-link -g -O1 $(CPPFLAGS) -c -o $@ $<

$(FUZZ_BIN): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz_%.o $(FUZZ_ANA_OBJ)
	$(call msg,LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(fuzz_ld_$*) -o $@ $^ \
	    $(DW_LIBS) $(LZ4_LIBS) -lz -lstdc++

$(FUZZ_BUILD) $(FUZZ_BUILD)/analyzer:
	$(Q)mkdir -p $@

fuzz: $(FUZZ_BIN)
	$(Q)FUZZ_OPTS="$(FUZZ_OPTS)" sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_BIN)
	$(Q)FUZZ_OPTS="$(FUZZ_OPTS)" sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE) $(FUZZ_TARGETS)

# The regression replay: the same entry points, built by the ordinary
# compiler without libFuzzer (and by `make asan`/`make ubsan` with theirs).
REPLAY_CORPORA := dump $(if $(wildcard analyzer/budget.c),budget)
FUZZ_REPLAY := $(REPLAY_CORPORA:%=$(BUILD)/tests/fuzz_replay_%)
$(BUILD)/tests/fuzz_replay_dump: tests/fuzz/fuzz_dump.c
$(BUILD)/tests/fuzz_replay_budget: tests/fuzz/fuzz_budget.c
$(FUZZ_REPLAY): $(BUILD)/tests/fuzz_replay_%: tests/fuzz/replay.c $(ANA_LIB_OBJ) | $(BUILD)/tests
	$(call msg,LD,$@)
	$(Q)$(CC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) -Ianalyzer $(CPPFLAGS) $(CFLAGS) -o $@ \
	    tests/fuzz/replay.c tests/fuzz/fuzz_$*.c $(ANA_LIB_OBJ) \
	    $(LDFLAGS) $(DW_LIBS) $(LZ4_LIBS) -lz -lstdc++

# Then hostile dumps through the real analyzer: blocking paths, size fields
# that lie, content that maximizes its state (memory and time bounds).
fuzz-replay: $(FUZZ_REPLAY) $(BUILD)/libtrace
	$(Q)for c in $(REPLAY_CORPORA); do \
	    $(BUILD)/tests/fuzz_replay_$$c tests/fuzz/corpus/$$c tests/fuzz/regress/$$c || exit 1; \
	done
	$(Q)python3 tests/fuzz/hostile.py $(BUILD)/libtrace

-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/*/*.d)
