#!/usr/bin/env bash
# Integration tests of `libtrace threads`: the thread samples run under the
# shim and write what they know about their own threads (samples/threadtruth.h
# per creation site, samples/groundtruth.h totals); every count the report
# gives is compared with that, exactly.  ThreadSanitizer is the outside
# oracle for leaked threads, and a snapshot is taken with a signal while a
# sample runs.
#
#   tests/integration/threads.sh BUILD_DIR      (make integration)
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
CHECK="python3 $ROOT/tests/integration/ltthreads.py"
SAMPLE_CFLAGS="-std=gnu11 -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fno-inline -fno-builtin -pthread"
LIMIT=${LT_TIMEOUT:-60}      # seconds any one run may take

SUITE=threads
. "$ROOT/tests/integration/lib.sh"
need_built "$SO" "$LT"

# traced NAME DIR [VAR=VALUE...] -- CMD ARGS: runs CMD under the shim with its
# truths going to DIR; the dump is DIR/NAME.lt, its report DIR/NAME.json.
traced() {
	local name=$1 dir=$2 envs=()
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	mkdir -p "$dir"
	# timeout first: it must not itself run under the shim.
	timeout "$LIMIT" env "${envs[@]}" LT_GROUND_TRUTH="$dir/gt" LT_THREADS_TRUTH="$dir/truth" \
		LD_PRELOAD="$SO" LIBTRACE_OUTPUT="$dir/$name.lt" LIBTRACE_QUIET=1 \
		"$@" >"$dir/stdout" 2>"$dir/stderr"
	echo $? >"$dir/status"
}

# check_sample NAME ARGS...: run it, then every site, count and total.
check_sample() {
	local name=$1 dir=$TMP/$1 limit=$FANOUT_LIMIT
	shift
	traced "$name" "$dir" -- "$SAMPLES/$name" "$@"
	if [ "$(cat "$dir/status")" != 0 ] || [ ! -f "$dir/$name.lt" ]; then
		not_ok "$name: runs traced" "status $(cat "$dir/status"): $(head -c 300 "$dir/stderr")"
		return
	fi
	if ! "$LT" threads --json "$dir/$name.lt" >"$dir/$name.json" 2>"$dir/err"; then
		not_ok "$name: threads --json" "exit $?: $(head -c 300 "$dir/err")"
		return
	fi
	expect "$name: every creation site's counts, names and exit stacks match the sample" \
		$CHECK sites "$dir/truth" "$dir/$name.json" "$limit"
	expect "$name: thread totals match the ground truth" \
		$CHECK totals "$dir/gt" "$dir/$name.json"
	if "$LT" threads "$dir/$name.lt" >"$dir/$name.txt" 2>"$dir/err"; then
		ok "$name: threads (text) exit 0"
	else
		not_ok "$name: threads (text)" "exit $?: $(head -c 300 "$dir/err")"
	fi
}

# ---- the samples, counts exact -------------------------------------------------
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
FANOUT_LIMIT=$((4 * CPUS))
# More items than the default limit, so the unbounded loop must be flagged.
ITEMS=$((FANOUT_LIMIT + 8))
[ "$ITEMS" -lt 64 ] && ITEMS=64
[ "$ITEMS" -gt 4000 ] && ITEMS=4000
echo "# $CPUS online CPUs: default fan-out limit $FANOUT_LIMIT; fanout runs $ITEMS items"

check_sample fanout "$ITEMS" 4
check_sample stuck_workers
check_sample unjoined
check_sample detached
check_sample joined_pool

