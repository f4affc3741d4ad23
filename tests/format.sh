#!/bin/sh
# SPDX-License-Identifier: MIT
# Every C source and header is formatted as .clang-format says.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
cf=${CLANG_FORMAT:-$(command -v clang-format)}
[ -n "$cf" ] && [ -x "$cf" ] || skip "clang-format not found (apt-get install clang-format)"
cd "$top_srcdir" || exit 99
files=$(find convert include tests plugin aggregate bench fuzz test-fixtures \
        -name '*.[ch]' 2>/dev/null | LC_ALL=C sort)
[ -n "$files" ] || fail "no sources found under $top_srcdir"
bad=0
for f in $files; do
    if ! "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)" >&2
        bad=1
    fi
done
[ $bad -eq 0 ] || fail "some files are not clang-formatted"
