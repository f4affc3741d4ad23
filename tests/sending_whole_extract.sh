#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr on whole records, against the national adaptors' extracts:
# - the sending adaptor's whole-extract pair (1-consultation-resource.json and
#   its ExpectedResponseFrom1ConsultationResponse.xml): as many
#   ehrCompositions as the adaptor writes, an Encounter with nothing in it
#   getting none (its EncounterMapper skips one whose components are blank),
#   and that Encounter named in the loss report;
# - the nine PWTP records as the requesting adaptor's FHIR bundles
#   (../shared/conformance/nia/ehr-to-fhir/pwtp/PWTPn-output.json, their
#   NHS number "Test Harness" replaced by a valid one), against the GP2GP
#   extract each came from: every extract valid UK07, every statement count
#   within 2% (or 1) of the original's or a deliberate difference named with
#   its reason and bound in tests/sending_whole_extract.py, at least 95% of
#   the bundle's SNOMED CT codes carried (an immunisation by its procedure),
#   and no drug the bundle codes written without a code.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
src="$CSE_SHARED_DIR/conformance/nia/fhir-to-ehr"
pwtp="$CSE_SHARED_DIR/conformance/nia/ehr-to-fhir/pwtp"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd"
[ -n "$CSE_SHARED_DIR" ] && [ -d "$src" ] && [ -d "$pwtp" ] ||
    skip "no conformance corpus (set CSE_SHARED_DIR)"
command -v python3 > /dev/null 2>&1 || skip "no python3"

sed 's/"1234567890"/"9990010005"/' "$src/1-consultation-resource.json" > "$scratch/c1.json"
"$conv" fhir2ehr "$scratch/c1.json" --sender A99001 --receiver B99002 --validate "$xsd" \
    -o "$scratch/c1.xml" 2> "$scratch/c1.err" || fail "1-consultation: exit $?: $(cat "$scratch/c1.err")"
ours=$(grep -c '<ehrComposition[ >]' "$scratch/c1.xml")
theirs=$(grep -c '<ehrComposition[ >]' "$src/ExpectedResponseFrom1ConsultationResponse.xml")
[ "$ours" -eq "$theirs" ] || fail "1-consultation: $ours ehrCompositions, the adaptor's $theirs"
grep -q 'loss: 1 Encounter (nothing recorded in it' "$scratch/c1.err" ||
    fail "1-consultation: the empty Encounter is not reported: $(cat "$scratch/c1.err")"
echo "1-consultation: ehrComposition $ours / $theirs"

n=0
for f in "$pwtp"/PWTP*-output.json; do
    name=$(basename "$f" -output.json)
    sed 's/"value": "Test Harness"/"value": "9990010005"/' "$f" > "$scratch/$name.json"
    "$conv" fhir2ehr "$scratch/$name.json" --sender A99001 --receiver B99002 --validate "$xsd" \
        -o "$scratch/$name.xml" 2> "$scratch/$name.err" ||
        fail "$name: exit $?: $(tail -1 "$scratch/$name.err")"
    python3 "$top_srcdir/tests/sending_whole_extract.py" "$name" "$pwtp/$name.xml" \
        "$scratch/$name.json" "$scratch/$name.xml" > "$scratch/$name.out" ||
        fail "$name: $(grep -v ' ok$' "$scratch/$name.out" | grep -v deliberate)"
    grep -v ' ok$' "$scratch/$name.out" | sed 's/ deliberate: \(.\{60\}\).*/ deliberate: \1.../'
    n=$((n + 1))
done
[ $n -ge 9 ] || fail "only $n PWTP bundles"
echo "sending_whole_extract: 1-consultation and $n PWTP records as counted above"
