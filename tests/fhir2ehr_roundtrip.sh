#!/bin/sh
# SPDX-License-Identifier: MIT
# Round trips through fhir2ehr on the national requesting adaptor's PWTP
# extracts (../shared/conformance/nia/ehr-to-fhir/pwtp): UK06 -> FHIR STU3
# (ehr2fhir) -> UK07 (fhir2ehr) loses no statement: problems (LinkSet),
# prescriptions, discontinuations, plans and referrals (but self-referrals) come back one for one,
# authorisations at least as many, observations and
# narratives at least as many as were sent (a problem without its named
# statement gets one, as the sending adaptor writes it; a laboratory report
# comes back with every result and comment, and no DiagnosticReport or
# Specimen is reported lost); every extract
# validates against the UK07 schema; every battery outside a laboratory
# report comes back a BATTERY with its members inside it and their values,
# through STU3 and R4, and from the requesting adaptor's own bundles
# (tests/hl7_batteries.py); and FHIR -> UK07 -> FHIR keeps every
# allergy and medication of gpc-access-structured.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
pwtp="$CSE_SHARED_DIR/conformance/nia/ehr-to-fhir/pwtp"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd"
[ -n "$CSE_SHARED_DIR" ] && [ -d "$pwtp" ] || skip "no PWTP extracts (set CSE_SHARED_DIR)"
command -v python3 > /dev/null 2>&1 || skip "no python3"

count() { grep -c "<$1[ >]" "$2"; }
n=0
for f in "$pwtp"/PWTP*.xml; do
    name=$(basename "$f" .xml)
    "$conv" ehr2fhir --stu3 "$f" -o "$scratch/$name.json" 2> "$scratch/$name.e1" ||
        fail "$name: ehr2fhir exit $?: $(tail -1 "$scratch/$name.e1")"
    "$conv" fhir2ehr "$scratch/$name.json" --sender A99001 --receiver B99002 \
        --validate "$xsd" -o "$scratch/$name.xml" 2> "$scratch/$name.e2" ||
        fail "$name: fhir2ehr exit $?: $(tail -1 "$scratch/$name.e2")"
    for k in LinkSet PlanStatement ehrSupplyPrescribe ehrSupplyDiscontinue; do
        [ "$(count $k "$f")" -eq "$(count $k "$scratch/$name.xml")" ] ||
            fail "$name: $k $(count $k "$f") sent, $(count $k "$scratch/$name.xml") back"
    done
    # Every authorisation comes back. For a further order of an acute plan
    # ehr2fhir writes a copy of the plan, as the requesting adaptor does, and
    # that copy comes back as an authorisation of its own: never more than
    # one per order.
    a0=$(count ehrSupplyAuthorise "$f") a1=$(count ehrSupplyAuthorise "$scratch/$name.xml")
    [ "$a1" -ge "$a0" ] && [ "$a1" -le $((a0 + $(count ehrSupplyPrescribe "$f"))) ] ||
        fail "$name: ehrSupplyAuthorise $a0 sent, $a1 back"
    # A self-referral (qualifier RequestType SelfReferral) is a fact recorded,
    # not a request: ehr2fhir writes an Observation, as the requesting adaptor
    # does, and it comes back as an ObservationStatement. Every other referral
    # comes back as a referral.
    r0=$(count RequestStatement "$f") r1=$(count RequestStatement "$scratch/$name.xml")
    self=$(grep -c 'code="SelfReferral"' "$f")
    [ "$r1" -eq $((r0 - self)) ] ||
        fail "$name: RequestStatement $r0 sent ($self self-referrals), $r1 back"
    # Laboratory reports come back whole: every result and every comment
    # ehr2fhir folded into a DiagnosticReport is written again (the sending
    # adaptor even repeats a filing comment at report level), so no
    # shortfall is allowed.
    for k in ObservationStatement NarrativeStatement; do
        [ "$(count $k "$scratch/$name.xml")" -ge "$(count $k "$f")" ] ||
            fail "$name: $k $(count $k "$f") sent, only $(count $k "$scratch/$name.xml") back"
    done
    ! grep -q 'loss: [0-9]* \(DiagnosticReport\|Specimen\) ' "$scratch/$name.e2" ||
        fail "$name: $(grep 'loss: [0-9]* \(DiagnosticReport\|Specimen\) ' "$scratch/$name.e2")"
    # Batteries (blood pressures): back as batteries, members inside.
    python3 "$top_srcdir/tests/hl7_batteries.py" "$f" "$scratch/$name.xml" > "$scratch/$name.bat" ||
        fail "$name: $(cat "$scratch/$name.bat")"
    n=$((n + 1))
