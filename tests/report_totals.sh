#!/bin/sh
# SPDX-License-Identifier: MIT
# Totals and disclosure options of cse-report merge:
# - a Total (practice ALL) is the protected total of every practice's true
#   counts: checked against the --no-disclosure-control output (whose totals
#   are checked against a recount of its rows) and the rounding rule, with the
#   number of practices it covers;
# - only protective --threshold and --round values are accepted;
# - extract refuses a --practice that no Patient names when the data names
#   another practice, and says which.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
"$rep" synth --seed 23 --practices 12 --patients 300 -o "$scratch/ics" || fail "synth failed"
report_keys "$scratch/k" 300 $(cat "$scratch/ics/practices.txt")
for ods in $(cat "$scratch/ics/practices.txt"); do
    for q in 3 4; do
        "$rep" extract --practice "$ods" --period "2025-Q$q" $(xkeys "$ods") \
            -o "$scratch/$ods-$q.json" "$scratch/ics/$ods" || fail "extract $ods failed"
    done
done
link_all "$scratch/linked.json" "$scratch"/Y*.json
# shellcheck disable=SC2086
merge() { "$rep" merge $trust "$scratch"/Y*.json "$scratch/linked.json" "$@"; }
merge --format csv --no-disclosure-control -o "$scratch/raw.csv" \
    2>/dev/null || fail "unprotected merge failed"

# check_totals PROTECTED.csv THRESHOLD BASE
check_totals() {
    awk -F, -v thr="$2" -v base="$3" '
        function protect(v,   r) {
            if (v == 0) return 0
            if (v <= thr) return -1
            r = int((v + int(base / 2)) / base) * base
            if (r <= thr) r = (int(thr / base) + 1) * base
            return r
        }
        function small(v) { return v >= 1 && v <= thr }
        FNR == 1 { next }
        FILENAME == raw {
            k = $1 "," $2 "," $3
            if ($4 == "ALL") { rn[k] = $5; rd[k] = $6; rp[k] = $9; next }
            if ($9 != 1) { print "practice row covers " $9 " practices: " $0; bad = 1 }
            sn[k] += $5; sd[k] += $6; sp[k]++
            next
        }
        {
            k = $1 "," $2 "," $3
            if ($4 != "ALL") { if ($5 == "[REDACTED]" || $6 == "[REDACTED]") redacted[k] = 1; next }
            totals++
            if (rn[k] != sn[k] || rd[k] != sd[k] || rp[k] != sp[k]) {
                print "unprotected total " k " is " rn[k] "/" rd[k] " (" rp[k] " practices), its rows sum to " sn[k] "/" sd[k] " (" sp[k] ")"
                bad = 1
            }
            en = protect(rn[k]); ed = protect(rd[k])
            if (ed < 0 && en != 0) en = -1
            if (en >= 0 && ed >= 0 && (small(rd[k] - rn[k]) || small(ed - en))) en = -1
            gn = $5 == "[REDACTED]" ? -1 : $5; gd = $6 == "[REDACTED]" ? -1 : $6
            if (gn != en || gd != ed || $9 != sp[k] || $8 != "protected") {
                print "total " k ": published " $5 "/" $6 " over " $9 " practices, expected " en "/" ed " over " sp[k] " (true " rn[k] "/" rd[k] ")"
                bad = 1
            }
            if (redacted[k] && gd > 0) with_redacted++
        }
        END {
            if (totals != 12) { print "expected 12 totals, found " totals; bad = 1 }
            if (with_redacted == 0) { print "no total covers a redacted cell: the test proves nothing"; bad = 1 }
            exit bad
        }' raw="$scratch/raw.csv" "$scratch/raw.csv" "$1"
}
merge --format csv -o "$scratch/prot.csv" || fail "merge failed"
check_totals "$scratch/prot.csv" 7 5 || fail "totals with the default rules"
merge --format csv --threshold 10 --round 10 -o "$scratch/p10.csv" ||
    fail "merge --threshold 10 --round 10 failed"
check_totals "$scratch/p10.csv" 10 10 || fail "totals with threshold 10 and base 10"

# Only protective options, and the error says which values are accepted.
for bad in "--round 1" "--round 4" "--round 11" "--round 100" "--threshold 1" \
    "--threshold 6" "--threshold 1001" "--round 0"; do
    # shellcheck disable=SC2086
    merge --format csv $bad -o "$scratch/bad.csv" 2> "$scratch/err"
    rc=$?
    [ $rc -eq 2 ] || fail "merge $bad: exit $rc, expected 2"
    grep -q 'accepted values are' "$scratch/err" || fail "merge $bad: $(cat "$scratch/err")"
    [ ! -e "$scratch/bad.csv" ] || fail "merge $bad wrote a report"
done
merge --format csv --round 5 --no-disclosure-control \
    -o "$scratch/bad.csv" 2>/dev/null && fail "--round with --no-disclosure-control accepted"
merge --format json --threshold 1000 -o "$scratch/t.json" ||
    fail "--threshold 1000 refused"

# A merge that leaves out one practice of the registry publishes no total (a
# total of a chosen subset could be differenced with the full one): every
# total row says not published, over 11 practices, in every format, and
# merge says why.
first=$(head -1 "$scratch/ics/practices.txt")
# shellcheck disable=SC2046,SC2086
"$rep" merge $trust $(ls "$scratch"/Y*-[34].json | grep -v "/$first-") "$scratch/linked.json" \
    --format csv -o "$scratch/sub.csv" 2> "$scratch/sub.err" || fail "subset merge failed"
[ "$(grep -c ',ALL,\[NOT PUBLISHED\],\[NOT PUBLISHED\],,protected,11$' "$scratch/sub.csv")" -eq 12 ] ||
    fail "a subset merge published totals: $(grep ,ALL, "$scratch/sub.csv")"
grep -q "totals are not published: the partials merged cover at most 11 of the 12" "$scratch/sub.err" ||
    fail "merge does not say why the totals are not published: $(cat "$scratch/sub.err")"
# shellcheck disable=SC2046,SC2086
"$rep" merge $trust $(ls "$scratch"/Y*-[34].json | grep -v "/$first-") "$scratch/linked.json" \
    --format json -o "$scratch/sub.json" 2> /dev/null || fail "subset merge json failed"
[ "$(grep -c '"not_published": "not published: the report does not cover every practice' "$scratch/sub.json")" -eq 12 ] ||
    fail "the JSON does not say why the totals are not published"

# A practice code the data does not name (synth uses Y codes): refused,
# naming the one it holds.
set -- A00001 $(cat "$scratch/ics/practices.txt")
"$rep" extract --practice "$1" --period 2025-Q4 --signing-key "$kd/$2.pem" -o "$scratch/wrong.json" "$scratch/ics/$2" \
    2> "$scratch/err"
rc=$?
[ $rc -eq 3 ] || fail "extract with another practice's code: exit $rc, expected 3"
grep -q "no Patient names practice $1.*most often $2" "$scratch/err" ||
    fail "the error does not name the practice the data holds: $(cat "$scratch/err")"
[ ! -e "$scratch/wrong.json" ] || fail "a partial was written for the wrong practice"
grep -Eq '[0-9]{10}' "$scratch/err" && fail "the error holds a 10-digit number"
echo "report_totals: 12 totals checked twice against the true counts; options and practice code checked"
