#!/bin/sh
# Shim-internal behaviour that the samples cannot show: the stack cache and
# its quiet unwinding.
# Prints "ok - ..." / "not ok - ..." and ends with "N passed, N failed".
set -u
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; fail=$((fail + 1)); }
# no_strace NAME: true, with a line saying why NAME is skipped, when strace
# is missing or cannot trace here.
no_strace() {
	if ! command -v strace >/dev/null; then
		echo "skipped - $1: strace is missing (tools/deps.sh test installs it)"
	elif ! strace -qq -o /dev/null true 2>/dev/null; then
		echo "skipped - $1: strace cannot trace here (ptrace not permitted)"
	else
		return 1
	fi
}

# via_calls JSON: "A B U", the calls of a report's sites through via_a and
# through via_b, and the stacks it found undefined.
via_calls() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
calls = {"via_a": 0, "via_b": 0}
for s in d["sites_by_calls"]:
    funcs = [f.get("function") or "" for f in s.get("frames", [])]
    for name in calls:
        if name in funcs:
            calls[name] += s["calls"]
print(calls["via_a"], calls["via_b"], d["anomalies"]["stacks_undefined"])
PY
}
cc -O1 -g -fno-builtin -fno-inline -fno-omit-frame-pointer -o "$tmp/stackcache" tests/shim/stackcache.c || exit 1
LD_PRELOAD="$build/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$tmp/sc.lt" \
	"$tmp/stackcache" > "$tmp/out" || not_ok "stackcache ran"
want_a=$(sed -n 's/^via_a //p' "$tmp/out")
want_b=$(sed -n 's/^via_b //p' "$tmp/out")
"$build/libtrace" report --json --top 50 --frames 4 "$tmp/sc.lt" > "$tmp/report.json" ||
	not_ok "report of the stack-cache dump"
got=$(via_calls "$tmp/report.json")
if [ "$got" = "$want_a $want_b 0" ]; then
	ok "stack cache tells apart two paths with the same call site and stack pointer ($got)"
else
	not_ok "stack cache: via_a/via_b calls and undefined stacks $got, the program made $want_a $want_b"
fi
# A fork: the child's dump defines every stack it uses, though its cache
# came from the parent, and counts each path's calls after the fork; the
# parent's counts them before and after.
cc -O1 -g -fno-builtin -fno-inline -fno-omit-frame-pointer -pthread -o "$tmp/forkcache" tests/shim/forkcache.c || exit 1
mkdir "$tmp/fork"
LD_PRELOAD="$build/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$tmp/fork/fc.%p.lt" \
	"$tmp/forkcache" > "$tmp/fork.out" || not_ok "forkcache ran"
calls=$(sed -n 's/^CALLS //p' "$tmp/fork.out")
got=
for dump in "$tmp"/fork/fc.*.lt; do
	"$build/libtrace" report --json --top 50 --frames 4 "$dump" > "$dump.json" ||
		not_ok "report of $dump"
	got="$got$(via_calls "$dump.json" | tr ' ' /) "
done
got=$(echo $got | tr ' ' '\n' | sort | tr '\n' ' ')
want="$calls/$calls/0 $((2 * calls))/$((2 * calls))/0 "
if [ "$got" = "$want" ]; then
	ok "fork: each dump defines its stacks; via_a/via_b/undefined $got"
else
	not_ok "fork: via_a/via_b/undefined per dump $got, want $want"