# ---- fan-out: the flag, its threshold and when ---------------------------------
d=$TMP/fanout
if [ -f "$d/fanout.lt" ]; then
	for lim in $((ITEMS - 1)) "$ITEMS" 3 4; do
		"$LT" threads --json --fanout-limit "$lim" "$d/fanout.lt" >"$d/lim$lim.json" 2>"$d/err"
		expect "fanout: --fanout-limit $lim flags exactly the sites whose peak exceeds it" \
			$CHECK sites "$d/truth" "$d/lim$lim.json" "$lim"
	done
	if grep -q "unbounded fan-out: $ITEMS threads of process from spawn_unbounded (samples/fanout.c:[0-9]*) (site #1) alive at once at [0-9.]* [mun]*s, over the limit of $FANOUT_LIMIT ($ITEMS created in all)$" "$d/fanout.txt"; then
		ok "fanout: text names the unbounded site, its peak, when, and the limit"
	else
		not_ok "fanout: text names the unbounded site" "$(grep -i fan-out "$d/fanout.txt" | head -n 3 | tr '\n' ' ')"
	fi
fi

# ---- sampling across many threads ---------------------------------------------
# Each thread starts its byte countdown at a random distance.  A countdown
# that started at 0 recorded every thread's first allocation, each weighted
# up to the whole interval: 400 threads read as 52.8 MB for 0.3 MB.  The
# estimate from the samples must stay within 20 intervals of the exact
# total (a Poisson tail of about 1e-14 with the countdown drawn as it should).
d=$TMP/fanout_sampled
traced fanout_sampled "$d" LIBTRACE_SAMPLE=64k -- "$SAMPLES/fanout" 400 400
if [ "$(cat "$d/status")" = 0 ] &&
   "$LT" report --json --top 100000 --frames 1 "$d/fanout_sampled.lt" >"$d/r.json" 2>"$d/err"; then
	got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
est = sum(s["bytes"] for s in d["sites_by_bytes"])
exact = d["totals"]["bytes_allocated"]
print("%d %d %s" % (est, exact, "ok" if d["sampled"] and est <= exact + 20 * 65536 else "off"))
' "$d/r.json" 2>&1)
	case $got in
	*" ok") ok "fanout, 400 threads sampled at 64 KiB: estimate within 20 intervals of the exact total (${got% ok})" ;;
	*) not_ok "fanout, 400 threads sampled at 64 KiB" "estimate, exact total: $got" ;;
	esac
else
	not_ok "fanout, 400 threads sampled at 64 KiB" "status $(cat "$d/status"): $(head -c 300 "$d/stderr" "$d/err" 2>/dev/null)"
fi

# ---- live stacks in text, the goroutine-dump line ----------------------------------
d=$TMP/stuck_workers
if [ -f "$d/stuck_workers.txt" ]; then
	if grep -q '^  3 threads: pthread_cond_wait ← queue_pop (samples/stuck_workers.c:[0-9]*) ← worker_main (samples/stuck_workers.c:[0-9]*)$' "$d/stuck_workers.txt" &&
	   grep -q '#2 "worker-0" tid [0-9]* (site #1, running at exit)' "$d/stuck_workers.txt"; then
		ok "stuck_workers: text groups the 3 workers on one goroutine-style line, with names"
	else
		not_ok "stuck_workers: goroutine-style line" "$(grep -A1 'threads:' "$d/stuck_workers.txt" | head -n 4 | tr '\n' ' ')"
	fi
	# goleak-style filters: the running workers stop counting, nothing else moves.
	for f in "--ignore-start worker_main" "--ignore-top pthread_cond_wait" "--ignore-top queue_pop" "--ignore-start worker_*"; do
		"$LT" threads --json $f "$d/stuck_workers.lt" >"$d/ign.json" 2>"$d/err"
		got=$($CHECK get "$d/ign.json" totals.threads_running_at_exit 2>&1)/$($CHECK get "$d/ign.json" totals.threads_ignored 2>&1)/$($CHECK get "$d/ign.json" live_stacks.0.threads 2>&1)
		if [ "$got" = "0/3/1" ]; then
			ok "stuck_workers: $f leaves the 3 workers out (running at exit 0, ignored 3, 1 stack at exit)"
		else
			not_ok "stuck_workers: $f" "running/ignored/exit stacks = $got, expected 0/3/1"
		fi
	done
	"$LT" threads --json --ignore-top read --ignore-start main "$d/stuck_workers.lt" >"$d/ign.json" 2>"$d/err"
	got=$($CHECK get "$d/ign.json" totals.threads_running_at_exit 2>&1)/$($CHECK get "$d/ign.json" totals.threads_ignored 2>&1)
	if [ "$got" = "3/0" ]; then
		ok "stuck_workers: filters that match nothing change nothing"
	else
		not_ok "stuck_workers: filters that match nothing" "running/ignored = $got, expected 3/0"
	fi
