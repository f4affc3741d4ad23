#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert fhir2ehr on a large generated record (bench/gen-bundle): it
# converts whole, every clinical resource becomes its entries, and its peak
# resident memory stays under a fixed bound, so memory does not grow with
# the number of resources (issue 13). make check converts 100,000
# resources (73 MB; the reader that held its index in ordinary memory
# peaked at 55 MB); make stress (CSE_STRESS_ROUNDS set) one million (730
# MB, larger than the 256 MiB a document held whole may be) under 64 MB,
# and no more than a quarter and 4 MB above the 100,000's peak.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
gen="$top_builddir/bench/gen-bundle"
[ -x "$gen" ] || skip "bench/gen-bundle is not built"
[ -x /usr/bin/time ] || skip "no /usr/bin/time (apt-get install time)"
sizes=100000
[ -n "${CSE_STRESS_ROUNDS:-}" ] && sizes="100000 1000000"
# Peak resident memory allowed, KB: the program and its libraries take about
# 10 MB, the read window and the writer's composition a few more, and the
# index's resident part is held to 40 MB (convert/core/farena.h).
limit_kb=${CSE_LARGE_RSS_KB:-49152}
stress_limit_kb=65536

# The real program, not libtool's wrapper script (the measure is of it alone).
real=$top_builddir/.libs/cse-convert
[ -x "$real" ] || real=$conv
if [ -x "$top_builddir/.libs/cse-convert" ]; then
    LD_LIBRARY_PATH="$top_builddir/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
fi
# Sanitizers' own memory grows with the work done: no bound under them.
measured=1
if ldd "$real" 2> /dev/null | grep -q 'lib[at]san' ||
    nm -D "$real" 2> /dev/null | grep -q '__asan_init'; then
    measured=0
fi

# Past 4 MB the index goes to a temporary file in $TMPDIR: where none can
# be made, the conversion stops with that reason (exit 4), writing nothing.
"$gen" --resources 20000 20261203 > "$scratch/mid.json" || fail "gen-bundle failed"
TMPDIR=$scratch/no-such-dir "$real" fhir2ehr --receiver Y01002 "$scratch/mid.json" \
    -o "$scratch/mid.xml" 2> "$scratch/err"
rc=$?
[ $rc -eq 4 ] || fail "no TMPDIR: exit $rc, expected 4: $(head -2 "$scratch/err")"
grep -q 'cannot keep the index of the input.s resources in a temporary file in \$TMPDIR: No such file or directory' \
    "$scratch/err" || fail "no TMPDIR: $(head -2 "$scratch/err")"
[ ! -e "$scratch/mid.xml" ] || fail "no TMPDIR: an output was left"
rm -f "$scratch/mid.json"

for resources in $sizes; do
    "$gen" --resources "$resources" 20261203 > "$scratch/big.json" || fail "gen-bundle failed"
    # What the record holds: one resource per line. Each clinical resource
    # is an entry (the Observation form of each marker Flag is the same
    # marker as the Flag); each DiagnosticReport adds six (the report, its
    # specimen and the statements written with them); a MedicationStatement
    # is written from the MedicationRequests it summarises.
    count() { grep -c "\"resourceType\":\"$1\"" "$scratch/big.json"; }
    expect=0
    for t in Observation Condition AllergyIntolerance MedicationRequest ServiceRequest \
        Encounter; do
        expect=$((expect + $(count "$t")))
    done
    reports=$(count DiagnosticReport)
    expect=$((expect + 6 * reports))
    meds=$(count Medication)
    [ "$reports" -gt 0 ] && [ "$expect" -gt "$((resources / 2))" ] ||
        fail "the generated record is too small: $expect"

    /usr/bin/time -f '%M' -o "$scratch/rss" "$real" fhir2ehr --receiver Y01002 \
        "$scratch/big.json" -o "$scratch/big.xml" 2> "$scratch/err" ||
        fail "$resources resources: exit $?: $(head -3 "$scratch/err")"
    grep -q "^cse-convert fhir2ehr: $expect entries written" "$scratch/err" ||
        fail "$resources resources: expected $expect entries written: $(head -1 "$scratch/err")"
    # Every drug kept its code from its Medication.
    drugs=$(grep -c '<manufacturedMaterial' "$scratch/big.xml")
    coded=$(grep -A1 '<manufacturedMaterial' "$scratch/big.xml" | grep -c '<code code=')
    [ "$meds" -gt 0 ] && [ "$drugs" -gt "$meds" ] || fail "$drugs drugs written for $meds Medications"
    [ "$coded" -eq "$drugs" ] || fail "$((drugs - coded)) of $drugs drugs without their code"
    # Every report written as a laboratory report.
    batteries=$(grep -c '<CompoundStatement classCode="BATTERY"' "$scratch/big.xml")
    [ "$batteries" -eq "$reports" ] || fail "$batteries batteries for $reports reports"
    # The extract is whole: its last line closes the message.
    tail -1 "$scratch/big.xml" | grep -q '^</RCMR_IN030000UK07>' || fail "the extract is cut short"
    rm -f "$scratch/big.json" "$scratch/big.xml"

    [ "$measured" = 1 ] || continue
    kb=$(tail -1 "$scratch/rss")
    if [ "$resources" = 100000 ]; then
        base_kb=$kb
        [ "$kb" -lt "$limit_kb" ] ||
            fail "$resources resources took $kb KB at the peak (bound $limit_kb KB)"
    else
        [ "$kb" -lt "$stress_limit_kb" ] ||
            fail "$resources resources took $kb KB at the peak (bound $stress_limit_kb KB)"
        [ "$kb" -lt "$((base_kb + base_kb / 4 + 4096))" ] ||
            fail "memory grows with the record: $base_kb KB for 100000 resources, $kb KB for $resources"
    fi
done
exit 0
