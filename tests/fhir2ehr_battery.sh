#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr writes an Observation that groups others outside a laboratory
# report as the CompoundStatement GP2GP carried (the sending adaptor's
# ObservationMapper: BATTERY when a member is a coded result, CLUSTER when
# all are comments), with its members inside it, each once, in the order the
# header names them, and its own comment as a NarrativeStatement
# (test-fixtures/fhir-battery/batteries.outline). Members are found from
# either side: related[has-member] or hasMember on the header,
# related[derived-from] or derivedFrom on the member. A header with a value
# of its own stays one statement, and headers that name each other are
# written flat: nothing is lost or written twice.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir-battery"
command -v python3 > /dev/null 2>&1 || skip "no python3"

"$conv" fhir2ehr "$fix/batteries.json" --sender A99001 --receiver B99002 \
    -o "$scratch/out.xml" 2> "$scratch/err" || fail "fhir2ehr exit $?: $(cat "$scratch/err")"
grep -q 'loss:' "$scratch/err" && fail "something was lost: $(grep loss: "$scratch/err")"
grep -q '14 entries written' "$scratch/err" || fail "entries: $(cat "$scratch/err")"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd"
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$xsd" ] && command -v "${XMLLINT:-xmllint}" > /dev/null 2>&1; then
    "${XMLLINT:-xmllint}" --noout --nonet --schema "$xsd" "$scratch/out.xml" 2> "$scratch/xsd" ||
        fail "not valid UK07: $(head -3 "$scratch/xsd")"
fi
python3 "$top_srcdir/tests/hl7_outline.py" "$scratch/out.xml" > "$scratch/outline" ||
    fail "cannot outline the extract"
diff -u "$fix/batteries.outline" "$scratch/outline" > "$scratch/diff" ||
    fail "the batteries differ from batteries.outline: $(cat "$scratch/diff")"
echo "fhir2ehr batteries: $(grep -c 'CompoundStatement' "$scratch/outline") compounds as outlined"
