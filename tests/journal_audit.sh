#!/bin/sh
# SPDX-License-Identifier: MIT
# The audit commands of the installed cse-host: the journal says what
# happened (refused imports and failed exports are "failed", never "done"),
# `audit verify` changes no file, the anchor finds a rollback, audit times
# never go backwards, the journal folder and its temporaries are guarded,
# and verifying or recovering needs an authorised user.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
command -v sha256sum >/dev/null || skip "sha256sum is not installed"

d="$scratch/p"
mkdir -p "$d/rec" "$d/j" && chmod 700 "$d/j" || exit 99
printf '%064d\n' 9 > "$d/key" && chmod 600 "$d/key" || exit 99
key=$(head -c 64 "$d/key")
cp "$fx/child.json" "$d/rec/sam.json" || exit 99
H() { "$host" --records "$d/rec" --journal "$d/j" --key "$d/key" \
      --user G1000001 --role clinician --ods A11111 "$@"; }
# The auditor: the role that may recover the journal.
AU() { "$host" --records "$d/rec" --journal "$d/j" --key "$d/key" \
      --user AUDITOR1 --role auditor --ods A11111 "$@"; }
J="$d/j/csemarker-audit.jsonl" HD="$d/j/csemarker-audit.head"
phases() { jq -r "select(.action == \"$1\") | .phase" "$J" | tr '\n' ' '; }
files_digest() { (cd "$d/j" && ls -A | sort | while read -r f; do
    if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else sha256sum "$f"; fi; done); }

# Outcomes: a failed export is journaled as failed; a refused import (checked
# in a dry run first) journals nothing.
H flag sam 716565009 > /dev/null || fail "flag"
H export sam -o "$scratch/sam.xml" --to A11111 || fail "export"
[ "$(phases gp2gp-export)" = "intent done " ] || fail "export: $(phases gp2gp-export)"
H export sam -o "$scratch/no/such/folder/x.xml" 2>/dev/null && fail "export into a missing folder"
[ "$(phases gp2gp-export)" = "intent done intent failed " ] || fail "failed export: $(phases gp2gp-export)"
H import "$scratch/sam.xml" --as sam > /dev/null 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || fail "import over an existing record exited $rc"
grep -q 'refusing to overwrite' "$scratch/e" || fail "refusal: $(cat "$scratch/e")"
[ "$(phases gp2gp-import)" = "" ] || fail "refused import: $(phases gp2gp-import)"
H import "$scratch/sam.xml" --as copy > /dev/null || fail "import"
[ "$(phases gp2gp-import)" = "intent done " ] || fail "import: $(phases gp2gp-import)"
H audit verify > "$scratch/v" || fail "verify: $(cat "$scratch/v")"
[ "$(jq .unconfirmed_count "$scratch/v")" -eq 0 ] || fail "unconfirmed: $(cat "$scratch/v")"

# Verifying changes no file, in every state: whole, a torn tail, an older
# head put back, tampered.
cp "$HD" "$scratch/head.1"
H flag sam 716565009 > /dev/null || fail "flag 2"
for state in whole torn older-head tampered; do
    case $state in
    torn) printf '{"action":"mar' >> "$J" ;;
    older-head) truncate -s -14 "$J"; cp "$scratch/head.1" "$HD" ;;
    tampered) sed -i '2s/"clinician"/"Clinician"/' "$J" ;;
    esac
    files_digest > "$scratch/before"
    H audit verify > /dev/null 2>&1
    H audit anchor > /dev/null 2>&1
    H open sam > /dev/null 2>&1
    files_digest > "$scratch/after"
    cmp -s "$scratch/before" "$scratch/after" ||
        fail "$state: audit verify changed files: $(diff "$scratch/before" "$scratch/after")"
done
AU audit recover > /dev/null 2>&1 || fail "recover"

# The anchor: rollback of journal and head together verifies on its own,
# never with --expect.
cp "$J" "$scratch/j.old"; cp "$HD" "$scratch/h.old"
H flag sam 716565009 > /dev/null || fail "flag 3"
anchor=$(H audit anchor) || fail "anchor"
echo "$anchor" | grep -Eq '^[0-9]+:[0-9a-f]{64}$' || fail "anchor: $anchor"
H audit verify --expect "$anchor" > /dev/null || fail "verify --expect on the same journal"
cp "$scratch/j.old" "$J"; cp "$scratch/h.old" "$HD"
H audit verify > /dev/null 2>&1 || fail "a rolled-back journal verifies on its own (documented)"
H audit verify --expect "$anchor" > /dev/null 2> "$scratch/e"; rc=$?
[ $rc -eq 1 ] || fail "rollback with --expect exited $rc"
grep -q 'rolled back' "$scratch/e" || fail "message: $(cat "$scratch/e")"
H audit verify --expect 12:xyz > /dev/null 2> "$scratch/e"; [ $? -eq 3 ] || fail "bad --expect"
grep -q 'SEQ:MAC' "$scratch/e" || fail "message: $(cat "$scratch/e")"
H audit verify --expect > /dev/null 2>&1; [ $? -eq 2 ] || fail "--expect without a value"

