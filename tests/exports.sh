#!/bin/sh
# The shared library exports exactly the committed list of public symbols.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
lib="$top_builddir/.libs/libcsemarker.so"
[ -f "$lib" ] || skip "no shared library at $lib (built with --disable-shared?)"
command -v nm >/dev/null || skip "nm not found"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | LC_ALL=C sort > "$scratch/actual"
LC_ALL=C sort "$top_srcdir/tests/libcsemarker.exports" > "$scratch/expected"
if ! diff -u "$scratch/expected" "$scratch/actual"; then
    fail "exported symbols differ from tests/libcsemarker.exports (+ exported, - expected)"
fi
grep -q '^cse__' "$scratch/actual" && fail "an internal cse__ symbol is exported"
echo "exports: $(wc -l < "$scratch/actual") public symbols, as listed"
