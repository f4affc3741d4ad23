#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert fhir2ehr on Observations with components: a blood pressure is a
# BATTERY CompoundStatement holding its systolic and diastolic readings and a
# NarrativeStatement with the rest (as the sending adaptor's
# BloodPressureMapper writes it), nested inside its consultation or its own
# composition; the label of a confidential one is on the battery and on each
# reading; the components of any other Observation are kept as text in its
# annotation (the adaptor's "Component(s): [..]").
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir-observation"
xmllint=${XMLLINT:-xmllint}
command -v "$xmllint" > /dev/null 2>&1 || skip "no xmllint"

out="$scratch/bp.xml"
"$conv" fhir2ehr "$fix/blood-pressure.json" --sender A99001 --receiver B99002 -o "$out" \
    2> "$scratch/err" || fail "exit $?: $(cat "$scratch/err")"
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" ]; then
    "$xmllint" --noout --nonet --schema \
        "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd" "$out" \
        2> "$scratch/xsd" || fail "not valid UK07: $(head -3 "$scratch/xsd")"
fi

# count XPATH: the number of nodes (local names, so no namespace setup).
count() {
    "$xmllint" --xpath "count($1)" "$out" 2> /dev/null
}
L() { printf '*[local-name()="%s"]' "$1"; }
bat="//$(L CompoundStatement)[@classCode=\"BATTERY\"]"

[ "$(count "$bat")" = 2 ] || fail "expected 2 BATTERY compounds, got $(count "$bat")"
# The consultation's battery: inside the consultation's composition, with
# its two readings (values and the diastolic range) and its note.
first="//$(L ehrComposition)[$(L code)/$(L translation)/@code=\"185317003\"]/$(L component)/$(L CompoundStatement)[@classCode=\"BATTERY\"]"
[ "$(count "$first")" = 1 ] || fail "the blood pressure is not a battery inside its consultation"
[ "$(count "$first/$(L code)[@code=\"75367002\"]")" = 1 ] || fail "battery code"
reading="$first/$(L component)[@contextConductionInd=\"true\"]/$(L ObservationStatement)"
[ "$(count "$reading")" = 2 ] || fail "the battery holds $(count "$reading") readings, not 2"
[ "$(count "$reading[$(L code)/@code=\"271649006\"]/$(L value)[@value=\"142\"][@unit=\"mm[Hg]\"]")" = 1 ] ||
    fail "no systolic reading of 142 mm[Hg]"
[ "$(count "$reading[$(L code)/@code=\"271650006\"]/$(L value)[@value=\"91\"]")" = 1 ] ||
    fail "no diastolic reading of 91"
[ "$(count "$reading[$(L code)/@code=\"271650006\"]/$(L referenceRange)//$(L high)[@value=\"90\"]")" = 1 ] ||
    fail "the diastolic reference range was lost"
[ "$(count "$reading[$(L code)/@code=\"271650006\"]/$(L referenceRange)")" = 2 ] ||
    fail "a reading's second reference range was lost"
note="$first/$(L component)/$(L NarrativeStatement)/$(L text)"
[ "$("$xmllint" --xpath "string($note)" "$out")" = \
    "Repeat in a week Measurement Site: Left arm Interpretation(s): Raised" ] ||
    fail "battery note: $("$xmllint" --xpath "string($note)" "$out")"
# The participant follows the components (schema order).
[ "$(count "$first/$(L Participant)[@typeCode=\"PRF\"]")" = 1 ] || fail "battery performer"
# No reading escapes its battery.
[ "$(count "//$(L ehrComposition)/$(L component)/$(L ObservationStatement)[$(L code)/@code=\"271649006\" or $(L code)/@code=\"72313002\"]")" = 0 ] ||
    fail "a reading was written outside its battery"

# The confidential one: NOPAT on the battery and on its reading; its own
# composition holds only it, and is not labelled (only markers label one).
second="//$(L CompoundStatement)[@classCode=\"BATTERY\"][$(L code)/@code=\"163020007\"]"
[ "$(count "$second/$(L confidentialityCode)[@code=\"NOPAT\"]")" = 1 ] || fail "the battery lost its NOPAT"
[ "$(count "$second/$(L component)/$(L ObservationStatement)/$(L confidentialityCode)[@code=\"NOPAT\"]")" = 1 ] ||
    fail "the reading of a NOPAT battery is not labelled"
[ "$(count "//$(L ehrComposition)[.//$(L code)/@code=\"163020007\"]/$(L confidentialityCode)")" = 0 ] ||
    fail "the composition of a confidential entry was labelled"

# Another Observation's components are its annotation's first words.
ann="//$(L ObservationStatement)[$(L code)/@code=\"364075005\"]/$(L pertinentInformation)/$(L pertinentAnnotation)/$(L text)"
[ "$("$xmllint" --xpath "string($ann)" "$out")" = \
    "Component(s): [Code: Heart rate Quantity Value: 72 /min] [Code: Rhythm String Value: Regular] At rest" ] ||
    fail "components text: $("$xmllint" --xpath "string($ann)" "$out")"
# A reading's code is the concept (not the picked description id), with the
# EMIS (Egton) code as a translation.
[ "$(count "$reading[$(L code)/@code=\"271649006\"]/$(L code)/$(L translation)[@code=\"2469\"][@codeSystem=\"2.16.840.1.113883.2.1.6.3\"]")" = 1 ] ||
    fail "the systolic reading's EMIS code was lost"

# What the structure cannot say goes in the annotation: a range in other
# units than the value's, an interpretation by the coding the clinician
# picked, then the comment and the body site by its picked description.
ann="//$(L ObservationStatement)[$(L code)/@code=\"276885007\"]/$(L pertinentInformation)/$(L pertinentAnnotation)/$(L text)"
[ "$("$xmllint" --xpath "normalize-space($ann)" "$out")" = \
    "Range Units: F Interpretation: Picked Taken orally BodySite: Rib cage" ] ||
    fail "observation annotation: $("$xmllint" --xpath "normalize-space($ann)" "$out")"
# A coded value in a code system GP2GP has no OID for keeps its code as text.
ann="//$(L ObservationStatement)[$(L code)/@code=\"363788007\"]/$(L pertinentInformation)/$(L pertinentAnnotation)/$(L text)"
[ "$("$xmllint" --xpath "normalize-space($ann)" "$out")" = "Code Value: X42 Local finding Seen by nurse" ] ||
    fail "coded value text: $("$xmllint" --xpath "normalize-space($ann)" "$out")"
# A panel with a value of its own is no battery: one statement, its value
# and its reading as text.
panel="//$(L ObservationStatement)[$(L code)/@code=\"386534000\"]"
[ "$(count "$panel/$(L value)")" = 1 ] || fail "the panel with a value lost it"
[ "$("$xmllint" --xpath "normalize-space($panel/$(L pertinentInformation)/$(L pertinentAnnotation)/$(L text))" "$out")" = \
    "Component(s): [Code: Systolic arterial pressure Quantity Value: 118 mm[Hg]]" ] ||
    fail "the panel's reading is not in its annotation"
echo "fhir2ehr_observation: ok"
