#!/bin/sh
# The sanitized analyzer (make asan / make ubsan) over real dumps: every
# sample traced by the ordinary build's shim, the golden dump, and the fuzz
# corpus and regressions, through every command that reads a dump.  A
# sanitizer report, or any exit status but 0, 1 or 2, fails.
#
#   tests/sanitize-analyzer.sh PLAIN_BUILD SANITIZED_BUILD
#
# Prints "ok - ..." / "not ok - ..." and last "N passed, N failed".
set -u
plain=$1
san=$2
LT=$san/libtrace
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libtrace-san.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# Dumps of every sample, traced by the unsanitized shim (ASan cannot host it).
for s in "$plain"/samples/*; do
	[ -x "$s" ] || continue
	LD_PRELOAD="$plain/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$tmp/%e.%p.lt" \
		LT_GROUND_TRUTH=/dev/null timeout 60 "$s" >/dev/null 2>&1
done
ls "$tmp"/*.lt* >/dev/null 2>&1 || { echo "not ok - no sample dumps in $tmp"; echo "0 passed, 1 failed"; exit 1; }

for f in "$tmp"/*.lt* tests/data/*.lt tests/fuzz/corpus/dump/* tests/fuzz/regress/dump/*; do
	[ -f "$f" ] || continue
	for cmd in "report" "report --json" "threads" "threads --json" \
	    "top" "top --json" "peak --json" "leaks --json"; do
		# shellcheck disable=SC2086
		"$LT" $cmd "$f" >/dev/null 2>"$tmp/err"
		st=$?
		if [ "$st" -le 2 ] && ! grep -q -E 'runtime error|Sanitizer' "$tmp/err"; then
			passed=$((passed + 1))
		else
			echo "not ok - libtrace $cmd $f: exit $st: $(grep -m 3 -E 'runtime error|ERROR|SUMMARY' "$tmp/err" | tr '\n' ' ')"
			failed=$((failed + 1))
		fi
	done
done
echo "ok - sanitized analyzer: $passed runs over sample dumps, the golden dump and the fuzz inputs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
