#!/bin/sh
# Runs cmocka unit test binaries and counts their test cases.
#
#   tests/unit/run.sh BINARY...            (make unit)
#
# Each binary runs with cmocka's TAP output; every case prints
# "ok - BINARY: CASE" or "not ok - BINARY: CASE", and a binary that crashes,
# hangs or fails without naming a case counts as one failure.  The last line
# is "N passed, N failed"; the exit status is 1 if anything failed.
set -u

LIMIT=${LT_TIMEOUT:-300}
passed=0
failed=0
out=$(mktemp "${TMPDIR:-/tmp}/libtrace-unit.XXXXXX") || exit 2
trap 'rm -f "$out"' EXIT

for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "not ok - $name: not an executable: $bin"
		failed=$((failed + 1))
		continue
	fi
	CMOCKA_MESSAGE_OUTPUT=TAP timeout "$LIMIT" "$bin" >"$out" 2>&1
	status=$?
	# planned, passed, failed cases of this binary, and its lines reworded
	counts=$(awk -v name="$name" '
		/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan = $0 + 0; next }
		/^ok [0-9]+ - / { sub(/^ok [0-9]+ - /, ""); print "ok - " name ": " $0; ok++; next }
		/^not ok [0-9]+ - / { sub(/^not ok [0-9]+ - /, ""); print "not ok - " name ": " $0; bad++; next }
		/^# (not )?ok - / { next }      # cmocka group summary
		{ print "# " name ": " $0 }
		END { printf "counts %d %d %d\n", plan, ok, bad }' "$out")
	printf '%s\n' "$counts" | grep -v '^counts '
	read -r plan ok bad <<-EOF
	$(printf '%s\n' "$counts" | sed -n 's/^counts //p')
	EOF
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ $((ok + bad)) -lt "$plan" ]; then
		echo "not ok - $name: $((plan - ok - bad)) of $plan cases never reported (exit status $status)"
		failed=$((failed + plan - ok - bad))
	elif [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
		if [ "$status" -eq 124 ]; then
			echo "not ok - $name: timed out after ${LIMIT}s"
		else
			echo "not ok - $name: exit status $status with no failed case"
		fi
		failed=$((failed + 1))
	elif [ "$plan" -eq 0 ] && [ "$ok" -eq 0 ]; then
		echo "not ok - $name: ran no test case (exit status $status)"
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
