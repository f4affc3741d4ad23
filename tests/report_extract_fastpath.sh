#!/bin/sh
# SPDX-License-Identifier: MIT
# extract reads plain Flag, Observation and Condition lines without jansson
# (aggregate/extract.c, clin_fast) and everything else with it: both paths
# must count the same. The hand population is read as it is (fast path) and
# with every clinical line forced onto jansson by a harmless escape
# ("Patient\/p1" is the same string as "Patient/p1"); the partials must be
# identical, byte for byte, for several periods. A duplicate key in a
# clinical line is refused on either path, naming the file and line.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
report_keys "$scratch/k" 100 Y09999
fx="$top_srcdir/test-fixtures/report/hand"
mkdir "$scratch/fast" "$scratch/slow" || exit 99
cp "$fx"/*.ndjson "$scratch/fast/" || exit 99
cp "$fx/Patient.ndjson" "$scratch/slow/" || exit 99
for t in Flag Observation Condition; do
    sed 's|"Patient/|"Patient\\/|' "$fx/$t.ndjson" > "$scratch/slow/$t.ndjson" || exit 99
    grep -q 'Patient\\/' "$scratch/slow/$t.ndjson" || fail "no escape inserted in $t"
done
for per in 2025-01-01..2025-03-31 2025-Q2 2025-Q4 2024-Q4 2020-01-01..2026-12-31; do
    for how in fast slow; do
        "$rep" extract --quiet --practice Y09999 --period "$per" --signing-key "$kd/Y09999.pem" \
            -o "$scratch/$how.json" "$scratch/$how" || fail "extract ($how, $per) failed"
    done
    cmp "$scratch/fast.json" "$scratch/slow.json" ||
        fail "the fast path and jansson count differently for $per"
done
# A duplicate key in the 2nd line of a Flag file: refused (jansson's error).
mkdir "$scratch/dup" || exit 99
cp "$fx/Patient.ndjson" "$scratch/dup/" || exit 99
sed '2s|^{|{"status":"inactive",|' "$fx/Flag.ndjson" > "$scratch/dup/Flag.ndjson" || exit 99
if "$rep" extract --quiet --practice Y09999 --period 2025-Q1 --signing-key "$kd/Y09999.pem" -o "$scratch/dup.json" \
    "$scratch/dup" 2> "$scratch/err"; then
    fail "a duplicate key was accepted"
fi
grep -q 'Flag.ndjson:2: .*duplicate object key' "$scratch/err" ||
    { cat "$scratch/err"; fail "the duplicate key error does not name the line"; }
[ ! -e "$scratch/dup.json" ] || fail "a partial was written despite the error"
echo "report_extract_fastpath: fast path and jansson agree"
