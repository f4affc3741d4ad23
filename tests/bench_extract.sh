#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark's synthetic extract is a real GP2GP message: it validates
# against the national UK07 and UK06 schemas, carries medication (every
# prescribe and discontinue points at an authorise in the extract),
# pathology (report, specimen, battery, results) and allergy compounds, and
# its marker sits in a composition of its own, labelled NOPAT.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
xsd="${CSE_SHARED_DIR:-}/conformance/nia/xsd/Schemas"
xmllint="${XMLLINT:-xmllint}"
command -v "$xmllint" > /dev/null 2>&1 || skip "xmllint is not installed"
gen="$top_builddir/bench/gen-extract"
[ -x "$gen" ] || fail "missing $gen"
"$gen" 1 20261128 > "$scratch/uk07.xml" || fail "gen-extract failed"
"$gen" 1 20261128 --uk06 > "$scratch/uk06.xml" || fail "gen-extract --uk06 failed"
if [ -n "${CSE_SHARED_DIR:-}" ] && [ -d "$xsd" ]; then
    for v in 07 06; do
        "$xmllint" --noout --schema "$xsd/RCMR_IN030000UK$v.xsd" "$scratch/uk$v.xml" \
            > "$scratch/log" 2>&1 ||
            fail "the UK$v extract does not validate: $(head -5 "$scratch/log")"
    done
else
    echo "bench_extract: CSE_SHARED_DIR has no conformance/nia/xsd: schema check skipped"
fi
count() {
    "$xmllint" --xpath "count($1)" "$scratch/uk07.xml" 2>/dev/null || echo -1
}
e() { echo "//*[local-name()='$1']"; }
for el in ehrSupplyAuthorise ehrSupplyPrescribe ehrSupplyDiscontinue LinkSet \
          PlanStatement RequestStatement specimen; do
    [ "$(count "$(e "$el")")" -gt 0 ] || fail "no $el in the extract"
done
comps=$(count "$(e ehrComposition)")
meds=$(count "$(e MedicationStatement)")
obs=$(count "$(e ObservationStatement)")
[ "$comps" -gt 200 ] || fail "only $comps compositions in 1 MB"
# PWTP: 0.73 medication statements and 0.96 observations per composition.
awk -v m="$meds" -v o="$obs" -v c="$comps" 'BEGIN {
    exit !(m / c > 0.6 && m / c < 0.85 && o / c > 0.8 && o / c < 1.2) }' ||
    fail "proportions off: $meds medication, $obs observations, $comps compositions"
# Allergies as the adaptors write them: a 14L..00 or SN53.00 CATEGORY.
[ "$(count "$(e CompoundStatement)[@classCode='CATEGORY'][*[local-name()='code'][@code='14L..00' or @code='SN53.00']]/*/*[local-name()='ObservationStatement']")" -gt 0 ] ||
    fail "no allergy CATEGORY compound with its ObservationStatement"
# Pathology: report CLUSTER > specimen CLUSTER > BATTERY > results.
[ "$(count "$(e CompoundStatement)[*[local-name()='code'][@code='16488004']]//$(e CompoundStatement | cut -c3-)[*[local-name()='code'][@code='123038009']]/*/*[@classCode='BATTERY']/*/*[local-name()='ObservationStatement'][*[local-name()='referenceRange']]")" -gt 0 ] ||
    fail "no pathology report > specimen > battery > result hierarchy"
# Every prescribe and discontinue refers to an authorise of the extract.
auth="$(e ehrSupplyAuthorise)/*[local-name()='id']/@root"
dangling=$(count "$(e priorMedicationRef)/*[local-name()='id'][not(@root = $auth)]")
[ "$dangling" -eq 0 ] || fail "$dangling medication references point at no authorise"
# The marker's composition holds the marker alone and carries NOPAT.
marker="$(e ehrComposition)[.//*[local-name()='code'][@code='716565009']]"
[ "$(count "$marker")" -ge 1 ] || fail "no marker"
[ "$(count "$marker[count(*[local-name()='component']) != 1 or not(*[local-name()='confidentialityCode'][@code='NOPAT'])]")" -eq 0 ] ||
    fail "a marker shares its composition or lacks NOPAT on it"
[ "$(count "$(e ehrComposition)[*[local-name()='confidentialityCode']][not(.//*[local-name()='code'][@code='716565009'])]")" -eq 0 ] ||
    fail "a composition without a marker is labelled NOPAT"
# The FHIR side (gen-bundle): the whole record, and fhir2ehr takes it.
bundle="$top_builddir/bench/gen-bundle"
conv="$top_builddir/cse-convert"
if [ -x "$bundle" ] && [ -x "$conv" ]; then
    "$bundle" --resources 3000 20261128 > "$scratch/b.json" || fail "gen-bundle failed"
    n=$(grep -c '"resourceType":' "$scratch/b.json")
    [ "$n" -ge 3000 ] && [ "$n" -lt 3100 ] || fail "gen-bundle --resources 3000 wrote $n"
    for want in '"intent":"plan"' '"intent":"order"' '"resourceType":"Medication"' \
                '"resourceType":"MedicationStatement"' '"resourceType":"DiagnosticReport"' \
                '"resourceType":"Specimen"' '"hasMember":' '"referenceRange":' \
                '"basedOn":[{"reference":"MedicationRequest/' '"code":"NOPAT"'; do
        grep -qF "$want" "$scratch/b.json" || fail "gen-bundle wrote no $want"
    done
    "$conv" fhir2ehr --receiver Y01002 "$scratch/b.json" -o "$scratch/b.xml" \
        2> "$scratch/err" || fail "fhir2ehr refused the bundle: $(head -3 "$scratch/err")"
    if [ -n "${CSE_SHARED_DIR:-}" ] && [ -d "$xsd" ]; then
        "$xmllint" --noout --schema "$xsd/RCMR_IN030000UK07.xsd" "$scratch/b.xml" \
            > "$scratch/log" 2>&1 || fail "fhir2ehr of the bundle does not validate"
    fi
fi
echo "bench_extract: $comps compositions, $meds medication, $obs observations"
