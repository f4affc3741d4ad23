#!/bin/sh
# SPDX-License-Identifier: MIT
# Every R4 Bundle ehr2fhir writes for the fixtures (and, when CSE_SHARED_DIR
# is set, for the adaptor's PWTP extracts and nopat fragments) validates
# against the csemarker profiles and R4 core (fhir-profiles/tools/validate.mjs).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
[ -n "$CSE_NODE_MODULES" ] && [ -d "$CSE_NODE_MODULES" ] ||
    skip "CSE_NODE_MODULES is not set (run npm ci --prefix fhir-profiles)"
command -v node > /dev/null 2>&1 || skip "node is not installed"
validate="$top_srcdir/fhir-profiles/tools/validate.mjs"
[ -f "$validate" ] || skip "fhir-profiles/tools/validate.mjs is not there yet"
conv="$top_builddir/cse-convert"
set --
for in in "$top_srcdir"/test-fixtures/fhir-write/*/input.xml; do
    case=$(basename "$(dirname "$in")")
    [ -f "$(dirname "$in")/expected-error" ] && continue
    "$conv" ehr2fhir --r4 "$in" -o "$scratch/$case.r4.json" 2> /dev/null ||
        fail "$case: ehr2fhir exited $?"
    set -- "$@" "$scratch/$case.r4.json"
done
# The Bundles the unit tests (tests/check_fhir_write.c) write.
mkdir "$scratch/unit" || fail "cannot make $scratch/unit"
CK_RUN_SUITE=fhir_write CK_VERBOSITY=silent CSE_FHIR_WRITE_DUMP="$scratch/unit" \
    "$top_builddir/tests/check_libcsemarker" > /dev/null || fail "the fhir_write suite failed"
for f in "$scratch"/unit/*.r4.json; do
    [ -f "$f" ] && set -- "$@" "$f"
done
nia="${CSE_SHARED_DIR:-/nonexistent}/conformance/nia/ehr-to-fhir"
if [ -d "$nia" ]; then
    for in in "$nia"/pwtp/*.xml "$nia"/nopat/*.xml; do
        case=$(basename "$in" .xml)
        "$conv" ehr2fhir --r4 "$in" -o "$scratch/nia-$case.r4.json" 2> /dev/null ||
            fail "$case: ehr2fhir exited $?"
        set -- "$@" "$scratch/nia-$case.r4.json"
    done
else
    echo "CSE_SHARED_DIR not set: validating the synthetic fixtures only"
fi
[ $# -gt 0 ] || fail "no R4 bundles to validate"
NODE_PATH="$CSE_NODE_MODULES" CSE_NODE_MODULES="$CSE_NODE_MODULES" \
    node "$validate" "$@" > "$scratch/out" 2>&1; rc=$?
cat "$scratch/out"
[ $rc -eq 0 ] || fail "validate.mjs exited $rc"
echo "ehr2fhir_validate: $# bundles valid"