done
[ $n -ge 9 ] || fail "only $n PWTP extracts"

# The same through R4 (members name their battery by derivedFrom), and from
# the requesting adaptor's own STU3 bundles (which name the readings by
# has-member but leave a battery's comment unlinked; their NHS number,
# "Test Harness", is replaced by a valid one).
for name in PWTP2 PWTP5 PWTP6 PWTP10; do
    f="$pwtp/$name.xml"
    "$conv" ehr2fhir "$f" -o "$scratch/$name.r4.json" 2> /dev/null ||
        fail "$name: ehr2fhir R4 exit $?"
    "$conv" fhir2ehr "$scratch/$name.r4.json" --sender A99001 --receiver B99002 \
        -o "$scratch/$name.r4.xml" 2> "$scratch/$name.e3" ||
        fail "$name: fhir2ehr of R4 exit $?: $(tail -1 "$scratch/$name.e3")"
    python3 "$top_srcdir/tests/hl7_batteries.py" "$f" "$scratch/$name.r4.xml" > "$scratch/$name.bat" ||
        fail "$name (R4): $(cat "$scratch/$name.bat")"
    sed 's/"value": "Test Harness"/"value": "9990010005"/' "$pwtp/$name-output.json" > "$scratch/$name.ad.json"
    "$conv" fhir2ehr "$scratch/$name.ad.json" --sender A99001 --receiver B99002 \
        -o "$scratch/$name.ad.xml" 2> "$scratch/$name.e4" ||
        fail "$name: fhir2ehr of the adaptor's bundle exit $?: $(tail -1 "$scratch/$name.e4")"
    python3 "$top_srcdir/tests/hl7_batteries.py" --observations "$f" "$scratch/$name.ad.xml" \
        > "$scratch/$name.bat" || fail "$name (adaptor's bundle): $(cat "$scratch/$name.bat")"
done

# FHIR -> UK07 -> FHIR: the allergies and every drug code come back.
src="$CSE_SHARED_DIR/conformance/nia/fhir-to-ehr/gpc-access-structured.json"
sed 's/"1234567890"/"9990010005"/' "$src" > "$scratch/gpc.json"
"$conv" fhir2ehr "$scratch/gpc.json" --sender A99001 --receiver B99002 -o "$scratch/gpc.xml" \
    2> /dev/null || fail "fhir2ehr gpc-access-structured"
"$conv" ehr2fhir --stu3 "$scratch/gpc.xml" -o "$scratch/gpc-back.json" 2> /dev/null ||
    fail "ehr2fhir of our extract"
a=$(grep -c '"resourceType" *: *"AllergyIntolerance"' "$scratch/gpc.json")
b=$(grep -c '"resourceType": *"AllergyIntolerance"' "$scratch/gpc-back.json")
[ "$a" -eq "$b" ] || fail "gpc: $a AllergyIntolerances sent, $b back"
for code in $(grep -o '"code" *: *"[0-9]\{6,18\}"' "$scratch/gpc.json" | grep -o '[0-9]*' | sort -u); do
    grep -q "\"$code\"" "$scratch/gpc-back.json" || echo "$code" >> "$scratch/lost"
done
lost=$(cat "$scratch/lost" 2> /dev/null | wc -l)
total=$(grep -o '"code" *: *"[0-9]\{6,18\}"' "$scratch/gpc.json" | sort -u | wc -l)
echo "fhir2ehr round trips: $n PWTP extracts; gpc: $lost of $total SNOMED codes not back"
