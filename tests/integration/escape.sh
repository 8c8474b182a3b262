#!/usr/bin/env bash
# Integration tests of `libtrace top`, `peak` and `leaks`: the escape samples
# run under the shim and write what they know of each allocation site
# (samples/escapetruth.h); every site's classes must be exactly those, with
# the same block counts, and no other site may appear.  The older samples'
# sites must carry the classes their own comments give them.  With fewer
# free-site frames (LIBTRACE_FREE_DEPTH=1, 0) libtrace may know less, but
# must never claim a class the sample does not have.  Then the peak against
# the report's totals, leaks with LSan suppressions, and a C++ program for
# demangled names, operator new folded away and inlined frames.
#
#   tests/integration/escape.sh BUILD_DIR      (make escape-tests)
#
# Prints "ok - NAME" or "not ok - NAME: DETAILS" per check, "#" lines for what
# was measured, and last "N passed, N failed".  Exits 1 if anything failed.
# LT_KEEP=1 keeps the scratch directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build directory: ${1:-build}" >&2; exit 2; }
LT=$BUILD/libtrace
SO=$BUILD/libtrace.so
SAMPLES=$BUILD/samples
CHECK="python3 $ROOT/tests/integration/ltescape.py"
LIMIT=${LT_TIMEOUT:-60}

SUITE=escape
. "$ROOT/tests/integration/lib.sh"
need_built "$SO" "$LT"

# traced DIR NAME [VAR=VALUE...] -- CMD ARGS: CMD under the shim, its dump
# DIR/NAME.lt and its truths in DIR; returns 1 (after saying so) when it
# failed or wrote no dump.
traced() {
	local dir=$1 name=$2 envs=()
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	mkdir -p "$dir"
	# timeout first: it must not itself run under the shim.
	timeout "$LIMIT" env "${envs[@]}" LT_GROUND_TRUTH="$dir/$name.gt" \
		LT_ESCAPE_TRUTH="$dir/$name.truth" LD_PRELOAD="$SO" \
		LIBTRACE_OUTPUT="$dir/$name.lt" LIBTRACE_QUIET=1 \
		"$@" >"$dir/$name.stdout" 2>"$dir/$name.stderr"
	local status=$?
	if [ "$status" -ne 0 ] || [ ! -f "$dir/$name.lt" ]; then
		not_ok "$name: runs traced" "status $status: $(head -c 300 "$dir/$name.stderr")"
		return 1
	fi
	return 0
}

# top_json DUMP OUT: every site, as JSON; 1 when top failed.
top_json() {
	if ! "$LT" top --json --top 100000 "$1" >"$2" 2>"$2.err"; then
		not_ok "top --json $(basename "$1")" "exit $?: $(head -c 300 "$2.err")"
		return 1
	fi
	return 0
}

# ---- the escape samples: every site exactly ---------------------------------
ESCAPE_SAMPLES="escape_local escape_caller escape_thread escape_realloc escape_pool escape_reentry"
for name in $ESCAPE_SAMPLES; do
	d=$TMP/default
	traced "$d" "$name" -- "$SAMPLES/$name" || continue
	top_json "$d/$name.lt" "$d/$name.json" || continue
	expect "$name: every site's classes and block counts are the sample's own, and no other site" \
		$CHECK sites "$d/$name.truth" "$d/$name.json"
	if "$LT" top "$d/$name.lt" >"$d/$name.txt" 2>"$d/$name.err" && grep -q -- '->' "$d/$name.txt"; then
		ok "$name: top (text) exits 0 with a suggestion per site"
	else
		not_ok "$name: top (text)" "exit $?: $(head -c 300 "$d/$name.err")"
	fi
done

# Free sites of one frame (the default under sampling) and none: less is
# known, nothing false is said.
for depth in 1 0; do
	for name in $ESCAPE_SAMPLES; do
		d=$TMP/depth$depth
		traced "$d" "$name" LIBTRACE_FREE_DEPTH=$depth -- "$SAMPLES/$name" || continue
		top_json "$d/$name.lt" "$d/$name.json" || continue
		expect "$name (LIBTRACE_FREE_DEPTH=$depth): no class the sample lacks" \
			$CHECK subset "$d/$name.truth" "$d/$name.json"
	done
done
# What one frame still tells apart: the caller that frees, itself.
d=$TMP/depth1
for name in escape_caller escape_thread; do
	[ -f "$d/$name.json" ] &&
		expect "$name (LIBTRACE_FREE_DEPTH=1): still every class exact" \
			$CHECK sites "$d/$name.truth" "$d/$name.json"
done
d=$TMP/depth0
if [ -f "$d/escape_local.json" ] &&
   [ "$($CHECK get "$d/escape_local.json" free_sites)" = False ] &&
   "$LT" top "$d/escape_local.lt" 2>/dev/null | grep -q 'no free-site stacks (LIBTRACE_FREE_DEPTH=0)'; then
	ok "LIBTRACE_FREE_DEPTH=0: top says the free sites are missing"
