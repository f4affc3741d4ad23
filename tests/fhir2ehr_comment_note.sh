#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert fhir2ehr on a comment note (37331000000100) whose coding names
# no system: the sending adaptor matches the comment note on its code alone,
# so it is a NarrativeStatement with the comment as its text and the time
# issued as its date. A coding of another named system with the same code
# is not the comment note: it stays an ObservationStatement.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir-comment"
xmllint=${XMLLINT:-xmllint}
command -v "$xmllint" > /dev/null 2>&1 || skip "no xmllint"

out="$scratch/note.xml"
"$conv" fhir2ehr "$fix/comment-note-no-system.json" --sender A99001 --receiver B99002 \
    -o "$out" 2> "$scratch/err" || fail "exit $?: $(cat "$scratch/err")"
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" ]; then
    "$xmllint" --noout --nonet --schema \
        "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" "$out" \
        2> "$scratch/xsd" || fail "not valid UK07: $(head -3 "$scratch/xsd")"
fi
count() {
    "$xmllint" --xpath "count($1)" "$out" 2> /dev/null
}
L() { printf '*[local-name()="%s"]' "$1"; }

note="//$(L NarrativeStatement)[$(L id)/@root=\"note-1\" or $(L text)=\"Seen with mother, follow up in two weeks\"]"
[ "$(count "$note")" = 1 ] || fail "the comment note is not a NarrativeStatement"
[ "$(count "$note/$(L availabilityTime)[starts-with(@value,\"20100714\")]")" = 1 ] ||
    fail "the comment note's date is not the time issued"
[ "$(count "//$(L ObservationStatement)[$(L pertinentInformation)//$(L text)=\"Seen with mother, follow up in two weeks\"]")" = 0 ] ||
    fail "the comment note was also written as an ObservationStatement"
[ "$(count "//$(L ObservationStatement)[.//$(L text)=\"A local code that is not the comment note\"]")" = 1 ] ||
    fail "a coding of another system was taken as the comment note"
exit 0
