#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert's --help, --version and usage errors.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
"$conv" --version > "$scratch/v" || fail "--version exited $?"
grep -Eq '^cse-convert \(csemarker\) [0-9]+\.[0-9]+\.[0-9]+$' "$scratch/v" || fail "--version printed: $(cat "$scratch/v")"
"$conv" --help > "$scratch/h" || fail "--help exited $?"
grep -q '^usage: cse-convert' "$scratch/h" || fail "--help has no usage line"
"$conv" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "no arguments should exit 2, got $rc"
"$conv" frobnicate > /dev/null 2> "$scratch/e"; rc=$?
[ $rc -eq 2 ] || fail "unknown command should exit 2, got $rc"
grep -q "unknown command 'frobnicate'" "$scratch/e" || fail "unknown command message: $(cat "$scratch/e")"
echo "cli: ok"
