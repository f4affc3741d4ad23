#!/bin/sh
# SPDX-License-Identifier: MIT
# Round trips field by field (issue 13's bar: FHIR -> UK07 -> FHIR keeps every
# clinical field, UK07 -> FHIR -> UK07 every statement, value and label).
#   - The nine PWTP extracts (../shared/conformance/nia/ehr-to-fhir/pwtp):
#     ehr2fhir gives FHIR A; fhir2ehr gives UK07 X (valid against the UK07
#     schema); ehr2fhir gives FHIR B. B keeps every field of A
#     (tests/roundtrip_fields.py: the fields of ../shared/tools/compare-fields.py),
#     and X every number, coded value and label of the extract sent
#     (tests/roundtrip_values.py). Statement counts are
#     tests/fhir2ehr_roundtrip.sh's.
#   - The sending adaptor's whole bundles that name a patient
#     (../shared/conformance/nia/fhir-to-ehr): fhir2ehr then ehr2fhir keeps
#     every field of the bundle sent, but two named differences: a blood
#     pressure's own interpretation and reference range are written, as the
#     adaptor's BloodPressureMapper writes them, in the battery's note, so
#     they come back as text (gpc-access-structured's 34638ABC-...); and an
#     Encounter with nothing recorded in it gets no ehrComposition, as the
#     adaptor writes none, and is counted in the loss report instead
#     (1-consultation-resource's DBF5776F-...).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
pwtp="$CSE_SHARED_DIR/conformance/nia/ehr-to-fhir/pwtp"
bundles="$CSE_SHARED_DIR/conformance/nia/fhir-to-ehr"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd"
fields="$CSE_SHARED_DIR/tools/compare-fields.py"
[ -n "$CSE_SHARED_DIR" ] && [ -d "$pwtp" ] && [ -f "$fields" ] ||
    skip "no PWTP extracts or compare-fields.py (set CSE_SHARED_DIR)"
command -v python3 > /dev/null 2>&1 || skip "no python3"
rt="$top_srcdir/tests/roundtrip_fields.py"
rv="$top_srcdir/tests/roundtrip_values.py"

# all_fields NAME BACK SENT [ALLOWED-MISS-REGEX]: every field of SENT is in BACK.
all_fields() {
    python3 "$rt" "$fields" "$2" "$3" --detail > "$scratch/$1.fields" ||
        fail "$1: the field comparison failed"
    tally=$(tail -1 "$scratch/$1.fields")
    misses=$(grep '^  ' "$scratch/$1.fields" | grep -v -E "${4:-^$}") || true
    [ -z "$misses" ] || fail "$1: fields lost in the round trip ($tally):
$misses"
    echo "$1: $tally"
}

n=0
for f in "$pwtp"/PWTP*.xml; do
    name=$(basename "$f" .xml)
    "$conv" ehr2fhir --stu3 "$f" -o "$scratch/$name.a.json" 2> "$scratch/$name.e1" ||
        fail "$name: ehr2fhir exit $?: $(tail -1 "$scratch/$name.e1")"
    "$conv" fhir2ehr "$scratch/$name.a.json" --sender A99001 --receiver B99002 \
        --validate "$xsd" -o "$scratch/$name.x.xml" 2> "$scratch/$name.e2" ||
        fail "$name: fhir2ehr exit $?: $(tail -1 "$scratch/$name.e2")"
    "$conv" ehr2fhir --stu3 "$scratch/$name.x.xml" -o "$scratch/$name.b.json" \
        2> "$scratch/$name.e3" || fail "$name: ehr2fhir of our extract exit $?"
    all_fields "$name" "$scratch/$name.b.json" "$scratch/$name.a.json"
    python3 "$rv" "$f" "$scratch/$name.x.xml" > "$scratch/$name.values" ||
        fail "$name: UK07 -> FHIR -> UK07 lost values: $(cat "$scratch/$name.values")"
    n=$((n + 1))
done
[ $n -ge 9 ] || fail "only $n PWTP extracts"

m=0
for name in gpc-access-structured 1-consultation-resource observation-of-narrative-type-with-nopat; do
    [ -f "$bundles/$name.json" ] || fail "no $name.json in $bundles"
    # The adaptor's NHS number 1234567890 fails the modulus 11 check.
    sed 's/"1234567890"/"9990010005"/' "$bundles/$name.json" > "$scratch/$name.json"
    "$conv" fhir2ehr "$scratch/$name.json" --sender A99001 --receiver B99002 \
        --validate "$xsd" -o "$scratch/$name.x.xml" 2> "$scratch/$name.e1" ||
        fail "$name: fhir2ehr exit $?: $(tail -1 "$scratch/$name.e1")"
    "$conv" ehr2fhir --stu3 "$scratch/$name.x.xml" -o "$scratch/$name.b.json" \
        2> "$scratch/$name.e2" || fail "$name: ehr2fhir of our extract exit $?"
    all_fields "$name" "$scratch/$name.b.json" "$scratch/$name.json" \
        '^  (Observation/34638ABC-DCBB-4DF1-A1CB-AE4E49B7B36A (interpretation|referenceRange)|Encounter/DBF5776F-8A86-477C-AB98-57182A9B40FD [a-zA-Z]+):'
    m=$((m + 1))
done
grep -q 'loss: 1 Encounter (nothing recorded in it' "$scratch/1-consultation-resource.e1" ||
    fail "the empty Encounter is not in the loss report: $(cat "$scratch/1-consultation-resource.e1")"
echo "round trips field by field: $n PWTP extracts, $m bundles"
