#!/bin/sh
# SPDX-License-Identifier: MIT
# The plug-in module exports exactly the committed list (tests/plugin.exports:
# its entry point): nothing of libcsemarker, libxml2 or jansson leaks out.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
mod="$top_builddir/plugin/.libs/csemarker_plugin.so"
[ -f "$mod" ] || skip "no module at $mod (built with --disable-shared?)"
command -v nm >/dev/null || skip "nm not found"
nm -D --defined-only "$mod" > "$scratch/nm" || fail "nm -D failed on $mod"
awk 'NF == 3 && $2 != "A" {print $3}' "$scratch/nm" | LC_ALL=C sort > "$scratch/actual"
[ -s "$scratch/actual" ] || fail "nm -D found no symbols in $mod"
LC_ALL=C sort "$top_srcdir/tests/plugin.exports" > "$scratch/expected"
diff -u "$scratch/expected" "$scratch/actual" ||
    fail "the module's exports differ from tests/plugin.exports (+ exported, - expected)"
grep -q ' T cse_plugin_entry$' "$scratch/nm" || fail "cse_plugin_entry is not a text symbol"
echo "plugin exports: $(tr '\n' ' ' < "$scratch/actual")"
