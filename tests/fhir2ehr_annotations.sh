#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert fhir2ehr writes the annotations and supply codes of allergies,
# immunisations and medication as the national sending adaptor does
# (test-fixtures/fhir/stu3-annotations.json, a synthetic GP Connect record):
# a problem linked to the allergy or immunisation it is, a resolved allergy
# by its text alone, an active one with its chosen
# description as its text,
# a Condition's notes on the allergy or immunisation it is the actualProblem
# of, the RelatedPerson who asserted an allergy by name, GP Connect's
# "No information available" left out, the immunisation's origin, the site
# the clinician selected, a dose with a unit and no value, the reasons
# given before those not given, the vaccine, the prescribing agency from the
# MedicationStatement based on a plan, a supply duration by its UCUM code,
# and a discontinuation with no reason given.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir/stu3-annotations.json"
out="$scratch/out.xml"
"$conv" fhir2ehr "$fix" --sender A99001 --receiver B99002 -o "$out" 2> "$scratch/err" ||
    fail "exit $?: $(cat "$scratch/err")"
# The extract on one line, without the indentation between elements.
tr '\n' ' ' < "$out" | sed 's/> *</></g' > "$scratch/flat"
# has TEXT WHAT: the extract holds TEXT (a fixed string).
has() {
    grep -qF -- "$1" "$scratch/flat" || fail "$2: no '$1' in the extract"
}
has '<text>Status: Resolved Asserted By: Related Person Ms Ann Example Problem note on the allergy Own allergy note</text>' \
    "the allergy annotation"
# A resolved allergy goes by its text alone; an active one by the SNOMED
# description the clinician chose, named as they saw it.
has '<code nullFlavor="UNK"><originalText>Allergy to amoxicillin</originalText></code>' \
    "the resolved allergy"
has 'code="442108015"' "the active allergy's description id"
has '<originalText>Chocolate allergy</originalText>' "the active allergy's text"
grep -q 'No information available' "$out" && fail "GP Connect's 'No information available' was written"
has '<text>Origin: Primary care physician Primary Source: true Site: Right upper arm Quantity: ml Reason: Seasonal Substance: Synthetic vaccine Problem note on the immunisation Own immunisation note</text>' \
    "the immunisation annotation"
grep -q 'Not shown' "$out" && fail "the reasons not given were written beside the reasons given"
# A problem whose actualProblem is an allergy or an immunisation links it.
has '<statementRef classCode="OBS" moodCode="EVN"><id root="A00DCAFE-0000-4000-8000-000000000010"/>' \
    "the problem's link to its allergy"
has '<statementRef classCode="OBS" moodCode="EVN"><id root="A00DCAFE-0000-4000-8000-000000000020"/>' \
    "the problem's link to its immunisation"
has 'code="394828003"' "the supply by another organisation"
has '<text>Expected Supply Duration: 8 days</text>' "the supply duration"
has 'nullFlavor="UNK"><text>Stopped</text>' "the discontinuation with no reason"
echo "fhir2ehr_annotations: ok"
