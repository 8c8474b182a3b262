#!/usr/bin/env bash
# Real programs under the shim: CPython (PYTHONMALLOC=malloc), sqlite3, gcc
# (driver, cc1, as), git, xz with two threads, and redis-server under
# redis-benchmark on 127.0.0.1.  Each runs once untraced and once with
# LD_PRELOAD="libtrace.so refcount.so", on inputs generated here: its output
# and exit status must not change, every dump must be complete, and each
# process's `libtrace report --json` totals must equal what the independent
# reference counter (tests/integration/refcount.c) counted of the same calls
# in the same run (tests/programs/check.py).
#
#   tests/programs/run.sh BUILD_DIR      (make programs; part of make test)
#
# Prints "ok - ..." / "not ok - ..." / "ok - ... # skip ..." and last
# "N passed, N failed, N skipped".  A program that is not installed is
# skipped and says so (tools/deps.sh installs them).  LT_KEEP=1 keeps the
# scratch directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || { echo "no build directory: ${1:-build}" >&2; exit 2; }
LT=$BUILD/libtrace
SO=$BUILD/libtrace.so
PY=$(command -v /usr/bin/python3 || command -v python3)
LIMIT=${LT_TIMEOUT:-120}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/libtrace-programs.XXXXXX") || exit 2
REDIS_PID=
passed=0 failed=0 skipped=0

cleanup() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
	if [ "${LT_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
		echo "# scratch files kept in $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1: $2"; failed=$((failed + 1)); }
skip() { echo "ok - $1 # skip $2"; skipped=$((skipped + 1)); }
oneline() { head -c "${2:-300}" "$1" | tr '\n' ' '; }

RC=$TMP/refcount.so
if ! cc -std=gnu11 -O1 -g -shared -fPIC -fvisibility=hidden -pthread -o "$RC" \
	"$ROOT/tests/integration/refcount.c" -ldl 2>"$TMP/cc.err"; then
	not_ok "build the reference counter" "$(oneline "$TMP/cc.err")"
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 1
fi

# A fixed environment, the same for both runs of a program.
export LC_ALL=C TZ=UTC HOME=$TMP/home
mkdir -p "$HOME"

# run NAME DIR [VAR=VALUE...] -- CMD ARGS: untraced into DIR/plain.*, then
# traced (with the reference counter) into DIR/traced.*; dumps in DIR/out,
# counts in DIR/rc.PID.  Each run starts in a fresh copy of DIR/work.
run() {
	local name=$1 d=$2 envs=() mode
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	mkdir -p "$d/out"
	for mode in plain traced; do
		rm -rf "$d/run-$mode"
		cp -a "$d/work" "$d/run-$mode"
		if [ "$mode" = plain ]; then
			(cd "$d/run-$mode" && timeout "$LIMIT" env "${envs[@]}" "$@" \
				>"$d/$mode.out" 2>"$d/$mode.err") 2>/dev/null
		else
			(cd "$d/run-$mode" && timeout "$LIMIT" env "${envs[@]}" \
				LIBTRACE_OUTPUT="$d/out/%e.%p.lt" LIBTRACE_QUIET=1 \
				REFCOUNT_OUT="$d/rc" LD_PRELOAD="$SO $RC" "$@" \
				>"$d/$mode.out" 2>"$d/$mode.err") 2>/dev/null
		fi
		echo $? >"$d/$mode.status"
	done
	if cmp -s "$d/plain.out" "$d/traced.out" && cmp -s "$d/plain.status" "$d/traced.status"; then
		ok "$name: same stdout and exit status ($(cat "$d/plain.status")) traced and untraced"
	else
		not_ok "$name: same stdout and exit status traced and untraced" \
			"status $(cat "$d/plain.status") untraced, $(cat "$d/traced.status") traced; diff: $(diff "$d/plain.out" "$d/traced.out" | head -n 4 | tr '\n' ' '); stderr: $(oneline "$d/traced.err" 200)"
	fi
	if ! cmp -s "$d/plain.err" "$d/traced.err"; then
		not_ok "$name: stderr unchanged" "$(diff "$d/plain.err" "$d/traced.err" | head -n 4 | tr '\n' ' ')"
	fi
}

