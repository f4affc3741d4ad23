#!/bin/sh
# SPDX-License-Identifier: MIT
# End to end through cse-host and the module only: practice A flags a child
# and exports GP2GP; practice B (another folder, another journal) imports;
# B's alert equals A's, B's online view shows no marker and no NOPAT item, and
# both journals verify. Then the same transfer through a system without this
# module (annotation and labels stripped): what B still recovers and reports.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
# The test build of cse-host: --today fixes the clinical dates (the audit
# journal keeps the system's time).
host="$top_builddir/tests/cse-host-test"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
for p in a b c; do mkdir -p "$scratch/$p/rec" "$scratch/$p/j" || exit 99; done
printf '%064d\n' 1 > "$scratch/a/key"; printf '%064d\n' 2 > "$scratch/b/key"
cp "$scratch/b/key" "$scratch/c/key"; chmod 600 "$scratch"/*/key
cp "$fx/child.json" "$scratch/a/rec/sam.json"
P() { p=$1; ods=$2; shift 2
      "$host" --records "$scratch/$p/rec" --journal "$scratch/$p/j" --key "$scratch/$p/key" \
          --user "G-$p" --role gp --ods "$ods" --today 2025-03-14 "$@"; }

# Practice A: one marker reviewed, one ended.
m1=$(P a A11111 flag sam 716565009 --start 2024-11-20) || fail "flag 1"
P a A11111 review sam "$m1" --next 2025-06-30 || fail "review"
m2=$(P a A11111 flag sam 713834002 --start 2023-05-02) || fail "flag 2"
P a A11111 end sam "$m2" --reason reached-adulthood || fail "end"
P a A11111 open sam > "$scratch/alert-a.json" || fail "open at A"
grep -q '"review_due": "2025-06-30"' "$scratch/alert-a.json" || fail "A's alert: $(cat "$scratch/alert-a.json")"
# The Flags and Observations the module wrote validate against our profiles.
if [ -n "$CSE_NODE_MODULES" ] && [ -d "$CSE_NODE_MODULES" ] && command -v node >/dev/null; then
    mkdir "$scratch/fhir"
    node -e 'const fs = require("fs"); const b = JSON.parse(fs.readFileSync(process.argv[1]));
        for (const e of b.entry) { const r = e.resource;
            if (r.resourceType === "Flag" || (r.meta && r.meta.profile))
                fs.writeFileSync(process.argv[2] + "/" + r.resourceType + "-" + r.id + ".json",
                                 JSON.stringify(r)); }' "$scratch/a/rec/sam.json" "$scratch/fhir" ||
        fail "cannot split the record"
    [ "$(ls "$scratch/fhir" | wc -l)" -eq 4 ] || fail "expected 2 Flags + 2 Observations"
    CSE_NODE_MODULES="$CSE_NODE_MODULES" node "$top_srcdir/fhir-profiles/tools/validate.mjs" \
        "$scratch"/fhir/*.json > "$scratch/val" 2>&1 || fail "profile validation: $(cat "$scratch/val")"
else
    echo "note: FHIR profile validation skipped (no node or CSE_NODE_MODULES)" >&2
fi
P a A11111 export sam -o "$scratch/sam.xml" --to B22222 || fail "export"
grep -q 'RCMR_IN030000UK07' "$scratch/sam.xml" || fail "the export is not UK07"
[ "$(grep -c 'code="NOPAT"' "$scratch/sam.xml")" -ge 3 ] || fail "too few NOPAT labels in the export"
xsd="$CSE_SHARED_DIR/conformance/nia/xsd/Schemas/RCMR_IN030000UK07.xsd"
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$xsd" ] && command -v "${XMLLINT:-xmllint}" >/dev/null; then
    "${XMLLINT:-xmllint}" --noout --nonet --schema "$xsd" "$scratch/sam.xml" 2>"$scratch/e" ||
        fail "the export fails the UK07 schema: $(tail -3 "$scratch/e")"
else
    echo "note: UK07 schema check skipped (no CSE_SHARED_DIR or xmllint)" >&2
fi

# Practice B imports: same alert, nothing for review, a hidden online view.
P b B22222 import "$scratch/sam.xml" > "$scratch/import-b.txt" || fail "import at B exited $?"
grep -q '^imported 9990000018$' "$scratch/import-b.txt" || fail "import: $(cat "$scratch/import-b.txt")"
[ "$(grep -c '"annotated": true' "$scratch/import-b.txt")" -eq 2 ] || fail "markers not annotated"
P b B22222 open 9990000018 > "$scratch/alert-b.json" || fail "open at B"
diff -u "$scratch/alert-a.json" "$scratch/alert-b.json" || fail "B's alert differs from A's"
P b B22222 online-view 9990000018 > "$scratch/view-b.json" || fail "online-view at B"
grep -q '"resourceType": "Patient"' "$scratch/view-b.json" || fail "the view lost the patient"
for bad in NOPAT '"Flag"' 716565009 713834002 "$m1" "$m2" 225368008 cse-risk-marker; do
    grep -q -- "$bad" "$scratch/view-b.json" && fail "online view at B shows $bad"
done
P a A11111 audit verify > "$scratch/va" || fail "A's journal: $(cat "$scratch/va")"
P b B22222 audit verify > "$scratch/vb" || fail "B's journal: $(cat "$scratch/vb")"
# Each action is an intention and its outcome; an export or import has an
# intention per marker carried and one outcome.
grep -q '"entries": 11' "$scratch/va" || fail "A: 4 actions x 2 + 2 exported markers + 1 expected: $(cat "$scratch/va")"
grep -q '"entries": 3' "$scratch/vb" || fail "B: 2 imported markers + 1 expected: $(cat "$scratch/vb")"
grep -q '"unconfirmed_count": 0' "$scratch/va" || fail "A: an action without its outcome: $(cat "$scratch/va")"

# Through a system without csemarker: annotations and labels gone.
sed -e 's#<text>CSE marker v1[^<]*</text>#<text>Reviewed by GP</text>#' \
    -e 's#<confidentialityCode[^>]*/>##g' "$scratch/sam.xml" > "$scratch/foreign.xml"
grep -q 'NOPAT\|CSE marker v1' "$scratch/foreign.xml" && fail "strip failed"
P c B22222 import "$scratch/foreign.xml" > "$scratch/import-c.txt"; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 5 ] || fail "foreign import exited $rc"
[ "$(grep -c '"annotated": false' "$scratch/import-c.txt")" -eq 2 ] ||
    fail "both markers should be restored, flagged as without annotation: $(cat "$scratch/import-c.txt")"
grep -q '"arrived_with_nopat": true' "$scratch/import-c.txt" && fail "labels reported present"
P c B22222 open 9990000018 > "$scratch/alert-c.json" || fail "open at C"
# Still an alert for both codes; the review date falls back to start + 6 months.
grep -q '"code": "716565009"' "$scratch/alert-c.json" || fail "C lost marker 1"
grep -q '"code": "713834002"' "$scratch/alert-c.json" || fail "C lost marker 2"
grep -q '"review_due": "2025-05-20"' "$scratch/alert-c.json" || fail "C: default review: $(cat "$scratch/alert-c.json")"
P c B22222 online-view 9990000018 > "$scratch/view-c.json" || fail "online-view at C"
for bad in '"Flag"' 716565009 713834002; do
    grep -q -- "$bad" "$scratch/view-c.json" && fail "online view at C shows $bad"
done
P c B22222 audit verify >/dev/null || fail "C's journal"
echo "plugin e2e: ok"
