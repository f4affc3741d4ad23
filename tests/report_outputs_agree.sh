#!/bin/sh
# SPDX-License-Identifier: MIT
# The CSV, the JSON and the FHIR MeasureReport of one merge carry the same
# numbers: every measure, period and practice (and total), its numerator,
# denominator (or redaction), ratio and the number of practices a total
# covers. One period (a MeasureReport) and several (a Bundle of them).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
command -v jq > /dev/null || skip "jq not found (apt-get install jq)"
"$rep" synth --seed 31 --practices 7 --patients 900 -o "$scratch/ics" || fail "synth failed"
report_keys "$scratch/k" 900 $(cat "$scratch/ics/practices.txt")
for ods in $(cat "$scratch/ics/practices.txt"); do
    for q in 3 4; do
        "$rep" extract --practice "$ods" --period "2025-Q$q" $(xkeys "$ods") \
            -o "$scratch/$ods-$q.json" "$scratch/ics/$ods" || fail "extract failed"
    done
done
link_all "$scratch/linked.json" "$scratch"/Y*.json
# Lines of measure,start,end,practice,numerator,denominator,ratio,practices;
# R for a redaction, - for no ratio.
csv_lines() {
    awk -F, 'NR > 1 {
        n = $5 == "[REDACTED]" ? "R" : $5; d = $6 == "[REDACTED]" ? "R" : $6
        print $1 "," $2 "," $3 "," $4 "," n "," d "," ($7 == "" ? "-" : $7) "," $9 }' "$1"
}
json_lines() {
    jq -r '.rows[] | [.measure, .interval_start, .interval_end, .practice,
        (if .numerator_redacted then "R" else .numerator end),
        (if .denominator_redacted then "R" else .denominator end),
        (.ratio // "-"), .practices] | map(tostring) | join(",")' "$1"
}
mr_lines() {
    jq -r '(if .resourceType == "Bundle" then [.entry[].resource] else [.] end)[] |
        .period as $p | .group[] | .code.coding[0].code as $m |
        def counts: [(.population[] | select(.code.coding[0].code == "numerator") |
                        if has("count") then .count else "R" end),
                     (.population[] | select(.code.coding[0].code == "denominator") |
                        if has("count") then .count else "R" end),
                     (.measureScore.value // "-")];
        ([$m, $p.start, $p.end, "ALL"] + counts +
            [(.extension[] | select(.url | endswith("/cse-practices-covered")) | .valueInteger)]),
        (.stratifier[0].stratum[] | [$m, $p.start, $p.end, .value.coding[0].code] + counts + [1])
        | map(tostring) | join(",")' "$1"
}
# same A B: the two lists hold the same lines, ratios equal to 4 decimals.
same() {
    sort "$1" > "$1.s"; sort "$2" > "$2.s"
    [ "$(wc -l < "$1.s")" -eq "$(wc -l < "$2.s")" ] || { echo "$(wc -l < "$1.s") lines against $(wc -l < "$2.s")"; return 1; }
    paste -d'|' "$1.s" "$2.s" | awk -F'|' '{
        na = split($1, a, ","); nb = split($2, b, ",")
        for (i = 1; i <= 8; i++) {
            if (i == 7 && a[i] != "-" && b[i] != "-") { if (a[i] - b[i] > 0.0001 || b[i] - a[i] > 0.0001) bad = 1 }
            else if (a[i] != b[i]) bad = 1
        }
        if (bad) { print "differ: " $1 " / " $2; exit 1 }
    }'
}
for set in one two; do
    if [ $set = one ]; then parts=$(ls "$scratch"/Y*-4.json); else parts=$(ls "$scratch"/Y*.json); fi
    for f in csv json measurereport; do
        # shellcheck disable=SC2086
        "$rep" merge $trust $parts "$scratch/linked.json" --format $f -o "$scratch/$set.$f" || fail "merge --format $f failed"
    done
    csv_lines "$scratch/$set.csv" > "$scratch/$set.c"
    json_lines "$scratch/$set.json" > "$scratch/$set.j" || fail "$set: cannot read the JSON"
    mr_lines "$scratch/$set.measurereport" > "$scratch/$set.m" || fail "$set: cannot read the MeasureReport"
    grep -q ',R,' "$scratch/$set.c" || fail "$set: no redaction to compare"
    grep -q ',ALL,.*,7$' "$scratch/$set.c" || fail "$set: no total over the 7 practices"
    same "$scratch/$set.c" "$scratch/$set.j" || fail "$set: the CSV and the JSON differ"
    same "$scratch/$set.c" "$scratch/$set.m" || fail "$set: the CSV and the MeasureReport differ"
done
echo "report_outputs_agree: $(wc -l < "$scratch/two.c") rows alike in CSV, JSON and MeasureReport"
