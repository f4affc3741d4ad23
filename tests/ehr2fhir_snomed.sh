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
[ -f "$scratch/idx" ] || fail "no cache written at --snomed-cache"
# --snomed-cache alone is a usage error.
"$conv" ehr2fhir --snomed-cache "$scratch/idx" "$scratch/vax.xml" -o "$scratch/x.json" \
    2> /dev/null && fail "--snomed-cache without --snomed accepted"
echo "ehr2fhir_snomed: immunisations recognised with the release, not without"