else
	not_ok "LIBTRACE_FREE_DEPTH=0: top says the free sites are missing" "free_sites=$($CHECK get "$d/escape_local.json" free_sites 2>&1)"
fi

# Built with -O2, inlining allowed: the allocating functions are inlined
# into their callers, and the levels still count source frames.
d=$TMP/O2
mkdir -p "$d"
for name in escape_local escape_caller escape_pool; do
	if ! cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -pthread -I"$ROOT/include" \
		-I"$ROOT/samples" -o "$d/$name-O2" "$ROOT/samples/$name.c" 2>"$d/cc.err"; then
		not_ok "$name: builds with -O2" "$(oneline "$d/cc.err")"
		continue
	fi
	traced "$d" "$name" -- "$d/$name-O2" || continue
	top_json "$d/$name.lt" "$d/$name.json" || continue
	expect "$name (-O2, inlined): every site's classes and counts exact, levels in source frames" \
		$CHECK sites "$d/$name.truth" "$d/$name.json"
done
if [ -f "$d/escape_caller.json" ] &&
   [ "$($CHECK get "$d/escape_caller.json" sites.0.frames.0.inlined)" = True ]; then
	ok "escape_caller (-O2): the allocating function is shown as an inlined frame"
else
	not_ok "escape_caller (-O2): inlined frame" "frames.0.inlined is not true"
fi

# ---- the older samples: their sites as their comments describe them --------
for name in churn pool leak realloc; do
	d=$TMP/older
	traced "$d" "$name" -- "$SAMPLES/$name" || continue
	top_json "$d/$name.lt" "$d/$name.json" || continue
	expect "$name: every site carries the classes the sample describes, no other" \
		$CHECK expect "$name" "$d/$name.json"
done

# ---- evidence and order ------------------------------------------------------
d=$TMP/default
if [ -f "$d/escape_local.txt" ] &&
   grep -q '10,000 of 10,000 blocks freed in checksum_line while its frame was live' "$d/escape_local.txt" &&
   grep -q 'size always 64 B and every block freed in checksum_line' "$d/escape_local.txt" &&
   grep -q 'freed by drop_record, a callee of weigh_record' "$d/escape_local.txt"; then
	ok "escape_local: the evidence names the function, the counts and the size"
else
	not_ok "escape_local: evidence" "$(grep -E 'frame-local|stack candidate' "$d/escape_local.txt" 2>/dev/null | head -n 3 | tr '\n' ' ')"
fi
if [ -f "$d/escape_realloc.txt" ] &&
   grep -q 'grew here by +1 B at a time' "$d/escape_realloc.txt" &&
   grep -q 'double it' "$d/escape_realloc.txt"; then
	ok "escape_realloc: additive growth is shown with its step, and the fix"
else
	not_ok "escape_realloc: additive growth evidence" "$(grep -i realloc "$d/escape_realloc.txt" 2>/dev/null | head -n 3 | tr '\n' ' ')"
fi
if [ -f "$d/escape_pool.lt" ]; then
	"$LT" top --json --by bytes "$d/escape_pool.lt" >"$d/bybytes.json" 2>/dev/null
	"$LT" top --json --by temporary "$d/escape_pool.lt" >"$d/bytemp.json" 2>/dev/null
	got=$($CHECK get "$d/escape_pool.json" sites.0.function)/$($CHECK get "$d/bybytes.json" sites.0.function)/$($CHECK get "$d/bytemp.json" sites.0.function)
	if [ "$got" = node_new/checksum_block/checksum_block ]; then
		ok "escape_pool: --by calls, bytes and temporary rank the sites by each"
	else
		not_ok "escape_pool: --by" "first sites by calls/bytes/temporary: $got, expected node_new/checksum_block/checksum_block"
	fi
fi

