#!/bin/sh
# SPDX-License-Identifier: MIT
# A refuted or entered-in-error Condition with a related safeguarding code
# does not make a child "possibly unflagged"; a confirmed one does.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
report_keys "$scratch/k" 10 Y09999
patient='{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9991000003"}],"active":true,"birthDate":"2012-05-01","generalPractitioner":[{"identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"Y09999"}}]}'
unflagged() { # VERIFICATION-STATUS -> the unprotected numerator of cse_possibly_unflagged
    d="$scratch/$1"
    mkdir -p "$d"
    printf '%s\n' "$patient" > "$d/Patient.ndjson"
    printf '{"resourceType":"Condition","id":"c1","verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"%s"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"160877008"}]},"subject":{"reference":"Patient/p1"},"onsetDateTime":"2025-01-10"}\n' "$1" > "$d/Condition.ndjson"
    "$rep" extract --quiet --practice Y09999 --period 2025-01-01..2025-03-31 --signing-key "$kd/Y09999.pem" -o "$d/p.json" \
        "$d/Patient.ndjson" "$d/Condition.ndjson" || fail "extract failed for $1"
    "$rep" merge $trust --format csv --no-disclosure-control -o "$d/r.csv" "$d/p.json" 2>/dev/null ||
        fail "merge failed for $1"
    awk -F, '$1 == "cse_possibly_unflagged" && $4 == "Y09999" {print $5}' "$d/r.csv"
}
[ "$(unflagged confirmed)" = 1 ] || fail "a confirmed related Condition should count: got '$(unflagged confirmed)'"
[ "$(unflagged refuted)" = 0 ] || fail "a refuted Condition must not count: got '$(unflagged refuted)'"
[ "$(unflagged entered-in-error)" = 0 ] || fail "an entered-in-error Condition must not count"
echo "report_refuted: ok"
