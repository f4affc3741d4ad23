#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/installed/use_library.c is what tools/package-check compiles against
# the installed packages. Build and run it here against the build tree (the
# public headers, .libs/libcsemarker.so and the built module), so that a
# change to the public API that breaks it is found by make check, not only
# when the packages are built.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
lib="$top_builddir/.libs/libcsemarker.so"
mod="$top_builddir/plugin/.libs/csemarker_plugin.so"
[ -f "$lib" ] || skip "no shared library at $lib (built with --disable-shared?)"
[ -f "$mod" ] || skip "no module at $mod"
# A sanitizer build's library needs its runtime loaded first; this program is
# not built with it, and the plain build covers the API.
if command -v nm >/dev/null && nm -D "$lib" | grep -q ' U __[a-z]*san_'; then
    skip "the library is built with sanitizers; the plain build runs this test"
fi
cc=${CC:-cc}
command -v "$cc" >/dev/null || skip "no C compiler ($cc)"
# Only public headers: a copy of include/csemarker, nothing of convert/.
mkdir "$scratch/include" && cp -R "$top_srcdir/include/csemarker" "$scratch/include/" || exit 99
"$cc" -Wall -Wextra -Werror -I"$scratch/include" -o "$scratch/use_library" \
    "$top_srcdir/tests/installed/use_library.c" -L"$top_builddir/.libs" -lcsemarker -ldl \
    2> "$scratch/cc.err" || fail "use_library.c does not build against the public API: $(cat "$scratch/cc.err")"
LD_LIBRARY_PATH="$top_builddir/.libs" "$scratch/use_library" \
    "$top_srcdir/test-fixtures/demo/child-with-marker.xml" "$mod" > "$scratch/out" ||
    fail "use_library failed: $(cat "$scratch/out")"
grep -q '^markers 1$' "$scratch/out" || fail "use_library found no marker: $(cat "$scratch/out")"
grep -q '^plug-in ABI ' "$scratch/out" || fail "use_library did not load the module"
echo "installed program: built against the public headers, $(tr '\n' ';' < "$scratch/out")"
