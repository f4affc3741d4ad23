#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr writes referrals, plans and documents as the national sending
# adaptor does (test-fixtures/fhir/stu3-requests.json, synthetic): a
# RequestStatement whose text names the requester, priority, supporting
# information, UBRN, specialty, other recipients, further reasons and notes,
# with the first practitioner recipient as responsibleParty; a PlanStatement
# dated by when it is due (never by when it was made) with the recall text; a
# NarrativeStatement and an ExternalDocument coded "Other digital signal"
# (the type kept as a translation) with NOPAT on both; a request that is not
# a plan is reported lost; and the three come back from ehr2fhir.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
in="$top_srcdir/test-fixtures/fhir/stu3-requests.json"
command -v python3 > /dev/null 2>&1 || skip "no python3"

"$conv" fhir2ehr "$in" --sender A99001 --receiver B99002 -o "$scratch/out.xml" \
    2> "$scratch/err" || fail "fhir2ehr exit $?: $(cat "$scratch/err")"
grep -q 'loss: 1 ProcedureRequest (request whose intent is not plan' "$scratch/err" ||
    fail "the order is not reported: $(cat "$scratch/err")"
grep -q 'loss: 1 DocumentReference (attachment data or further contents not carried' \
    "$scratch/err" || fail "the inline document is not reported: $(cat "$scratch/err")"

python3 - "$scratch/out.xml" > "$scratch/check" 2>&1 <<'EOF' || fail "$(cat "$scratch/check")"
import sys
import xml.etree.ElementTree as ET

H = "{urn:hl7-org:v3}"
root = ET.parse(sys.argv[1]).getroot()
errors = []


def check(cond, what):
    if not cond:
        errors.append(what)


def text(el):
    t = el.find(H + "text")
    return " ".join("".join(t.itertext()).split()) if t is not None else None


reqs = list(root.iter(H + "RequestStatement"))
plans = list(root.iter(H + "PlanStatement"))
narrs = [n for n in root.iter(H + "NarrativeStatement")
         if n.find(H + "reference") is not None]
check(len(reqs) == 2, "2 RequestStatements, not %d" % len(reqs))
check(len(plans) == 2, "2 PlanStatements, not %d" % len(plans))
check(len(narrs) == 1, "1 NarrativeStatement with a document, not %d" % len(narrs))

asap = [r for r in reqs if (text(r) or "").startswith("Requester Org")]
check(len(asap) == 1, "no referral text starting with the requester")
if asap:
    r = asap[0]
    check(text(r) == "Requester Org: Riverside Surgery Priority: ASAP "
          "Supporting Information: { Observation: 2024-03-01 Blood pressure } "
          "UBRN: 000111222333 Specialty: Physiotherapy "
          "Recipient Healthcare Service: Community physiotherapy "
          "Reason Codes: Knee pain on stairs "
          "Annotation: Author: Relation Sam Carer @ 2024-03-02 Carer will attend "
          "Physiotherapy for the knee", "referral text: %r" % text(r))
    check(r.find(H + "responsibleParty") is not None, "no responsibleParty")
    check(r.find(H + "priorityCode") is None, "ASAP written as a priorityCode")
    check(r.find(H + "Participant") is None, "an organisation requester as author")
    codes = [t.get("code") for t in r.find(H + "code").iter(H + "translation")]
    check(codes == ["239873007"], "the first reason is not the code: %r" % codes)
urgent = [r for r in reqs if r.find(H + "priorityCode") is not None]
check(len(urgent) == 1 and urgent[0].find(H + "priorityCode").get("code") == "394849002",
      "urgent is not priority High")
check(len(urgent) == 1 and urgent[0].find(H + "confidentialityCode") is not None,
      "the NOPAT referral is not labelled")

due = [p for p in plans if text(p)]
check(len(due) == 1 and text(due[0]) ==
      "Supporting Information: { Observation: 2024-03-01 Blood pressure } "
      "Earliest Recall Date: 2024-04-01 Recall Device: Recall system Acme "
      "Reason Codes: Hypertension review Bring home readings",
      "plan text: %r" % [text(p) for p in plans])
centers = sorted((p.find(H + "effectiveTime/" + H + "center").get("value") or "UNK")
                 for p in plans)
check(centers == ["20240415", "UNK"], "plan dates: %r" % centers)

if narrs:
    n = narrs[0]
    check(text(n) == "Type: Referral letter Author Org: Riverside Surgery "
          "Custodian Org: Riverside Surgery Description: Letter to physiotherapy "
          "Setting: General practice", "document text: %r" % text(n))
    check(n.find(H + "availabilityTime").get("value") == "20240304",
          "not available from when created")
    doc = n.find(H + "reference/" + H + "referredToExternalDocument")
    code = doc.find(H + "code")
    check(code.get("code") == "37251000000104", "document code %s" % code.get("code"))
    check([t.get("code") for t in code.iter(H + "translation")] == ["25611000000107"],
          "the type is not kept as a translation")
    check(doc.find(H + "text").get("mediaType") == "application/pdf", "media type")
    ref = doc.find(H + "text/" + H + "reference").get("value")
    check(ref.startswith("file://localhost/"), "reference %s" % ref)
    check(doc.find(H + "confidentialityCode") is not None, "document not NOPAT")
    check(n.find(H + "confidentialityCode") is not None, "narrative not NOPAT")

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF

# R4: a ServiceRequest in a plan is a PlanStatement, one in the referral
# category a RequestStatement naming what is asked for, and a DocumentReference
# is dated by its date.
"$conv" fhir2ehr "$top_srcdir/test-fixtures/fhir/r4-requests.json" --sender A99001 \
    --receiver B99002 -o "$scratch/r4.xml" 2> "$scratch/err" ||
    fail "r4: exit $?: $(cat "$scratch/err")"
for want in '<PlanStatement ' '<text>Recall Organisation: Riverside Surgery Annual review</text>' \
    '<center value="20240601"/>' '<RequestStatement ' \
    '<text>Requester Org: Riverside Surgery Service(s) Requested: Dermatology</text>' \
    '<priorityCode code="394848005"' '<availabilityTime value="20240305100000"/>' \
    '<reference value="file://localhost/summary.txt"/>'; do
    grep -qF "$want" "$scratch/r4.xml" || fail "r4: no $want"
done

# They come back: ehr2fhir writes the same referrals, plans and document.
"$conv" ehr2fhir --stu3 "$scratch/out.xml" -o "$scratch/back.json" 2> "$scratch/err2" ||
    fail "ehr2fhir exit $?: $(cat "$scratch/err2")"
for t in ReferralRequest:2 ProcedureRequest:2 DocumentReference:1; do
    n=$(grep -o "\"resourceType\": *\"${t%:*}\"" "$scratch/back.json" | wc -l)
    [ "$n" -eq "${t#*:}" ] || fail "${t%:*}: $n back, ${t#*:} sent"
done
exit 0
