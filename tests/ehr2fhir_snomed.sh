#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert ehr2fhir --snomed DIR: with the synthetic RF2 release in
# test-fixtures/snomed, an ObservationStatement coded below 127785005
# (administration of vaccine) is an Immunization, as the requesting adaptor
# decides; without a release it stays an Observation (only the adaptor's
# sixteen codes are known then), and a code outside the hierarchy stays an
# Observation either way.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
command -v jq > /dev/null 2>&1 || skip "jq is not installed"
conv="$top_builddir/cse-convert"
in="$top_srcdir/test-fixtures/fhir-write/whole-record/input.xml"
rf2="$top_srcdir/test-fixtures/snomed"
vax=C0000000-0000-4000-8000-000000000008
# The BL observation becomes a vaccination (C_VAX of the synthetic release).
sed 's/code="161743003" codeSystem="2.16.840.1.113883.2.1.3.2.4.15" displayName="Family history"/code="10019999999102" codeSystem="2.16.840.1.113883.2.1.3.2.4.15" displayName="Vaccination"/' \
    "$in" > "$scratch/vax.xml"
grep -q 10019999999102 "$scratch/vax.xml" || fail "variant not made"
type_of() { jq -r --arg id "$vax" '.entry[].resource | select(.id == $id) | .resourceType' "$1"; }
for v in --r4 --stu3; do
    "$conv" ehr2fhir $v "$scratch/vax.xml" -o "$scratch/plain.json" 2> /dev/null ||
        fail "$v without --snomed: exit $?"
    [ "$(type_of "$scratch/plain.json")" = Observation ] ||
        fail "$v without --snomed: $(type_of "$scratch/plain.json")"
    "$conv" ehr2fhir $v --snomed "$rf2" --snomed-cache "$scratch/idx" "$scratch/vax.xml" \
        -o "$scratch/sct.json" 2> "$scratch/err" || fail "$v --snomed: exit $?: $(cat "$scratch/err")"
    [ "$(type_of "$scratch/sct.json")" = Immunization ] ||
        fail "$v --snomed: the vaccination is $(type_of "$scratch/sct.json")"
    [ "$(jq '[.entry[].resource | select(.resourceType == "Immunization")] | length' \
        "$scratch/sct.json")" = 1 ] || fail "$v --snomed: other entries became immunisations"
done
# A code that is a description id (of C_NOT_VAX, the synthetic release's
# 30389999999118): with the release it is written as its concept, the
# description id in the sctdescid extension, as the requesting adaptor
# writes it; without one, the coding holds only the extension and the loss
# report names it.
desc=30389999999118 concept=10049999999101
sed 's/code="161743003" codeSystem="2.16.840.1.113883.2.1.3.2.4.15" displayName="Family history"/code="'$desc'" codeSystem="2.16.840.1.113883.2.1.3.2.4.15" displayName="Family history"/' \
    "$in" > "$scratch/desc.xml"
grep -q $desc "$scratch/desc.xml" || fail "description variant not made"
coding_of() { # file: the coding whose extension names the description id
    jq -c --arg d "$desc" '[.. | objects | select(.extension?) |
        select([.extension[]? | .extension[]? | select(.url == "descriptionId") |
        .valueId] | index($d)) | {system, code}] | unique' "$1"
}
for v in --r4 --stu3; do
    "$conv" ehr2fhir $v "$scratch/desc.xml" -o "$scratch/plain.json" \
        --report "$scratch/plain.report" 2> /dev/null || fail "$v description id: exit $?"
    [ "$(coding_of "$scratch/plain.json")" = '[{"system":null,"code":null}]' ] ||
        fail "$v without --snomed: the description id coding is $(coding_of "$scratch/plain.json")"
    grep -q "description id not resolved: no SNOMED CT release given" "$scratch/plain.report" ||
        fail "$v without --snomed: the loss report does not name the description id"
    "$conv" ehr2fhir $v --snomed "$rf2" --snomed-cache "$scratch/idx" "$scratch/desc.xml" \
        -o "$scratch/sct.json" --report "$scratch/sct.report" 2> /dev/null ||
        fail "$v --snomed description id: exit $?"
    [ "$(coding_of "$scratch/sct.json")" = '[{"system":"http://snomed.info/sct","code":"'$concept'"}]' ] ||
        fail "$v --snomed: the description id coding is $(coding_of "$scratch/sct.json")"
    grep -q "description id" "$scratch/sct.report" &&
        fail "$v --snomed: a resolved description id is in the loss report"
done
[ -f "$scratch/idx" ] || fail "no cache written at --snomed-cache"
# --snomed-cache alone is a usage error.
"$conv" ehr2fhir --snomed-cache "$scratch/idx" "$scratch/vax.xml" -o "$scratch/x.json" \
    2> /dev/null && fail "--snomed-cache without --snomed accepted"
echo "ehr2fhir_snomed: immunisations recognised with the release, not without"
