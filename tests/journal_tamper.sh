#!/bin/sh
# SPDX-License-Identifier: MIT
# The audit journal against an attacker without the practice key, through
# the installed cse-host: every tampering case is caught by `audit verify`,
# an ordinary action afterwards is refused and changes nothing, the next
# verify still catches it; then an auditor's `audit recover` is journaled and
# every later verify reports it, also after more ordinary actions.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is not installed"
command -v sha256sum >/dev/null || skip "sha256sum is not installed"

# H DIR ARGS...: cse-host over the practice in DIR as a GP.
H() { d=$1; shift
      "$host" --records "$d/rec" --journal "$d/j" --key "$d/key" \
          --user G1000001 --role clinician --ods A11111 "$@"; }
A() { d=$1; shift
      "$host" --records "$d/rec" --journal "$d/j" --key "$d/key" \
          --user AUDITOR1 --role auditor --ods A11111 "$@"; }
practice() { # DIR KEYDIGIT
    mkdir -p "$1/rec" "$1/j" && chmod 700 "$1/j" || exit 99
    printf '%064d\n' "$2" > "$1/key" && chmod 600 "$1/key" || exit 99
    cp "$fx/child.json" "$1/rec/sam.json" || exit 99
}

# The base practice: 11 entries (4 actions and an export of 2 markers).
base="$scratch/base"
practice "$base" 7
m1=$(H "$base" flag sam 716565009 --start 2025-01-02) || fail "flag 1"
H "$base" review sam "$m1" || fail "review"
m2=$(H "$base" flag sam 713834002 --start 2025-01-03) || fail "flag 2"
cp "$base/j/csemarker-audit.jsonl" "$scratch/journal-at-6"
cp "$base/j/csemarker-audit.head" "$scratch/head-at-6"
H "$base" end sam "$m2" --reason superseded || fail "end"
H "$base" export sam -o "$scratch/sam.xml" --to B22222 || fail "export"
H "$base" audit verify > "$scratch/v" || fail "base does not verify: $(cat "$scratch/v")"
grep -q '"entries": 11' "$scratch/v" || fail "base: $(cat "$scratch/v")"
# Another practice (another key) to swap files with.
other="$scratch/other"
practice "$other" 3
H "$other" flag sam 716565009 >/dev/null || fail "other practice"

# flip N FIELD: changes the first hex digit of FIELD on line N.
flip() {
    awk -v n="$1" -v f="\"$2\":\"" 'NR == n { i = index($0, f) + length(f)
        c = substr($0, i, 1); $0 = substr($0, 1, i - 1) (c == "0" ? "1" : "0") substr($0, i + 1) }
        { print }' "$J" > "$J.new" && mv "$J.new" "$J"
}
# unkeyed ENTRY_JSON PREV: the entry rechained to PREV with a plain SHA-256
# where the MAC belongs: the best anyone without the key can do.
unkeyed() {
    canon=$(printf '%s' "$1" | jq -cS --arg p "$2" 'del(.mac) | .prev = $p')
    mac=$(printf '%s' "$canon" | sha256sum | cut -c1-64)
    printf '%s' "$canon" | jq -cS --arg m "$mac" '.mac = $m'
}
last_mac() { tail -n 1 "$J" | jq -r .mac; }
forge_next() { # appends a chained, unkeyed entry one past the head
    tail -n 1 "$J" | jq -c '.seq += 1 | .of = .seq | .user = "MALLORY" | .phase = "intent"' \
        > "$scratch/f.json"
    unkeyed "$(cat "$scratch/f.json")" "$(last_mac)" >> "$J"
}
rechain() { # rewrites every entry with unkeyed hashes; MALLORY edits entry 2
    prev=0000000000000000000000000000000000000000000000000000000000000000
    : > "$J.new"
    while IFS= read -r l; do
        l=$(printf '%s' "$l" | jq -c 'if .seq == 2 then .user = "MALLORY" else . end')
        e=$(unkeyed "$l" "$prev")
        printf '%s\n' "$e" >> "$J.new"
        prev=$(printf '%s' "$e" | jq -r .mac)
    done < "$J"
    mv "$J.new" "$J"
}

