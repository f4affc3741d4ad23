#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-report: usage, and bad input refused with a clear error, a non-zero
# exit and no output file: a partial from another version, a corrupted
# partial, a period that does not parse, a key file with loose permissions.
# (Forged and implausible partials: tests/report_forgery.sh.)
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
fx="$top_srcdir/test-fixtures/report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
report_keys "$scratch/k" 100 Y09999
sk="--signing-key $kd/Y09999.pem"

"$rep" --version > "$scratch/v" || fail "--version exited $?"
grep -Eq '^cse-report \(csemarker\) [0-9]+\.[0-9]+\.[0-9]+$' "$scratch/v" || fail "--version: $(cat "$scratch/v")"
"$rep" --help | grep -q '^usage: cse-report' || fail "--help has no usage line"
"$rep" > /dev/null 2>&1; [ $? -eq 2 ] || fail "no arguments should exit 2"

# expect_refusal STATUS PATTERN OUTPUT -- COMMAND...: the command exits
# STATUS, says PATTERN on stderr, and leaves no OUTPUT (nor a temporary file).
expect_refusal() {
    want=$1 pattern=$2 out=$3
    shift 4
    "$@" > /dev/null 2> "$scratch/err"; rc=$?
    [ $rc -eq "$want" ] || fail "$*: exit $rc, expected $want ($(cat "$scratch/err"))"
    grep -q -- "$pattern" "$scratch/err" || fail "$*: stderr lacks '$pattern': $(cat "$scratch/err")"
    [ ! -e "$out" ] || fail "$*: left $out behind"
    ls "$out".tmp.* > /dev/null 2>&1 && fail "$*: left a temporary file"
    return 0
}

# A good partial to start from; with stderr not a terminal, no progress.
"$rep" extract --practice Y09999 --period 2025-Q1 $sk -o "$scratch/good.json" "$fx/hand" \
    2> "$scratch/progress" || fail "extract of the hand fixture failed"
[ -s "$scratch/progress" ] && fail "extract printed on a stderr that is not a terminal"
"$rep" merge $trust "$scratch/good.json" --format csv -o "$scratch/ok.csv" || fail "merge failed"
[ -s "$scratch/ok.csv" ] || fail "merge wrote nothing"

expect_refusal 3 "partial format version 3 is not supported" "$scratch/o1.csv" -- \
    "$rep" merge $trust "$scratch/good.json" "$fx/bad/partial-v3.json" --format csv -o "$scratch/o1.csv"
grep -q "partial-v3.json" "$scratch/err" || fail "the error does not name the file"
expect_refusal 3 "version 1 is unsigned and no longer accepted" "$scratch/o1.csv" -- \
    "$rep" merge $trust "$fx/bad/partial-v1.json" --format csv -o "$scratch/o1.csv"
grep -q "partial-v1.json" "$scratch/err" || fail "the error does not name the file"
expect_refusal 3 "partial written by csemarker 9.9.0" "$scratch/o2.csv" -- \
    "$rep" merge $trust "$fx/bad/partial-other-tool.json" --format html -o "$scratch/o2.csv"

sed 's/"registered_children": \([0-9]*\)/"registered_children": 1\1/' "$scratch/good.json" > "$scratch/edited.json"
cmp -s "$scratch/good.json" "$scratch/edited.json" && fail "could not edit the partial"
expect_refusal 3 "altered after it was signed" "$scratch/o3.csv" -- \
    "$rep" merge $trust "$scratch/edited.json" --format csv -o "$scratch/o3.csv"
head -c 300 "$scratch/good.json" > "$scratch/cut.json"
expect_refusal 3 "truncated or corrupted" "$scratch/o4.csv" -- \
    "$rep" merge $trust "$scratch/cut.json" --format json -o "$scratch/o4.csv"
expect_refusal 3 "appear twice" "$scratch/o5.csv" -- \
    "$rep" merge $trust "$scratch/good.json" "$scratch/good.json" --format csv -o "$scratch/o5.csv"

expect_refusal 2 "period does not parse" "$scratch/p.json" -- \
    "$rep" extract --practice Y09999 --period 2025-01-01..soon $sk -o "$scratch/p.json" "$fx/hand"
expect_refusal 2 "period ends before it starts" "$scratch/p.json" -- \
    "$rep" extract --practice Y09999 --period 2025-03-01..2025-01-01 $sk -o "$scratch/p.json" "$fx/hand"

printf '%064d\n' 7 > "$scratch/key"
chmod 644 "$scratch/key"
expect_refusal 4 "accessible by group or others" "$scratch/k.json" -- \
    "$rep" extract --practice Y09999 --period 2025-Q1 $sk --key "$scratch/key" \
    --linkage-key "$kd/linkage.pem.pub" -o "$scratch/k.json" "$fx/hand"
grep -q "0000000000000007" "$scratch/err" && fail "the key appeared in an error message"
chmod 600 "$scratch/key"
"$rep" extract --practice Y09999 --period 2025-Q1 $sk --key "$scratch/key" \
    --linkage-key "$kd/linkage.pem.pub" -o "$scratch/k.json" "$fx/hand" ||
    fail "extract with a 0600 key failed"

printf '{"resourceType":"Patient","id":"a"}\n{"resourceType": oops}\n' > "$scratch/bad.ndjson"
expect_refusal 3 "bad.ndjson:2:" "$scratch/b.json" -- \
    "$rep" extract --practice Y09999 --period 2025-Q1 $sk -o "$scratch/b.json" "$scratch/bad.ndjson"

expect_refusal 2 "unknown --format" "$scratch/f.out" -- \
    "$rep" merge $trust "$scratch/good.json" --format pdf -o "$scratch/f.out"
echo "report_cli: ok"
