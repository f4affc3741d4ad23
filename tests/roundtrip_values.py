#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The values of a GP2GP extract that must survive a round trip
(UK06/UK07 -> cse-convert ehr2fhir -> FHIR -> cse-convert fhir2ehr -> UK07).

Usage: roundtrip_values.py SENT.xml BACK.xml

Compares every number of a statement's quantity or range value and of its
reference ranges (value, low, high, as written: the unit may change form, "1"
with a translation becoming the UCUM unit), as a multiset; every code of a statement's coded value, which
must come back as a code somewhere; and the number of NOPAT labels. EMIS's
"ALLERGY-..." pseudo-codes are left aside: the requesting adaptor, and
ehr2fhir with it, reads an allergy by its code and drops them, so they are
not in the FHIR that is sent back. Prints each loss and exits 1 on any."""
import collections
import sys
import xml.etree.ElementTree as ET

NS = "{urn:hl7-org:v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
STATEMENTS = ("ObservationStatement", "RequestStatement", "PlanStatement")


def load(path):
    numbers, coded, codes, nopat = collections.Counter(), set(), set(), 0
    for el in ET.parse(path).iter():
        tag = el.tag.replace(NS, "")
        if el.get("code"):
            codes.add(el.get("code"))
        if tag == "confidentialityCode" and el.get("code") == "NOPAT":
            nopat += 1
        if tag not in STATEMENTS:
            continue
        for v in el.findall(NS + "value"):
            if v.get(XSI_TYPE) in ("PQ", "IVL_PQ"):
                for x in [v] + [c for c in v if c.tag.replace(NS, "") in ("low", "high")]:
                    if x.get("value"):
                        numbers[x.get("value")] += 1
            elif v.get("code") and not v.get("code").startswith("ALLERGY-"):
                coded.add(v.get("code"))
        for rr in el.findall(NS + "referenceRange"):
            for v in rr.iter(NS + "value"):
                for x in v:
                    if x.tag.replace(NS, "") in ("low", "high") and x.get("value"):
                        numbers["range " + x.get("value")] += 1
    return numbers, coded, codes, nopat


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sent, back = load(sys.argv[1]), load(sys.argv[2])
    lost = []
    for num, n in sorted((sent[0] - back[0]).items()):
        lost.append("number %s (%d)" % (num, n))
    for code in sorted(sent[1] - back[2]):
        lost.append("coded value %s" % code)
    if back[3] < sent[3]:
        lost.append("NOPAT labels: %d sent, %d back" % (sent[3], back[3]))
    for x in lost:
        print("lost: " + x)
    print("values: %d numbers, %d coded values, %d labels; %d lost"
          % (sum(sent[0].values()), len(sent[1]), sent[3], len(lost)))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
