#!/usr/bin/env bash
# Integration tests: run every sample under the shim (LD_PRELOAD, and through
# `libtrace run`), read each dump with `libtrace report --json`, and compare
# its totals with the ground truth the sample wrote itself.  What glibc adds
# (thread TLS vectors) is measured, not guessed: see samples/README.md.
#
#   tests/integration/run.sh BUILD_DIR      (make integration)
#
# Prints "ok - NAME" or "not ok - NAME: DETAILS" per check, lines starting
# with "#" for what was measured, and last "N passed, N failed".  Exits 1 if
# anything failed.  LT_KEEP=1 keeps the scratch directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build directory: ${1:-build}" >&2; exit 2; }
LT=$BUILD/libtrace
SO=$BUILD/libtrace.so
SAMPLES=$BUILD/samples
CHECK="python3 $ROOT/tests/integration/ltcheck.py"
SAMPLE_CFLAGS="-std=gnu11 -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fno-inline -fno-builtin -pthread"
LIMIT=${LT_TIMEOUT:-120}      # seconds any one run may take
STRESS_ENV="GLIBC_TUNABLES=glibc.pthread.stack_cache_size=0"

SUITE=integration
. "$ROOT/tests/integration/lib.sh"
# ---- prerequisites ----------------------------------------------------------
need_built "$SO" "$LT" "$SAMPLES"/{empty,leak,churn,realloc,pool,leaked_thread,forkexec,exits}

# Test a snapshot: a rebuild while the suite runs must not change the tool
# under test.  `libtrace run` finds the shim next to itself.
mkdir -p "$TMP/bin" "$TMP/samples"
cp "$SO" "$LT" "$TMP/bin/" || exit 2
cp "$SAMPLES"/{empty,leak,churn,realloc,pool,leaked_thread,forkexec,exits} "$TMP/samples/" || exit 2
SO=$TMP/bin/libtrace.so
LT=$TMP/bin/libtrace
SAMPLES=$TMP/samples
if cc $SAMPLE_CFLAGS -shared -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-o "$TMP/bin/refcount.so" "$ROOT/tests/integration/refcount.c" -ldl 2>"$TMP/bin/cc.err"; then
	ok "build the reference counter"
else
	not_ok "build the reference counter" "$(oneline "$TMP/bin/cc.err")"
fi
for t in threads_stress fork_stress; do
	if cc $SAMPLE_CFLAGS -I"$ROOT/include" -I"$ROOT/samples" -o "$TMP/bin/$t" \
		"$ROOT/tests/stress/$t.c" 2>"$TMP/bin/cc.err"; then
		ok "build tests/stress/$t"
	else
		not_ok "build tests/stress/$t" "$(oneline "$TMP/bin/cc.err")"
	fi
done

# ---- running --------------------------------------------------------------
# run MODE DIR [VAR=VALUE...] -- CMD ARGS: runs CMD with its ground truth going
# to DIR/gt; stdout to DIR/stdout, stderr to DIR/stderr, status to DIR/status.
# MODE: plain (no shim), preload, cli (libtrace run), refcount.
run() {
	local mode=$1 dir=$2 envs=()
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	mkdir -p "$dir"
	envs+=("LT_GROUND_TRUTH=$dir/gt")
	# timeout first: it must not itself run under the shim.  The subshell
	# keeps bash's "Segmentation fault" notices of the abort and segv runs
	# out of the output.
	( case $mode in
	plain)
		timeout "$LIMIT" env "${envs[@]}" "$@" >"$dir/stdout" 2>"$dir/stderr" ;;
	preload)
		timeout "$LIMIT" env "${envs[@]}" LD_PRELOAD="$SO" LIBTRACE_OUTPUT="$dir/%e.%p.lt" \
			LIBTRACE_QUIET=1 "$@" >"$dir/stdout" 2>"$dir/stderr" ;;
	cli)
		timeout "$LIMIT" env "${envs[@]}" "$LT" run --output "$dir/%e.%p.lt" -- "$@" \
			>"$dir/stdout" 2>"$dir/stderr" ;;
	refcount)
		timeout "$LIMIT" env "${envs[@]}" LD_PRELOAD="$TMP/bin/refcount.so" REFCOUNT_OUT="$dir/rc" \
			"$@" >"$dir/stdout" 2>"$dir/stderr" ;;
	esac ) 2>/dev/null
	echo $? >"$dir/status"
}

