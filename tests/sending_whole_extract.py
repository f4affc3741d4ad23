# SPDX-License-Identifier: MIT
"""fhir2ehr on a whole record, against the extract it came from.

usage: sending_whole_extract.py CASE ORIGINAL.xml BUNDLE.json OURS.xml

ORIGINAL is a national GP2GP test extract (PWTP), BUNDLE the FHIR STU3 record
the national requesting adaptor made of it, OURS what fhir2ehr writes from
BUNDLE. Prints one line per count (type, ours, the original's, and "ok" or
the named reason for a difference) and the SNOMED CT and drug bars; exits 1
when a count is more than 2% (or 1) off for no named reason, when a reason's
bound does not hold, when fewer than 95% of the bundle's SNOMED CT codes are
carried, or when a drug the bundle codes is written without a code."""
import collections
import json
import sys
import xml.etree.ElementTree as ET

H = "{urn:hl7-org:v3}"
SCT = "2.16.840.1.113883.2.1.3.2.4.15"
TYPES = ["ehrComposition", "ObservationStatement", "NarrativeStatement", "PlanStatement",
         "RequestStatement", "MedicationStatement", "LinkSet", "ehrSupplyAuthorise",
         "ehrSupplyPrescribe", "ehrSupplyDiscontinue", "ExternalDocument"]
LAB_REPORT = "16488004"
COMMENT_NOTE = "37331000000100"

case, orig_path, bundle_path, ours_path = sys.argv[1:5]
orig = ET.parse(orig_path).getroot()
ours = ET.parse(ours_path).getroot()
bundle = json.load(open(bundle_path))
resources = [e["resource"] for e in bundle.get("entry", [])]


def tag(el):
    return el.tag.replace(H, "")


def counts(root):
    c = collections.Counter()
    for el in root.iter():
        t = tag(el)
        if t in TYPES:
            c[t] += 1
        if t == "CompoundStatement":
            c["CompoundStatement " + el.get("classCode", "?")] += 1
    return c


def code_of(el):
    c = el.find(H + "code")
    return c.get("code") if c is not None else None


def statements(el, inside_lab=False):
    """The statements under el, a laboratory report counted as one."""
    n = 0
    for comp in el.findall(H + "component"):
        for st in comp:
            if tag(st) == "CompoundStatement" and code_of(st) != LAB_REPORT:
                n += 1 + statements(st)
            elif tag(st) in ("CompoundStatement", "ObservationStatement", "NarrativeStatement",
                             "PlanStatement", "RequestStatement", "MedicationStatement",
                             "LinkSet"):
                n += 1 + (tag(st) == "LinkSet")
    return n


ours_n, theirs_n = counts(ours), counts(orig)
encounters = {r["id"].upper() for r in resources if r["resourceType"] == "Encounter"}
reports = sum(1 for r in resources if r["resourceType"] == "DiagnosticReport")


def composition_bound():
    kept = split = 0
    for c in orig.iter(H + "ehrComposition"):
        if c.find(H + "id").get("root", "").upper() in encounters:
            kept += 1
        else:
            split += statements(c)
    return kept + split


def discontinue_only():
    return sum(1 for m in orig.iter(H + "MedicationStatement")
               if [tag(x) for comp in m.findall(H + "component") for x in comp] ==
               ["ehrSupplyDiscontinue"])


def comment_groups():
    """Compounds (not in a laboratory report) whose members are all comments."""
    n = 0
    for cs in orig.iter(H + "CompoundStatement"):
        kids = [tag(x) for comp in cs.findall(H + "component") for x in comp]
        if cs.get("classCode") in ("BATTERY", "CLUSTER") and kids and \
                all(k == "NarrativeStatement" for k in kids):
            n += 1
    return n