t_edit_user()          { sed -i '3s/"user":"G1000001"/"user":"G1000009"/' "$J"; }
t_edit_role_case()     { sed -i '5s/"role":"clinician"/"role":"Clinician"/' "$J"; }
t_edit_action()        { sed -i '9s/"gp2gp-export"/"gp2gp-import"/' "$J"; }
t_edit_mac_byte()      { flip 4 mac; }
t_edit_prev_byte()     { flip 6 prev; }
t_edit_txn_byte()      { flip 2 txn; }
t_edit_time_back()     { sed -i -E '7s/"time":"[^"]*"/"time":"2020-01-01T00:00:00Z"/' "$J"; }
t_edit_last_entry()    { sed -i '$s/"user":"G1000001"/"user":"G1000002"/' "$J"; }
t_whitespace()         { sed -i '2s/,"role"/, "role"/' "$J"; }
t_crlf()               { sed -i 's/$/\r/' "$J"; }
t_delete_middle()      { sed -i '4d' "$J"; }
t_delete_first()       { sed -i '1d' "$J"; }
t_delete_last()        { sed -i '$d' "$J"; }
t_delete_last_three()  { head -n 8 "$J" > "$J.new" && mv "$J.new" "$J"; }
t_reorder_adjacent()   { sed -i '5{h;d};6G' "$J"; }
t_swap_first_last()    { { tail -n 1 "$J"; sed '1d;$d' "$J"; head -n 1 "$J"; } > "$J.new" && mv "$J.new" "$J"; }
t_duplicate_middle()   { sed -i '3p' "$J"; }
t_duplicate_last()     { sed -i '$p' "$J"; }
t_forge_past_head()    { forge_next; }
t_forge_random_mac()   { tail -n 1 "$J" | jq -cS --arg p "$(last_mac)" \
                             '.seq += 1 | .of = .seq | .prev = $p | .mac = ("ab" * 32)' > "$J.f"
                         cat "$J.f" >> "$J"; rm "$J.f"; }
t_forge_inserted()     { head -n 3 "$J" > "$J.new"
                         sed -n 3p "$J" | jq -c '.user = "MALLORY"' > "$scratch/f.json"
                         unkeyed "$(cat "$scratch/f.json")" "$(sed -n 2p "$J" | jq -r .mac)" >> "$J.new"
                         sed '1,3d' "$J" >> "$J.new"; mv "$J.new" "$J"; }
t_rechain_keyless()    { rechain; }
t_rechain_past_head()  { rechain; forge_next; }
t_truncate_last_line() { truncate -s -20 "$J"; }
t_truncate_half()      { head -n 5 "$J" > "$J.new" && mv "$J.new" "$J"; }
t_wipe_journal()       { : > "$J"; }
t_delete_journal()     { rm "$J"; }
t_delete_head()        { rm "$HD"; }
t_wipe_head()          { : > "$HD"; }
t_edit_head_seq()      { sed -i 's/"seq":11/"seq":12/' "$HD"; }
t_older_head()         { cp "$scratch/head-at-6" "$HD"; }
t_older_journal()      { cp "$scratch/journal-at-6" "$J"; }
t_swap_other_practice(){ cp "$other/j/csemarker-audit.jsonl" "$J"; cp "$other/j/csemarker-audit.head" "$HD"; }
t_journal_symlink()    { cp "$J" "$J.real"; rm "$J"; ln -s "$J.real" "$J"; }
t_head_symlink()       { mv "$HD" "$HD.real"; ln -s "$HD.real" "$HD"; }
t_journal_fifo()       { rm "$J"; mkfifo "$J"; }
t_head_fifo()          { rm "$HD"; mkfifo "$HD"; }
t_garbage_appended()   { printf '\001\002 junk' >> "$J"; }
t_empty_line()         { echo >> "$J"; }

