#!/bin/sh
# SPDX-License-Identifier: MIT
# A large output (a bundle of over 8 MiB, from the benchmark's generator):
# written to a file, through the temporary file that is handed to the disk
# as it grows, it is byte for byte what goes to standard output, it
# replaces an earlier file whole, and it leaves no temporary file behind.
# Standard output, redirected to a file, is written in large pieces (it had
# stdio's 4 KiB buffer: a write call per 4 KiB).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
gen="$top_builddir/bench/gen-extract"
[ -x "$conv" ] || fail "no $conv"
[ -x "$gen" ] || fail "missing $gen"
"$gen" 12 20261128 > "$scratch/in.xml" || fail "gen-extract failed"

"$conv" ehr2fhir --r4 "$scratch/in.xml" > "$scratch/stdout.json" 2> "$scratch/err" ||
    fail "ehr2fhir to stdout: $(cat "$scratch/err")"
size=$(wc -c < "$scratch/stdout.json")
[ "$size" -gt 8388608 ] || fail "the bundle is $size bytes, not over 8 MiB"
echo stale > "$scratch/out.json"
"$conv" ehr2fhir --r4 "$scratch/in.xml" -o "$scratch/out.json" 2> "$scratch/err" ||
    fail "ehr2fhir -o: $(cat "$scratch/err")"
cmp -s "$scratch/stdout.json" "$scratch/out.json" ||
    fail "the file written with -o differs from standard output"
ls "$scratch" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

# The number of write calls, where strace can count them (the libtool
# wrapper is a shell script: trace the program it runs).
if command -v strace > /dev/null 2>&1 &&
    strace -f -c -o "$scratch/trace" -e trace=write true > /dev/null 2>&1; then
    # LeakSanitizer cannot run under ptrace: a sanitizer build checks leaks
    # in the runs above, not in this one.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -e trace=write -o "$scratch/trace" \
        "$conv" ehr2fhir --r4 "$scratch/in.xml" > "$scratch/stdout2.json" 2> /dev/null ||
        fail "ehr2fhir under strace failed"
    cmp -s "$scratch/stdout.json" "$scratch/stdout2.json" ||
        fail "standard output differs from one run to the next"
    writes=$(grep -c '^[0-9]* *write(1,' "$scratch/trace")
    # 256 KiB pieces: about 50 for 12 MB; 4 KiB ones made over 3,000.
    [ "$writes" -gt 0 ] && [ "$writes" -lt 200 ] ||
        fail "standard output took $writes write calls for $size bytes"
else
    echo "output_large: no usable strace: write calls not counted"
fi
exit 0
