#!/usr/bin/env bash
# Integration tests of budgets, the ratchet, diff, JUnit and the in-process
# API.  Every limit is computed from what a sample knows about itself (its
# ground truth, or what its source says it does), never from the tool's
# output: each budget is written once at the true value (it must pass) and
# once one below (it must fail, exit 1, naming the stack responsible).
#
#   tests/integration/check.sh BUILD_DIR      (make check-tests)
#
# Prints "ok - NAME" or "not ok - NAME: DETAILS" per check, and last
# "N passed, N failed".  Exits 1 if anything failed.  LT_KEEP=1 keeps the
# scratch directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build directory: ${1:-build}" >&2; exit 2; }
SAMPLES=$BUILD/samples
# The JUnit reader is a Debian package (python3-junitparser): Debian's python.
DEBPY=/usr/bin/python3
[ -x "$DEBPY" ] || DEBPY=python3
CFLAGS="-std=gnu11 -Wall -Wextra -O1 -g -fno-builtin -pthread"
LIMIT=${LT_TIMEOUT:-60}

SUITE=check
. "$ROOT/tests/integration/lib.sh"
need_built "$BUILD/libtrace.so" "$BUILD/libtrace"
# A snapshot, so that a rebuild while this runs does not change the tool.
mkdir -p "$TMP/bin"
cp "$BUILD/libtrace.so" "$BUILD/libtrace" "$TMP/bin/" || exit 2
SO=$TMP/bin/libtrace.so
LT=$TMP/bin/libtrace

# gt FILE KEY...: a number from a ground-truth JSON file ("totals.allocations").
gt() {
	python3 - "$1" "$2" <<-'EOF'
	import json, sys
	v = json.load(open(sys.argv[1]))
	for k in sys.argv[2].split('.'):
	    v = v[k]
	print(v)
	EOF
}

# trace DIR NAME CMD...: run CMD under the shim with its ground truth in
# DIR/NAME.gt and its dump at DIR/NAME.lt.
trace() {
	local dir=$1 name=$2
	shift 2
	mkdir -p "$dir"
	timeout "$LIMIT" env LT_GROUND_TRUTH="$dir/$name.gt" LD_PRELOAD="$SO" \
		LIBTRACE_OUTPUT="$dir/$name.lt" LIBTRACE_QUIET=1 "$@" >/dev/null 2>&1
	[ -f "$dir/$name.lt" ] || not_ok "trace $name" "no dump written"
}

# commas N: 1234567 as 1,234,567, as the tool prints counts.
commas() {
	echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'
}

# line_of FILE TEXT: the number of the first line of FILE holding TEXT.
line_of() {
	grep -n -F -m 1 "$2" "$1" | cut -d: -f1
}

# budget_pair LABEL DUMP LIMIT_LINE_AT LIMIT_LINE_BELOW MUST_NAME [OPTS...]:
# the budget at the true value passes (exit 0); one below fails (exit 1)
# and the output names MUST_NAME (a stack frame, or the numbers).
budget_pair() {
	local label=$1 dump=$2 at=$3 below=$4 name=$5 out
	shift 5
	out=$TMP/budget.$passed.$failed
	printf '# %s\n%s\n' "$label" "$at" >"$out.at.conf"
	printf '# %s\n%s\n' "$label" "$below" >"$out.below.conf"
	"$LT" check "$@" --budget "$out.at.conf" "$dump" >"$out.at" 2>&1
	local s1=$?
	"$LT" check "$@" --budget "$out.below.conf" "$dump" >"$out.below" 2>&1
	local s2=$?
	if [ "$s1" -ne 0 ]; then
		not_ok "$label: '$at' passes" "exit $s1: $(oneline "$out.at")"
	elif [ "$s2" -ne 1 ]; then
		not_ok "$label: '$below' fails with exit 1" "exit $s2: $(oneline "$out.below")"
	elif ! grep -q -F -- "$name" "$out.below"; then
		not_ok "$label: the failure of '$below' names '$name'" "$(oneline "$out.below")"
	elif ! grep "^FAIL  " "$out.below" | grep -q -F ":2: $below"; then
		not_ok "$label: the failure names the limit and its line" "$(oneline "$out.below")"
	else
		ok "$label: '$at' passes, '$below' fails naming $name"
	fi
}

