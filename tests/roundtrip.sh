#!/bin/sh
# SPDX-License-Identifier: MIT
# Round trips of CSE markers (Rec 47):
#   FHIR R4 -> fhir2ehr -> UK07 -> ehr2fhir --r4 -> FHIR R4 gives back every
#   marker with the same code, status, start, end, review date, end reason,
#   category, author, NOPAT and identifier (compared with jq);
#   UK07 -> FHIR R4 -> UK07 keeps every marker statement identical in meaning
#   (compared field by field with xmllint --xpath).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/roundtrip"
command -v jq > /dev/null 2>&1 || skip "no jq"
xmllint=${XMLLINT:-xmllint}
command -v "$xmllint" > /dev/null 2>&1 || skip "no xmllint"
"$conv" --help | grep -q '^  ehr2fhir ' || skip "cse-convert has no ehr2fhir yet"
xsd=
[ -n "$CSE_SHARED_DIR" ] && [ -d "$CSE_SHARED_DIR/conformance/nia/xsd/Schemas" ] &&
    xsd="--validate $CSE_SHARED_DIR/conformance/nia/xsd"

# One line of JSON per marker Flag, sorted by marker identifier. The author is
# compared by the practitioner's name: ids change between formats.
markers() {
    jq -c '
      . as $b
      | def find($ref): ($ref | split("/")) as $p
          | first($b.entry[].resource
                  | select(.resourceType == $p[-2] and .id == $p[-1])) // null;
        def author($ref): find($ref) as $r
          | if $r == null then null
            elif $r.resourceType == "PractitionerRole" then find($r.practitioner.reference)
            else $r end
          | if . == null then null
            else (.name[0] | .text // ([(.given // [])[], .family] | join(" "))) end;
      [ .entry[].resource | select(.resourceType == "Flag")
        | {
            id: ([.identifier[]? | select(.system == "https://csemarker.org/fhir/Id/marker")
                  | .value | ascii_upcase][0]),
            code: ([.code.coding[] | select(.system == "http://snomed.info/sct") | .code][0]),
            status,
            start: .period.start,
            end: .period.end,
            review: ([.extension[]? | select(.url == "https://csemarker.org/fhir/StructureDefinition/cse-review-date") | .valueDate][0]),
            reason: ([.extension[]? | select(.url == "https://csemarker.org/fhir/StructureDefinition/cse-end-reason") | .valueCoding.code][0]),
            category: ([.category[]?.coding[]? | select(.system == "https://csemarker.org/fhir/CodeSystem/safeguarding-marker-category") | .code] | sort),
            nopat: ([.meta.security[]? | select(.code == "NOPAT")] | length > 0),
            author: author(.author.reference)
          } ]
      | sort_by(.id) | .[]' "$1"
}

# One line per marker statement of a GP2GP extract, in a fixed order of fields.
statements() {
    q() { "$xmllint" --xpath "$1" "$2" 2> /dev/null | tr "\n" " " | sed "s/ *$//"; }
    ids=$(q '//*[local-name()="ObservationStatement"][*[local-name()="pertinentInformation"]/*[local-name()="pertinentAnnotation"]/*[local-name()="text"][starts-with(., "CSE marker v1")]]/*[local-name()="id"]/@root' "$1" |
        tr " " "\n" | sed -n 's/^root="\(.*\)"$/\1/p' | sort)
    for id in $ids; do
        s="//*[local-name()=\"ObservationStatement\"][*[local-name()=\"id\"]/@root=\"$id\"]"
        printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$id" \
            "$(q "string($s/*[local-name()=\"code\"]/@code)" "$1")" \
            "$(q "string($s/*[local-name()=\"code\"]/@codeSystem)" "$1")" \
            "$(q "$s/*[local-name()=\"code\"]/*[local-name()=\"translation\"]/@code" "$1")" \
            "$(q "$s/*[local-name()=\"effectiveTime\"]/*/@value" "$1")" \
            "$(q "string($s/*[local-name()=\"confidentialityCode\"]/@code)" "$1")" \
            "$(q "local-name($s/*[local-name()=\"confidentialityCode\"]/preceding-sibling::*[1])" "$1")" \
            "$(q "string($s/*[local-name()=\"pertinentInformation\"]/*[local-name()=\"pertinentAnnotation\"]/*[local-name()=\"text\"])" "$1")" \
            "$(q "string($s/ancestor::*[local-name()=\"ehrComposition\"]/*[local-name()=\"confidentialityCode\"]/@code)" "$1")" \
            "$(q "normalize-space(//*[local-name()=\"Agent\"][*[local-name()=\"id\"]/@root=$s/*[local-name()=\"Participant\"]/*[local-name()=\"agentRef\"]/*[local-name()=\"id\"]/@root]//*[local-name()=\"name\"])" "$1")"
    done
}

n=0
for f in "$fix"/*.json; do
    name=$(basename "$f" .json)
    "$conv" fhir2ehr "$f" --receiver B99002 $xsd -o "$scratch/$name.xml" 2> "$scratch/err" ||
        fail "$name: fhir2ehr exit $?: $(cat "$scratch/err")"
    "$conv" ehr2fhir --r4 "$scratch/$name.xml" -o "$scratch/$name.r4.json" 2> "$scratch/err" ||
        fail "$name: ehr2fhir exit $?: $(cat "$scratch/err")"
    markers "$f" > "$scratch/$name.want"
    markers "$scratch/$name.r4.json" > "$scratch/$name.got"
    [ -s "$scratch/$name.want" ] || fail "$name: the fixture has no markers"
    diff -u "$scratch/$name.want" "$scratch/$name.got" > "$scratch/diff" ||
        fail "$name: FHIR -> UK07 -> FHIR changed a marker: $(cat "$scratch/diff")"
    # One statement per marker: never a Flag and its Observation form twice.
    [ "$(statements "$scratch/$name.xml" | wc -l)" -eq "$(wc -l < "$scratch/$name.want")" ] ||
        fail "$name: $(statements "$scratch/$name.xml" | wc -l) marker statements for $(wc -l < "$scratch/$name.want") markers"

    # UK07 -> FHIR -> UK07.
    "$conv" fhir2ehr "$scratch/$name.r4.json" --receiver B99002 $xsd -o "$scratch/$name.2.xml" 2> "$scratch/err" ||
        fail "$name: second fhir2ehr exit $?: $(cat "$scratch/err")"
    statements "$scratch/$name.xml" > "$scratch/$name.s1"
    statements "$scratch/$name.2.xml" > "$scratch/$name.s2"
    grep -q '|NOPAT|availabilityTime|CSE marker v1 | status: .*|NOPAT|' "$scratch/$name.s1" ||
        fail "$name: marker statement without NOPAT: $(cat "$scratch/$name.s1")"
    diff -u "$scratch/$name.s1" "$scratch/$name.s2" > "$scratch/diff" ||
        fail "$name: UK07 -> FHIR -> UK07 changed a marker statement: $(cat "$scratch/diff")"
    n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "only $n round-trip fixtures"
echo "roundtrip: $n fixtures, every marker kept"
