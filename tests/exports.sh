#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports exactly the committed list of public symbols
# (tests/libcsemarker.exports), and the Debian symbols file lists the same
# ones: a change to the interface is deliberate (`make update-exports`, then
# configure.ac's version-info rules).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
lib="$top_builddir/.libs/libcsemarker.so"
[ -f "$lib" ] || skip "no shared library at $lib (built with --disable-shared?)"
command -v nm >/dev/null || skip "nm not found"
# Every defined dynamic symbol of any kind (text, data, weak, indirect), but
# not version nodes (A).
nm -D --defined-only "$lib" > "$scratch/nm" || fail "nm -D failed on $lib"
awk 'NF == 3 && $2 != "A" {print $3}' "$scratch/nm" | LC_ALL=C sort > "$scratch/actual"
[ -s "$scratch/actual" ] || fail "nm -D found no symbols in $lib"
LC_ALL=C sort "$top_srcdir/tests/libcsemarker.exports" > "$scratch/expected"
if ! diff -u "$scratch/expected" "$scratch/actual"; then
    fail "exported symbols differ from tests/libcsemarker.exports (+ exported, - expected)"
fi
grep -q '^cse__' "$scratch/actual" && fail "an internal cse__ symbol is exported"
grep -v '^cse_' "$scratch/actual" && fail "a symbol outside the cse_ namespace is exported"
symbols="$top_srcdir/debian/libcsemarker0.symbols"
if [ -f "$symbols" ]; then
    sed -n 's/^ \([^@]*\)@Base .*/\1/p' "$symbols" | LC_ALL=C sort > "$scratch/debian"
    diff -u "$scratch/expected" "$scratch/debian" ||
        fail "debian/libcsemarker0.symbols differs from tests/libcsemarker.exports (run tools/update-symbols)"
fi
echo "exports: $(wc -l < "$scratch/actual") public symbols, as listed"