# ---- churn: counts, bytes, peak, and every kind of site pattern ------------
# The sample's design (samples/README.md): per record, parse_record mallocs
# a 64-byte line and next_token a 16-byte token, both freed at once.
D=$TMP/churn
trace "$D" c1000 "$SAMPLES/churn" 1000
trace "$D" c3000 "$SAMPLES/churn" 3000
trace "$D" c1050 "$SAMPLES/churn" 1050
trace "$D" c1051 "$SAMPLES/churn" 1051
C=$D/c1000.lt
A=$(gt "$D/c1000.gt" totals.allocations)
BY=$(gt "$D/c1000.gt" totals.bytes_allocated)
PK=$(gt "$D/c1000.gt" totals.peak_bytes)
SRC=$ROOT/samples/churn.c
LINE_AT=$(line_of "$SRC" 'char *line = malloc(LINE_BYTES);')
TOKEN_AT=$(line_of "$SRC" 'char *token = malloc(TOKEN_BYTES);')

budget_pair "churn max_allocs" "$C" "max_allocs = $A" "max_allocs = $((A - 1))" \
	"parse_record (samples/churn.c:$LINE_AT)"
budget_pair "churn max_bytes (with units)" "$C" "max_bytes = $((BY / 1000)) kB" \
	"max_bytes = $((BY - 1))" "next_token (samples/churn.c:$TOKEN_AT)"
budget_pair "churn max_peak" "$C" "max_peak = $PK" "max_peak = $((PK - 1))" \
	"parse_record (samples/churn.c:$LINE_AT)"
# A frame anywhere in the stack: parse_record is in both stacks.
budget_pair "churn site (a function on any frame)" "$C" \
	"site parse_record max_allocs = 2000" "site parse_record max_allocs = 1999" \
	"next_token (samples/churn.c:$TOKEN_AT)"
budget_pair "churn site (the innermost function)" "$C" \
	"site next_token max_allocs = 1,000" "site next_token max_allocs = 999" \
	"next_token (samples/churn.c:$TOKEN_AT)"
budget_pair "churn site (FILE:LINE)" "$C" \
	"site samples/churn.c:$LINE_AT max_bytes = 64000" \
	"site samples/churn.c:$LINE_AT max_bytes = 63999" "parse_record (samples/churn.c:$LINE_AT)"
budget_pair "churn site (a glob)" "$C" \
	"site \"next_*\" max_bytes = 16000" "site \"next_*\" max_bytes = 15999" \
	"next_token (samples/churn.c:$TOKEN_AT)"
# next_token's own peak: one 16-byte token at a time.
budget_pair "churn site max_peak (the site's own peak)" "$C" \
	"site next_token max_peak = 16" "site next_token max_peak = 15" \
	"next_token (samples/churn.c:$TOKEN_AT)"

# Every failure is printed, not just the first.
printf 'max_allocs = %d\nmax_peak = 1 KiB\nmax_bytes = 1\nsite parse_record max_allocs = 1\n' \
	$((A - 1)) >"$TMP/three.conf"
"$LT" check --budget "$TMP/three.conf" "$C" >"$TMP/three.out" 2>&1
s=$?
if [ "$s" -eq 1 ] && [ "$(grep -c '^FAIL  ' "$TMP/three.out")" -eq 3 ] &&
	[ "$(grep -c '^ok    ' "$TMP/three.out")" -eq 1 ] &&
	grep -q 'FAILED: 3 of 4 checks failed' "$TMP/three.out"; then
	ok "all three failures of a budget are printed, with the passing limit"
else
	not_ok "all failures printed" "exit $s: $(oneline "$TMP/three.out")"
fi

