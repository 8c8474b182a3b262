#!/bin/sh
# Runs libFuzzer targets one after another (make fuzz, make fuzz-smoke).
#
#   tests/fuzz/run.sh FUZZ_BUILD SECONDS TARGET...
#
# Each target starts from the committed corpus and regressions of its input
# kind (report reads dumps too) and keeps what it finds new in
# FUZZ_BUILD/corpus/TARGET; a crash goes to FUZZ_BUILD/crashes/ and fails
# the run with the fuzzer's report.  $FUZZ_OPTS adds libFuzzer flags.
# Prints one "ok - " line per target with its executions, then
# "N passed, N failed".
set -u
build=$1
secs=$2
shift 2
passed=0 failed=0
mkdir -p "$build/crashes"
for t in "$@"; do
	kind=$t
	[ "$t" = report ] && kind=dump
	mkdir -p "$build/corpus/$t" "tests/fuzz/regress/$kind"
	echo "fuzz: $t for $secs s"
	# shellcheck disable=SC2086
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
	"$build/fuzz_$t" ${FUZZ_OPTS:-} -max_total_time="$secs" \
		-artifact_prefix="$build/crashes/$t-" "$build/corpus/$t" \
		"tests/fuzz/corpus/$kind" "tests/fuzz/regress/$kind" >"$build/fuzz-$t.log" 2>&1
	st=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log")
	if [ "$st" -eq 0 ]; then
		echo "ok - fuzz_$t: ${runs:-?} executions in $secs s, no finding"
		passed=$((passed + 1))
	else
		tail -n 40 "$build/fuzz-$t.log"
		echo "not ok - fuzz_$t: exit $st after ${runs:-?} executions; input in $build/crashes/"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
