# What every integration script shares; sourced after it sets ROOT and
# SUITE (a word naming it: the scratch directory and the timing line).
# Sets TMP (scratch, kept when a check failed or LT_KEEP=1), passed and
# failed, and defines:
#   ok NAME / not_ok NAME DETAIL   one "ok - " / "not ok - " line each
#   oneline FILE                   a file as one line, for a detail
#   expect NAME CMD...             ok when CMD succeeds, else its output
#   need_built FILE...             python3 and these files, or finish now
#   finish                         "N passed, N failed" last; exit 1 on any
# shellcheck shell=bash

TMP=$(mktemp -d "${TMPDIR:-/tmp}/libtrace-$SUITE.XXXXXX") || exit 2
passed=0
failed=0
started=$(date +%s)

finish() {
	echo "# $SUITE tests took $(($(date +%s) - started)) s"
	if [ "${LT_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
		echo "# scratch files kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}

not_ok() {
	echo "not ok - $1: $2"
	failed=$((failed + 1))
}

oneline() {
	head -c 2000 "$1" | tr '\n' '\v' | sed 's/\v$//; s/\v/; /g'
}

expect() {
	local name=$1
	shift
	if "$@" >"$TMP/expect.out" 2>&1; then
		ok "$name"
	else
		not_ok "$name" "$(oneline "$TMP/expect.out")"
	fi
}

need_built() {
	local f
	if ! command -v python3 >/dev/null 2>&1; then
		not_ok "python3 is installed" "the tests read JSON with python3"
		finish
	fi
	for f in "$@"; do
		if [ ! -f "$f" ]; then
			not_ok "built: $f" "missing (run make first)"
			finish
		fi
	done
	ulimit -c 0    # abort and segv runs: no core files
}