# ---- leak: leaks by function, file:line, glob ------------------------------
D=$TMP/leak
trace "$D" leak "$SAMPLES/leak"
L=$D/leak.lt
LB=$(gt "$D/leak.gt" totals.leaked_bytes)
LN=$(gt "$D/leak.gt" totals.leaked_blocks)
CFG=$(gt "$D/leak.gt" leaks_by_function.load_config.bytes)
PUSH=$(gt "$D/leak.gt" leaks_by_function.push_node.blocks)
NAME=$(gt "$D/leak.gt" leaks_by_function.intern_name.bytes)
CALLOC_AT=$(line_of "$ROOT/samples/leak.c" 'calloc(16, 32)')
budget_pair "leak max_leaked_bytes" "$L" "max_leaked_bytes = $LB" \
	"max_leaked_bytes = $((LB - 1))" "load_config (samples/leak.c:$CALLOC_AT)"
budget_pair "leak max_leaked_blocks" "$L" "max_leaked_blocks = $LN" \
	"max_leaked_blocks = $((LN - 1))" "push_node (samples/leak.c:"
budget_pair "leak site load_config" "$L" "site load_config max_leaked_bytes = $CFG" \
	"site load_config max_leaked_bytes = $((CFG - 1))" "load_config (samples/leak.c:$CALLOC_AT)"
budget_pair "leak site push_node blocks" "$L" "site push_node max_leaked_blocks = $PUSH" \
	"site push_node max_leaked_blocks = $((PUSH - 1))" "push_node (samples/leak.c:"
budget_pair "leak site by glob" "$L" "site \"intern_*\" max_leaked_bytes = $NAME" \
	"site \"intern_*\" max_leaked_bytes = $((NAME - 1))" "intern_name (samples/leak.c:"
budget_pair "leak site by FILE:LINE" "$L" \
	"site leak.c:$CALLOC_AT max_leaked_bytes = $CFG" \
	"site leak.c:$CALLOC_AT max_leaked_bytes = $((CFG - 1))" "load_config"

# ---- realloc: reallocs -----------------------------------------------------
D=$TMP/realloc
trace "$D" realloc "$SAMPLES/realloc"
R=$(gt "$D/realloc.gt" totals.reallocs)
budget_pair "realloc max_reallocs" "$D/realloc.lt" "max_reallocs = $R" \
	"max_reallocs = $((R - 1))" "samples/realloc.c:"

# ---- threads: leaked, running at exit, peak; glibc's own blocks ----------
D=$TMP/threads
trace "$D" lt "$SAMPLES/leaked_thread"
T=$D/lt.lt
TL=$(gt "$D/lt.gt" totals.threads_leaked)
TR=$(gt "$D/lt.gt" totals.threads_running_at_exit)
TP=$(gt "$D/lt.gt" totals.peak_threads)
TB=$(gt "$D/lt.gt" totals.leaked_bytes)
budget_pair "leaked_thread max_thread_leaks" "$T" "max_thread_leaks = $TL" \
	"max_thread_leaks = $((TL - 1))" "start routine forgotten_main"
budget_pair "leaked_thread max_running_at_exit" "$T" "max_running_at_exit = $TR" \
	"max_running_at_exit = $((TR - 1))" "start routine blocked_main"
budget_pair "leaked_thread max_threads" "$T" "max_threads = $TP" \
	"max_threads = $((TP - 1))" "created at:"
# The sample's own leaks only: glibc's thread TLS vectors are not counted.
budget_pair "leaked_thread max_leaked_bytes (glibc's TLS blocks left out)" "$T" \
	"max_leaked_bytes = $TB" "max_leaked_bytes = $((TB - 1))" "forgotten_main (samples/leaked_thread.c:"
budget_pair "leaked_thread site by start routine" "$T" \
	"site forgotten_main max_thread_leaks = 1" "site forgotten_main max_thread_leaks = 0" \
	"start routine forgotten_main"
trace "$D" pool "$SAMPLES/pool"
PP=$(gt "$D/pool.gt" totals.peak_threads)
budget_pair "pool max_threads" "$D/pool.lt" "max_threads = $PP" "max_threads = $((PP - 1))" \
	"start routine worker_main"

# ---- a budget with a mistake: exit 2, its line, before anything runs ------
printf 'max_allocs = 10\n\n# fine so far\nmax_bytes = 10 MiBs\n' >"$TMP/bad.conf"
"$LT" check --budget "$TMP/bad.conf" "$C" >"$TMP/bad.out" 2>&1
s=$?
if [ "$s" -eq 2 ] && grep -q "bad.conf:4: max_bytes: unknown unit 'MiBs'" "$TMP/bad.out"; then
	ok "a budget with a mistake: exit 2 and 'bad.conf:4: ...'"
