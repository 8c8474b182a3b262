#!/usr/bin/env bash
# Export tests: every format `libtrace export` writes, read back by the
# real viewer where there is one (go tool pprof, ms_print, headless
# Chromium for the HTML page) or checked against the format's own rules
# (speedscope's file format spec, the Trace Event Format), with numbers
# compared to `libtrace report --json` of the same dump.
#
#   tests/exports/run.sh BUILD_DIR      (make exports, part of make test)
#
# A viewer that is not installed (tools/deps.sh test installs them) turns
# its checks into "skipped - ..." lines, never into passes.  Prints
# "ok - ..." / "not ok - ..." per check and last "N passed, N failed,
# N skipped".  LT_SCREENSHOT=FILE also saves the HTML page's screenshot
# there (docs/html-report.png is made so).  LT_KEEP=1 keeps the scratch.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build directory: ${1:-build}" >&2; exit 2; }
LT=$BUILD/libtrace
SO=$BUILD/libtrace.so
CHECK="python3 $ROOT/tests/exports/check.py"
CFLAGS_T="-std=gnu11 -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fno-inline -fno-builtin -fno-optimize-sibling-calls -pthread"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/libtrace-ex.XXXXXX") || exit 2
passed=0 failed=0 skipped=0

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	if [ "${LT_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
		echo "# scratch files kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	[ "$failed" -eq 0 ]
	exit $?
}
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }
skip() { echo "skipped - $1: $2"; skipped=$((skipped + 1)); }
# check NAME CMD...: ok when CMD succeeds, else not ok with its output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-400)"
	fi
}

for f in "$SO" "$LT" "$BUILD/samples/leak"; do
	[ -f "$f" ] || { not_ok "built: $f" "missing (run make first)"; finish; }
done
command -v python3 >/dev/null || { not_ok "python3 is installed" "the checks are python"; finish; }

# ---- dumps ------------------------------------------------------------------
# trace NAME [VAR=VALUE...] -- CMD...: $TMP/NAME.lt and its report JSON.
trace() {
	local name=$1 envs=() d
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	d=$TMP/$name.d
	mkdir -p "$d"
	timeout 120 env "${envs[@]}" LD_PRELOAD="$SO" LIBTRACE_QUIET=1 \
		LIBTRACE_OUTPUT="$d/%p.lt" "$@" >/dev/null 2>&1 </dev/null
	mv "$(ls "$d"/*.lt | head -1)" "$TMP/$name.lt" 2>/dev/null &&
		"$LT" report --json --top 100000 "$TMP/$name.lt" >"$TMP/$name.json" ||
		{ not_ok "trace $name" "no dump or no report"; return 1; }
}
cc $CFLAGS_T -o "$TMP/manystacks" "$ROOT/tests/exports/manystacks.c" &&
	cc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -o "$TMP/inlined" \
		-x c - <<'C' || not_ok "build the test programs" "cc failed"
#include <stdlib.h>
static inline __attribute__((always_inline)) void *make_node(size_t n) { return malloc(n * 3); }
__attribute__((noinline)) void *build_list(size_t n) { return make_node(n); }
int main(void) { return build_list(10) == NULL; }
C
DUMPS="leak leaked_thread sampled inlined"
trace leak -- "$BUILD/samples/leak"
trace leaked_thread -- "$BUILD/samples/leaked_thread"
trace sampled LIBTRACE_SAMPLE=2k -- "$BUILD/samples/churn" 20000
trace inlined -- "$TMP/inlined"
grep -q '"sampled": true' "$TMP/sampled.json" && ok "the sampled dump is sampled" ||
	not_ok "the sampled dump is sampled" "report --json says not"

# ---- formats without a viewer binary ------------------------------------------
for d in $DUMPS; do
	"$LT" export --format json -o "$TMP/$d.export.json" "$TMP/$d.lt" &&
		check "json export of $d equals the report" $CHECK json "$TMP/$d.export.json" "$TMP/$d.json" ||
		not_ok "json export of $d" "libtrace export failed"
	"$LT" export --format speedscope -o "$TMP/$d.speedscope.json" "$TMP/$d.lt" &&
		check "speedscope export of $d follows the file format, numbers equal the report" \
			$CHECK speedscope "$TMP/$d.speedscope.json" "$TMP/$d.json" ||
		not_ok "speedscope export of $d" "libtrace export failed"
	"$LT" export --format chrome -o "$TMP/$d.trace.json" "$TMP/$d.lt" &&
		check "chrome trace of $d: events well-formed, a bar per thread, heap counter peaks at the report's peak" \
			$CHECK chrome "$TMP/$d.trace.json" "$TMP/$d.json" ||
		not_ok "chrome export of $d" "libtrace export failed"
	for v in calls bytes leaked temporary; do
		"$LT" export --format collapsed --value $v "$TMP/$d.lt" >"$TMP/$d.$v.folded" 2>"$TMP/$d.$v.err" &&
			$CHECK collapsed "$TMP/$d.$v.folded" "$TMP/$d.json" $v >"$TMP/c.out" 2>&1 ||
			{ not_ok "collapsed $v of $d" "$(cat "$TMP/c.out" "$TMP/$d.$v.err" | head -3)"; continue; }
		[ "$v" = calls ] && ok "collapsed (flamegraph.pl folded) of $d adds up to the report"
	done
