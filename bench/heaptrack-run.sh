#!/bin/sh
# Runs one command under heaptrack exactly as heaptrack 1.4's own `heaptrack`
# script does (a FIFO, heaptrack_interpret | zstd -c in the background, the
# command with LD_PRELOAD=libheaptrack_preload.so, then wait for both), but
# with GNU time around the traced process and around heaptrack_interpret, so
# their peak RSS are measured apart.  Used by bench/run.py; measures only.
#
#   heaptrack-run.sh OUT_PREFIX CMD ARGS...
#
# Writes OUT_PREFIX.<n>.zst (the trace), OUT_PREFIX.<n>.proc and
# OUT_PREFIX.<n>.helper ("MAXRSS_KIB ELAPSED_S" from GNU time), with <n> this
# script's pid so that gcc's -wrapper can call it once per child.  Exits with
# the command's status.
set -u
prefix=$1.$$
shift
lib=${HEAPTRACK_LIB:-/usr/lib/heaptrack}
interpret=$lib/libexec/heaptrack_interpret
preload=$lib/libheaptrack_preload.so

pipe=$(mktemp -u "${TMPDIR:-/tmp}/heaptrack_fifo.XXXXXX")
mkfifo "$pipe" || exit 125
/usr/bin/time -f '%M %e' -o "$prefix.helper" "$interpret" <"$pipe" | zstd -q -c >"$prefix.zst" &
helper=$!
# GNU time outside env, so that only the command itself is preloaded.
/usr/bin/time -f '%M %e' -o "$prefix.proc" \
	env LD_PRELOAD="$preload${LD_PRELOAD:+:$LD_PRELOAD}" DUMP_HEAPTRACK_OUTPUT="$pipe" "$@"
status=$?
wait "$helper"
rm -f "$pipe"
exit "$status"
