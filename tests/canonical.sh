#!/bin/sh
# SPDX-License-Identifier: MIT
# The canonical base URL is defined once for the profiles (sushi-config.yaml)
# and once for the C code (include/csemarker/fhir.h); they must agree, and the
# compiled profiles must use it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
fsh=$(sed -n 's/^canonical: *//p' "$top_srcdir/fhir-profiles/sushi-config.yaml")
c=$(sed -n 's/^#define CSE_FHIR_BASE "\(.*\)"$/\1/p' "$top_srcdir/include/csemarker/fhir.h")
[ -n "$fsh" ] || fail "no canonical: in fhir-profiles/sushi-config.yaml"
[ -n "$c" ] || fail "no CSE_FHIR_BASE in include/csemarker/fhir.h"
[ "$fsh" = "$c" ] || fail "canonical differs: sushi-config.yaml '$fsh', fhir.h '$c'"
for u in StructureDefinition/cse-risk-marker-flag StructureDefinition/cse-risk-marker-observation \
         StructureDefinition/cse-review-date StructureDefinition/cse-end-reason \
         CodeSystem/safeguarding-marker-category CodeSystem/cse-marker-end-reason \
         ValueSet/cse-marker-codes ValueSet/related-safeguarding-codes Measure/cse-marker-measures; do
    grep -rqF "\"url\": \"$c/$u\"" "$top_srcdir/fhir-profiles/json" ||
        fail "no compiled resource has url $c/$u (fhir.h names it)"
done
echo "canonical: $c"
