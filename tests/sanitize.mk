# Sanitizer builds (included by the top Makefile), each in its own folder:
#   make asan    build-asan/:  analyzer, unit tests and fuzz replay under
#                AddressSanitizer (leaks included); the analyzer reads every
#                sample's dump, traced with the ordinary build's shim
#   make ubsan   build-ubsan/: the same under UndefinedBehaviorSanitizer,
#                every finding fatal
#   make tsan    build-tsan/:  analyzer and unit tests, then the thread
#                stress test under ThreadSanitizer
# The shim itself never runs sanitized: ASan and TSan own malloc, which is
# what the shim replaces.  Its unit tests (options, stacks) do, linked as
# ordinary objects.

san_flags_asan  := -fsanitize=address -fno-omit-frame-pointer
san_flags_ubsan := -fsanitize=undefined -fno-sanitize-recover=undefined \
                   -fno-omit-frame-pointer
san_flags_tsan  := -fsanitize=thread
# Every finding fatal, and an abort so no exit code can hide it.
export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1:abort_on_error=1
export TSAN_OPTIONS  ?= halt_on_error=1:second_deadlock_stack=1

.PHONY: asan ubsan tsan sanitized-check
asan ubsan tsan: all
	$(Q)$(MAKE) --no-print-directory BUILD=build-$@ SANITIZE=$@ \
	    PLAIN_BUILD=$(BUILD) sanitized-check

ifdef SANITIZE
BASE_CFLAGS += $(san_flags_$(SANITIZE)) -g -O1
override LDFLAGS += $(san_flags_$(SANITIZE))

SAN_STRESS := $(BUILD)/tests/threads_stress
$(SAN_STRESS): tests/stress/threads_stress.c samples/groundtruth.h | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -Wall -Wextra -Iinclude -Isamples -g -O1 -pthread \
	    $(san_flags_$(SANITIZE)) -o $@ $< $(LDFLAGS)

# Unit tests, the fuzz regressions, then what each sanitizer is for.
sanitized-check: $(BUILD)/libtrace $(UNIT_BIN) $(FUZZ_REPLAY) \
		$(if $(filter tsan,$(SANITIZE)),$(SAN_STRESS))
	$(Q)sh tests/unit/run.sh $(UNIT_BIN)
	$(Q)for c in $(REPLAY_CORPORA); do \
	    $(BUILD)/tests/fuzz_replay_$$c tests/fuzz/corpus/$$c tests/fuzz/regress/$$c || exit 1; \
	done
ifneq ($(SANITIZE),tsan)
	$(Q)sh tests/sanitize-analyzer.sh $(PLAIN_BUILD) $(BUILD)
else
	@echo "tsan: tests/stress/threads_stress under ThreadSanitizer"
	$(Q)GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0 LT_GROUND_TRUTH=/dev/null \
	    timeout 600 $(SAN_STRESS) >/dev/null && \
	    printf 'ok - threads_stress: no data race\n1 passed, 0 failed\n' || \
	    { printf 'not ok - threads_stress under ThreadSanitizer\n0 passed, 1 failed\n'; exit 1; }
endif
endif