# Time: an entry dated in the future (written with the key) makes the next
# write refuse rather than go back in time; one dated before its predecessor
# fails verification.
hmac() { openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" | awk '{ print $NF }'; }
keyed_append() { # TIME: a keyholder's entry and head
    seq=$(($(tail -n 1 "$J" | jq .seq) + 1)) prev=$(tail -n 1 "$J" | jq -r .mac)
    canon=$(jq -ncS --arg p "$prev" --arg t "$1" --argjson s "$seq" '{action: "journal-repair",
        detail: {}, marker: null, patient: null, phase: "event", prev: $p, role: "clinician",
        seq: $s, time: $t, txn: null, user: "KEYHOLDER"}')
    mac=$({ printf 'csemarker-journal-entry-v2\n'; printf '%s' "$canon"; } | hmac)
    printf '%s' "$canon" | jq -cS --arg m "$mac" '.mac = $m' >> "$J"
    hm=$({ printf 'csemarker-journal-head-v2\n'; printf '%s|%s' "$seq" "$mac"; } | hmac)
    printf '{"mac":"%s","seq":%s,"tail":"%s"}\n' "$hm" "$seq" "$mac" > "$HD"
}
cp "$J" "$scratch/j.t"; cp "$HD" "$scratch/h.t"
keyed_append 2099-01-01T00:00:00Z
H audit verify > /dev/null || fail "a keyed future entry should verify"
cp "$d/rec/sam.json" "$scratch/before.json"
H flag sam 716565009 > /dev/null 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || fail "flag with the clock behind the journal exited $rc"
grep -q 'behind the last audit entry (2099-01-01T00:00:00Z)' "$scratch/e" || fail "message: $(cat "$scratch/e")"
cmp -s "$scratch/before.json" "$d/rec/sam.json" || fail "the refused flag changed the record"
cp "$scratch/j.t" "$J"; cp "$scratch/h.t" "$HD"
keyed_append 2001-01-01T00:00:00Z
H audit verify > /dev/null 2> "$scratch/e"; [ $? -eq 1 ] || fail "time going backwards verified"
grep -q 'time went backwards' "$scratch/e" || fail "message: $(cat "$scratch/e")"
cp "$scratch/j.t" "$J"; cp "$scratch/h.t" "$HD"

# The folder: group- or world-writable, or another user's, is refused.
chmod 777 "$d/j"
H open sam > /dev/null 2> "$scratch/e"; rc=$?
chmod 700 "$d/j"
[ $rc -eq 3 ] || fail "a world-writable journal folder: exit $rc"
grep -q 'may be written by group or others (mode 777)' "$scratch/e" || fail "message: $(cat "$scratch/e")"
if [ "$(id -u)" -eq 0 ]; then
    chown 65534 "$d/j"
    H audit verify > /dev/null 2> "$scratch/e"; rc=$?
    chown 0 "$d/j"
    [ $rc -eq 3 ] || fail "another user's journal folder: exit $rc"
    grep -q 'belongs to another user' "$scratch/e" || fail "message: $(cat "$scratch/e")"
fi

# A link planted as the head's temporary: its target is never written.
echo precious > "$scratch/victim"
ln -s "$scratch/victim" "$d/j/csemarker-audit.head.tmp"
H flag sam 716565009 > /dev/null || fail "flag with a planted link"
[ "$(cat "$scratch/victim")" = precious ] || fail "the planted link's target was overwritten"
[ ! -L "$d/j/csemarker-audit.head.tmp" ] || fail "the planted link is still there"
H audit verify > /dev/null || fail "verify after the planted link"

# Verify and recover need an authorised user with a role.
H --unauthenticated audit verify > /dev/null 2>&1; [ $? -eq 3 ] || fail "unauthenticated verify"
"$host" --records "$d/rec" --journal "$d/j" --key "$d/key" --user P1 --role patient \
    audit verify > /dev/null 2>&1; [ $? -eq 3 ] || fail "verify as a patient"
"$host" --records "$d/rec" --journal "$d/j" --key "$d/key" --user P1 --role patient \
    audit recover > /dev/null 2>&1; [ $? -eq 3 ] || fail "recover as a patient"
"$host" --journal "$d/j" --key "$d/key" audit verify > /dev/null 2>&1
[ $? -eq 2 ] || fail "verify without --user and --role"
AU audit recover > /dev/null 2> "$scratch/e"; [ $? -eq 3 ] || fail "recovering a journal that verifies"
grep -q 'nothing to recover' "$scratch/e" || fail "message: $(cat "$scratch/e")"
echo "journal audit: ok"
