#!/bin/sh
# SPDX-License-Identifier: MIT
# Merging partials of merged partials, in any order and grouping, gives the
# same output as merging all at once.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
"$rep" synth --seed 3 --practices 5 --patients 700 -o "$scratch/ics" || fail "synth failed"
set -- $(cat "$scratch/ics/practices.txt")
report_keys "$scratch/k" 700 "$@"
for ods in "$@"; do
    "$rep" extract --practice "$ods" --period 2025-Q4 $(xkeys "$ods") \
        -o "$scratch/$ods.json" "$scratch/ics/$ods" || fail "extract failed"
done
link_all "$scratch/linked.json" "$scratch"/Y*.json
a="$scratch/$1.json" b="$scratch/$2.json" c="$scratch/$3.json" d="$scratch/$4.json" e="$scratch/$5.json" l="$scratch/linked.json"
for f in csv json measurereport html partial; do
    "$rep" merge $trust "$a" "$b" "$c" "$d" "$e" "$l" --format $f -o "$scratch/all.$f" || fail "merge all"
    "$rep" merge $trust "$e" "$l" "$c" --format partial -o "$scratch/ec.json" || fail "merge e c"
    "$rep" merge $trust "$d" "$scratch/ec.json" --format partial -o "$scratch/dec.json" || fail "merge d ec"
    "$rep" merge $trust "$b" "$a" --format partial -o "$scratch/ba.json" || fail "merge b a"
    "$rep" merge $trust "$scratch/dec.json" "$scratch/ba.json" --format $f -o "$scratch/tree.$f" ||
        fail "merge of merged partials"
    cmp "$scratch/all.$f" "$scratch/tree.$f" || fail "--format $f: a tree of merges differs from one merge"
done
echo "report_merge_order: identical in every format"
