#!/bin/sh
# SPDX-License-Identifier: MIT
# The GP2GP extracts that synth writes validate against the UK07 schema, and
# synth is reproducible: the same seed gives the same bytes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
"$rep" synth --seed 9 --practices 3 --patients 500 -o "$scratch/a" || fail "synth failed"
"$rep" synth --seed 9 --practices 3 --patients 500 -o "$scratch/b" || fail "synth failed"
diff -r "$scratch/a" "$scratch/b" > /dev/null || fail "the same seed gave different output"
[ "$(stat -c %a "$scratch/a/key")" = 600 ] || fail "the key file is not mode 600"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd"
[ -f "$xsd" ] || skip "no conformance corpus at CSE_SHARED_DIR ($xsd)"
x=${XMLLINT:-$(command -v xmllint)}
[ -n "$x" ] || skip "xmllint not found"
ls "$scratch"/a/*/gp2gp-in/*.xml > /dev/null 2>&1 || fail "synth wrote no GP2GP extracts"
"$x" --noout --nonet --schema "$xsd" "$scratch"/a/*/gp2gp-in/*.xml > "$scratch/out" 2>&1 ||
    fail "a GP2GP extract fails the UK07 schema: $(grep -v validates "$scratch/out" | head -5)"
echo "report_gp2gp_schema: $(grep -c validates "$scratch/out") extracts valid"
