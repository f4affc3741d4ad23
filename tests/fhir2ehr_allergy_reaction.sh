#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert fhir2ehr on an allergy's reaction: its manifestations and
# exposure route are named in the annotation as the sending adaptor's
# extractTextOrCoding names them, by the SNOMED description the clinician
# chose (the sctdescid extension's descriptionDisplay) when it differs from
# the coding's display ("Skin rash", not "Eruption").
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir-allergy"
xmllint=${XMLLINT:-xmllint}
command -v "$xmllint" > /dev/null 2>&1 || skip "no xmllint"

out="$scratch/allergy.xml"
"$conv" fhir2ehr "$fix/reaction-description.json" --sender A99001 --receiver B99002 \
    -o "$out" 2> "$scratch/err" || fail "exit $?: $(cat "$scratch/err")"
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" ]; then
    "$xmllint" --noout --nonet --schema \
        "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" "$out" \
        2> "$scratch/xsd" || fail "not valid UK07: $(head -3 "$scratch/xsd")"
fi
L() { printf '*[local-name()="%s"]' "$1"; }
text=$("$xmllint" --xpath "string(//$(L ObservationStatement)/$(L pertinentInformation)/$(L pertinentAnnotation)/$(L text))" "$out")
case "$text" in
*"Reaction 1 Exposure Route: By mouth Severity: MILD Manifestation(s): Skin rash"*) ;;
*) fail "reaction annotation: $text" ;;
esac
exit 0
