#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert repair over the fixtures in test-fixtures/repair/<case>/:
#   - the canonical XML (xmllint --c14n) of input and output differ by exactly
#     expected.diff (inspected once, then kept: only the intended changes); a
#     case without expected.diff must come out unchanged;
#   - the JSON report equals expected-report.json;
#   - the output validates against the GP2GP schema its root names (UK07 when
#     a label is present) when $CSE_SHARED_DIR has the schemas;
#   - exit status 0, or 5 when an entry is left for clinician review;
# then bad input (exit 3, line and path, no output file), standard input, and
# the national adaptor's extracts in $CSE_SHARED_DIR, which carry no markers
# and must come out c14n-identical.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fixtures="$top_srcdir/test-fixtures/repair"
xmllint=${XMLLINT:-$(command -v xmllint)}
[ -n "$xmllint" ] && [ -x "$xmllint" ] || skip "xmllint not found (apt-get install libxml2-utils)"
schemas=
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" ]; then
    schemas="$CSE_SHARED_DIR/conformance/nia/xsd/Schemas"
else
    echo "repair: no conformance schemas in \$CSE_SHARED_DIR: schema validation skipped" >&2
fi

c14n() { "$xmllint" --c14n "$1" > "$2" || fail "xmllint --c14n $1 failed"; }

# Validates $1 against the message schema its root element names.
validate() {
    [ -n "$schemas" ] || return 0
    root=$(sed -n 's/.*<\(RCMR_IN030000UK0[67]\)[ >].*/\1/p' "$1" | head -n 1)
    [ -n "$root" ] || fail "$1: no RCMR_IN030000UK06/07 root"
    "$xmllint" --noout --schema "$schemas/$root.xsd" "$1" > "$scratch/validate.log" 2>&1 ||
        fail "$1 does not validate against $root.xsd: $(cat "$scratch/validate.log")"
}

cases=0
for dir in "$fixtures"/*/; do
    name=$(basename "$dir")
    [ -f "$dir/input.xml" ] || continue
    cases=$((cases + 1))
    out="$scratch/$name.xml"
    "$conv" repair "$dir/input.xml" -o "$out" --report "$scratch/$name.json" \
        2> "$scratch/$name.err"
    rc=$?
    want=0
    [ "$name" = candidate ] && want=5
    [ $rc -eq $want ] || fail "$name: exit $rc, expected $want: $(cat "$scratch/$name.err")"
    c14n "$dir/input.xml" "$scratch/$name.in.c14n"
    c14n "$out" "$scratch/$name.out.c14n"
    diff -u --label input --label output "$scratch/$name.in.c14n" "$scratch/$name.out.c14n" \
        > "$scratch/$name.diff"
    if [ ! -f "$dir/expected.diff" ]; then
        [ ! -s "$scratch/$name.diff" ] || { cat "$scratch/$name.diff" >&2
            fail "$name: changed, but the case has no expected.diff"; }
    elif ! cmp -s "$scratch/$name.diff" "$dir/expected.diff"; then
        diff -u "$dir/expected.diff" "$scratch/$name.diff" >&2
        fail "$name: the changes differ from expected.diff"
    fi
    if ! cmp -s "$scratch/$name.json" "$dir/expected-report.json"; then
        diff -u "$dir/expected-report.json" "$scratch/$name.json" >&2
        fail "$name: the report differs from expected-report.json"
    fi
    validate "$out"
done
[ $cases -ge 6 ] || fail "only $cases fixtures found in $fixtures"

# Without --report: a one-line summary on stderr, candidates named by id and
# line, never by their text.
"$conv" repair "$fixtures/candidate/input.xml" > "$scratch/c.xml" 2> "$scratch/c.err"
[ $? -eq 5 ] || fail "candidate without --report should exit 5"
grep -q 'for clinician review: entry 5C1A0000-0000-4000-8000-0000000000C9 at line 102: description-id' \
    "$scratch/c.err" || fail "candidate line on stderr: $(cat "$scratch/c.err")"
grep -qi 'sexual exploitation' "$scratch/c.err" && fail "record text leaked to stderr"

# Standard input gives the same output as the file.
"$conv" repair - -o "$scratch/stdin.xml" < "$fixtures/several/input.xml" 2> /dev/null ||
    fail "repair from standard input failed"
"$conv" repair "$fixtures/several/input.xml" -o "$scratch/file.xml" 2> /dev/null
cmp -s "$scratch/stdin.xml" "$scratch/file.xml" || fail "standard input and file outputs differ"

# Bad input: exit 3, file, line and element path, and no output file.
printf '<?xml version="1.0"?>\n<RCMR_IN030000UK06 xmlns="urn:hl7-org:v3">\n<id root="X"/>\n<ControlActEvent>\n</RCMR_IN030000UK06>\n' \
    > "$scratch/bad.xml"
"$conv" repair "$scratch/bad.xml" -o "$scratch/bad.out" 2> "$scratch/bad.err"
rc=$?
[ $rc -eq 3 ] || fail "malformed input: exit $rc, expected 3"
[ ! -e "$scratch/bad.out" ] || fail "malformed input left an output file"
ls "$scratch" | grep -q 'bad.out.tmp' && fail "malformed input left a temporary file"
grep -q "bad.xml:5:.*/RCMR_IN030000UK06/ControlActEvent" "$scratch/bad.err" ||
    fail "malformed input message: $(cat "$scratch/bad.err")"
printf '<!DOCTYPE x [<!ENTITY e "e">]>\n<x>&e;</x>\n' > "$scratch/dtd.xml"
"$conv" repair "$scratch/dtd.xml" -o "$scratch/dtd.out" 2> "$scratch/dtd.err"
[ $? -eq 3 ] || fail "DOCTYPE input should exit 3"
[ ! -e "$scratch/dtd.out" ] || fail "DOCTYPE input left an output file"
"$conv" repair "$scratch/missing.xml" -o "$scratch/missing.out" 2> /dev/null
[ $? -eq 4 ] || fail "a missing input should exit 4"
"$conv" repair > /dev/null 2>&1
[ $? -eq 2 ] || fail "no input should exit 2"

# The national adaptor's extracts: no markers, so nothing may change.
if [ -n "$CSE_SHARED_DIR" ] && [ -d "$CSE_SHARED_DIR/conformance/nia/ehr-to-fhir" ]; then
    n=0
    for f in "$CSE_SHARED_DIR"/conformance/nia/ehr-to-fhir/pwtp/*.xml \
             "$CSE_SHARED_DIR"/conformance/nia/ehr-to-fhir/nopat/*.xml; do
        [ -f "$f" ] || continue
        "$conv" repair "$f" -o "$scratch/nia.xml" 2> "$scratch/nia.err" ||
            fail "$f: exit $?: $(cat "$scratch/nia.err")"
        c14n "$f" "$scratch/nia.in.c14n"
        c14n "$scratch/nia.xml" "$scratch/nia.out.c14n"
        cmp -s "$scratch/nia.in.c14n" "$scratch/nia.out.c14n" || fail "$f changed under repair"
        n=$((n + 1))
    done
    echo "repair: $n conformance extracts unchanged"
else
    echo "repair: no conformance corpus in \$CSE_SHARED_DIR: adaptor extracts skipped" >&2
fi
echo "repair: $cases fixtures ok"
