#!/bin/sh
# The shim exports only what it must (libunwind's check-namespace.sh, in our
# terms): every dynamic symbol libtrace.so defines must be
#   - allowed by the global: part of interposer/libtrace.map (or be the name
#     of one of its version nodes), and
#   - a public lt_* name, or a function libc itself defines (a wrapper);
# and every plain name the map lists must really be defined, so map and code
# agree.  The map is the one list; nothing here repeats it.
#
#   tests/check-exports.sh [build/libtrace.so [interposer/libtrace.map]]
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SO=${1:-$ROOT/build/libtrace.so}
MAP=${2:-$ROOT/interposer/libtrace.map}
CC=${CC:-cc}

fail() {
	echo "check-exports: $*" >&2
	exit 1
}

[ -f "$SO" ] || fail "no $SO"
[ -f "$MAP" ] || fail "no $MAP"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libtrace-exports.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# The map, without comments, one token a line.  Version node names are the
# words before a "{"; allowed patterns are the entries of global: sections.
sed -e 's|/\*.*\*/||g' -e 's|#.*||' -e 's|//.*||' "$MAP" |
	tr '\n' ' ' | sed -e 's/\([{};:]\)/ \1 /g' | tr -s ' \t' '\n\n' >"$tmp/tokens"
awk '
	$0 == "{"        { if (prev != "" && prev != "}" && prev != ";") print "node " prev; section = ""; }
	$0 == "global"   { section = "global" }
	$0 == "local"    { section = "local" }
	$0 == ":" || $0 == ";" || $0 == "{" || $0 == "}" || $0 == "global" || $0 == "local" { prev = $0; next }
	section == "global" { print "global " $0 }
	{ prev = $0 }
' "$tmp/tokens" >"$tmp/map"
grep '^global ' "$tmp/map" | cut -d' ' -f2 >"$tmp/patterns"
grep '^node ' "$tmp/map" | cut -d' ' -f2 >"$tmp/nodes"
[ -s "$tmp/patterns" ] || fail "$MAP: no global: entries found"

nm -D --defined-only "$SO" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$tmp/exports" ||
	fail "nm -D failed on $SO"

LIBC=$(readlink -f "$($CC -print-file-name=libc.so.6)")
[ -f "$LIBC" ] || LIBC=$(ldd "$SO" | awk '/libc\.so/ { print $3 }')
[ -f "$LIBC" ] || fail "cannot find libc.so.6 to compare with"
nm -D --defined-only "$LIBC" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$tmp/libc"

# Is $1 matched by a map pattern (shell globs, as ld's version scripts)?
in_map() {
	while read -r pat; do
		# shellcheck disable=SC2254
		case $1 in $pat) return 0 ;; esac
	done <"$tmp/patterns"
	grep -qx "$1" "$tmp/nodes"
}

bad=0
count=0
while read -r sym; do
	count=$((count + 1))
	if grep -qx "$sym" "$tmp/nodes"; then
		continue
	fi
	if ! in_map "$sym"; then
		echo "  $sym: exported, but not in the global: part of $MAP"
		bad=$((bad + 1))
	fi
	case $sym in
	lt_*) ;;
	*)
		if ! grep -qx "$sym" "$tmp/libc"; then
			echo "  $sym: neither an lt_* name nor a function of $LIBC"
			bad=$((bad + 1))
		fi ;;
	esac
done <"$tmp/exports"

while read -r pat; do
	case $pat in
	*'*'* | *'?'* | *'['*) continue ;;   # a glob: may match nothing yet
	esac
	if ! grep -qx "$pat" "$tmp/exports"; then
		echo "  $pat: listed in $MAP, but $SO does not define it"
		bad=$((bad + 1))
	fi
done <"$tmp/patterns"

if [ "$bad" -ne 0 ]; then
	echo "check-exports: $bad problem(s) in the $count symbols $SO exports" >&2
	exit 1
fi
echo "check-exports: ok, $count symbols, all wrappers of libc or lt_* API"
