# SPDX-License-Identifier: MIT
# Sourced by bench/run: cse-report extract beside an equivalent jq pipeline
# over the same Bulk Data style NDJSON (one practice of N patients, written
# by cse-report synth). The jq program computes the two coverage counts
# (registered children, and of those with an active CSE marker Flag) with
# jq, sort and comm; ours
# computes all six measures, so the comparison flatters jq.
#
# Bars (issue 15): extract at least 10x the jq pipeline's throughput on
# 200,000 patients, peak RSS under 64 MB for a practice of a million
# patients (/usr/bin/time's maximum resident set size, the RSS column), and
# merge of 100 practices' partials under a second.
#
# Memory: a Bulk Data export arrives by resource type in any order, so
# extract keeps 12 bytes per table slot (at most 75% full) plus a 16-byte
# link tag per child (see aggregate/README.md): about 40 MB of data for a
# million patients. jq keeps whole objects keyed by id, which is far more.
#
# By hand, over about a million patients (about 800 MB of NDJSON):
#   cse-report synth --seed 1 --practices 1 --patients 1000000 -o /tmp/ics
#   cse-report keygen signing --practice "$(cat /tmp/ics/practices.txt)" -o /tmp/sign.pem
#   /usr/bin/time -v cse-report extract --practice "$(cat /tmp/ics/practices.txt)" \
#       --period 2025-Q4 --signing-key /tmp/sign.pem -o /dev/null /tmp/ics/*/
if [ $quick = 1 ]; then ics_sizes="10000 50000"; else ics_sizes="10000 200000 1000000"; fi
# The jq pipeline streams (no slurping, no growing objects): ids of
# registered children, ids of patients with an active marker Flag, joined.
cat > "$work/coverage.sh" <<'SH'
d=$1
jq -r 'select(.resourceType == "Patient" and .active != false and
              .birthDate > "2007-12-31" and .birthDate <= "2025-12-31") | .id' \
    "$d/Patient.ndjson" | LC_ALL=C sort > "$d.children"
jq -r 'select(.resourceType == "Flag" and .status == "active" and
              any(.code.coding[]?; .system == "http://snomed.info/sct" and
                  (.code == "716565009" or .code == "713834002" or
                   .code == "919461000000108")))
       | .subject.reference | ltrimstr("Patient/")' \
    "$d/Flag.ndjson" "$d/Observation.ndjson" "$d/Condition.ndjson" | LC_ALL=C sort -u > "$d.marked"
printf '%s\t%s\n' "$(wc -l < "$d.children")" "$(LC_ALL=C comm -12 "$d.children" "$d.marked" | wc -l)"
SH
# A partial is signed (once, at the end): the practice's signing key.
rm -f "$work/sign.pem" "$work/sign.pem.pub"
for n in $ics_sizes; do
    rm -rf "$work/ics"
    "$report" synth --seed "$seed" --practices 1 --patients "$n" -o "$work/ics" >/dev/null
    ods=$(cat "$work/ics/practices.txt")
    [ -f "$work/sign.pem" ] || "$report" keygen signing --practice "$ods" -o "$work/sign.pem" >/dev/null
    pdir=$work/ics/$ods
    insize=$(cat "$pdir"/*.ndjson | wc -c | awk '{printf "%.1f", $1 / 1048576}')
    measure_pair sh "$work/coverage.sh" "$pdir" -- \
        "$report" extract --quiet --practice "$ods" --period 2025-Q4 \
        --signing-key "$work/sign.pem" -o "$work/partial.json" "$pdir/Patient.ndjson" "$pdir/Flag.ndjson" \
        "$pdir/Observation.ndjson" "$pdir/Condition.ndjson"
    # The throughput bar is set at 200,000 patients and above; at 10,000 the
    # start-up weighs, and the row is there to show how the ratio grows.
    minr=10
    [ "$n" -lt 200000 ] && minr=0
    row "report extract" "ics-$n" "$insize" "$MED_S" "$MED_KB" "jq coverage" "$REF_S" "$REF_KB" $minr 64
done
rm -rf "$work/ics" "$work/partial.json" "$work/coverage.sh" "$work/sign.pem" "$work/sign.pem.pub"

# merge: the partials of 100 practices (two quarters each, with transfer
# pseudonyms) into each report format. No reference program does this; the
# bar is absolute: under a second.
if [ $quick = 1 ]; then mp=1000; else mp=3000; fi
"$report" synth --seed "$seed" --practices 100 --patients "$mp" -o "$work/ics100" >/dev/null
mkdir -p "$work/parts" "$work/k"
# The keys and registry of this ICS (tests/report_keys.sh does the same).
"$report" keygen pseudonym -o "$work/k/pseudonym" >/dev/null
"$report" keygen linkage -o "$work/k/linkage.pem" >/dev/null
"$report" keygen signing --practice QICS1 -o "$work/k/ics.pem" >/dev/null
echo "ics QICS1" > "$work/k/registry"
for ods in $(cat "$work/ics100/practices.txt"); do
    "$report" keygen signing --practice "$ods" -o "$work/k/$ods.pem" >/dev/null
    echo "practice $ods $mp" >> "$work/k/registry"
    for q in 3 4; do
        "$report" extract --quiet --practice "$ods" --period "2025-Q$q" --key "$work/k/pseudonym" \
            --linkage-key "$work/k/linkage.pem.pub" --signing-key "$work/k/$ods.pem" \
            -o "$work/parts/$ods-$q.json" "$work/ics100/$ods"
    done
done
cat "$work"/k/*.pem.pub > "$work/k/keys"
trust="--registry $work/k/registry --keys $work/k/keys"
"$report" link $trust --linkage-key "$work/k/linkage.pem" --signing-key "$work/k/ics.pem" \
    -o "$work/parts/linked.json" "$work"/parts/Y*.json
insize=$(cat "$work"/parts/*.json | wc -c | awk '{printf "%.1f", $1 / 1048576}')
for f in csv html measurereport; do
    measure "$report" merge $trust "$work"/parts/*.json --format "$f" -o "$work/report.$f"
    awk -v f="$f" -v s="$MED_S" -v kb="$MED_KB" -v size="$insize" -v csv="$out" 'BEGIN {
        ok = s < 1.0
        printf "%-22s %8.1f %8.3fs %29s %8.1fM %7s  %s (time<1s)\n", "report merge " f, size, s, "100 practices x 2 periods", kb / 1024, "", ok ? "meets bar" : "BELOW BAR"
        printf "report merge %s,100-practices,%.1f,%.3f,%.2f,%.1f,none,,,,,time<1s,%s\n", f, size, s, size / (s < 0.005 ? 0.005 : s), kb / 1024, ok ? "pass" : "below" >> csv
    }'
done
rm -rf "$work/ics100" "$work/parts" "$work/k" "$work"/report.*
