#!/bin/sh
# SPDX-License-Identifier: MIT
# The patient-facing view against every form a marker or a related
# safeguarding concept takes outside a marker (test-fixtures/plugin/forms.json):
# Encounter.reasonCode, Observation.valueCodeableConcept, Condition.evidence,
# a tag on the Patient (which stays, without the tag),
# RiskAssessment, a QuestionnaireResponse answer, meta.tag, a nested Bundle,
# both SNOMED system spellings, and a Flag coded under the OID system.
# The view shows none of them, keeps the patient's own data around them,
# leaves no reference to what went and no emptied List, section or
# Provenance; open alerts on each form and save suggests a review for each.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is needed"
mkdir "$scratch/rec" "$scratch/j" || exit 99
printf '%064d\n' 8 > "$scratch/key" && chmod 600 "$scratch/key"
cp "$fx/forms.json" "$scratch/rec/f.json"
As() { role=$1; shift
       "$host" --records "$scratch/rec" --journal "$scratch/j" --key "$scratch/key" \
           --user U1 --role "$role" --ods A11111 "$@"; }

for role in patient proxy; do
    As $role online-view f > "$scratch/v" || fail "$role view"
    for bad in 716565009 713834002 700226009 160877008 342191000000101 2.16.840.1.113883.6.96 \
               exploitation 'Child at risk' grooming Safeguarding '"Alerts"' \
               flag-oid obs-val ra-1 proc-1 obs-n prov-1 '"alerts"'; do
        grep -q -- "$bad" "$scratch/v" && fail "the $role view shows $bad"
    done
    # The patient's own data stays.
    ids=$(jq -r '[.entry[].resource.id] | join(" ")' "$scratch/v")
    [ "$ids" = "child-1 enc-1 cond-1 qr-1 comp-1 prov-2 doc-1" ] || fail "kept: $ids"
    jq -e '.entry[0].resource | .meta.profile | length == 1' "$scratch/v" > /dev/null ||
        fail "the Patient lost its meta with its tag"
    jq -e '.entry[].resource | select(.id == "enc-1") | .reasonCode | length == 1' "$scratch/v" \
        > /dev/null || fail "the Encounter lost its own reason"
    jq -e '.entry[].resource | select(.id == "enc-1") | has("text") | not' "$scratch/v" \
        > /dev/null || fail "the Encounter's narrative (which names the concern) stayed"
    jq -e '.entry[].resource | select(.id == "qr-1") | .item | length == 1 and .[0].linkId == "1"' \
        "$scratch/v" > /dev/null || fail "the questionnaire lost the patient's own answer"
    jq -e '.entry[].resource | select(.id == "comp-1") | [.section[].title] == ["Problems"]' \
        "$scratch/v" > /dev/null || fail "Composition sections: $(jq -c '.entry[].resource | select(.id == "comp-1") | .section' "$scratch/v")"
    jq -e '.entry[].resource | select(.id == "doc-1") | [.entry[].resource.id] == ["obs-asthma-n"]' \
        "$scratch/v" > /dev/null || fail "the nested Bundle"
    # Valid shapes: no empty array anywhere, every reference resolves.
    jq -e '[.. | arrays | select(length == 0)] | length == 0' "$scratch/v" > /dev/null ||
        fail "the view has an empty array"
    for ref in $(jq -r '.. | objects | .reference? // empty' "$scratch/v"); do
        jq -e --arg r "$ref" '[.entry[].resource | "\(.resourceType)/\(.id)"] | index($r)' \
            "$scratch/v" > /dev/null || fail "the view refers to $ref, which is not there"
    done
done

# open: the OID-coded Flag is a marker; every other form is in elsewhere.
As clinician open f > "$scratch/o" || fail "open"
jq -e '.alerts[] | select(.marker_id == "flag-oid" and .code == "716565009")' "$scratch/o" \
    > /dev/null || fail "no alert for the Flag coded under the OID system: $(cat "$scratch/o")"
for form in 'Encounter/enc-1 reasonCode[1].coding[0] element' \
            'Observation/obs-val valueCodeableConcept.coding[0] resource' \
            'Condition/cond-1 evidence[0].code[0].coding[0] element' \
            'RiskAssessment/ra-1 prediction[0].outcome.coding[0] resource' \
            'QuestionnaireResponse/qr-1 item[1].answer[0].valueCoding element' \
            'Procedure/proc-1 meta.tag[0] resource' \
            'Bundle/doc-1 > Observation/obs-n code.coding[0] resource'; do
    set -- $form
    hidden=$(eval echo "\${$#}")
    res=$(echo "$form" | sed 's/ [^ ]* [^ ]*$//')
    el=$(echo "$form" | awk '{print $(NF-1)}')
    jq -e --arg r "$res" --arg e "$el" --arg h "$hidden" \
        '.elsewhere[] | select(.resource == $r and .element == $e and .hidden == $h)' \
        "$scratch/o" > /dev/null || fail "open does not alert on $form: $(jq -c .elsewhere "$scratch/o")"
done

# save: a review suggestion for each marker concept outside a marker.
As clinician save f > "$scratch/s" || fail "save"
for el in 'Encounter/enc-1 reasonCode[1].coding[0]' 'Observation/obs-val valueCodeableConcept.coding[0]' \
          'RiskAssessment/ra-1 prediction[0].outcome.coding[0]' 'Procedure/proc-1 meta.tag[0]' \
          'Bundle/doc-1 > Observation/obs-n code.coding[0]'; do
    res=${el% *}; e=${el##* }
    jq -e --arg r "$res" --arg e "$e" \
        '.suggestions[] | select(.resource == $r and .element == $e and .kind == "marker-code-without-marker")' \
        "$scratch/s" > /dev/null || fail "save does not suggest a review of $el: $(cat "$scratch/s")"
done
# Without the Flag, the related concepts are suggested as well.
jq '.entry |= map(select(.resource.id != "flag-oid"))' "$fx/forms.json" > "$scratch/rec/g.json"
As clinician save g > "$scratch/s" || fail "save g"
for el in 'Condition/cond-1 evidence[0].code[0].coding[0]' \
          'QuestionnaireResponse/qr-1 item[1].answer[0].valueCoding'; do
    res=${el% *}; e=${el##* }
    jq -e --arg r "$res" --arg e "$e" \
        '.suggestions[] | select(.resource == $r and .element == $e and .kind == "related-code")' \
        "$scratch/s" > /dev/null || fail "save does not suggest a review of $el: $(cat "$scratch/s")"
done
echo "plugin view forms: ok"