fi
# path_diff WANT JSON: compare the "PATH COUNT" lines a program printed
# (lines that start with # aside),
# a letter per frame leaf first (fa -> a, fb -> b, fc -> c, fv -> v, fj -> j),
# a trailing k for a path that ran on a coroutine (coro_main below it), then
# x or y for one that ran on a thread started at start_x or start_y, with the
# stacks through leaf in the report; prints the first differences and fails
# when there are any.
path_diff() {
	python3 - "$1" "$2" <<'PY'
import json, sys
want = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    path, n = line.split()
    want[path] = int(n)
got = {}
for s in json.load(open(sys.argv[2]))["sites_by_calls"]:
    funcs = [f.get("function") or "?" for f in s.get("frames", [])]
    if "leaf" not in funcs:
        continue
    path = "".join(f[1] for f in funcs if f in ("fa", "fb", "fc", "fv", "fj"))
    if "coro_main" in funcs:
        path += "k"
    for f, letter in (("start_x", "x"), ("start_y", "y")):
        if f in funcs:
            path += letter
    got[path] = got.get(path, 0) + s["calls"]
bad = [(p, want.get(p, 0), got.get(p, 0)) for p in sorted(set(want) | set(got))
       if want.get(p, 0) != got.get(p, 0)]
for p, w, g in bad[:5]:
    print("%s: program %d, libtrace %d" % (p, w, g))
sys.exit(1 if bad else 0)
PY
}
# paths NAME DESCRIPTION CFLAGS...: build tests/shim/NAME.c, run it untraced
# and traced, and check that every allocation's recorded stack is the path
# the program counted it on (path_diff).
paths() {
	local name=$1 what=$2 st diff
	shift 2
	cc -O1 -g -fno-inline -fno-optimize-sibling-calls "$@" -o "$tmp/$name" \
		"tests/shim/$name.c" || exit 1
	"$tmp/$name" > "$tmp/$name.want" || not_ok "$name ran untraced"
	LD_PRELOAD="$build/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$tmp/$name.lt" \
		"$tmp/$name" > "$tmp/$name.out"
	st=$?
	"$build/libtrace" report --json --top 100000 --frames 64 "$tmp/$name.lt" \
		> "$tmp/$name.json" || not_ok "report of the $name dump"
	if [ "$st" -ne 0 ] || ! cmp -s "$tmp/$name.want" "$tmp/$name.out"; then
		not_ok "$name: exit $st, or output changed under the shim"
	elif diff=$(path_diff "$tmp/$name.out" "$tmp/$name.json"); then
		ok "$name: $(grep -vc '^#' "$tmp/$name.want") paths $what, every allocation on its own path"
	else
		not_ok "$name: allocations on the wrong path: $(echo "$diff" | tr '\n' ';')"
	fi
}

# Many paths to one call site through fixed-size and alloca frames, and
# frames of code without unwind information, on two threads; then the same
# on coroutine stacks (makecontext, stacks from malloc) beside the thread's
# own.
paths stackpaths "through alloca and frame-pointer-only frames on two threads" -pthread
paths coroutines "on coroutine and thread stacks"
# And on 2,000 short-lived threads started through two routines whose stacks
# differ only in the return address into the routine, on glibc's stacks of
# two sizes and on the program's own: a thread the shim started reuses
# what the buffer's earlier owners cached, keyed by distance from its
# stack's end.
paths stackchurn "on 2,000 short-lived threads" -pthread
# And 1,500 paths of 1 to 56 frames, taken in turn: the cache's ways keep
# taking stacks of another depth, whose entries take more or fewer units.
paths deeppaths "of 1 to 56 frames, more than the first cache holds"
# And stacks of up to 48 KiB, each first reached through new code at its
# outermost frame: the walk that learns it checks every page.
paths bigframes "of 10 to 16 frames of 1 to 3 KiB on four threads" -pthread

# The shim answers libunwind's sigprocmask calls itself during a learning
# walk (all signals blocked once): the program's own mask and signals must
# come through as they do untraced.
cc -O1 -g -fno-inline -fno-optimize-sibling-calls -pthread -o "$tmp/sigmask" \
	tests/shim/sigmask.c || exit 1
"$tmp/sigmask" > "$tmp/sigmask.want" 2>/dev/null || not_ok "sigmask ran untraced"
LD_PRELOAD="$build/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$tmp/sigmask.lt" \
	"$tmp/sigmask" > "$tmp/sigmask.out" 2>/dev/null
st=$?
if [ "$st" -eq 0 ] && cmp -s "$tmp/sigmask.want" "$tmp/sigmask.out"; then
	ok "signal mask and delivery unchanged by quiet unwinding ($(wc -l < "$tmp/sigmask.out") checks)"