done
if grep -q "sampled, estimated" "$TMP/sampled.calls.err" && ! grep -q "sampled" "$TMP/leak.calls.err"; then
	ok "collapsed says 'sampled, estimated' on stderr for a sampled dump only"
else
	not_ok "collapsed sampled note" "stderr: $(cat "$TMP/sampled.calls.err" "$TMP/leak.calls.err")"
fi
if [ -c /dev/full ]; then
	if "$LT" export --format pprof "$TMP/leak.lt" -o /dev/full 2>/dev/null; then
		not_ok "a write error is an error" "exit 0 writing to /dev/full"
	elif [ -c /dev/full ]; then
		ok "a write error is an error, and the device written to is left alone"
	else
		not_ok "a failed export leaves devices alone" "/dev/full is gone"
	fi
else
	skip "a write error is an error" "no /dev/full here"
fi

# ---- pprof through the real go tool pprof -------------------------------------
if command -v go >/dev/null 2>&1 && go tool pprof -h >/dev/null 2>&1; then
	export PPROF_TMPDIR=$TMP HOME=$TMP
	TOP="go tool pprof -top -unit=B -nodecount=100000 -nodefraction=0 -edgefraction=0"
	for d in $DUMPS; do
		"$LT" export --format pprof -o "$TMP/$d.pb.gz" "$TMP/$d.lt" ||
			{ not_ok "pprof export of $d" "libtrace export failed"; continue; }
		for idx in alloc_objects alloc_space inuse_objects inuse_space; do
			if $TOP -sample_index=$idx "$TMP/$d.pb.gz" >"$TMP/$d.$idx.top" 2>&1; then
				check "go tool pprof -top $idx of $d: functions and values equal the report's" \
					$CHECK pprof-top "$TMP/$d.$idx.top" "$TMP/$d.json" $idx
			else
				not_ok "go tool pprof reads $d ($idx)" "$(head -3 "$TMP/$d.$idx.top")"
			fi
		done
	done
	if go tool pprof -traces "$TMP/inlined.pb.gz" 2>&1 | grep -A1 "make_node (inline)" | grep -q build_list; then
		ok "pprof keeps inlined frames (make_node inlined into build_list, one Location)"
	else
		not_ok "pprof inlined frames" "$(go tool pprof -traces "$TMP/inlined.pb.gz" 2>&1 | tail -4 | tr '\n' ' ')"
	fi
	if go tool pprof -raw "$TMP/leak.pb.gz" 2>&1 | grep -q "samples/leak \(\[0-9a-f\]* \)\?.*\[FN\]\[FL\]\[LN\]\[IN\]"; then
		ok "pprof mapping names the binary, its build-id, and says it is symbolized"
	else
		not_ok "pprof mapping" "$(go tool pprof -raw "$TMP/leak.pb.gz" 2>&1 | grep -A2 Mappings | tr '\n' ' ')"
	fi
	if $TOP "$TMP/sampled.pb.gz" 2>&1 | grep -q "sampled, estimated"; then
		ok "pprof of a sampled dump says 'sampled, estimated'"
	else
		not_ok "pprof sampled note" "no comment in the -top header"
	fi
	"$LT" export --format pprof --profile threads -o "$TMP/threads.pb.gz" "$TMP/leaked_thread.lt"
	for idx in created leaked running_at_exit; do
		$TOP -sample_index=$idx "$TMP/threads.pb.gz" >"$TMP/th.$idx.top" 2>&1 &&
			check "go tool pprof threads profile: $idx equals the report" \
				$CHECK pprof-threads "$TMP/th.$idx.top" "$TMP/leaked_thread.json" $idx ||
			not_ok "go tool pprof reads the threads profile" "$(head -3 "$TMP/th.$idx.top")"
	done
	if go tool pprof -traces -sample_index=live "$TMP/threads.pb.gz" 2>&1 |
		grep -A1 "pthread_cond_wait" | grep -q blocked_main; then
		ok "threads profile: the live stack of the blocked thread (pthread_cond_wait <- blocked_main)"
	else
		not_ok "threads profile live stacks" "no pthread_cond_wait under blocked_main"
	fi
