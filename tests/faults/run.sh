#!/usr/bin/env bash
# Fault tests of the shim: each scenario runs a program untraced and traced
# and asserts that its stdout and exit status are the same, that the shim
# said nothing or exactly one line, and that every dump it left is readable
# (`libtrace report --json` exits 0; complete unless the scenario cuts it).
#
#   tests/faults/run.sh BUILD_DIR        (make faults; part of make test)
#
# Prints "ok - ..." / "not ok - ..." / "ok - ... # skip ..." per check and
# last "N passed, N failed, N skipped".  Scenarios that need root (tmpfs
# mounts, set-uid) are skipped, and say so, without it.  LT_KEEP=1 keeps
# the scratch directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build directory: ${1:-build}" >&2; exit 2; }
LT=$BUILD/libtrace
SO=$BUILD/libtrace.so
PY=$(command -v /usr/bin/python3 || command -v python3)
CFLAGS_T="-std=gnu11 -Wall -Wextra -O1 -g -fno-omit-frame-pointer -fno-inline -fno-builtin -pthread"
LIMIT=${LT_TIMEOUT:-60}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/libtrace-faults.XXXXXX") || exit 2
chmod 755 "$TMP"        # the set-uid scenario runs as another user
MOUNTS=()
SYSLIB=
passed=0 failed=0 skipped=0

cleanup() {
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null
	done
	[ -n "$SYSLIB" ] && rm -f "$SYSLIB"
	if [ "${LT_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
		echo "# scratch files kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit $?
}

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }
skip() { echo "ok - $1 # skip $2"; skipped=$((skipped + 1)); }
oneline() { head -c "${2:-400}" "$1" | tr '\n' ' '; }

# ---- the programs ------------------------------------------------------------
B=$TMP/bin
mkdir -p "$B"
chmod 755 "$B"
build() {
	local what=$1
	shift
	if "$@" 2>"$B/cc.err"; then
		return 0
	fi
	not_ok "build $what" "$(oneline "$B/cc.err")"
	return 1
}
build faulty cc $CFLAGS_T -o "$B/faulty" "$ROOT/tests/faults/faulty.c" -ldl || finish
build plugin cc $CFLAGS_T -shared -fPIC -o "$B/libplugin.so" "$ROOT/tests/faults/plugin.c" || finish
build early cc $CFLAGS_T -shared -fPIC -o "$B/libearly.so" "$ROOT/tests/faults/early.c" -ldl || finish
build early_main cc $CFLAGS_T -o "$B/early_main" "$ROOT/tests/faults/early_main.c" \
	-L"$B" -learly -Wl,-rpath,"$B" || finish
HAVE_STATIC=0
if cc -O1 -static -o "$B/static" "$ROOT/tests/faults/static.c" 2>/dev/null; then
	HAVE_STATIC=1
fi
ulimit -c 0

# ---- running -------------------------------------------------------------------
# run NAME [VAR=VALUE...] -- CMD ARGS: the command untraced into
# $TMP/NAME/plain.*, then traced into $TMP/NAME/traced.* with its dumps in
# $TMP/NAME/out (unless LIBTRACE_OUTPUT is among the variables).
run() {
	local name=$1 envs=() d
	shift
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	d=$TMP/$name
	mkdir -p "$d/out"
	# The outer 2>/dev/null takes bash's own "Aborted" notices, not the program's.
	(cd "$d" && timeout "$LIMIT" env "${envs[@]}" "$@" >"$d/plain.out" 2>"$d/plain.err") 2>/dev/null
	echo $? >"$d/plain.status"
	(cd "$d" && timeout "$LIMIT" env LIBTRACE_OUTPUT="$d/out/%e.%p.lt" LIBTRACE_QUIET=1 \
		"${envs[@]}" LD_PRELOAD="$SO" "$@" >"$d/traced.out" 2>"$d/traced.err") 2>/dev/null
	echo $? >"$d/traced.status"
}

# same NAME: stdout and exit status traced equal untraced.
same() {
	local d=$TMP/$1
	if cmp -s "$d/plain.out" "$d/traced.out" && cmp -s "$d/plain.status" "$d/traced.status"; then
		ok "$1: same stdout and exit status ($(cat "$d/plain.status")) traced and untraced"
	else
		not_ok "$1: same stdout and exit status traced and untraced" \
			"status $(cat "$d/plain.status") untraced, $(cat "$d/traced.status") traced; diff: $(diff "$d/plain.out" "$d/traced.out" | head -n 6 | tr '\n' ' ')"
	fi
}

