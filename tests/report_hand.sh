#!/bin/sh
# SPDX-License-Identifier: MIT
# Correctness on a small hand-made population (test-fixtures/report/hand,
# practice Y09999, period 2025-01-01..2025-03-31). Counted by hand:
#   p1  14y, Flag f1 + Observation o1 (flag-detail), both NOPAT, SNOMED,
#       review 2025-06-01            -> 1 marker: NOPAT, standard, not overdue
#   p2  13y, Flag f2 (NOPAT, local code, our profile) + o2 without NOPAT,
#       review 2025-01-10            -> 1 marker: not NOPAT, not standard, overdue
#   p3  17y on 31 Mar (born 2008-03-31), plain Observation 713834002, no
#       NOPAT, no review date: start 2024-10-01 + 6 months = 2025-04-01
#                                    -> 1 marker: not NOPAT, standard, not overdue
#   p4  18 on 31 Mar: not a child (its Flag is not counted)
#   p5  related code 2024-12-01, no marker           -> possibly unflagged
#   p6  related code 2025-05-01 (after the period)   -> child, not unflagged
#   p7  Flag ended 2025-02-01 + related code         -> possibly unflagged
#   p8  Flag inactive but ended 2025-06-01, i.e. active on 31 Mar; NOPAT;
#       review 2024-07-01                -> 1 marker: NOPAT, standard, overdue
#   p9  left (active false, another practice): not registered
#   p10 adult; p11 born after the period; p12 only an entered-in-error Flag
#   a Flag for Patient/ghost links to no patient
# Registered children: p1 p2 p3 p5 p6 p7 p8 p12 = 8; with an active marker:
# p1 p2 p3 p8 = 4; active markers 4, NOPAT 2 (p1 p8), overdue 2 (p2 p8),
# standard 3 (p1 p3 p8); possibly unflagged 2 (p5 p7); no transfers: 0/0.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
fx="$top_srcdir/test-fixtures/report/hand"
report_keys "$scratch/k" 100 Y09999
"$rep" extract --practice Y09999 --period 2025-01-01..2025-03-31 $(xkeys Y09999) -o "$scratch/p.json" "$fx" ||
    fail "extract failed"
link_all "$scratch/l.json" "$scratch/p.json"
"$rep" merge $trust "$scratch/p.json" "$scratch/l.json" --format csv --no-disclosure-control -o "$scratch/r.csv" 2>/dev/null ||
    fail "merge failed"
diff -u "$fx/expected.csv" "$scratch/r.csv" || fail "unprotected counts differ from the hand count"
# With disclosure control: 4 of 8 children -> [REDACTED] of 10.
"$rep" merge $trust "$scratch/p.json" --format csv -o "$scratch/s.csv" || fail "protected merge failed"
grep -q '^cse_marker_coverage,2025-01-01,2025-03-31,Y09999,\[REDACTED\],10,,protected,1$' "$scratch/s.csv" ||
    fail "small counts not redacted: $(cat "$scratch/s.csv")"
echo "report_hand: ok"
