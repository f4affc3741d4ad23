#!/bin/sh
# SPDX-License-Identifier: MIT
# Privacy: generate a population, run extract (with pseudonyms) and merge in
# every format, and search every output byte for every NHS number, name,
# date of birth, street address and postcode of the input. None may appear.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
command -v jq > /dev/null || skip "jq not found (apt-get install jq)"
"$rep" synth --seed 7 --practices 4 --patients 600 -o "$scratch/ics" || fail "synth failed"
out="$scratch/out"
report_keys "$scratch/k" 600 $(cat "$scratch/ics/practices.txt")
mkdir "$out"
for ods in $(cat "$scratch/ics/practices.txt"); do
    for q in 1 2 3 4; do
        "$rep" extract --practice "$ods" --period "2025-Q$q" $(xkeys "$ods") \
            -o "$out/$ods-Q$q.partial.json" "$scratch/ics/$ods" || fail "extract $ods Q$q failed"
    done
done
link_all "$out/linked.partial.json" "$out"/Y*.partial.json
for f in csv json measurereport html partial; do
    "$rep" merge $trust "$out"/*.partial.json --format $f -o "$out/report.$f" || fail "merge --format $f failed"
    "$rep" merge $trust "$out"/*.partial.json --format $f --no-disclosure-control \
        -o "$out/raw.$f" 2>/dev/null || fail "unprotected merge --format $f failed"
done
cat "$scratch"/ics/*/Patient.ndjson | jq -r '
    (.identifier[]? | select(.system == "https://fhir.nhs.uk/Id/nhs-number") | .value),
    (.name[]? | .family, .given[]?), (.address[]? | .postalCode, .line[]?),
    .birthDate' | LC_ALL=C sort -u > "$scratch/ids"
# Period boundaries are printed in every report; a child born on one of those
# days shares the string without it being a date of birth.
grep -Ev '^2025-(01-01|03-31|04-01|06-30|07-01|09-30|10-01|12-31)$' "$scratch/ids" > "$scratch/needles"
n=$(wc -l < "$scratch/needles")
[ "$n" -gt 1000 ] || fail "too few identifiers to look for ($n)"
grep -c '^999[0-9]\{7\}$' "$scratch/needles" > /dev/null || fail "no NHS numbers to look for"
# Whole words, so that a family name is not found inside an English word.
if grep -r -F -w -f "$scratch/needles" "$out" > "$scratch/hits"; then
    head -5 "$scratch/hits" | cut -c1-200 >&2
    fail "an identifier from the input appears in an output"
fi
echo "report_privacy: $n identifiers, none in $(ls "$out" | wc -l) outputs"
