#!/bin/sh
# SPDX-License-Identifier: MIT
# Outputs that are not plain files: a FIFO, a symbolic link and /dev/stdout.
# The programs write a result through a temporary file renamed into place;
# a device or a pipe must be written as it is (renaming would replace it),
# and through a link the file it names is replaced, never the link.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures"
[ -x "$conv" ] || fail "no $conv"
command -v mkfifo >/dev/null || skip "no mkfifo"

# through_fifo NAME CMD...: runs CMD with its output (the last argument is
# replaced by the FIFO) while a reader drains the FIFO into NAME.
fifo=$scratch/fifo
mkfifo "$fifo" || exit 99
through_fifo() {
    name=$1
    shift
    cat "$fifo" > "$scratch/$name" &
    reader=$!
    "$@" "$fifo" 2> "$scratch/err"
    rc=$?
    # A reader still waiting means nothing opened the FIFO: do not hang.
    if [ ! -p "$fifo" ] || [ $rc -ne 0 ]; then
        kill $reader 2>/dev/null
        [ -p "$fifo" ] || fail "$name: the FIFO was replaced by a file"
        fail "$name: exit $rc: $(cat "$scratch/err")"
    fi
    wait $reader
    [ -s "$scratch/$name" ] || fail "$name: nothing came through the FIFO"
    ls "$scratch" | grep -q 'fifo.tmp' && fail "$name: left a temporary file"
    return 0
}

through_fifo r4.json "$conv" ehr2fhir --r4 "$fx/gp2gp/uk07-marker-nopat/input.xml" -o
grep -q '"resourceType":"Bundle"' "$scratch/r4.json" || fail "ehr2fhir through a FIFO: not a Bundle"
through_fifo uk07.xml "$conv" fhir2ehr --receiver B99002 "$fx/fhir/r4-record.json" -o
grep -q 'RCMR_IN030000UK07' "$scratch/uk07.xml" || fail "fhir2ehr through a FIFO: not UK07"
through_fifo repaired.xml "$conv" repair "$fx/gp2gp/uk07-marker-nopat/input.xml" -o
# --validate spools and copies out once valid (our own tiny schema accepts
# nothing, so use the real ones when they are here).
xsd="$CSE_SHARED_DIR/conformance/nia/xsd"
if [ -n "$CSE_SHARED_DIR" ] && [ -f "$xsd/Schemas/RCMR_IN030000UK07.xsd" ]; then
    through_fifo valid.xml "$conv" fhir2ehr --receiver B99002 --validate "$xsd" \
        "$fx/fhir/r4-record.json" -o
    cmp -s "$scratch/uk07.xml" "$scratch/valid.xml" || fail "--validate through a FIFO differs"
fi

# A symbolic link: the file it names gets the output; the link stays a link.
: > "$scratch/target.json"
ln -s target.json "$scratch/link.json"
"$conv" ehr2fhir --r4 "$fx/gp2gp/uk07-marker-nopat/input.xml" -o "$scratch/link.json" \
    2> "$scratch/err" || fail "ehr2fhir to a link: exit $?: $(cat "$scratch/err")"
[ -L "$scratch/link.json" ] || fail "the link was replaced by a file"
cmp -s "$scratch/target.json" "$scratch/r4.json" || fail "the link's target did not get the output"

# /dev/stdout, to a pipe and to a file: /dev/stdout itself is left alone.
was_link=no
[ -L /dev/stdout ] && was_link=yes
"$conv" ehr2fhir --r4 "$fx/gp2gp/uk07-marker-nopat/input.xml" -o /dev/stdout 2> "$scratch/err" |
    cat > "$scratch/piped.json"
cmp -s "$scratch/piped.json" "$scratch/r4.json" || fail "-o /dev/stdout into a pipe: $(cat "$scratch/err")"
"$conv" ehr2fhir --r4 "$fx/gp2gp/uk07-marker-nopat/input.xml" -o /dev/stdout \
    > "$scratch/redirected.json" 2> "$scratch/err" || fail "-o /dev/stdout to a file: exit $?"
cmp -s "$scratch/redirected.json" "$scratch/r4.json" || fail "-o /dev/stdout to a file differs"
[ $was_link = no ] || [ -L /dev/stdout ] || fail "/dev/stdout was replaced by a file"

# cse-host export through a FIFO.
if [ -x "$host" ]; then
    mkdir "$scratch/rec" "$scratch/j" || exit 99
    printf '%064d\n' 7 > "$scratch/key" && chmod 600 "$scratch/key"
    cp "$fx/plugin/child.json" "$scratch/rec/sam.json"
    through_fifo export.xml "$host" --records "$scratch/rec" --journal "$scratch/j" \
        --key "$scratch/key" --user G1000001 --role gp --ods A11111 \
        export sam -o
    grep -q 'RCMR_IN030000UK07' "$scratch/export.xml" || fail "cse-host export through a FIFO"
fi
echo "output targets: ok"
