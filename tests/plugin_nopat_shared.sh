#!/bin/sh
# SPDX-License-Identifier: MIT
# NOPAT hides only what it must (DESIGN.md section 4 rule 2, issue 13): an
# ordinary entry that shared a consultation with a CSE marker is still in the
# patient-facing view after cse-host export at practice A and import at
# practice B, while the marker is not. The requesting adaptor applies a
# composition's label to everything in it, so the marker must travel in a
# composition of its own. Two shapes: the asthma entry and the marker in one
# Encounter, and both outside any Encounter (non-consultation data).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/tests/cse-host-test"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq > /dev/null 2>&1 || skip "no jq (apt-get install jq)"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd"

P() { p=$1; ods=$2; shift 2
      "$host" --records "$scratch/$p/rec" --journal "$scratch/$p/j" --key "$scratch/$p/key" \
          --user "G-$p" --role gp --ods "$ods" --today 2025-03-14 "$@"; }

# run CASE: A flags the child (the record already in $scratch/CASE-a/rec),
# exports, B imports; the asthma entry must be visible at B, the marker not.
run() {
    c=$1
    for p in "$c-a" "$c-b"; do mkdir -p "$scratch/$p/j" "$scratch/$p/rec" || exit 99; done
    printf '%064d\n' 1 > "$scratch/$c-a/key"; printf '%064d\n' 2 > "$scratch/$c-b/key"
    chmod 600 "$scratch/$c-a/key" "$scratch/$c-b/key"
    P "$c-a" A11111 export sam -o "$scratch/$c.xml" --to B22222 || fail "$c: export"
    if [ -f "$xsd" ] && command -v "${XMLLINT:-xmllint}" > /dev/null; then
        "${XMLLINT:-xmllint}" --noout --nonet --schema "$xsd" "$scratch/$c.xml" \
            2> "$scratch/e" || fail "$c: the export fails the UK07 schema: $(tail -3 "$scratch/e")"
    fi
    P "$c-b" B22222 import "$scratch/$c.xml" > "$scratch/$c-import.txt" ||
        fail "$c: import at B exited $?"
    grep -q '"arrived_with_nopat": true' "$scratch/$c-import.txt" ||
        fail "$c: the marker lost its label: $(cat "$scratch/$c-import.txt")"
    P "$c-b" B22222 online-view 9990000018 > "$scratch/$c-view.json" ||
        fail "$c: online-view at B"
    grep -q '"195967001"' "$scratch/$c-view.json" ||
        fail "$c: the asthma entry that shared the marker's consultation vanished from the patient's view at B"
    for bad in 716565009 225368008 NOPAT; do
        grep -q -- "$bad" "$scratch/$c-view.json" && fail "$c: the online view at B shows $bad"
    done
}

# 1. Outside any consultation: the marker and the asthma entry both go to
#    non-consultation data.
mkdir -p "$scratch/plain-a/rec" || exit 99
cp "$fx/child.json" "$scratch/plain-a/rec/sam.json"
for p in plain-a; do mkdir -p "$scratch/$p/j"; printf '%064d\n' 1 > "$scratch/$p/key"; chmod 600 "$scratch/$p/key"; done
P plain-a A11111 flag sam 716565009 --start 2024-11-20 > /dev/null || fail "flag"
run plain

# 2. One consultation: an Encounter holding the asthma entry and the marker
#    (its Flag and Observation).
mkdir -p "$scratch/enc-a/rec" "$scratch/enc-a/j" || exit 99
cp "$scratch/plain-a/rec/sam.json" "$scratch/enc-a/rec/sam.json.in"
jq '.entry += [{"fullUrl": "https://practice-a.example/fhir/Encounter/enc-1",
                "resource": {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
                             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                             "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "185317003",
                                                   "display": "Telephone encounter"}]}],
                             "subject": {"reference": "Patient/child-1"},
                             "period": {"start": "2024-11-20"}}}]
    | .entry |= map(if .resource.resourceType == "Flag" or
                       (.resource.resourceType == "Observation" and
                        (.resource.id == "obs-asthma" or
                         ((.resource.code.coding // []) | map(.code) | index("716565009"))))
                    then .resource.encounter = {"reference": "Encounter/enc-1"} else . end)' \
    "$scratch/enc-a/rec/sam.json.in" > "$scratch/enc-a/rec/sam.json" || fail "jq"
rm -f "$scratch/enc-a/rec/sam.json.in"
cp "$scratch/plain-a/j"/* "$scratch/enc-a/j/" 2> /dev/null
[ "$(jq '[.entry[].resource | select(.encounter.reference == "Encounter/enc-1")] | length' \
      "$scratch/enc-a/rec/sam.json")" -eq 3 ] || fail "the test record does not share the encounter"
run enc
# In the export, the encounter's ordinary entries sit in an unlabelled
# composition and the marker in one of its own with the encounter's code.
[ "$(grep -c 'code="185317003"' "$scratch/enc.xml")" -eq 2 ] ||
    fail "expected the encounter and the marker's own composition"
echo "plugin nopat shared: ok"