# ---- peak ------------------------------------------------------------------------
d=$TMP/older
if [ -f "$d/leak.lt" ]; then
	"$LT" peak --json "$d/leak.lt" >"$d/peak.json" 2>"$d/peak.err"
	"$LT" report --json "$d/leak.lt" >"$d/report.json" 2>/dev/null
	if python3 - "$d/peak.json" "$d/report.json" "$d/leak.gt" >"$d/peak.cmp" 2>&1 <<-'EOF'
	import json, sys
	p = json.load(open(sys.argv[1]))
	r = json.load(open(sys.argv[2]))
	gt = json.load(open(sys.argv[3]))["totals"]
	bad = []
	if p["peak_bytes"] != r["totals"]["peak_bytes"]:
	    bad.append("peak %d, report says %d" % (p["peak_bytes"], r["totals"]["peak_bytes"]))
	held = sum(s["bytes"] for s in p["sites"])
	if held != p["peak_bytes"]:
	    bad.append("the stacks hold %d at the peak, not %d" % (held, p["peak_bytes"]))
	# leak.c: the 4 KiB buffer is live at the peak (samples/README.md: 4,904 B)
	if "peak_bytes" in gt and p["peak_bytes"] != gt["peak_bytes"]:
	    bad.append("peak %d, the sample's ground truth says %d" % (p["peak_bytes"], gt["peak_bytes"]))
	top = p["sites"][0]
	if (top["function"], top["bytes"], top["blocks"]) != ("main", 4096, 1):
	    bad.append("largest holder %s" % top)
	if not (0 < p["peak_seconds"] <= p["duration_seconds"]):
	    bad.append("peak at %s s of %s s" % (p["peak_seconds"], p["duration_seconds"]))
	print("\n".join(bad))
	sys.exit(1 if bad else 0)
	EOF
	then
		ok "leak: peak --json is the report's peak, when it happened, and who held it (main's 4 KiB first)"
	else
		not_ok "leak: peak --json" "$(oneline "$d/peak.cmp")"
	fi
	if "$LT" peak "$d/leak.lt" 2>/dev/null | grep -q '^  peak heap 4.8 KiB in 7 blocks at'; then
		ok "leak: peak (text) states the peak, its blocks and when"
	else
		not_ok "leak: peak (text)" "$("$LT" peak "$d/leak.lt" 2>&1 | head -n 2 | tr '\n' ' ')"
	fi
fi

# ---- leaks and suppressions ------------------------------------------------------
# leaks_is DUMP WANT ARGS...: WANT = "bytes/blocks/stacks suppressed_bytes".
leaks_is() {
	local dump=$1 want=$2 got
	shift 2
	"$LT" leaks --json "$@" "$dump" >"$TMP/leaks.json" 2>"$TMP/leaks.err" || { echo "exit $?: $(head -c 200 "$TMP/leaks.err")"; return 1; }
	got=$($CHECK get "$TMP/leaks.json" leaked_bytes)/$($CHECK get "$TMP/leaks.json" leaked_blocks)/$($CHECK get "$TMP/leaks.json" stacks)" "$($CHECK get "$TMP/leaks.json" suppressed_bytes)
	[ "$got" = "$want" ] || { echo "got $got, expected $want"; return 1; }
}
if [ -f "$d/leak.lt" ]; then
	# leak.c: load_config 512 B, intern_name 24 B, push_node 3 x 48 B
	expect "leak: leaks --json finds 680 B in 5 blocks from 5 stacks" leaks_is "$d/leak.lt" "680/5/5 0"
	printf '# the list nodes are freed by the OS\nleak:push_node\n\n' >"$TMP/sup1"
	expect "leak: leak:push_node suppresses the 3 nodes (144 B)" leaks_is "$d/leak.lt" "536/2/2 144" --suppressions "$TMP/sup1"
	printf 'leak:^intern_*e$\nleak:load_conf\n' >"$TMP/sup2"
	expect "leak: anchors, wildcards and substrings match as LSan's" leaks_is "$d/leak.lt" "144/3/3 536" --suppressions "$TMP/sup2"
	printf 'leak:^intern$\nleak:nomatch*here\n' >"$TMP/sup3"
	expect "leak: patterns that match no frame suppress nothing" leaks_is "$d/leak.lt" "680/5/5 0" --suppressions "$TMP/sup3"
	printf 'leak:samples/leak.c\n' >"$TMP/sup4"
	expect "leak: a source file's name suppresses every leak made in it" leaks_is "$d/leak.lt" "0/0/0 680" --suppressions "$TMP/sup4"
	printf 'leak:leak\n' >"$TMP/sup5"
	"$LT" leaks --suppressions "$TMP/sup5" "$d/leak.lt" >"$TMP/sup5.txt" 2>&1
	if grep -q 'Suppressions used' "$TMP/sup5.txt" && grep -q 'leak:leak .*5 blocks, 680 B' "$TMP/sup5.txt"; then
		ok "leak: text lists the suppressions used, with blocks and bytes"
	else
		not_ok "leak: suppressions used" "$(oneline "$TMP/sup5.txt")"
	fi
	printf 'leak:ok\ninterceptor_via_fun:foo\n' >"$TMP/bad.sup"
	"$LT" leaks --suppressions "$TMP/bad.sup" "$d/leak.lt" >/dev/null 2>"$TMP/bad.err"
	status=$?
	if [ "$status" -eq 2 ] && grep -q "bad.sup:2: expected" "$TMP/bad.err"; then
		ok "leak: a line that is not leak:PATTERN is exit 2, naming file and line"
	else
		not_ok "leak: bad suppressions file" "exit $status: $(head -c 200 "$TMP/bad.err")"
	fi