# same_file NAME DIR FILE: a file the program wrote is the same both runs.
same_file() {
	if cmp -s "$2/run-plain/$3" "$2/run-traced/$3"; then
		ok "$1: $3 identical traced and untraced"
	else
		not_ok "$1: $3 identical traced and untraced" "differs or missing"
	fi
}

check() {   # check NAME DIR [check.py options]
	local name=$1 d=$2
	shift 2
	"$PY" "$ROOT/tests/programs/check.py" "$name" "$LT" "$d/out" "$d/rc" "$@" >"$d/check" 2>&1
	cat "$d/check"
	passed=$((passed + $(grep -c '^ok - ' "$d/check")))
	failed=$((failed + $(grep -c '^not ok - ' "$d/check")))
	if ! grep -q -E '^(not )?ok - ' "$d/check"; then
		not_ok "$name: check.py" "$(oneline "$d/check")"
	fi
}

have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	skip "$2" "$1 is not installed (tools/deps.sh installs it)"
	return 1
}

# ---- CPython --------------------------------------------------------------------
# PYTHONMALLOC=malloc: every object through malloc, not pymalloc's arenas.
if have /usr/bin/python3 python3; then
	d=$TMP/python
	mkdir -p "$d/work"
	cat >"$d/work/job.py" <<-'EOF'
	import hashlib, json, re
	d = {("k%05d" % i): [i, str(i) * (i % 7), {"sq": i * i}] for i in range(2500)}
	s = json.dumps(d, sort_keys=True)
	back = json.loads(s)
	words = re.findall(r"k\d+", s)
	print(len(back), len(words), hashlib.sha256(s.encode()).hexdigest())
	EOF
	run python "$d" PYTHONMALLOC=malloc PYTHONHASHSEED=0 -- /usr/bin/python3 job.py
	check python "$d" --expect-exes python3
fi

# ---- sqlite3 ------------------------------------------------------------------------
if have sqlite3 sqlite3; then
	d=$TMP/sqlite3
	mkdir -p "$d/work"
	cat >"$d/work/job.sql" <<-'EOF'
	CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
	WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
	  INSERT INTO t SELECT x, printf('name-%05d', x), x * 0.5 FROM c;
	CREATE INDEX t_name ON t(name);
	SELECT count(*), sum(v), max(name) FROM t;
	SELECT name FROM t WHERE id % 2500 = 0 ORDER BY name DESC;
	UPDATE t SET v = v * 2 WHERE id % 3 = 0;
	DELETE FROM t WHERE id % 5 = 0;
	VACUUM;
	SELECT count(*), total(v), group_concat(id % 10, '') FROM (SELECT * FROM t LIMIT 30);
	EOF
	run sqlite3 "$d" -- sh -c 'exec sqlite3 -batch job.db < job.sql'
	same_file sqlite3 "$d" job.db
	check sqlite3 "$d" --expect-exes sqlite3
fi

# ---- gcc: the driver, cc1 and as, each its own dump -----------------------------------
if have gcc gcc; then
	d=$TMP/gcc
	mkdir -p "$d/work"
	"$PY" - "$d/work/gen.c" <<-'EOF'
	import sys
	with open(sys.argv[1], "w") as f:
	    f.write("#include <stdlib.h>\n#include <string.h>\n")
	    for i in range(120):
	        f.write("int f%d(int x) { char *p = malloc(%d); memset(p, x, %d); "
	                "int r = p[%d] + %d; free(p); return r * f%d(x - 1); }\n"
	                % (i, i + 8, i + 8, i % 8, i, max(i - 1, 0)) if i else
	                "int f0(int x) { return x; }\n")
	EOF
	run gcc "$d" -- gcc -O2 -c gen.c -o gen.o
	same_file gcc "$d" gen.o
	check gcc "$d" --expect-exes gcc,cc1,as
