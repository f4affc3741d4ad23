#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints the statement tree of a GP2GP extract's compositions, one line a
statement, indented by nesting: the element, its classCode, its code (or the
first line of a narrative's text and the rest of its text on one line). Ids
and times are left out, so the outline of a conversion can be compared with
a committed one. Usage: hl7_outline.py EXTRACT.xml"""
import sys
import xml.etree.ElementTree as ET

HL7 = "{urn:hl7-org:v3}"
STATEMENTS = {"ObservationStatement", "NarrativeStatement", "CompoundStatement",
              "PlanStatement", "RequestStatement", "LinkSet", "MedicationStatement"}


def line(el):
    name = el.tag[len(HL7):]
    parts = [name, el.get("classCode", "")]
    code = el.find(HL7 + "code")
    if code is not None:
        parts.append(code.get("code") or "nullFlavor=" + (code.get("nullFlavor") or ""))
    ids = el.findall(HL7 + "id")
    if len(ids) > 1 and ids[1].get("extension"):
        parts.append("id:" + ids[1].get("extension"))
    spec = el.find(HL7 + "specimen/" + HL7 + "specimenRole")
    if spec is not None:
        acc = [i.get("extension") for i in spec.findall(HL7 + "id") if i.get("extension")]
        desc = spec.find(HL7 + "specimenSpecimenMaterial/" + HL7 + "desc")
        parts.append("specimen:%s:%s" % (",".join(acc), desc.text if desc is not None else ""))
    for tag in ("value", "interpretationCode"):
        v = el.find(HL7 + tag)
        if v is not None:
            parts.append("%s:%s" % (tag, v.get("value") or v.get("code") or ""))
    if el.find(HL7 + "confidentialityCode") is not None:
        parts.append("NOPAT")
    text = el.find(HL7 + "text")
    if text is not None and text.text:
        parts.append("text:" + " | ".join(t.strip() for t in text.text.strip().split("\n")
                                          if t.strip()))
    for p in el.findall(HL7 + "Participant"):
        parts.append("Participant:" + (p.get("typeCode") or ""))
    return " ".join(p for p in parts if p)


def walk(el, depth, out):
    for comp in el.findall(HL7 + "component"):
        for st in comp:
            if st.tag[len(HL7):] in STATEMENTS:
                out.append("  " * depth + line(st))
                if st.tag == HL7 + "CompoundStatement":
                    walk(st, depth + 1, out)


def main():
    root = ET.parse(sys.argv[1]).getroot()
    out = []
    for comp in root.iter(HL7 + "ehrComposition"):
        out.append("ehrComposition " + (comp.find(HL7 + "code").get("code") or ""))
        walk(comp, 1, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
