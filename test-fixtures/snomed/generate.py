#!/usr/bin/env python3
"""Writes the synthetic RF2 snapshot in this folder (run it from anywhere).

Every component id made up here is in the namespace 9999999 (item, namespace,
partition 10/11/12, Verhoeff check digit) and every made-up term starts with
SYNTHETIC, so nothing here can be taken for licensed content. The real
concept ids are public ones the product needs: the SNOMED CT top concepts, the
five immunisation roots of the national GP2GP requesting adaptor, and the CSE
marker codes of DESIGN.md; their description ids are synthetic."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

_D = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],
      [3,4,0,1,2,8,9,5,6,7],[4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],
      [6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],[8,7,6,5,9,3,2,1,0,4],
      [9,8,7,6,5,4,3,2,1,0]]
_P = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],
      [8,9,1,6,0,4,3,5,2,7],[9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],
      [2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]]
_INV = [0,4,3,2,1,5,6,7,8,9]


def verhoeff_ok(num):
    c = 0
    for i, ch in enumerate(reversed(num)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def sct(item, partition):
    base = "%d9999999%s" % (item, partition)
    for d in "0123456789":
        if verhoeff_ok(base + d):
            return base + d
    raise AssertionError


MODULE = sct(1000, "10")  # SYNTHETIC test module
ISA = "116680003"
FSN, SYN = "900000000000003001", "900000000000013009"
PREF, ACCEPT = "900000000000548007", "900000000000549004"
UK_CLINICAL, UK_DRUG = "999001261000000100", "999000691000001104"
PRIMITIVE = "900000000000074008"
INFERRED, EXISTENTIAL = "900000000000011006", "900000000000451002"
CI = "900000000000448009"

C_VAX = sct(1001, "10")          # is-a 127785005
C_BOOSTER = sct(1002, "10")      # is-a C_VAX: two steps below a root
C_RETIRED = sct(1003, "10")      # inactive; only an inactive is-a to 127785005
C_NOT_VAX = sct(1004, "10")      # a procedure, attribute-linked to 127785005
C_STATUS = sct(1005, "10")       # is-a 304250009
C_PRODUCT = sct(1006, "10")      # UK package: is-a 787859002, drug-refset term
C_CHANGED = sct(1007, "10")      # active in INT, inactive later in UK package
C_ATTR = sct(1009, "10")         # SYNTHETIC attribute

# (id, active, FSN, preferred synonym)
INT_CONCEPTS = [
    ("138875005", 1, "SNOMED CT Concept (SNOMED RT+CTV3)", "SNOMED CT Concept"),
    (ISA, 1, "Is a (attribute)", "Is a"),
    ("404684003", 1, "Clinical finding (finding)", "Clinical finding"),
    ("71388002", 1, "Procedure (procedure)", "Procedure"),
    ("243796009", 1, "Situation with explicit context (situation)",
     "Situation with explicit context"),
    ("763158003", 1, "Medicinal product (product)", "Medicinal product"),
    ("787859002", 1, "Vaccine product (medicinal product)", "Vaccine product"),
    ("127785005", 1,
     "Administration to produce immunity, either active or passive (procedure)",
     "Administration to produce immunity, either active or passive"),
    ("304250009", 1, "Immunization status (finding)", "Immunisation status"),
    ("90351000119108", 1, "Vaccination not done (situation)", "Vaccination not done"),
    ("713404003", 1, "Vaccination given (situation)", "Vaccination given"),
    ("716565009", 1, "At increased risk of child sexual exploitation (finding)",
     "At risk of child sexual exploitation"),
    ("713834002", 1, "Victim of child sexual exploitation (finding)",
     "Victim of child sexual exploitation"),
    ("919461000000108", 1, "At risk of sexual exploitation (finding)",
     "At risk of sexual exploitation"),
    (MODULE, 1, "SYNTHETIC test module (core metadata concept)", "SYNTHETIC test module"),
    (C_VAX, 1, "SYNTHETIC vaccination procedure (procedure)",
     "SYNTHETIC vaccination procedure"),
    (C_BOOSTER, 1, "SYNTHETIC booster vaccination procedure (procedure)",
     "SYNTHETIC booster vaccination"),
    (C_RETIRED, 0, "SYNTHETIC retired vaccination procedure (procedure)",
     "SYNTHETIC retired vaccination"),
    (C_NOT_VAX, 1, "SYNTHETIC procedure that is not a vaccination (procedure)",
     "SYNTHETIC non-vaccination procedure"),
    (C_STATUS, 1, "SYNTHETIC immunisation status finding (finding)",
     "SYNTHETIC immunisation status"),
    (C_CHANGED, 1, "SYNTHETIC concept inactivated by the extension (finding)",
     "SYNTHETIC concept inactivated later"),
    (C_ATTR, 1, "SYNTHETIC attribute (attribute)", "SYNTHETIC attribute"),
]
UK_CONCEPTS = [
    (C_PRODUCT, 1, "SYNTHETIC vaccine product (medicinal product)",
     "SYNTHETIC vaccine product"),
]

# The codes the national requesting adaptor made Immunizations in the PWTP
# extracts of ../shared/conformance (PWTP5, PWTP6). Their real terms and
# their real place below the immunisation roots are in the licensed release
# only; here each has a SYNTHETIC term and one is-a straight to 127785005,
# standing in for its path in the real hierarchy, so that
# tests/pwtp_conformance.sh can show the difference going away with a release.
PWTP_INT_VAX = ["38598009", "314414007", "314415008", "414259000", "415507003",
                "415712004", "428975001"]
PWTP_UK_VAX = ["247631000000101", "247641000000105"]


def stand_in(cid):
    return (cid, 1, "SYNTHETIC stand-in for %s (procedure)" % cid,
            "SYNTHETIC stand-in for %s" % cid)


INT_CONCEPTS += [stand_in(c) for c in PWTP_INT_VAX]
UK_CONCEPTS += [stand_in(c) for c in PWTP_UK_VAX]

# (source, destination, type, active)
INT_RELS = [
    ("404684003", "138875005", ISA, 1), ("71388002", "138875005", ISA, 1),
    ("243796009", "138875005", ISA, 1), ("763158003", "138875005", ISA, 1),
    (ISA, "138875005", ISA, 1), (C_ATTR, "138875005", ISA, 1),
    (MODULE, "138875005", ISA, 1),
    ("787859002", "763158003", ISA, 1), ("127785005", "71388002", ISA, 1),
    ("304250009", "404684003", ISA, 1), ("90351000119108", "243796009", ISA, 1),
    ("713404003", "243796009", ISA, 1),
    ("716565009", "404684003", ISA, 1), ("713834002", "404684003", ISA, 1),
    ("919461000000108", "404684003", ISA, 1),
    (C_VAX, "127785005", ISA, 1), (C_BOOSTER, C_VAX, ISA, 1),
    (C_RETIRED, "127785005", ISA, 0),
    (C_NOT_VAX, "71388002", ISA, 1), (C_NOT_VAX, "127785005", C_ATTR, 1),
    (C_STATUS, "304250009", ISA, 1), (C_CHANGED, "404684003", ISA, 1),
]
UK_RELS = [(C_PRODUCT, "787859002", ISA, 1)]
INT_RELS += [(c, "127785005", ISA, 1) for c in PWTP_INT_VAX]
UK_RELS += [(c, "127785005", ISA, 1) for c in PWTP_UK_VAX]

counter = {"desc": 3000, "rel": 2000, "uuid": 0}


def crlf(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write("\t".join(header) + "\r\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\r\n")


def uuid():
    counter["uuid"] += 1
    return "5e7a0000-0000-4000-8000-%012d" % counter["uuid"]


def package(folder, tag, date, concepts, rels, extra_concepts=(), extra_desc=(),
            extra_lang=(), pref_refset=UK_CLINICAL):
    term = os.path.join(HERE, folder, "Snapshot", "Terminology")
    lang = os.path.join(HERE, folder, "Snapshot", "Refset", "Language")
    crow, drow, rrow, lrow = [], [], [], []
    for cid, active, fsn, syn in concepts:
        crow.append((cid, date, active, MODULE, PRIMITIVE))
        for typ, text in ((FSN, fsn), (SYN, syn)):
            counter["desc"] += 1
            did = sct(counter["desc"], "11")
            drow.append((did, date, 1, MODULE, cid, "en", typ, text, CI))
            lrow.append((uuid(), date, 1, MODULE, pref_refset, did, PREF))
    crow.extend(extra_concepts)
    drow.extend(extra_desc)
    lrow.extend(extra_lang)
    for src, dst, typ, active in rels:
        counter["rel"] += 1
        rrow.append((sct(counter["rel"], "12"), date, active, MODULE, src, dst, 0, typ,
                     INFERRED, EXISTENTIAL))
    crlf(os.path.join(term, "sct2_Concept_%sSnapshot_%s_%s.txt" % (tag[0], tag[1], date)),
         ["id", "effectiveTime", "active", "moduleId", "definitionStatusId"], crow)
    crlf(os.path.join(term, "sct2_Description_%sSnapshot-en_%s_%s.txt" % (tag[0], tag[1],
                                                                         date)),
         ["id", "effectiveTime", "active", "moduleId", "conceptId", "languageCode",
          "typeId", "term", "caseSignificanceId"], drow)
    crlf(os.path.join(term, "sct2_Relationship_%sSnapshot_%s_%s.txt" % (tag[0], tag[1],
                                                                       date)),
         ["id", "effectiveTime", "active", "moduleId", "sourceId", "destinationId",
          "relationshipGroup", "typeId", "characteristicTypeId", "modifierId"], rrow)
    crlf(os.path.join(lang, "der2_cRefset_Language%sSnapshot-en_%s_%s.txt" % (tag[0],
                                                                              tag[1], date)),
         ["id", "effectiveTime", "active", "moduleId", "refsetId",
          "referencedComponentId", "acceptabilityId"], lrow)
    return term


def main():
    int_date, uk_date = "20250101", "20250401"
    counter["desc"] = 3000
    # Extra INT rows: an inactive synonym of 716565009, an acceptable (not
    # preferred) synonym, and a synonym of the vaccination concept whose
    # preferred row was inactivated.
    retired_syn = sct(3900, "11")
    acceptable_syn = sct(3901, "11")
    old_pref = sct(3902, "11")
    extra_desc = [
        (retired_syn, int_date, 0, MODULE, "716565009", "en", SYN,
         "SYNTHETIC retired synonym", CI),
        (acceptable_syn, int_date, 1, MODULE, "716565009", "en", SYN,
         "At increased risk of child sexual exploitation", CI),
        (old_pref, int_date, 1, MODULE, C_VAX, "en", SYN,
         "SYNTHETIC old preferred term", CI),
    ]
    extra_lang = [
        (uuid(), int_date, 1, MODULE, UK_CLINICAL, acceptable_syn, ACCEPT),
        (uuid(), int_date, 0, MODULE, UK_CLINICAL, old_pref, PREF),
    ]
    term = package("SnomedCT_SyntheticINT_TEST_20250101", ("", "INT"), int_date,
                   INT_CONCEPTS, INT_RELS, extra_desc=extra_desc, extra_lang=extra_lang)
    # Files that must not be read: a stated relationship file that would make
    # the non-vaccination procedure a vaccination, and a Delta file that is
    # not RF2 at all.
    crlf(os.path.join(term, "sct2_StatedRelationship_Snapshot_INT_%s.txt" % int_date),
         ["id", "effectiveTime", "active", "moduleId", "sourceId", "destinationId",
          "relationshipGroup", "typeId", "characteristicTypeId", "modifierId"],
         [(sct(2900, "12"), int_date, 1, MODULE, C_NOT_VAX, "127785005", 0, ISA,
           "900000000000010007", EXISTENTIAL)])
    crlf(os.path.join(term, "sct2_Concept_Delta_INT_%s.txt" % int_date),
         ["this is not read"], [])
    counter["desc"] = 3500
    counter["rel"] = 2500
    package("SnomedCT_SyntheticUK_TEST_20250401", ("UKCL", "TEST9999999"), uk_date,
            UK_CONCEPTS, UK_RELS,
            extra_concepts=[(C_CHANGED, uk_date, 0, MODULE, PRIMITIVE)],
            pref_refset=UK_DRUG)
    with open(os.path.join(HERE, "ids.txt"), "w") as f:
        for name in ("MODULE", "C_VAX", "C_BOOSTER", "C_RETIRED", "C_NOT_VAX", "C_STATUS",
                     "C_PRODUCT", "C_CHANGED", "C_ATTR"):
            f.write("%s %s\n" % (name, globals()[name]))
        f.write("D_RETIRED_SYN %s\nD_ACCEPTABLE_SYN %s\nD_OLD_PREF %s\n" %
                (retired_syn, acceptable_syn, old_pref))


if __name__ == "__main__":
    main()
