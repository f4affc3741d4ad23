#!/bin/sh
# SPDX-License-Identifier: MIT
# Controls named in docs/clinical-safety.md that no other test exercised:
#   - a FHIR record holding a second Patient with another NHS number is
#     refused by fhir2ehr (a marker must not travel on a mixed record), with
#     exit 3, a clear message naming neither number, and no output file;
#   - cse-host import never replaces an existing record unless told to
#     (--force), so a second extract cannot silently take over a child's file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
host="$top_builddir/plugin/cse-host"
fix="$top_srcdir/test-fixtures"
[ -x "$conv" ] || skip "cse-convert not built"
command -v jq >/dev/null || skip "jq not found (apt-get install jq)"

# ---- a second Patient --------------------------------------------------
jq '.entry += [{"fullUrl": "urn:uuid:6C1E4C58-5D0A-4C59-9A43-6B1C0D9E7F21",
                "resource": {"resourceType": "Patient", "id": "other",
                  "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                                  "value": "9990000026"}]}}]' \
    "$fix/fhir/r4-record.json" > "$scratch/two-patients.json" || exit 99
rc=0
"$conv" fhir2ehr "$scratch/two-patients.json" --receiver B99002 -o "$scratch/out.xml" \
    2> "$scratch/err" || rc=$?
[ $rc -eq 3 ] || fail "a record with two patients: exit $rc, expected 3"
grep -q "second Patient with another NHS number" "$scratch/err" ||
    fail "a record with two patients: unclear message: $(cat "$scratch/err")"
grep -Eq '999[0-9]{7}' "$scratch/err" && fail "the message shows an NHS number"
[ ! -e "$scratch/out.xml" ] || fail "an output was written for a record with two patients"
# The same Patient twice (one NHS number) is one patient: accepted.
jq '.entry += [.entry[] | select(.resource.resourceType == "Patient")
               | .fullUrl = "urn:uuid:0F4A2B1C-3D5E-4F60-8172-93A4B5C6D7E8"]' \
    "$fix/fhir/r4-record.json" > "$scratch/same-patient.json" || exit 99
"$conv" fhir2ehr "$scratch/same-patient.json" --receiver B99002 -o "$scratch/same.xml" \
    2> "$scratch/err" || fail "the same Patient twice was refused: $(cat "$scratch/err")"

# ---- import never replaces a record unasked -----------------------------
[ -x "$host" ] || { echo "cse-host not built: import case skipped"; exit 0; }
cd "$scratch" || exit 99
mkdir A B ja jb && cp "$fix/plugin/child.json" A/ || exit 99
head -c 32 /dev/urandom > key && chmod 600 key
hA() { "$host" --records A --journal ja --key key --user GP1 --role clinician --ods Y01001 "$@"; }
hB() { "$host" --records B --journal jb --key key --user GP2 --role clinician --ods Y01002 "$@"; }
hA flag child 716565009 --start 2024-03-01 > /dev/null || fail "flag failed"
hA export child -o out.xml --to Y01002 > /dev/null || fail "export failed"
hB import out.xml --as child > /dev/null || fail "first import failed"
cp B/child.json first.json
printf '{"resourceType":"Bundle","type":"collection","entry":[]}' > B/other.json
rc=0
hB import out.xml --as other > /dev/null 2> err || rc=$?
[ $rc -ne 0 ] || fail "import replaced an existing record without --force"
grep -q "exists: refusing to overwrite" err || fail "import refusal unclear: $(cat err)"
[ "$(cat B/other.json)" = '{"resourceType":"Bundle","type":"collection","entry":[]}' ] ||
    fail "the existing record was changed by a refused import"
cmp -s first.json B/child.json || fail "the first import's record changed"
echo "safety controls: two-patient record refused, import does not overwrite"
