#!/bin/sh
# SPDX-License-Identifier: MIT
# Every synthetic GP2GP fixture that claims to be an RCMR_IN030000UK07 or
# UK06 message validates against the national schema of that version.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
xsd="${CSE_SHARED_DIR:-}/conformance/nia/xsd/Schemas"
[ -n "${CSE_SHARED_DIR:-}" ] && [ -d "$xsd" ] || skip "CSE_SHARED_DIR does not hold conformance/nia/xsd"
xmllint="${XMLLINT:-xmllint}"
command -v "$xmllint" > /dev/null 2>&1 || skip "xmllint is not installed"
n=0
for f in "$top_srcdir"/test-fixtures/gp2gp/*/input.xml \
         "$top_srcdir"/test-fixtures/gp2gp/*/fragments/*.xml \
         "$top_srcdir"/test-fixtures/demo/*.xml; do
    [ -f "$f" ] || continue
    if grep -q '<RCMR_IN030000UK07' "$f"; then schema=RCMR_IN030000UK07.xsd
    elif grep -q '<RCMR_IN030000UK06' "$f"; then schema=RCMR_IN030000UK06.xsd
    else continue
    fi
    "$xmllint" --noout --schema "$xsd/$schema" "$f" > "$scratch/log" 2>&1 ||
        fail "$f does not validate against $schema: $(head -5 "$scratch/log")"
    n=$((n + 1))
done
[ "$n" -ge 7 ] || fail "only $n fixtures checked"
echo "gp2gp_fixtures_valid: $n fixtures validate"
