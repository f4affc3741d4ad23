#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert fhir2ehr: every fixture converts and validates against the NHS
# schemas (when ../shared is present), and bad input fails with exit 3, a
# clear message with its path, and no output file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir"
xsd_dir=
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" ]; then
    xsd_dir="$CSE_SHARED_DIR/conformance/nia/xsd"
fi
xmllint=${XMLLINT:-xmllint}
command -v "$xmllint" > /dev/null 2>&1 || xmllint=

# schema_ok FILE UK06|UK07
schema_ok() {
    [ -n "$xsd_dir" ] && [ -n "$xmllint" ] || return 0
    "$xmllint" --noout --nonet --schema "$xsd_dir/Schemas/RCMR_IN030000$2.xsd" "$1" \
        2> "$scratch/xmllint.err" || fail "$1 is not valid $2: $(head -3 "$scratch/xmllint.err")"
}

# Every fixture converts, with the loss report on stderr, and validates.
for f in "$fix"/*.json "$fix"/*.ndjson; do
    name=$(basename "$f")
    out="$scratch/$name.xml"
    "$conv" fhir2ehr "$f" --sender A99001 --receiver B99002 -o "$out" 2> "$scratch/err" ||
        fail "$name: exit $?: $(cat "$scratch/err")"
    grep -q '^<RCMR_IN030000UK07 ' "$out" || fail "$name: not a UK07 message"
    grep -q 'entries written' "$scratch/err" || fail "$name: no summary on stderr"
    schema_ok "$out" UK07
done

# The loss report counts what was not mapped, by resource type only.
"$conv" fhir2ehr "$fix/r4-record.json" --receiver B99002 -o "$scratch/r4.xml" 2> "$scratch/err" ||
    fail "r4-record: exit $?"
grep -q 'loss: 1 Flag (Flag that is not a CSE marker)' "$scratch/err" || fail "no Flag loss: $(cat "$scratch/err")"
grep -q 'loss: 1 Basic (resource type not mapped)' "$scratch/err" || fail "no Basic loss"
grep -q 'structural: 1 List' "$scratch/err" || fail "List not counted as structural"
grep -q '9990010005' "$scratch/err" && fail "the loss report shows an NHS number"
grep -q 'Wheelchair\|wheelchair' "$scratch/err" && fail "the loss report shows record text"
# One marker from a Flag and its Observation form, NOPAT on it and its composition.
[ "$(grep -c 'code="716565009"' "$scratch/r4.xml")" -eq 1 ] || fail "the marker is not written exactly once"
if [ -n "$xmllint" ]; then
    n=$("$xmllint" --xpath 'count(//*[local-name()="ObservationStatement"][*[local-name()="code"]/@code="716565009"]/*[local-name()="confidentialityCode"][@code="NOPAT"])' "$scratch/r4.xml")
    [ "$n" = 1 ] || fail "the marker statement has no NOPAT"
    n=$("$xmllint" --xpath 'count(//*[local-name()="ehrComposition"][.//*[local-name()="code"]/@code="716565009"]/*[local-name()="confidentialityCode"][@code="NOPAT"])' "$scratch/r4.xml")
    [ "$n" = 1 ] || fail "the marker's composition has no NOPAT"
fi

# A Flag inside a consultation List (the national adaptor fails on it) converts.
"$conv" fhir2ehr "$fix/stu3-consultation.json" --receiver B99002 -o "$scratch/stu3.xml" 2> "$scratch/err" ||
    fail "stu3-consultation: exit $?: $(cat "$scratch/err")"
grep -q 'code="713834002"' "$scratch/stu3.xml" || fail "the Flag in a consultation List was lost"

# Standard input, standard output, and the same ids every time.
# (A Bundle with a timestamp: the extract's time comes from it, not the clock.)
"$conv" fhir2ehr - --receiver B99002 < "$fix/r4-record.json" > "$scratch/a.xml" 2> /dev/null || fail "stdin: exit $?"
"$conv" fhir2ehr "$fix/r4-record.json" --receiver B99002 -o "$scratch/b.xml" 2> /dev/null || fail "file: exit $?"
cmp -s "$scratch/a.xml" "$scratch/b.xml" || fail "the same input gave different output"

# UK06 on request when nothing carries a label; refused when something does.
"$conv" fhir2ehr "$fix/r4-plain.ndjson" --uk06 --sender A99001 --receiver B99002 -o "$scratch/uk06.xml" 2> "$scratch/err" ||
    fail "uk06: exit $?: $(cat "$scratch/err")"
grep -q '^<RCMR_IN030000UK06 ' "$scratch/uk06.xml" || fail "--uk06 did not write UK06"
schema_ok "$scratch/uk06.xml" UK06
"$conv" fhir2ehr "$fix/r4-record.json" --uk06 --receiver B99002 -o "$scratch/no.xml" 2> "$scratch/err"
rc=$?
[ $rc -eq 3 ] || fail "--uk06 with a marker should exit 3, got $rc"
grep -q 'UK06 cannot carry it' "$scratch/err" || fail "--uk06 message: $(cat "$scratch/err")"
[ -e "$scratch/no.xml" ] && fail "--uk06 refusal left an output file"

# --validate: the converter checks its own output before it appears.
if [ -n "$xsd_dir" ]; then
    "$conv" fhir2ehr "$fix/r4-record.json" --receiver B99002 --validate "$xsd_dir" \
        -o "$scratch/v.xml" 2> "$scratch/err" || fail "--validate: exit $?: $(cat "$scratch/err")"
    # To standard output it spools through $TMPDIR and leaves nothing there.
    mkdir "$scratch/tmpdir"
    TMPDIR=$scratch/tmpdir "$conv" fhir2ehr "$fix/r4-record.json" --receiver B99002 \
        --validate "$xsd_dir" > "$scratch/v2.xml" 2> "$scratch/err" ||
        fail "--validate to stdout: exit $?"
    cmp -s "$scratch/v.xml" "$scratch/v2.xml" || fail "--validate to stdout differs"
    [ -z "$(ls -A "$scratch/tmpdir")" ] || fail "--validate left $(ls -A "$scratch/tmpdir")"
    TMPDIR=$scratch/no-such-dir "$conv" fhir2ehr "$fix/r4-record.json" --receiver B99002 \
        --validate "$xsd_dir" > "$scratch/v3.xml" 2> "$scratch/err"
    rc=$?
    [ $rc -ne 0 ] && grep -q 'cannot make a temporary file' "$scratch/err" ||
        fail "--validate to stdout ignores TMPDIR (exit $rc): $(cat "$scratch/err")"
fi
# A schema that the output does not meet (our own tiny one): exit 3, no file.
"$conv" fhir2ehr "$fix/r4-record.json" --receiver B99002 --validate "$fix/schema" \
    -o "$scratch/bad.xml" 2> "$scratch/err"
rc=$?
[ $rc -eq 3 ] || fail "a schema error should exit 3, got $rc"
grep -q 'not valid against RCMR_IN030000UK07.xsd' "$scratch/err" || fail "schema message: $(cat "$scratch/err")"
grep -Eq 'bad.xml:[0-9]+: /' "$scratch/err" || fail "schema error has no line and path: $(cat "$scratch/err")"
[ -e "$scratch/bad.xml" ] && fail "a schema error left an output file"

# Bad input: exit 3, a message naming the file, line or JSON path, no output.
# expect_error FILE PATTERN
expect_error() {
    rm -f "$scratch"/out.xml*
    "$conv" fhir2ehr "$fix/bad/$1" --sender A99001 --receiver B99002 -o "$scratch/out.xml" 2> "$scratch/err"
    rc=$?
    [ $rc -eq 3 ] || fail "$1: expected exit 3, got $rc: $(cat "$scratch/err")"
    grep -Eq "$2" "$scratch/err" || fail "$1: message '$(cat "$scratch/err")' does not match '$2'"
    ls "$scratch"/out.xml* > /dev/null 2>&1 && fail "$1: left an output file"
    grep -q '9990010' "$scratch/err" && fail "$1: the message shows an NHS number"
    return 0
}
expect_error not-json.txt 'not-json.txt:1:[0-9]+: not valid JSON'
expect_error not-fhir.json 'not-fhir.json:1: resourceType: not FHIR'
expect_error mixed-version.json 'entry\[1\]\.resource: .*FHIR STU3, but entry\[0\] was FHIR R4'
expect_error truncated.json 'truncated.json:[0-9]+:[0-9]+: not valid JSON'
expect_error duplicate-key.json 'duplicate object key'
expect_error bad-nhs-number.json 'entry\[0\]\.resource\.identifier\[0\]\.value: the NHS number fails'
expect_error bad-date.json 'entry\[1\]\.resource\.effectiveDateTime: effectiveDateTime is not a FHIR date'

# Usage errors.
"$conv" fhir2ehr > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no input should exit 2, got $rc"
"$conv" fhir2ehr "$fix/r4-record.json" -o "$scratch/x.xml" 2> "$scratch/err"; rc=$?
[ $rc -eq 2 ] || fail "no --receiver should exit 2, got $rc"
grep -q -- '--receiver' "$scratch/err" || fail "no --receiver message: $(cat "$scratch/err")"
[ -e "$scratch/x.xml" ] && fail "a usage error left an output file"

[ -n "$xsd_dir" ] || echo "fhir2ehr: schema checks skipped (no CSE_SHARED_DIR)" >&2
echo "fhir2ehr: ok"
