#!/bin/sh
# SPDX-License-Identifier: MIT
# Conformance with the national GP2GP requesting adaptor: for each PWTP
# extract in $CSE_SHARED_DIR/conformance/nia/ehr-to-fhir/pwtp/, our STU3
# output (cse-convert ehr2fhir --stu3) is compared with the adaptor's bundle
# per resourceType: resource count, the set of SNOMED CT codes, and the
# number of resources labelled NOPAT. Differences are printed per type; a
# difference in a type we map fails unless it is listed in KNOWN below with
# its reason. Types we do not write (List, Location, Medication, ...) are
# printed for information. Then every fragment in nopat/ must yield NOPAT on
# the resources the adaptor puts it on. Last, the field-level comparison
# (../shared/tools/compare-fields.py) over the nine pairs must reach
# FIELDS_FLOOR per mille: the floor is what was measured, never less.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
[ -n "$CSE_SHARED_DIR" ] && [ -d "$CSE_SHARED_DIR/conformance/nia" ] ||
    skip "CSE_SHARED_DIR does not hold conformance/nia (configure --with-shared-dir)"
command -v jq > /dev/null 2>&1 || skip "jq is not installed"
conv="$top_builddir/cse-convert"
pwtp="$CSE_SHARED_DIR/conformance/nia/ehr-to-fhir/pwtp"
nopat="$CSE_SHARED_DIR/conformance/nia/ehr-to-fhir/nopat"

MAPPED="Patient Practitioner Organization Encounter Observation Condition
AllergyIntolerance Immunization Medication MedicationRequest MedicationStatement
ProcedureRequest ReferralRequest DocumentReference DiagnosticReport Specimen List Location"

# Known differences: CASE TYPE ASPECT (count, codes or nopat), then the reason.
KNOWN='
PWTP5 Immunization count the adaptor decides from its SNOMED CT database which observations are immunisations; without --snomed we cannot, so they stay Observations; with --snomed and the synthetic RF2 release the counts and codes are those of the adaptor (checked below)
PWTP5 Immunization codes as the PWTP5 Immunization count
PWTP5 Observation count the immunisations of the PWTP5 Immunization count are Observations here
PWTP5 Observation codes the codes of those immunisations
PWTP6 Immunization count as the PWTP5 Immunization count (SNOMED CT database; checked with --snomed below)
PWTP6 Immunization codes as the PWTP6 Immunization count
PWTP6 Observation count the immunisations of the PWTP6 Immunization count are Observations here
PWTP6 Observation codes the codes of those immunisations
PWTP9 Observation count the adaptor adds a generated comment Observation (a random id, coded 37331000000100) to four of the reports; we write no invented entry
PWTP7_vis Condition count the adaptor writes no Condition for a LinkSet whose named statement is a RequestStatement; we write every problem
PWTP7_vis Condition codes that extra Condition (see the Condition count) is coded with the code of the referral it names
PWTP7_vis Organization count the adaptor writes the sending practice as an Organization when a DocumentReference names it as custodian; we write no custodian
'
known() { # case type aspect: a line for the case wins over a general one
    { printf '%s\n' "$KNOWN" | grep -E "^$1 $2 $3 "
      printf '%s\n' "$KNOWN" | grep -E "^\\* $2 $3 "; } | head -n 1 | cut -d' ' -f4-
}

# Per type: count, sorted SNOMED codes, NOPAT count, tab-separated.
summary() {
    jq -r '[.entry[].resource] | group_by(.resourceType)[] |
        [ .[0].resourceType, (length | tostring),
          ([.[] | del(.meta) | .. | objects | select(.system? == "http://snomed.info/sct")
             | .code | strings] | unique | join(",")),
          ([.[] | select([.meta.security[]?.code] | index("NOPAT"))] | length | tostring)
        ] | @tsv' "$1"
}

field() { # file type column
    awk -F'\t' -v t="$2" -v c="$3" '$1 == t { print $c }' "$1"
}

failed=0 n=0
for in in "$pwtp"/PWTP*.xml; do
    case=$(basename "$in" .xml)
    expected="$pwtp/$case-output.json"
    [ -f "$expected" ] || continue
    n=$((n + 1))
    "$conv" ehr2fhir --stu3 "$in" -o "$scratch/$case.json" 2> "$scratch/$case.err" ||
        fail "$case: ehr2fhir exited $?: $(head -n 3 "$scratch/$case.err")"
    summary "$expected" > "$scratch/theirs"
    summary "$scratch/$case.json" > "$scratch/ours"
    for type in $(cut -f1 "$scratch/theirs" "$scratch/ours" | sort -u); do
        mapped=no
        for m in $MAPPED; do [ "$m" = "$type" ] && mapped=yes; done
        for aspect in count codes nopat; do
            case $aspect in count) col=2 ;; codes) col=3 ;; nopat) col=4 ;; esac
            a=$(field "$scratch/theirs" "$type" $col)
            b=$(field "$scratch/ours" "$type" $col)
            [ "$a" = "$b" ] && continue
            [ $aspect != codes ] && { a=${a:-0}; b=${b:-0}; [ "$a" = "$b" ] && continue; }
            if [ $aspect = codes ]; then
                only_a=$(printf '%s\n' "$a" | tr ',' '\n' | sort > "$scratch/a"
                    printf '%s\n' "$b" | tr ',' '\n' | sort > "$scratch/b"
                    comm -23 "$scratch/a" "$scratch/b" | grep . | tr '\n' ' ')
                only_b=$(comm -13 "$scratch/a" "$scratch/b" | grep . | tr '\n' ' ')
                diff="adaptor only: ${only_a:-none}; ours only: ${only_b:-none}"
            else
                diff="adaptor $a, ours $b"
            fi
            if [ $mapped = no ]; then
                echo "$case $type $aspect: $diff (type not written: information only)"
            elif reason=$(known "$case" "$type" "$aspect") && [ -n "$reason" ]; then
                echo "$case $type $aspect: $diff (known: $reason)"
            else
                echo "$case $type $aspect: $diff: UNEXPECTED DIFFERENCE"
                failed=$((failed + 1))
            fi
        done
    done
