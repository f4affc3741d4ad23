#!/bin/sh
# SPDX-License-Identifier: MIT
# Validates the committed examples and the invalid cases with
# tools/validate.mjs: every resource in fhir-profiles/json/ must pass, every
# fhir-profiles/invalid/*.json must fail, and its output must contain each
# line of the sidecar *.expected file. When ../shared is beside the source
# tree, also checks that the Flag profile conforms to UK Core Flag.
. "$(dirname "$0")/common.sh"

validate=$profiles/tools/validate.mjs
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# 1. Every definition and example is valid.
if node "$validate" "$profiles"/json/*.json >"$tmp/valid.out" 2>&1; then
    ok "all $(ls "$profiles"/json/*.json | wc -l | tr -d ' ') resources in json/ are valid"
else
    grep -v ': OK$' "$tmp/valid.out" >&2
    bad "json/ contains invalid resources"
fi

# 2. Every invalid case fails for the expected reason.
node "$validate" "$profiles"/invalid/*.json >"$tmp/invalid.out" 2>"$tmp/invalid.err"
status=$?
if [ "$status" -eq 1 ]; then
    ok "validate.mjs exits 1 on invalid input"
else
    cat "$tmp/invalid.out" "$tmp/invalid.err" >&2
    bad "validate.mjs exited $status on invalid/*.json, expected 1"
fi
for json in "$profiles"/invalid/*.json; do
    name=$(basename "$json" .json)
    expected=${json%.json}.expected
    if [ ! -f "$expected" ]; then
        bad "invalid/$name.json has no invalid/$name.expected"
        continue
    fi
    if grep -F -q -- "$json: OK" "$tmp/invalid.out"; then
        bad "invalid/$name.json passed validation"
        continue
    fi
    grep -F -- "$json: ERROR" "$tmp/invalid.out" >"$tmp/errors" || true
    if [ ! -s "$tmp/errors" ]; then
        bad "invalid/$name.json: no ERROR line"
        continue
    fi
    good=1
    while IFS= read -r want || [ -n "$want" ]; do
        [ -n "$want" ] || continue
        if ! grep -F -q -- "$want" "$tmp/errors"; then
            echo "invalid/$name.json: expected an error containing: $want" >&2
            echo "got:" >&2
            cat "$tmp/errors" >&2
            good=0
        fi
    done <"$expected"
    if [ "$good" = 1 ]; then ok "invalid/$name.json rejected as expected"; else bad "invalid/$name.json"; fi
done
for expected in "$profiles"/invalid/*.expected; do
    [ -f "${expected%.expected}.json" ] || bad "invalid/$(basename "$expected") has no .json"
done

# 3. The command-line contract: usage and I/O errors exit 2.
node "$validate" >/dev/null 2>&1
status=$?
if [ "$status" -eq 2 ]; then ok "no FILE: exit 2"; else bad "no FILE: exit $status, expected 2"; fi
node "$validate" "$tmp/does-not-exist.json" >"$tmp/io.out" 2>/dev/null
status=$?
if [ "$status" -eq 2 ] && grep -F -q "$tmp/does-not-exist.json: ERROR" "$tmp/io.out"; then
    ok "unreadable FILE: exit 2 with an ERROR line"
else
    bad "unreadable FILE: exit $status, expected 2 and an ERROR line"
fi
node "$validate" --profile "$(node "$validate" --list-profiles | grep cse-risk-marker-flag)" \
    "$profiles/json/Observation-cse-marker-observation.json" >"$tmp/profile.out" 2>&1
status=$?
if [ "$status" -eq 1 ] && grep -F -q "cannot conform to profile" "$tmp/profile.out"; then
    ok "--profile of another resource type fails"
else
    cat "$tmp/profile.out" >&2
    bad "--profile Flag on an Observation: exit $status, expected 1"
fi

# 4. UK Core Flag conformance (its definition is only in ../shared).
shared=${CSE_SHARED_DIR:-$top_srcdir/../shared}
ukcore_flag=$shared/conformance/fhir/ukcore/UKCore-Flag.develop-v1.2.0-draft.json
if [ -f "$ukcore_flag" ]; then
    if node "$profiles/tools/check-conformance.mjs" "$ukcore_flag" \
        "$profiles/json/StructureDefinition-cse-risk-marker-flag.json"; then
        ok "Flag profile conforms to UK Core Flag"
    else
        bad "Flag profile does not conform to UK Core Flag"
    fi
else
    echo "note: $ukcore_flag not found; UK Core Flag conformance not checked" >&2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