# quiet NAME: the shim wrote nothing to stderr (LIBTRACE_QUIET=1).
quiet() {
	local d=$TMP/$1
	if cmp -s "$d/plain.err" "$d/traced.err"; then
		ok "$1: stderr unchanged by the shim"
	else
		not_ok "$1: stderr unchanged by the shim" "$(diff "$d/plain.err" "$d/traced.err" | head -n 6 | tr '\n' ' ')"
	fi
}

# one_line NAME PATTERN: the shim added exactly one stderr line, matching.
one_line() {
	local d=$TMP/$1 extra
	extra=$(diff "$d/plain.err" "$d/traced.err" | grep -c '^>')
	if [ "$extra" -eq 1 ] && grep -q -- "$2" "$d/traced.err"; then
		ok "$1: one line from the shim: $(grep -- "$2" "$d/traced.err" | head -n 1)"
	else
		not_ok "$1: exactly one stderr line matching '$2'" "$extra extra line(s): $(oneline "$d/traced.err")"
	fi
}

# readable NAME EXPECT [COUNT]: every dump in $TMP/NAME/out reads with exit
# 0; EXPECT complete (a trailer), truncated, or any; COUNT dumps if given.
readable() {
	local name=$1 expect=$2 want=${3:-} slack=${4:-0} d=$TMP/$1/out n=0 bad=0 f r st why=
	mkdir -p "$TMP/$name/reports"
	for f in "$d"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		# Reports beside, not in, the output directory: it may be full.
		r=$TMP/$name/reports/$(basename "$f")
		"$LT" report --json "$f" >"$r.json" 2>"$r.err"
		st=$?
		if [ "$st" -ne 0 ]; then
			bad=$((bad + 1))
			why="$why $(basename "$f"): exit $st $(oneline "$r.err" 200);"
			continue
		fi
		if ! "$PY" - "$r.json" "$expect" "$slack" <<-'EOF' 2>>"$r.err"
		import json, re, sys
		r = json.load(open(sys.argv[1]))
		t = r["totals"]
		assert all(isinstance(t[k], int) and t[k] >= 0 for k in t), t
		if sys.argv[2] == "complete":
		    assert r["truncated"] is False, "truncated"
		    # Trailer and records agree, within slack events (see cancel).
		    for w in r["warnings"]:
		        m = re.match(r"the trailer counts (\d+) (.*) but the dump holds (\d+)", w)
		        gap = abs(int(m.group(1)) - int(m.group(3))) if m else None
		        assert gap is not None and (m.group(2) == "bytes allocated" or gap <= int(sys.argv[3])) \
		            or "damaged" not in w, w
		elif sys.argv[2] == "truncated":
		    assert r["truncated"] is True, "not truncated"
		EOF
		then
			bad=$((bad + 1))
			why="$why $(basename "$f"): not $expect: $(tail -n 1 "$r.err");"
		fi
	done
	if [ "$bad" -ne 0 ]; then
		not_ok "$name: every dump readable ($expect)" "$bad of $n:$why"
	elif [ -n "$want" ] && [ "$n" -ne "$want" ]; then
		not_ok "$name: $want dump(s)" "found $n in $d"
	elif [ "$n" -eq 0 ]; then
		not_ok "$name: a dump" "none in $d; stderr: $(oneline "$TMP/$name/traced.err")"
	else
		ok "$name: $n dump(s), every one readable ($expect)"
	fi
}

# total NAME KEY: a totals field of the run's first (or only) main dump.
total() {
	local f
	f=$(ls "$TMP/$1/reports/"*.json 2>/dev/null | head -n 1)
	[ -n "$f" ] && "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"][sys.argv[2]])' "$f" "$2"
}

expect_total() {
	local got
	got=$(total "$1" "$2")
	if [ "$got" = "$3" ]; then
		ok "$1: totals.$2 = $3"
	else
		not_ok "$1: totals.$2" "expected $3, got '${got}'"
	fi
}

no_dump() {
	if [ -z "$(ls -A "$2" 2>/dev/null)" ]; then
		ok "$1: no dump written"
	else
		not_ok "$1: no dump written" "found $(ls "$2" | head -n 3 | tr '\n' ' ')"
	fi
}

