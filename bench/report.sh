# Sourced by bench/run: cse-report extract beside an equivalent jq pipeline
# over the same Bulk Data style NDJSON (one practice of N patients, written
# by cse-report synth). The jq program computes the two coverage counts
# (registered children, and of those with an active CSE marker Flag) with
# jq, sort and comm; ours
# computes all six measures, so the comparison flatters jq.
#
# Memory: a Bulk Data export arrives by resource type in any order, so
# extract keeps about 32-64 bytes per patient (see aggregate/README.md); the
# peak RSS column shows it growing with the number of patients. jq keeps
# whole objects keyed by id, which is far more.
#
# By hand, over about a million patients (about 700 MB of NDJSON):
#   cse-report synth --seed 1 --practices 1 --patients 1000000 -o /tmp/ics
#   cse-report keygen signing --practice "$(cat /tmp/ics/practices.txt)" -o /tmp/sign.pem
#   time cse-report extract --practice "$(cat /tmp/ics/practices.txt)" \
#       --period 2025-Q4 --signing-key /tmp/sign.pem -o /dev/null /tmp/ics/*/
if [ $quick = 1 ]; then ics_sizes="10000 50000"; else ics_sizes="10000 100000 1000000"; fi
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
    row "report extract" "ics-$n" "$insize" "$MED_S" "$MED_KB" "jq coverage" "$REF_S" "$REF_KB" 10 0
done
rm -rf "$work/ics" "$work/partial.json" "$work/coverage.sh" "$work/sign.pem" "$work/sign.pem.pub"