else
	not_ok "sigmask: exit $st, output $(tr '\n' ';' < "$tmp/sigmask.out")"
fi

# A stack cache miss on code it knows needs no learning walk, so no signal
# mask change (each one a system call): counted with strace over 196,608
# allocations from 2^15 stacks on the main thread of a C++ program (its
# first stack ends above where the rest do) and on a thread of its own.
cc -O1 -g -fno-builtin -fno-inline -fno-optimize-sibling-calls -pthread -o "$tmp/knowncode" \
	tests/shim/knowncode.c -Wl,--no-as-needed -lstdc++ || exit 1
if no_strace knowncode; then
	:
elif strace -f -qq -c -e trace=rt_sigprocmask -o "$tmp/knowncode.strace" \
	-E LD_PRELOAD="$build/libtrace.so" -E LIBTRACE_QUIET=1 \
	-E LIBTRACE_OUTPUT="$tmp/knowncode.lt" "$tmp/knowncode" > "$tmp/knowncode.out"; then
	blocks=$(sed -n 's/^blocks //p' "$tmp/knowncode.out")
	calls=$(awk '$NF == "rt_sigprocmask" { print $4 }' "$tmp/knowncode.strace")
	if [ -n "$blocks" ] && [ "${calls:-0}" -lt $((blocks / 20)) ]; then
		ok "knowncode: ${calls:-0} signal-mask system calls for $blocks allocations through known code"
	else
		not_ok "knowncode: ${calls:-?} signal-mask system calls for ${blocks:-?} allocations (want < 1 in 20)"
	fi
else
	not_ok "knowncode ran under strace"
fi
# libunwind checks each page a step reads with three system calls (mincore,
# a pipe read and write) unless it is among the last four it checked; the
# shim answers them for pages of the thread's own stack.  Counted over
# bigframes' 128 walks through stacks of up to 12 pages, and new threads'
# first unwinds (the shim itself reads a few files as it starts), and in a
# control run under a stack limit of 100 KiB, where the shim can answer
# for the top 36 KiB of the main thread's stack only, and for none of a
# thread's of the default size: that one shows the checks are counted.
# bigframes_checks LIMIT: mincore and read calls of a run under ulimit -s.
bigframes_checks() {
	(ulimit -s "$1" &&
	 strace -f -qq -c -e trace=mincore,read -o "$tmp/bigframes.strace" \
		-E LD_PRELOAD="$build/libtrace.so" -E LIBTRACE_QUIET=1 \
		-E LIBTRACE_OUTPUT="$tmp/bigframes-strace.lt" \
		"$tmp/bigframes" answerable > "$tmp/bigframes.out") || return 1
	awk '$NF == "mincore" || $NF == "read" { n += $4 } END { print n + 0 }' \
		"$tmp/bigframes.strace"
}
if no_strace bigframes; then
	:
elif ! control=$(bigframes_checks 100) || ! calls=$(bigframes_checks "$(ulimit -s)"); then
	not_ok "bigframes ran under strace"
else
	entries=$(sed -n 's/^# entries //p' "$tmp/bigframes.out")
	if [ -z "$entries" ] || [ "$control" -lt $((entries / 4)) ]; then
		echo "skipped - bigframes: libunwind here makes few page checks ($control under a 100 KiB stack limit)"
	elif [ "$calls" -lt $((entries / 4)) ]; then
		ok "bigframes: $calls mincore and read system calls for $entries walks over stacks of many pages ($control where the shim cannot answer)"
	else
		not_ok "bigframes: $calls mincore and read system calls for $entries walks over stacks of many pages (want < 1 in 4; $control where the shim cannot answer)"
	fi
