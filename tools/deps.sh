#!/bin/sh
# Install the Debian packages libtrace builds and tests with, when missing.
# Run as root on Debian 12; elsewhere it says what to install and fails.
#   tools/deps.sh        what the build and the unit tests need
#   tools/deps.sh test   also the viewers the export tests read exports
#                        with (go tool pprof, ms_print, headless Chromium):
#                        large, so only `make test` asks for them
set -eu

pkgs="elfutils gcc make libc6-dev libunwind-dev uthash-dev libcmocka-dev libdw-dev libelf-dev zlib1g-dev liblz4-dev pkg-config binutils"
if [ "${1:-}" = test ]; then
	pkgs="$pkgs golang-go valgrind chromium python3"
	# Counts the shim's system calls in tests/shim/run.sh.
	pkgs="$pkgs strace"
fi
# Fuzzing (make fuzz): clang with libFuzzer.  Real programs (tests/programs).
pkgs="$pkgs clang libclang-rt-14-dev python3 sqlite3 git xz-utils redis-server redis-tools"
# The JUnit reader `libtrace check --junit` is tested with (tests/integration/check.sh).
pkgs="$pkgs python3-junitparser"
# ThreadSanitizer's runtime: the oracle for leaked threads (tests/integration/threads.sh).
pkgs="$pkgs libtsan2"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "libtrace: missing Debian packages:$missing" >&2
	echo "libtrace: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "libtrace: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends $missing >&2