else
	not_ok "bad budget" "exit $s: $(oneline "$TMP/bad.out")"
fi
"$LT" check --budget "$TMP/three.conf" "$TMP/nonexistent.lt" >"$TMP/nodump.out" 2>&1
s=$?
if [ "$s" -eq 2 ] && grep -q "nonexistent.lt" "$TMP/nodump.out"; then
	ok "a dump that cannot be read: exit 2, naming it"
else
	not_ok "unreadable dump" "exit $s: $(oneline "$TMP/nodump.out")"
fi

# ---- several dumps: together, or each on its own ----------------------------
C3=$TMP/churn/c3000.lt
A3=$(gt "$TMP/churn/c3000.gt" totals.allocations)
printf 'max_allocs = %d\n' "$A3" >"$TMP/perdump.conf"
"$LT" check --budget "$TMP/perdump.conf" "$C" "$C3" >"$TMP/together.out" 2>&1
s1=$?
"$LT" check --per-dump --budget "$TMP/perdump.conf" "$C" "$C3" >"$TMP/perdump.out" 2>&1
s2=$?
printf 'max_allocs = %d\n' $((A3 - 1)) >"$TMP/perdump1.conf"
"$LT" check --per-dump --budget "$TMP/perdump1.conf" "$C" "$C3" >"$TMP/perdump1.out" 2>&1
s3=$?
if [ "$s1" -eq 1 ] && grep -q "allocations: $(commas $((A + A3))), limit $(commas "$A3")" "$TMP/together.out" &&
	[ "$s2" -eq 0 ] && [ "$s3" -eq 1 ] &&
	[ "$(grep -c '^FAIL' "$TMP/perdump1.out")" -eq 1 ]; then
	ok "two dumps: together their $((A + A3)) allocations fail max_allocs = $A3; --per-dump each passes; one below fails only the larger"
else
	not_ok "together / --per-dump" "exits $s1 $s2 $s3: $(oneline "$TMP/together.out") | $(oneline "$TMP/perdump1.out")"
fi

# ---- JUnit, read by real JUnit readers -------------------------------------
"$LT" check --budget "$TMP/three.conf" --junit "$TMP/junit.xml" "$C" >"$TMP/junit.out" 2>&1
s=$?
"$LT" check --per-dump --budget "$TMP/perdump1.conf" --junit "$TMP/junit2.xml" "$C" "$C3" \
	>"$TMP/junit2.out" 2>&1
if [ "$s" -eq 1 ] && "$DEBPY" "$ROOT/tests/integration/junit_check.py" "$TMP/junit.xml" 4 3 \
	"max_allocs = $((A - 1))" "parse_record (samples/churn.c:$LINE_AT)" >"$TMP/junit.chk" 2>&1; then
	ok "JUnit: 4 test cases, 3 failures with message and stacks, read by $(head -n 1 "$TMP/junit.chk")"
else
	not_ok "JUnit file" "exit $s: $(oneline "$TMP/junit.chk")"
fi
if "$DEBPY" "$ROOT/tests/integration/junit_check.py" "$TMP/junit2.xml" 2 1 \
	"max_allocs = $((A3 - 1))" "parse_record" >"$TMP/junit2.chk" 2>&1; then
	ok "JUnit --per-dump: a suite per dump, read by $(head -n 1 "$TMP/junit2.chk")"
else
	not_ok "JUnit --per-dump" "$(oneline "$TMP/junit2.chk")"
fi

# ---- diff and the ratchet --------------------------------------------------
A1=$(gt "$TMP/churn/c1000.gt" totals.allocations)
"$LT" diff --json "$C" "$C3" >"$TMP/diff.json" 2>"$TMP/diff.err"
s=$?
if [ "$s" -eq 0 ] && python3 - "$TMP/diff.json" "$A1" "$A3" >"$TMP/diff.chk" 2>&1 <<-'EOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	old, new = int(sys.argv[2]), int(sys.argv[3])
	t = d["totals"]["allocations"]
	assert (t["old"], t["new"], t["change"]) == (old, new, new - old), t
	sites = d["sites"]
	assert len(sites) == 2, sites
	for s in sites:
	    assert s["change"]["calls"] == (new - old) // 2, s
	    assert s["status"] == "changed", s
	    assert "parse_record" in s["key"], s["key"]
	assert sites[0]["change"]["bytes"] >= sites[1]["change"]["bytes"] or \
	    sites[0]["change"]["calls"] > sites[1]["change"]["calls"]
	assert sites[0]["frames"][0]["function"] == "parse_record", sites[0]["frames"]
	EOF