fi
# traced NAME [VAR=VALUE...]: run the built $tmp/NAME under the shim (with
# those variables) into $tmp/NAME.out and $tmp/NAME.lt, and report the dump
# into $tmp/NAME.json; false if either fails.
traced() {
	name=$1
	shift
	env LD_PRELOAD="$build/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$tmp/$name.lt" \
		"$@" "$tmp/$name" > "$tmp/$name.out" &&
	"$build/libtrace" report --json --top 100000 --frames 8 "$tmp/$name.lt" \
		> "$tmp/$name.json"
}
# The same few stacks through frames whose size changes from call to call:
# an alloca frame, and code without unwind information that keeps a frame
# pointer (tests/shim/varframes.c).  The stack cache checks such frames
# through their saved rbp, so each stack is unwound about once, not once a
# call: a library preloaded before the shim counts its unw_backtrace calls.
cc -O1 -g -fno-builtin -fno-inline -fno-optimize-sibling-calls -o "$tmp/varframes" \
	tests/shim/varframes.c || exit 1
cc -O2 -shared -fPIC -o "$tmp/countunwind.so" tests/shim/countunwind.c -ldl || exit 1
if traced varframes LD_PRELOAD="$tmp/countunwind.so $build/libtrace.so" \
	COUNT_UNWIND_OUT="$tmp/varframes.unwinds"; then
	blocks=$(sed -n 's/^blocks //p' "$tmp/varframes.out")
	unwinds=$(cat "$tmp/varframes.unwinds" 2>/dev/null)
	calls=$(python3 - "$tmp/varframes.json" <<'PY'
import json, sys
calls = {"via_alloca": 0, "via_jit": 0}
for s in json.load(open(sys.argv[1]))["sites_by_calls"]:
    funcs = [f.get("function") for f in s.get("frames", [])]
    for f in calls:
        if f in funcs:
            calls[f] += s["calls"]
print(calls["via_alloca"], calls["via_jit"])
PY
)
	half=$((${blocks:-0} / 2))
	if [ -n "$unwinds" ] && [ "$unwinds" -gt 0 ] &&
	   [ "$unwinds" -lt $((${blocks:-0} / 100)) ] &&
	   [ "$calls" = "$half $half" ]; then
		ok "varframes: $unwinds unwinds for $blocks allocations (and as many frees) through frames of varying size, stacks right ($calls)"
	else
		not_ok "varframes: ${unwinds:-?} unwinds for ${blocks:-?} allocations (want < 1 in 100), calls through each frame '$calls', want '$half $half'"
	fi
else
	not_ok "varframes ran traced"
fi

# One allocation wrapper behind 64 call paths that differ only above it
# (tests/shim/wrappers.c): one key for the stack cache, 64 stacks taken in
# turn.  Each must still be unwound about once, not once a call, and each
# path's allocations must be its own.
cc -O1 -g -fno-builtin -fno-inline -fno-optimize-sibling-calls -o "$tmp/wrappers" \
	tests/shim/wrappers.c || exit 1
if traced wrappers LD_PRELOAD="$tmp/countunwind.so $build/libtrace.so" \
	COUNT_UNWIND_OUT="$tmp/wrappers.unwinds"; then
	blocks=$(sed -n 's/^blocks //p' "$tmp/wrappers.out")
	unwinds=$(cat "$tmp/wrappers.unwinds" 2>/dev/null)
	paths=$(python3 - "$tmp/wrappers.json" <<'PY'
import collections, json, sys
paths = collections.Counter()
for s in json.load(open(sys.argv[1]))["sites_by_calls"]:
    funcs = [f.get("function") or "" for f in s.get("frames", [])]
    if funcs[:2] == ["wrap", "via"]:
        paths[(funcs[2], funcs[3])] += s["calls"]
print(len(paths), " ".join(sorted(set(str(c) for c in paths.values()))))
PY
)
	rounds=$((${blocks:-0} / 64))
	if [ -n "$unwinds" ] && [ "$unwinds" -gt 0 ] &&
	   [ "$unwinds" -lt $((${blocks:-0} / 50)) ] && [ "$paths" = "64 $rounds" ]; then
		ok "wrappers: $unwinds unwinds for $blocks allocations (and as many frees) along 64 paths to one wrapper, each path's own ($paths)"
	else
		not_ok "wrappers: ${unwinds:-?} unwinds for ${blocks:-?} allocations (want < 1 in 50), paths and their calls '$paths', want '64 $rounds'"
	fi
