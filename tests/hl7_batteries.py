# SPDX-License-Identifier: MIT
"""Batteries through a round trip: every CompoundStatement BATTERY of SENT
(outside a laboratory report) is a BATTERY of the same id in BACK, holding
each of its member statements (by id) with the same value.

usage: hl7_batteries.py [--observations] SENT.xml BACK.xml
--observations: only the ObservationStatement members (a FHIR bundle that
does not link a battery's comment to it cannot give it back)."""
import sys, xml.etree.ElementTree as ET
NS = "{urn:hl7-org:v3}"
args = sys.argv[1:]
STMTS = ("ObservationStatement", "NarrativeStatement", "CompoundStatement")
if args and args[0] == "--observations":
    STMTS = ("ObservationStatement",)
    args = args[1:]
def batteries(path):
    root = ET.parse(path).getroot()
    parent = {c: p for p in root.iter() for c in p}
    out = {}
    for cs in root.iter(NS + "CompoundStatement"):
        if cs.get("classCode") != "BATTERY":
            continue
        # Inside a laboratory report (16488004): fhir2ehr_pathology.sh checks those.
        up, lab = cs, False
        while up in parent:
            up = parent[up]
            c = up.find(NS + "code")
            lab = lab or (up.tag == NS + "CompoundStatement" and c is not None and c.get("code") == "16488004")
        if lab:
            continue
        i = cs.find(NS + "id").get("root")
        members = {}
        for comp in cs.findall(NS + "component"):
            for st in comp:
                if st.tag.replace(NS, "") in STMTS:
                    v = st.find(NS + "value")
                    members[st.find(NS + "id").get("root")] = None if v is None else (v.get("value"), v.get("code"))
        out[i] = members
    return out
sent, back = batteries(args[0]), batteries(args[1])
bad = 0
for i, members in sent.items():
    if i not in back:
        print(f"battery {i}: not a BATTERY back"); bad += 1; continue
    for m, v in members.items():
        if m not in back[i]:
            print(f"battery {i}: member {m} not inside it"); bad += 1
        elif back[i][m] != v:
            print(f"battery {i}: member {m} value {back[i][m]} sent {v}"); bad += 1
print(f"batteries: {len(sent)} sent, {len(sent) - sum(1 for i in sent if i not in back)} back")
sys.exit(1 if bad else 0)
