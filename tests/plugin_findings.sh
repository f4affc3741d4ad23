#!/bin/sh
# SPDX-License-Identifier: MIT
# Smaller findings of issue 14, each through cse-host:
#   flag refuses a record whose existing marker is damaged; records are written
#   compactly and never over the reader's 64 MiB limit; `due` lists unreadable
#   files in errors; implausible dates are refused; an invalid end reason says
#   so and lists the valid ones; `due` and `open` say due-soon alike.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || bad "no $host"
command -v jq >/dev/null || skip "jq is needed"
mkdir "$scratch/rec" "$scratch/j" || exit 99
printf '%064d\n' 6 > "$scratch/key" && chmod 600 "$scratch/key"
H() { "$host" --records "$scratch/rec" --journal "$scratch/j" --key "$scratch/key" \
      --user G1000001 --role clinician --ods A11111 "$@"; }
day() { date -u -d "$1" +%Y-%m-%d; }
# Each finding is checked on its own: every failing one is reported.
nbad=0
bad() { echo "FAIL: $*" >&2; nbad=$((nbad + 1)); }

# Compact records: no indentation, one line.
jq . "$fx/child.json" > "$scratch/rec/sam.json"
id=$(H flag sam 716565009) || fail "flag"
[ "$(wc -l < "$scratch/rec/sam.json")" -le 1 ] || bad "the record is written indented"
grep -q '^  ' "$scratch/rec/sam.json" && bad "the record is written indented"

# A damaged marker (its Flag lost its start date): flag refuses as open does.
jq '(.entry[].resource | select(.resourceType == "Flag") | .period) |= del(.start)' \
    "$scratch/rec/sam.json" > "$scratch/rec/dmg.json"
cp "$scratch/rec/dmg.json" "$scratch/dmg.before"
H open dmg > /dev/null 2>&1 && bad "open accepts the damaged marker"
H flag dmg 716565009 > "$scratch/o" 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || bad "flag on a damaged marker should exit 3, got $rc"
grep -q 'without a start date' "$scratch/e" || bad "message: $(cat "$scratch/e")"
cmp -s "$scratch/dmg.before" "$scratch/rec/dmg.json" || bad "the damaged record changed"
rm "$scratch/rec/dmg.json"

# Never a record over the reader's limit: a record just under 64 MiB that a
# marker would push over is refused and left as it was.
lim=$((64 * 1024 * 1024))
head=$(jq -c '.entry += [{"resource":{"resourceType":"Basic","id":"pad","code":{"text":"PAD"}}}]' \
    "$fx/child.json" | sed 's/"PAD".*//')
tail='"}}}]}'
pad=$((lim - ${#head} - ${#tail} - 1 - 600))
{ printf '%s"' "$head"; head -c "$pad" /dev/zero | tr '\0' a; printf '%s\n' "$tail"; } \
    > "$scratch/rec/big.json"
cp "$scratch/rec/big.json" "$scratch/big.before"
H open big > /dev/null || fail "the big record cannot be read"
H flag big 716565009 > "$scratch/o" 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || bad "a flag over the limit should exit 3, got $rc: $(cat "$scratch/e")"
grep -q 'larger than the most a record may hold' "$scratch/e" || bad "message: $(cat "$scratch/e")"
cmp -s "$scratch/big.before" "$scratch/rec/big.json" || bad "the big record changed"
rm "$scratch/big.before"

# due: unreadable files are errors, the rest is listed.
mv "$scratch/rec/big.json" "$scratch/big.json"
truncate -s $((lim + 1)) "$scratch/rec/huge.json"
mkdir "$scratch/rec/x.json"
printf '{"resourceType":"Bundle",\n"id":"a\000b"}\n' > "$scratch/rec/nul.json"
H due --within 3660 > "$scratch/due" 2> "$scratch/e" || bad "due stopped: $(cat "$scratch/e")"
jq -e --arg id "$id" '.items[] | select(.marker_id == $id and .record == "sam")' \
    "$scratch/due" > /dev/null || bad "due lost sam: $(cat "$scratch/due")"
for n in huge x nul; do
    jq -e --arg n "$n" '.errors[] | select(.record == $n)' "$scratch/due" > /dev/null ||
        bad "due does not list $n in errors: $(cat "$scratch/due")"
done
jq -e '.errors[] | select(.record == "x") | .message | test("directory")' "$scratch/due" \
    > /dev/null || bad "x.json: $(cat "$scratch/due")"
rm -r "$scratch/rec/huge.json" "$scratch/rec/x.json" "$scratch/rec/nul.json"

# Implausible dates: a start after today or before the child's birth, a
# review more than two years ahead.
cp "$fx/child.json" "$scratch/rec/kim.json"
H flag kim 716565009 --start "$(day '+3 days')" 2> "$scratch/e" && bad "a start in the future"
grep -q 'start: the start date is in the future' "$scratch/e" || bad "message: $(cat "$scratch/e")"
H flag kim 716565009 --start 2099-01-01 2> /dev/null && bad "a start in 2099"
H flag kim 716565009 --start 2010-05-05 2> "$scratch/e" && bad "a start before birth"
grep -q "before the patient's date of birth" "$scratch/e" || bad "message: $(cat "$scratch/e")"
grep -q 2012-04-01 "$scratch/e" && bad "the message quotes the date of birth"
H flag kim 716565009 --review "$(day '+3 years')" 2> "$scratch/e" && bad "a review years ahead"
grep -q 'review: the review date is more than 24 months ahead' "$scratch/e" ||
    bad "message: $(cat "$scratch/e")"
k=$(H flag kim 716565009 --start "$(day '-10 days')" --review "$(day '+20 days')") ||
    fail "a plausible flag was refused"
H review kim "$k" --next "$(day '+30 months')" 2> "$scratch/e" && bad "a next review years ahead"
grep -q 'next_review: the review date is more than 24 months ahead' "$scratch/e" ||
    bad "message: $(cat "$scratch/e")"

# One word for one state: due-soon in open and in due.
H open kim | jq -e --arg k "$k" '.alerts[] | select(.marker_id == $k) | .review_state == "due-soon"' \
    > /dev/null || bad "open does not say due-soon"
H due | jq -e --arg k "$k" '.items[] | select(.marker_id == $k) | .review_state == "due-soon"' \
    > /dev/null || bad "due does not say due-soon: $(H due)"

# An invalid end reason says it is invalid and lists the valid ones.
H end kim "$k" --reason bored 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || bad "an invalid end reason should exit 3, got $rc"
grep -q 'reason: not a valid end reason; the valid ones are no-longer-at-risk, reached-adulthood, superseded and other' \
    "$scratch/e" || bad "message: $(cat "$scratch/e")"
[ "$nbad" -eq 0 ] || fail "$nbad findings failed"
echo "plugin findings: ok"