else
	not_ok "wrappers ran traced"
fi

# Many threads at once: 32 use libunwind's fast path (a frame cache of about
# 256 KiB each), the rest step frame by frame (tests/shim/manythreads.c).
# Their stacks must be the same, and 160 threads must not add a cache each:
# the resident set stays within the performance target, 1.2 times untraced
# plus 32 MiB.  A program holding 512 MiB may have a thread on the fast
# path for every 4 MiB: more than 32 of them call unw_backtrace, also where
# it fills them after the threads' first unwinds (late: threads stepping
# ask again after 256 unwinds).
cc -O1 -g -fno-builtin -fno-inline -fno-optimize-sibling-calls -pthread \
	-o "$tmp/manythreads" tests/shim/manythreads.c || exit 1
many() {
	local hold=$1 when=${2:-} got want base hwm fast
	"$tmp/manythreads" $hold $when > "$tmp/many$hold.want" || not_ok "manythreads $hold ran untraced"
	if env LD_PRELOAD="$tmp/countunwind.so $build/libtrace.so" LIBTRACE_QUIET=1 \
		LIBTRACE_OUTPUT="$tmp/many$hold.lt" COUNT_UNWIND_THREADS_OUT="$tmp/many$hold.fast" \
		"$tmp/manythreads" $hold $when > "$tmp/many$hold.out" &&
	   "$build/libtrace" report --json --top 100000 --frames 8 "$tmp/many$hold.lt" \
		> "$tmp/many$hold.json"; then
		got=$(python3 - "$tmp/many$hold.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
leaf = other = 0
for s in d["sites_by_calls"]:
    funcs = [f.get("function") or "" for f in s.get("frames", [])]
    if funcs[:3] == ["leaf", "mid", "start_many"]:
        leaf += s["calls"]
    elif funcs[:2] == ["other", "start_many"]:
        other += s["calls"]
print(leaf, other)
PY
)
		want=$(sed -n 's/^leaf //p; s/^other //p' "$tmp/many$hold.out" | tr '\n' ' ' | sed 's/ $//')
		base=$(sed -n 's/^hwm_kib //p' "$tmp/many$hold.want")
		hwm=$(sed -n 's/^hwm_kib //p' "$tmp/many$hold.out")
		fast=$(cat "$tmp/many$hold.fast" 2>/dev/null)
		if [ "$got" != "$want" ]; then
			not_ok "manythreads $hold: leaf/other stacks $got, the program made $want"
		elif [ -z "$base" ] || [ -z "$hwm" ] || [ "$hwm" -ge $((base * 6 / 5 + 32 * 1024)) ]; then
			not_ok "manythreads $hold: peak resident ${hwm:-?} KiB traced, ${base:-?} KiB untraced (want < 1.2 x + 32 MiB)"
		elif [ -z "$fast" ] || { [ "$hold" -eq 0 ] && [ "$fast" -gt 32 ]; } ||
		     { [ "$hold" -gt 0 ] && [ "$fast" -le 32 ]; }; then
			not_ok "manythreads $hold $when: ${fast:-?} threads on libunwind's fast path (want at most 32 holding nothing, more holding 512 MiB)"
		else
			ok "manythreads: 160 threads at once holding $hold MiB${when:+ ($when)}, every stack right ($got), $fast on the fast path, peak resident $base -> $hwm KiB"
		fi
	else
		not_ok "manythreads $hold ran traced and reported"
	fi
}
many 0
many 512
many 512 late
# Many busy threads running varied code: 128 threads at once, each down the
# same 256 call paths to one leaf (tests/shim/threadpaths.c).  Every path
# must be its own stack with all its calls, and the resident set within the
# performance target: 1.2 times untraced plus 32 MiB.
cc -O1 -g -fno-builtin -fno-inline -fno-optimize-sibling-calls -pthread \
	-o "$tmp/threadpaths" tests/shim/threadpaths.c || exit 1
