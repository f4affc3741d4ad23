#!/bin/sh
# SPDX-License-Identifier: MIT
# make stress only: SIGKILL while flag, review or import writes a large
# record (the moment its temporary appears), then the next command on that
# record. After every round: the record is
# whole (the old or the new one, never a torn one) and no temporary is left.
# Rounds: half of CSE_STRESS_ROUNDS (default 20), each about a second.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is needed"
rounds=$(( ${CSE_STRESS_ROUNDS:-40} / 2 ))
mkdir "$scratch/rec" "$scratch/j" || exit 99
printf '%064d\n' 5 > "$scratch/key" && chmod 600 "$scratch/key"
A="--records $scratch/rec --journal $scratch/j --key $scratch/key --user G1 --role clinician --ods A11111"
# shellcheck disable=SC2086
H() { "$host" $A "$@"; }
orphans() { ls -a "$scratch/rec" | grep -cE '\.json\.tmp\.[A-Za-z0-9]{6}$'; }
# A record of about 8 MB: the write of its temporary takes a while.
head=$(jq -c '.entry += [{"resource":{"resourceType":"Basic","id":"pad","code":{"text":"PAD"}}}]' \
    "$fx/child.json" | sed 's/"PAD".*//')
{ printf '%s"' "$head"; head -c 8000000 /dev/zero | tr '\0' a; printf '"}}}]}\n'; } \
    > "$scratch/rec/big.json" || exit 99
id=$(H flag big 716565009) || fail "flag"
H export big -o "$scratch/big.xml" --to A11111 || fail "export"

hit=0 r=0
while [ "$r" -lt "$rounds" ]; do
    r=$((r + 1))
    # exec: the background job's pid is cse-host's own, so the SIGKILL
    # reaches it and not a shell around it.
    case $((r % 3)) in
    0) ( exec "$host" $A flag big 713834002 > /dev/null 2>&1 ) & ;;
    1) ( exec "$host" $A review big "$id" > /dev/null 2>&1 ) & ;;
    2) ( exec "$host" $A import "$scratch/big.xml" --as big --force > /dev/null 2>&1 ) & ;;
    esac
    pid=$!
    # Kill it the moment its temporary exists, i.e. while it writes the
    # record (the glob needs no process, so the loop is quick); a command
    # that finishes first is simply a round without a kill.
    while kill -0 "$pid" 2>/dev/null; do
        set -- "$scratch"/rec/big.json.tmp.*
        if [ -e "$1" ]; then
            kill -9 "$pid" 2>/dev/null
            break
        fi
    done
    wait "$pid" 2>/dev/null
    [ "$(orphans)" -gt 0 ] && hit=$((hit + 1))
    jq -e '.resourceType == "Bundle"' "$scratch/rec/big.json" > /dev/null ||
        fail "round $r: the record is not whole after a SIGKILL"
    H review big "$id" > /dev/null 2>&1 || true
    [ "$(orphans)" -eq 0 ] || fail "round $r: $(orphans) orphaned temporaries after the next command"
    # The import replaces the marker ids: keep one that exists.
    id=$(jq -r '[.entry[].resource | select(.resourceType == "Flag" and .status == "active")
        | .identifier[0].value][0]' "$scratch/rec/big.json")
done
[ "$hit" -gt 0 ] || fail "no SIGKILL landed while a temporary was written"
echo "plugin kill temps: $rounds rounds, $hit killed while writing, no temporary survived the next command"
