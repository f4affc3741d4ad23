#!/bin/sh
# SPDX-License-Identifier: MIT
# Differencing: an attacker who can ask for a merge of any practices learns
# no count of 1 to 7 for any measure. A synthetic ICS of 20 practices with
# transfers, one quarter (2025-Q4) and the two one-day periods with the most
# arrivals before it; the attacker gets the protected CSV of every merge of
# all practices, all but one, every pair and each practice alone, and tests/report_attack.py solves
# for the true counts behind them (exact integer reasoning with the rounding
# and redaction rules). With the ICS-wide linkage (cse-report link) every
# cell is the same in every merge and nothing is recovered. Bypassing the
# linkage, as merge did before link existed (transfers linked from the
# partials merged: here, a registry naming only the practices merged), the
# same solver recovers cells (sender->receiver arrival counts, over the
# quarter): the test checks that too, so the solver is known to find what is
# there. Totals (practice ALL, with the practices they cover) are read too:
# a total is published only for a merge of every practice of the registry,
# so it is one fixed figure; publishing the protected total of every merge
# instead lets the same solver pin cells (checked too).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
attack="$top_srcdir/tests/report_attack.py"
command -v python3 > /dev/null || skip "python3 not found (the attacker's solver needs it)"

pop=4000
"$rep" synth --seed 15 --practices 20 --patients $pop -o "$scratch/ics" > /dev/null || fail "synth failed"
set -- $(cat "$scratch/ics/practices.txt")
[ $# -eq 20 ] || fail "expected 20 practices"
report_keys "$scratch/k" $pop "$@"
# The one-day periods: the two days before the quarter with the most arrivals.
days=$(for f in "$scratch"/ics/*/gp2gp-in/*.xml; do
    grep -m1 -o 'availabilityTime value="2025[01][0-9][0-9][0-9]"' "$f"
done | sed 's/.*"\(....\)\(..\)\(..\)"/\1-\2-\3/' | awk '$1 < "2025-10-01"' |
    sort | uniq -c | sort -k1,1nr -k2 | head -2 | awk '{print $2}')
[ "$(echo "$days" | wc -w)" -eq 2 ] || fail "too few arrival days: $days"
P="$scratch/p"
mkdir -p "$P"
for ods in "$@"; do
    "$rep" extract -q --practice "$ods" --period 2025-Q4 $(xkeys "$ods") \
        -o "$P/$ods-Q4.json" "$scratch/ics/$ods" || fail "extract $ods failed"
    for day in $days; do
        "$rep" extract -q --practice "$ods" --period "$day..$day" $(xkeys "$ods") \
            -o "$P/$ods-$day.json" "$scratch/ics/$ods" || fail "extract $ods $day failed"
    done
done
link_all "$scratch/linked.json" "$P"/*.json

# The merges the attacker asks for: all, all but one, every pair, each alone.
subsets() {
    echo "$*"
    for x in "$@"; do
        for y in "$@"; do [ "$y" = "$x" ] || printf '%s ' "$y"; done
        echo
    done
    i=0
    for x in "$@"; do
        i=$((i + 1))
        j=0
        for y in "$@"; do
            j=$((j + 1))
            [ $j -gt $i ] && echo "$x $y"
        done
    done
    for x in "$@"; do echo "$x"; done
}
subsets "$@" > "$scratch/subsets"
[ "$(wc -l < "$scratch/subsets")" -eq 231 ] || fail "expected 231 subsets"

# partials ODS...: the partial files of those practices (quarter and days).
partials() {
    for ods in "$@"; do ls "$P/$ods"-*.json; done
}

# With the ICS-wide linkage.
F="$scratch/fixed"
mkdir -p "$F"
n=0
while read -r s; do
    n=$((n + 1))
    echo "$s" | tr ' ' '\n' > "$F/$n.set"
    # shellcheck disable=SC2046,SC2086
    "$rep" merge $trust --format csv -o "$F/$n.csv" $(partials $s) "$scratch/linked.json" ||
        fail "merge $n failed"
done < "$scratch/subsets"
# The truth: every practice, unprotected.
# shellcheck disable=SC2046,SC2086
"$rep" merge $trust --format csv --no-disclosure-control -o "$F/truth.csv" \
    $(partials "$@") "$scratch/linked.json" 2> /dev/null || fail "unprotected merge failed"
grep -q '^cse_marker_survived_transfer,2025-10-01,2025-12-31,ALL,[0-9]*,[1-9]' "$F/truth.csv" ||
    fail "no transfers in the quarter: the test would prove nothing"
# A merge of raw partials without the linked partial does not publish the
# transfer measure.
# shellcheck disable=SC2046,SC2086
"$rep" merge $trust --format csv -o "$scratch/nolink.csv" $(partials $1 $2) 2> "$scratch/nolink.err" ||
    fail "merge without the linked partial failed"
grep -q "^cse_marker_survived_transfer,.*,$1,\[NOT MEASURED\],\[NOT MEASURED\]" "$scratch/nolink.csv" ||
    fail "without the linked partial, the transfer measure was published"
grep -q "not measured" "$scratch/nolink.err" || fail "merge does not say why transfers are not measured"

python3 "$attack" --linkage fixed --expect none "$F" > "$scratch/fixed.out" ||
    { cat "$scratch/fixed.out" >&2; fail "cells recovered from the published merges"; }
cat "$scratch/fixed.out"
grep -q '^report_attack: 18 totals published, 4140 not published$' "$scratch/fixed.out" ||
    fail "expected the totals of the full merge only (18) to be published"

# Bypassing the totals rule: every merge publishes its totals, protected from
# its true counts (the rule of the report before the registry check: the
# unprotected total of each merge, protected exactly as merge protects a
# total, spliced into its CSV). The same solver then pins cells: the rule is
# what keeps them.
X="$scratch/subtotals"
mkdir -p "$X"
n=0
while read -r s; do
    n=$((n + 1))
    cp "$F/$n.set" "$X/$n.set"
    # shellcheck disable=SC2046,SC2086
    "$rep" merge $trust --format csv --no-disclosure-control -o "$X/$n.raw" $(partials $s) \
        "$scratch/linked.json" 2> /dev/null || fail "unprotected merge $n failed"
done < "$scratch/subsets"
cp "$F/truth.csv" "$X/truth.csv"
python3 - "$top_srcdir/tests" "$F" "$X" <<'PY' || fail "splicing the subset totals failed"
import csv, os, sys
sys.path.insert(0, sys.argv[1])
from report_attack import publish
F, X = sys.argv[2:]
for name in os.listdir(X):
    if not name.endswith(".raw"):
        continue
    pid = name[:-4]
    raw = {(r["measure"], r["interval_start"], r["interval_end"]): (int(r["numerator"]), int(r["denominator"]))
           for r in csv.DictReader(open(os.path.join(X, name))) if r["practice"] == "ALL"}
    rows = list(csv.DictReader(open(os.path.join(F, pid + ".csv"))))
    with open(os.path.join(X, pid + ".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
        w.writeheader()
        for r in rows:
            if r["practice"] == "ALL":
                N, D = publish(*raw[(r["measure"], r["interval_start"], r["interval_end"])])
                r["numerator"] = "[REDACTED]" if N < 0 else str(N)
                r["denominator"] = "[REDACTED]" if D < 0 else str(D)
            w.writerow(r)
PY
python3 "$attack" --linkage fixed --expect some "$X" > "$scratch/subtotals.out" ||
    { cat "$scratch/subtotals.out" >&2; fail "the solver found nothing even with subset totals published"; }
echo "report_differencing: with subset totals published: $(tail -1 "$scratch/subtotals.out")"
grep RECOVERED "$scratch/subtotals.out" | head -5

# Bypassing the ICS-wide linkage: each merge (of two practices or more, over
# the quarter) linked from its own partials.
V="$scratch/bypass"
mkdir -p "$V"
n=0
while read -r s; do
    n=$((n + 1))
    [ "$(echo "$s" | wc -w)" -ge 2 ] || continue
    echo "ics QICS1" > "$scratch/reg-sub"
    for ods in $s; do echo "practice $ods $pop"; done >> "$scratch/reg-sub"
    echo "$s" | tr ' ' '\n' > "$V/$n.set"
    # shellcheck disable=SC2046,SC2086
    "$rep" link --registry "$scratch/reg-sub" --keys "$kd/keys" --linkage-key "$kd/linkage.pem" \
        --signing-key "$kd/ics.pem" -o "$V/$n.linked.json" $(for o in $s; do echo "$P/$o-Q4.json"; done) ||
        fail "bypass link $n failed"
    # shellcheck disable=SC2046,SC2086
    "$rep" merge $trust --format csv -o "$V/$n.csv" $(for o in $s; do echo "$P/$o-Q4.json"; done) \
        "$V/$n.linked.json" ||
        fail "bypass merge $n failed"
done < "$scratch/subsets"
python3 "$attack" --linkage per-merge --expect some "$V" > "$scratch/bypass.out" ||
    { cat "$scratch/bypass.out" >&2; fail "the solver found nothing even with the linkage bypassed"; }
echo "report_differencing: with the linkage bypassed: $(tail -1 "$scratch/bypass.out")"
grep RECOVERED "$scratch/bypass.out" | head -5
