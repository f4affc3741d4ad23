#!/bin/sh
# SPDX-License-Identifier: MIT
# Bad JSON and XML input to cse-host (open, online-view, export, import) and
# cse-convert fhir2ehr: each message names the file, the line and column and
# a specific reason (jansson's code translated by convert/core/json_error.c in the
# host, convert/jsonv.c's own in cse-convert), never the record's content; a
# folder where a file belongs is "is a directory".
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
conv="$top_builddir/cse-convert"
[ -x "$host" ] || fail "no $host"
[ -x "$conv" ] || fail "no $conv"
rec="$scratch/rec"
mkdir "$rec" "$scratch/j" "$scratch/out" || exit 99
printf '%064d\n' 7 > "$scratch/key" && chmod 600 "$scratch/key" || exit 99
H() { "$host" --records "$rec" --journal "$scratch/j" --key "$scratch/key" \
      --user G1000001 --role gp --ods A11111 "$@"; }
pid='{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018"}'

# expect STATUS TEXT COMMAND...: the command fails with STATUS, prints TEXT
# (a fixed string) on stderr and nothing on stdout, and neither the planted
# NHS number nor the planted name appears.
expect() {
    want=$1 text=$2
    shift 2
    "$@" > "$scratch/stdout" 2> "$scratch/stderr"
    rc=$?
    [ $rc -eq "$want" ] || fail "$*: exit $rc, expected $want: $(cat "$scratch/stderr")"
    grep -qF -- "$text" "$scratch/stderr" ||
        fail "$*: expected '$text' in: $(cat "$scratch/stderr")"
    [ ! -s "$scratch/stdout" ] || fail "$*: printed on stdout: $(cat "$scratch/stdout")"
    if grep -aqE '9990000018|Quillfeather' "$scratch/stderr"; then
        fail "$*: record content in the message: $(cat "$scratch/stderr")"
    fi
}

# The same key twice, on line 2: line, column and reason, after the file.
printf '{"resourceType":"Bundle",\n"type":"collection","type":"x"}\n' > "$rec/dup.json"
for cmd in open online-view; do
    expect 3 "cse-host: $cmd: $rec/dup.json: line 2, column 26: duplicate object key (code 4)" \
        H $cmd dup
done
expect 3 "cse-host: export: $rec/dup.json: line 2, column 26: duplicate object key" \
    H export dup -o "$scratch/out/x.xml"
[ -z "$(ls -A "$scratch/out")" ] || fail "a failed export left $(ls -A "$scratch/out")"

# A raw tab right after the NHS number inside its string: jansson's own text
# would quote the number.
printf '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000018\t"}],"name":[{"family":"Quillfeather"}]}}]}\n' \
    > "$rec/tab.json"
expect 3 "$rec/tab.json: line 1, column 151: invalid JSON syntax: control character" H open tab
# cse-convert's own JSON reader (convert/jsonv.c) gives the tab's 1-based
# column; jansson, which the host uses, counts the bytes before it.
expect 3 "tab.json:1:152: not valid JSON: invalid JSON syntax: control character" \
    "$conv" fhir2ehr --sender Y99001 --receiver Y99002 -o "$scratch/out/x.xml" "$rec/tab.json"

# A NUL byte, which a C string would cut short, is refused by the host.
printf '{"resourceType":"Bundle",\n"id":"a\000b","entry":[{"resource":{"resourceType":"Patient","identifier":[%s]}}]}\n' \
    "$pid" > "$rec/nul.json"
expect 3 "cse-host: open: $rec/nul.json: line 2, column 8: NUL byte" H open nul
# due reads every record at once: the same refusal, naming the file, listed
# in errors while the rest of the practice is still listed.
H due > "$scratch/stdout" 2> "$scratch/stderr" || fail "due stopped at one bad record"
grep -qF "cse-host: due: $rec/nul.json: line 2, column 8: NUL byte" "$scratch/stderr" ||
    fail "due: $(cat "$scratch/stderr")"
grep -q '"record": "nul"' "$scratch/stdout" || fail "due errors: $(cat "$scratch/stdout")"

# UTF-16 with a byte order mark.
printf '\377\376{\000}\000' > "$rec/utf16.json"
expect 3 "$rec/utf16.json: line 1: UTF-16 is not supported: FHIR JSON must be UTF-8" \
    H open utf16

# Empty, cut short, a number out of range, nested too deep (code 7: a limit).
: > "$rec/empty.json"
expect 3 "$rec/empty.json: line 1: empty input: no JSON value" H open empty
printf '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","identifier":[%s],"name":[{"family":"Quillfeather' \
    "$pid" > "$rec/cut.json"
expect 3 "$rec/cut.json: line 1, column 1" H open cut
grep -qF 'empty or truncated JSON' "$scratch/stderr" || fail "cut: $(cat "$scratch/stderr")"
printf '{"resourceType":"Bundle","total":1e999999}\n' > "$rec/inf.json"
expect 3 "$rec/inf.json: line 1, column 41: number out of range" H open inf
{ printf '{"resourceType":"Bundle","entry":'; head -c 5000 /dev/zero | tr '\0' '['; } \
    > "$rec/deep.json" || exit 99
expect 3 "$rec/deep.json: line 1, column" H open deep
grep -qF 'nested too deep (code 7)' "$scratch/stderr" || fail "deep: $(cat "$scratch/stderr")"

# A folder where a record or an input file belongs: exit 4.
mkdir "$rec/folder.json" "$scratch/folder.xml" "$scratch/folder.json" || exit 99
expect 4 "cse-host: open: $rec/folder.json: is a directory" H open folder
expect 4 "cse-host: import: $scratch/folder.xml: is a directory" H import "$scratch/folder.xml"
expect 4 "$scratch/folder.json: is a directory" \
    "$conv" fhir2ehr --sender Y99001 --receiver Y99002 -o "$scratch/out/x.xml" \
    "$scratch/folder.json"
[ -z "$(ls -A "$scratch/out")" ] || fail "fhir2ehr left $(ls -A "$scratch/out")"

# Import names the XML file before the reader's message.
printf ' \n\n' > "$scratch/blank.xml"
expect 3 "cse-host: import: $scratch/blank.xml: the input is empty: no root element" \
    H import "$scratch/blank.xml" --as imported1
printf '<?xml version="1.0"?>\n<RCMR_IN030000UK07 xmlns="urn:hl7-org:v3">\n<id root="A' \
    > "$scratch/cut.xml"
expect 3 "cse-host: import: $scratch/cut.xml: " H import "$scratch/cut.xml" --as imported2
[ ! -e "$rec/imported1.json" ] && [ ! -e "$rec/imported2.json" ] || fail "import left a record"
ls -A "$rec" | grep -q '\.tmp\.' && fail "a temporary file was left behind"
exit 0
