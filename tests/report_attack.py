#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An attacker's solver over published cse-report outputs (tests/report_differencing.sh).

The attacker asks for many merges of chosen practices (all, all but one,
every pair, each alone; quarters and one-day periods), reads the protected
CSVs, and knows the disclosure rules exactly (aggregate/report.c): 0 stays
0, 1..T is redacted, other counts round to the nearest multiple of B, a
numerator is redacted when its denominator is, or when the difference
denominator - numerator is 1..T exactly or as published. The solver keeps
every world of true counts consistent with every publication (exact integer
reasoning: enumeration where the candidate worlds are few, bounds
propagation over sums otherwise) and reports every count of 1..T that all
consistent worlds agree on: a recovered cell.

  report_attack.py --linkage fixed|per-merge --expect none|some DIR

DIR holds, per publication ID, ID.set (the practices merged, one per line),
ID.csv (the protected report) and, in per-merge mode, ID.linked.json (the
linked counts of that merge, for the truth check); truth.csv (the
unprotected report of every practice, ICS-wide linkage) is the truth of the
fixed cells.

Models. Five measures are per-practice counts, the same in every merge
whatever the mode. The transfer measure: with --linkage fixed (this release)
a practice's cell is one fixed count, and the solver first checks that no
cell differs between two merges; with --linkage per-merge (linkage computed
from the partials merged, as before link existed) a receiving practice R's
cell in merge S sums the unknown flows s->R over the senders s in S, and the
solver solves for those flows.