"$tmp/threadpaths" > "$tmp/threadpaths.want" || not_ok "threadpaths ran untraced"
if traced threadpaths; then
	grep -v '^hwm_kib ' "$tmp/threadpaths.out" > "$tmp/threadpaths.paths"
	bad=$(path_diff "$tmp/threadpaths.paths" "$tmp/threadpaths.json")
	st=$?
	base=$(sed -n 's/^hwm_kib //p' "$tmp/threadpaths.want")
	hwm=$(sed -n 's/^hwm_kib //p' "$tmp/threadpaths.out")
	if [ "$st" -ne 0 ]; then
		not_ok "threadpaths: allocations on the wrong chain: $(echo "$bad" | tr '\n' ';')"
	elif [ -z "$base" ] || [ -z "$hwm" ] || [ "$hwm" -ge $((base * 6 / 5 + 32 * 1024)) ]; then
		not_ok "threadpaths: peak resident ${hwm:-?} KiB traced, ${base:-?} KiB untraced (want < 1.2 x + 32 MiB)"
	else
		ok "threadpaths: 128 threads at once down 256 paths, $(wc -l < "$tmp/threadpaths.paths") chains, each allocation on its own, peak resident $base -> $hwm KiB"
	fi
else
	not_ok "threadpaths ran traced"
fi
# Thread buffers: the first 16 to fill up grow from 16 KiB to 254 KiB, the
# rest stay small (tests/shim/bufgrow.c); strace sees each chunk's writev.
cc -O1 -g -fno-builtin -pthread -o "$tmp/bufgrow" tests/shim/bufgrow.c || exit 1
if no_strace bufgrow; then
	:
