#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert inspect: golden reports for test-fixtures/gp2gp/<case>/ (with
# expected-inspect.txt), exit statuses, what is hidden unless asked, standard
# input, -o, and large-message fragments as XML, gzip and base64.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fx="$top_srcdir/test-fixtures/gp2gp"
n=0

for want in "$fx"/*/expected-inspect.txt; do
    d=$(dirname "$want")
    c=$(basename "$d")
    (cd "$d" && "$conv" inspect --today 2025-01-01 input.xml) > "$scratch/got" 2> "$scratch/err"
    rc=$?
    case $c in candidates) expect=5 ;; *) expect=0 ;; esac
    [ "$rc" -eq "$expect" ] || fail "$c: exit $rc, expected $expect: $(cat "$scratch/err")"
    diff -u "$want" "$scratch/got" > "$scratch/diff" || fail "$c: report differs:
$(cat "$scratch/diff")"
    n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n golden reports found"

# Identifiers and free text stay hidden unless asked for.
in="$fx/uk07-marker-nopat/input.xml"
"$conv" inspect --today 2025-01-01 "$in" > "$scratch/plain" || fail "plain inspect failed"
! grep -q 9990000018 "$scratch/plain" || fail "the NHS number shown without --show-ids"
grep -q '^patient: identifiers hidden' "$scratch/plain" || fail "no hidden-identifier line"
"$conv" inspect --show-ids --today 2025-01-01 "$in" > "$scratch/ids" || fail "--show-ids failed"
grep -q '^patient: NHS number 9990000018$' "$scratch/ids" || fail "--show-ids does not show the NHS number"
"$conv" inspect --today 2025-01-01 "$fx/candidates/input.xml" > "$scratch/c"
! grep -q 'degraded in transfer' "$scratch/c" || fail "candidate text shown without --show-text"
"$conv" inspect --show-text --today 2025-01-01 "$fx/candidates/input.xml" > "$scratch/t"
grep -q '    text: CSE risk marker (degraded in transfer)$' "$scratch/t" || fail "--show-text does not show the text"

# Overdue depends on the day it is judged on.
"$conv" inspect --today 2024-07-01 "$in" | grep -q '^    review due: 2024-07-15$' || fail "review flagged overdue before its date"

# Standard input and -o.
"$conv" inspect --today 2025-01-01 - < "$in" | sed 1d > "$scratch/stdin"
sed 1d "$scratch/plain" | diff - "$scratch/stdin" > /dev/null || fail "stdin report differs"
"$conv" inspect --today 2025-01-01 -o "$scratch/report.txt" "$in" > "$scratch/stdout" || fail "-o failed"
[ ! -s "$scratch/stdout" ] || fail "-o also printed to stdout"
diff "$scratch/plain" "$scratch/report.txt" > /dev/null || fail "-o report differs"
[ -z "$(ls "$scratch" | grep '\.tmp\.')" ] || fail "a temporary file was left behind"

# Usage errors.
"$conv" inspect > /dev/null 2>&1; [ $? -eq 2 ] || fail "no input should exit 2"
"$conv" inspect --today 2025-13-01 "$in" > /dev/null 2>&1; [ $? -eq 2 ] || fail "bad --today should exit 2"

# A large-message skeleton: refused without its fragment, read with it in
# any of the forms the reader accepts.
sk="$fx/skeleton"
id=A1B2C3D4-0000-4000-8000-000000000070
"$conv" inspect "$sk/input.xml" > /dev/null 2> "$scratch/err"; rc=$?
[ $rc -eq 3 ] || fail "skeleton without fragments: exit $rc"
grep -q "$id.xml" "$scratch/err" || fail "skeleton error does not name the fragment: $(cat "$scratch/err")"
mkdir "$scratch/xml" "$scratch/gz" "$scratch/b64" "$scratch/b64gz" "$scratch/copc"
cp "$sk/fragments/$id.xml" "$scratch/xml/"
gzip -c "$sk/fragments/$id.xml" > "$scratch/gz/$id.gz"
base64 "$sk/fragments/$id.xml" > "$scratch/b64/$id.b64"
gzip -c "$sk/fragments/$id.xml" | base64 > "$scratch/b64gz/$id.b64"
for form in xml gz b64 b64gz; do
    "$conv" inspect --today 2025-01-01 --fragments "$scratch/$form" "$sk/input.xml" > "$scratch/out" 2> "$scratch/err" ||
        fail "skeleton with $form fragment: $(cat "$scratch/err")"
    grep -q "^    entry: A1B2C3D4-0000-4000-8000-000000000073$" "$scratch/out" || fail "$form fragment: marker not read"
done
printf '<COPC_IN000001UK01 xmlns="urn:hl7-org:v3"><id root="X"/></COPC_IN000001UK01>\n' > "$scratch/copc/$id.xml"
"$conv" inspect --fragments "$scratch/copc" "$sk/input.xml" > /dev/null 2> "$scratch/err"; rc=$?
[ $rc -eq 3 ] || fail "COPC envelope as fragment: exit $rc"
grep -q 'COPC_IN000001UK01 envelope' "$scratch/err" || fail "COPC envelope message: $(cat "$scratch/err")"
printf 'not base64 at all!\n' > "$scratch/copc/$id.xml"
mv "$scratch/copc/$id.xml" "$scratch/copc/$id.b64"
"$conv" inspect --fragments "$scratch/copc" "$sk/input.xml" > /dev/null 2> "$scratch/err"
grep -q 'neither XML, gzip nor base64' "$scratch/err" || fail "bad fragment message: $(cat "$scratch/err")"
echo "inspect: $n golden reports and options ok"
