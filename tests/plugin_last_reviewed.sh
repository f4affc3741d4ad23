#!/bin/sh
# SPDX-License-Identifier: MIT
# The last-reviewed date: kept in the record after a review (extension
# cse-last-reviewed), carried by a GP2GP export in the marker's annotation
# ("last-reviewed: DATE", as the README promises), and back in the record
# after the import at the receiving practice.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is needed"
for p in a b; do mkdir -p "$scratch/$p/rec" "$scratch/$p/j" || exit 99
    printf '%064d\n' 2 > "$scratch/$p/key"; chmod 600 "$scratch/$p/key"; done
cp "$fx/child.json" "$scratch/a/rec/sam.json"
P() { p=$1; ods=$2; shift 2
      "$host" --records "$scratch/$p/rec" --journal "$scratch/$p/j" --key "$scratch/$p/key" \
          --user "G-$p" --role clinician --ods "$ods" "$@"; }
last() { jq -r --arg id "$2" '.entry[].resource | select(.resourceType == "Flag")
    | select(any(.identifier[]?; .value == $id)) | .extension[]
    | select(.url | endswith("/cse-last-reviewed")) | .valueDate' "$1"; }
today=$(date +%Y-%m-%d)

id=$(P a A11111 flag sam 716565009 --start 2024-11-20) || fail "flag"
[ -z "$(last "$scratch/a/rec/sam.json" "$id")" ] || fail "a new marker has a last review"
P a A11111 review sam "$id" || fail "review"
[ "$(last "$scratch/a/rec/sam.json" "$id")" = "$today" ] ||
    fail "the record does not keep the last review: $(last "$scratch/a/rec/sam.json" "$id")"
P a A11111 export sam -o "$scratch/sam.xml" --to B22222 || fail "export"
grep -q "last-reviewed: $today" "$scratch/sam.xml" || fail "the annotation lost the last review"
P b B22222 import "$scratch/sam.xml" --as sam > /dev/null || fail "import"
[ "$(last "$scratch/b/rec/sam.json" "$id")" = "$today" ] ||
    fail "the import lost the last review: $(last "$scratch/b/rec/sam.json" "$id")"
echo "plugin last-reviewed: ok"
