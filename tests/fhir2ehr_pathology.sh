#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr writes a laboratory report as the national sending adaptor does:
# test-fixtures/fhir/stu3-pathology.json (a report with a conclusion, a
# performer and a filing comment; a specimen with a test group, a result with
# a filing comment as its member, and one with no result; a result that names
# no specimen) converts to the nested pathology compounds committed in
# stu3-pathology.outline (report, PMIP comments, NOT PRESENT specimen,
# BATTERY, CLUSTERs, EMPTY REPORT), each Observation and Specimen once and
# none reported lost; a Specimen that no report names is reported lost; and
# ehr2fhir reads the extract back as one DiagnosticReport with its specimens.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir"
command -v python3 > /dev/null 2>&1 || skip "no python3"

"$conv" fhir2ehr "$fix/stu3-pathology.json" --sender A99001 --receiver B99002 \
    -o "$scratch/lab.xml" 2> "$scratch/err" || fail "fhir2ehr exit $?: $(cat "$scratch/err")"
grep -q 'loss:' "$scratch/err" && fail "something was lost: $(grep loss: "$scratch/err")"
python3 "$top_srcdir/tests/hl7_outline.py" "$scratch/lab.xml" > "$scratch/outline" ||
    fail "cannot outline the extract"
diff -u "$fix/stu3-pathology.outline" "$scratch/outline" > "$scratch/diff" ||
    fail "the pathology hierarchy differs from stu3-pathology.outline: $(cat "$scratch/diff")"
# Each result once: the ferritin result is not written again on its own.
[ "$(grep -c 'code="1015311000000106"' "$scratch/lab.xml")" -eq 2 ] ||
    fail "the ferritin result is not written once (its cluster and its statement)"

# A Specimen no report names is counted in the loss report.
sed 's/, {"reference": "Specimen\/SPEC-URINE"}//' "$fix/stu3-pathology.json" > "$scratch/orphan.json"
"$conv" fhir2ehr "$scratch/orphan.json" --sender A99001 --receiver B99002 \
    -o "$scratch/orphan.xml" 2> "$scratch/err" || fail "fhir2ehr orphan exit $?"
grep -q 'loss: 1 Specimen (not named by any DiagnosticReport)' "$scratch/err" ||
    fail "an unnamed Specimen is not reported lost: $(cat "$scratch/err")"

# What neither we nor the sending adaptor write (the report as a document)
# is counted in the loss report.
sed 's/"conclusion": "Iron deficiency",/"conclusion": "Iron deficiency", "presentedForm": [{"contentType": "text\/plain", "data": "UkVQT1JU"}],/' \
    "$fix/stu3-pathology.json" > "$scratch/form.json"
"$conv" fhir2ehr "$scratch/form.json" --sender A99001 --receiver B99002 \
    -o "$scratch/form.xml" 2> "$scratch/err" || fail "fhir2ehr form exit $?"
grep -q 'loss: 1 DiagnosticReport.presentedForm' "$scratch/err" ||
    fail "presentedForm is not reported lost: $(cat "$scratch/err")"

# A report naming more results than one report holds: the rest are counted
# in the loss report, never dropped quietly.
python3 - "$scratch/big.json" << 'PY' || fail "cannot write the big report"
import json, sys
obs = [{"resource": {"resourceType": "Observation", "id": "o%d" % i, "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1022541000000102"}]},
        "effectiveDateTime": "2021-01-18", "valueQuantity": {"value": i}}} for i in range(4100)]
rep = {"resource": {"resourceType": "DiagnosticReport", "id": "big", "status": "final",
       "issued": "2021-01-20T10:30:00+00:00",
       "result": [{"reference": "Observation/o%d" % i} for i in range(4100)]}}
pat = {"resource": {"resourceType": "Patient", "id": "p", "identifier": [
       {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990010005"}]}}
json.dump({"resourceType": "Bundle", "type": "collection", "entry": [pat, rep] + obs},
          open(sys.argv[1], "w"))
PY
"$conv" fhir2ehr "$scratch/big.json" --sender A99001 --receiver B99002 \
    -o "$scratch/big.xml" 2> "$scratch/err" || fail "fhir2ehr big exit $?: $(cat "$scratch/err")"
grep -q 'loss: 4 DiagnosticReport.result (beyond 4096 in one laboratory report)' "$scratch/err" ||
    fail "results past the cap are not reported: $(cat "$scratch/err")"

# Read back: one DiagnosticReport with its three specimens and its results.
"$conv" ehr2fhir --stu3 "$scratch/lab.xml" -o "$scratch/back.json" 2> /dev/null ||
    fail "ehr2fhir of the extract"
python3 - "$scratch/back.json" << 'PY' || fail "the report does not come back whole"
import json, sys
b = json.load(open(sys.argv[1]))
reports = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "DiagnosticReport"]
assert len(reports) == 1, len(reports)
assert len(reports[0].get("specimen", [])) == 3, reports[0].get("specimen")
assert len(reports[0].get("result", [])) == 3, reports[0].get("result")
assert "Iron deficiency" in reports[0].get("conclusion", "")
PY
# A hostile report: two results that name each other as members. The
# conversion ends, and each Observation is written once.
cat > "$scratch/cycle.json" << 'EOF'
{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"p","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990010005"}]}},
{"resource":{"resourceType":"DiagnosticReport","id":"r","status":"final","code":{"text":"Report"},"issued":"2020-01-01T10:00:00Z","result":[{"reference":"Observation/a"}]}},
{"resource":{"resourceType":"Observation","id":"a","status":"final","code":{"text":"First"},"issued":"2020-01-01T10:00:00Z","hasMember":[{"reference":"Observation/b"}]}},
{"resource":{"resourceType":"Observation","id":"b","status":"final","code":{"text":"Second"},"issued":"2020-01-01T10:00:00Z","hasMember":[{"reference":"Observation/a"}]}}]}
EOF
"$conv" fhir2ehr "$scratch/cycle.json" --sender A99001 --receiver B99002 \
    -o "$scratch/cycle.xml" 2> "$scratch/err" || fail "cyclic members: exit $?: $(cat "$scratch/err")"
for t in First Second; do
    n=$(grep -c "<originalText>$t</originalText>" "$scratch/cycle.xml")
    [ "$n" = 1 ] || fail "cyclic members: '$t' written $n times"
done
echo "fhir2ehr pathology: hierarchy as committed, nothing lost, read back whole"