fi

# ---- usage ---------------------------------------------------------------------------
"$LT" threads --help >"$TMP/help" 2>&1
status=$?
if [ "$status" -eq 0 ] && grep -q -- "--fanout-limit" "$TMP/help" && grep -q -- "--ignore-top" "$TMP/help"; then
	ok "threads --help: exit 0, documents its options"
else
	not_ok "threads --help" "exit $status"
fi
for args in "" "--fanout-limit 0 x.lt" "--bogus x.lt"; do
	"$LT" threads $args >/dev/null 2>"$TMP/usage.err"
	status=$?
	if [ "$status" -eq 2 ] && [ -s "$TMP/usage.err" ]; then
		ok "threads $args: usage error, exit 2"
	else
		not_ok "threads $args: usage error, exit 2" "exit $status"
	fi
done
"$LT" threads "$TMP/does-not-exist.lt" >/dev/null 2>"$TMP/missing.err"
status=$?
if [ "$status" -eq 2 ] && grep -q does-not-exist "$TMP/missing.err"; then
	ok "threads of a missing dump: exit 2 naming the file"
else
	not_ok "threads of a missing dump: exit 2 naming the file" "exit $status"
fi

# ---- ThreadSanitizer as the oracle ---------------------------------------------------
# The same sources built with -fsanitize=thread: TSan reports finished, never
# joined threads ("thread leak"), by the stack that created them.  libtrace,
# on the unmodified build, must report the same sites with the same counts,
# and beyond them the threads still running at exit, which TSan does not.
mkdir -p "$TMP/tsan"
if ! echo 'int main(void){return 0;}' | cc -fsanitize=thread -x c -o "$TMP/tsan/probe" - 2>"$TMP/tsan/probe.err" ||
   ! "$TMP/tsan/probe" 2>>"$TMP/tsan/probe.err"; then
	not_ok "ThreadSanitizer is available (Debian: libtsan2, see tools/deps.sh)" "$(head -c 300 "$TMP/tsan/probe.err")"
else
	for name in leaked_thread unjoined stuck_workers; do
		d=$TMP/tsan/$name
		mkdir -p "$d"
		if ! cc $SAMPLE_CFLAGS -fsanitize=thread -I"$ROOT/include" -I"$ROOT/samples" \
			-o "$d/$name" "$ROOT/samples/$name.c" 2>"$d/cc.err"; then
			not_ok "$name: builds with -fsanitize=thread" "$(oneline "$d/cc.err")"
			continue
		fi
		TSAN_OPTIONS="exitcode=0 report_thread_leaks=1" timeout "$LIMIT" "$d/$name" >/dev/null 2>"$d/tsan.log"
		if [ "$name" = leaked_thread ]; then
			traced "$name" "$d/traced" -- "$SAMPLES/$name"
			"$LT" threads --json "$d/traced/$name.lt" >"$d/report.json" 2>"$d/err"
			expect "$name: thread totals match the ground truth" \
				$CHECK totals "$d/traced/gt" "$d/report.json"
		else
			cp "$TMP/$name/$name.json" "$d/report.json" 2>/dev/null
		fi
		if $CHECK tsan "$d/tsan.log" "$d/report.json" >"$d/cmp" 2>&1; then
			ok "$name: the leaked threads by creation site are ThreadSanitizer's; running at exit beyond them"
			grep '^#' "$d/cmp"
		else
			not_ok "$name: leaked threads against ThreadSanitizer" "$(grep -v '^#' "$d/cmp" | tr '\n' ' ')"
		fi
	done
	# leaked_thread must also show what TSan cannot: one thread running at exit.
	d=$TMP/tsan/leaked_thread
	if [ -f "$d/report.json" ] && [ "$($CHECK get "$d/report.json" totals.threads_running_at_exit 2>&1)" = 1 ] &&
	   grep -q '"start_routine": {[^}]*"function": "blocked_main"}' "$d/report.json"; then
		ok "leaked_thread: the thread blocked on a condition variable is reported running at exit"
	else
		not_ok "leaked_thread: running at exit" "$(head -c 300 "$d/err" 2>/dev/null)"
	fi