elif strace -f -qq -s 0 -e trace=writev -o "$tmp/bufgrow.strace" \
	-E LD_PRELOAD="$build/libtrace.so" -E LIBTRACE_QUIET=1 \
	-E LIBTRACE_OUTPUT="$tmp/bufgrow.lt" -E LIBTRACE_COMPRESS=0 \
	"$tmp/bufgrow" > "$tmp/bufgrow.out"; then
	# Threads that wrote a chunk of more than 16 KiB plus its header (a
	# call strace saw interrupted ends in a "<... writev resumed>" line).
	big=$(awk '/writev\(|writev resumed/ && $NF ~ /^[0-9]+$/ &&
		$NF + 0 > 16 * 1024 + 32 { seen[$1] = 1 }
		END { n = 0; for (t in seen) n++; print n }' "$tmp/bufgrow.strace")
	threads=$(sed -n 's/^threads //p' "$tmp/bufgrow.out")
	if [ "${threads:-0}" -gt 16 ] && [ "$big" -ge 1 ] && [ "$big" -le 16 ]; then
		ok "bufgrow: $big of $threads busy threads write 254 KiB chunks (at most 16 grow)"
	else
		not_ok "bufgrow: $big of ${threads:-?} busy threads wrote chunks over 16 KiB (want 1 to 16)"
	fi
else
	not_ok "bufgrow ran under strace"
fi
# Compressed chunks (LIBTRACE_COMPRESS=1) against plain ones (the default):
# the same report of the same run, from a dump at least 3 times smaller.
for z in 1 0; do
	env LD_PRELOAD="$build/libtrace.so" LIBTRACE_QUIET=1 LIBTRACE_COMPRESS=$z \
		LIBTRACE_OUTPUT="$tmp/compress$z.lt" "$build/samples/churn" 200000 \
		> /dev/null &&
	"$build/libtrace" report --json --top 100 "$tmp/compress$z.lt" \
		> "$tmp/compress$z.json" || not_ok "churn ran traced with LIBTRACE_COMPRESS=$z"
done
got=$(python3 - "$tmp/compress1" "$tmp/compress0" <<'PY'
import json, sys
sys.path.insert(0, "tests/integration")
from ltcheck import dump_info
out = []
for base in sys.argv[1:]:
    info = dump_info(base + ".lt")
    d = json.load(open(base + ".json"))
    sites = sorted((tuple(f.get("function") or "?" for f in s["frames"]), s["calls"],
                    s["bytes"], s["temporary"], s["leaked_bytes"])
                   for s in d["sites_by_calls"])
    out.append((info["size"], info["compressed_chunks"], d["totals"], sites))
(zlen, zn, zt, zs), (plen, pn, pt, ps) = out
same = zt == pt and zs == ps and zt["allocations"] >= 400000
print("%s %d %d %.1f" % ("same" if same else "differ", zn, pn, plen / zlen))
PY
)
set -- $got
if [ "$1" = same ] && [ "$2" -gt 0 ] && [ "$3" = 0 ] &&
   python3 -c "import sys; sys.exit(float(sys.argv[1]) < 3)" "$4"; then
	ok "compress: $2 compressed chunks, the same report as plain ones from a dump $4 times smaller"
else
	not_ok "compress: reports $1, compressed chunks $2 (plain run ${3:-?}), plain dump ${4:-?} times the compressed one (want the same, >0, 0, >= 3)"
fi
# Snapshots while threads allocate: the chunks written after each continue
# the coded state of the last (tests/shim/snapcont.c), and are compressed
# (LIBTRACE_COMPRESS=1).  Every allocation of the workers is counted, and
# exactly the blocks they kept are leaked.
cc -O1 -g -fno-builtin -pthread -o "$tmp/snapcont" tests/shim/snapcont.c || exit 1
if traced snapcont LIBTRACE_SNAPSHOT_SIGNAL=USR2 LIBTRACE_COMPRESS=1; then
	got=$(python3 - "$tmp/snapcont.lt" "$tmp/snapcont.json" <<'PY'
import json, sys
sys.path.insert(0, "tests/integration")
from ltcheck import dump_info
cont = dump_info(sys.argv[1])["continued_chunks"]
d = json.load(open(sys.argv[2]))
calls = blocks = nbytes = 0
for s in d["sites_by_calls"]:
    if any(f.get("function") == "worker" for f in s.get("frames", [])[:1]):
        calls += s["calls"]; blocks += s["leaked_blocks"]; nbytes += s["leaked_bytes"]
bad = sum(v for v in d["anomalies"].values())
print(cont, calls, blocks, nbytes, bad)
PY
)
	want="$(sed -n 's/^allocs //p' "$tmp/snapcont.out") $(sed -n 's/^kept_blocks //p' "$tmp/snapcont.out") $(sed -n 's/^kept_bytes //p' "$tmp/snapcont.out") 0"
	if [ "${got#* }" = "$want" ] && [ "${got%% *}" -gt 0 ]; then
		ok "snapcont: ${got%% *} continued chunks; worker allocations, kept blocks and bytes as counted ($want)"
	else
		not_ok "snapcont: continued chunks, calls, leaked blocks, bytes, anomalies: $got; the program counted $want"
	fi
else
	not_ok "snapcont ran traced and reported"
fi
# Allocations after a thread's exit was recorded (a thread-specific value's
# destructor): each goes out in a chunk of its own, coded from zero
# (tests/shim/tlsexit.c).  Every block kept and every one the destructor
# made is freed, at the sites the program used.
cc -O1 -g -fno-builtin -pthread -o "$tmp/tlsexit" tests/shim/tlsexit.c || exit 1
if traced tlsexit; then
	got=$(python3 - "$tmp/tlsexit.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
calls = temporary = leaked = 0
for s in d["sites_by_calls"]:
    if any(f.get("function") in ("keep", "in_destructor") for f in s.get("frames", [])[:1]):
        calls += s["calls"]; temporary += s["temporary"]; leaked += s["leaked_blocks"]
print(calls, temporary, leaked, sum(d["anomalies"].values()))
PY
)
	n=$(sed -n 's/^blocks //p' "$tmp/tlsexit.out")
	if [ "$got" = "$n $n 0 0" ]; then
		ok "tlsexit: $n allocations around threads' ends, each freed where the program freed it"
	else
		not_ok "tlsexit: calls, temporary, leaked, anomalies: $got (want $n $n 0 0)"
	fi
else
	not_ok "tlsexit ran traced and reported"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
