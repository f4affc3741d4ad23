#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert ehr2fhir: golden tests over test-fixtures/fhir-write/<case>/.
# A case holds input.xml and either expected.r4.json, expected.stu3.json and
# expected-report.json (the R4 report), or expected-error (line 1: the exit
# status, line 2: text the message must contain; no output file may remain).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fixtures="$top_srcdir/test-fixtures/fhir-write"
n=0
for dir in "$fixtures"/*/; do
    dir=${dir%/}
    case=$(basename "$dir")
    in="$dir/input.xml"
    [ -f "$in" ] || continue
    n=$((n + 1))
    if [ -f "$dir/expected-error" ]; then
        want_rc=$(sed -n 1p "$dir/expected-error")
        want_msg=$(sed -n 2p "$dir/expected-error")
        for v in --r4 --stu3; do
            "$conv" ehr2fhir $v "$in" -o "$scratch/$case.json" 2> "$scratch/err"; rc=$?
            [ "$rc" -eq "$want_rc" ] || fail "$case $v: exit $rc, expected $want_rc"
            grep -qF "$want_msg" "$scratch/err" || fail "$case $v: message: $(cat "$scratch/err")"
            [ ! -e "$scratch/$case.json" ] || fail "$case $v: output file left behind"
            ls "$scratch" | grep -q "\.tmp\." && fail "$case $v: temporary file left behind"
        done
        continue
    fi
    "$conv" ehr2fhir --r4 --pretty "$in" -o "$scratch/r4.json" \
        --report "$scratch/report.json" || fail "$case: --r4 exited $?"
    diff -u "$dir/expected.r4.json" "$scratch/r4.json" || fail "$case: R4 output differs"
    diff -u "$dir/expected-report.json" "$scratch/report.json" || fail "$case: report differs"
    "$conv" ehr2fhir --stu3 --pretty "$in" -o "$scratch/stu3.json" 2> /dev/null ||
        fail "$case: --stu3 exited $?"
    diff -u "$dir/expected.stu3.json" "$scratch/stu3.json" || fail "$case: STU3 output differs"
    # Standard input and output give the same bytes; the report goes to stderr.
    "$conv" ehr2fhir --pretty - < "$in" > "$scratch/stdout.json" 2> "$scratch/stderr" ||
        fail "$case: stdin to stdout exited $?"
    cmp -s "$dir/expected.r4.json" "$scratch/stdout.json" || fail "$case: stdout differs"
    grep -q '^markers: ' "$scratch/stderr" || fail "$case: no report on stderr"
done
[ "$n" -gt 0 ] || fail "no cases in $fixtures"

# The report never carries record text or the NHS number.
uk06="$fixtures/marker-uk06-unlabelled/input.xml"
"$conv" ehr2fhir "$uk06" -o "$scratch/x.json" 2> "$scratch/stderr" || fail "uk06 exited $?"
grep -q 'NOPAT added: marker entry 8D9E0F1A-2B3C-4D4E-9F5A-6B7C8D9E0F1A' "$scratch/stderr" ||
    fail "NOPAT-added line missing: $(cat "$scratch/stderr")"
grep -q 'review candidate: entry 9E0F1A2B-3C4D-4E5F-8A6B-7C8D9E0F1A2B (line 130): description-id' \
    "$scratch/stderr" || fail "candidate line missing: $(cat "$scratch/stderr")"
grep -q -e 9990000026 -e 'sexual exploitation' "$scratch/stderr" && fail "report leaks record data"

# Usage errors.
"$conv" ehr2fhir > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no input should exit 2, got $rc"
"$conv" ehr2fhir --frobnicate "$uk06" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "unknown option should exit 2, got $rc"
"$conv" ehr2fhir "$scratch/absent.xml" -o "$scratch/absent.json" 2> /dev/null; rc=$?
[ $rc -eq 4 ] || fail "missing input should exit 4, got $rc"
[ ! -e "$scratch/absent.json" ] || fail "output left behind for a missing input"
echo "ehr2fhir: $n cases ok"
