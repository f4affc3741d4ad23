#!/bin/sh
# SPDX-License-Identifier: MIT
# GP2GP import checks: an extract addressed to another practice is refused,
# the same extract is not imported twice under two names, an existing record
# is not replaced; --force does each, and the audit journal records that it
# was forced. Refusals change nothing and journal nothing.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v jq >/dev/null || skip "jq is needed"
for p in a b c; do mkdir -p "$scratch/$p/rec" "$scratch/$p/j" || exit 99; done
for p in a b c; do printf '%064d\n' 9 > "$scratch/$p/key"; chmod 600 "$scratch/$p/key"; done
cp "$fx/child.json" "$scratch/a/rec/sam.json"
P() { p=$1; ods=$2; shift 2
      "$host" --records "$scratch/$p/rec" --journal "$scratch/$p/j" --key "$scratch/$p/key" \
          --user "G-$p" --role clinician --ods "$ods" "$@"; }
entries() { P "$1" "$2" audit verify | jq .entries; }
forced() { jq -c 'select(.action == "gp2gp-import-forced" and .phase == "done")' "$scratch/$1/j/csemarker-audit.jsonl" 2>/dev/null | wc -l; }

P a A11111 flag sam 716565009 > /dev/null || fail "flag"
P a A11111 export sam -o "$scratch/sam.xml" --to B22222 || fail "export"

# Practice C is not the addressee.
n=$(entries c C33333)
P c C33333 import "$scratch/sam.xml" > "$scratch/o" 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || fail "an import addressed elsewhere should exit 3, got $rc"
grep -q 'destination: the extract is addressed to practice B22222, not to this practice (C33333)' \
    "$scratch/e" || fail "message: $(cat "$scratch/e")"
[ -z "$(ls "$scratch/c/rec")" ] || fail "a refused import wrote $(ls "$scratch/c/rec")"
[ "$(entries c C33333)" -eq "$n" ] || fail "a refused import was journaled"
P c C33333 import "$scratch/sam.xml" --force > "$scratch/o" || fail "forced import at C"
[ "$(forced c)" -eq 1 ] || fail "the forced import is not in C's journal"

# B, the addressee: once, not twice under another name.
P b B22222 import "$scratch/sam.xml" > "$scratch/o" || fail "import at B: $(cat "$scratch/o")"
[ "$(forced b)" -eq 0 ] || fail "an ordinary import was journaled as forced"
n=$(entries b B22222)
P b B22222 import "$scratch/sam.xml" --as other > "$scratch/o" 2> "$scratch/e"; rc=$?
[ $rc -eq 3 ] || fail "a second import of one extract should exit 3, got $rc"
grep -q 'this extract was imported into this folder before' "$scratch/e" || fail "message: $(cat "$scratch/e")"
grep -q 9990000018 "$scratch/e" && fail "the message names the record (an NHS number)"
[ -e "$scratch/b/rec/other.json" ] && fail "the second import wrote a record"
[ "$(entries b B22222)" -eq "$n" ] || fail "a refused import was journaled"
# The same name again: the record exists.
P b B22222 import "$scratch/sam.xml" 2> "$scratch/e" > /dev/null && fail "overwrote a record"
grep -q 'a record for this patient exists' "$scratch/e" || fail "message: $(cat "$scratch/e")"
# Forced: done, and journaled as forced.
P b B22222 import "$scratch/sam.xml" --as other --force > /dev/null || fail "forced second import"
[ -e "$scratch/b/rec/other.json" ] || fail "the forced import wrote nothing"
[ "$(forced b)" -eq 1 ] || fail "the forced import is not journaled as forced"
P b B22222 import "$scratch/sam.xml" --force > /dev/null || fail "forced overwrite"
[ "$(forced b)" -eq 2 ] || fail "the forced overwrite is not journaled as forced"
P b B22222 audit verify > /dev/null || fail "B's journal does not verify"
echo "plugin import checks: ok"
