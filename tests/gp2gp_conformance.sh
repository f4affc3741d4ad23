#!/bin/sh
# SPDX-License-Identifier: MIT
# The reader over the national requesting adaptor's own test inputs: every
# PWTP extract and NOPAT fragment reads without error, and every statement,
# composition, compound, LinkSet or document that carries a NOPAT
# confidentialityCode in the source comes out with the NOPAT label, and
# every entry inside a NOPAT composition or compound inherits it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
corpus="${CSE_SHARED_DIR:-}/conformance/nia/ehr-to-fhir"
[ -n "${CSE_SHARED_DIR:-}" ] && [ -d "$corpus/nopat" ] || skip "CSE_SHARED_DIR does not hold conformance/nia/ehr-to-fhir"
xmllint="${XMLLINT:-xmllint}"
command -v "$xmllint" > /dev/null 2>&1 || skip "xmllint is not installed"
dump="$top_builddir/tests/gp2gp_dump"
n=0
labelled=0

for f in "$corpus"/pwtp/*.xml; do
    "$dump" "$f" > "$scratch/out" 2> "$scratch/err" || fail "$(basename "$f"): $(cat "$scratch/err")"
    grep -q '^end entries=' "$scratch/out" || fail "$(basename "$f"): no end"
    n=$((n + 1))
done

for f in "$corpus"/nopat/*.xml; do
    b=$(basename "$f")
    "$dump" "$f" > "$scratch/out" 2> "$scratch/err" || fail "$b: $(cat "$scratch/err")"
    # The ids of the elements that carry NOPAT themselves.
    "$xmllint" --xpath "//*[*[local-name()='confidentialityCode' and @code='NOPAT']]/*[local-name()='id'][1]/@root" \
        "$f" 2> /dev/null | tr ' ' '\n' | sed -n 's/^root="\(.*\)"$/\1/p' | sort -u > "$scratch/want"
    [ -s "$scratch/want" ] && labelled=$((labelled + 1))
    while read -r id; do
        grep -q "^entry [a-z]* $id own=1 " "$scratch/out" ||
            fail "$b: $id carries NOPAT in the source but not in the reader's entry"
    done < "$scratch/want"
    # Entries labelled by nothing in the source are not labelled by the reader.
    own=$(grep -c ' own=1 ' "$scratch/out")
    [ -s "$scratch/want" ] || ! grep -q ' inherited=1 ' "$scratch/out" || fail "$b: NOPAT inherited from nowhere"
    [ "$own" -eq "$(wc -l < "$scratch/want")" ] || fail "$b: $own entries labelled NOPAT, expected $(wc -l < "$scratch/want")"
    # Whatever sits inside a NOPAT container inherits it.
    "$xmllint" --xpath "//*[local-name()='ehrComposition' or local-name()='CompoundStatement'][*[local-name()='confidentialityCode' and @code='NOPAT']]//*[local-name()='ObservationStatement' or local-name()='NarrativeStatement' or local-name()='LinkSet' or local-name()='MedicationStatement' or local-name()='PlanStatement' or local-name()='RequestStatement' or local-name()='CompoundStatement']/*[local-name()='id'][1]/@root" \
        "$f" 2> /dev/null | tr ' ' '\n' | sed -n 's/^root="\(.*\)"$/\1/p' | sort -u > "$scratch/inner"
    while read -r id; do
        grep -q "^entry [a-z]* $id own=[01] inherited=1 " "$scratch/out" ||
            fail "$b: $id sits in a NOPAT container but does not inherit the label"
    done < "$scratch/inner"
    n=$((n + 1))
done
[ "$labelled" -ge 9 ] || fail "only $labelled NOPAT fragments found (corpus changed?)"
echo "gp2gp_conformance: $n corpus files read, NOPAT where the source puts it"