# Each deliberate difference: the types it covers, its reason, and the bound
# (o = ours, t = the original's) that must hold.
RULES = [
    (("ehrComposition",),
     "the requesting adaptor writes no Encounter for a non-consultation composition, so "
     "what one held comes back one composition per resource, as the sending adaptor's "
     "NonConsultationResourceMapper writes them",
     lambda o, t: t - 1 <= o <= composition_bound()),
    (("ObservationStatement",),
     "a problem whose named statement is not an Observation in the bundle gets one "
     "written, as the sending adaptor's ConditionLinkSetMapper does",
     lambda o, t: t <= o <= t + theirs_n["LinkSet"]),
    (("MedicationStatement",),
     "a discontinuation is written inside its plan's MedicationStatement "
     "(MedicationStatementMapper), and a further order of an acute plan comes back "
     "with the plan's copy the requesting adaptor writes",
     lambda o, t: o == t - discontinue_only() + ours_n["ehrSupplyAuthorise"]
     - theirs_n["ehrSupplyAuthorise"]),
    (("ehrSupplyAuthorise",),
     "a further order of an acute plan comes back with the plan's copy the requesting "
     "adaptor writes",
     lambda o, t: t <= o <= t + theirs_n["ehrSupplyPrescribe"]),
    (("CompoundStatement BATTERY", "CompoundStatement CLUSTER"),
     "FHIR carries no compound class: a group with a coded member is a BATTERY "
     "(the sending adaptor's prepareClassCode), and a group of comments only, which the "
     "requesting adaptor does not link to it, is an ObservationStatement",
     lambda o, t: abs((ours_n["CompoundStatement BATTERY"] + ours_n["CompoundStatement CLUSTER"])
                      - (theirs_n["CompoundStatement BATTERY"]
                         + theirs_n["CompoundStatement CLUSTER"])) <= comment_groups() + 1),
    (("NarrativeStatement",),
     "a laboratory report's comments as the sending adaptor's DiagnosticReportMapper "
     "writes them (status, filing date, participants, specimen and result comments)",
     lambda o, t: reports > 0 and abs(o - t) <= 2 * reports),
]

bad = 0
for t in sorted(set(ours_n) | set(theirs_n)):
    o, th = ours_n[t], theirs_n[t]
    if abs(o - th) <= max(1, 0.02 * th):
        print(f"{case} {t}: {o} / {th} ok")
        continue
    rule = next((r for r in RULES if t in r[0]), None)
    if rule and rule[2](o, th):
        print(f"{case} {t}: {o} / {th} deliberate: {rule[1]}")
    else:
        print(f"{case} {t}: {o} / {th} DIFFERS" + (" (beyond its named bound)" if rule else ""))
        bad += 1

# SNOMED CT codes of the bundle carried: every code of a clinical resource
# (List codes are structure; a comment note is a NarrativeStatement, which has
# no code, as the adaptor writes it), a picked description by its id.
ours_codes = {el.get("code") for el in ours.iter() if el.get("codeSystem") == SCT}
wanted = {}


def walk(x, rt):
    if isinstance(x, dict):
        rt = x.get("resourceType", rt)
        if x.get("system") == "http://snomed.info/sct" and x.get("code") and rt != "List" \
                and x["code"] != COMMENT_NOTE:
            alt = [str(s.get("valueId")) for e in x.get("extension", [])
                   for s in e.get("extension", []) if s.get("url") == "descriptionId"]
            wanted[str(x["code"])] = alt
        for v in x.values():
            walk(v, rt)
    elif isinstance(x, list):
        for v in x:
            walk(v, rt)


walk(bundle, None)
carried = sum(1 for c, alt in wanted.items() if c in ours_codes or set(alt) & ours_codes)
share = carried / max(len(wanted), 1)
print(f"{case} SNOMED CT codes of the bundle carried: {carried} / {len(wanted)}"
      + ("" if share >= 0.95 else " BELOW 95%"))
bad += share < 0.95

# No drug without a code where the bundle codes it.
meds = {r["id"]: r for r in resources if r["resourceType"] == "Medication"}
coded = sum(1 for r in resources if r["resourceType"] == "MedicationRequest"
            and (r.get("medicationCodeableConcept", {}).get("coding")
                 or meds.get(r.get("medicationReference", {}).get("reference", "").split("/")[-1],
                             {}).get("code", {}).get("coding")))
uncoded = sum(1 for m in ours.iter(H + "manufacturedMaterial")
              if m.find(H + "code") is None or m.find(H + "code").get("nullFlavor"))
drugs = sum(1 for _ in ours.iter(H + "manufacturedMaterial"))
print(f"{case} drugs written without a code: {uncoded} of {drugs} (the bundle codes {coded} "
      f"MedicationRequests)")
requests = sum(1 for r in resources if r["resourceType"] == "MedicationRequest")
bad += uncoded > requests - coded
sys.exit(1 if bad else 0)
