#!/bin/sh
# SPDX-License-Identifier: MIT
# Roles are an allow-list (include/csemarker/plugin.h, plugin/README.md):
# near misses of a known role and unknown roles are refused everywhere with
# a clear error and nothing changes; each known role can do what the table
# says and no more; audit verify needs an authorised user.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is needed"
mkdir "$scratch/rec" "$scratch/j" || exit 99
printf '%064d\n' 4 > "$scratch/key" && chmod 600 "$scratch/key"
cp "$fx/child.json" "$scratch/rec/sam.json"
# A record with nothing restricted in it: no NOPAT entry, no safeguarding code.
jq '.entry |= map(select(.resource.id != "obs-sensitive"))
    | (.entry[] | select(.resource.resourceType == "List") | .resource.entry) |= .[0:1]' \
    "$fx/child.json" > "$scratch/rec/plain.json" || exit 99
As() { role=$1; shift
       "$host" --records "$scratch/rec" --journal "$scratch/j" --key "$scratch/key" \
           --user U1 --role "$role" --ods A11111 "$@"; }

id=$(As clinician flag sam 716565009) || fail "a clinician cannot flag"
cp "$scratch/rec/sam.json" "$scratch/before.json"

# Not on the list: refused for every clinician command, the record unchanged.
for role in receptionist admin Patient 'patient ' '' GP Clinician 'clinician '; do
    for cmd in "flag sam 716565009" "end sam $id --reason other" "error sam $id" \
               "review sam $id" "open sam" "save sam" "due" "online-view sam"; do
        # shellcheck disable=SC2086
        As "$role" $cmd > "$scratch/o" 2> "$scratch/e"; rc=$?
        [ $rc -ne 0 ] || fail "role '$role' could run '$cmd'"
        if [ -n "$role" ]; then
            [ $rc -eq 3 ] || fail "role '$role' '$cmd': exit $rc, expected 3"
            grep -q 'user.role: unknown role: refused' "$scratch/e" ||
                fail "role '$role' '$cmd': message: $(cat "$scratch/e")"
        fi
        [ -s "$scratch/o" ] && fail "role '$role' '$cmd' printed $(cat "$scratch/o")"
    done
    As "$role" export sam -o "$scratch/out.xml" 2>/dev/null && fail "role '$role' exported"
    [ -e "$scratch/out.xml" ] && fail "a refused export left a file"
    As "$role" audit verify > /dev/null 2>&1 && fail "role '$role' verified the journal"
done
cmp -s "$scratch/before.json" "$scratch/rec/sam.json" || fail "a refused role changed the record"

# patient and proxy: the patient-facing view only.
for role in patient proxy; do
    As $role online-view sam > "$scratch/v" || fail "$role cannot see the online view"
    grep -q "$id" "$scratch/v" && fail "$role sees the marker"
    for cmd in "flag sam 716565009" "open sam" "save sam" "due" "audit verify"; do
        # shellcheck disable=SC2086
        As $role $cmd > /dev/null 2> "$scratch/e" && fail "$role could run '$cmd'"
        grep -q 'user.role: the role' "$scratch/e" || fail "$role '$cmd': $(cat "$scratch/e")"
    done
done

# administrative: whether a record is restricted, never what it holds.
As administrative open sam > "$scratch/o" || fail "administrative open: $(cat "$scratch/o")"
[ "$(jq -c . "$scratch/o")" = '{"restricted":true}' ] || fail "administrative open: $(cat "$scratch/o")"
As administrative open plain > "$scratch/o" || fail "administrative open plain"
[ "$(jq -c . "$scratch/o")" = '{"restricted":false}' ] || fail "plain record: $(cat "$scratch/o")"
As administrative online-view sam > /dev/null || fail "administrative online view"
for cmd in "flag sam 716565009" "end sam $id --reason other" "save sam" "due" "audit verify"; do
    # shellcheck disable=SC2086
    As administrative $cmd > /dev/null 2> "$scratch/e" && fail "administrative could run '$cmd'"
    grep -q 'user.role: the role administrative may not' "$scratch/e" ||
        fail "administrative '$cmd': $(cat "$scratch/e")"
done

# auditor: the journal only. safeguarding-lead, gp, nurse: clinical.
As auditor audit verify > /dev/null || fail "the auditor cannot verify"
As auditor open sam > /dev/null 2>&1 && fail "the auditor sees the alert"
As auditor online-view sam > /dev/null 2>&1 && fail "the auditor sees the record"
for role in safeguarding-lead gp nurse; do
    As $role open sam | jq -e --arg id "$id" '.alerts[] | select(.marker_id == $id)' \
        > /dev/null || fail "$role does not see the alert"
    As $role audit verify > /dev/null || fail "$role cannot verify"
done
As safeguarding-lead review sam "$id" || fail "the safeguarding lead cannot review"

# audit verify needs an authenticated user too.
"$host" --journal "$scratch/j" --key "$scratch/key" --user U1 --role auditor \
    --unauthenticated audit verify > /dev/null 2> "$scratch/e" && fail "unauthenticated verify"
grep -q 'user.authenticated' "$scratch/e" || fail "message: $(cat "$scratch/e")"

# A user id that is not UTF-8 is a usage error that says so.
"$host" --records "$scratch/rec" --journal "$scratch/j" --key "$scratch/key" \
    --user "$(printf 'G\377\376')" --role clinician flag sam 716565009 2> "$scratch/e"; rc=$?
[ $rc -eq 2 ] || fail "a non-UTF-8 user id should exit 2, got $rc"
grep -q -- '--user is not valid UTF-8' "$scratch/e" || fail "message: $(cat "$scratch/e")"
echo "plugin roles: ok"