else
	skip "go tool pprof reads every pprof export" "golang-go is not installed (tools/deps.sh test)"
fi

# ---- massif through ms_print ---------------------------------------------------
if command -v ms_print >/dev/null 2>&1; then
	for d in $DUMPS; do
		"$LT" export --format massif -o "$TMP/$d.massif" "$TMP/$d.lt" ||
			{ not_ok "massif export of $d" "libtrace export failed"; continue; }
		if ms_print "$TMP/$d.massif" >"$TMP/$d.ms" 2>&1 && grep -q "Detailed snapshots" "$TMP/$d.ms"; then
			check "ms_print reads massif of $d; peak and end equal the report's" \
				$CHECK massif "$TMP/$d.massif" "$TMP/$d.json"
		else
			not_ok "ms_print reads massif of $d" "$(head -3 "$TMP/$d.ms")"
		fi
	done
	grep -q "load_config (samples/leak.c:18)" "$TMP/leak.ms" &&
		ok "ms_print shows the peak's tree with load_config (samples/leak.c:18)" ||
		not_ok "ms_print tree" "load_config not in ms_print's output"
else
	skip "ms_print reads every massif export" "valgrind is not installed (tools/deps.sh test)"
fi

# ---- the HTML page in headless Chromium ----------------------------------------
CHROME=$(command -v chromium || command -v chromium-browser || true)
# page NAME: $TMP/NAME.html opened with its self-check; DOM to NAME.dom.
page() {
	local prof
	prof=$(mktemp -d "$TMP/chrome.XXXXXX")
	timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --enable-logging=stderr --v=0 --virtual-time-budget=15000 \
		--window-size=1280,2200 --dump-dom "file://$TMP/$1.html#selfcheck" \
		>"$TMP/$1.dom" 2>"$TMP/$1.console"
}
if [ -n "$CHROME" ]; then
	trace many -- "$TMP/manystacks" 30000
	trace churn -- "$BUILD/samples/churn" 250000
	for d in leaked_thread sampled many churn; do
		start=$(date +%s%N)
		"$LT" html "$TMP/$d.lt" -o "$TMP/$d.html" ||
			{ not_ok "libtrace html $d" "failed"; continue; }
		gen_ms=$(( ($(date +%s%N) - start) / 1000000 ))
		start=$(date +%s%N)
		page "$d"
		open_ms=$(( ($(date +%s%N) - start) / 1000000 ))
		title=$(grep -o '<title>[^<]*</title>' "$TMP/$d.dom")
		drawn=$(grep -o 'Drawn in [0-9]* ms' "$TMP/$d.dom")
		events=$(python3 -c "import json,sys;t=json.load(open(sys.argv[1]))['totals'];print(t['allocations']+t['frees'])" "$TMP/$d.json")
		echo "# $d: $events alloc+free events, page $(stat -c %s "$TMP/$d.html") bytes written in $gen_ms ms; chromium opened it in $open_ms ms; ${drawn:-not drawn}"
		if [[ $title == *"self-check ok"* ]]; then
			ok "html of $d opens in Chromium: flame graph, heap chart with peak and thread bars drawn (${title#*self-check ok: })"
		else
			not_ok "html of $d self-check" "${title:-no title}"
		fi
		if grep -E ':CONSOLE|Uncaught|SyntaxError' "$TMP/$d.console" >"$TMP/$d.errors"; then
			not_ok "html of $d: no console messages" "$(head -3 "$TMP/$d.errors")"
		else
			ok "html of $d: no console errors"
		fi
		if grep -Eq '(src|href)="(https?:)?//' "$TMP/$d.html"; then
			not_ok "html of $d is self-contained" "it references the network"
		else
			ok "html of $d is self-contained (no network references)"
		fi
	done
	if grep -q "sampled, estimated" "$TMP/sampled.dom"; then
		ok "html of a sampled dump says 'sampled, estimated'"
	else
		not_ok "html sampled note" "no 'sampled, estimated' on the page"
	fi
	prof=$(mktemp -d "$TMP/chrome.XXXXXX")
	shot=${LT_SCREENSHOT:-$TMP/page.png}
	timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --hide-scrollbars --window-size=1280,1500 \
		--virtual-time-budget=15000 --screenshot="$shot" "file://$TMP/leaked_thread.html" >/dev/null 2>&1
	if [ -s "$shot" ] && [ "$(stat -c %s "$shot")" -gt 20000 ]; then
		ok "screenshot of the page saved ($shot, $(stat -c %s "$shot") bytes)"
	else
		not_ok "screenshot of the page" "none written to $shot"
	fi
else
	skip "the HTML page in headless Chromium" "chromium is not installed (tools/deps.sh test)"
fi
finish
