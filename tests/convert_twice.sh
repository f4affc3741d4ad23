#!/bin/sh
# SPDX-License-Identifier: MIT
# Converting the same input twice gives the same output, byte for byte:
# ehr2fhir (R4 and STU3) and fhir2ehr of an extract whose battery and one of
# its results have no id (null-flavoured: they get ids derived from where
# they stand, never random ones, and the result still names its battery),
# and fhir2ehr of bundles that carry their own time. A bundle with no time of
# its own is extracted now: its creation time and the five ids of that
# transfer (message, EhrExtract, ehrFolder, request, limitation), derived
# from that time so that each transfer is a new one, are the only
# differences, and nothing else.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures"
command -v python3 > /dev/null 2>&1 || skip "no python3"

twice() { # NAME COMMAND...: runs COMMAND -o NAME.1 and -o NAME.2, compares
    name=$1
    shift
    "$@" -o "$scratch/$name.1" 2> "$scratch/$name.err" || fail "$name: exit $?: $(cat "$scratch/$name.err")"
    "$@" -o "$scratch/$name.2" 2> "$scratch/$name.err" || fail "$name: exit $?: $(cat "$scratch/$name.err")"
    cmp -s "$scratch/$name.1" "$scratch/$name.2" ||
        fail "$name: two conversions differ: $(diff "$scratch/$name.1" "$scratch/$name.2" | head -6)"
}

sed -e 's|<id root="C0000000-0000-4000-8000-000000000034"/>|<id nullFlavor="UNK"/>|' \
    -e 's|<id root="C0000000-0000-4000-8000-000000000035"/>|<id nullFlavor="UNK"/>|' \
    "$fix/fhir-write/whole-record/input.xml" > "$scratch/noid.xml"
twice r4 "$conv" ehr2fhir "$scratch/noid.xml"
twice stu3 "$conv" ehr2fhir --stu3 "$scratch/noid.xml"
# The result names its battery by the battery's derived id.
python3 - "$scratch/r4.1" << 'END' || fail "the result without an id does not name its battery"
import json, sys
res = {e["resource"]["id"]: e["resource"] for e in json.load(open(sys.argv[1]))["entry"]}
ids = [i for i, r in res.items() if r["resourceType"] == "Observation"
       and any(d.get("reference", "").endswith("/" + i) for o in res.values() for d in o.get("derivedFrom", []))]
sys.exit(0 if ids else 1)
END
# ehr2fhir writes no Bundle.timestamp (the extract's time is not carried), so
# the bundle is given one to convert it back.
sed '0,/"type":"collection",/s//"type":"collection","timestamp":"2024-03-01T12:00:00Z",/' \
    "$scratch/r4.1" > "$scratch/r4.json"
grep -q '"timestamp"' "$scratch/r4.json" || fail "r4: no timestamp given"
twice back "$conv" fhir2ehr "$scratch/r4.json" --sender A99001 --receiver B99002
# (The two stu3 fixtures carry no time of their own: they are given one.)
for f in "$fix/fhir/stu3-pathology.json" "$fix/fhir/stu3-consultation.json"; do
    sed '0,/"type": "collection",/s//"type": "collection", "timestamp": "2024-05-01T09:00:00Z",/' \
        "$f" > "$scratch/$(basename "$f")"
    grep -q '"timestamp"' "$scratch/$(basename "$f")" || fail "$(basename "$f"): no timestamp given"
done
for f in "$fix/fhir-battery/batteries.json" "$fix/fhir-times/instants.json" \
    "$scratch/stu3-pathology.json" "$scratch/stu3-consultation.json"; do
    twice "$(basename "$f" .json)" "$conv" fhir2ehr "$f" --sender A99001 --receiver B99002
done

# No time of its own: only the transfer's time and ids differ.
sed 's/"timestamp": *"[^"]*",//' "$fix/fhir-times/instants.json" > "$scratch/now.json"
grep -q timestamp "$scratch/now.json" && fail "the bundle still has a timestamp"
"$conv" fhir2ehr "$scratch/now.json" --sender A99001 --receiver B99002 -o "$scratch/now.1" 2> /dev/null &&
    sleep 1 &&
    "$conv" fhir2ehr "$scratch/now.json" --sender A99001 --receiver B99002 -o "$scratch/now.2" 2> /dev/null ||
    fail "fhir2ehr of a bundle without a time"
python3 - "$scratch/now.1" "$scratch/now.2" << 'END' || fail "more than the transfer differs"
import sys, xml.etree.ElementTree as ET
H = "{urn:hl7-org:v3}"
def walk(path):
    root = ET.parse(path).getroot()
    now = root.find(H + "creationTime").get("value")
    parent = {c: p for p in root.iter() for c in p}
    out = []
    for el in root.iter():
        tag = el.tag.replace(H, "")
        attrs = dict(el.attrib)
        if attrs.get("value") == now:
            attrs["value"] = "NOW"  # the run's own time
        if tag == "id" and parent.get(el) is not None and parent[el].tag.replace(H, "") in (
                "RCMR_IN030000UK07", "EhrExtract", "ehrFolder", "priorEhrRequest",
                "limitingEhrExtractSpecification"):
            attrs["root"] = "TRANSFER-ID"  # this transfer's own ids
        out.append((tag, sorted(attrs.items()), (el.text or "").strip()))
    return out
a, b = walk(sys.argv[1]), walk(sys.argv[2])
sys.exit(0 if a == b else 1)
END
cmp -s "$scratch/now.1" "$scratch/now.2" && fail "two transfers a second apart have the same message id"
echo "convert_twice: every conversion repeats itself"