cases="edit_user edit_role_case edit_action edit_mac_byte edit_prev_byte edit_txn_byte
edit_time_back edit_last_entry whitespace crlf delete_middle delete_first delete_last
delete_last_three reorder_adjacent swap_first_last duplicate_middle duplicate_last
forge_past_head forge_random_mac forge_inserted rechain_keyless rechain_past_head
truncate_last_line truncate_half wipe_journal delete_journal delete_head wipe_head
edit_head_seq older_head older_journal swap_other_practice journal_symlink head_symlink
journal_fifo head_fifo garbage_appended empty_line"

n=0
for c in $cases; do
    n=$((n + 1))
    d="$scratch/case-$c"
    cp -a "$base" "$d" || exit 99
    J="$d/j/csemarker-audit.jsonl" HD="$d/j/csemarker-audit.head"
    "t_$c" || fail "$c: could not tamper"
    cp "$d/rec/sam.json" "$scratch/before.json"
    H "$d" audit verify > "$scratch/v" 2> "$scratch/e"; rc=$?
    [ $rc -eq 1 ] || fail "$c: audit verify exited $rc: $(cat "$scratch/v" "$scratch/e")"
    grep -q 'seq [0-9]' "$scratch/e" || fail "$c: no seq in: $(cat "$scratch/e")"
    H "$d" flag sam 716565009 > "$scratch/o" 2> "$scratch/e"; rc=$?
    [ $rc -eq 1 ] || fail "$c: a flag on a tampered journal exited $rc: $(cat "$scratch/e")"
    grep -q 'does not verify' "$scratch/e" || fail "$c: refusal: $(cat "$scratch/e")"
    [ ! -s "$scratch/o" ] || fail "$c: the refused flag printed an id"
    cmp -s "$scratch/before.json" "$d/rec/sam.json" || fail "$c: the refused flag changed the record"
    H "$d" export sam -o "$d/x.xml" 2>/dev/null; rc=$?
    [ $rc -eq 1 ] || fail "$c: an export on a tampered journal exited $rc"
    [ ! -e "$d/x.xml" ] || fail "$c: the refused export wrote a file"
    H "$d" audit verify > "$scratch/v" 2> "$scratch/e"; rc=$?
    [ $rc -eq 1 ] || fail "$c: the second audit verify exited $rc"
    # The auditor recovers; the journal says so from then on.
    A "$d" audit recover > "$scratch/r" 2> "$scratch/e" || fail "$c: recover: $(cat "$scratch/e")"
    grep -q '"recovered"' "$scratch/r" || fail "$c: recover report: $(cat "$scratch/r")"
    ls "$d/j" | grep -q '^csemarker-audit\.damaged-.*\.jsonl$' ||
        [ "$c" = delete_journal ] || fail "$c: the damaged journal was not kept"
    H "$d" flag sam 716565009 > /dev/null 2> "$scratch/e" || fail "$c: flag after recovery: $(cat "$scratch/e")"
    H "$d" audit verify > "$scratch/v" 2> "$scratch/e" || fail "$c: verify after recovery: $(cat "$scratch/v" "$scratch/e")"
    grep -q 'NOTE: entry [0-9]* recovered the journal (.*, by AUDITOR1 as auditor) after: ' "$scratch/e" ||
        fail "$c: verify after recovery does not report it: $(cat "$scratch/e")"
    [ "$(jq '.recoveries | length' "$scratch/v")" -eq 1 ] || fail "$c: recoveries: $(cat "$scratch/v")"
    rm -rf "$d"
done
[ $n -ge 26 ] || fail "only $n cases"
echo "journal tamper: $n cases caught, refused, recovered and still reported"