# ---- SIGKILL mid-run ------------------------------------------------------------
# Four threads allocating flat out, killed without warning: every chunk
# written so far is readable, and the report says truncated.
killed() {
	local mode=$1 d=$TMP/sigkill i pid
	mkdir -p "$d/out"
	if [ "$mode" = traced ]; then
		LD_PRELOAD="$SO" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$d/out/%e.%p.lt" \
			"$B/faulty" forever >"$d/$mode.out" 2>"$d/$mode.err" &
	else
		"$B/faulty" forever >"$d/$mode.out" 2>"$d/$mode.err" &
	fi
	pid=$!
	for i in $(seq 50); do
		grep -q ready "$d/$mode.out" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo $? >"$d/$mode.status"
}
killed plain
killed traced
same sigkill
readable sigkill truncated 1
n=$(total sigkill allocations)
if [ "${n:-0}" -gt 1000 ]; then
	ok "sigkill: the killed run's dump holds its allocations ($n)"
else
	not_ok "sigkill: the killed run's dump holds its allocations" "allocations '${n}'"
fi

# ---- SIGTERM to a busy multithreaded program ----------------------------------------
# The default action, taken over by the shim to write the dump's end: the
# signal may land on a thread that is itself writing a chunk.  Five tries at
# different moments; each must die of SIGTERM at once with a complete dump.
d=$TMP/sigterm
slow=0 bad=
for try in 1 2 3 4 5; do
	rm -rf "$d/out"
	mkdir -p "$d/out"
	LD_PRELOAD="$SO" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$d/out/%e.%p.lt" \
		"$B/faulty" forever >"$d/out.txt" 2>"$d/err.txt" &
	pid=$!
	for i in $(seq 50); do
		grep -q ready "$d/out.txt" 2>/dev/null && break
		sleep 0.1
	done
	sleep "0.$((try * 7))"
	kill -TERM "$pid" 2>/dev/null
	start=$(date +%s%N)
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	ms=$((($(date +%s%N) - start) / 1000000))
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		slow=$((slow + 1))
		bad="$bad try $try: still running 10 s after SIGTERM;"
	fi
	wait "$pid" 2>/dev/null
	status=$?
	[ "$status" = 143 ] || bad="$bad try $try: exit $status;"
	f=$(ls "$d/out/"*.lt 2>/dev/null | head -n 1)
	if [ -z "$f" ] || ! "$LT" report --json "$f" >"$d/r.json" 2>"$d/r.err" ||
	   ! "$PY" - "$d/r.json" <<-'EOF'
	import json, re, sys
	r = json.load(open(sys.argv[1]))
	# The three other threads may each be inside one event (counted, not
	# yet written) when the signal ends the process: no more than that.
	gaps = []
	for w in r["warnings"]:
	    m = re.match(r"the trailer counts (\d+) (.*) but the dump holds (\d+)", w)
	    if m and m.group(2) != "bytes allocated":   # bytes: of those events
	        gaps.append(abs(int(m.group(1)) - int(m.group(3))))
	sys.exit(r["truncated"] or any(g > 3 for g in gaps))
	EOF
	then
		bad="$bad try $try: dump not complete ($(oneline "$d/r.err" 100));"
	fi
	echo "# sigterm try $try: ended after $ms ms, exit $status"
done
rm -rf "$d/out"
if [ -z "$bad" ]; then
	ok "sigterm: a busy 4-thread program dies of SIGTERM at once, 5 times, each dump complete"
else
	not_ok "sigterm: a busy 4-thread program dies of SIGTERM at once with a complete dump" "$bad"
fi

# ---- disk full, read-only and missing output directories -----------------------
mount_tmpfs() {   # mount_tmpfs DIR OPTIONS: 0 when mounted
	mkdir -p "$1"
	[ "$(id -u)" = 0 ] && mount -t tmpfs -o "$2" libtrace-test "$1" 2>/dev/null || return 1
	MOUNTS+=("$1")
}