done
[ $n -gt 0 ] || fail "no PWTP cases in $pwtp"

# The differences that only a SNOMED CT database decides go away with one:
# the same cases converted with --snomed and the synthetic RF2 release of
# test-fixtures/snomed (which holds the PWTP immunisation codes below an
# immunisation root: generate.py) give the adaptor's Immunization and
# Observation counts and codes exactly.
rf2="$top_srcdir/test-fixtures/snomed"
for case in PWTP5 PWTP6; do
    "$conv" ehr2fhir --stu3 --snomed "$rf2" --snomed-cache "$scratch/sct.idx" \
        "$pwtp/$case.xml" -o "$scratch/$case-sct.json" 2> "$scratch/$case.err" ||
        fail "$case --snomed: ehr2fhir exited $?: $(head -n 3 "$scratch/$case.err")"
    summary "$pwtp/$case-output.json" > "$scratch/theirs"
    summary "$scratch/$case-sct.json" > "$scratch/ours"
    for type in Immunization Observation; do
        for col in 2 3; do
            a=$(field "$scratch/theirs" $type $col)
            b=$(field "$scratch/ours" $type $col)
            if [ "$a" = "$b" ]; then
                echo "$case --snomed $type column $col: as the adaptor's"
            else
                echo "$case --snomed $type column $col: adaptor $a, ours $b: UNEXPECTED DIFFERENCE"
                failed=$((failed + 1))
            fi
        done
    done
done

# NOPAT fragments: the resource the adaptor labels (by statement id) carries
# NOPAT in http://hl7.org/fhir/v3/ActCode.
check_nopat() { # file id [known reason]
    f="$nopat/$1"
    [ -f "$f" ] || fail "missing $f"
    "$conv" ehr2fhir --stu3 "$f" -o "$scratch/nopat.json" 2> "$scratch/nopat.err" ||
        { echo "nopat/$1: ehr2fhir exited $?: $(head -n 2 "$scratch/nopat.err")"; failed=$((failed + 1)); return; }
    got=$(jq -r --arg id "$2" '[.entry[].resource | select(.id == $id) |
        select([.meta.security[]? | select(.system == "http://hl7.org/fhir/v3/ActCode")
        | .code] | index("NOPAT"))] | length' "$scratch/nopat.json")
    if [ "$got" -ge 1 ]; then
        echo "nopat/$1: $2 labelled NOPAT"
    elif [ -n "$3" ]; then
        echo "nopat/$1: $2 not labelled NOPAT (known: $3)"
    else
        echo "nopat/$1: $2 NOT labelled NOPAT: UNEXPECTED"
        failed=$((failed + 1))
    fi
}
# Lines: FILE ID [KNOWN: reason]
while read -r file id rest; do
    case $file in '' | '#'*) continue ;; esac
    check_nopat "$file" "$id" "${rest#KNOWN: }"
done < "$top_srcdir/tests/pwtp_nopat.list"

# Field level: matched and total summed over the nine pairs. What stays
# unmatched and why: the adaptor's extra plan (and MedicationStatement) for a
# further order of an acute plan gets a random id, so it cannot be paired;
# the generated report comments above; the Organization of PWTP7_vis; see
# docs/fhirwrite.md.
FIELDS_FLOOR=985
compare="$CSE_SHARED_DIR/tools/compare-fields.py"
if command -v python3 > /dev/null 2>&1 && [ -f "$compare" ]; then
    m=0 t=0
    for in in "$pwtp"/PWTP*.xml; do
        case=$(basename "$in" .xml)
        line=$(python3 "$compare" "$scratch/$case.json" "$pwtp/$case-output.json" | tail -n 1)
        echo "$case $line"
        cm=$(echo "$line" | sed -n 's/^fields: \([0-9]*\)\/\([0-9]*\).*/\1/p')
        ct=$(echo "$line" | sed -n 's/^fields: \([0-9]*\)\/\([0-9]*\).*/\2/p')
        [ -n "$cm" ] && [ -n "$ct" ] || fail "$case: compare-fields.py printed: $line"
        m=$((m + cm)) t=$((t + ct))
    done
    permille=$((m * 1000 / t))
    echo "fields: $m/$t ($permille per mille, floor $FIELDS_FLOOR)"
    [ "$permille" -ge "$FIELDS_FLOOR" ] ||
        { echo "field-level fidelity fell below the floor"; failed=$((failed + 1)); }
else
    echo "python3 or compare-fields.py missing: field-level comparison skipped"
fi

[ $failed -eq 0 ] || fail "$failed unexpected differences"
echo "pwtp_conformance: $n cases, mapped types as expected"