fi
d=$TMP/older
if [ -f "$d/pool.lt" ]; then
	expect "pool: glibc's thread TLS blocks are the runtime's own, not leaks" \
		leaks_is "$d/pool.lt" "0/0/0 0"
	if [ "$($CHECK get "$TMP/leaks.json" runtime_blocks)" = 4 ]; then
		ok "pool: leaks --json lists the 4 TLS blocks under runtime"
	else
		not_ok "pool: runtime blocks" "$($CHECK get "$TMP/leaks.json" runtime_blocks 2>&1)"
	fi
fi

# ---- C++: demangled, operator new folded, inlined frames --------------------------
d=$TMP/cxx
mkdir -p "$d"
if ! command -v g++ >/dev/null 2>&1; then
	not_ok "g++ is installed (Debian: g++)" "the C++ leak test needs it"
elif ! g++ -O2 -g -fno-omit-frame-pointer -o "$d/escape_cxx" "$ROOT/tests/integration/escape_cxx.cpp" 2>"$d/cc.err"; then
	not_ok "build tests/integration/escape_cxx.cpp" "$(oneline "$d/cc.err")"
elif traced "$d" escape_cxx -- "$d/escape_cxx"; then
	"$LT" leaks --json "$d/escape_cxx.lt" >"$d/leaks.json" 2>"$d/leaks.err"
	if python3 - "$d/leaks.json" >"$d/cmp" 2>&1 <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	bad = []
	leaks = {tuple(f["function"] for f in l["frames"]): l for l in r["leaks"]}
	def find(first):
	    return [l for k, l in leaks.items() if k and first in (k[0] or "")]
	make = find("store::make<store::Widget>")
	if len(make) != 1 or make[0]["blocks"] != 3 or make[0]["bytes"] != 3 * 48:
	    bad.append("no single stack of 3 x 48 B starting at store::make<store::Widget>: %s" % list(leaks))
	elif not make[0]["frames"][0]["inlined"] or make[0]["frames"][1]["function"] != "main":
	    bad.append("make<Widget> is not shown inlined into main: %s" % make[0]["frames"])
	label = find("copy_name")
	if len(label) != 1 or label[0]["bytes"] != 4:
	    bad.append("no 4-byte strdup leak starting at copy_name: %s" % list(leaks))
	elif [f["function"] for f in label[0]["frames"][:2]] != ["copy_name", "store::label(long)"] \
	        or not label[0]["frames"][0]["inlined"]:
	    bad.append("copy_name [inlined] <- store::label(long) expected: %s" % label[0]["frames"])
	for l in r["leaks"]:
	    f0 = l["frames"][0]["function"] or ""
	    if "operator new" in f0 or "strdup" in f0 or f0.startswith("_Z"):
	        bad.append("allocator or mangled frame on top: %s" % f0)
	if r["leaked_bytes"] != 148 or r["runtime_blocks"] < 1:
	    bad.append("leaked %d B (expected 148), runtime blocks %d (libstdc++'s pool)" %
	               (r["leaked_bytes"], r["runtime_blocks"]))
	print("\n".join(bad))
	sys.exit(1 if bad else 0)
	EOF
	then
		ok "C++: leaks start at the program's code (operator new, strdup folded), demangled, inlined frames shown"
	else
		not_ok "C++ leaks" "$(oneline "$d/cmp")"
	fi
fi

# ---- usage ---------------------------------------------------------------------------
for cmd in top peak leaks; do
	"$LT" $cmd --help >"$TMP/help" 2>&1
	status=$?
	if [ "$status" -eq 0 ] && grep -q -- "--json" "$TMP/help"; then
		ok "$cmd --help: exit 0, documents its options"
	else
		not_ok "$cmd --help" "exit $status"
	fi
	for args in "" "--bogus x.lt" "a.lt b.lt"; do
		"$LT" $cmd $args >/dev/null 2>"$TMP/usage.err"
		status=$?
		if [ "$status" -eq 2 ] && [ -s "$TMP/usage.err" ]; then
			ok "$cmd $args: usage error, exit 2"
		else
			not_ok "$cmd $args: usage error, exit 2" "exit $status"
		fi
	done
	"$LT" $cmd "$TMP/does-not-exist.lt" >/dev/null 2>"$TMP/missing.err"
	status=$?
	if [ "$status" -eq 2 ] && grep -q does-not-exist "$TMP/missing.err"; then
		ok "$cmd of a missing dump: exit 2 naming the file"
	else
		not_ok "$cmd of a missing dump: exit 2 naming the file" "exit $status"
	fi
done
"$LT" top --by nothing "$TMP/x.lt" >/dev/null 2>"$TMP/usage.err"
[ $? -eq 2 ] && ok "top --by nothing: usage error, exit 2" || not_ok "top --by nothing" "not exit 2"

finish
