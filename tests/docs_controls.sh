#!/bin/sh
# SPDX-License-Identifier: MIT
# SECURITY.md and docs/clinical-safety.md name the tests that check each
# guarantee and each hazard's control. This keeps them from drifting: every
# file they name (tests/..., fuzz/..., convert/..., plugin/..., aggregate/...,
# include/...) exists, every Check test they name (test_...) is a START_TEST
# in tests/, and every function they name (cse_...) is defined or declared
# in the sources. A renamed or removed test fails here until the documents
# say what checks that guarantee now.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
cd "$top_srcdir" || exit 99
docs="SECURITY.md docs/clinical-safety.md"
bad=0
for d in $docs; do
    [ -s "$d" ] || fail "$d is missing or empty"
done

# Files.
grep -ohE '(tests|fuzz|convert|plugin|aggregate|include|test-fixtures|fhir-profiles|tools)/[A-Za-z0-9_./-]*[A-Za-z0-9_]' \
    $docs | LC_ALL=C sort -u > "$scratch/files"
nfiles=0
while read -r f; do
    nfiles=$((nfiles + 1))
    if [ ! -e "$f" ]; then
        echo "named but absent: $f ($(grep -l -- "$f" $docs | tr '\n' ' '))" >&2
        bad=1
    fi
done < "$scratch/files"

# Check tests by name.
grep -ohE '\btest_[a-z0-9_]+' $docs | LC_ALL=C sort -u > "$scratch/tests"
cat tests/*.c 2>/dev/null | sed -n 's/^START_TEST(\(test_[a-z0-9_]*\)).*/\1/p' |
    LC_ALL=C sort -u > "$scratch/defined"
ntests=$(wc -l < "$scratch/tests")
LC_ALL=C comm -23 "$scratch/tests" "$scratch/defined" > "$scratch/missing"
if [ -s "$scratch/missing" ]; then
    sed 's/^/no such Check test in tests\/*.c: /' "$scratch/missing" >&2
    bad=1
fi

# Functions named as controls.
grep -ohE '\bcse_[a-z0-9_]+\b' $docs | LC_ALL=C sort -u > "$scratch/functions"
nfuncs=0
while read -r fn; do
    nfuncs=$((nfuncs + 1))
    if ! grep -rqw -- "$fn" convert plugin aggregate include 2>/dev/null; then
        echo "named but not in the sources: $fn" >&2
        bad=1
    fi
done < "$scratch/functions"

[ "$nfiles" -ge 10 ] && [ "$ntests" -ge 10 ] ||
    fail "the documents name only $nfiles files and $ntests Check tests: evidence missing?"
[ $bad -eq 0 ] || fail "SECURITY.md or docs/clinical-safety.md names what does not exist (above)"
echo "docs controls: $nfiles files, $ntests Check tests and $nfuncs functions named, all present"
