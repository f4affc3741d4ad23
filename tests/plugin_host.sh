#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-host: usage, misuse refused with the right exit status and no partial
# output, the journal checked through `audit verify`.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
mkdir "$scratch/rec" "$scratch/j" || exit 99
printf '%064d\n' 7 > "$scratch/key" && chmod 600 "$scratch/key"
cp "$fx/child.json" "$scratch/rec/sam.json"
cp "$fx/not-fhir.json" "$scratch/rec/bad.json"
H() { "$host" --records "$scratch/rec" --journal "$scratch/j" --key "$scratch/key" \
      --user G1000001 --role gp --ods A11111 "$@"; }

"$host" --version | grep -Eq '^cse-host \(csemarker\) [0-9.]+$' || fail "--version"
"$host" --help | grep -q '^usage: cse-host' || fail "--help"
"$host" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no arguments should exit 2"
H frobnicate >/dev/null 2>"$scratch/e"; [ $? -eq 2 ] || fail "unknown command should exit 2"
# The installed host has no test clock: nobody backdates through it.
H --today 2025-03-14 open sam >/dev/null 2>&1; [ $? -eq 2 ] || fail "--today must be refused"
"$host" --help | grep -q -- '--today' && fail "--today in the help of the installed host"

# A module that is not there: exit 6.
"$host" --module "$scratch/none.so" --records "$scratch/rec" --journal "$scratch/j" \
    --key "$scratch/key" --user u --role gp open sam 2>"$scratch/e"; rc=$?
[ $rc -eq 6 ] || fail "missing module should exit 6, got $rc"

# The unauthenticated are refused and nothing changes.
cp "$scratch/rec/sam.json" "$scratch/before.json"
H --unauthenticated flag sam 716565009 2>"$scratch/e"; rc=$?
[ $rc -eq 3 ] || fail "unauthenticated flag should exit 3, got $rc"
grep -q 'user.authenticated' "$scratch/e" || fail "message: $(cat "$scratch/e")"
cmp -s "$scratch/before.json" "$scratch/rec/sam.json" || fail "record changed"

# A key others can read is refused, and the key is never printed.
chmod 644 "$scratch/key"
H open sam 2>"$scratch/e"; rc=$?
chmod 600 "$scratch/key"
[ $rc -eq 3 ] || fail "loose key should exit 3, got $rc"
grep -q 'key_file' "$scratch/e" || fail "message: $(cat "$scratch/e")"
grep -q '0000000007' "$scratch/e" && fail "the key appeared in an error"

# Not FHIR: refused, no output file left behind.
H open bad 2>"$scratch/e"; [ $? -eq 3 ] || fail "not-FHIR open should exit 3"
grep -q 'resourceType' "$scratch/e" || fail "message: $(cat "$scratch/e")"
H export bad -o "$scratch/bad.xml" 2>/dev/null; [ $? -eq 3 ] || fail "not-FHIR export should exit 3"
[ ! -e "$scratch/bad.xml" ] || fail "a failed export left a file"
ls "$scratch" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

# State rules through the host.
id=$(H flag sam 716565009 --start 2025-01-02) || fail "flag failed"
H end sam "$id" 2>/dev/null; [ $? -eq 2 ] || fail "end without --reason should exit 2"
H end sam "$id" --reason no-longer-at-risk || fail "end failed"
H end sam "$id" --reason no-longer-at-risk 2>"$scratch/e"; rc=$?
[ $rc -eq 3 ] || fail "ending twice should exit 3, got $rc"
grep -q 'status: cannot end a marker that is inactive' "$scratch/e" || fail "message: $(cat "$scratch/e")"
H open sam | grep -q '"status": "inactive"' || fail "alert does not show the end"
H error sam "$id" || fail "entered-in-error failed"
H open sam | grep -q '"active": 0' || fail "alert after entered-in-error"

# The journal: three actions (an intention and an outcome each) verify; an
# edit is found at its seq.
H audit verify > "$scratch/v" || fail "audit verify failed: $(cat "$scratch/v")"
grep -q '"entries": 6' "$scratch/v" || fail "expected 6 entries: $(cat "$scratch/v")"
grep -q '9990000018' "$scratch/j/csemarker-audit.jsonl" && fail "NHS number in the journal"
sed -i '2s/"role":"gp"/"role":"admin"/' "$scratch/j/csemarker-audit.jsonl"
H audit verify > "$scratch/v" 2>"$scratch/e"; rc=$?
[ $rc -eq 1 ] || fail "tampered journal should exit 1, got $rc"
grep -q 'seq 2' "$scratch/e" || fail "message: $(cat "$scratch/e")"
grep -q '"bad_seq": 2' "$scratch/v" || fail "report: $(cat "$scratch/v")"
echo "plugin host: ok"