# report DUMP: writes DUMP.json; returns the analyzer's status.
report() {
	"$LT" report --json "$1" >"$1.json" 2>"$1.err"
}

# Totals a baseline's trace holds beyond its ground truth, as a "#" line.
note_baseline() {
	local label=$1 gt=$2 json=$3
	python3 - "$gt" "$json" "$label" <<-'EOF'
	import json, sys
	gt = json.load(open(sys.argv[1]))["totals"]
	rep = json.load(open(sys.argv[2])).get("totals", {})
	extra = ["%s %+d" % (k, rep[k] - gt[k]) for k in gt
	         if k in rep and isinstance(rep[k], int) and rep[k] != gt[k]]
	print("# baseline %s: beyond its ground truth: %s" % (sys.argv[3], ", ".join(extra) or "nothing"))
	EOF
}

# first_process DIR: "GT DUMP" of the main process (or the parent of forks)
# traced in DIR.
first_process() {
	$CHECK match "$1" | awk '!found && ($3 == "main" || $3 == "parent") { print $1, $2; found = 1 }'
}

# ---- checking one traced run ----------------------------------------------
# check_traced NAME MODE DIR BASE_GT BASE_REPORT [BASE_DUMP]: every ground
# truth in DIR against the report of its dump.  The baseline pair (ground
# truth, analyzer report) of a run of the same shape without the sample's own
# allocations says what libc and the shim add; an empty pair is exact.
check_traced() {
	local name=$1 mode=$2 dir=$3 base_gt=$4 base_report=$5 base_dump=${6:-}
	local gt dump role pid label count=0

	$CHECK match "$dir" >"$dir/match" 2>&1
	while read -r gt dump role pid; do
		count=$((count + 1))
		label="$name"
		[ "$role" != main ] && label="$name [$role]"
		if [ "$dump" = - ] || [ "${dump#ambiguous}" != "$dump" ]; then
			not_ok "$label ($mode): totals" "no single dump for pid $pid argv $($CHECK get "$gt" argv) in $dir: $dump"
			continue
		fi
		if ! report "$dump"; then
			not_ok "$label ($mode): report --json" "exit $?: $(head -c 300 "$dump.err")"
			continue
		fi
		# A forked child or exec'd image starts no thread: its baseline is
		# the empty program, whatever the parent's is.
		local bg=$base_gt br=$base_report bd=$base_dump
		if [ "$role" != main ] && [ "$role" != parent ]; then
			bg=$TMP/$mode/empty/gt
			br=$TMP/$mode/empty/baseline.json
			bd=$TMP/$mode/empty/baseline.lt
		fi
		if $CHECK compare "$gt" "$dump.json" "$bg" "$br" >"$dump.cmp"; then
			ok "$label ($mode): totals match the ground truth"
		else
			not_ok "$label ($mode): totals" "$(oneline "$dump.cmp")"
		fi
		if [ "$mode" = preload ]; then
			if $CHECK trailer "$gt" "$dump" "$bg" "$bd" >"$dump.trl" 2>&1; then
				ok "$label: the shim's trailer counts match the ground truth"
			else
				not_ok "$label: the shim's trailer counts" "$(oneline "$dump.trl")"
			fi
			perm=$(stat -c %a "$dump")
			if [ "$perm" = 600 ]; then
				ok "$label: dump file mode is 0600"
			else
				not_ok "$label: dump file mode" "expected 600, got $perm ($dump)"
			fi
		fi
	done <"$dir/match"
	if [ "$count" -eq 0 ]; then
		not_ok "$name ($mode): ground truth" "the sample wrote none ($(oneline "$dir/match"))"
	fi
}

