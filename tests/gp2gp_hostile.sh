#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert inspect on hostile GP2GP input: every case in
# test-fixtures/hostile/gp2gp/ (CASE.xml with CASE.expected holding the exit
# status and a message substring) and the big ones generated here is refused
# with that status and message, prints nothing, leaves no output file, and
# never echoes an NHS number.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
dir="$top_srcdir/test-fixtures/hostile/gp2gp"
n=0

check() { # NAME INPUT STATUS SUBSTRING
    rm -rf "$scratch/out" && mkdir "$scratch/out" || exit 99
    "$conv" inspect -o "$scratch/out/report.txt" "$2" > "$scratch/stdout" 2> "$scratch/stderr"
    rc=$?
    [ "$rc" -eq "$3" ] || fail "$1: exit $rc, expected $3: $(cat "$scratch/stderr")"
    grep -qF -- "$4" "$scratch/stderr" || fail "$1: stderr lacks '$4': $(cat "$scratch/stderr")"
    [ -z "$(ls -A "$scratch/out")" ] || fail "$1: left output behind: $(ls -A "$scratch/out")"
    [ ! -s "$scratch/stdout" ] || fail "$1: printed a report: $(cat "$scratch/stdout")"
    ! grep -Eq '999[0-9]{7}' "$scratch/stderr" || fail "$1: an NHS number in the message"
    n=$((n + 1))
}

for exp in "$dir"/*.expected; do
    name=$(basename "$exp" .expected)
    check "$name" "$dir/$name.xml" "$(sed -n 1p "$exp")" "$(sed -n 2p "$exp")"
done
[ "$n" -ge 10 ] || fail "only $n hostile fixtures found in $dir"

# Generated at run time, not committed.
: > "$scratch/empty.xml"
check empty "$scratch/empty.xml" 3 "empty"
hl7='xmlns="urn:hl7-org:v3"'
awk -v hl7="$hl7" 'BEGIN { printf "<EhrExtract %s>", hl7;
    for (i = 0; i < 400; i++) printf "<component>";
    for (i = 0; i < 400; i++) printf "</component>"; print "</EhrExtract>" }' > "$scratch/deep.xml"
check deep-nesting "$scratch/deep.xml" 3 "limit"

text_node() { # BYTES FILE
    { printf '<EhrExtract %s>\n<id>' "$hl7"; head -c "$1" /dev/zero | tr '\0' 'a'
      printf '</id></EhrExtract>\n'; } > "$2"
}
text_node 2097152 "$scratch/text2m.xml"
check text-2mb "$scratch/text2m.xml" 3 "over the limit of 1048576"
text_node 20971520 "$scratch/text20m.xml"
check text-20mb "$scratch/text20m.xml" 3 "limit"

{ printf '<EhrExtract %s>\n<id root="' "$hl7"; head -c 102400 /dev/zero | tr '\0' 'A'
  printf '"/></EhrExtract>\n'; } > "$scratch/attr.xml"
check huge-attribute "$scratch/attr.xml" 3 "attribute 'root'"

check missing-file "$scratch/does-not-exist.xml" 4 "cannot open"

# Standard input is read the same way.
"$conv" inspect - < "$dir/truncated.xml" > "$scratch/stdout" 2> "$scratch/stderr"
rc=$?
[ "$rc" -eq 3 ] || fail "truncated on stdin: exit $rc"
grep -q '^cse-convert inspect: -:' "$scratch/stderr" || fail "stdin not named '-': $(cat "$scratch/stderr")"

echo "gp2gp_hostile: $n cases rejected as expected"
