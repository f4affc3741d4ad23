#!/bin/sh
# SPDX-License-Identifier: MIT
# Records under concurrent use: several cse-host processes act on one record
# at once, and no acknowledged change may be lost.
#   - PROCS clinicians flag the same record at once: every id printed (exit 0)
#     is in the record afterwards, and the record holds exactly those markers.
#   - an `end` races an entered-in-error on one marker: whatever was
#     acknowledged is what the record says (entered-in-error wins once
#     acknowledged; an end acknowledged alone leaves the marker ended).
#   - a review races an end: an acknowledged end is never undone.
# make check runs a few rounds; `make stress` sets CSE_STRESS_ROUNDS (300).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is needed"
rounds=${CSE_STRESS_ROUNDS:-8}
procs=${CSE_STRESS_PROCS:-4}
mkdir "$scratch/rec" "$scratch/j" "$scratch/out" || exit 99
printf '%064d\n' 5 > "$scratch/key" && chmod 600 "$scratch/key"
Hu() { u=$1; shift; "$host" --records "$scratch/rec" --journal "$scratch/j" \
      --key "$scratch/key" --user "$u" --role clinician --ods A11111 "$@"; }
status_of() { # record marker-id -> the Flag's status
    jq -r --arg id "$2" '.entry[].resource | select(.resourceType == "Flag")
        | select(any(.identifier[]?; .value == $id)) | .status' "$scratch/rec/$1.json"
}

lost=0 acked=0
r=0
while [ "$r" -lt "$rounds" ]; do
    r=$((r + 1))
    # 1. PROCS clinicians flag one record at once.
    cp "$fx/child.json" "$scratch/rec/c.json"
    rm -f "$scratch"/out/*
    p=0
    while [ "$p" -lt "$procs" ]; do
        p=$((p + 1))
        ( Hu "G$p" flag c 716565009 > "$scratch/out/id.$p" 2> "$scratch/out/err.$p"
          echo $? > "$scratch/out/rc.$p" ) &
    done
    wait
    n=0
    for f in "$scratch"/out/rc.*; do
        k=${f##*.}
        if [ "$(cat "$f")" -eq 0 ]; then
            n=$((n + 1)); acked=$((acked + 1))
            id=$(cat "$scratch/out/id.$k")
            [ "$(status_of c "$id")" = active ] || { lost=$((lost + 1))
                echo "round $r: acknowledged marker $id is not in the record" >&2; }
        else
            fail "round $r: a flag failed: $(cat "$scratch/out/err.$k")"
        fi
    done
    flags=$(jq '[.entry[].resource | select(.resourceType == "Flag")] | length' \
        "$scratch/rec/c.json")
    [ "$flags" -eq "$n" ] || fail "round $r: $n flags acknowledged, $flags in the record"

    # 2. end races entered-in-error on one marker.
    cp "$fx/child.json" "$scratch/rec/e.json"
    id=$(Hu G0 flag e 716565009) || fail "round $r: flag"
    ( Hu G1 end e "$id" --reason no-longer-at-risk >/dev/null 2>&1; echo $? > "$scratch/out/end" ) &
    ( Hu G2 error e "$id" >/dev/null 2>&1; echo $? > "$scratch/out/eie" ) &
    wait
    st=$(status_of e "$id")
    if [ "$(cat "$scratch/out/eie")" -eq 0 ]; then
        acked=$((acked + 1))
        [ "$st" = entered-in-error ] || { lost=$((lost + 1))
            echo "round $r: entered-in-error acknowledged, record says $st" >&2; }
    elif [ "$(cat "$scratch/out/end")" -eq 0 ]; then
        acked=$((acked + 1))
        [ "$st" = inactive ] || { lost=$((lost + 1))
            echo "round $r: end acknowledged, record says $st" >&2; }
    else
        fail "round $r: neither end nor entered-in-error succeeded"
    fi
    [ "$(cat "$scratch/out/end")" -eq 0 ] && [ "$st" = active ] && lost=$((lost + 1))

    # 3. review races end: an acknowledged end stays.
    cp "$fx/child.json" "$scratch/rec/v.json"
    id=$(Hu G0 flag v 716565009) || fail "round $r: flag"
    ( Hu G1 review v "$id" >/dev/null 2>&1; echo $? > "$scratch/out/rev" ) &
    ( Hu G2 end v "$id" --reason superseded >/dev/null 2>&1; echo $? > "$scratch/out/end" ) &
    wait
    if [ "$(cat "$scratch/out/end")" -eq 0 ]; then
        acked=$((acked + 1))
        [ "$(status_of v "$id")" = inactive ] || { lost=$((lost + 1))
            echo "round $r: end acknowledged, then lost" >&2; }
    fi
done
# No temporary survives a run.
ls -a "$scratch/rec" | grep -q '\.tmp\.' && fail "temporary files left: $(ls -a "$scratch/rec")"
[ "$lost" -eq 0 ] || fail "$lost of $acked acknowledged updates lost in $rounds rounds"
echo "plugin concurrency: $rounds rounds, $procs writers, $acked acknowledged updates, none lost"