then
	ok "diff --json: totals $A1 -> $A3 allocations, each of the 2 sites +$(((A3 - A1) / 2)) calls, largest growth first"
else
	not_ok "diff --json" "exit $s: $(oneline "$TMP/diff.chk") $(oneline "$TMP/diff.err")"
fi
"$LT" diff "$C3" "$C" >"$TMP/diff.txt" 2>&1
if grep -q "Sites that shrank" "$TMP/diff.txt" &&
	[ "$(grep -c -- "-$(commas $(((A3 - A1) / 2))) calls" "$TMP/diff.txt")" -eq 2 ]; then
	ok "diff NEW OLD: the same sites shrank"
else
	not_ok "diff text" "$(oneline "$TMP/diff.txt")"
fi
# 1050 records are +5.0% on 1000: allowed; 1051 are +5.1%: not.
"$LT" check --baseline "$C" --max-increase 5% "$TMP/churn/c1050.lt" >"$TMP/r1.out" 2>&1
s1=$?
"$LT" check --baseline "$C" --max-increase 5% "$TMP/churn/c1051.lt" >"$TMP/r2.out" 2>&1
s2=$?
if [ "$s1" -eq 0 ] && [ "$s2" -eq 1 ] && grep -q "allocations: 2,000 -> 2,102 (+5.1%)" "$TMP/r2.out" &&
	grep -q "^FAIL  baseline: calls of each site" "$TMP/r2.out"; then
	ok "ratchet: +5.0% passes --max-increase 5%, +5.1% fails and says by how much"
else
	not_ok "ratchet" "exits $s1 $s2: $(oneline "$TMP/r2.out")"
fi