fi

# ---- a snapshot while the program runs -------------------------------------------
# joined_pool waits on standard input with 4 idle workers and one thread that
# blocks every signal; the test sends the snapshot signal, waits for the
# snapshot in the (still growing) dump, then lets the program finish.
d=$TMP/snapshot
mkdir -p "$d"
mkfifo "$d/in"
timeout "$LIMIT" env LT_GROUND_TRUTH="$d/gt" LT_THREADS_TRUTH="$d/truth" LD_PRELOAD="$SO" \
	LIBTRACE_OUTPUT="$d/pool.%p.lt" LIBTRACE_QUIET=1 LIBTRACE_SNAPSHOT_SIGNAL=USR2 \
	"$SAMPLES/joined_pool" wait <"$d/in" >"$d/stdout" 2>"$d/stderr" &
runner=$!
exec 3>"$d/in"
for _ in $(seq 200); do
	grep -q '^ready$' "$d/stdout" 2>/dev/null && break
	sleep 0.05
done
dump=$(ls "$d"/pool.*.lt 2>/dev/null | head -n 1)
pid=${dump##*/pool.}
pid=${pid%.lt}
snapshot_seen=0
if [ -n "$dump" ] && grep -q '^ready$' "$d/stdout"; then
	kill -USR2 "$pid"
	for _ in $(seq 100); do
		if "$LT" threads --json "$dump" >"$d/running.json" 2>/dev/null &&
		   python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not any(s["snapshot"] == 1 and s["complete"] for s in r["live_stacks"]))' "$d/running.json"; then
			snapshot_seen=1
			break
		fi
		sleep 0.05
	done
fi
echo >&3
exec 3>&-
wait "$runner"
status=$?
if [ "$snapshot_seen" = 1 ]; then
	ok "snapshot: readable from the dump while the program still runs"
else
	not_ok "snapshot: taken and readable while the program runs" "dump '$dump', stdout: $(head -c 200 "$d/stdout")"
fi
if [ "$status" -eq 0 ] && grep -q '^joined_pool: 40 jobs processed by 4 workers, all joined$' "$d/stdout"; then
	ok "snapshot: the program ran on after it (all jobs done, exit 0)"
else
	not_ok "snapshot: the program ran on" "status $status, stdout: $(head -c 200 "$d/stdout")"
fi
if [ -n "$dump" ] && "$LT" threads --json "$dump" >"$d/pool.json" 2>"$d/err"; then
	expect "snapshot: every thread at snapshot 1 and what it waits on (workers in queue_pop, main in read, the signal-blocking thread unavailable)" \
		$CHECK snapshot "$d/truth" "$d/pool.json"
	expect "snapshot: counts, names and exit stacks of the pool match the sample" \
		$CHECK sites "$d/truth" "$d/pool.json"
	"$LT" threads "$dump" >"$d/pool.txt" 2>&1
	if grep -q '^  4 threads: pthread_cond_wait ← queue_pop (samples/joined_pool.c:[0-9]*) ← worker_main' "$d/pool.txt" &&
	   grep -q '^  1 thread: stack unavailable' "$d/pool.txt" &&
	   grep -q '^Live stacks at snapshot 1, ' "$d/pool.txt"; then
		ok "snapshot: text shows the snapshot's groups and \"stack unavailable\""
	else
		not_ok "snapshot: text" "$(grep -A8 'snapshot 1' "$d/pool.txt" | tr '\n' ' ' | head -c 400)"
	fi
else
	not_ok "snapshot: threads --json of the finished dump" "$(head -c 300 "$d/err" 2>/dev/null)"
fi

finish
