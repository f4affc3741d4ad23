#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays every saved fuzz input, every JSON and NDJSON fixture (and the
# hostile corpus) through the
# extract fuzz target, whose oracle checks that extract's fast scanner never
# accepts a line that jansson refuses; then a few thousand mutated lines.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
prog="$top_builddir/fuzz/replay-extract"
[ -x "$prog" ] || fail "missing $prog"
cd "$top_srcdir" || exit 99
seeds=$(find test-fixtures -name '*.json' -o -name '*.ndjson' 2>/dev/null | LC_ALL=C sort)
[ -n "$seeds" ] || fail "no JSON seeds under test-fixtures"
mkdir "$scratch/empty" "$scratch/mut"
# The saved inputs the fuzzer found (fuzz/regressions/extract) come first.
reg=fuzz/regressions/extract
[ -d "$reg" ] || fail "missing $reg"
# shellcheck disable=SC2086
"$prog" "$reg" $seeds > "$scratch/out" 2>&1 || { cat "$scratch/out"; fail "replay failed"; }
# Mutations of the hand fixture: every line cut at every 5th byte, and with
# that byte changed to each of a few troublesome characters (one file of many
# lines per kind; the target checks line by line).
cat test-fixtures/report/hand/*.ndjson | awk -v dir="$scratch/mut" '
    BEGIN { n = split("\" \\ { } [ ] , : x 0 e - . t n", subs, " ") }
    {
        for (k = 1; k < length($0); k += 5) {
            print substr($0, 1, k) > (dir "/cut")
            for (i = 1; i <= n; i++)
                print substr($0, 1, k - 1) subs[i] substr($0, k + 1) > (dir "/sub" i)
        }
    }'
"$prog" "$scratch/empty" "$scratch/mut" > "$scratch/out2" 2>&1 || { tail -5 "$scratch/out2"; fail "a mutated line broke the oracle"; }
echo "report_extract_replay: $(tail -1 "$scratch/out"); $(cat "$scratch"/mut/* | wc -l) mutated lines"