# ---- libtrace run --budget ---------------------------------------------------
D=$TMP/run
mkdir -p "$D"
printf 'max_allocs = %d\n' "$A1" >"$D/ok.conf"
printf 'max_allocs = %d\n' $((A1 - 1)) >"$D/fail.conf"
printf 'max_allocs == 1\n' >"$D/broken.conf"
run_lt() {
	( cd "$D" && timeout "$LIMIT" "$LT" run --output "$D/%e.%p.lt" "$@" ) >"$D/out" 2>&1
}
run_lt --budget "$D/ok.conf" -- "$SAMPLES/churn" 1000; s1=$?
run_lt --budget "$D/fail.conf" -- "$SAMPLES/churn" 1000; s2=$?
grep -q "^FAIL  .*fail.conf:1: max_allocs" "$D/out"; named=$?
rm -f "$D"/*.lt
run_lt --budget "$D/broken.conf" -- "$SAMPLES/churn" 1000; s3=$?
ran=$(ls "$D"/*.lt 2>/dev/null | wc -l)
run_lt --budget "$D/ok.conf" -- "$SAMPLES/exits" exit; s4=$?
if [ "$s1" -eq 0 ] && [ "$s2" -eq 1 ] && [ "$named" -eq 0 ] && [ "$s3" -eq 2 ] &&
	[ "$ran" -eq 0 ] && [ "$s4" -eq 4 ]; then
	ok "run --budget: 0 within, 1 over, 2 for a bad budget (the command never ran), the command's own 4 when it failed"
else
	not_ok "run --budget" "exits $s1 $s2 (named $named) $s3 (dumps $ran) $s4"
fi

# ---- the in-process API ----------------------------------------------------
D=$TMP/api
mkdir -p "$D"
API_SRC=$ROOT/tests/integration/api_test.c
if cc $CFLAGS -I"$ROOT/include" -o "$D/api" "$API_SRC" 2>"$D/cc.err" &&
	cc $CFLAGS -no-pie -fno-pie -I"$ROOT/include" -o "$D/api_nopie" "$API_SRC" 2>>"$D/cc.err" &&
	cc $CFLAGS -I"$ROOT/include" -o "$D/api_linked" "$API_SRC" -L"$TMP/bin" \
		-Wl,-rpath,"$TMP/bin" -Wl,--push-state,--no-as-needed -ltrace -Wl,--pop-state 2>>"$D/cc.err"; then
	api() {
		local label=$1
		shift
		if ( cd "$D" && timeout "$LIMIT" env LIBTRACE_QUIET=1 "$@" ) >"$D/out" 2>&1; then
			ok "lt_stats, LT_ALLOCS_PER_RUN: $label"
		else
			not_ok "lt_stats, LT_ALLOCS_PER_RUN: $label" "$(oneline "$D/out")"
		fi
	}
	api "not loaded: LT_UNAVAILABLE" "$D/api" unavailable
	api "preloaded: exact counts and means" LD_PRELOAD="$SO" LIBTRACE_OUTPUT="$D/%p.lt" "$D/api" ok
	api "preloaded, LIBTRACE_SAMPLE=4k: still exact counts" LD_PRELOAD="$SO" LIBTRACE_SAMPLE=4k LIBTRACE_OUTPUT="$D/%p.lt" "$D/api" ok
	# An interval far above all the test allocates: every call but the
	# first draw's takes malloc's, realloc's or free's counting path,
	# mmapped blocks too.
	api "preloaded, LIBTRACE_SAMPLE=64g: the counting paths count exactly" LD_PRELOAD="$SO" LIBTRACE_SAMPLE=64g LIBTRACE_OUTPUT="$D/%p.lt" "$D/api" ok
	# Another allocator behind the shim: live bytes from its own
	# malloc_usable_size, not from glibc's chunk headers.
	J=$(ls /usr/lib/*/libjemalloc.so.2 2>/dev/null | head -n 1)
	if [ -n "$J" ]; then
		api "preloaded before jemalloc: its usable sizes" LD_PRELOAD="$SO $J" LIBTRACE_OUTPUT="$D/%p.lt" "$D/api" ok
		api "preloaded before jemalloc, LIBTRACE_SAMPLE=4k" LD_PRELOAD="$SO $J" LIBTRACE_SAMPLE=4k LIBTRACE_OUTPUT="$D/%p.lt" "$D/api" ok
		api "preloaded before jemalloc, LIBTRACE_SAMPLE=64g: the counting paths" LD_PRELOAD="$SO $J" LIBTRACE_SAMPLE=64g LIBTRACE_OUTPUT="$D/%p.lt" "$D/api" ok
	else
		echo "ok - lt_stats before jemalloc # skip libjemalloc.so.2 not installed"
	fi
	api "preloaded into a non-PIE program" LD_PRELOAD="$SO" LIBTRACE_OUTPUT="$D/%p.lt" "$D/api_nopie" ok
	api "linked with -ltrace, no LD_PRELOAD" LIBTRACE_OUTPUT="$D/%p.lt" "$D/api_linked" ok
	api "loaded but turned off: LT_DISABLED" LD_PRELOAD="$SO" LIBTRACE_OUTPUT="$D/no/such/dir/x.lt" "$D/api" disabled
else
	not_ok "build tests/integration/api_test.c" "$(oneline "$D/cc.err")"
fi

# ---- sampling: the counting paths' totals and countdown ---------------------
# malloc, realloc and free mostly only count under LIBTRACE_SAMPLE.  The
# totals must still be exact, and every call's bytes must move the byte
# countdown, or the estimate from the samples falls short: 300,000 calls,
# 304 MB, about 4,600 samples at 64 KiB, so 10% is over six deviations.
D=$TMP/sampled_mix
mkdir -p "$D"
if cc $CFLAGS -o "$D/mix" "$ROOT/tests/integration/sampled_mix.c" 2>"$D/cc.err"; then
	timeout "$LIMIT" env LD_PRELOAD="$SO" LIBTRACE_SAMPLE=64k LIBTRACE_OUTPUT="$D/mix.lt" \
		LIBTRACE_QUIET=1 "$D/mix" >"$D/asked" 2>"$D/err"
	if [ -s "$D/asked" ] && "$LT" report --json --top 100000 "$D/mix.lt" >"$D/r.json" 2>>"$D/err"; then
		got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