fi

# ---- git ------------------------------------------------------------------------------
if have git git; then
	d=$TMP/git
	mkdir -p "$d/work/files"
	for i in $(seq 1 150); do
		seq "$i" $((i * 20)) >"$d/work/files/f$i.txt"
	done
	run git "$d" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org \
		GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org \
		GIT_AUTHOR_DATE=1700000000+0000 GIT_COMMITTER_DATE=1700000000+0000 -- \
		sh -c 'git init -q -b main . && git add files && git commit -q -m "generated files" &&
		       git log --stat --format="%H %s" | tail -n 3 && git rev-parse HEAD:files'
	check git "$d" --expect-exes git
fi

# ---- xz with two threads ------------------------------------------------------------------
if have xz xz; then
	d=$TMP/xz
	mkdir -p "$d/work"
	# 7 MB of numbers: three 3 MiB blocks at -1, so both threads work.
	seq 1 700000 | awk '{ print $1, ($1 * 7919) % 1000, "row" }' >"$d/work/data"
	run xz "$d" -- xz -T2 -1 -k data
	same_file xz "$d" data.xz
	check xz "$d" --expect-exes xz --min-threads 2
fi

# ---- redis-server under redis-benchmark, then a clean shutdown -------------------------------
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
if have redis-server redis && have redis-benchmark redis && have redis-cli redis; then
	d=$TMP/redis
	mkdir -p "$d/out" "$d/work"
	for mode in plain traced; do
		port=$(free_port)
		rm -rf "$d/run-$mode"
		mkdir -p "$d/run-$mode"
		args=(--port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no
		      --dir "$d/run-$mode" --logfile "$d/run-$mode/redis.log")
		if [ "$mode" = plain ]; then
			timeout "$LIMIT" redis-server "${args[@]}" >/dev/null 2>&1 &
		else
			timeout "$LIMIT" env LIBTRACE_OUTPUT="$d/out/%e.%p.lt" LIBTRACE_QUIET=1 \
				REFCOUNT_OUT="$d/rc" LD_PRELOAD="$SO $RC" \
				redis-server "${args[@]}" >/dev/null 2>&1 &
		fi
		REDIS_PID=$!
		for i in $(seq 100); do
			[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
			sleep 0.1
		done
		{
			redis-cli -h 127.0.0.1 -p "$port" ping
			redis-benchmark -h 127.0.0.1 -p "$port" -n 5000 -c 8 -q -t set,get,incr,lpush,lpop \
				>"$d/$mode.bench" 2>&1 && echo "benchmark ran"
			redis-cli -h 127.0.0.1 -p "$port" set greeting hello
			redis-cli -h 127.0.0.1 -p "$port" append greeting ", world"
			redis-cli -h 127.0.0.1 -p "$port" get greeting
			redis-cli -h 127.0.0.1 -p "$port" dbsize
			redis-cli -h 127.0.0.1 -p "$port" shutdown nosave
		} >"$d/$mode.out" 2>&1
		wait "$REDIS_PID"
		echo $? >"$d/$mode.status"
		REDIS_PID=
	done
	if cmp -s "$d/plain.out" "$d/traced.out" && cmp -s "$d/plain.status" "$d/traced.status"; then
		ok "redis: same replies and server exit status ($(cat "$d/plain.status")) traced and untraced"
	else
		not_ok "redis: same replies and exit status" "status $(cat "$d/plain.status") vs $(cat "$d/traced.status"); $(diff "$d/plain.out" "$d/traced.out" | head -n 4 | tr '\n' ' ')"
	fi
	echo "# redis-benchmark against the traced server: $(tr '\r' '\n' <"$d/traced.bench" | grep -E 'requests per second' | tr '\n' ' ')"
	# redis-server is a link to redis-check-rdb, the name in /proc/self/exe.
	check redis "$d" --expect-exes redis --min-threads 3
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
