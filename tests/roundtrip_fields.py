#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Field-level comparison of a FHIR bundle with what comes back after a round
trip (FHIR -> cse-convert fhir2ehr -> UK07 -> cse-convert ehr2fhir -> FHIR).

Usage: roundtrip_fields.py COMPARE_FIELDS_PY BACK.json ORIGINAL.json [--detail]

The fields and how each compares are those of ../shared/tools/compare-fields.py
(codes as sets, dates to the day, quantities as value and unit, medication
codes through medicationReference, NOPAT), loaded from COMPARE_FIELDS_PY. Only
the pairing differs: compare-fields pairs resources by id, which both national
adaptors take from the GP2GP statement, but a round trip cannot keep an id
that is not a UUID (GP2GP ids are UUIDs; fhir2ehr derives one from it), so a
resource is paired with the one of its kind that came back with the same id
(or the same id in upper case), else with the one of its kind, not yet paired,
that agrees with it on the most fields. A resource with nothing of its kind
left misses all its fields. Prints 'fields: MATCHED/TOTAL (P%)' last."""
import importlib.util
import sys


def load_tool(path):
    spec = importlib.util.spec_from_file_location("compare_fields", path)
    mod = importlib.util.module_from_spec(spec)
    argv = sys.argv
    sys.argv = [path, "/dev/null", "/dev/null"]  # the tool runs main() on import
    try:
        with open("/dev/null", "w") as devnull:
            saved, sys.stdout = sys.stdout, devnull
            try:
                spec.loader.exec_module(mod)
            except Exception:
                pass
            finally:
                sys.stdout = saved
    finally:
        sys.argv = argv
    return mod


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    cf = load_tool(sys.argv[1])
    back, orig = cf.load(sys.argv[2]), cf.load(sys.argv[3])
    detail = "--detail" in sys.argv[4:]
    bi = {(r.get("resourceType"), r.get("id")): r for r in back}
    oi = {(r.get("resourceType"), r.get("id")): r for r in orig}

    def kind(r):
        t = r.get("resourceType")
        return cf.KIND.get(t, t)

    def checks(r):
        f = cf.FIELDS.get(kind(r), {})
        return [(n, fn) for n, fn in f.items() if fn(r, oi) is not None] + [("NOPAT", None)]

    def agrees(o, r, n, fn):
        if fn is None:
            return cf.nopat(o) == cf.nopat(r)
        return fn(o, bi) == fn(r, oi)

    free = {}
    for o in back:
        free.setdefault(kind(o), []).append(o)
    pairs = []
    rest = []
    for r in orig:
        if kind(r) not in cf.FIELDS:
            continue
        rid = str(r.get("id", ""))
        same = [o for o in free.get(kind(r), []) if str(o.get("id", "")) in (rid, rid.upper())]
        if same:
            free[kind(r)].remove(same[0])
            pairs.append((r, same[0]))
        else:
            rest.append(r)
    for r in rest:
        cands = free.get(kind(r), [])
        best, score = None, -1
        for o in cands:
            s = sum(agrees(o, r, n, fn) for n, fn in checks(r))
            if s > score:
                best, score = o, s
        if best is not None:
            cands.remove(best)
        pairs.append((r, best))

    total = matched = 0
    for r, o in pairs:
        for n, fn in checks(r):
            total += 1
            if o is not None and agrees(o, r, n, fn):
                matched += 1
            elif detail:
                print("  %s/%s %s: back %r sent %r" % (
                    kind(r), r.get("id"), n,
                    None if o is None else (cf.nopat(o) if fn is None else fn(o, bi)),
                    cf.nopat(r) if fn is None else fn(r, oi)))
    print("fields: %d/%d (%.0f%%)" % (matched, total, 100.0 * matched / max(total, 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