# ---- the baselines ----------------------------------------------------------
# The empty program, traced: everything it shows came from libc or the shim.
for mode in preload cli; do
	dir=$TMP/$mode/empty
	run "$mode" "$dir" -- "$SAMPLES/empty"
	d=$(ls "$dir"/*.lt 2>/dev/null | head -n 1)
	if [ -z "$d" ]; then
		not_ok "empty program ($mode): a dump" "none written; stderr: $(head -c 300 "$dir/stderr")"
		continue
	fi
	if ! report "$d"; then
		not_ok "empty program ($mode): report --json" "exit $?: $(head -c 300 "$d.err")"
		continue
	fi
	cp "$d" "$dir/baseline.lt"
	cp "$d.json" "$dir/baseline.json"
	if $CHECK compare "$dir/gt" "$d.json" "$dir/gt" "$dir/gt" >"$d.cmp"; then
		ok "empty program ($mode): libc and the shim add no allocation and no thread"
	else
		not_ok "empty program ($mode): libc and the shim add nothing" "$(oneline "$d.cmp")"
	fi
done

# The comparison itself can fail: one allocation too many in a ground truth.
dir=$TMP/preload/empty
if [ -f "$dir/baseline.json" ]; then
	python3 - "$dir/gt" "$dir/gt.off-by-one" <<-'EOF'
	import json, sys
	gt = json.load(open(sys.argv[1]))
	gt["totals"]["allocations"] += 1
	json.dump(gt, open(sys.argv[2], "w"))
	EOF
	if $CHECK compare "$dir/gt.off-by-one" "$dir/baseline.json" "$dir/gt" "$dir/gt" >/dev/null; then
		not_ok "the comparison notices one allocation too many" "it passed"
	else
		ok "the comparison notices one allocation too many"
	fi
	rm -f "$dir/gt.off-by-one"
fi

# sample NAME BASELINE [VAR=VALUE...] -- CMD ARGS
#   BASELINE empty: compared with the traced empty program;
#   BASELINE skeleton: with the same command run with LT_SKELETON=1 (the same
#   threads, none of the sample's own allocations).
sample() {
	local name=$1 baseline=$2 envs=() mode dir base_gt base_report base_dump gt pid role label _
	local started=$SECONDS
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift

	# Ground truth checked by an independent counter first: a wrong sample
	# would make every later failure misleading.
	dir=$TMP/refcount/$name
	run refcount "$dir" "${envs[@]}" -- "$@"
	$CHECK match "$dir" >"$dir/match" 2>&1
	while read -r gt _ role pid; do
		label=$name
		[ "$role" != main ] && label="$name [$role]"
		[ -f "$dir/rc.$pid" ] || continue       # no destructor ran: _exit, signals, exec
		[ -f "$dir/gt.$pid.exec" ] && [ "$role" != exec ] && continue   # the pid's counts are the exec'd image's
		if $CHECK refcount "$gt" "$dir/rc.$pid" >"$dir/rc.cmp"; then
			ok "$label: ground truth agrees with the reference counter"
		else
			not_ok "$label: ground truth against the reference counter" "$(oneline "$dir/rc.cmp")"
		fi
		python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["foreign"]; print("# glibc itself in %s: %d allocations, %d frees, %d bytes, %d blocks left at exit" % (sys.argv[2], f["allocations"], f["frees"], f["bytes_allocated"], f["leaked_blocks"]))' "$dir/rc.$pid" "$label"
	done <"$dir/match"

	# The program behaves the same traced and untraced.
	run plain "$TMP/plain/$name" "${envs[@]}" -- "$@"
	run preload "$TMP/preload/$name" "${envs[@]}" -- "$@"
	if cmp -s "$TMP/plain/$name/stdout" "$TMP/preload/$name/stdout" &&
	   cmp -s "$TMP/plain/$name/status" "$TMP/preload/$name/status"; then
		ok "$name: same stdout and exit status ($(cat "$TMP/plain/$name/status")) with and without the shim"
	else
		not_ok "$name: same stdout and exit status with and without the shim" \
			"status $(cat "$TMP/plain/$name/status") untraced, $(cat "$TMP/preload/$name/status") traced; stdout diff: $(diff "$TMP/plain/$name/stdout" "$TMP/preload/$name/stdout" | head -n 6 | tr '\n' ' ')"
	fi
	if [ -s "$TMP/preload/$name/stderr" ]; then
		not_ok "$name: nothing on stderr under LIBTRACE_QUIET=1" "$(head -c 300 "$TMP/preload/$name/stderr")"
	fi

	for mode in preload cli; do
		dir=$TMP/$mode/$name
		[ "$mode" = cli ] && run cli "$dir" "${envs[@]}" -- "$@"
		if [ "$baseline" = skeleton ]; then
			local sk=$TMP/$mode/$name.skeleton
			run "$mode" "$sk" "${envs[@]}" LT_SKELETON=1 -- "$@"
			base_gt= base_dump=
			read -r base_gt base_dump < <(first_process "$sk")
			if [ -z "${base_dump:-}" ] || [ ! -f "$base_dump" ] || ! report "$base_dump"; then
				not_ok "$name ($mode): skeleton baseline" "no readable dump in $sk: $(head -c 300 "$sk/stderr")"
				continue
			fi
			base_report=$base_dump.json
			note_baseline "$name ($mode)" "$base_gt" "$base_report"
		else
			base_gt=$TMP/$mode/empty/gt
			base_report=$TMP/$mode/empty/baseline.json
			base_dump=$TMP/$mode/empty/baseline.lt
			if [ ! -f "$base_report" ]; then
				not_ok "$name ($mode): baseline" "the empty program's trace is unreadable"
				continue
			fi
		fi
		check_traced "$name" "$mode" "$dir" "$base_gt" "$base_report" "$base_dump"
	done
	echo "# $name: $((SECONDS - started))s"
}

sample leak empty -- "$SAMPLES/leak"
sample churn empty -- "$SAMPLES/churn"
sample realloc empty -- "$SAMPLES/realloc"
sample pool skeleton -- "$SAMPLES/pool"
sample leaked_thread skeleton -- "$SAMPLES/leaked_thread"
# What `libtrace threads` says about leaked_thread, in PRODUCT.md's words:
# the blocked thread runs at exit, waiting in pthread_cond_wait; the
# forgotten one leaked.
d=$(ls "$TMP"/preload/leaked_thread/leaked_thread.*.lt 2>/dev/null | head -n 1)
if [ -n "$d" ]; then
	"$LT" threads "$d" >"$d.threads" 2>&1
	status=$?
	missing=""
	grep -q 'running at exit.*blocked_main' "$d.threads" || missing="$missing; no line says blocked_main is running at exit"
	grep -q 'leaked.*forgotten_main' "$d.threads" || missing="$missing; no line says forgotten_main leaked"
	grep -q 'pthread_cond_wait ← blocked_main' "$d.threads" || missing="$missing; no live stack 'pthread_cond_wait ← blocked_main'"
	if [ "$status" -eq 0 ] && [ -z "$missing" ]; then
		ok "leaked_thread: libtrace threads names the running, the leaked thread and the live stack"
	else
		not_ok "leaked_thread: libtrace threads" "exit $status$missing"
	fi
fi
sample forkexec empty -- "$SAMPLES/forkexec"
# The child execs a copy with another name, so each image has its own %e.
cp "$SAMPLES/forkexec" "$TMP/bin/forkexec-copy"
sample forkexec-copy empty -- "$SAMPLES/forkexec" "$TMP/bin/forkexec-copy"
for how in return exit _exit abort segv sigterm; do
	sample "exits-$how" empty -- "$SAMPLES/exits" "$how"
done
sample exits-thread skeleton -- "$SAMPLES/exits" thread
if [ -x "$TMP/bin/threads_stress" ]; then
	sample threads_stress skeleton "$STRESS_ENV" -- "$TMP/bin/threads_stress"
fi
if [ -x "$TMP/bin/fork_stress" ]; then
	sample fork_stress skeleton -- "$TMP/bin/fork_stress"
fi

# ---- budgets: a clean program passes, a leaking one fails -------------------
dir=$TMP/budget
mkdir -p "$dir"
printf 'max_leaked_bytes = 0\nmax_thread_leaks = 0\n' >"$dir/strict.conf"
d=$(ls "$TMP"/preload/pool/pool.*.lt 2>/dev/null | head -n 1)
if [ -n "$d" ]; then
	"$LT" check --budget "$dir/strict.conf" "$d" >"$dir/pool.out" 2>&1
	status=$?
	if [ "$status" -eq 0 ]; then
		ok "pool (frees all it allocates, joins all it starts): check passes max_leaked_bytes = 0, max_thread_leaks = 0"
	else
		not_ok "pool (frees all it allocates, joins all it starts): check passes max_leaked_bytes = 0" \
			"exit $status: $(grep -m 3 -E 'FAIL|leaked|responsible|pool\.c' "$dir/pool.out" | tr '\n' ' ')"
	fi
fi
d=$(ls "$TMP"/preload/leak/leak.*.lt 2>/dev/null | head -n 1)
if [ -n "$d" ]; then
	"$LT" check --budget "$dir/strict.conf" "$d" >"$dir/leak.out" 2>&1
	status=$?
	if [ "$status" -eq 1 ] && grep -q '680' "$dir/leak.out" && grep -q load_config "$dir/leak.out"; then
		ok "leak: check fails max_leaked_bytes = 0 with exit 1, the 680 bytes and the stack of load_config"
	else
		not_ok "leak: check fails max_leaked_bytes = 0 with exit 1, 680 bytes, load_config" \
			"exit $status: $(head -c 300 "$dir/leak.out")"
	fi
fi

# ---- a run killed with SIGKILL ---------------------------------------------
dir=$TMP/killed
mkdir -p "$dir"
LD_PRELOAD="$SO" LIBTRACE_OUTPUT="$dir/%e.%p.lt" LIBTRACE_QUIET=1 "$SAMPLES/churn" forever >/dev/null 2>&1 &
pid=$!
sleep 1
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
d=$dir/churn.$pid.lt
if [ ! -f "$d" ]; then
	not_ok "SIGKILLed run: dump" "no $d"
else
	report "$d"
	status=$?
	if [ "$status" -eq 0 ] &&
	   python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r.get("truncated") is True and r["totals"]["allocations"] > 0))' "$d.json" 2>/dev/null; then
		ok "SIGKILLed run: report --json reads it, says truncated, exit 0"
	else
		not_ok "SIGKILLed run: report --json says truncated with exit 0" \
			"exit $status, truncated=$($CHECK get "$d.json" truncated 2>/dev/null), allocations=$($CHECK get "$d.json" totals.allocations 2>/dev/null); $(head -c 200 "$d.err")"
	fi
fi

# ---- bad input ----------------------------------------------------------------
dir=$TMP/bad
mkdir -p "$dir"
good=$(ls "$TMP"/preload/leak/*.lt 2>/dev/null | head -n 1)
for i in 1 2 3 4 5 6 7 8; do echo "this is not a libtrace dump, line $i"; done >"$dir/garbage.lt"
: >"$dir/empty.lt"
if [ -n "$good" ]; then
	head -c 40 "$good" >"$dir/short-header.lt"
	head -c 92 "$good" >"$dir/cut-strings.lt"       # fixed part whole, strings cut
fi
for f in "$dir"/*.lt; do
	"$LT" report --json "$f" >"$f.out" 2>"$f.err"
	status=$?
	base=$(basename "$f")
	if [ "$status" -eq 2 ] && [ -s "$f.err" ] && grep -q "$base" "$f.err"; then
		ok "report --json $base: exit 2 with a message naming the file"
	else
		not_ok "report --json $base: exit 2 with a message naming the file" \
			"exit $status, stderr: $(head -c 200 "$f.err")"
	fi
done
"$LT" report --json "$dir/does-not-exist.lt" >/dev/null 2>"$dir/missing.err"
status=$?
if [ "$status" -eq 2 ] && [ -s "$dir/missing.err" ]; then
	ok "report --json of a missing file: exit 2 with a message"
else
	not_ok "report --json of a missing file: exit 2 with a message" "exit $status"
fi

finish
