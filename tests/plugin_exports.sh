#!/bin/sh
# The plug-in module exports exactly one symbol, its entry point: nothing of
# libcsemarker, libxml2 or jansson leaks out of it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
mod="$top_builddir/plugin/.libs/csemarker_plugin.so"
[ -f "$mod" ] || skip "no module at $mod (built with --disable-shared?)"
command -v nm >/dev/null || skip "nm not found"
nm -D --defined-only "$mod" | awk '$2 ~ /^[A-Za-z]$/ && $2 != "A" {print $3}' | \
    LC_ALL=C sort > "$scratch/actual" || fail "nm failed"
echo cse_plugin_entry > "$scratch/expected"
diff -u "$scratch/expected" "$scratch/actual" ||
    fail "the module must export only cse_plugin_entry (+ exported, - expected)"
nm -D --defined-only "$mod" | grep -q ' T cse_plugin_entry$' ||
    fail "cse_plugin_entry is not a text symbol"
echo "plugin exports: cse_plugin_entry only"
