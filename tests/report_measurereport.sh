#!/bin/sh
# SPDX-License-Identifier: MIT
# The FHIR MeasureReport (one period) and the Bundle of MeasureReports (several
# periods) validate against the Measure and profile in fhir-profiles/.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
command -v node > /dev/null || skip "node not found"
[ -n "$CSE_NODE_MODULES" ] && [ -d "$CSE_NODE_MODULES" ] ||
    skip "FHIR tools absent (npm ci --prefix fhir-profiles; CSE_NODE_MODULES)"
validate="$top_srcdir/fhir-profiles/tools/validate.mjs"
[ -f "$validate" ] || skip "no $validate"
"$rep" synth --seed 5 --practices 4 --patients 1500 -o "$scratch/ics" || fail "synth failed"
report_keys "$scratch/k" 1500 $(cat "$scratch/ics/practices.txt")
for ods in $(cat "$scratch/ics/practices.txt"); do
    for q in 3 4; do
        "$rep" extract --practice "$ods" --period "2025-Q$q" $(xkeys "$ods") \
            -o "$scratch/$ods-$q.json" "$scratch/ics/$ods" || fail "extract failed"
    done
done
link_all "$scratch/linked.json" "$scratch"/Y*.json
"$rep" merge $trust "$scratch"/Y*-4.json --format measurereport -o "$scratch/one.json" || fail "merge failed"
"$rep" merge $trust "$scratch"/Y*.json "$scratch/linked.json" --format measurereport -o "$scratch/two.json" || fail "merge failed"
grep -q '"valueCode": "masked"' "$scratch/one.json" "$scratch/two.json" ||
    fail "no redacted count to exercise data-absent-reason"
node "$validate" --profile https://csemarker.org/fhir/StructureDefinition/cse-measure-report \
    "$scratch/one.json" "$scratch/two.json" > "$scratch/v.out" 2>&1 ||
    fail "MeasureReport does not validate: $(head -20 "$scratch/v.out")"
echo "report_measurereport: $(cat "$scratch/v.out" | tr '\n' ' ')"