Every recovered value is checked against the truth: a value that differs
means the model is wrong, and the solver fails rather than report it."""
import csv
import itertools
import json
import os
import sys

T = 7
B = 5
LIMIT = 60000


def protect(v):
    if v == 0:
        return 0
    if v <= T:
        return -1
    r = ((v + B // 2) // B) * B
    if r <= T:
        r = (T // B + 1) * B
    return r


def publish(n, d):
    N, D = protect(n), protect(d)
    if D < 0 and N != 0:
        N = -1
    if N >= 0 and D >= 0:
        ct, cp = d - n, D - N
        if 1 <= ct <= T or 1 <= cp <= T:
            N = -1
    return N, D


def preimage(D):
    if D == 0:
        return [0]
    if D == -1:
        return list(range(1, T + 1))
    return [v for v in range(max(0, D - B), D + B + 1) if protect(v) == D]


def value(s):
    if s == "[REDACTED]":
        return -1
    if s == "[NOT MEASURED]":
        return -2
    if s == "[NOT PUBLISHED]":
        return -3
    return int(s)


def read_csv(path):
    """Cells by (measure, start, end, practice); totals (practice ALL) by
    (measure, start, end) as (numerator, denominator, practices covered)."""
    cells, totals = {}, {}
    with open(path) as f:
        for row in csv.DictReader(f):
            key = (row["measure"], row["interval_start"], row["interval_end"])
            v = (value(row["numerator"]), value(row["denominator"]))
            if row["practice"] == "ALL":
                totals[key] = v + (int(row["practices"]),)
            else:
                if int(row["practices"]) != 1:
                    raise SystemExit("%s: a cell covers %s practices" % (path, row["practices"]))
                cells[key + (row["practice"],)] = v
    return cells, totals


TRANSFER = "cse_marker_survived_transfer"
GROUPS = [  # measures sharing a denominator are solved together
    ("cse_marker_coverage", "cse_possibly_unflagged"),
    ("cse_marker_nopat", "cse_marker_review_overdue", "cse_marker_standard_code"),
    (TRANSFER,),
]
DISJOINT = {("cse_marker_coverage", "cse_possibly_unflagged")}  # n0 + n4 <= d


def solve_group(obs, measures):
    """Feasible values of d, each n and each d - n for one practice and period."""
    Ds = {obs[m][1] for m in measures}
    if len(Ds) != 1:
        raise SystemExit("a shared denominator is published differently: %s" % (obs,))
    (D,) = Ds
    dkey = ("d", measures[0])
    feas = {dkey: set()}
    for m in measures:
        feas[(m, "n")] = set()
        feas[(m, "d-n")] = set()
    for d in preimage(D):
        ns = [[n for n in range(d + 1) if publish(n, d) == obs[m]] for m in measures]
        if any(not x for x in ns):
            continue
        if tuple(measures[:2]) in DISJOINT:
            combos = [c for c in itertools.product(*ns) if c[0] + c[1] <= d]
            if not combos:
                continue
            ns = [sorted({c[i] for c in combos}) for i in range(len(measures))]
        feas[dkey].add(d)
        for m, vals in zip(measures, ns):
            feas[(m, "n")].update(vals)
            feas[(m, "d-n")].update(d - v for v in vals)
    return feas


def propagate(lo, hi, sums):
    """Bounds consistency over constraints L <= sum(keys) <= U, in place."""
    changed = True
    while changed:
        changed = False
        for keys, L, U in sums:
            keys = [k for k in keys if k in lo]
            slo, shi = sum(lo[k] for k in keys), sum(hi[k] for k in keys)
            for k in keys:
                nlo = max(lo[k], L - (shi - hi[k]))
                nhi = min(hi[k], U - (slo - lo[k]))
                if (nlo, nhi) != (lo[k], hi[k]):
                    lo[k], hi[k], changed = nlo, nhi, True
                    slo, shi = sum(lo[j] for j in keys), sum(hi[j] for j in keys)


def main(argv):
    mode, expect, d = None, None, None
    args = argv[1:]
    while args:
        if args[0] == "--linkage":
            mode = args[1]
            args = args[2:]
        elif args[0] == "--expect":
            expect = args[1]
            args = args[2:]
        else:
            d = args[0]
            args = args[1:]
    pubs = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".set"):
            continue
        pid = name[:-4]
        with open(os.path.join(d, name)) as f:
            members = frozenset(line.strip() for line in f if line.strip())
        cells, totals = read_csv(os.path.join(d, pid + ".csv"))
        linked = None
        lp = os.path.join(d, pid + ".linked.json")
        if os.path.exists(lp):
            linked = json.load(open(lp))
        pubs.append((pid, members, cells, totals, linked))
    truth_cells = read_csv(os.path.join(d, "truth.csv"))[0] if os.path.exists(
        os.path.join(d, "truth.csv")) else {}
    recovered = []

    def found(what, v, truth):
        if truth is not None and truth != v:
            raise SystemExit("solver model is wrong: %s pinned to %d, truth %d" % (what, v, truth))
        recovered.append("%s = %d" % (what, v))

    # The fixed cells: identical in every merge (checked), then solved alone.
    fixed, varying = {}, set()
    for pid, members, cells, totals, _ in pubs:
        for k, v in cells.items():
            if k[0] == TRANSFER and mode == "per-merge":
                continue
            if v[1] == -2:
                raise SystemExit("%s: %s not measured in a linked merge" % (pid, k))
            if k in fixed and fixed[k] != v:
                varying.add(k)
            fixed.setdefault(k, v)
    if varying:
        for k in sorted(varying)[:5]:
            print("cell differs between merges: %s" % (k,))
        raise SystemExit("%d cells differ between merges" % len(varying))
    periods = sorted({(k[1], k[2], k[3]) for k in fixed})
    feasible = {}
    for start, end, p in periods:
        for measures in GROUPS:
            if measures[0] == TRANSFER and mode == "per-merge":
                continue
            obs = {m: fixed[(m, start, end, p)] for m in measures}
            for var, vals in solve_group(obs, measures).items():
                feasible[(start, end, p) + var] = vals

    # Totals: each a protected true sum over the practices it covers (the
    # practices column, checked against the merge's cells), so a sum
    # constraint, propagated over bounds with every other publication. A
    # total shown as not published ([NOT PUBLISHED]) carries nothing; a sum
    # of the published cells would carry nothing new either.
    sums = []
    n_totals = n_withheld = 0
    for pid, members, cells, totals, _ in pubs:
        for (m, start, end), (N, D, cover) in totals.items():
            if m == TRANSFER and mode == "per-merge":
                continue
            covered = [p for p in members if (m, start, end, p) in cells]
            if cover != len(covered):
                raise SystemExit("%s: the %s %s..%s total says %d practices, the merge has %d"
                                 % (pid, m, start, end, cover, len(covered)))
            if D == -3:
                n_withheld += 1
                continue
            n_totals += 1
            rows = [cells[(m, start, end, p)] for p in covered]
            full = [r for r in rows if r[0] >= 0 and r[1] >= 0]
            if (N, D) == (sum(r[0] for r in full), sum(r[1] for r in full)):
                continue
            den = ("d", next(g for g in GROUPS if m in g)[0])
            for part, val in (((m, "n"), N), (den, D)):
                # A redacted numerator may be the complement rule's doing;
                # a redacted denominator is 1..T.
                if val >= 0 or (val == -1 and part is den):
                    pre = preimage(val)
                    sums.append(([(start, end, p) + part for p in covered], min(pre), max(pre)))
    print("report_attack: %d totals published, %d not published" % (n_totals, n_withheld))
    if sums:
        lo = {k: min(v) for k, v in feasible.items()}
        hi = {k: max(v) for k, v in feasible.items()}
        propagate(lo, hi, sums)
        for k in feasible:
            feasible[k] = {v for v in feasible[k] if lo[k] <= v <= hi[k]}
    for k, vals in sorted(feasible.items()):
        if len(vals) == 1 and 1 <= min(vals) <= T:
            (v,) = vals
            start, end, p = k[:3]
            truth = None
            if k[3] == "d":
                truth = truth_cells.get((k[4], start, end, p), (None, None))[1]
            else:
                tn, td = truth_cells.get((k[3], start, end, p), (None, None))
                truth = tn if k[4] == "n" else (td - tn if td is not None else None)
            found("%s %s..%s %s" % (p, start, end, "/".join(k[3:])), v, truth)

    # Per-merge transfers: the flows s->R behind every receiver's cells.
    if mode == "per-merge":
        flows_truth = {}
        for pid, members, cells, totals, linked in pubs:
            if linked is None or len(members) != 2:
                continue
            for part in linked["partials"]:
                for c in part["cells"]:
                    if c["practice"] in members:
                        (s,) = members - {c["practice"]}
                        key = (c["interval_start"], c["interval_end"], s, c["practice"])
                        flows_truth[key] = (c["transfer"]["numerator"], c["transfer"]["denominator"])
        receivers = sorted({(k[1], k[2], k[3]) for pid, m, cells, t, l in pubs
                            for k in cells if k[0] == TRANSFER})
        skipped = 0
        for start, end, r in receivers:
            pair, cons = {}, []
            for pid, members, cells, totals, _ in pubs:
                obs = cells.get((TRANSFER, start, end, r))
                if obs is None:
                    continue
                others = sorted(members - {r})
                if len(others) == 1:
                    pair[others[0]] = obs
                if others:
                    cons.append((others, obs))
            senders = sorted(pair)
            cand = {}
            for s in senders:
                N, D = pair[s]
                amax = 0 if D == 0 else (T if D == -1 else D + B)
                cand[s] = [(w, a) for a in range(amax + 1) for w in range(a + 1)
                           if publish(w, a) == (N, D)]
            live = [s for s in senders if cand[s] != [(0, 0)]]
            size = 1
            for s in live:
                size *= len(cand[s])
            worlds = []
            if size <= LIMIT:
                idx = {s: i for i, s in enumerate(live)}
                cs = [([idx[s] for s in others if s in idx],
                       all(s in cand for s in others), obs) for others, obs in cons]
                for combo in itertools.product(*(cand[s] for s in live)):
                    ok = True
                    for ids, known, obs in cs:
                        if not known:
                            continue
                        if publish(sum(combo[i][0] for i in ids),
                                   sum(combo[i][1] for i in ids)) != obs:
                            ok = False
                            break
                    if ok:
                        worlds.append(combo)
            else:
                # Too many worlds to list: bounds over the sums instead.
                skipped += 1
                worlds = None
                lo, hi, sums = {}, {}, []
                for s in live:
                    for j, part in ((0, "w"), (1, "a")):
                        lo[(s, part)] = min(c[j] for c in cand[s])
                        hi[(s, part)] = max(c[j] for c in cand[s])
                for others, (N, D) in cons:
                    if not all(x in cand for x in others):
                        continue
                    ks = [x for x in others if x in lo or (x, "a") in lo]
                    for part, val in (("a", D), ("w", N)):
                        if val >= 0 or (val == -1 and part == "a"):
                            pre = preimage(val)
                            sums.append(([(x, part) for x in ks], min(pre), max(pre)))
                propagate(lo, hi, sums)
                for s in live:
                    cand[s] = [c for c in cand[s] if lo[(s, "w")] <= c[0] <= hi[(s, "w")]
                               and lo[(s, "a")] <= c[1] <= hi[(s, "a")]]
            for i, s in enumerate(live):
                vals = ({c[i] for c in worlds} if worlds is not None else set(cand[s]))
                tw = flows_truth.get((start, end, s, r))
                for name, f in (("with marker", lambda x: x[0]), ("arrivals", lambda x: x[1]),
                                ("lost marker", lambda x: x[1] - x[0])):
                    vs = {f(x) for x in vals}
                    if len(vs) == 1 and 1 <= min(vs) <= T:
                        found("flow %s->%s %s..%s %s" % (s, r, start, end, name), min(vs),
                              f(tw) if tw else None)
            if worlds:
                for name, f in (("with marker", lambda x: x[0]), ("arrivals", lambda x: x[1]),
                                ("lost marker", lambda x: x[1] - x[0])):
                    vs = {sum(f(x) for x in wd) for wd in worlds}
                    if len(vs) == 1 and 1 <= min(vs) <= T:
                        found("cell %s %s..%s transfer %s" % (r, start, end, name), min(vs), None)
        if skipped:
            print("report_attack: %d receiver-periods had too many candidate worlds "
                  "(bounds only)" % skipped)
    for line in recovered:
        print("RECOVERED " + line)
    print("report_attack: %s linkage, %d publications, %d cells of 1..%d recovered"
          % (mode, len(pubs), len(recovered), T))
    if expect == "none" and recovered:
        return 1
    if expect == "some" and not recovered:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
