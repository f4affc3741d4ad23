#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays every fuzz seed (the test fixtures) and every saved crash input
# through each fuzz target's entry point. Under the sanitizer build this
# catches memory errors on all of them.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
cd "$top_srcdir" || exit 99
status=0
run() {
    target=$1; shift
    prog="$top_builddir/fuzz/replay-$target"
    [ -x "$prog" ] || fail "missing $prog"
    mkdir -p "$scratch/empty"
    reg="fuzz/regressions/$target"
    [ -d "$reg" ] || reg="$scratch/empty"
    # shellcheck disable=SC2068
    "$prog" "$reg" $@ > "$scratch/out" 2>&1 || { cat "$scratch/out"; status=1; }
    echo "$target: $(tail -1 "$scratch/out")"
}
xml=$(find test-fixtures -name '*.xml' 2>/dev/null | LC_ALL=C sort)
json=$(find test-fixtures fhir-profiles/json fhir-profiles/invalid -name '*.json' -o -name '*.ndjson' 2>/dev/null | LC_ALL=C sort)
[ -n "$xml" ] || fail "no XML seeds found under test-fixtures"
for t in $FUZZ_TARGETS_XML; do run "$t" $xml; done
for t in $FUZZ_TARGETS_JSON; do run "$t" $json; done
rf2=$(find test-fixtures/snomed -name '*.txt' 2>/dev/null | LC_ALL=C sort)
for t in ${FUZZ_TARGETS_RF2:-}; do run "$t" $rf2; done
exit $status