asked = int(open(sys.argv[2]).read())
est = sum(s["bytes"] for s in d["sites_by_bytes"])
exact = d["totals"]["bytes_allocated"]
good = d["sampled"] and exact == asked and abs(est - asked) <= asked // 10
print("asked %d, total %d, estimate %d %s" % (asked, exact, est, "ok" if good else "off"))
' "$D/r.json" "$D/asked" 2>&1)
		case $got in
		*" ok") ok "sampled at 64 KiB: exact total, estimate within 10% (${got% ok})" ;;
		*) not_ok "sampled at 64 KiB: exact total, estimate within 10%" "$got" ;;
		esac
	else
		not_ok "sampled at 64 KiB: exact total, estimate within 10%" "$(oneline "$D/err")"
	fi
else
	not_ok "build tests/integration/sampled_mix.c" "$(oneline "$D/cc.err")"
fi

# ---- install, pkg-config, and the cmocka example as a user builds it -------
D=$TMP/user
mkdir -p "$D"
if make -s -C "$ROOT" install BUILD="$BUILD" PREFIX="$D/prefix" >"$D/install.out" 2>&1 &&
	[ -f "$D/prefix/lib/pkgconfig/libtrace.pc" ] && [ -f "$D/prefix/include/libtrace/libtrace.h" ]; then
	ok "make install PREFIX=...: libtrace.pc and libtrace/libtrace.h installed"
	export PKG_CONFIG_PATH=$D/prefix/lib/pkgconfig
	cp -r "$ROOT/samples/cmocka" "$D/example"
	M="make -s -C $D/example DUMPS=$D/%e.%p.lt"
	$M check >"$D/check.out" 2>&1
	s1=$?
	$M check-regression >"$D/reg.out" 2>&1
	s2=$?
	if [ "$s1" -eq 0 ] && grep -q "PASSED  \] 3 test" "$D/check.out"; then
		ok "cmocka example (make check, flags from pkg-config): 3 tests pass"
	else
		not_ok "cmocka example passes" "exit $s1: $(oneline "$D/check.out")"
	fi
	if [ "$s2" -ne 0 ] && grep -q 'FAILED  \] test_format_allocates_nothing' "$D/reg.out" &&
		grep -q '`record_format(buf, sizeof buf, &rec)` allocates 2.00 times per run' "$D/reg.out"; then
		ok "cmocka example with a hot-path regression fails: '\`record_format(...)\` allocates 2.00 times per run'"
	else
		not_ok "cmocka example regression fails" "exit $s2: $(oneline "$D/reg.out")"
	fi
	( cd "$D/example" && ./test_record ) >"$D/skip.out" 2>&1
	s1=$?
	( cd "$D/example" && LIBTRACE_REQUIRED=1 ./test_record ) >"$D/req.out" 2>&1
	s2=$?
	if [ "$s1" -eq 0 ] && grep -q "SKIPPED \] 3 test" "$D/skip.out" && [ "$s2" -ne 0 ] &&
		grep -q "libtrace.so is not loaded" "$D/req.out"; then
		ok "cmocka example without libtrace: skipped, or failed with LIBTRACE_REQUIRED=1"
	else
		not_ok "cmocka example without libtrace" "exits $s1 $s2: $(oneline "$D/req.out")"
	fi
	# Linked instead of preloaded: Libs from pkg-config.
	if cc -O2 -o "$D/linked" "$D/example/test_record.c" "$D/example/record.c" \
		$(pkg-config --cflags --libs libtrace cmocka) 2>"$D/cc.err" &&
		( cd "$D" && LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$D/%e.%p.lt" LIBTRACE_REQUIRED=1 ./linked ) >"$D/linked.out" 2>&1; then
		ok "cmocka example linked with \`pkg-config --libs libtrace\`, no LD_PRELOAD: passes"
	else
		not_ok "cmocka example linked" "$(oneline "$D/cc.err") $(oneline "$D/linked.out")"
	fi
else
	not_ok "make install PREFIX=..." "$(oneline "$D/install.out")"
fi

finish
