#!/bin/sh
# SPDX-License-Identifier: MIT
# kill -9 at random points of flag, end, export and import through cse-host
# (CSE_KILL_TRIALS trials, 30 by default; `make stress` runs hundreds).
# Most trials kill the installed cse-host after a random delay; every fourth
# stops the test build at a named point (just before the result is written,
# or just before the outcome is journaled), so those windows are always hit.
# After every trial the journal verifies and every record parses; at the end
# no journal temporary is left, every "done" entry names an action that
# happened (the marker is in the record, the marker is ended, the extract or
# the imported record exists with the result MAC the journal names), and
# every marker in the record has its intention in the journal.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
thost="$top_builddir/tests/cse-host-test"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
[ -x "$thost" ] || fail "no $thost"
command -v jq >/dev/null || skip "jq is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
trials=${CSE_KILL_TRIALS:-30}

d="$scratch/p"
mkdir -p "$d/rec" "$d/j" "$d/out" && chmod 700 "$d/j" || exit 99
printf '%064d\n' 5 > "$d/key" && chmod 600 "$d/key" || exit 99
key=$(head -c 64 "$d/key")
cp "$fx/child.json" "$d/rec/sam.json" || exit 99
args() { echo --records "$d/rec" --journal "$d/j" --key "$d/key" --user G1000001 --role clinician --ods A11111; }
H() { "$host" $(args) "$@"; }
# The extract every import reads, made before the loop. How long these take
# here spreads the kills over a whole run (it decides only where the kills
# land, never whether the test passes).
t0=$(date +%s%N)
H flag sam 716565009 >/dev/null || fail "first flag"
H export sam -o "$scratch/src.xml" || fail "first export"
span=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$span" -ge 4 ] || span=4
[ "$span" -le 400 ] || span=400

rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' \n'; }
result_mac() {
    { printf 'csemarker-result-v1\n'; cat "$1"; } |
        openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" | awk '{ print $NF }'
}
active_marker() {
    jq -r '[.entry[].resource | select(.resourceType == "Flag" and .status == "active")
            | .identifier[]? | select(.system == "https://csemarker.org/fhir/Id/marker")
            | .value][0] // empty' "$d/rec/sam.json"
}

i=0 killed=0
while [ "$i" -lt "$trials" ]; do
    i=$((i + 1))
    r=$(rand)
    case $((r % 4)) in
    0) set -- flag sam 716565009 ;;
    1) m=$(active_marker)
       if [ -n "$m" ]; then set -- end sam "$m" --reason superseded; else set -- flag sam 716565009; fi ;;
    2) set -- export sam -o "$d/out/exp-$i.xml" ;;
    3) set -- import "$scratch/src.xml" --as "imp-$i" ;;
    esac
    case $((r / 4 % 4)) in
    0) point=before-write; [ $((r / 16 % 2)) -eq 0 ] || point=before-outcome
       CSE_HOST_TEST_KILL=$point "$thost" $(args) "$@" >/dev/null 2>&1
       [ $? -eq 137 ] && killed=$((killed + 1)) ;;
    *) "$host" $(args) "$@" >/dev/null 2>&1 &
       pid=$!
       ms=$((r % span))
       sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
       kill -9 "$pid" 2>/dev/null
       wait "$pid" 2>/dev/null
       [ $? -eq 137 ] && killed=$((killed + 1)) ;;
    esac
    H audit verify > "$scratch/v" 2>&1 || fail "trial $i ($*): the journal does not verify: $(cat "$scratch/v")"
    for f in "$d"/rec/*.json; do
        jq -e '.resourceType == "Bundle"' "$f" >/dev/null 2>&1 || fail "trial $i ($*): $f is corrupt"
    done
done
echo "$trials trials, $killed killed in flight" >&2

# A write after the last kill removes what a crash left in the journal folder.
H flag sam 716565009 >/dev/null || fail "flag after the trials"
left=$(ls -A "$d/j" | grep -v -x -e csemarker-audit.jsonl -e csemarker-audit.head -e csemarker-audit.lock)
[ -z "$left" ] || fail "journal temporaries left: $left"
H audit verify > "$scratch/v" || fail "final verify: $(cat "$scratch/v")"

# Every "done" names an action that happened.
J="$d/j/csemarker-audit.jsonl"
for f in "$scratch/src.xml" "$d"/out/*.xml "$d"/rec/imp-*.json; do
    [ -f "$f" ] && printf '%s %s\n' "$(result_mac "$f")" "$f"
done > "$scratch/results"
jq -r 'select(.phase == "done") | "\(.of)"' "$J" | sort -un > "$scratch/done"
checked=0
while read -r of; do
    jq -c "select(.seq == $of)" "$J" > "$scratch/intent"
    action=$(jq -r .action "$scratch/intent")
    marker=$(jq -r .marker "$scratch/intent")
    txn=$(jq -r .txn "$scratch/intent")
    case $action in
    marker-add)
        grep -q "\"$marker\"" "$d/rec/sam.json" || fail "done entry $of: marker $marker is not in the record" ;;
    marker-end)
        st=$(jq -r --arg m "$marker" '.entry[].resource | select(.resourceType == "Flag")
                | select(any(.identifier[]?; .value == $m)) | .status' "$d/rec/sam.json")
        [ "$st" = inactive ] || fail "done entry $of: marker $marker is $st, not ended" ;;
    gp2gp-export | gp2gp-import)
        grep -q "^$txn " "$scratch/results" || fail "done entry $of: no file holds the $action result" ;;
    *) fail "done entry $of: unexpected action $action" ;;
    esac
    checked=$((checked + 1))
done < "$scratch/done"
# Every marker in the record reached it through a journaled intention.
jq -r '.entry[].resource | select(.resourceType == "Flag") | .identifier[]?
       | select(.system == "https://csemarker.org/fhir/Id/marker") | .value' "$d/rec/sam.json" |
while read -r m; do
    jq -s -e --arg m "$m" 'any(.[]; .phase == "intent" and .action == "marker-add" and .marker == $m)' \
        "$J" >/dev/null || { echo "marker $m has no intention in the journal" >&2; exit 1; }
done || fail "a marker reached the record unaudited"
echo "journal kill: $trials trials, $killed killed, $checked done entries all true"