full=$TMP/diskfull/out
if mount_tmpfs "$full" size=256k; then
	# The dump outgrows 256 KiB: recording stops with one line, the
	# program carries on, and what was written reads as truncated.
	run diskfull -- "$B/faulty" heavy 200000
	same diskfull
	one_line diskfull "cannot write the dump"
	readable diskfull truncated 1
	# Full before the program starts: not even a header fits.
	rm -f "$full"/*
	dd if=/dev/zero of="$full/filler" bs=4k count=100 2>/dev/null
	run diskfull-at-start LIBTRACE_OUTPUT="$full/%e.%p.lt" -- "$B/faulty" churn 5000
	same diskfull-at-start
	one_line diskfull-at-start "libtrace: "
	rm -f "$full/filler"
	d=$(ls "$full" 2>/dev/null | head -n 1)
	if [ -z "$d" ] || ! "$LT" report "$full/$d" >/dev/null 2>"$TMP/diskfull-at-start/report.err"; then
		ok "diskfull-at-start: no dump, or one the analyzer rejects cleanly (exit 2)"
	else
		ok "diskfull-at-start: the partial dump is readable"
	fi
else
	skip "diskfull" "cannot mount a 256 KiB tmpfs (needs root): disk-full scenario not run"
fi

ro=$TMP/readonly/out
if mount_tmpfs "$ro" ro,size=64k; then
	run readonly LIBTRACE_OUTPUT="$ro/%e.%p.lt" -- "$B/faulty" churn 5000
	same readonly
	one_line readonly "cannot create"
	no_dump readonly "$ro"
elif [ "$(id -u)" != 0 ]; then
	mkdir -p "$ro"
	chmod 555 "$ro"
	run readonly LIBTRACE_OUTPUT="$ro/%e.%p.lt" -- "$B/faulty" churn 5000
	same readonly
	one_line readonly "cannot create"
	no_dump readonly "$ro"
else
	skip "readonly" "cannot mount a read-only tmpfs"
fi

run missing-dir LIBTRACE_OUTPUT="$TMP/no/such/dir/%e.%p.lt" -- "$B/faulty" churn 5000
same missing-dir
one_line missing-dir "no such directory"

# A daemon closes every descriptor, the dump's too, then reuses the numbers:
# recording stops with one line and nothing lands in the program's files.
# (libunwind's own validation pipe is moved out of the way, to fd 960 and
# up: before, libunwind read and wrote the program's files on fds 3 and 4.)
mkdir -p "$TMP/closeall/files"
run closeall -- "$B/faulty" closeall "$TMP/closeall/files"
same closeall
one_line closeall "closed by the program"
readable closeall truncated 1

# errno across a malloc that unwinds a stack of many pages: libunwind's
# memory validation reads an empty pipe (EAGAIN) on the program's thread.
run errno -- "$B/faulty" errno
same errno
if grep -q "main thread 400 calls, 0 changed" "$TMP/errno/plain.out" &&
	grep -q "a thread 400 calls, 0 changed" "$TMP/errno/plain.out"; then
	ok "errno: untraced, no call changed errno"
else
	not_ok "errno: untraced, no call changed errno" "$(oneline "$TMP/errno/plain.out")"
fi
readable errno complete 1

# ---- processes ---------------------------------------------------------------------
# 40 children, 20 grandchildren, ending by exit and _exit: 61 complete dumps.
run fork-storm -- "$B/faulty" fork-storm 40
same fork-storm
quiet fork-storm
readable fork-storm complete 61

# fork while four threads allocate: no child inherits a held lock.
run fork-threads -- "$B/faulty" fork-threads 20
same fork-threads
quiet fork-threads
readable fork-threads complete 21

# An image that execs itself five times (execl, execlp): six dumps.
run exec-chain PATH="$B:$PATH" -- faulty exec-chain 5
same exec-chain
quiet exec-chain
readable exec-chain complete 6

# ---- modules -----------------------------------------------------------------------
run dlopen -- "$B/faulty" dlopen "$B/libplugin.so" 300
same dlopen
quiet dlopen
readable dlopen complete 1

# ---- threads -----------------------------------------------------------------------
run thread-tree -- "$B/faulty" thread-tree 4
same thread-tree
quiet thread-tree
readable thread-tree complete 1
expect_total thread-tree threads_created 120
expect_total thread-tree threads_joined 120
expect_total thread-tree threads_leaked 0

for how in exit _exit abort pthread_exit-main; do
	run "thread-$how" -- "$B/faulty" thread-end "$how"
	same "thread-$how"
	quiet "thread-$how"
	readable "thread-$how" complete 1
done

run cancel -- "$B/faulty" cancel 20
same cancel
quiet cancel
# Asynchronous cancellation may land inside the shim's own recording (an
# event counted, not yet written): up to one per async-cancelled thread.
readable cancel complete 1 5
expect_total cancel threads_created 20
expect_total cancel threads_joined 20

# ---- allocator corners ---------------------------------------------------------------
# A library constructor that runs before the shim's allocates, loads a
# library and sets a signal handler: the first call into the shim is dlopen.
run early-constructor -- "$B/early_main"
same early-constructor
quiet early-constructor
readable early-constructor complete 1

# realloc(p, 0) frees p (glibc returns NULL); realloc(NULL, 0) and
# reallocarray(NULL, 0, 8) are allocations: 1000 rounds add exactly 3000
# allocations, 3000 frees, 2000 reallocs and no leak to a run of 0 rounds.
run realloc0-base -- "$B/faulty" realloc0 0
run realloc0 -- "$B/faulty" realloc0 1000
same realloc0
quiet realloc0
readable realloc0-base complete 1
readable realloc0 complete 1
for pair in allocations:3000 frees:3000 reallocs:2000 leaked_blocks:0 leaked_bytes:0; do
	key=${pair%%:*}
	want=${pair#*:}
	a=$(total realloc0-base "$key")
	b=$(total realloc0 "$key")
	if [ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -eq "$want" ]; then
		ok "realloc0: 1000 rounds add $want to totals.$key"
	else
		not_ok "realloc0: 1000 rounds add $want to totals.$key" "0 rounds: '$a', 1000 rounds: '$b'"
	fi
done

# A pthread_create that fails must not stop the recording after it: 1000
# malloc/free pairs after the failed call add exactly 1000 allocations and
# 1000 frees to a run of 0, and no thread.
run create-fails-base -- "$B/faulty" create-fails 0
run create-fails -- "$B/faulty" create-fails 1000
same create-fails
readable create-fails-base complete 1
readable create-fails complete 1
for pair in allocations:1000 frees:1000 threads_created:0; do
	key=${pair%%:*}
	want=${pair#*:}
	a=$(total create-fails-base "$key")
	b=$(total create-fails "$key")
	if [ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -eq "$want" ]; then
		ok "create-fails: 1000 pairs after a failed pthread_create add $want to totals.$key"
	else
		not_ok "create-fails: 1000 pairs after a failed pthread_create add $want to totals.$key" "0 pairs: '$a', 1000 pairs: '$b'"
	fi
done

# ---- signals ---------------------------------------------------------------------------
# Its own handlers, and what it asks about the old ones (SIG_DFL where it
# set nothing, even where the shim stands in), then death by SIGHUP.
run signals -- "$B/faulty" signals
same signals
quiet signals
readable signals complete 1

# ---- a statically linked program ---------------------------------------------------------
if [ "$HAVE_STATIC" = 1 ]; then
	run static -- "$B/static" a b
	same static
	quiet static
	no_dump static "$TMP/static/out"
	d=$TMP/static-run
	mkdir -p "$d"
	(cd "$d" && timeout "$LIMIT" "$LT" run -- "$B/static" a b >"$d/out" 2>"$d/err")
	status=$?
	if [ "$status" = 3 ] && grep -q '^static: 2 argument(s), malloc ok$' "$d/out" &&
	   grep -q 'statically linked: nothing to intercept' "$d/err"; then
		ok "static: libtrace run says 'nothing to intercept' and passes the status (3) and output through"
	else
		not_ok "static: libtrace run says 'nothing to intercept'" "exit $status; out: $(oneline "$d/out"); err: $(oneline "$d/err")"
	fi
else
	skip "static" "no static libc (libc6-dev's libc.a) to link a static program"
fi

# ---- security: planted symlinks, file mode, set-uid programs ---------------------------
# A shared directory where someone planted links at the dump's name: the
# shim must neither write through them nor create their targets.
d=$TMP/symlink
mkdir -p "$d/shared" "$d/out"
chmod 1777 "$d/shared"
echo precious >"$d/victim"
ln -s "$d/victim" "$d/shared/dump.lt"
ln -s "$d/created-by-attacker" "$d/shared/dangling.lt"
for name in dump dangling; do
	(umask 000; LD_PRELOAD="$SO" LIBTRACE_QUIET=1 LIBTRACE_OUTPUT="$d/shared/$name.lt" \
		"$B/faulty" churn 1000 >"$d/$name.out" 2>"$d/$name.err")
	st=$?
	mode=$(stat -c %a "$d/shared/$name.1.lt" 2>/dev/null)
	if [ "$st" = 0 ] && [ "$(cat "$d/victim")" = precious ] && [ ! -e "$d/created-by-attacker" ] &&
	   [ -L "$d/shared/$name.lt" ] && [ "$mode" = 600 ] &&
	   "$LT" report "$d/shared/$name.1.lt" >/dev/null 2>&1; then
		ok "symlink: a planted $name link is not followed; the dump went to $name.1.lt, mode 0600 under umask 000"
	else
		not_ok "symlink: a planted $name link is not followed" \
			"exit $st, victim '$(cat "$d/victim")', attacker file $( [ -e "$d/created-by-attacker" ] && echo created || echo absent), $name.1.lt mode '${mode}'; $(oneline "$d/$name.err")"
	fi
done

# Set-uid: glibc ignores LD_PRELOAD paths for a secure program; a library
# in a system directory that is itself set-uid is still loaded, and then
# the shim's own AT_SECURE check must keep it out of the way.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	d=$TMP/setuid
	mkdir -p "$d/out"
	chmod 755 "$d" "$B"
	chmod 1777 "$d/out"
	cp "$B/faulty" "$d/faulty-suid"
	cp "$B/faulty" "$d/faulty-plain"
	chmod 4755 "$d/faulty-suid"
	chmod 755 "$d/faulty-plain"
	libdir=$(dirname "$(cc -print-file-name=libc.so.6)")
	[ -d /usr/lib/x86_64-linux-gnu ] && libdir=/usr/lib/x86_64-linux-gnu
	SYSLIB=$libdir/libtrace-faulttest-$$.so
	as_nobody() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
			env LIBTRACE_OUTPUT="$d/out/%e.%p.lt" "$@"
	}
	# Through a path: the loader drops it, the program runs untraced.
	as_nobody LD_PRELOAD="$SO" "$d/faulty-suid" maps "$(basename "$SO")" >"$d/path.out" 2>"$d/path.err"
	st=$?
	if [ "$st" = 0 ] && grep -q 'not mapped, secure-execution 1' "$d/path.out" &&
	   [ -z "$(ls -A "$d/out")" ]; then
		ok "setuid: LD_PRELOAD by path is dropped by the loader; the program runs untouched, no dump"
	else
		not_ok "setuid: LD_PRELOAD by path" "exit $st: $(oneline "$d/path.out") $(oneline "$d/path.err"); dumps: $(ls "$d/out")"
	fi
	if cp "$SO" "$SYSLIB" 2>/dev/null && chmod 4755 "$SYSLIB"; then
		lib=$(basename "$SYSLIB")
		# Control: the same library traces an ordinary program as nobody.
		as_nobody LD_PRELOAD="$lib" LIBTRACE_QUIET=1 "$d/faulty-plain" maps "$lib" >"$d/ctl.out" 2>"$d/ctl.err"
		n=$(ls "$d/out" | wc -l)
		if grep -q ' mapped, secure-execution 0' "$d/ctl.out" && [ "$n" = 1 ]; then
			ok "setuid (control): the system-directory copy of the shim traces an ordinary program"
		else
			not_ok "setuid (control): the system-directory shim traces an ordinary program" \
				"$(oneline "$d/ctl.out") $(oneline "$d/ctl.err"); $n dump(s)"
		fi
		rm -f "$d/out"/*
		as_nobody LD_PRELOAD="$lib" "$d/faulty-suid" maps "$lib" >"$d/suid.out" 2>"$d/suid.err"
		st=$?
		if [ "$st" = 0 ] && grep -q ' mapped, secure-execution 1' "$d/suid.out" && [ ! -s "$d/suid.err" ] &&
		   [ -z "$(ls -A "$d/out")" ]; then
			ok "setuid: the shim, loaded into a set-uid program, does nothing: no dump, no message, same output"
		else
			not_ok "setuid: the shim stays out of a set-uid program" \
				"exit $st: $(oneline "$d/suid.out") stderr: $(oneline "$d/suid.err"); dumps: $(ls "$d/out")"
		fi
		rm -f "$SYSLIB"
		SYSLIB=
	else
		skip "setuid (shim's own check)" "cannot place a set-uid test copy of the shim in $libdir"
	fi
else
	skip "setuid" "needs root, setpriv and the user nobody to run a set-uid copy as another user"
fi

finish
